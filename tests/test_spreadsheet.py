"""Exports opened in a real spreadsheet: LibreOffice headless reads the CSV and the XLSX
and writes them back as CSV, which must hold the numbers and the Chinese names we wrote.

Needs `soffice` (Debian's libreoffice-calc-nogui, installed by scripts/test); the tests
fail, never skip, without it.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from tests.clihelp import ROOT, cli

pytestmark = pytest.mark.spreadsheet

REGIONS = ROOT / "inputs" / "regions.csv"
SCENARIO = ROOT / "inputs" / "scenario.toml"
# comma, double quote, UTF-8 (76), from line 1; for the output: every sheet (-1)
CSV_OUT = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


def soffice(tmp: Path, src: Path, outdir: Path, infilter: str | None = None) -> list[Path]:
    """Convert `src` to CSV with LibreOffice headless; the CSV files it wrote."""
    exe = shutil.which("soffice")
    assert exe, "LibreOffice (soffice) is not installed: run scripts/test, which installs it"
    cmd = [exe, f"-env:UserInstallation=file://{tmp / 'lo-profile'}", "--headless"]
    if infilter:
        cmd.append(f"--infilter={infilter}")
    cmd += ["--convert-to", CSV_OUT, "--outdir", str(outdir), str(src)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    return sorted(outdir.glob("*.csv"))


def rows(path: Path, encoding: str = "utf-8") -> list[list[str]]:
    """A CSV file's rows."""
    return list(csv.reader(io.StringIO(path.read_text(encoding=encoding))))


@pytest.fixture(scope="module", params=["en", "zh"])
def run(request, tmp_path_factory):
    """One run of the sample in each language."""
    out = tmp_path_factory.mktemp(f"run-{request.param}")
    r = cli("run", "--regions", REGIONS, "--scenario", SCENARIO, "--out", out,
            "--lang", request.param)
    assert r.returncode == 0, r.stderr
    return request.param, out


def test_csv_reads_back_in_libreoffice(run, tmp_path):
    lang, out = run
    ours = rows(out / "allocation.csv", "utf-8-sig")
    (theirs_path,) = soffice(tmp_path, out / "allocation.csv", tmp_path / "csv",
                             infilter="CSV:44,34,76,1")
    theirs = rows(theirs_path)
    assert theirs[0] == ours[0]  # headers, Chinese under zh, intact (the BOM is not a letter)
    assert len(theirs) == len(ours) == 8
    head = ours[0]
    for mine, lo in zip(ours[1:], theirs[1:], strict=True):
        assert lo[0] == mine[0]  # region names: 华东 …
        for j, name in enumerate(head):
            if j in (0, 1):
                continue
            a, b = mine[j], lo[j]
            if a == "":
                assert b == "", name
            else:
                # LibreOffice drops trailing zeros (0.400000 -> 0.4): compare as numbers
                assert Decimal(b) == Decimal(a), (name, a, b)
    if lang == "zh":
        assert ours[0][0] == "区域" and ours[1][1] in ("是", "否")


def test_xlsx_reads_back_in_libreoffice(run, tmp_path):
    lang, out = run
    ours = rows(out / "allocation.csv", "utf-8-sig")
    sheets = soffice(tmp_path, out / "allocation.xlsx", tmp_path / "xlsx")
    first = "分配" if lang == "zh" else "allocation"
    names = {p.stem.split("-", 1)[1] for p in sheets}
    assert first in names and ({"得分", "规则", "情景"} <= names if lang == "zh"
                               else {"scores", "rules", "scenario"} <= names)
    theirs = rows(next(p for p in sheets if p.stem.endswith(f"-{first}")))
    assert theirs[0] == ours[0]
    col = {name: j for j, name in enumerate(ours[0])}
    budget = "计划预算" if lang == "zh" else "budget"
    people = "计划人数" if lang == "zh" else "headcount"
    total = Decimal(0)
    for mine, lo in zip(ours[1:], theirs[1:], strict=True):
        assert lo[0] == mine[0]
        assert int(lo[col[people]]) == int(mine[col[people]])
        # the workbook stores full precision; the cell rounds to the cent we wrote
        assert Decimal(lo[col[budget]]).quantize(Decimal("0.01")) == Decimal(mine[col[budget]])
        total += Decimal(mine[col[budget]])
    assert total == Decimal("100000000.00")


def _read_back(tmp_path: Path, out: Path, first: str) -> tuple[list[list[str]], list[list[str]]]:
    """Our allocation.csv and the allocation sheet of our workbook as LibreOffice reads it."""
    ours = rows(out / "allocation.csv", "utf-8-sig")
    sheets = soffice(tmp_path, out / "allocation.xlsx", tmp_path / "xlsx")
    return ours, rows(next(p for p in sheets if p.stem.endswith(f"-{first}")))


def _same_cells(ours: list[list[str]], theirs: list[list[str]]) -> None:
    """Every cell LibreOffice reads is the one we wrote: text as is, booleans as booleans,
    numbers (stored at full precision in the workbook) equal to the CSV's to its last
    digit; people and amounts from whole cents exactly."""
    assert theirs[0] == ours[0]
    assert len(theirs) == len(ours)
    for mine, lo in zip(ours[1:], theirs[1:], strict=True):
        assert lo[0] == mine[0]
        for name, a, b in zip(ours[0][1:], mine[1:], lo[1:], strict=True):
            if a in ("", "true", "false", "是", "否"):
                assert b == {"": "", "true": "TRUE", "false": "FALSE", "是": "TRUE",
                             "否": "FALSE"}[a], (name, a, b)
                continue
            places = -Decimal(a).as_tuple().exponent
            want = Decimal(a)  # a percentage cell reads back as "-27.63…%"
            got = Decimal(b[:-1]) / 100 if b.endswith("%") else Decimal(b)
            if places == 0:  # whole people
                assert got == want, (name, a, b)
            else:  # the CSV rounds to `places` decimals
                slack = Decimal(5) * Decimal(10) ** -(places + 1) + abs(want) * Decimal("1e-14")
                assert abs(got - want) <= slack, (name, a, b)


def test_workbook_of_10000_regions_opens_in_libreoffice(tmp_path):
    """The sheets written by rows, at size: LibreOffice opens the workbook and shows every
    cell of the allocation sheet as allocation.csv has it."""
    data = tmp_path / "t10k"
    assert cli("synth", "--regions", 10000, "--seed", 3, "--out", data).returncode == 0
    out = tmp_path / "out"
    r = cli("run", "--regions", data / "regions.csv", "--scenario", data / "scenario.toml",
            "--out", out)
    assert r.returncode == 0, r.stderr
    ours, theirs = _read_back(tmp_path, out, "allocation")
    assert len(ours) == 10001
    _same_cells(ours, theirs)


def test_workbook_with_added_pools_reads_back_in_libreoffice(tmp_path):
    out = tmp_path / "roles"
    r = cli("run", "--regions", REGIONS, "--scenario", ROOT / "inputs" / "roles_2024.toml",
            "--out", out, "--lang", "zh")
    assert r.returncode == 0, r.stderr
    ours, theirs = _read_back(tmp_path, out, "分配")
    assert "区域销售总监人力成本" in ours[0] and "市场拓展基金" in ours[0]
    _same_cells(ours, theirs)
    col = ours[0].index("区域销售总监人力成本")
    assert sum(Decimal(row[col]) for row in theirs[1:]) == Decimal(4_000_000)

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

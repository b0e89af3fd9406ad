"""The command line as a user runs it: `python -m optimizer run|validate|synth` in a
subprocess, exit codes, files, messages (docs/model.md, "Outputs")."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clihelp import cli, strict_json

ROOT = Path(__file__).resolve().parents[1]
REGIONS = ROOT / "inputs" / "regions.csv"
SCENARIO = ROOT / "inputs" / "scenario.toml"


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("sample") / "out"
    return cli("run", "--regions", REGIONS, "--scenario", SCENARIO, "--out", out), out


def test_sample_run_exits_0_and_writes_files(sample_run):
    proc, out = sample_run
    assert proc.returncode == 0, proc.stderr
    for name in ("allocation.csv", "allocation.xlsx", "summary.json"):
        assert (out / name).is_file(), name
    data = (out / "allocation.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    for col in ("region", "high_potential", "market_potential", "customer_value",
                "internal_capability", "score", "current_headcount", "headcount",
                "current_budget", "budget"):
        assert col in rows[0], col
    # rows in input order; totals exact
    src = list(csv.DictReader(io.StringIO(REGIONS.read_bytes().decode("utf-8-sig"))))
    assert [r["region"] for r in rows] == [r["region"] for r in src]
    assert sum(int(r["headcount"]) for r in rows) == 206
    assert round(sum(float(r["budget"]) for r in rows) * 100) == 100_000_000 * 100
    assert all("," not in r["budget"] for r in rows)
    summary = strict_json(out / "summary.json")
    assert summary["status"] == "optimal"
    for p in ("headcount", "budget"):
        assert summary["pools"][p]["status"] == "optimal"
        assert summary["pools"][p]["hp_share"] >= 0.6 - 1e-9
    assert summary["inputs"]["regions"]["sha256"]


def test_stdout_has_no_solver_banner(sample_run):
    proc, _ = sample_run
    assert "Running HiGHS" not in proc.stdout
    assert "Running HiGHS" not in proc.stderr
    assert "Traceback" not in proc.stderr


def test_identical_inputs_give_identical_outputs(sample_run, tmp_path):
    _, out1 = sample_run
    out2 = tmp_path / "again"
    proc = cli("run", "--regions", REGIONS, "--scenario", SCENARIO, "--out", out2)
    assert proc.returncode == 0, proc.stderr
    assert (out1 / "allocation.csv").read_bytes() == (out2 / "allocation.csv").read_bytes()
    s1, s2 = strict_json(out1 / "summary.json"), strict_json(out2 / "summary.json")
    s1.pop("created")
    s2.pop("created")
    assert diff_paths(s1, s2) == []


def diff_paths(a, b, path: str = "") -> list[str]:
    """The key paths where two JSON documents differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += diff_paths(a.get(k), b.get(k), f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [p for i, (x, y) in enumerate(zip(a, b, strict=True))
                for p in diff_paths(x, y, f"{path}[{i}]")]
    return [] if a == b else [path]


def test_infeasible_scenario_exits_3_and_removes_stale_tables(tmp_path):
    scenario = tmp_path / "tight.toml"
    scenario.write_text(SCENARIO.read_text(encoding="utf-8")
                        + "\n[limits]\nmax_change = 0.30\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "allocation.csv").write_text("stale")
    (out / "allocation.xlsx").write_bytes(b"stale")
    proc = cli("run", "--regions", REGIONS, "--scenario", scenario, "--out", out)
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    assert not (out / "allocation.csv").exists()
    assert not (out / "allocation.xlsx").exists()
    summary = strict_json(out / "summary.json")
    assert summary["status"] == "infeasible"
    # ±30 % cannot even reach the new totals (206 people from 156, 100 m from 70 m)
    for p in ("headcount", "budget"):
        diag = summary["pools"][p]["diagnosis"]
        assert summary["pools"][p]["status"] == "infeasible" and diag is not None
        # the diagnosis is printed, in the planner's terms and with numbers
        assert diag["text_en"] in proc.stdout
    assert "91.00 m" in proc.stdout and "100.00 m" in proc.stdout
    assert "Traceback" not in proc.stderr


TIGHT_RULE = """
[totals]
headcount = 156
budget = 70_000_000
[weights]
market_potential = 0.40
customer_value = 0.35
internal_capability = 0.25
[high_potential]
share = 0.60
rule = "column"
[limits]
max_change = 0.30
"""


def test_infeasible_share_rule_is_diagnosed_with_its_largest_share(tmp_path):
    # current totals and ±30 %: high-potential regions had 25 % of the budget and 32 % of
    # the people; 60 % is out of reach and the diagnosis names the rule and the numbers
    scenario = tmp_path / "rule.toml"
    scenario.write_text(TIGHT_RULE, encoding="utf-8")
    out = tmp_path / "out"
    proc = cli("run", "--regions", REGIONS, "--scenario", scenario, "--out", out)
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    summary = strict_json(out / "summary.json")
    diag = summary["pools"]["budget"]["diagnosis"]
    assert "60 %" in diag["text_en"] and "42.00 m" in diag["text_en"]  # 60 % of 70 m
    assert 0.25 < diag["max_share"] < 0.6
    assert diag["text_en"] in proc.stdout
    assert not (out / "allocation.csv").exists()
    # applying the largest share the limits allow solves
    ms = min(summary["pools"][p]["diagnosis"]["max_share"] for p in ("headcount", "budget"))
    scenario.write_text(TIGHT_RULE.replace("share = 0.60", f"share = {ms!r}"), encoding="utf-8")
    proc = cli("run", "--regions", REGIONS, "--scenario", scenario, "--out", out)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert (out / "allocation.csv").exists()


def test_invalid_input_exits_2_naming_file_row_column(tmp_path):
    lines = REGIONS.read_bytes().decode("utf-8-sig").splitlines()
    header = lines[0].split(",")
    col = header.index("current_budget")
    cells = lines[2].split(",")
    cells[col] = "abc"
    lines[2] = ",".join(cells)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    proc = cli("run", "--regions", bad, "--scenario", SCENARIO, "--out", out)
    assert proc.returncode == 2
    assert "bad.csv" in proc.stderr and "row 3" in proc.stderr
    assert "current_budget" in proc.stderr and "'abc'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (out / "allocation.csv").exists()


def test_invalid_scenario_exits_2(tmp_path):
    scenario = tmp_path / "bad.toml"
    scenario.write_text("[high_potential]\nshare = 1.5\n", encoding="utf-8")
    proc = cli("run", "--regions", REGIONS, "--scenario", scenario, "--out", tmp_path / "o")
    assert proc.returncode == 2
    assert "bad.toml" in proc.stderr and "high_potential.share" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_file_exits_2(tmp_path):
    proc = cli("run", "--regions", tmp_path / "nope.csv", "--scenario", SCENARIO, "--out",
               tmp_path / "o")
    assert proc.returncode == 2
    assert "nope.csv" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli("validate", "--regions", REGIONS, "--scenario", tmp_path / "nope.toml")
    assert proc.returncode == 2
    assert "nope.toml" in proc.stderr and "Traceback" not in proc.stderr


def test_help_lists_commands_with_an_example():
    proc = cli("--help")
    assert proc.returncode == 0
    for word in ("run", "validate", "synth", "example"):
        assert word in proc.stdout
    assert "--regions" in proc.stdout and "inputs/regions.csv" in proc.stdout
    for sub in ("run", "validate", "synth"):
        p = cli(sub, "--help")
        assert p.returncode == 0 and "example" in p.stdout


def test_validate_exit_codes(tmp_path):
    proc = cli("validate", "--regions", REGIONS, "--scenario", SCENARIO)
    assert proc.returncode == 0, proc.stderr
    assert "valid" in proc.stdout
    bad = tmp_path / "dup.csv"
    text = REGIONS.read_bytes().decode("utf-8-sig")
    lines = text.splitlines()
    bad.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")  # duplicate region
    proc = cli("validate", "--regions", bad, "--scenario", SCENARIO)
    assert proc.returncode == 2
    assert "dup.csv" in proc.stderr and "region" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_synth_then_run(tmp_path):
    data = tmp_path / "synth"
    proc = cli("synth", "--regions", "300", "--seed", "5", "--out", data)
    assert proc.returncode == 0, proc.stderr
    assert (data / "regions.csv").is_file() and (data / "scenario.toml").is_file()
    first = (data / "regions.csv").read_bytes()
    proc = cli("synth", "--regions", "300", "--seed", "5", "--out", data)
    assert (data / "regions.csv").read_bytes() == first  # same seed, same file
    out = tmp_path / "out"
    proc = cli("run", "--regions", data / "regions.csv", "--scenario", data / "scenario.toml",
               "--out", out)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    summary = strict_json(out / "summary.json")
    assert summary["status"] == "optimal"
    assert "Running HiGHS" not in proc.stdout


def test_run_with_cbc(tmp_path):
    out = tmp_path / "out"
    proc = cli("run", "--regions", REGIONS, "--scenario", SCENARIO, "--out", out,
               env={"OPTIMIZER_SOLVER": "cbc"})
    assert proc.returncode == 0, proc.stderr
    summary = strict_json(out / "summary.json")
    assert summary["pools"]["budget"]["solver"]["solver"] == "CBC"


def test_synth_rejects_zero_regions(tmp_path):
    proc = cli("synth", "--regions", "0", "--out", tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


POOLS_TOML = """
[[pools]]
name = "coach"
label = "销售教练"
kind = "headcount"
total = 7
unit_cost = 123_456.78

[[pools]]
name = "fund"
label = "拓展基金"
kind = "budget"
total = 1_000_000.05
eligible = ["西南", "西北"]
"""


def _pool_scenario(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "pools.toml"
    path.write_text(SCENARIO.read_text(encoding="utf-8") + POOLS_TOML + extra, encoding="utf-8")
    return path


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_run_prints_every_pool_by_its_label_and_the_people_cost(tmp_path, lang):
    out = tmp_path / "out"
    proc = cli("run", "--regions", REGIONS, "--scenario", _pool_scenario(tmp_path),
               "--out", out, "--lang", lang)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(
        (out / "allocation.csv").read_bytes().decode("utf-8-sig"))))
    # headers: English names under en, the labels under zh
    coach, cost, fund = (("coach", "coach_cost", "fund") if lang == "en" else
                         ("销售教练", "销售教练人力成本", "拓展基金"))
    assert sum(int(r[coach]) for r in rows) == 7
    assert sum(round(float(r[fund]) * 100) for r in rows) == 100_000_005  # to the cent
    assert {r["region" if lang == "en" else "区域"] for r in rows if float(r[fund]) > 0} <= \
        {"西南", "西北"}
    for r in rows:  # people × 123,456.78 CNY, in whole cents
        assert round(float(r[cost]) * 100) == int(r[coach]) * 12_345_678
    summary = strict_json(out / "summary.json")
    assert summary["people_cost_total"] == pytest.approx(7 * 123_456.78)
    lines = proc.stdout.splitlines()
    if lang == "en":
        for head in ("Headcount: optimal", "Budget: optimal", "销售教练: optimal",
                     "拓展基金: optimal"):
            assert any(line.startswith(head) for line in lines), head
        assert "  - People cost CNY 864.2 k a year (CNY 123.5 k per person)" in lines
        assert "People cost, every pool with a unit cost: CNY 864.2 k a year" in lines
    else:
        for head in ("人员：最优", "预算：最优", "销售教练：最优", "拓展基金：最优"):
            assert any(line.startswith(head) for line in lines), head
        assert "  - 人力成本 86.4 万（每人每年 12.3 万）" in lines
        assert "人力成本合计（每年）：86.4 万" in lines


def test_a_run_without_added_pools_prints_no_people_cost(sample_run):
    proc, _ = sample_run
    assert "People cost" not in proc.stdout
    assert [line.split(":")[0] for line in proc.stdout.splitlines()
            if ": optimal" in line] == ["Headcount", "Budget"]


def test_an_infeasible_added_pool_names_itself_and_writes_no_table(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "allocation.csv").write_text("stale")
    rule = ('\n[[groups]]\nname = "east"\npools = ["fund"]\nregions = ["华东"]\n'
            "min_amount = 10\n")  # 华东 may not receive the fund
    proc = cli("run", "--regions", REGIONS, "--scenario", _pool_scenario(tmp_path, rule),
               "--out", out)
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    assert not (out / "allocation.csv").exists() and not (out / "allocation.xlsx").exists()
    summary = strict_json(out / "summary.json")
    fund = summary["pools"]["fund"]
    assert summary["status"] == "infeasible" and fund["status"] == "infeasible"
    assert fund["label"] == {"en": "拓展基金", "zh": "拓展基金"} and fund["diagnosis"]
    assert summary["pools"]["coach"]["status"] == "optimal"
    assert summary["pools"]["coach"]["cost"] == pytest.approx(7 * 123_456.78)
    assert any(line.startswith("拓展基金: infeasible — ") for line in proc.stdout.splitlines())
    assert "Traceback" not in proc.stderr


def test_a_run_imports_neither_the_store_nor_dask_nor_openpyxl(tmp_path):
    """Start-up: the plan store (SQLAlchemy, Alembic), Dask, openpyxl and importlib.metadata
    are imported by the commands that use them, not by every run."""
    code = ("import sys\nfrom optimizer.cli.main import main\n"
            f"assert main(['run', '--regions', {str(REGIONS)!r}, '--scenario', "
            f"{str(SCENARIO)!r}, '--out', {str(tmp_path / 'out')!r}]) == 0\n"
            "heavy = ('sqlalchemy', 'alembic', 'dask', 'distributed', 'openpyxl', "
            "'importlib.metadata', 'streamlit')\n"
            "print(sorted(m for m in heavy if m in sys.modules))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"

"""Every exit path leaves a true folder (docs/model.md, Outputs), large budgets to the cent,
files others can read, exports in the planner's language, and a closed stdout.

Each bug of issue 9's list (stale tables, large budgets, unusable folders, 0600 files,
closed stdout) is reproduced here through the command line's front door.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.cli import main as cli
from optimizer.inputs.regions import read_regions
from optimizer.inputs.scenario_read import load_scenario
from tests.clihelp import ROOT, strict_json
from tests.clihelp import cli as run_cli
from tests.test_plan import reference_plan

REGIONS = ROOT / "inputs" / "regions.csv"
SCENARIO = ROOT / "inputs" / "scenario.toml"
PATH_SCENARIO = ROOT / "inputs" / "plan_2024_2026.toml"
RUN_FILES = {"allocation.csv", "allocation.xlsx", "summary.json"}
PATH_FILES = {"path.csv", "path.xlsx", "summary.json"}


def files(folder: Path) -> set[str]:
    """The names in a folder (temporary files included: none may be left behind)."""
    return {p.name for p in folder.iterdir()}


def with_budget(tmp_path: Path, budget: str) -> Path:
    """The sample scenario with another [totals] budget."""
    lines = SCENARIO.read_text(encoding="utf-8").splitlines()
    out = [f"budget = {budget}" if ln.startswith("budget =") else ln for ln in lines]
    assert out != lines, "the sample scenario has no budget line to replace"
    path = tmp_path / "scenario.toml"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV written for Excel (UTF-8 with BOM)."""
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


# --------------------------------------------------------------------------- stale tables

def test_invalid_input_after_a_run_leaves_only_an_invalid_summary(tmp_path):
    out = tmp_path / "out"
    assert run_cli("run", "--regions", REGIONS, "--scenario", SCENARIO, "--out", out
                   ).returncode == 0
    assert files(out) == RUN_FILES
    bad = tmp_path / "bad.csv"
    bad.write_text("region\n", encoding="utf-8")
    r = run_cli("run", "--regions", bad, "--scenario", SCENARIO, "--out", out)
    assert r.returncode == 2, r.stderr
    assert files(out) == {"summary.json"}
    summary = strict_json(out / "summary.json")
    assert summary["status"] == "invalid"
    assert summary["problems"] and all(p["file"] == str(bad) for p in summary["problems"])
    assert "current_headcount" in json.dumps(summary["problems"], ensure_ascii=False)


def test_a_multi_year_run_then_a_bad_scenario_leaves_no_path_table(tmp_path):
    out = tmp_path / "out"
    assert run_cli("run", "--regions", REGIONS, "--scenario", PATH_SCENARIO, "--out", out
                   ).returncode == 0
    assert files(out) == PATH_FILES
    bad = tmp_path / "bad.toml"
    bad.write_text("[totals]\nheadcount = -5\n", encoding="utf-8")
    r = run_cli("run", "--regions", REGIONS, "--scenario", bad, "--out", out)
    assert r.returncode == 2
    assert files(out) == {"summary.json"}
    assert strict_json(out / "summary.json")["status"] == "invalid"


def test_internal_error_after_a_run_leaves_only_an_error_summary(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    assert cli.main(["run", "--regions", str(REGIONS), "--scenario", str(SCENARIO),
                     "--out", str(out)]) == 0
    assert files(out) == RUN_FILES

    def broken(*_a, **_k):
        raise RuntimeError("solver exploded")

    monkeypatch.setattr("optimizer.flow.plan.run_plan", broken)
    code = cli.main(["run", "--regions", str(REGIONS), "--scenario", str(SCENARIO),
                     "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert "solver exploded" in err and "No allocation was written" in err
    assert files(out) == {"summary.json"}
    summary = strict_json(out / "summary.json")
    assert summary["status"] == "error" and "solver exploded" in summary["message"]


def test_infeasible_run_leaves_its_summary_and_no_table(tmp_path):
    out = tmp_path / "out"
    assert run_cli("run", "--regions", REGIONS, "--scenario", SCENARIO, "--out", out
                   ).returncode == 0
    _, tight = _inputs_for("infeasible", tmp_path)
    r = run_cli("run", "--regions", REGIONS, "--scenario", tight, "--out", out)
    assert r.returncode == 3, r.stdout + r.stderr
    assert files(out) == {"summary.json"}
    assert strict_json(out / "summary.json")["status"] == "infeasible"


# A property: whatever sequence of runs goes into one folder, it ends with either the
# complete set of the last run or only a summary.json whose status says why.
KINDS = ("optimal", "path", "invalid_table", "invalid_scenario", "infeasible")


def _inputs_for(kind: str, tmp: Path) -> tuple[Path, Path]:
    if kind == "optimal":
        return REGIONS, SCENARIO
    if kind == "path":
        return REGIONS, PATH_SCENARIO
    if kind == "invalid_table":
        bad = tmp / "bad.csv"
        bad.write_text("region,current_headcount\n华东,x\n", encoding="utf-8")
        return bad, SCENARIO
    if kind == "invalid_scenario":
        bad = tmp / "bad.toml"
        bad.write_text("[weights]\nmarket_potential = -1\n", encoding="utf-8")
        return REGIONS, bad
    tight = tmp / "tight.toml"
    tight.write_text("[totals]\nheadcount = 206\n[high_potential]\nshare = 0.6\n"
                     "[limits]\nmax_change = 0.05\n", encoding="utf-8")
    return REGIONS, tight


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(KINDS), min_size=2, max_size=4))
def test_any_sequence_of_runs_leaves_a_true_folder(tmp_path_factory, capsys, kinds):
    tmp = tmp_path_factory.mktemp("seq")
    out = tmp / "out"
    expect_code = {"optimal": 0, "path": 0, "invalid_table": 2, "invalid_scenario": 2,
                   "infeasible": 3}
    for kind in kinds:
        regions, scenario = _inputs_for(kind, tmp)
        code = cli.main(["run", "--regions", str(regions), "--scenario", str(scenario),
                         "--out", str(out)])
        capsys.readouterr()
        assert code == expect_code[kind], kind
        summary = strict_json(out / "summary.json")
        if kind == "optimal":
            assert files(out) == RUN_FILES and summary["status"] == "optimal"
        elif kind == "path":
            assert files(out) == PATH_FILES and summary["status"] == "optimal"
        else:
            assert files(out) == {"summary.json"}
            assert summary["status"] == {"infeasible": "infeasible"}.get(kind, "invalid")


# --------------------------------------------------------------------------- large budgets

@pytest.mark.parametrize("budget", ["30_000_000_000", "100_000_000_000", "1_000_000_000_000",
                                    "123_456_789_012_345", "98_765_432_109.87",
                                    "1_000_000_000_000_000"])
def test_large_budgets_sum_to_the_cent_and_match_the_reference(tmp_path, budget):
    scenario = with_budget(tmp_path, budget)
    out = tmp_path / "out"
    r = run_cli("run", "--regions", REGIONS, "--scenario", scenario, "--out", out)
    assert r.returncode == 0, r.stderr
    rows = read_csv(out / "allocation.csv")
    written = [Decimal(row["budget"]) for row in rows]
    assert all(d == d.quantize(Decimal("0.01")) for d in written)
    assert sum(written) == Decimal(budget.replace("_", ""))
    # against the independent reference: every region within 1e-3·x* + 1e-9·X
    sc = load_scenario(scenario)
    df = read_regions(REGIONS, sc)
    hp = [str(v).lower() in ("true", "1", "yes", "是") for v in df["high_potential"]]
    ref = reference_plan(df, sc, hp)["budget"]
    total = float(Decimal(budget.replace("_", "")))
    for got, want in zip(written, ref["x"], strict=True):
        assert abs(float(got) - want) <= 1e-3 * want + 1e-9 * total + 0.01


def test_change_column_is_exact_cents_too(tmp_path):
    scenario = with_budget(tmp_path, "1_000_000_000_000_000")
    out = tmp_path / "out"
    assert run_cli("run", "--regions", REGIONS, "--scenario", scenario, "--out", out
                   ).returncode == 0
    for row in read_csv(out / "allocation.csv"):
        assert (Decimal(row["budget"]) - Decimal(row["current_budget"])
                == Decimal(row["budget_change"]))


# --------------------------------------------------------------------------- unusable folders

def test_out_is_a_file(tmp_path):
    target = tmp_path / "report.txt"
    target.write_text("keep me", encoding="utf-8")
    r = run_cli("run", "--regions", REGIONS, "--out", target)
    assert r.returncode == 2
    assert str(target) in r.stderr and "not a folder" in r.stderr
    assert "internal error" not in r.stderr
    assert target.read_text(encoding="utf-8") == "keep me"


def test_out_cannot_be_created():
    r = run_cli("run", "--regions", REGIONS, "--out", "/proc/x")
    assert r.returncode == 2
    assert "/proc/x" in r.stderr and "cannot be used as the output folder" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("taken", ["allocation.csv", "allocation.xlsx", "summary.json"])
def test_an_output_name_taken_by_a_folder(tmp_path, taken):
    out = tmp_path / "out"
    (out / taken).mkdir(parents=True)
    (out / taken / "inside.txt").write_text("x", encoding="utf-8")
    r = run_cli("run", "--regions", REGIONS, "--scenario", SCENARIO, "--out", out)
    assert r.returncode == 2, r.stderr
    assert str(out / taken) in r.stderr and "is a folder" in r.stderr
    assert "not written" not in r.stderr and "internal error" not in r.stderr
    assert (out / taken / "inside.txt").exists()  # nothing of the user's is removed
    left = files(out) - {taken}
    assert left <= {"summary.json"}
    if left:
        assert strict_json(out / "summary.json")["status"] == "invalid"


def test_out_folder_zh_message(tmp_path):
    target = tmp_path / "f"
    target.write_text("", encoding="utf-8")
    r = run_cli("run", "--regions", REGIONS, "--out", target, "--lang", "zh")
    assert r.returncode == 2
    assert "不是文件夹" in r.stderr and str(target) in r.stderr


def test_closed_stdout_is_not_an_internal_error(tmp_path):
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "OPTIMIZER_DEBUG"}
    proc = subprocess.Popen([sys.executable, "-m", "optimizer", "run", "--regions", str(REGIONS),
                             "--scenario", str(SCENARIO), "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `| true`: the reader is gone before anything is printed
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=300)
    assert code == 0, err
    assert "internal error" not in err and "not written" not in err and "Traceback" not in err
    assert files(out) == RUN_FILES


# --------------------------------------------------------------------------- permissions

@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_outputs_follow_the_umask(tmp_path, umask, mode):
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "optimizer", "run", "--regions", str(REGIONS),
                        "--scenario", str(SCENARIO), "--out", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=300,
                       preexec_fn=lambda: os.umask(umask))
    assert r.returncode == 0, r.stderr
    for name in RUN_FILES:
        assert stat.S_IMODE((out / name).stat().st_mode) == mode, name


# --------------------------------------------------------------------------- language

def test_zh_exports_have_chinese_headers_and_en_keeps_the_contract(tmp_path):
    en, zh = tmp_path / "en", tmp_path / "zh"
    assert run_cli("run", "--regions", REGIONS, "--scenario", SCENARIO, "--out", en
                   ).returncode == 0
    assert run_cli("run", "--regions", REGIONS, "--scenario", SCENARIO, "--out", zh,
                   "--lang", "zh").returncode == 0
    en_rows, zh_rows = read_csv(en / "allocation.csv"), read_csv(zh / "allocation.csv")
    assert list(en_rows[0])[:6] == ["region", "high_potential", "market_potential",
                                    "customer_value", "internal_capability", "score"]
    assert {"区域", "高潜力", "综合得分", "计划人数", "计划预算", "当前预算"} <= set(zh_rows[0])
    assert not any(h.isascii() for h in zh_rows[0])
    for e, z in zip(en_rows, zh_rows, strict=True):
        assert z["区域"] == e["region"]
        assert z["计划人数"] == e["headcount"] and z["计划预算"] == e["budget"]
        assert z["高潜力"] == {"true": "是", "false": "否"}[e["high_potential"]]
    import openpyxl

    wb = openpyxl.load_workbook(zh / "allocation.xlsx", read_only=True)
    assert wb.sheetnames[:2] == ["分配", "得分"]
    header = next(wb["分配"].iter_rows(max_row=1, values_only=True))
    assert header[0] == "区域" and "计划预算" in header


def test_budget_column_sums_exactly_in_the_sample(tmp_path):
    out = tmp_path / "out"
    assert run_cli("run", "--regions", REGIONS, "--scenario", SCENARIO, "--out", out
                   ).returncode == 0
    rows = read_csv(out / "allocation.csv")
    assert sum(Decimal(r["budget"]) for r in rows) == Decimal("100000000")
    assert np.sum([int(r["headcount"]) for r in rows]) == 206


def test_summary_and_stdout_say_how_the_table_was_read(tmp_path):
    # a GB18030 file with a title row above the header, as Excel on a Chinese Windows saves it
    text = "2024年各区域资源表\n" + REGIONS.read_text(encoding="utf-8-sig")
    regions = tmp_path / "区域.csv"
    regions.write_bytes(text.encode("gb18030"))
    out = tmp_path / "out"
    r = run_cli("run", "--regions", regions, "--scenario", SCENARIO, "--out", out)
    assert r.returncode == 0, r.stderr
    summary = strict_json(out / "summary.json")
    assert summary["read"]["encoding"] == "GB18030"
    assert summary["read"]["delimiter"] == "," and summary["read"]["header_row"] == 2
    assert any("GB18030" in n["en"] and "row 2" in n["en"] for n in summary["notes"])
    assert "GB18030" in r.stdout
    assert read_csv(out / "allocation.csv")[0]["region"] == "华东"


# --------------------------------------------------------------------------- many pools

GOLDEN = ROOT / "tests" / "golden"


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("sample", ["scenario", "groups"])
def test_a_scenario_without_added_pools_writes_the_allocation_csv_of_before(
        tmp_path, sample, lang):
    """tests/golden/allocation_<sample>_<lang>.csv were written by the code before issue 10
    (commit f416b6e) from inputs/<sample>.toml: the same bytes now."""
    out = tmp_path / "out"
    r = run_cli("run", "--regions", REGIONS, "--scenario", ROOT / "inputs" / f"{sample}.toml",
                "--out", out, "--lang", lang)
    assert r.returncode == 0, r.stderr
    assert (out / "allocation.csv").read_bytes() == \
        (GOLDEN / f"allocation_{sample}_{lang}.csv").read_bytes()


PATH_POOL = """
[[pools]]
name = "coach"
label = "销售教练"
kind = "headcount"
total = 4
unit_cost = 300_000

[[pools]]
name = "fund"
label = "拓展基金"
kind = "budget"
total = 1_000_000
eligible = ["西南", "西北"]
"""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_multi_year_plan_writes_every_pool(tmp_path, lang):
    scenario = tmp_path / "path.toml"
    text = PATH_SCENARIO.read_text(encoding="utf-8")
    # the last year sets the coaches' total by the pool's name; the fund keeps its own
    text = text.replace("year = 2026\n", "year = 2026\ncoach = 6\n")
    assert "coach = 6" in text
    scenario.write_text(text + PATH_POOL, encoding="utf-8")
    out = tmp_path / "out"
    r = run_cli("run", "--regions", REGIONS, "--scenario", scenario, "--out", out,
                "--lang", lang)
    assert r.returncode == 0, (r.stdout, r.stderr)
    rows = read_csv(out / "path.csv")
    coach = (lambda y: f"coach_{y}") if lang == "en" else (lambda y: f"销售教练_{y}")
    fund = (lambda y: f"fund_{y}") if lang == "en" else (lambda y: f"拓展基金_{y}")
    assert [sum(int(row[coach(y)]) for row in rows) for y in (2024, 2025, 2026)] == [4, 4, 6]
    for y in (2024, 2025, 2026):
        assert sum(Decimal(row[fund(y)]) for row in rows) == Decimal("1000000")
        assert all(Decimal(row[fund(y)]) == 0 for row in rows
                   if row["region" if lang == "en" else "区域"] not in ("西南", "西北"))
    import openpyxl

    wb = openpyxl.load_workbook(out / "path.xlsx", read_only=True)
    expected = (["path_headcount", "path_budget", "path_coach", "path_fund", "scenario"]
                if lang == "en" else
                ["人员路径", "预算路径", "销售教练路径", "拓展基金路径", "情景"])
    assert wb.sheetnames == expected
    sheet = wb[expected[2]]
    header = next(sheet.iter_rows(max_row=1, values_only=True))
    assert header[2:] == ((("current_coach",) if lang == "en" else ("当前销售教练",))
                          + tuple(coach(y) for y in (2024, 2025, 2026)))
    body = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [sum(r[5] for r in body)] == [6]
    assert sheet.cell(row=2, column=4).number_format == "#,##0"
    assert wb[expected[3]].cell(row=2, column=4).number_format == "#,##0.00"


def test_sheet_names_are_valid_and_unique():
    from optimizer.report.export import _sheet_title

    taken = {"情景"}
    names = [_sheet_title(n, taken) for n in
             ["情景", "a/b:c*d?[e]\\f", "'quoted'", "x" * 40, "x" * 40, "Path_Coach", "path_coach"]]
    assert names[0] == "情景~2" and names[1] == "a_b_c_d__e__f" and names[2] == "quoted"
    assert names[3] == "x" * 31 and len(names[4]) <= 31 and names[4] != names[3]
    assert names[5] == "Path_Coach" and names[6].lower() != "path_coach"
    assert len({n.lower() for n in names}) == len(names)

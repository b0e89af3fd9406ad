"""`optimizer batch`: every scenario of a folder planned as `optimizer run` plans it."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest

from optimizer.studies.batch import run_batch
from tests.clihelp import cli, strict_json

REPO = Path(__file__).resolve().parents[1]
INPUTS = REPO / "inputs"
REGIONS = INPUTS / "regions.csv"
VALID = ("groups", "plan_2024_2026", "scenario")


def _csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), path  # Excel needs the BOM for Chinese
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def _folder(tmp: Path, bad: bool = True, tight: bool = True) -> Path:
    """The bundled scenarios, plus an invalid one and an infeasible one."""
    d = tmp / "scenarios"
    d.mkdir()
    for name in VALID:
        shutil.copy(INPUTS / f"{name}.toml", d / f"{name}.toml")
    if bad:
        (d / "bad.toml").write_text('[totals]\nheadcount = "many"\n', "utf-8")
    if tight:
        text = (INPUTS / "scenario.toml").read_text("utf-8")
        (d / "tight.toml").write_text(text + "\n[limits]\nmax_change = 0.1\n", "utf-8")
    (d / "notes.txt").write_text("not a scenario", "utf-8")
    return d


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Path]]:
    """One batch through the front door on the default local Dask cluster (2 workers),
    and `optimizer run` on each scenario of the same folder."""
    tmp = tmp_path_factory.mktemp("batch")
    folder = _folder(tmp)
    out = tmp / "out"
    p = cli("batch", "--regions", REGIONS, "--scenarios", folder, "--out", out,
            "--workers", "2")
    assert p.returncode == 2, p.stderr  # bad.toml is invalid
    assert "Traceback" not in p.stderr
    assert "5 scenarios: 3 optimal, 1 infeasible, 1 invalid" in p.stdout
    singles = {}
    for stem in (*VALID, "tight"):
        singles[stem] = tmp / f"run_{stem}"
        r = cli("run", "--regions", REGIONS, "--scenario", folder / f"{stem}.toml",
                "--out", singles[stem])
        assert r.returncode == (3 if stem == "tight" else 0), r.stderr
    return folder, out, singles


def test_each_scenario_gets_the_files_of_optimizer_run(runs) -> None:
    _, out, singles = runs
    for stem, single in singles.items():
        names = sorted(p.name for p in single.iterdir())
        assert sorted(p.name for p in (out / stem).iterdir()) == names
        for name in names:
            if name != "summary.json":  # holds a time stamp
                assert (out / stem / name).read_bytes() == (single / name).read_bytes(), name
        mine, theirs = strict_json(out / stem / "summary.json"), strict_json(single /
                                                                             "summary.json")
        mine.pop("created"), theirs.pop("created")
        assert mine == theirs
    assert (out / "scenario" / "allocation.csv").exists()
    assert (out / "plan_2024_2026" / "path.csv").exists()
    assert not (out / "tight" / "allocation.csv").exists()


def test_invalid_scenario_has_its_messages_and_does_not_stop_the_others(runs) -> None:
    folder, out, _ = runs
    assert sorted(p.name for p in (out / "bad").iterdir()) == ["summary.json"]
    s = strict_json(out / "bad" / "summary.json")
    assert s["status"] == "invalid"
    (problem,) = s["problems"]
    assert problem["file"] == str(folder / "bad.toml")
    assert problem["column"] == "totals.headcount" and "'many'" in problem["message"]
    assert not (out / "notes").exists()  # only *.toml files are scenarios


def test_batch_json_has_the_status_of_every_scenario(runs) -> None:
    _, out, _ = runs
    b = strict_json(out / "batch.json")
    assert [s["name"] for s in b["scenarios"]] == ["bad", "groups", "plan_2024_2026",
                                                    "scenario", "tight"]
    assert [s["status"] for s in b["scenarios"]] == ["invalid", "optimal", "optimal",
                                                      "optimal", "infeasible"]
    assert b["counts"] == {"optimal": 3, "infeasible": 1, "invalid": 1}


def test_comparison_rows_agree_with_each_runs_summary(runs) -> None:
    _, out, singles = runs
    rows = {r["scenario"]: r for r in _csv(out / "comparison.csv")}
    assert list(rows) == ["bad", "groups", "plan_2024_2026", "scenario", "tight"]
    assert rows["bad"]["status"] == "invalid" and "totals.headcount" in rows["bad"]["problems"]
    for stem in ("groups", "scenario", "tight"):
        summary = strict_json(singles[stem] / "summary.json")
        assert rows[stem]["status"] == summary["status"]
        for pool, s in summary["pools"].items():
            assert float(rows[stem][f"{pool}_total"]) == pytest.approx(s["total"])
            assert float(rows[stem][f"{pool}_hp_required"]) == pytest.approx(s["hp_required"])
            if summary["status"] == "optimal":
                assert float(rows[stem][f"{pool}_hp_share"]) == pytest.approx(
                    s["hp_share"], abs=1e-6)
                assert float(rows[stem][f"{pool}_objective"]) == pytest.approx(
                    s["objective"], abs=1e-6)
                assert int(rows[stem][f"{pool}_binding"]) == len(s["binding"])
            else:
                assert rows[stem][f"{pool}_hp_share"] == ""
    path = strict_json(singles["plan_2024_2026"] / "summary.json")["path"]
    assert rows["plan_2024_2026"]["years"] == "2024-2026"
    for pool, s in path["pools"].items():  # a multi-year plan shows its final year
        assert float(rows["plan_2024_2026"][f"{pool}_total"]) == pytest.approx(s["totals"][-1])


def test_comparison_regions_hold_each_runs_allocation(runs) -> None:
    _, out, singles = runs
    table = _csv(out / "comparison_regions.csv")
    alloc = _csv(singles["scenario"] / "allocation.csv")
    assert [r["region"] for r in table] == [r["region"] for r in alloc]
    for row, a in zip(table, alloc, strict=True):
        assert row["scenario:headcount"] == a["headcount"]
        assert row["scenario:budget"] == a["budget"]
        assert row["tight:budget"] == ""  # infeasible: no plan
        assert "bad:budget" not in row
    path = _csv(singles["plan_2024_2026"] / "path.csv")
    for row, a in zip(table, path, strict=True):
        for y in (2024, 2025, 2026):
            assert row[f"plan_2024_2026:headcount:{y}"] == a[f"headcount_{y}"]
            assert row[f"plan_2024_2026:budget:{y}"] == a[f"budget_{y}"]


@pytest.mark.parametrize("bad, tight, code", [(False, True, 3), (False, False, 0)])
def test_exit_code_infeasible_else_ok(tmp_path: Path, bad: bool, tight: bool,
                                      code: int) -> None:
    folder = _folder(tmp_path, bad=bad, tight=tight)
    p = cli("batch", "--regions", REGIONS, "--scenarios", folder, "--out", tmp_path / "o",
            "--workers", "1", "--no-explain", "--lang", "zh")
    assert p.returncode == code, p.stderr
    assert "已写入" in p.stdout


def test_stale_plan_of_a_now_invalid_scenario_is_removed(tmp_path: Path) -> None:
    folder = _folder(tmp_path, bad=False, tight=False)
    out = tmp_path / "out"
    run_batch(REGIONS, folder, out, workers=1, explain=False)
    assert (out / "scenario" / "allocation.csv").exists()
    (folder / "scenario.toml").write_text("[weights]\nmarket_potential = -1\n", "utf-8")
    res = run_batch(REGIONS, folder, out, workers=1, explain=False)
    assert [o.status for o in res.outcomes] == ["optimal", "optimal", "invalid"]
    assert sorted(p.name for p in (out / "scenario").iterdir()) == ["summary.json"]
    assert strict_json(out / "scenario" / "summary.json")["status"] == "invalid"


def test_scenario_invalid_against_the_table_is_an_outcome(tmp_path: Path) -> None:
    """Problems only seen when the table is read for that scenario stay with it."""
    folder = _folder(tmp_path, bad=False, tight=False)
    (folder / "extra.toml").write_text("[indicators.no_such_column]\ndimension = "
                                       "\"market_potential\"\nweight = 1\n", "utf-8")
    res = run_batch(REGIONS, folder, tmp_path / "out", workers=1, explain=False)
    extra = next(o for o in res.outcomes if o.name == "extra")
    assert extra.status == "invalid"
    assert [(p.file, p.column) for p in extra.problems] == [(str(REGIONS), "no_such_column")]
    assert res.count("optimal") == 3


@pytest.mark.parametrize("make, message", [
    (lambda d: d, "no *.toml file"),
    (lambda d: d / "missing", "is not a folder"),
])
def test_folder_without_scenarios_exit_2(tmp_path: Path, make, message: str) -> None:
    p = cli("batch", "--regions", REGIONS, "--scenarios", make(tmp_path), "--out",
            tmp_path / "o")
    assert p.returncode == 2
    assert "--scenarios" in p.stderr and message in p.stderr


def test_unreadable_regions_and_bad_workers_exit_2(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    p = cli("batch", "--regions", tmp_path / "missing.csv", "--scenarios", folder, "--out",
            tmp_path / "o")
    assert p.returncode == 2 and "missing.csv" in p.stderr
    p = cli("batch", "--regions", REGIONS, "--scenarios", folder, "--out", tmp_path / "o",
            "--workers", "0")
    assert p.returncode == 2 and "--workers: found 0" in p.stderr


# --------------------------------------------------------------------------- added pools

def _outcomes() -> list:
    """The one-pool sample, the roles sample and a path with an added pool, planned here."""
    import tomllib

    from optimizer.flow.path import run_path
    from optimizer.flow.plan import run_plan
    from optimizer.inputs.regions import read_regions
    from optimizer.inputs.scenario_read import scenario_from_text
    from optimizer.studies.batch import Outcome

    out = []
    for stem in ("roles_2024", "scenario"):
        f = INPUTS / f"{stem}.toml"
        s = scenario_from_text(f.read_text("utf-8"), str(f))
        r = run_plan(read_regions(REGIONS, s), s)
        out.append(Outcome(stem, f, str(r.status), r))
    text = (INPUTS / "plan_2024_2026.toml").read_text("utf-8") + (
        '\n[[pools]]\nname = "fund"\nkind = "budget"\ntotal = 1_000_000\n'
        'eligible = ["西南", "西北"]\n')
    s = scenario_from_text(text)
    assert tomllib.loads(text)["pools"][0]["name"] == "fund"
    r = run_path(read_regions(REGIONS, s), s)
    out.append(Outcome("path_fund", INPUTS / "plan_2024_2026.toml", str(r.status), r))
    return out


def test_comparison_has_columns_for_every_pool_and_the_people_cost() -> None:
    import tomllib

    from optimizer.studies.batch import BatchResult, comparison_regions, comparison_table

    batch = BatchResult(_outcomes(), [])
    table = comparison_table(batch)
    rows = {r["scenario"]: r for r in table.to_dict("records")}
    spec = tomllib.loads((INPUTS / "roles_2024.toml").read_text("utf-8"))
    names = [p["name"] for p in spec["pools"]]
    cols = list(table.columns)
    # headcount, budget, then the added pools in the order the scenarios name them
    firsts = [c.removesuffix("_total") for c in cols if c.endswith("_total")
              and c != "people_cost_total"]
    assert firsts == ["headcount", "budget", *names, "fund"]
    for p in spec["pools"]:
        assert rows["roles_2024"][f"{p['name']}_total"] == p["total"]
        assert pd.isna(rows["scenario"][f"{p['name']}_total"])  # not a pool of that plan
    costs = {p["name"]: p["total"] * p["unit_cost"] for p in spec["pools"] if "unit_cost" in p}
    for name, cost in costs.items():
        assert rows["roles_2024"][f"{name}_cost"] == pytest.approx(cost)
    assert rows["roles_2024"]["people_cost_total"] == pytest.approx(sum(costs.values()))
    assert rows["roles_2024"]["people_cost_total"] == pytest.approx(38_350_000)
    assert pd.isna(rows["scenario"]["people_cost_total"])
    assert "expansion_fund_cost" not in cols
    assert rows["path_fund"]["fund_total"] == 1_000_000
    assert rows["path_fund"]["fund_hp_share"] == pytest.approx(1.0)  # 西南, 西北: both 是
    regions = comparison_regions(batch)
    assert [c for c in regions.columns if c.startswith("roles_2024:")] == [
        f"roles_2024:{p}" for p in ("headcount", "budget", *names)]
    assert [c for c in regions.columns if c.startswith("path_fund:fund")] == [
        f"path_fund:fund:{y}" for y in (2024, 2025, 2026)]
    roles = batch.outcomes[0].result
    assert regions["roles_2024:director"].tolist() == [
        float(v) for v in roles.pools["director"].allocation]


def test_comparison_csv_formats_each_pool_by_its_kind() -> None:
    from optimizer.studies.batch import (
        BatchResult,
        _comparison_kinds,
        comparison_table,
        table_csv_bytes,
    )

    batch = BatchResult(_outcomes(), [])
    rows = {r["scenario"]: r for r in csv.DictReader(io.StringIO(table_csv_bytes(
        comparison_table(batch), _comparison_kinds(batch)).decode("utf-8-sig")))}
    assert rows["roles_2024"]["director_total"] == "4"  # whole people
    assert rows["roles_2024"]["expansion_fund_total"] == "10000000.00"  # money, to the cent
    assert rows["roles_2024"]["people_cost_total"] == "38350000.00"
    assert rows["scenario"]["director_total"] == ""


def test_batch_with_the_roles_sample_through_the_front_door(tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    for stem in ("roles_2024", "scenario"):
        shutil.copy(INPUTS / f"{stem}.toml", folder / f"{stem}.toml")
    out = tmp_path / "out"
    p = cli("batch", "--regions", REGIONS, "--scenarios", folder, "--out", out,
            "--workers", "1")
    assert p.returncode == 0, p.stdout + p.stderr
    rows = {r["scenario"]: r for r in _csv(out / "comparison.csv")}
    alloc = _csv(out / "roles_2024" / "allocation.csv")
    summary = strict_json(out / "roles_2024" / "summary.json")
    assert float(rows["roles_2024"]["people_cost_total"]) == pytest.approx(
        summary["people_cost_total"])
    table = _csv(out / "comparison_regions.csv")
    for row, a in zip(table, alloc, strict=True):
        assert row["roles_2024:csm"] == a["csm"]
        assert row["roles_2024:expansion_fund"] == a["expansion_fund"]

"""The source plan's situation through the CLI's front door (issue 4, "Done when"):
high-potential regions hold 25 % of the budget today, the rule asks 60 %, and no region
may move more than ±30 %. The CLI names the conflict, gives the largest reachable share,
offers relaxed plans, writes them to summary.json, and each relaxed plan solves.

Every expected number is computed here from inputs/regions.csv (plain csv module)."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REGIONS = REPO / "inputs" / "regions.csv"
TRUE = {"true", "1", "yes", "y", "是"}


def read_table() -> list[dict[str, str]]:
    with open(REGIONS, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def situation() -> dict[str, float]:
    """Today's totals and the largest high-potential share each pool allows under ±30 %."""
    rows = read_table()
    hp = [r["high_potential"].strip().casefold() in TRUE for r in rows]
    heads = [int(r["current_headcount"]) for r in rows]
    money = [float(r["current_budget"]) for r in rows]
    h_total, b_total = sum(heads), sum(money)
    # budget: Σ_H 1.3·c, unless the others' minimums (0.7·c) leave less
    b_most = min(sum(1.3 * c for c, h in zip(money, hp, strict=True) if h),
                 b_total - sum(0.7 * c for c, h in zip(money, hp, strict=True) if not h))
    # people: ⌊1.3·c⌋ but at least c + 1; the others keep min(⌈0.7·c⌉, c − 1)
    h_most = min(sum(max(math.floor(1.3 * c + 1e-9), c + 1)
                     for c, h in zip(heads, hp, strict=True) if h),
                 h_total - sum(min(math.ceil(0.7 * c - 1e-9), c - 1)
                               for c, h in zip(heads, hp, strict=True) if not h))
    return {"headcount": h_total, "budget": b_total,
            "budget_share": b_most / b_total, "budget_most": b_most,
            "headcount_share": h_most / h_total, "headcount_most": h_most,
            "budget_today": sum(c for c, h in zip(money, hp, strict=True) if h) / b_total}


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return repr(v)


def write_scenario(path: Path, totals: dict, share: float, limits: dict,
                   groups: list[dict] | None = None) -> Path:
    lines = ["[totals]", *(f"{k} = {toml_value(v)}" for k, v in totals.items()), "",
             "[high_potential]", f"share = {share!r}", 'rule = "column"', "",
             "[limits]", *(f"{k} = {toml_value(v)}" for k, v in limits.items()), ""]
    for g in groups or []:
        lines.append("[[groups]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in g.items() if v is not None]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def cli(scenario: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "optimizer", "run", "--regions", str(REGIONS),
         "--scenario", str(scenario), "--out", str(out), *extra],
        cwd=REPO, capture_output=True, text=True, encoding="utf-8", timeout=300)


@pytest.fixture(scope="module")
def infeasible_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("source_plan")
    s = situation()
    scenario = write_scenario(tmp / "plan.toml",
                              {"headcount": s["headcount"], "budget": s["budget"]},
                              0.60, {"max_change": 0.30})
    proc = cli(scenario, tmp / "out")
    summary = json.loads((tmp / "out" / "summary.json").read_text(encoding="utf-8"))
    return s, tmp, proc, summary


def test_the_situation_of_the_source_plan():
    s = situation()
    assert (s["headcount"], s["budget"]) == (156, 70_000_000)
    assert s["budget_today"] == pytest.approx(0.25)


def test_cli_names_the_conflict_with_numbers(infeasible_run):
    s, _, proc, _ = infeasible_run
    assert proc.returncode == 3, proc.stderr
    out = proc.stdout
    assert "Traceback" not in proc.stderr
    budget_line = next(line for line in out.splitlines() if line.startswith("Budget:"))
    people_line = next(line for line in out.splitlines() if line.startswith("Headcount:"))
    for line in (budget_line, people_line):
        assert "infeasible" in line and "60 %" in line
        assert "±30 % change limit" in line, line
    # the numbers that clash: 60 % of 70 m against what ±30 % allows
    assert f"{0.6 * s['budget'] / 1e6:,.2f} m" in budget_line
    assert f"{s['budget_most'] / 1e6:,.2f} m" in budget_line
    assert f"{math.ceil(0.6 * s['headcount'] - 1e-9)} people" in people_line
    assert f"{s['headcount_most']} people" in people_line


def test_cli_prints_the_largest_reachable_share(infeasible_run):
    s, _, proc, summary = infeasible_run
    share = min(s["budget_share"], s["headcount_share"])
    assert share == pytest.approx(s["budget_share"])  # the budget is the tighter pool
    assert f"The largest high-potential share the limits allow: {share:.4%}" in proc.stdout
    assert summary["max_share"] == pytest.approx(share, abs=1e-6)
    assert summary["max_share"] <= share + 1e-12  # rounded down, so that it solves
    assert summary["pools"]["budget"]["diagnosis"]["max_share"] == pytest.approx(
        s["budget_share"], abs=1e-6)
    assert summary["pools"]["headcount"]["diagnosis"]["max_share"] == pytest.approx(
        s["headcount_share"], abs=1e-9)


def test_cli_prints_relaxations_and_writes_them(infeasible_run, tmp_path):
    s, tmp, proc, summary = infeasible_run
    assert summary["status"] == "infeasible"
    assert not (tmp / "out" / "allocation.csv").exists()
    for p in ("headcount", "budget"):
        diag = summary["pools"][p]["diagnosis"]
        assert f"hp_share_{p}" in diag["conflicts"] and f"change_limit_{p}" in diag["conflicts"]
    relax = summary["relaxations"]
    assert {r["kind"] for r in relax} >= {"share", "change_limit"}
    assert "Nearest plans that solve" in proc.stdout
    for r in relax:
        assert r["text_en"] in proc.stdout
    (share,) = [r for r in relax if r["kind"] == "share"]
    assert share["changes"]["hp_share"] == pytest.approx(summary["max_share"])
    (limit,) = [r for r in relax if r["kind"] == "change_limit"]
    # budget: Σ_H (1 + δ)·c ≥ 60 % of 70 m ⇒ δ = 0.6·X / Σ_H c − 1
    need = 0.6 * s["budget"] / (s["budget_today"] * s["budget"]) - 1
    assert limit["changes"]["budget_max_change"] == pytest.approx(math.ceil(need * 1e4) / 1e4)


def apply(s: dict, changes: dict) -> tuple[dict, float, dict, list[dict] | None]:
    totals = {"headcount": s["headcount"], "budget": s["budget"]}
    share, limits, groups = 0.60, {"max_change": 0.30}, None
    for k, v in changes.items():
        if k == "hp_share":
            share = v
        elif k.endswith("_max_change") or k == "max_change":
            limits[k] = v
        elif k.endswith("_total"):
            totals[k.removesuffix("_total")] = v
        elif k == "groups":
            groups = v
        else:
            raise AssertionError(f"unknown change {k}")
    return totals, share, limits, groups


def test_each_relaxed_plan_solves_on_the_cli(infeasible_run, tmp_path):
    s, _, _, summary = infeasible_run
    assert summary["relaxations"]
    for i, r in enumerate(summary["relaxations"]):
        totals, share, limits, groups = apply(s, r["changes"])
        scenario = write_scenario(tmp_path / f"relaxed_{i}.toml", totals, share, limits, groups)
        proc = cli(scenario, tmp_path / f"out_{i}")
        assert proc.returncode == 0, (r["kind"], proc.stdout, proc.stderr)
        done = json.loads((tmp_path / f"out_{i}" / "summary.json").read_text(encoding="utf-8"))
        assert done["status"] == "optimal"
        assert (tmp_path / f"out_{i}" / "allocation.csv").exists()
        for p in ("headcount", "budget"):
            assert done["pools"][p]["hp_share"] >= share - 1e-9


def test_cli_in_chinese_names_the_change_limit(infeasible_run, tmp_path):
    s, tmp, _, _ = infeasible_run
    proc = cli(tmp / "plan.toml", tmp_path / "zh", "--lang", "zh")
    assert proc.returncode == 3
    assert "不可行" in proc.stdout and "±30 % 变动限制" in proc.stdout
    share = min(s["budget_share"], s["headcount_share"])
    assert f"限制允许的最大高潜力份额：{share:.4%}" in proc.stdout

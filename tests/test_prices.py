"""The price of every rule (issue 4, part 2): for each binding share rule, the plan without
it region by region, the share the group would get, the objective it costs and the effect
of moving it one percentage point, each checked here by solving again from a scenario
without the rule (or with it moved), and the tables written to summary.json and to the
"prices" sheet of the workbook."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings

from optimizer.flow.plan import run_plan
from optimizer.inputs.regions import read_regions
from optimizer.inputs.scenario import GroupRule, Scenario
from optimizer.inputs.scenario_read import load_scenario
from optimizer.model.pools import build_pools
from optimizer.model.result import Status
from optimizer.report.export import write_outputs
from optimizer.report.summary import summary_dict
from optimizer.solve.solver import solve_pool
from tests.test_relax import hp_vs_change_limit
from tests.test_rules import BASE, INPUTS, SETTINGS, instances, kkt_gap, pool_data, table

POOLS = ("headcount", "budget")
INF = math.inf


def live(hi, total, rules) -> np.ndarray:
    """The regions that can receive anything (docs/model.md): hi > 0, not in a group whose
    maximum is 0 and not outside a group whose minimum is the whole total."""
    out = np.asarray(hi) > 0
    for _, mask, need, cap in rules:
        if cap is not None and cap <= 0:
            out &= ~mask
        if need is not None and need >= total > 0:
            out &= mask
    return out


def objective(weight, x, keep) -> float:
    """Σ S·ln x over the regions in `keep`."""
    return float(np.sum(weight[keep] * np.log(x[keep])))


def changed(sc: Scenario, rule: str, step: float | None) -> Scenario:
    """The scenario without the rule (step None), or with it moved by `step` (loosening)."""
    if rule.startswith("hp_share_"):
        return sc.with_changes(hp_share=0.0 if step is None
                               else min(1.0, max(0.0, sc.hp_share + step)))
    i = int(rule.split("_")[1]) - 1
    groups = list(sc.groups)
    if step is None:
        del groups[i]
    else:
        g = groups[i]
        fld = "min_share" if step < 0 else "max_share"
        groups[i] = dataclasses.replace(g, **{fld: min(1.0, max(0.0, getattr(g, fld) + step))})
    return sc.with_changes(groups=tuple(groups))


def resolve_pool(res, sc: Scenario, p: str):
    pools = build_pools(res.regions, res.scores, res.high_potential, sc)
    sol = solve_pool(pools[p])
    assert sol.status == Status.OPTIMAL
    return pools[p], sol.x


def check_prices(res) -> int:
    """Every binding share rule's numbers agree with solving again; returns how many."""
    checked = 0
    for p in POOLS:
        pr = res.pools[p]
        weight, lo, hi, total, rules = pool_data(res, p)
        masks = {name: mask for name, mask, _, _ in rules}
        x = pr.exact
        hi = live(hi, total, rules)
        obj = objective(weight, x, hi)
        for b in pr.binding:
            if b.kind not in ("share_min", "share_max"):
                continue
            checked += 1
            mask = masks[b.name]
            assert b.regions == [r for r, m in zip(res.regions["region"], mask, strict=True)
                                 if m]
            # without the rule: a scenario that lacks it, built and solved here
            pool_wo, x_wo = resolve_pool(res, changed(res.scenario, b.name, None), p)
            assert len(pool_wo.rules) == len(rules) - 1
            rules_wo = [r for r in rules if r[0] != b.name]
            assert kkt_gap(weight, x_wo, lo, hi, total, rules_wo) <= 1e-8
            tol = 1e-7 * max(1.0, total)
            np.testing.assert_allclose(b.delta.to_numpy(), x - x_wo, atol=tol)
            assert list(b.delta.index) == res.regions["region"].tolist()
            assert abs(float(b.delta.sum())) <= tol  # the total is the same with and without
            assert b.moved == pytest.approx(float(x[mask].sum() - x_wo[mask].sum()), abs=tol)
            assert b.share_without == pytest.approx(float(x_wo[mask].sum()) / total, abs=1e-9)
            cost = objective(weight, x_wo, hi) - obj
            assert b.objective_cost == pytest.approx(cost, rel=1e-6, abs=1e-10)
            assert b.objective_cost >= -1e-12  # a rule can only cost
            # a minimum moves resources into its group, a maximum out of it
            assert (b.moved >= -tol) if b.kind == "share_min" else (b.moved <= tol)
            # moved one percentage point (loosened)
            step = -0.01 if b.kind == "share_min" else 0.01
            _, x_pt = resolve_pool(res, changed(res.scenario, b.name, step), p)
            per_point = objective(weight, x_pt, hi) - obj
            assert b.per_point_objective == pytest.approx(per_point, rel=1e-6, abs=1e-10)
            assert -1e-12 <= b.per_point_objective <= b.objective_cost + 1e-12
    return checked


def test_prices_with_a_group_held_at_zero():
    """'Closed' (R4) has a maximum share of 0: R4 is left out of the objective, and the
    price of 'Two' ≥ 60 % is still computed (it was reported as 0 with no objective)."""
    df = table([50] * 5, [1] * 5, [5e4] * 5)
    sc = BASE.with_changes(groups=(GroupRule("Closed", max_share=0.0, regions=("R4",)),
                                   GroupRule("Two", min_share=0.6, regions=("R0", "R1"))))
    res = run_plan(df, sc)
    assert res.status == Status.OPTIMAL
    for p in POOLS:
        pr = res.pools[p]
        assert pr.objective is not None and pr.objective_continuous is not None
        assert [b.name for b in pr.binding] == [f"group_2_{p}"]
        assert pr.binding[0].objective_cost > 0
    assert check_prices(res) == 2


def sample_run():
    sc = load_scenario(INPUTS / "groups.toml")
    regions = read_regions(INPUTS / "regions.csv", sc)
    return run_plan(regions, sc, regions_file=str(INPUTS / "regions.csv"))


def test_sample_prices_agree_with_solving_again():
    res = sample_run()
    assert res.status == Status.OPTIMAL
    names = {p: [b.name for b in res.pools[p].binding if b.kind.startswith("share")]
             for p in POOLS}
    # the 60 % rule binds in both pools; 'West war zone' ≤ 40 % binds for people
    assert names == {"headcount": ["hp_share_headcount", "group_2_headcount"],
                     "budget": ["hp_share_budget"]}
    assert check_prices(res) == 3


def test_sample_budget_without_the_60_percent_rule_is_score_proportional():
    """Without the 60 % rule nothing binds in the budget pool ('Outside East and South'
    ≥ 30 % is met anyway), so the plan without it is X·S/ΣS: no solver involved."""
    res = sample_run()
    (b,) = [b for b in res.pools["budget"].binding if b.name == "hp_share_budget"]
    s = res.scores["weight"].to_numpy()
    x0 = 100_000_000 * s / s.sum()
    outside = res.regions["region"].isin(["华北", "华中", "西南", "西北", "东北"]).to_numpy()
    assert x0[outside].sum() >= 0.30 * 100_000_000
    np.testing.assert_allclose(b.delta.to_numpy(), res.pools["budget"].exact - x0, atol=1e-3)
    hp = res.high_potential
    assert b.share_without == pytest.approx(x0[hp].sum() / 1e8, abs=1e-9)
    assert b.moved > 0 and res.pools["budget"].exact[hp].sum() == pytest.approx(6e7, rel=1e-9)


@settings(SETTINGS, max_examples=30)
@given(instances(current_feasible=False))
def test_random_prices_agree_with_solving_again(inst):
    df, sc = inst
    res = run_plan(df, sc)
    assume(res.status == Status.OPTIMAL)
    check_prices(res)


# --------------------------------------------------------------------------- outputs

def test_summary_json_and_prices_sheet(tmp_path):
    import openpyxl

    res = sample_run()
    write_outputs(res, tmp_path, {"regions": INPUTS / "regions.csv",
                                  "scenario": INPUTS / "groups.toml"})
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["relaxations"] == [] and summary["max_share"] is None
    columns = {}
    for p in POOLS:
        pr = res.pools[p]
        out = summary["pools"][p]
        assert out["objective_continuous"] == pytest.approx(pr.objective_continuous)
        shares = [b for b in pr.binding if b.kind.startswith("share")]
        by_name = {b["name"]: b for b in out["binding"]}
        for b in shares:
            js = by_name[b.name]
            assert js["kind"] == b.kind and js["regions"] == b.regions
            assert js["share_without"] == pytest.approx(b.share_without)
            assert js["objective_cost"] == pytest.approx(b.objective_cost)
            assert js["per_point_objective"] == pytest.approx(b.per_point_objective)
            assert list(js["delta"]) == res.regions["region"].tolist()
            np.testing.assert_allclose(list(js["delta"].values()), b.delta.to_numpy())
        for b in pr.binding:
            if b.delta is not None:
                columns[f"{p}: {b.name}"] = b.delta.to_numpy()
    assert "headcount: hp_share_headcount" in columns and "budget: hp_share_budget" in columns

    wb = openpyxl.load_workbook(tmp_path / "allocation.xlsx", read_only=True)
    assert "prices" in wb.sheetnames
    rows = list(wb["prices"].iter_rows(values_only=True))
    header = list(rows[0])
    assert header[0] == "region" and header[1:] == list(columns)
    assert [r[0] for r in rows[1:]] == res.regions["region"].tolist()
    for j, name in enumerate(header[1:], start=1):
        got = np.array([r[j] for r in rows[1:]], dtype=float)
        np.testing.assert_allclose(got, columns[name], atol=1e-6)


def test_infeasible_summary_has_relaxations_and_max_share():
    df, sc = hp_vs_change_limit()
    res = run_plan(df, sc)
    d = summary_dict(res)
    json.dumps(d, allow_nan=False)
    assert d["status"] == "infeasible"
    assert d["max_share"] == pytest.approx(0.26)
    kinds = {r["kind"]: r for r in d["relaxations"]}
    assert set(kinds) == {"share", "change_limit"}
    assert kinds["share"]["changes"] == {"hp_share": pytest.approx(0.26)}
    assert kinds["change_limit"]["changes"] == {"headcount_max_change": pytest.approx(2.0),
                                                "budget_max_change": pytest.approx(2.0)}
    for r in d["relaxations"]:
        assert r["text_en"] and r["text_zh"]
    for p in POOLS:
        diag = d["pools"][p]["diagnosis"]
        assert diag["conflicts"] == [f"hp_share_{p}", f"change_limit_{p}", f"total_{p}"]
        assert d["pools"][p]["binding"] == []
    assert not math.isnan(d["max_share"])


# --------------------------------------------------------------------------- fixed regions

def ref_objective(weight, x) -> float:
    """Σ S·ln x over the regions in the objective (weight > 0 and something to receive)."""
    keep = (weight > 0) & (x > 0)
    return float(np.sum(weight[keep] * np.log(x[keep])))


def pressing_upper(weight, x, lo, hi, hp) -> np.ndarray:
    """Regions of the reference optimum that would take more without their upper limit:
    S/μ > hi, with μ the price of their side of the rule (S/x of its free regions)."""
    out = np.zeros(len(x), dtype=bool)
    for side in (hp, ~hp):
        free = side & (weight > 0) & (x > lo + 1e-9 * np.maximum(1, lo)) & (
            x < hi - 1e-9 * np.maximum(1, np.where(np.isfinite(hi), hi, 0)))
        if not free.any():
            continue
        mu = float(np.median(weight[free] / x[free]))
        out |= side & np.isfinite(hi) & (hi > 0) & (weight / mu > hi * (1 + 1e-6))
    return out


@pytest.mark.parametrize("seed", range(8))
def test_prices_with_fixed_and_ineligible_regions_match_reference(seed):
    """Regions fixed at lo = hi (some pressing their limit) and regions outside the pool
    (weight 0, lo = hi = 0): the price of the 60 % rule and of the upper limits, re-solved
    from the optimum's active set, equal the reference's plans without them."""
    from optimizer.explain.prices import rule_prices
    from tests.reference import ref_feasible, ref_optimum
    from tests.test_solver import make_pool, with_fixed_regions

    rng = np.random.default_rng(seed)
    n = 60
    cur = rng.lognormal(3, 1, n)
    hp = rng.random(n) < 0.35
    # the high-potential regions may grow a lot, the others by half: the 45 % rule binds
    # and so do some upper limits
    base = make_pool(rng.uniform(0.1, 1, n), round(float(cur.sum()), 2), cur * 0.5,
                     cur * np.where(hp, 8.0, 1.5), hp, 0.45, current=cur)
    pool, pin, out = with_fixed_regions(base, seed)
    w, lo, hi, total = pool.weight, pool.lo, pool.hi, pool.total

    def ref(rho, hi_=hi):
        return np.array(ref_optimum(w.tolist(), lo.tolist(), list(hi_), hp.tolist(), total, rho,
                                    False))

    sol = solve_pool(pool)
    if not ref_feasible(lo.tolist(), hi.tolist(), hp.tolist(), total, 0.45, False):
        assert sol.status == Status.INFEASIBLE  # fixed regions can leave too little room
        return
    x_ref = ref(0.45)
    assert sol.status == Status.OPTIMAL
    np.testing.assert_allclose(sol.x, x_ref, rtol=1e-9, atol=1e-9 * total)
    prices = {b.name: b for b in rule_prices(pool, sol)}
    tol = 1e-7 * total
    obj = ref_objective(w, x_ref)
    if "hp_share_budget" in prices:
        b = prices["hp_share_budget"]
        x0 = ref(0.0)
        np.testing.assert_allclose(b.delta.to_numpy(), x_ref - x0, atol=tol)
        assert b.share_without == pytest.approx(x0[hp].sum() / total, abs=1e-9)
        assert b.objective_cost == pytest.approx(ref_objective(w, x0) - obj, rel=1e-7, abs=1e-9)
        x1 = ref(0.44)
        assert b.per_point_objective == pytest.approx(ref_objective(w, x1) - obj, rel=1e-7,
                                                      abs=1e-9)
    else:  # the rule does not bind: the plan without it is the same
        np.testing.assert_allclose(ref(0.0), x_ref, rtol=1e-9)
    want_up = pressing_upper(w, x_ref, lo, hi, hp)
    b = prices.get("upper_bounds_budget")
    got_up = [] if b is None else b.regions
    assert got_up == [r for r, m in zip(pool.regions, want_up, strict=True) if m]
    assert not (set(got_up) & {pool.regions[i] for i in np.nonzero(out)[0]})
    if b is not None:
        x_free = ref(0.45, np.where(want_up, INF, hi))
        np.testing.assert_allclose(b.delta.to_numpy(), x_ref - x_free, atol=tol)
        assert b.objective_cost == pytest.approx(ref_objective(w, x_free) - obj, rel=1e-7,
                                                 abs=1e-9)


@pytest.mark.parametrize("integer", [True, False])
def test_price_of_an_amount_rule_moves_it_by_one_step(integer):
    """A group rule in amounts (`min_amount`, e.g. "at least 12 people in these regions"):
    without it, and loosened by one step (one person; one percent of a budget pool's
    total), the plans are the reference's with the same group need."""
    from optimizer.explain.prices import rule_prices
    from optimizer.model.pools import ShareRule
    from optimizer.words import Text
    from tests.reference import ref_optimum
    from tests.test_solver import make_pool

    rng = np.random.default_rng(7)
    n = 12
    w = rng.uniform(0.1, 1.0, n)
    group = np.zeros(n, dtype=bool)
    group[:4] = True  # a third of the regions, about a third of the score
    total = 20.0 if integer else 2_000_000.0
    need = 12.0 if integer else 1_200_000.0
    step = 1.0 if integer else 0.01 * total
    pool = make_pool(w, total, integer=integer, name="expert" if integer else "fund")
    pool.rules = [ShareRule("group_1_x", Text("the rule 'g' ≥ 12", "“g” ≥ 12 规则"), group,
                            min_share=0.0, group="g", group_zh="g", min_amount=need)]

    def ref(amount):
        return np.array(ref_optimum(w.tolist(), [0.0] * n, [INF] * n, group.tolist(), total,
                                    amount / total, integer))

    sol = solve_pool(pool)
    assert sol.status == Status.OPTIMAL
    np.testing.assert_allclose(sol.x, ref(need), rtol=1e-9)
    (b,) = [b for b in rule_prices(pool, sol) if b.name == "group_1_x"]
    assert b.kind == "share_min"
    obj = ref_objective(w, ref(need))
    np.testing.assert_allclose(b.delta.to_numpy(), ref(need) - ref(0.0), atol=1e-7 * total)
    assert b.objective_cost == pytest.approx(ref_objective(w, ref(0.0)) - obj, rel=1e-7)
    assert b.per_point_objective == pytest.approx(ref_objective(w, ref(need - step)) - obj,
                                                  rel=1e-7)
    assert 0 < b.per_point_objective < b.objective_cost


def test_a_rule_the_others_force_is_said_to_change_nothing() -> None:
    """One director per war zone: with 4 directors and 4 zones, each zone's rule is implied
    by the other three, so dropping one leaves the plan as it is — said so, with no price."""
    from pathlib import Path

    from optimizer.inputs.regions import read_regions
    from optimizer.inputs.scenario_read import load_scenario

    root = Path(__file__).resolve().parents[1]
    scenario = load_scenario(root / "inputs" / "roles_2024.toml")
    regions = read_regions(root / "inputs" / "regions.csv", scenario)
    result = run_plan(regions, scenario)
    director = result.pools["director"]
    zones = regions["war_zone"].astype(str).to_numpy()
    assert sorted(zones[director.allocation > 0]) == sorted(set(zones))  # one per zone
    group_prices = [b for b in director.binding if b.kind.startswith("share")
                    and "war zone" in b.text.en]
    assert group_prices
    for b in group_prices:
        assert b.moved is not None and abs(b.moved) < 1e-6
        assert "holds exactly" in b.text.en and "恰好满足" in b.text.zh
        assert "-0 %" not in b.text.en and "people" not in b.text.en

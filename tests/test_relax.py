"""Infeasibility explained and repaired (issue 4, part 3): the smallest set of rules that
conflict, and the least relaxation of one kind of rule at a time (share targets, change
limits, totals). Hand-built cases with known answers, then random small instances: every
offered relaxation solves, and relaxing a little less does not.

Feasibility is judged here by an LP written in the tests (tests/test_rules.lp_feasible) on
bounds from tests/reference.ref_bounds, not by the engine's own check.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import assume, event, given, note, settings
from hypothesis import strategies as st

from optimizer.errors import SolverError
from optimizer.flow.plan import run_plan
from optimizer.inputs.scenario import GroupRule, Scenario
from optimizer.model.result import Status
from tests.reference import ref_bounds
from tests.test_rules import BASE, SETTINGS, amounts, group_masks, lp_feasible, table

POOLS = ("headcount", "budget")


# --------------------------------------------------------------------------- helpers

def pool_problem(df, sc: Scenario, p: str, *, rules=None, delta=True):
    """(lo, hi, total, rules) of one pool, computed here from the table and the scenario."""
    integer = p == "headcount"
    current = df[f"current_{p}"].to_numpy(float)
    total = sc.total(p)
    total = float(current.sum() if total is None else total)
    lo, hi = ref_bounds(current.tolist(), None, None,
                        sc.change_limit(p) if delta else None, integer)
    if rules is None:
        rules = [(name, mask, *amounts(total, a, b, integer))
                 for name, mask, a, b in group_masks(sc, df, None, p)]
    return np.array(lo), np.array(hi), total, rules


def pool_ok(df, sc: Scenario, p: str) -> bool:
    lo, hi, total, rules = pool_problem(df, sc, p)
    return lp_feasible(lo, hi, total, rules)


def scenario_ok(df, sc: Scenario) -> bool:
    return all(pool_ok(df, sc, p) for p in POOLS)


def check_conflict_set(df, sc: Scenario, p: str, names: list[str]) -> None:
    """The named constraints cannot hold together, and dropping any one of them (but the
    total, always in force) leaves a feasible problem: an irreducible conflict."""
    _, _, total, rules = pool_problem(df, sc, p)
    known = {r[0] for r in rules} | {f"change_limit_{p}", f"total_{p}"}
    assert set(names) <= known, (names, known)
    assert f"total_{p}" in names

    def ok(keep: set[str]) -> bool:
        lo, hi, _, _ = pool_problem(df, sc, p, rules=[], delta=f"change_limit_{p}" in keep)
        return lp_feasible(lo, hi, total, [r for r in rules if r[0] in keep])

    assert not ok(set(names)), names
    for n in names:
        if n != f"total_{p}":
            assert ok(set(names) - {n}), (n, names)


def bumped(sc: Scenario, change: str, step: float) -> Scenario:
    """The scenario with one relaxed value moved back toward the original by `step`."""
    return sc.with_changes(**{change: getattr(sc, change) + step})


def check_share_minimal(df, original: Scenario, relaxed: Scenario) -> None:
    """Each share that was relaxed, tightened again by 0.01 pp (1e-4), no longer solves."""
    tried = 0
    if relaxed.hp_share != original.hp_share:
        assert relaxed.hp_share < original.hp_share
        tried += 1
        assert not scenario_ok(df, bumped(relaxed, "hp_share", 1e-4)), relaxed.hp_share
    for i, (old, new) in enumerate(zip(original.groups, relaxed.groups, strict=True)):
        for field, step in (("min_share", 1e-4), ("max_share", -1e-4)):
            a, b = getattr(old, field), getattr(new, field)
            if a == b:
                continue
            assert a is not None and b is not None, (old, new)
            assert (b < a) if field == "min_share" else (b > a), (old, new)
            tried += 1
            groups = list(relaxed.groups)
            groups[i] = dataclasses.replace(new, **{field: b + step})
            assert not scenario_ok(df, relaxed.with_changes(groups=tuple(groups))), (
                f"'{new.name}' {field} {b} is not the least relaxation: {b + step} solves too")
    assert tried > 0


def check_change_limit_minimal(df, original: Scenario, relaxed: Scenario) -> None:
    for p in POOLS:
        key = f"{p}_max_change"
        new = getattr(relaxed, key)
        if new == getattr(original, key):
            continue
        assert new > (original.change_limit(p) or 0.0)
        assert pool_ok(df, relaxed, p)
        assert not pool_ok(df, bumped(relaxed, key, -1e-4), p), (p, new)


def total_step(p: str, total: float) -> float:
    """One unit of a total: a person, or a cent beyond the model's 1e-9·X tolerance."""
    if p == "headcount":
        return 1.0
    return math.ceil((0.01 + 2e-9 * max(1.0, total)) * 100) / 100


def check_totals_minimal(df, original: Scenario, relaxed: Scenario) -> None:
    for p in POOLS:
        key = f"{p}_total"
        old = original.total(p)
        old = float(df[f"current_{p}"].sum() if old is None else old)
        new = getattr(relaxed, key)
        if new is None or float(new) == old:
            continue
        assert new > 0, "a total of 0 is not a plan"
        assert pool_ok(df, relaxed, p)
        step = total_step(p, float(new))
        if abs(float(new) - old) < step:
            continue
        back = float(new) + (step if new < old else -step)
        back = int(round(back)) if p == "headcount" else round(back, 2)
        assert not pool_ok(df, relaxed.with_changes(**{key: back}), p), (p, new, back)


CHECKS = {"share": check_share_minimal, "change_limit": check_change_limit_minimal,
          "totals": check_totals_minimal}


def check_relaxations(df, sc: Scenario, res) -> None:
    """Every offered relaxation solves (run_plan) and is the least of its kind."""
    for r in res.relaxations:
        assert r.scenario == res.scenario.with_changes(**r.changes)
        try:
            again = run_plan(df, r.scenario, explain=False)
        except SolverError as e:
            # known solver bugs on feasible scenarios, each pinned by a failing test in
            # test_rules (regions forced to 0 by two rules; a rule window of a few CNY);
            # the relaxation itself is still checked below
            note(f"SolverError on the relaxed scenario ({r.kind}): {e}")
            event("known SolverError on a relaxed scenario")
            assert scenario_ok(df, r.scenario), (r.kind, r.changes)
            CHECKS[r.kind](df, res.scenario, r.scenario)
            continue
        assert again.status == Status.OPTIMAL, (r.kind, r.changes)
        CHECKS[r.kind](df, res.scenario, r.scenario)


def run_infeasible(df, sc):
    res = run_plan(df, sc, explain=False)
    assert res.status == Status.INFEASIBLE
    return res


# --------------------------------------------------------------------------- by hand

def hp_vs_change_limit():
    """High-potential regions hold 20 % of each pool; the rule asks 60 % under ±30 %:
    they can reach 26 (people / ×100 k CNY) of 100."""
    df = table([0, 50, 20, 100], [10, 10, 40, 40], [1e6, 1e6, 4e6, 4e6],
               hp=[True, True, False, False])
    return df, BASE.with_changes(hp_share=0.6, max_change=0.3)


def test_hp_rule_vs_change_limit_names_both_with_numbers():
    df, sc = hp_vs_change_limit()
    res = run_infeasible(df, sc)
    for p in POOLS:
        d = res.pools[p].diagnosis
        assert d.conflicts == [f"hp_share_{p}", f"change_limit_{p}", f"total_{p}"]
        check_conflict_set(df, sc, p, d.conflicts)
        assert d.max_share == pytest.approx(0.26, abs=1e-9)
    text = res.pools["budget"].diagnosis.text.en
    assert "60 %" in text and "6.00 m" in text and "2.60 m" in text, text
    text = res.pools["headcount"].diagnosis.text.en
    assert "60 people" in text and "26 people" in text, text
    assert res.max_share() == pytest.approx(0.26, abs=1e-9)


def test_hp_rule_vs_change_limit_diagnosis_names_the_change_limit():
    """'Name them in the user's words': the text the CLI prints names the ±30 % change
    limit, not only 'their limits'."""
    df, sc = hp_vs_change_limit()
    res = run_infeasible(df, sc)
    for p in POOLS:
        text = res.pools[p].diagnosis.text
        assert "±30 % change limit" in text.en, text.en
        assert "±30 % 变动限制" in text.zh, text.zh


def test_hp_rule_vs_change_limit_least_relaxations():
    df, sc = hp_vs_change_limit()
    res = run_infeasible(df, sc)
    kinds = {r.kind: r for r in res.relaxations}
    # no totals relaxation: (1 − ρ)·Σ_H hi ≥ ρ·Σ_¬H lo fails whatever the total
    assert set(kinds) == {"share", "change_limit"}
    assert kinds["share"].changes == {"hp_share": pytest.approx(0.26, abs=1e-9)}
    # Σ_H (1 + δ)·20 ≥ 60 ⇒ δ = 200 %, in both pools (whole people: ⌊3·10⌋ = 30 each)
    assert kinds["change_limit"].changes == {"headcount_max_change": pytest.approx(2.0),
                                             "budget_max_change": pytest.approx(2.0)}
    assert "26 %" in kinds["share"].text.en and "±200 %" in kinds["change_limit"].text.en
    check_relaxations(df, sc, res)


def totals_below_minimums():
    """Totals of half today's under ±30 %: the regions' minimums add up to 70 %."""
    df = table([0, 50, 20, 100], [10, 20, 30, 40], [1e6, 2e6, 3e6, 4e6])
    return df, BASE.with_changes(headcount_total=50, budget_total=5e6, max_change=0.3)


def test_totals_below_the_minimums_conflict():
    df, sc = totals_below_minimums()
    res = run_infeasible(df, sc)
    for p in POOLS:
        d = res.pools[p].diagnosis
        assert d.conflicts == [f"change_limit_{p}", f"total_{p}"]
        check_conflict_set(df, sc, p, d.conflicts)
    assert "7.00 m" in res.pools["budget"].diagnosis.text.en
    assert "70 people" in res.pools["headcount"].diagnosis.text.en


def test_totals_below_the_minimums_least_relaxations():
    df, sc = totals_below_minimums()
    res = run_infeasible(df, sc)
    kinds = {r.kind: r for r in res.relaxations}
    assert "share" not in kinds  # there is no share rule to relax
    # (1 − δ)·100 ≤ 50 ⇒ δ = 50 %; whole people ⌈0.5·c⌉ = 5, 10, 15, 20 = 50
    assert kinds["change_limit"].changes == {"headcount_max_change": pytest.approx(0.5),
                                             "budget_max_change": pytest.approx(0.5)}
    # the least totals: the sum of the minimums, 70 people and 7 m
    assert "totals" in kinds, [r.changes for r in res.relaxations]
    assert kinds["totals"].changes == {"headcount_total": 70,
                                       "budget_total": pytest.approx(7e6, abs=0.005)}
    check_relaxations(df, sc, res)


def two_groups_over_100():
    df = table([0, 50, 20, 100], [10, 10, 10, 10], [1e6] * 4)
    return df, BASE.with_changes(groups=(
        GroupRule("North", min_share=0.6, regions=("R0", "R1")),
        GroupRule("South", min_share=0.5, regions=("R2", "R3"))))


def test_two_disjoint_groups_over_100_percent_conflict():
    df, sc = two_groups_over_100()
    res = run_infeasible(df, sc)
    for p in POOLS:
        d = res.pools[p].diagnosis
        assert d.conflicts == [f"group_1_{p}", f"group_2_{p}", f"total_{p}"]
        check_conflict_set(df, sc, p, d.conflicts)
        assert "North" in d.text.en and "South" in d.text.en
    assert "24 people" in res.pools["headcount"].diagnosis.text.en  # ⌈60 % of 40⌉
    assert "20 people" in res.pools["headcount"].diagnosis.text.en
    assert "2.40 m" in res.pools["budget"].diagnosis.text.en


def test_two_disjoint_groups_least_share_relaxation():
    df, sc = two_groups_over_100()
    res = run_infeasible(df, sc)
    kinds = {r.kind: r for r in res.relaxations}
    # no change limit to widen; a total of 0 would meet any share but is no plan
    assert set(kinds) == {"share"}, [(r.kind, r.changes) for r in res.relaxations]
    new = kinds["share"].changes["groups"]
    assert sum(g.min_share for g in new) == pytest.approx(1.0, abs=1e-6)
    check_relaxations(df, sc, res)


def group_max_vs_change_limit():
    df = table([0, 50, 20, 100], [40, 20, 20, 20], [4e6, 2e6, 2e6, 2e6])
    return df, BASE.with_changes(max_change=0.3, groups=(
        GroupRule("Top", max_share=0.1, regions=("R0",)),))


def test_group_maximum_vs_change_limit():
    df, sc = group_max_vs_change_limit()
    res = run_infeasible(df, sc)
    for p in POOLS:
        d = res.pools[p].diagnosis
        assert d.conflicts == [f"group_1_{p}", f"change_limit_{p}", f"total_{p}"]
        check_conflict_set(df, sc, p, d.conflicts)
    assert "28 people" in res.pools["headcount"].diagnosis.text.en
    kinds = {r.kind: r for r in res.relaxations}
    assert set(kinds) == {"share", "change_limit"}
    (g,) = kinds["share"].changes["groups"]
    assert g.max_share == pytest.approx(0.28) and g.min_share is None
    # R0: (1 − δ)·40 ≤ 10 ⇒ δ = 75 %
    assert kinds["change_limit"].changes == {"headcount_max_change": pytest.approx(0.75),
                                             "budget_max_change": pytest.approx(0.75)}
    check_relaxations(df, sc, res)


def test_share_relaxation_text_does_not_invent_a_minimum():
    df, sc = group_max_vs_change_limit()
    res = run_infeasible(df, sc)
    (share,) = [r for r in res.relaxations if r.kind == "share"]
    assert "min 0 %" not in share.text.en, share.text.en
    assert "28 %" in share.text.en


def test_headcount_change_limit_relaxation_counts_the_one_person_of_movement():
    """R2 (7 people) must drop to 5 of 5: ⌈(1 − δ)·7⌉ ≤ 5 ⇒ δ ≥ 2/7. R0 and R1 (1 person
    each) may always go to 0 (one person of movement), which the elastic LP's
    (1 − δ)·c ≤ x cannot see: it asks δ ≥ 4/9."""
    df = table([0, 0, 0], [1, 1, 7], [1e5] * 3)
    sc = BASE.with_changes(headcount_total=5, max_change=0.1)
    res = run_infeasible(df, sc)
    (limit,) = [r for r in res.relaxations if r.kind == "change_limit"]
    assert limit.changes == {"headcount_max_change": pytest.approx(0.2858)}
    check_relaxations(df, sc, res)


def test_share_relaxation_is_least_for_each_rule_when_pools_interact():
    """The high-potential rule (R1 ≥ 30 %) and 'G1' (R1 ≤ 10 % of the budget) both clash
    with ±10 %. Whole people lower the shared high-potential share to 25 % (R1 may reach 2
    of 8 people); at 25 % the budget needs 'G1' relaxed to 25 % only, not 27.5 %."""
    df = table([0] * 4, [1, 1, 1, 5], [1e5] * 4, hp=[False, True, False, False])
    sc = BASE.with_changes(headcount_total=8, hp_share=0.3, max_change=0.1, groups=(
        GroupRule("G1", pools=("budget",), max_share=0.1, regions=("R1",)),
        GroupRule("G2", pools=("headcount",), min_share=0.1, regions=("R3",))))
    res = run_infeasible(df, sc)
    (share,) = [r for r in res.relaxations if r.kind == "share"]
    assert share.changes["hp_share"] == pytest.approx(0.25)
    assert share.changes["groups"][0].max_share == pytest.approx(0.25)
    check_relaxations(df, sc, res)


def test_feasible_plan_offers_no_relaxation():
    df, sc = hp_vs_change_limit()
    res = run_plan(df, sc.with_changes(max_change=None), explain=False)
    assert res.status == Status.OPTIMAL and res.relaxations == []
    assert res.max_share() is None


# --------------------------------------------------------------------------- properties

@st.composite
def conflicting(draw):
    """Small instances that are often infeasible: a high-potential share, change limits,
    totals away from today's, and up to two group rules with arbitrary shares."""
    n = draw(st.integers(3, 5))
    heads = draw(st.lists(st.integers(1, 30), min_size=n, max_size=n))
    money = [1000.0 * v for v in draw(st.lists(st.integers(100, 9000), min_size=n,
                                                max_size=n))]
    hp = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    market = draw(st.lists(st.integers(0, 100), min_size=n, max_size=n))
    hp_share = draw(st.sampled_from([0.0, 0.3, 0.45, 0.6, 0.8])) if any(hp) else 0.0
    groups = []
    for k in range(draw(st.integers(0, 2))):
        mask = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        assume(any(mask))
        kind = draw(st.sampled_from(["min", "max"]))
        share = draw(st.sampled_from([0.1, 0.25, 0.4, 0.55, 0.7]))
        groups.append(GroupRule(
            f"G{k + 1}", pools=draw(st.sampled_from([("headcount",), ("budget",), POOLS])),
            min_share=share if kind == "min" else None,
            max_share=share if kind == "max" else None,
            regions=tuple(f"R{i}" for i in range(n) if mask[i])))
    grow = draw(st.sampled_from([0.6, 1.0, 1.0, 1.5]))
    sc = BASE.with_changes(
        hp_share=hp_share, groups=tuple(groups),
        max_change=draw(st.sampled_from([None, 0.1, 0.3, 0.5])),
        headcount_total=int(round(sum(heads) * grow)), budget_total=round(sum(money) * grow, 2))
    return table(market, heads, money, hp, scenario=sc), sc


@settings(SETTINGS, max_examples=80)
@given(conflicting())
def test_random_conflicts_and_relaxations(inst):
    df, sc = inst
    note(df[["current_headcount", "current_budget", "high_potential"]].to_dict("list"))
    feasible = scenario_ok(df, sc)
    try:
        res = run_plan(df, sc, explain=False)
    except SolverError as e:
        # the known solver bugs pinned in test_rules strike feasible scenarios only
        note(f"SolverError: {e}")
        event("known SolverError on the scenario itself")
        assert feasible
        return
    assert (res.status == Status.OPTIMAL) == feasible
    if feasible:
        assert res.relaxations == []
        return
    for p in POOLS:
        pr = res.pools[p]
        assert (pr.status == Status.OPTIMAL) == pool_ok(df, sc, p)
        if pr.status != Status.OPTIMAL:
            check_conflict_set(df, sc, p, pr.diagnosis.conflicts)
    check_relaxations(df, sc, res)
    kinds = {r.kind for r in res.relaxations}
    event(f"relaxations offered: {sorted(kinds)}")
    # a kind of relaxation is offered whenever relaxing that kind fully would solve
    no_shares = sc.with_changes(hp_share=0.0, groups=())
    assert ("share" in kinds) == scenario_ok(df, no_shares)
    if sc.max_change is not None:
        no_limits = sc.with_changes(max_change=None)
        assert ("change_limit" in kinds) == scenario_ok(df, no_limits)
    else:
        assert "change_limit" not in kinds

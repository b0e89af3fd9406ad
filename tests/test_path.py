"""Multi-year plans (issue 5): one LP over all years, whole people within the year-over-year
limits, the least change limit that reaches the target, and the path outputs.

- a path known by hand (the issue's 25 % → 60 % example) and its diagnosis;
- the continuous path against scipy's SLSQP on the same problem written here from the
  specification (maximise Σ_t Σ_r S ln x; totals, share minimums, first-year bounds vs
  current, (1 − δ)·x[t−1] ≤ x[t] ≤ (1 + δ)·x[t−1]);
- properties of random paths: every year meets its total, its share rule, whole people /
  cents, and the docs/model.md whole-person bounds from the previous year's whole people;
- the one-year case is the single-year plan;
- the bundled sample through the CLI, and the rounding fallback (integer program).

Bounds, scores and checks are computed here or by tests/reference.py, never by the engine.
"""

from __future__ import annotations

import csv
import io
import math
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.explain.path import required_change
from optimizer.flow.path import PathResult, run_path, year_pools
from optimizer.flow.plan import resolve, run_plan
from optimizer.inputs.scenario import Scenario, YearPlan
from optimizer.model.result import Status
from optimizer.model.scoring import high_potential, score
from optimizer.solve.multiyear import solve_path
from tests.clihelp import cli, strict_json
from tests.reference import ref_bounds, ref_optimum, ref_scores

ROOT = Path(__file__).resolve().parents[1]
REGIONS = ROOT / "inputs" / "regions.csv"
SAMPLE = ROOT / "inputs" / "plan_2024_2026.toml"
POOLS = ("headcount", "budget")


# --------------------------------------------------------------------------- helpers

def table(market_size, current_headcount, current_budget, hp) -> pd.DataFrame:
    n = len(market_size)
    return pd.DataFrame({"region": [f"R{i}" for i in range(n)],
                         "market_size": np.asarray(market_size, float),
                         "current_headcount": np.asarray(current_headcount, np.int64),
                         "current_budget": np.asarray(current_budget, float),
                         "high_potential": np.asarray(hp, bool)})


def ref_weights(df: pd.DataFrame, floor: float) -> np.ndarray:
    """S per region from the independent reference (only market_size is in the table)."""
    rows = ref_scores({"market_size": df["market_size"].astype(float).tolist()}, floor=floor)
    return np.array([r["weight"] for r in rows], float)


def engine_pools(df: pd.DataFrame, sc: Scenario, pool: str):
    resolved = resolve(df, sc)
    scores, _ = score(df, resolved)
    hp = high_potential(df, scores, resolved, "regions")
    return [yp[pool] for yp in year_pools(df, resolved, scores, hp)]


def year_specs(sc: Scenario, pool: str) -> tuple[list[float], list[float]]:
    totals = [float(y.headcount if pool == "headcount" else y.budget) for y in sc.years]
    shares = [float(y.hp_share) for y in sc.years]
    return totals, shares


def need(total: float, rho: float, integer: bool) -> float:
    if rho <= 0:
        return 0.0
    return float(math.ceil(rho * total - 1e-9)) if integer else rho * total


def person_bounds(prev: float, delta: float) -> tuple[float, float]:
    """docs/model.md's whole-person change bounds around last year's whole people `prev` > 0."""
    lo = max(0, min(math.ceil((1 - delta) * prev - 1e-9), prev - 1))
    hi = max(math.floor((1 + delta) * prev + 1e-9), prev + 1)
    return float(lo), float(hi)


def check_path(res: PathResult, df: pd.DataFrame, sc: Scenario, pool: str) -> None:
    """Every year: total, share rule, whole units; first year within the bounds vs current;
    later years within the year-over-year limits of the previous year's rounded plan."""
    pp = res.pools[pool]
    integer = pool == "headcount"
    delta = sc.change_limit(pool)
    totals, shares = year_specs(sc, pool)
    hp = df["high_potential"].to_numpy(bool)
    cur = df[f"current_{pool}"].to_numpy(float)
    alloc = np.asarray(pp.allocation, float)
    assert alloc.shape == (len(df), len(sc.years))
    lo0, hi0 = ref_bounds(cur.tolist(), None, None, delta, integer)
    for t, (total, rho) in enumerate(zip(totals, shares, strict=True)):
        a = alloc[:, t]
        assert np.all(a >= 0)
        if integer:
            assert np.all(a == np.round(a)), (t, a)
            assert int(a.sum()) == int(total), (t, a)
            assert a[hp].sum() >= need(total, rho, True), (t, a)
        else:
            cents = np.rint(a * 100)
            assert np.all(np.abs(a * 100 - cents) < 1e-4), (t, a)
            assert int(cents.sum()) == round(total * 100), (t, a)
            assert cents[hp].sum() >= rho * total * 100 - 1e-6 * max(1.0, total), (t, a)
        if t == 0:
            tol = 0.0 if integer else 0.01 + 1e-9 * total
            assert np.all(a >= np.array(lo0) - tol) and np.all(a <= np.array(hi0) + tol), a
        elif delta is not None:
            prev = alloc[:, t - 1]
            for r in range(len(df)):
                if prev[r] <= 0:
                    continue  # nothing last year: no change term (as for current 0)
                if integer:
                    lo, hi = person_bounds(prev[r], delta)
                    assert lo <= a[r] <= hi, (pool, t, r, prev[r], a[r], delta)
                else:
                    assert (1 - delta) * prev[r] - 0.02 <= a[r] <= (1 + delta) * prev[r] + 0.02, (
                        pool, t, r, prev[r], a[r], delta)
    assert pp.hp_share == pytest.approx(
        [a[hp].sum() / a.sum() for a in alloc.T], abs=1e-12)


def random_case(rng: np.random.Generator, zero_current: bool = False,
                ) -> tuple[pd.DataFrame, Scenario]:
    """3–6 regions, 2–3 years, random scores, currents, totals, rising shares, δ."""
    n = int(rng.integers(3, 7))
    T = int(rng.integers(2, 4))
    ms = np.round(rng.uniform(0, 100, n), 1)
    hc = rng.integers(1, 60, n)
    bu = np.round(rng.uniform(10, 1000, n), 2)
    if zero_current:
        k = int(rng.integers(1, n - 1))
        hc[k], bu[k] = 0, 0.0
    hp = rng.random(n) < 0.4
    hp[0], hp[-1] = True, False
    growth = rng.uniform(0.9, 1.2, T).cumprod()
    shares = np.sort(np.round(rng.uniform(0.0, 0.65, T), 3))
    years = tuple(YearPlan(2030 + t, int(round(hc.sum() * growth[t])),
                           round(float(bu.sum() * growth[t]), 2), float(shares[t]))
                  for t in range(T))
    delta = float(np.round(rng.uniform(0.1, 0.6), 3))
    floor = float(np.round(rng.uniform(0.1, 0.6), 2))
    return table(ms, hc, bu, hp), Scenario(floor=floor, max_change=delta, years=years)


# --------------------------------------------------------------------------- by hand

# Two regions: H has 25 of 100, N has 75; equal scores (one constant indicator → S = 1);
# flat totals over 2024–2026; the share rule 0 %, 0 %, 60 %. Headcount ×100 (2500 / 7500
# of 10,000 people), so that whole people hardly matter; budget 25 / 75 of 100 CNY.
HAND_YEARS = tuple(YearPlan(2024 + t, 10_000, 100.0, s) for t, s in enumerate((0.0, 0.0, 0.6)))


def hand_table() -> pd.DataFrame:
    return table([1.0, 1.0], [2500, 7500], [25.0, 75.0], [True, False])


def hand_least_change() -> float:
    """(1 + δ)³·25 ≥ 60 and 75·(1 − δ)³ ≤ 40: the larger of the two roots."""
    grow = (60 / 25) ** (1 / 3) - 1
    shrink = 1 - (40 / 75) ** (1 / 3)
    return max(grow, shrink)


def hand_least_change_people() -> float:
    return whole_least_change_two_regions(2500, 10_000, 0.6)


def test_hand_case_30_percent_breaks_in_the_third_year():
    res = run_path(hand_table(), Scenario(max_change=0.30, years=HAND_YEARS))
    assert res.status == Status.INFEASIBLE
    reach = 25 * 1.3**3 / 100  # 54.925 %: H grows by 30 % a year, N cannot shrink faster
    assert 1 - reach > 75 * 0.7**3 / 100  # (N's limit is not the one that binds)
    for p in POOLS:
        pp = res.pools[p]
        assert pp.status == Status.INFEASIBLE
        assert pp.allocation is None
        assert pp.broken_year == 2026
        # rounded down (so that applying it solves), within 0.02 pp of the exact value
        assert reach - 2e-4 <= pp.reachable_share <= reach, (p, pp.reachable_share)
        assert "2026" in pp.diagnosis.en and "2026" in pp.diagnosis.zh
        assert "30 %" in pp.diagnosis.en
    b = res.pools["budget"]
    assert b.required_change == pytest.approx(math.ceil(hand_least_change() * 1e4) / 1e4,
                                              abs=1e-12)
    assert b.required_change == pytest.approx(0.3389, abs=1e-12)
    assert "33.89 %" in b.diagnosis.en
    # people: the least limit is checked in the whole-person test below


def test_hand_case_path_with_the_least_change_limit():
    d_budget = math.ceil(hand_least_change() * 1e4) / 1e4
    d_people = hand_least_change_people()
    sc = Scenario(budget_max_change=d_budget, headcount_max_change=d_people, years=HAND_YEARS)
    res = run_path(hand_table(), sc)
    assert res.status == Status.OPTIMAL, {p: q.diagnosis for p, q in res.pools.items()}
    # by hand: equal scores want 50 / 50, so H grows at its limit for two years and the
    # 60 % rule sets the third: 25(1+δ), 25(1+δ)², 60 — N takes the rest
    b = res.pools["budget"]
    h_path = np.array([25 * (1 + d_budget), 25 * (1 + d_budget) ** 2, 60.0])
    np.testing.assert_allclose(b.exact[0], h_path, rtol=1e-6)
    np.testing.assert_allclose(b.exact[1], 100 - h_path, rtol=1e-6)
    np.testing.assert_allclose(b.allocation[0], np.round(h_path, 2), atol=0.0100001)
    assert b.hp_share[2] >= 0.60 - 1e-12
    # people: 2500 → ⌊2500·(1+δ)⌋ = 3347 → 3347·(1+δ) = 4481.6 continuous, but ⌊·⌋ = 4481
    # whole people (4482 would break the limit) → 6000
    hc = res.pools["headcount"]
    assert hc.allocation[0].tolist() == [3347, 4481, 6000]
    assert hc.allocation[1].tolist() == [6653, 5519, 4000]
    assert hc.hp_share[2] >= 0.60
    for p in POOLS:
        check_path(res, hand_table(), sc, p)
    # (people: see the whole-person test below)
    assert res.pools["budget"].required_change == d_budget


def test_least_change_limit_exactly_on_the_grid_is_that_limit():
    # 25 → 25·1.2² = 36 of 100 in two years: the least limit is exactly ±20 %, for people
    # too (2500 → 3000 → 3600 whole). Not 20.01 %: the bisection's last step must not push
    # it past a grid point that solves.
    years = (YearPlan(2024, 10_000, 100.0, 0.0), YearPlan(2025, 10_000, 100.0, 0.36))
    res = run_path(hand_table(), Scenario(max_change=0.1, years=years))
    for p in POOLS:
        assert res.pools[p].broken_year == 2025
        assert res.pools[p].required_change == 0.2, p
        assert "±20 %" in res.pools[p].diagnosis.en
    ok = run_path(hand_table(), Scenario(max_change=0.2, years=years))
    assert ok.status == Status.OPTIMAL
    assert ok.pools["headcount"].allocation[0].tolist() == [3000, 3600]
    np.testing.assert_allclose(ok.pools["budget"].allocation[0], [30.0, 36.0])


def test_hand_case_rounding_year_by_year_breaks_the_limit_so_the_integer_program_runs():
    # the continuous H path 3347, 4481.63…, 6000: largest remainder gives 4482 in 2025,
    # one more than ⌊1.339·3347⌋ = 4481 allows
    sc = Scenario(headcount_max_change=0.339, budget_max_change=0.339, years=HAND_YEARS)
    res = run_path(hand_table(), sc)
    hc = res.pools["headcount"]
    assert hc.exact[0, 1] == pytest.approx(3347 * 1.339, rel=1e-6)
    assert hc.exact[0, 1] - math.floor(hc.exact[0, 1]) > 0.5  # would round up to 4482
    assert "integer program" in hc.rounding
    assert hc.allocation[0].tolist() == [3347, 4481, 6000]
    check_path(res, hand_table(), sc, "headcount")
    assert res.pools["budget"].rounding.startswith("largest remainder")


def test_integer_program_uses_the_one_person_exception():
    # Found by a random search: R1 must go 4 → 5 people, which only docs/model.md's "at least
    # one person of movement" allows (⌊1.243·4⌋ = 4). Without the exception in the integer
    # program there is no whole-person path near the optimum.
    df = table([38.6, 61.4, 25.0, 10.0, 47.7], [19, 3, 25, 23, 15], [300, 40, 300, 200, 150],
               [True, True, False, False, False])
    years = (YearPlan(2030, 82, 1000.0, 0.225), YearPlan(2031, 93, 1100.0, 0.281),
             YearPlan(2032, 87, 1050.0, 0.379))
    sc = Scenario(floor=0.2, max_change=0.243, years=years)
    res = run_path(df, sc)
    assert res.status == Status.OPTIMAL
    hc = res.pools["headcount"]
    assert "integer program" in hc.rounding
    check_path(res, df, sc, "headcount")
    check_path(res, df, sc, "budget")
    # nearest to the optimum: within one person... or a few, never far
    assert np.max(np.abs(hc.allocation - hc.exact)) < 3


def test_integer_program_widens_beyond_one_person_when_needed():
    # Found by a random search: no whole-person path lies within ±1 of the continuous
    # optimum, but one within ±2 does.
    df = table([9.5, 2.2, 77.1, 88.3, 13.7, 34.3], [6, 1, 12, 17, 30, 5],
               [60, 10, 120, 170, 300, 50], [True, False, True, True, True, False])
    years = (YearPlan(2030, 88, 700.0, 0.13), YearPlan(2031, 103, 800.0, 0.21))
    sc = Scenario(floor=0.2, max_change=0.499, years=years)
    res = run_path(df, sc)
    assert res.status == Status.OPTIMAL
    assert "integer program" in res.pools["headcount"].rounding
    check_path(res, df, sc, "headcount")


def whole_path_exists(cur, hp, totals, shares, delta) -> bool:
    """Brute force over whole-person states year by year (small cases only)."""
    n = len(cur)
    states = {tuple(int(c) for c in cur)}
    for t, (total, rho) in enumerate(zip(totals, shares, strict=True)):
        nxt = set()
        for s in states:
            if t == 0:
                b = ref_bounds(list(s), None, None, delta, True)
                ranges = [range(int(lo), int(min(hi, total)) + 1) for lo, hi in zip(*b,
                                                                                    strict=True)]
            else:
                ranges = [range(int(person_bounds(v, delta)[0]),
                                int(min(person_bounds(v, delta)[1], total)) + 1) if v > 0
                          else range(0, int(total) + 1) for v in s]

            def rec(r, acc, used, ranges=ranges, total=total):
                if r == n - 1:
                    last = int(total) - used
                    if last in ranges[r]:
                        yield (*acc, last)
                    return
                for v in ranges[r]:
                    if used + v <= total:
                        yield from rec(r + 1, (*acc, v), used + v)

            for cand in rec(0, (), 0):
                if sum(c for c, h in zip(cand, hp, strict=True) if h) >= need(total, rho, True):
                    nxt.add(cand)
        states = nxt
        if not states:
            return False
    return True


def test_no_whole_person_path_is_reported_as_infeasible_not_an_internal_error():
    # Continuous: Σ_r (1 + δ)·x₂₀₃₁ = 1.201·70 = 84.07 ≥ 84, just enough. Whole people:
    # 2032 needs every region at ⌊1.201·h⌋ and fractional parts of 0.201·h summing ≤ 0.07,
    # which the 2031 rule (≥ 43 of 70 high-potential) and N ≥ 26 (from ≥ 32 in 2030) rule out.
    cur, hp = [27, 20, 39], [True, True, False]
    totals, shares, delta = [80, 70, 84], [0.33, 0.603, 0.614], 0.201
    assert not whole_path_exists(cur, hp, totals, shares, delta)
    df = table([26.0, 84.0, 50.9], cur, [150, 800, 700], hp)
    years = tuple(YearPlan(2030 + t, totals[t], 1650.0, shares[t]) for t in range(3))
    sc = Scenario(floor=0.2, max_change=delta, years=years)
    pools = engine_pools(df, sc, "headcount")
    status, _, _ = solve_path(pools, delta)
    assert status == Status.OPTIMAL  # the continuous path exists
    try:
        res = run_path(df, sc)
    except Exception as e:  # noqa: BLE001 - the bug under test
        raise AssertionError(f"run_path raised {type(e).__name__}: {e}") from e
    hc = res.pools["headcount"]
    assert hc.status == Status.INFEASIBLE
    assert hc.diagnosis is not None and "whole" in hc.diagnosis.en
    assert res.pools["budget"].status == Status.OPTIMAL


def whole_least_change_two_regions(h: int, total: int, share: float) -> float:
    """Two regions (H has h of `total` people, flat totals, the share rule only in the third
    year): the least δ on the 0.01 % grid with a whole-person path, by the greedy recursion
    of H's most people each year (docs/model.md whole-person bounds from last year's people)."""
    goal = math.ceil(share * total - 1e-9)
    for k in range(0, 20_000):
        d = k / 1e4
        x = float(h)
        for _ in range(3):
            x = min(person_bounds(x, d)[1], total - person_bounds(total - x, d)[0])
        if x >= goal:
            return d
    raise AssertionError("no δ found")


@pytest.mark.parametrize(("h", "total"), [(2500, 10_000), (25, 100), (10, 40)])
def test_required_change_for_people_is_one_under_which_whole_people_solve(h, total):
    df = table([1.0, 1.0], [h, total - h], [25.0, 75.0], [True, False])
    years = tuple(YearPlan(2024 + t, total, 100.0, s) for t, s in enumerate((0.0, 0.0, 0.6)))
    res = run_path(df, Scenario(max_change=0.30, years=years))
    d = res.pools["headcount"].required_change
    want = whole_least_change_two_regions(h, total, 0.6)
    try:
        again = run_path(df, Scenario(headcount_max_change=d, budget_max_change=0.34,
                                      years=years))
    except Exception as e:  # noqa: BLE001 - the bug under test
        raise AssertionError(f"with the reported ±{d}: {type(e).__name__}: {e}") from e
    assert again.pools["headcount"].status == Status.OPTIMAL
    assert d == want


# --------------------------------------------------------------------------- vs scipy

def scipy_path(S, cur, hp, totals, shares, delta, integer):
    """The continuous multi-year optimum by SLSQP, from the specification alone.
    Returns (x as n × T, success flag)."""
    from scipy.optimize import minimize

    n, T = len(S), len(totals)
    unit = totals[0] / n
    lo0, hi0 = ref_bounds(list(cur), None, None, delta, integer)
    lb, ub = [], []
    for t in range(T):
        for r in range(n):
            if t == 0:
                lb.append(max(lo0[r], 1e-9 * unit) / unit)
                ub.append(min(hi0[r], totals[0]) / unit)
            else:
                lb.append(1e-9)
                ub.append(totals[t] / unit)
    S_all = np.tile(S, T)

    def f(v):
        return -float(np.sum(S_all * np.log(np.maximum(v, 1e-300))))

    def g(v):
        return -S_all / np.maximum(v, 1e-300)

    cons = []
    for t in range(T):
        row = np.zeros(n * T)
        row[t * n:(t + 1) * n] = 1.0
        cons.append({"type": "eq", "fun": (lambda v, row=row, t=t: row @ v - totals[t] / unit),
                     "jac": (lambda v, row=row: row)})
        if shares[t] > 0:
            hrow = np.zeros(n * T)
            hrow[t * n:(t + 1) * n] = np.asarray(hp, float)
            req = need(totals[t], shares[t], integer) / unit
            cons.append({"type": "ineq", "fun": (lambda v, h=hrow, q=req: h @ v - q),
                         "jac": (lambda v, h=hrow: h)})
    if delta is not None:
        A = []
        for t in range(1, T):
            for r in range(n):
                up = np.zeros(n * T)
                up[(t - 1) * n + r], up[t * n + r] = 1 + delta, -1.0  # (1+δ)x[t−1] − x[t] ≥ 0
                dn = np.zeros(n * T)
                dn[t * n + r], dn[(t - 1) * n + r] = 1.0, -(1 - delta)  # x[t] − (1−δ)x[t−1]
                A += [up, dn]
        A = np.array(A)
        cons.append({"type": "ineq", "fun": lambda v: A @ v, "jac": lambda v: A})
    x0 = np.clip(np.concatenate([totals[t] / unit * S / S.sum() for t in range(T)]), lb, ub)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = minimize(f, x0, jac=g, bounds=list(zip(lb, ub, strict=True)), constraints=cons,
                       method="SLSQP", options={"ftol": 1e-15, "maxiter": 1000})
    x = res.x * unit
    ok = bool(res.success)
    if ok:  # a converged answer must also be feasible
        X = x.reshape(T, n)
        ok = all(abs(X[t].sum() - totals[t]) <= 1e-6 * totals[t] for t in range(T))
        if delta is not None:
            for t in range(1, T):
                ok &= bool(np.all(X[t] <= (1 + delta) * X[t - 1] * (1 + 1e-7) + 1e-9))
                ok &= bool(np.all(X[t] >= (1 - delta) * X[t - 1] * (1 - 1e-7) - 1e-9))
    return x.reshape(T, n).T, ok


def objective(S, x):
    return float(np.sum(S[:, None] * np.log(x)))


def test_continuous_path_equals_scipy_slsqp():
    rng = np.random.default_rng(20240501)
    compared = infeasible = failed = 0
    worst = 0.0
    for _ in range(40):
        df, sc = random_case(rng)
        S = ref_weights(df, sc.floor)
        hp = df["high_potential"].to_numpy(bool)
        for pool in POOLS:
            integer = pool == "headcount"
            pools = engine_pools(df, sc, pool)
            delta = sc.change_limit(pool)
            status, xs, _ = solve_path(pools, delta)
            if status != Status.OPTIMAL:
                infeasible += 1
                continue
            x = np.column_stack(xs)
            totals, shares = year_specs(sc, pool)
            ref, ok = scipy_path(S, df[f"current_{pool}"].to_numpy(float), hp, totals, shares,
                                 delta, integer)
            if not ok:
                failed += 1
                continue
            compared += 1
            err = np.abs(x - ref) / np.maximum(ref, 1e-9 * max(totals))
            worst = max(worst, float(err.max()))
            assert np.all(err <= 1e-3), (pool, sc, x, ref)
            # never worse than SLSQP's point (up to the LP's last bracket)
            assert objective(S, x) >= objective(S, ref) - 1e-7 * abs(objective(S, ref)) - 1e-9
    print(f"scipy: compared {compared}, engine infeasible {infeasible}, "
          f"SLSQP failed {failed}, worst relative error {worst:.2e}")
    assert compared >= 30
    assert failed <= compared // 5


# --------------------------------------------------------------------------- properties

@pytest.mark.parametrize("seed", range(6))
def test_random_paths_meet_every_rule_every_year(seed):
    rng = np.random.default_rng(1000 + seed)
    solved = 0
    for k in range(6):
        df, sc = random_case(rng, zero_current=k % 3 == 2)
        res = run_path(df, sc)
        for pool in POOLS:
            pp = res.pools[pool]
            if pp.status == Status.OPTIMAL:
                solved += 1
                check_path(res, df, sc, pool)
                # the continuous path meets the continuous year-over-year rule
                d = sc.change_limit(pool)
                x = pp.exact
                for t in range(1, x.shape[1]):
                    live = x[:, t - 1] > 1e-9
                    assert np.all((x[:, t] <= (1 + d) * x[:, t - 1] * (1 + 1e-9) + 1e-9)[live])
                    assert np.all((x[:, t] >= (1 - d) * x[:, t - 1] * (1 - 1e-9) - 1e-9)[live])
                assert pp.required_change is not None and pp.required_change <= d + 1e-12
            else:
                assert pp.allocation is None
                assert pp.broken_year in res.years
                assert pp.diagnosis is not None and str(pp.broken_year) in pp.diagnosis.en
                if pool == "budget" and pp.required_change is not None:
                    # the least change limit reported does solve (budget: no whole-person
                    # rounding in the way; see the whole-person test for people)
                    assert pp.required_change > sc.change_limit(pool)
                    fix = sc.with_changes(budget_max_change=pp.required_change)
                    again = run_path(df, fix)
                    assert again.pools["budget"].status == Status.OPTIMAL
                    check_path(again, df, fix, "budget")
    assert solved >= 2


def test_a_path_needs_no_more_than_its_least_change_limit():
    # the least limit solves; 1 % less does not (budget: continuous, so exact to the grid)
    rng = np.random.default_rng(7)
    checked = 0
    while checked < 3:
        df, sc = random_case(rng)
        pools = engine_pools(df, sc, "budget")
        d = required_change(pools)
        if d is None or d < 0.02:
            continue
        for dd, want in ((d, Status.OPTIMAL), (d - 0.01, Status.INFEASIBLE)):
            p = [pools[0].with_bounds(dd), *pools[1:]]
            assert solve_path(p, dd)[0] == want, (sc, d, dd)
        checked += 1


# --------------------------------------------------------------------------- one year

@pytest.mark.parametrize("seed", range(4))
def test_one_year_path_is_the_single_year_plan(seed):
    rng = np.random.default_rng(500 + seed)
    for _ in range(5):
        df, sc = random_case(rng, zero_current=bool(rng.integers(0, 2)))
        y = sc.years[0]
        one = sc.with_changes(years=(y,))
        single = sc.with_changes(years=(), headcount_total=y.headcount, budget_total=y.budget,
                                 hp_share=y.hp_share)
        path = run_path(df, one)
        plan = run_plan(df, single)
        assert path.status == plan.status
        assert path.years == [y.year]
        for p in POOLS:
            pp, pr = path.pools[p], plan.pools[p]
            assert pp.status == pr.status, p
            if pr.status != Status.OPTIMAL:
                continue
            assert pp.allocation[:, 0].tolist() == np.asarray(pr.allocation, float).tolist()
            np.testing.assert_array_equal(pp.exact[:, 0], pr.exact)
            assert pp.hp_share[0] == pytest.approx(pr.hp_share, abs=1e-15)


def test_one_year_path_of_the_sample_equals_the_single_year_run():
    from optimizer.inputs.regions import read_regions
    from optimizer.inputs.scenario_read import load_scenario

    sc = load_scenario(SAMPLE)
    df = read_regions(REGIONS, sc)
    y = sc.years[-1]
    for limits in ({}, {"max_change": 0.6, "headcount_max_change": None,
                        "budget_max_change": None}):
        one = sc.with_changes(years=(y,), **limits)
        single = one.with_changes(years=(), headcount_total=y.headcount,
                                  budget_total=y.budget, hp_share=y.hp_share)
        path, plan = run_path(df, one), run_plan(df, single)
        assert path.status == plan.status
        for p in POOLS:
            assert path.pools[p].status == plan.pools[p].status
            if plan.pools[p].status == Status.OPTIMAL:
                assert (path.pools[p].allocation[:, 0].tolist()
                        == np.asarray(plan.pools[p].allocation, float).tolist())


# --------------------------------------------------------------------------- the CLI

@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("path") / "out"
    return cli("run", "--regions", REGIONS, "--scenario", SAMPLE, "--out", out), out


def test_sample_path_through_the_cli(sample_run):
    import tomllib

    proc, out = sample_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = (out / "path.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(rows[0]) == ["region", "high_potential", "current_headcount", "headcount_2024",
                             "headcount_2025", "headcount_2026", "current_budget",
                             "budget_2024", "budget_2025", "budget_2026"]
    src = list(csv.DictReader(io.StringIO(REGIONS.read_bytes().decode("utf-8-sig"))))
    assert [r["region"] for r in rows] == [r["region"] for r in src]
    spec = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))
    hp = [r["high_potential"] == "true" for r in rows]
    assert hp == [r["high_potential"] == "是" for r in src]
    for y in spec["years"]:
        people = [int(r[f"headcount_{y['year']}"]) for r in rows]
        cents = [round(float(r[f"budget_{y['year']}"]) * 100) for r in rows]
        assert sum(people) == y["headcount"]
        assert sum(cents) == round(y["budget"] * 100)
        for vals, total in ((people, y["headcount"]), (cents, y["budget"] * 100)):
            share = sum(v for v, h in zip(vals, hp, strict=True) if h) / total
            assert share >= y["hp_share"] - 1e-12, (y, share)
    assert (out / "path.xlsx").is_file()
    summary = strict_json(out / "summary.json")
    assert summary["status"] == "optimal"
    path = summary["path"]
    assert path["years"] == [2024, 2025, 2026]
    for p in POOLS:
        pool = path["pools"][p]
        assert pool["status"] == "optimal"
        assert pool["hp_share"][-1] >= 0.60 - 1e-12
        assert set(pool["allocation"]) == {"2024", "2025", "2026"}
        # the least change limits printed are those the sample writes in its [limits]
        assert pool["required_change"] == spec["limits"][f"{p}_max_change"]
    lim = spec["limits"]
    assert f"±{100 * lim['headcount_max_change']:.2f} %" in proc.stdout
    assert f"±{100 * lim['budget_max_change']:.2f} %" in proc.stdout


def test_sample_path_xlsx_and_json_match_the_csv(sample_run):
    from openpyxl import load_workbook

    _, out = sample_run
    rows = list(csv.DictReader(io.StringIO((out / "path.csv").read_text(encoding="utf-8-sig"))))
    wb = load_workbook(out / "path.xlsx", read_only=True)
    assert {"path_headcount", "path_budget", "scenario"} <= set(wb.sheetnames)
    summary = strict_json(out / "summary.json")["path"]["pools"]
    for p in POOLS:
        sheet = list(wb[f"path_{p}"].iter_rows(values_only=True))
        cols = ["region", "high_potential", f"current_{p}", *(f"{p}_{y}" for y in (2024, 2025,
                                                                                   2026))]
        assert list(sheet[0]) == cols
        for r, cells in zip(rows, sheet[1:], strict=True):
            assert cells[0] == r["region"]
            for c, v in zip(cols[2:], cells[2:], strict=True):
                assert float(v) == pytest.approx(float(r[c]), abs=1e-9), (p, c)
        for y in (2024, 2025, 2026):
            alloc = summary[p]["allocation"][str(y)]
            assert [alloc[r["region"]] for r in rows] == pytest.approx(
                [float(r[f"{p}_{y}"]) for r in rows], abs=1e-9)
    wb.close()


def test_sample_path_csv_meets_the_limits(sample_run):
    import tomllib

    _, out = sample_run
    rows = list(csv.DictReader(io.StringIO((out / "path.csv").read_text(encoding="utf-8-sig"))))
    lim = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))["limits"]
    for p, cols in (("headcount", ["current_headcount", "headcount_2024", "headcount_2025",
                                   "headcount_2026"]),
                    ("budget", ["current_budget", "budget_2024", "budget_2025",
                                "budget_2026"])):
        d = lim[f"{p}_max_change"]
        for r in rows:
            vals = [float(r[c]) for c in cols]
            for prev, cur in zip(vals, vals[1:], strict=False):
                if prev <= 0:
                    continue
                if p == "headcount":
                    lo, hi = person_bounds(prev, d)
                    assert lo <= cur <= hi, (r["region"], prev, cur)
                else:
                    assert (1 - d) * prev - 0.02 <= cur <= (1 + d) * prev + 0.02


def test_tighter_limits_exit_3_with_the_broken_year_and_the_least_limit(tmp_path, sample_run):
    _, good = sample_run
    text = SAMPLE.read_text(encoding="utf-8")
    text = text.replace("headcount_max_change = 0.4167", "max_change = 0.30")
    text = text.replace("budget_max_change = 0.5548\n", "")
    assert "max_change = 0.30" in text and "budget_max_change" not in text
    scen = tmp_path / "tight.toml"
    scen.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    for name in ("path.csv", "path.xlsx", "allocation.csv"):
        (out / name).write_bytes((good / "path.csv").read_bytes())  # stale tables
    proc = cli("run", "--regions", REGIONS, "--scenario", scen, "--out", out)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    for name in ("path.csv", "path.xlsx", "allocation.csv"):
        assert not (out / name).exists(), name
    summary = strict_json(out / "summary.json")
    assert summary["status"] == "infeasible"
    for p in POOLS:
        pool = summary["path"]["pools"][p]
        assert pool["status"] == "infeasible"
        assert pool["broken_year"] in (2024, 2025, 2026)
        assert "allocation" not in pool
        req = pool["required_change"]
        assert req is not None and req > 0.30
        assert f"{pool['broken_year']} breaks" in pool["diagnosis"]["en"]
        # the message printed names the broken year and the least change limit
        pct_txt = f"{100 * req:.2f}".rstrip("0").rstrip(".") + " %"
        assert f"±{pct_txt}" in proc.stdout, (pct_txt, proc.stdout)
        assert f"{pool['broken_year']} breaks" in proc.stdout
    # the least limits are the sample's own (the tool computed them; the TOML says so)
    assert summary["path"]["pools"]["headcount"]["required_change"] == 0.4167
    assert summary["path"]["pools"]["budget"]["required_change"] == 0.5548


# --------------------------------------------------------------------------- added pools

def pools_case(rng: np.random.Generator) -> tuple[pd.DataFrame, Scenario]:
    """A random path with two added pools beside the built-ins:

    - "csm": headcount, its own current column, change limit and weights (customer value,
      scored from a customer_ltv column), a total of its own and per-year totals in some
      years only (the others keep the pool's total), the year's high-potential share;
    - "fund": budget, eligible by a list of regions (one of them high-potential), no
      current column, no change limit, its own high-potential share 50 % in every year.
    """
    from optimizer.inputs.scenario import PoolSpec

    df, sc = random_case(rng)
    n = len(df)
    df["customer_ltv"] = np.round(rng.uniform(1, 10, n), 2)
    df["current_csm"] = rng.integers(1, 30, n).astype(np.int64)
    others = df["region"].iloc[1:].tolist()
    fund_regions = ("R0", *rng.choice(others, size=int(rng.integers(1, n - 1)),
                                      replace=False).tolist())
    own = int(df["current_csm"].sum())
    csm = PoolSpec("csm", "headcount", total=own, label="customer success managers",
                   current="current_csm", max_change=float(np.round(rng.uniform(0.2, 0.8), 3)),
                   weights={"customer_value": 0.7})
    fund = PoolSpec("fund", "budget", total=round(float(rng.uniform(100, 1000)), 2),
                    label="expansion fund", eligible=tuple(sorted(fund_regions)), hp_share=0.5)
    years = []
    for t, y in enumerate(sc.years):
        totals: dict[str, float] = {}
        if t % 2 == 1:  # every other year sets the csm total, the others keep the pool's
            totals["csm"] = int(round(own * float(rng.uniform(0.9, 1.3))))
        if t > 0:
            totals["fund"] = round(float(rng.uniform(100, 1000)), 2)
        years.append(YearPlan(y.year, y.headcount, y.budget, y.hp_share, totals))
    return df, sc.with_changes(pools=(csm, fund), years=tuple(years))


def pool_year_specs(sc: Scenario, name: str) -> tuple[list[float], list[float]]:
    """Each year's total (the year's own, else the pool's) and minimum share."""
    spec = next(p for p in sc.pools if p.name == name)
    totals = [float(y.totals.get(name, spec.total)) for y in sc.years]
    shares = [float(spec.hp_share if spec.hp_share is not None else y.hp_share)
              for y in sc.years]
    return totals, shares


def ref_pool_weights(df: pd.DataFrame, sc: Scenario, own: dict[str, float] | None,
                     ) -> np.ndarray:
    """S per region for a pool with weights `own` over [weights] (the reference scores)."""
    w = {d: 1 / 3 for d in ("market_potential", "customer_value", "internal_capability")}
    w.update(own or {})
    rows = ref_scores({"market_size": df["market_size"].astype(float).tolist(),
                       "customer_ltv": df["customer_ltv"].astype(float).tolist()},
                      weights=w, floor=sc.floor)
    return np.array([r["weight"] for r in rows], float)


def check_added_path(res: PathResult, df: pd.DataFrame, sc: Scenario) -> None:
    """Every year of both added pools: totals, shares, whole units, eligibility, limits."""
    hp = df["high_potential"].to_numpy(bool)
    # csm: whole people; first year within its own limit of its current column
    totals, shares = pool_year_specs(sc, "csm")
    delta = sc.pools[0].max_change
    a = np.asarray(res.pools["csm"].allocation, float)
    lo0, hi0 = ref_bounds(df["current_csm"].astype(float).tolist(), None, None, delta, True)
    for t, (total, rho) in enumerate(zip(totals, shares, strict=True)):
        x = a[:, t]
        assert np.all(x == np.round(x)) and int(x.sum()) == int(total), (t, x, total)
        assert x[hp].sum() >= need(total, rho, True), (t, x)
        if t == 0:
            assert np.all(x >= np.array(lo0)) and np.all(x <= np.array(hi0)), x
        else:
            for r in range(len(df)):
                if a[r, t - 1] > 0:
                    lo, hi = person_bounds(a[r, t - 1], delta)
                    assert lo <= x[r] <= hi, (t, r, a[r, t - 1], x[r], delta)
    # fund: cents, only its regions, its own 50 % every year
    totals, shares = pool_year_specs(sc, "fund")
    b = np.asarray(res.pools["fund"].allocation, float)
    elig = df["region"].isin(sc.pools[1].eligible).to_numpy()
    for t, (total, rho) in enumerate(zip(totals, shares, strict=True)):
        cents = np.rint(b[:, t] * 100)
        assert np.all(np.abs(b[:, t] * 100 - cents) < 1e-4)
        assert int(cents.sum()) == round(total * 100), (t, b[:, t], total)
        assert np.all(cents[~elig] == 0), (t, b[:, t])
        assert rho == 0.5 and cents[hp].sum() >= 0.5 * total * 100 - 1e-6


@pytest.mark.parametrize("seed", range(4))
def test_added_pools_keep_or_take_their_year_totals_and_match_the_reference(seed):
    rng = np.random.default_rng(7000 + seed)
    compared = 0
    for _ in range(4):
        df, sc = pools_case(rng)
        res = run_path(df, sc)
        assert list(res.pools) == ["headcount", "budget", "csm", "fund"]
        hp = df["high_potential"].to_numpy(bool)
        csm, fund = res.pools["csm"], res.pools["fund"]
        # the fund has no change limit: each year is the single-year optimum of its regions
        assert fund.status == Status.OPTIMAL
        elig = df["region"].isin(sc.pools[1].eligible).to_numpy()
        S = ref_pool_weights(df, sc, None)[elig]
        totals, _ = pool_year_specs(sc, "fund")
        for t, total in enumerate(totals):
            want = ref_optimum(S.tolist(), [0.0] * len(S), [math.inf] * len(S),
                               hp[elig].tolist(), total, 0.5, False)
            got = fund.exact[elig, t]
            assert np.all(np.abs(got - want) <= 1e-3 * np.maximum(want, 1e-9)), (t, got, want)
            assert np.all(fund.exact[~elig, t] == 0)
        assert fund.eligible is not None and fund.eligible.tolist() == elig.tolist()
        if csm.status != Status.OPTIMAL:
            assert csm.allocation is None and csm.broken_year in res.years
            assert "customer success managers" in csm.diagnosis.en
            continue
        check_added_path(res, df, sc)
        # the continuous csm path against SLSQP with the pool's own weights and limit
        S = ref_pool_weights(df, sc, {"customer_value": 0.7})
        totals, shares = pool_year_specs(sc, "csm")
        ref, ok = scipy_path(S, df["current_csm"].to_numpy(float), hp, totals, shares,
                             sc.pools[0].max_change, True)
        if ok:
            compared += 1
            err = np.abs(csm.exact - ref) / np.maximum(ref, 1e-9 * max(totals))
            assert np.all(err <= 1e-3), (csm.exact, ref)
    assert compared >= 1


def test_added_pool_path_tables_and_summary_cover_every_pool():
    rng = np.random.default_rng(77)
    while True:
        df, sc = pools_case(rng)
        res = run_path(df, sc)
        if res.status == Status.OPTIMAL:
            break
    from optimizer.report.path import describe, path_summary, path_table

    table = path_table(res)
    years = res.years
    assert list(table.columns) == ["region", "high_potential", *[
        c for p in ("headcount", "budget", "csm", "fund")
        for c in (f"current_{p}", *(f"{p}_{y}" for y in years))]]
    assert table.attrs["kinds"]["csm_" + str(years[0])] == "headcount"
    assert table.attrs["kinds"]["fund_" + str(years[-1])] == "budget"
    assert table["csm_" + str(years[0])].dtype.kind == "i"
    summary = path_summary(res)
    assert summary["pools"]["csm"]["label"] == {"en": "customer success managers",
                                                "zh": "customer success managers"}
    assert summary["pools"]["fund"]["kind"] == "budget"
    totals, _ = pool_year_specs(sc, "fund")
    assert summary["pools"]["fund"]["totals"] == totals
    lines = describe(res)
    assert any(line.startswith("customer success managers: optimal") for line in lines)
    assert any(line.startswith("expansion fund: optimal") for line in lines)


def test_one_year_path_with_added_pools_is_the_single_year_plan():
    rng = np.random.default_rng(4242)
    for _ in range(4):
        df, sc = pools_case(rng)
        y = sc.years[0]
        one = sc.with_changes(years=(y,))
        single = sc.with_changes(years=(), headcount_total=y.headcount, budget_total=y.budget,
                                 hp_share=y.hp_share)
        path, plan = run_path(df, one), run_plan(df, single)
        for p in ("csm", "fund"):
            assert path.pools[p].status == plan.pools[p].status
            if plan.pools[p].status == Status.OPTIMAL:
                assert (path.pools[p].allocation[:, 0].tolist()
                        == np.asarray(plan.pools[p].allocation, float).tolist())


def test_year_totals_of_added_pools_through_the_cli(tmp_path):
    import tomllib

    text = SAMPLE.read_text(encoding="utf-8") + """
[[pools]]
name = "csm"
label = "客户成功经理"
kind = "headcount"
total = 15
unit_cost = 600_000

[[pools]]
name = "expansion_fund"
label = "市场拓展基金"
kind = "budget"
total = 10_000_000
eligible = ["西南", "西北"]
"""
    # the fund's total each year (30 m over the three years); csm grows in 2025 only
    text = text.replace("hp_share = 0.30\n", "hp_share = 0.30\nexpansion_fund = 8_000_000\n")
    text = text.replace("hp_share = 0.45\n", "hp_share = 0.45\nexpansion_fund = 10_000_000\n"
                        "csm = 20\n")
    text = text.replace("hp_share = 0.60\n", "hp_share = 0.60\nexpansion_fund = 12_000_000\n")
    scen = tmp_path / "roles_path.toml"
    scen.write_text(text, encoding="utf-8")
    spec = tomllib.loads(text)
    out = tmp_path / "out"
    proc = cli("run", "--regions", REGIONS, "--scenario", scen, "--out", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = list(csv.DictReader(io.StringIO((out / "path.csv").read_text(encoding="utf-8-sig"))))
    src = list(csv.DictReader(io.StringIO(REGIONS.read_bytes().decode("utf-8-sig"))))
    hp = [r["high_potential"] == "是" for r in src]
    for y in spec["years"]:
        csm = [float(r[f"csm_{y['year']}"]) for r in rows]
        assert csm == [int(v) for v in csm] and sum(csm) == y.get("csm", 15)
        assert sum(v for v, h in zip(csm, hp, strict=True) if h) >= math.ceil(
            y["hp_share"] * sum(csm) - 1e-9)
        fund = {r["region"]: float(r[f"expansion_fund_{y['year']}"]) for r in rows}
        assert round(sum(fund.values()) * 100) == round(y["expansion_fund"] * 100)
        assert {k for k, v in fund.items() if v} <= {"西南", "西北"}
    summary = strict_json(out / "summary.json")["path"]["pools"]
    assert summary["expansion_fund"]["totals"] == [8e6, 10e6, 12e6]
    assert summary["csm"]["totals"] == [15, 20, 15]
    # people cost each year: the year's people × the unit cost
    assert summary["csm"]["unit_cost"] == 600_000
    assert summary["csm"]["cost"] == [15 * 600_000, 20 * 600_000, 15 * 600_000]
    assert "cost" not in summary["expansion_fund"]
    assert "2025: CNY 12.00 m" in proc.stdout

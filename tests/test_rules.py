"""Group rules (issue 4, part 1): members chosen by a list, a column or a score threshold,
overlapping groups, minimum and maximum shares of a pool, whole-people rounding that meets
every rule, and the optimum checked against independent optimality conditions.

The helpers at the top (a small table builder, an independent feasibility LP, a KKT check
written from the model alone, a brute-force nearest rounding) are shared with the other
issue-4 test files (test_relax, test_prices, test_never_worse).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from optimizer.flow.plan import run_plan
from optimizer.inputs.regions import read_regions, regions_from_bytes
from optimizer.inputs.scenario import GroupRule, Indicator, Scenario
from optimizer.inputs.scenario_read import load_scenario
from optimizer.model.pools import build_pools
from optimizer.model.result import Status
from optimizer.model.scoring import high_potential, score
from tests.reference import ref_bounds, ref_scores

REPO = Path(__file__).resolve().parents[1]
INPUTS = REPO / "inputs"

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# One indicator: S = 0.1 + 0.9·(m − min m)/(max m − min m); every S = 1 when m is constant.
BASE = Scenario(
    weights={"market_potential": 1.0, "customer_value": 0.0, "internal_capability": 0.0},
    indicators={"market_size": Indicator("market_potential", "higher", 1.0)},
    hp_rule="column", hp_share=0.0)


# --------------------------------------------------------------------------- helpers

def table(market, headcount, budget, hp=None, zone=None, scenario: Scenario = BASE):
    """A validated regions table R0, R1, … with one indicator and optional war_zone."""
    n = len(market)
    hp = [False] * n if hp is None else hp
    cols = ["region", "market_size", "current_headcount", "current_budget", "high_potential"]
    if zone is not None:
        cols.append("war_zone")
    lines = [",".join(cols)]
    for i in range(n):
        cells = [f"R{i}", repr(float(market[i])), str(int(headcount[i])),
                 f"{float(budget[i]):.2f}", "是" if hp[i] else "否"]
        if zone is not None:
            cells.append(zone[i])
        lines.append(",".join(cells))
    return regions_from_bytes(("\n".join(lines) + "\n").encode(), "t.csv", scenario)


def group_masks(scenario: Scenario, regions, scores, pool: str):
    """(name, mask, min_share, max_share) of every rule on `pool`, computed here from the
    scenario (the high-potential rule first), not by the engine's group_mask."""
    out = []
    if scenario.hp_share > 0:
        out.append((f"hp_share_{pool}", regions["high_potential"].to_numpy(bool),
                    scenario.hp_share, None))
    names = regions["region"].tolist()
    for i, g in enumerate(scenario.groups, start=1):
        if pool not in g.pools:
            continue
        if g.regions is not None:
            mask = np.array([r in g.regions for r in names])
        elif g.column is not None:
            mask = np.array([str(v).strip() in g.values for v in regions[g.column]])
        else:
            vals = scores[g.score].to_numpy(float)
            mask = np.array([not math.isnan(v) and v >= g.min_score - 1e-9 for v in vals])
        out.append((f"group_{i}_{pool}", mask, g.min_share, g.max_share))
    return out


def amounts(total: float, share_min, share_max, integer: bool):
    """The least and most a rule allows (docs/model.md: whole people rounded inward)."""
    need = None if share_min is None else share_min * total
    cap = None if share_max is None else share_max * total
    if integer:
        need = None if need is None else math.ceil(need - 1e-9)
        cap = None if cap is None else math.floor(cap + 1e-9)
    return need, cap


def pool_data(res, pool: str):
    """Independent data of one pool of a run: S, lo, hi, total, rules [(name, mask, need, cap)]."""
    sc = res.scenario
    regions = res.regions
    integer = pool == "headcount"
    total = float(sc.total(pool))
    current = regions[f"current_{pool}"].to_numpy(float)
    mn = regions[f"min_{pool}"].to_numpy(float) if f"min_{pool}" in regions else None
    mx = regions[f"max_{pool}"].to_numpy(float) if f"max_{pool}" in regions else None
    lo, hi = ref_bounds(current.tolist(), None if mn is None else mn.tolist(),
                        None if mx is None else mx.tolist(), sc.change_limit(pool), integer)
    rules = [(name, mask, *amounts(total, a, b, integer))
             for name, mask, a, b in group_masks(sc, regions, res.scores, pool)]
    return (res.scores["weight"].to_numpy(float), np.array(lo), np.array(hi), total, rules)


def lp_feasible(lo, hi, total, rules) -> bool:
    """Whether some x has Σx = total, lo ≤ x ≤ hi and every rule (an LP written here)."""
    import pulp

    n = len(lo)
    unit = max(total, 1.0) / max(n, 1)
    prob = pulp.LpProblem("indep_feasible", pulp.LpMinimize)
    xs = [prob.add_variable(f"x{i}", lo[i] / unit,
                            None if not np.isfinite(hi[i]) else hi[i] / unit) for i in range(n)]
    prob += pulp.lpSum([])
    slack = 1e-9 * max(1.0, total) / unit
    prob += pulp.lpSum(xs) >= total / unit - slack
    prob += pulp.lpSum(xs) <= total / unit + slack
    for _, mask, need, cap in rules:
        members = pulp.lpSum(x for x, m in zip(xs, mask, strict=True) if m)
        if need is not None:
            prob += members >= need / unit - slack
        if cap is not None:
            prob += members <= cap / unit + slack
    tol = 1e-9 * max(1.0, total)
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    # docs/model.md's necessary conditions, exactly; the LP (tight tolerances) for the rest
    if np.any(lo > hi + tol) or lo.sum() > total + tol or hi.sum() < total - tol:
        return False
    for _, mask, need, cap in rules:
        most = min(hi[mask].sum(), total - lo[~mask].sum())
        least = max(lo[mask].sum(), total - hi[~mask].sum())
        if (need is not None and need > most + tol) or (cap is not None and cap < least - tol):
            return False
    prob.solve(pulp.HiGHS(msg=False, primal_feasibility_tolerance=1e-10,
                          dual_feasibility_tolerance=1e-10))
    return pulp.LpStatus[prob.status] == "Optimal"


def assert_meets(x, lo, hi, total, rules, tol_abs):
    assert abs(float(np.sum(x)) - total) <= tol_abs, (np.sum(x), total)
    assert np.all(x >= lo - tol_abs), (x, lo)
    assert np.all(x <= hi + tol_abs), (x, hi)
    for name, mask, need, cap in rules:
        s = float(np.sum(x[mask]))
        if need is not None:
            assert s >= need - tol_abs, (name, s, need)
        if cap is not None:
            assert s <= cap + tol_abs, (name, s, cap)


def kkt_gap(weight, x, lo, hi, total, rules) -> float:
    """Best first-order gain Σ S·dx/x over the directions the active constraints allow,
    with |dx| ≤ x per region, relative to Σ S: 0 at the optimum of max Σ S ln x (a concave
    objective: no improving feasible direction ⇔ optimal). An LP written from the model."""
    import pulp

    tol = 1e-7 * max(1.0, total)
    # a region at 0 (hi = 0, or held at 0 by the rules in every plan) is out of the objective
    live = (np.asarray(hi) > 0) & (np.asarray(x) > 1e-12 * max(1.0, total))
    prob = pulp.LpProblem("kkt", pulp.LpMaximize)
    u = {}
    for i in np.nonzero(live)[0]:
        a = -1.0 if x[i] > lo[i] + max(tol, 1e-7 * x[i]) else 0.0
        b = 1.0 if x[i] < hi[i] - max(tol, 1e-7 * x[i]) else 0.0
        u[i] = prob.add_variable(f"u{i}", a, b)
    prob += pulp.lpSum(weight[i] * u[i] for i in u)
    prob += pulp.lpSum(x[i] * u[i] for i in u) == 0
    for _, mask, need, cap in rules:
        s = float(np.sum(x[mask]))
        members = pulp.lpSum(x[i] * u[i] for i in u if mask[i])
        if need is not None and s <= need + tol:
            prob += members >= 0
        if cap is not None and s >= cap - tol:
            prob += members <= 0
    prob.solve(pulp.HiGHS(msg=False))
    assert pulp.LpStatus[prob.status] == "Optimal"
    return float(pulp.value(prob.objective) or 0.0) / float(np.sum(weight[live]))


def cell_prices(weight, x, lo, hi, rules, tol=1e-7):
    """Per cell of regions with the same rule membership: the one price S/x of its free
    regions (asserted equal), as {membership tuple: price}."""
    prices: dict[tuple[bool, ...], float] = {}
    for i in range(len(x)):
        free = lo[i] + 1e-7 * max(1.0, x[i]) < x[i] < hi[i] - 1e-7 * max(1.0, x[i])
        if not free:
            continue
        key = tuple(bool(m[i]) for _, m, _, _ in rules)
        p = weight[i] / x[i]
        if key in prices:
            assert p == pytest.approx(prices[key], rel=tol), (key, p, prices[key])
        else:
            prices[key] = p
    return prices


def dist(h, x) -> float:
    return float(np.sum(np.abs(np.asarray(h, float) - x)))


def brute_nearest(x, lo, hi, total, rules) -> float | None:
    """Least Σ|h − x| over whole h (⌊x⌋−1 … ⌈x⌉+1, within bounds) meeting every rule."""
    choices = []
    for v, a, b in zip(x, lo, hi, strict=True):
        f = math.floor(v + 1e-9)
        choices.append([h for h in range(f - 1, f + 3) if a - 1e-9 <= h <= b + 1e-9])
    best = None
    for h in itertools.product(*choices):
        if sum(h) != round(total):
            continue
        arr = np.array(h)
        ok = True
        for _, mask, need, cap in rules:
            s = int(arr[mask].sum())
            if (need is not None and s < need) or (cap is not None and s > cap):
                ok = False
                break
        if ok:
            d = dist(arr, x)
            best = d if best is None or d < best else best
    return best


# --------------------------------------------------------------------------- selection

def sample_pools(scenario_file: str = "groups.toml"):
    sc = load_scenario(INPUTS / scenario_file)
    regions = read_regions(INPUTS / "regions.csv", sc)
    scores, _ = score(regions, sc)
    hp = high_potential(regions, scores, sc)
    return sc, regions, scores, build_pools(regions, scores, hp, sc)


def members(pool, rule_name):
    rule = next(r for r in pool.rules if r.name == rule_name)
    return {n for n, m in zip(pool.regions, rule.mask, strict=True) if m}


def test_sample_groups_select_by_list_and_by_column_and_apply_to_their_pools():
    _, _, _, pools = sample_pools()
    # [[groups]] 1: a list, budget only; 2: the war_zone column = 西区, headcount only
    assert [r.name for r in pools["budget"].rules] == ["hp_share_budget", "group_1_budget"]
    assert [r.name for r in pools["headcount"].rules] == ["hp_share_headcount",
                                                          "group_2_headcount"]
    assert members(pools["budget"], "group_1_budget") == {"华北", "华中", "西南", "西北", "东北"}
    assert members(pools["headcount"], "group_2_headcount") == {"华中", "西南", "西北"}
    rule = pools["headcount"].rules[1]
    assert (rule.min_share, rule.max_share) == (0.15, 0.40)
    assert rule.group == "West war zone" and "West war zone" in rule.label.en


@pytest.mark.parametrize(("group", "expected"), [
    (GroupRule("North and South", min_share=0.1, column="war_zone", values=("北区", "南区")),
     {"华南", "华北", "东北"}),
    (GroupRule("East", max_share=0.9, column="war_zone", values=("东区",)), {"华东"}),
    (GroupRule("Two", min_share=0.1, regions=("西北", "华东")), {"西北", "华东"}),
])
def test_selection_by_column_values_and_by_list(group, expected):
    sc = load_scenario(INPUTS / "scenario.toml").with_changes(groups=(group,))
    regions = read_regions(INPUTS / "regions.csv", sc)
    scores, _ = score(regions, sc)
    pools = build_pools(regions, scores, high_potential(regions, scores, sc), sc)
    for p in ("headcount", "budget"):
        assert members(pools[p], f"group_1_{p}") == expected


@pytest.mark.parametrize("dimension", ["market_potential", "customer_value", "score"])
@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.8, 1.0])
def test_selection_by_score_threshold_matches_the_reference_scores(dimension, threshold):
    sc = load_scenario(INPUTS / "scenario.toml").with_changes(groups=(
        GroupRule("Strong", max_share=1.0, score=dimension, min_score=threshold),))
    regions = read_regions(INPUTS / "regions.csv", sc)
    scores, _ = score(regions, sc)
    pools = build_pools(regions, scores, high_potential(regions, scores, sc), sc)
    cols = {name: regions[name].tolist() for name in sc.indicators}
    ind = {n: (i.dimension, i.direction, i.weight) for n, i in sc.indicators.items()}
    ref = ref_scores(cols, ind, sc.weights, sc.floor)
    expected = {r for r, row in zip(regions["region"], ref, strict=True)
                if row[dimension] is not None and row[dimension] >= threshold - 1e-9}
    assert members(pools["budget"], "group_1_budget") == expected
    if threshold == 0.0:
        assert len(expected) == 7


# --------------------------------------------------------------------------- hand-solved

EQUAL = [50, 50, 50, 50]  # constant indicator: every S = 1


def solve_scenario(df, sc):
    res = run_plan(df, sc, explain=False)
    assert res.status == Status.OPTIMAL, [p.diagnosis for p in res.pools.values()]
    return res


def test_min_share_of_a_group_equal_scores():
    df = table(EQUAL, [10] * 4, [1e6] * 4)
    sc = BASE.with_changes(budget_total=100.0, groups=(
        GroupRule("A", pools=("budget",), min_share=0.7, regions=("R0", "R1")),))
    x = solve_scenario(df, sc).pools["budget"].exact
    np.testing.assert_allclose(x, [35, 35, 15, 15], rtol=1e-9)


def test_max_share_of_a_group_equal_scores():
    df = table(EQUAL, [10] * 4, [1e6] * 4)
    sc = BASE.with_changes(budget_total=100.0, groups=(
        GroupRule("A", pools=("budget",), max_share=0.1, regions=("R0",)),))
    x = solve_scenario(df, sc).pools["budget"].exact
    np.testing.assert_allclose(x, [10, 30, 30, 30], rtol=1e-9)


def test_non_binding_group_changes_nothing():
    df = table([0, 30, 60, 100], [10] * 4, [1e6] * 4)
    sc = BASE.with_changes(budget_total=1000.0)
    free = solve_scenario(df, sc).pools["budget"].exact
    sc2 = sc.with_changes(groups=(GroupRule("A", min_share=0.01, max_share=0.99,
                                            regions=("R0", "R3")),))
    res = solve_scenario(df, sc2)
    np.testing.assert_allclose(res.pools["budget"].exact, free, rtol=1e-9)
    s = res.scores["weight"].to_numpy()
    np.testing.assert_allclose(free, 1000 * s / s.sum(), rtol=1e-9)


def _bisect(f, a, b):
    """The root of a decreasing f on (a, b)."""
    for _ in range(200):
        m = 0.5 * (a + b)
        if f(m) > 0:
            a = m
        else:
            b = m
    return 0.5 * (a + b)


def test_overlapping_groups_min_and_max_hand_solved():
    # A = {R0, R1} ≥ 70 %, B = {R1, R2} ≤ 30 %, equal scores, X = 100. With x1 = t:
    # x0 = 70 − t, x2 = 30 − t, x3 = t; maximise ln(70−t) + 2 ln t + ln(30−t).
    df = table(EQUAL, [10] * 4, [1e6] * 4)
    sc = BASE.with_changes(budget_total=100.0, groups=(
        GroupRule("A", pools=("budget",), min_share=0.7, regions=("R0", "R1")),
        GroupRule("B", pools=("budget",), max_share=0.3, regions=("R1", "R2"))))
    t = _bisect(lambda t: -1 / (70 - t) + 2 / t - 1 / (30 - t), 1e-9, 30 - 1e-9)
    x = solve_scenario(df, sc).pools["budget"].exact
    np.testing.assert_allclose(x, [70 - t, t, 30 - t, t], rtol=1e-9)
    # prices: R1 (in both) has A's discount and B's premium; R3 (in neither) is λ
    lam, pa = 1 / x[3], 1 / x[0]  # π(A only) = λ − ν_A; π(B only) = λ + ν_B
    pb = 1 / x[2]
    assert pa < lam < pb
    assert 1 / x[1] == pytest.approx(pa + pb - lam, rel=1e-9)


def test_min_and_max_on_the_same_group_pin_its_share():
    df = table([0, 40, 70, 100], [10] * 4, [1e6] * 4)
    sc = BASE.with_changes(budget_total=1000.0, groups=(
        GroupRule("Pinned", pools=("budget",), min_share=0.4, max_share=0.4,
                  regions=("R0", "R3")),))
    res = solve_scenario(df, sc)
    x = res.pools["budget"].exact
    assert x[[0, 3]].sum() == pytest.approx(400, rel=1e-12)
    s = res.scores["weight"].to_numpy()
    np.testing.assert_allclose(x[[0, 3]], 400 * s[[0, 3]] / s[[0, 3]].sum(), rtol=1e-9)
    np.testing.assert_allclose(x[[1, 2]], 600 * s[[1, 2]] / s[[1, 2]].sum(), rtol=1e-9)


def test_group_rule_together_with_the_high_potential_rule_and_a_change_limit():
    df = table([0, 20, 50, 80, 100], [10, 20, 30, 25, 15], [1e6, 2e6, 3e6, 2.5e6, 1.5e6],
               hp=[True, True, False, False, False], zone=["W", "W", "W", "E", "E"])
    sc = BASE.with_changes(hp_share=0.35, max_change=0.5, groups=(
        GroupRule("East", max_share=0.35, column="war_zone", values=("E",)),))
    res = solve_scenario(df, sc)
    for p in ("headcount", "budget"):
        weight, lo, hi, total, rules = pool_data(res, p)
        assert [r[0] for r in rules] == [f"hp_share_{p}", f"group_1_{p}"]
        x = res.pools[p].exact
        assert_meets(x, lo, hi, total, rules, 1e-9 * total)
        assert kkt_gap(weight, x, lo, hi, total, rules) <= 1e-8
        cell_prices(weight, x, lo, hi, rules)


def test_headcount_rounding_meets_a_group_rule_that_largest_remainder_breaks():
    # equal scores, X = 11, H = {R0, R1} ≥ 60 % (7 people), B = {R1, R2} ≤ 40 % (4 people)
    df = table(EQUAL, [3, 3, 3, 2], [1e6] * 4, hp=[True, True, False, False])
    sc = BASE.with_changes(headcount_total=11, hp_share=0.6, groups=(
        GroupRule("B", pools=("headcount",), max_share=0.4, regions=("R1", "R2")),))
    res = solve_scenario(df, sc)
    weight, lo, hi, total, rules = pool_data(res, "headcount")
    pr = res.pools["headcount"]
    h = pr.allocation
    assert h.sum() == 11 and h[:2].sum() >= 7 and h[1:3].sum() <= 4
    assert dist(h, pr.exact) == pytest.approx(brute_nearest(pr.exact, lo, hi, total, rules),
                                              abs=1e-9)


# --------------------------------------------------------------------------- properties

@st.composite
def instances(draw, *, current_feasible: bool = True):
    """Small tables and scenarios with 1–3 (possibly overlapping) group rules.

    Shares and the high-potential rule are drawn around the current allocation's shares so
    that, with totals equal to the current sums, the current allocation meets every rule.
    """
    n = draw(st.integers(3, 6))
    market = draw(st.lists(st.integers(0, 100), min_size=n, max_size=n))
    heads = draw(st.lists(st.integers(1, 40), min_size=n, max_size=n))
    money = [1000.0 * v for v in draw(st.lists(st.integers(50, 20_000), min_size=n,
                                                max_size=n))]
    hp = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    zone = [draw(st.sampled_from(["E", "W", "N"])) for _ in range(n)]
    cur = {"headcount": np.array(heads, float), "budget": np.array(money)}

    def share(mask, p):
        return float(cur[p][mask].sum() / cur[p].sum())

    hp_mask = np.array(hp)
    hp_share = 0.0
    if hp_mask.any() and draw(st.booleans()):
        hp_share = min(share(hp_mask, p) for p in cur) * draw(st.floats(0.2, 1.0))
        hp_share = math.floor(hp_share * 1e6) / 1e6
    groups = []
    for k in range(draw(st.integers(1, 3))):
        pools = draw(st.sampled_from([("headcount",), ("budget",), ("headcount", "budget")]))
        how = draw(st.sampled_from(["regions", "column"]))
        if how == "regions":
            mask = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
            assume(mask.any())
            sel = {"regions": tuple(f"R{i}" for i in np.nonzero(mask)[0])}
        else:
            vals = tuple(draw(st.sets(st.sampled_from(["E", "W", "N"]), min_size=1)))
            mask = np.array([z in vals for z in zone])
            assume(mask.any())
            sel = {"column": "war_zone", "values": tuple(sorted(vals))}
        lo_s = min(share(mask, p) for p in pools)
        hi_s = max(share(mask, p) for p in pools)
        kind = draw(st.sampled_from(["min", "max", "both"]))
        mn = mx = None
        if not current_feasible and draw(st.booleans()):
            # any shares (the run may be infeasible; such examples are skipped)
            a, b = sorted(round(draw(st.floats(0.0, 1.0)), 4) for _ in range(2))
            lo_s, hi_s = b, a  # so that the min below is ≤ b and the max ≥ a
        if kind in ("min", "both"):
            mn = math.floor(lo_s * draw(st.floats(0.3, 1.0)) * 1e6) / 1e6
        if kind in ("max", "both"):
            mx = math.ceil((hi_s + (1 - hi_s) * draw(st.floats(0.0, 0.7))) * 1e6) / 1e6
            mx = min(mx, 1.0)
        if mn is not None and mx is not None and mn > mx:
            mn, mx = mx, mn
        groups.append(GroupRule(f"G{k + 1}", pools=pools, min_share=mn, max_share=mx, **sel))
    delta = draw(st.sampled_from([None, None, 0.1, 0.3, 0.6]))
    grow = 1.0 if current_feasible else draw(st.sampled_from([1.0, 1.3]))
    sc = BASE.with_changes(
        hp_share=hp_share, max_change=None if grow != 1.0 else delta, groups=tuple(groups),
        headcount_total=int(round(sum(heads) * grow)),
        budget_total=round(sum(money) * grow, 2))
    return table(market, heads, money, hp, zone, sc), sc


@settings(SETTINGS, max_examples=100)
@given(instances(current_feasible=False))
def test_random_group_rules_optimum_meets_kkt_and_rounding_meets_every_rule(inst):
    df, sc = inst
    res = run_plan(df, sc, explain=False)
    assume(res.status == Status.OPTIMAL)
    for p in ("headcount", "budget"):
        pr = res.pools[p]
        weight, lo, hi, total, rules = pool_data(res, p)
        x = pr.exact
        # the continuous optimum meets every rule and no feasible direction improves it
        assert_meets(x, lo, hi, total, rules, 1e-9 * max(1.0, total))
        assert kkt_gap(weight, x, lo, hi, total, rules) <= 1e-8
        prices = cell_prices(weight, x, lo, hi, rules)
        # a rule that is slack cannot split a price: cells differing only in a slack rule's
        # membership have the same price
        for j, (_, mask, need, cap) in enumerate(rules):
            s = float(x[mask].sum())
            tight = ((need is not None and s <= need + 1e-7 * max(1.0, total))
                     or (cap is not None and s >= cap - 1e-7 * max(1.0, total)))
            for key, price in prices.items():
                other = key[:j] + (not key[j],) + key[j + 1:]
                if not tight and other in prices:
                    assert price == pytest.approx(prices[other], rel=1e-7)
                if tight and key[j] and other in prices and need is not None and cap is None:
                    assert price <= prices[other] * (1 + 1e-7)  # a minimum lowers the price
                if tight and key[j] and other in prices and cap is not None and need is None:
                    assert price >= prices[other] * (1 - 1e-7)  # a maximum raises it
        # the written allocation meets the same rules in whole units
        alloc = pr.allocation.astype(float)
        if p == "headcount":
            assert np.all(alloc == np.round(alloc))
            assert_meets(alloc, lo, hi, total, rules, 1e-9)
            assert dist(alloc, x) <= brute_nearest(x, lo, hi, total, rules) + 1e-9
        else:
            assert np.all(np.abs(alloc * 100 - np.round(alloc * 100)) < 1e-6)
            assert_meets(alloc, lo, hi, total, rules, 0.01 + 1e-9 * total)


def test_rules_that_force_regions_to_zero_leave_them_out():
    """H = {R3} ≥ 10 % (1 of 10 people) and {R1, R2, R3} ≤ 10 % (1 person): R1 and R2 get 0
    in every feasible plan. docs/model.md: such regions are fixed at 0 and left out of the
    objective; the rest is allocated as usual (R0 gets the other 9). The engine detects
    only zeros forced by one rule and stops with a SolverError (CLI exit 1)."""
    df = table(EQUAL, [1, 1, 1, 13], [1e5] * 4, hp=[False, False, False, True])
    sc = BASE.with_changes(headcount_total=10, hp_share=0.1, groups=(
        GroupRule("G1", pools=("headcount",), max_share=0.1, regions=("R1", "R2", "R3")),))
    res = run_plan(df, sc, explain=False)
    assert res.status == Status.OPTIMAL
    np.testing.assert_allclose(res.pools["headcount"].exact, [9, 0, 0, 1], atol=1e-9)
    assert res.pools["headcount"].allocation.tolist() == [9, 0, 0, 1]


def test_narrow_rule_windows_solve():
    """Feasible, but the rules leave R2 a window of 0.35 CNY (≥ 90,000 by ±10 %, ≤ 14.9751 %
    of 601,000) and R3 one of 100 CNY: a least share relaxation produces such scenarios.
    The engine stops with "the optimality conditions could not be met after 4 LP solves"."""
    df = table([0] * 5, [1] * 5, [1e5, 1e5, 1e5, 2.01e5, 1e5])
    sc = BASE.with_changes(budget_total=601000.0, max_change=0.1, groups=(
        GroupRule("G1", pools=("budget",), max_share=0.301165, regions=("R3",)),
        GroupRule("G2", pools=("budget",), max_share=0.149751, regions=("R2",))))
    res = run_plan(df, sc, explain=False)
    assert res.status == Status.OPTIMAL
    weight, lo, hi, total, rules = pool_data(res, "budget")
    x = res.pools["budget"].exact
    assert_meets(x, lo, hi, total, rules, 1e-9 * total)
    assert kkt_gap(weight, x, lo, hi, total, rules) <= 1e-8


def test_a_zero_maximum_holds_its_group_at_zero():
    df = table(EQUAL + [50], [1] * 5, [5e4] * 5)
    sc = BASE.with_changes(groups=(GroupRule("Closed", max_share=0.0, regions=("R4",)),))
    res = solve_scenario(df, sc)
    for p in ("headcount", "budget"):
        weight, lo, hi, total, rules = pool_data(res, p)
        x = res.pools[p].exact
        np.testing.assert_allclose(x, [total / 4] * 4 + [0], rtol=1e-12)
        assert kkt_gap(weight, x, lo, hi, total, rules) <= 1e-8
        assert res.pools[p].allocation[4] == 0


# --------------------------------------------------------------------------- rule identity

def test_rule_ids_build_todays_constraint_names():
    from optimizer.model.rules import RuleId

    cases = [
        (RuleId("hp_share", "budget"), "hp_share_budget"),
        (RuleId("hp_share", "budget", sense="min"), "hp_share_budget_min"),
        (RuleId("group", "csm", 3), "group_3_csm"),
        (RuleId("group", "director", 1, 2, sense="max"), "group_1_2_director_max"),
        (RuleId("bounds", "budget", region="华东"), "bounds_budget[华东]"),
        (RuleId("upper_bounds", "budget"), "upper_bounds_budget"),
        (RuleId("lower_bounds", "headcount"), "lower_bounds_headcount"),
        (RuleId("total", "headcount"), "total_headcount"),
        (RuleId("change_limit", "budget"), "change_limit_budget"),
        (RuleId("min_max_columns", "budget"), "min_max_columns_budget"),
        (RuleId("eligible", "east_fund"), "eligible_east_fund"),
        (RuleId("spent", "budget"), "spent_budget"),
    ]
    for rid, name in cases:
        assert rid.name == name
        assert rid.with_sense("max").base == rid.base
    with pytest.raises(ValueError):
        RuleId("upper_bound", "budget")  # the kind the old docstring named does not exist
    with pytest.raises(ValueError):
        RuleId("group", "budget")  # a group rule needs its number


def test_every_rule_of_the_roles_sample_is_typed_unique_and_found_by_its_name():
    from optimizer.model.rules import find

    sc = load_scenario(INPUTS / "roles_2024.toml")
    regions = read_regions(INPUTS / "regions.csv", sc)
    scores, _ = score(regions, sc)
    hp = high_potential(regions, scores, sc)
    pools = build_pools(regions, scores, hp, sc)
    seen = set()
    for p, pool in pools.items():
        for rule in pool.rules:
            rid = rule.id
            assert rid.kind in ("hp_share", "group") and rid.pool == p
            assert rule.name == rid.name
            if rid.kind == "group":  # the identity points at the [[groups]] entry it came from
                g = sc.groups[rid.group - 1]
                assert p in g.pools
                assert (rid.part is not None) == (g.per is not None)
            for side in (None, "min", "max"):
                name = rid.with_sense(side).name
                assert name not in seen
                seen.add(name)
                assert find(name, sc, regions) == rid.with_sense(side)
            # both languages say it, and differently
            label = rid.label(sc)
            assert label.en and label.zh and label.en != label.zh
    assert any(r.id.part is not None for pool in pools.values() for r in pool.rules)
    assert find("no_such_rule", sc, regions) is None


def test_a_diagnosis_keeps_rule_ids_and_shows_their_names():
    from optimizer.model.result import Diagnosis
    from optimizer.model.rules import RuleId
    from optimizer.words import Text

    ids = [RuleId("hp_share", "budget", sense="min"), RuleId("upper_bounds", "budget")]
    d = Diagnosis(Text("a", "甲"), ids, None)
    assert d.conflict_ids == ids
    assert d.conflicts == ["hp_share_budget_min", "upper_bounds_budget"]
    d.conflicts = ["something_else"]  # a name alone is a rule known only by that name
    assert d.conflict_ids[0].kind == "named" and d.conflicts == ["something_else"]


def test_relax_reads_the_group_number_from_the_identity_of_a_per_rule():
    from optimizer.explain.relax import _group_index

    sc = load_scenario(INPUTS / "roles_2024.toml")
    regions = read_regions(INPUTS / "regions.csv", sc)
    scores, _ = score(regions, sc)
    hp = high_potential(regions, scores, sc)
    pools = build_pools(regions, scores, hp, sc)
    for pool in pools.values():
        for rule in pool.rules:
            if rule.id.kind == "group":
                g = sc.groups[_group_index(rule)]
                # the rule's label quotes its [[groups]] entry's name
                assert g.name in rule.label.en

"""Plans over several years: one LP over all years (the proportional-fairness objective
summed over the years), each region's allocation within the change limit of the previous
planned year (the first year: of the current allocation). A one-year plan is the
single-year engine itself (`solve_pool`), so the two can never disagree.

Every pool of the scenario is planned so, the added ones ([[pools]]) included: a
`[[years]]` entry may set any pool's total by the pool's name (`director = 5`); a pool
without one keeps its own total. A year's `hp_share` applies to every pool that does not
set its own `hp_share` (such a pool keeps its own share every year). An added pool's
ineligible regions are fixed at 0 in every year and left out of its LP.

With several years the optimality conditions couple the years, so instead of the
single-year polish the breakpoints are refined around the LP's answer until it stops
moving (each refinement narrows the brackets tenfold; the answer is then exact to the
last bracket, about 1e-6 relative, far inside docs/model.md's 1e-3).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimizer.diagnose import diagnose
from optimizer.errors import SolverError, VerificationError
from optimizer.pools import Pool, bounds, build_pools, pct
from optimizer.prepare import Prepared, prepare
from optimizer.result import Status, Text
from optimizer.rounding import whole_cents, whole_people
from optimizer.scenario import Scenario
from optimizer.solver import WIDE, LPYear, _solve_lp, solve_pool, solve_quietly, solver_name
from optimizer.verify import check_allocation

MAX_ROUNDS = 25


@dataclass
class PathPool:
    """One pool's path: region × year arrays (rows = regions in input order)."""

    pool: str
    status: Status
    years: list[int]
    totals: list[float]
    shares: list[float]  # the minimum high-potential share of each year
    current: np.ndarray
    label: Text = field(default_factory=lambda: Text("", ""))  # the pool's display name
    kind: str = "headcount"  # "headcount" (whole people) | "budget" (money)
    eligible: np.ndarray | None = None  # bool per region; None = every region
    unit_cost: float | None = None  # headcount pools: CNY per person a year

    def cost(self) -> list[float] | None:
        """The people cost of each year (Σ people × unit cost), None without a unit cost."""
        if self.unit_cost is None or self.allocation is None:
            return None
        return [math.fsum(float(v) for v in self.allocation[:, t]) * self.unit_cost
                for t in range(self.allocation.shape[1])]
    exact: np.ndarray | None = None  # n × T continuous optimum
    allocation: np.ndarray | None = None  # n × T whole people / cents
    hp_share: list[float] = field(default_factory=list)
    rounding: str = ""
    notes: list[Text] = field(default_factory=list)
    diagnosis: Text | None = None
    broken_year: int | None = None
    reachable_share: float | None = None  # in the broken year, with the limits as they are
    required_change: float | None = None  # least uniform year-over-year limit that solves
    info: dict[str, object] = field(default_factory=dict)


@dataclass
class PathResult:
    """A multi-year plan for every pool (headcount, budget, then the added pools)."""

    status: Status
    scenario: Scenario
    years: list[int]
    regions: pd.DataFrame
    scores: pd.DataFrame
    high_potential: np.ndarray
    pools: dict[str, PathPool]


def year_pools(regions: pd.DataFrame, scenario: Scenario, scores: pd.DataFrame,
               hp: np.ndarray, prepared: Prepared | None = None) -> list[dict[str, Pool]]:
    """The pools of each planned year (first year: change limits vs the current allocation;
    later years: only the min/max columns, the year-over-year limit is in the LP).

    A year whose scenario is the prepared one reuses `prepared.pools`.
    """
    out = []
    for t, y in enumerate(scenario.years):
        added = tuple(dataclasses.replace(spec, total=y.totals[spec.name])
                      if spec.name in y.totals else spec for spec in scenario.pools)
        s = scenario.with_changes(
            headcount_total=y.headcount if y.headcount is not None else scenario.headcount_total,
            budget_total=y.budget if y.budget is not None else scenario.budget_total,
            hp_share=y.hp_share if y.hp_share is not None else scenario.hp_share,
            pools=added)
        pools = (dict(prepared.pools) if prepared is not None and s == prepared.scenario
                 else build_pools(regions, scores, hp, s))
        if t > 0:
            pools = {p: pool.with_bounds(None) for p, pool in pools.items()}
            for p in pools:  # keep the change limit on record for the year-over-year terms
                pools[p].delta = scenario.change_limit(p)
        out.append(pools)
    return out


def _lp_years(pools: list[Pool], unit: float, centers: list[np.ndarray]) -> list[LPYear]:
    years = []
    for pool, c in zip(pools, centers, strict=True):
        rules = []
        for r in pool.rules:
            need = pool.rule_min(r) / unit if r.min_share is not None else None
            cap = pool.rule_max(r) / unit if r.max_share is not None else None
            rules.append((r.name, r.mask, need, cap))
        hi = np.minimum(pool.hi, pool.total) / unit
        years.append(LPYear(pool.weight, pool.lo / unit, hi, pool.total / unit, rules, c))
    return years


def solve_path(pools: list[Pool], delta: float | None) -> tuple[Status, list[np.ndarray], dict]:
    """The continuous optimum of one pool over the years (x per year), or INFEASIBLE."""
    if len(pools) == 1:
        sol = solve_pool(pools[0])
        return sol.status, [] if sol.x is None else [sol.x], dict(sol.info)
    n = len(pools[0].lo)
    unit = max(pools[0].total, 1e-9) / max(1, n)
    centers = [np.clip(p.total / unit * p.weight / p.weight.sum(), p.lo / unit,
                       np.minimum(p.hi, p.total) / unit) for p in pools]
    yoy = None if delta is None else (1.0 - delta, 1.0 + delta)
    factors = WIDE
    eps = 0.1
    info: dict[str, object] = {"solver": solver_name(), "lp_solves": 0}
    prev = None
    for _ in range(MAX_ROUNDS):
        status, xs, cols = _solve_lp(_lp_years(pools, unit, centers), factors,
                                     pools[0].name, yoy)
        info["lp_solves"] = int(info["lp_solves"]) + 1  # type: ignore[call-overload]
        info["columns"] = cols
        if status == "infeasible":
            return Status.INFEASIBLE, [], info
        x = np.concatenate(xs)
        change = (np.inf if prev is None else
                  float(np.max(np.abs(x - prev) / np.maximum(np.abs(x), 1e-9))))
        if change < 1e-6 and eps <= 1e-6:
            break
        prev = x
        centers = xs
        # the next bracket: fine where the answer settled, wide enough to reach where it went;
        # an answer that stayed inside the finest bracket (e.g. on the kink at the centre) is
        # only known to that bracket, so narrow it tenfold rather than stop there
        if change == np.inf:
            eps = 0.01
        elif change < eps:
            eps = max(eps / 10, 1e-7)
        else:
            eps = float(np.clip(change / 10, 1e-7, 0.01))
        steps = np.array([100.0, 30.0, 10.0, 3.0, 1.0])
        factors = np.concatenate([1 - eps * steps, [1.0], 1 + eps * steps[::-1], [0.5, 2.0]])
    else:
        raise SolverError(f"the {pools[0].name} path did not settle after {MAX_ROUNDS} LPs")
    info["bracket"] = eps
    return Status.OPTIMAL, [xi * unit for xi in xs], info


def _yoy_bounds(prev: np.ndarray, delta: float | None, integer: bool,
                ) -> tuple[np.ndarray, np.ndarray]:
    nan = np.full(len(prev), np.nan)
    return bounds(prev, nan, nan, delta, integer)


def _round_path(pools: list[Pool], xs: list[np.ndarray], delta: float | None,
                ) -> tuple[list[np.ndarray], str]:
    """Whole people (or cents) per year; an integer program over the years when rounding
    year by year breaks a year-over-year limit or a rule."""
    integer = pools[0].integer
    rounder = whole_people if integer else whole_cents
    out = [rounder(x, p.total, p.weight, p.hp, _hp_min(p)).astype(float)
           for p, x in zip(pools, xs, strict=True)]
    if not integer or _path_ok(pools, out, delta):
        return out, "largest remainder, year by year"
    fixed = _round_path_milp(pools, xs, delta)
    if fixed is None:
        raise SolverError("no whole-person path near the optimum meets every year's rules and "
                          "the year-over-year limits")
    return fixed, "integer program over the years (rounding year by year broke a limit)"


def _path_ok(pools: list[Pool], hs: list[np.ndarray], delta: float | None) -> bool:
    try:
        for t, (p, h) in enumerate(zip(pools, hs, strict=True)):
            check_allocation(p, h, rounded=True)
            if t > 0 and delta is not None:
                lo, hi = _yoy_bounds(hs[t - 1], delta, p.integer)
                live = hs[t - 1] > 0
                tol = 1e-9 * max(1.0, p.total) + (0.0 if p.integer else 0.02)
                if np.any((h < lo - tol)[live]) or np.any((h > hi + tol)[live]):
                    return False
    except VerificationError:
        return False
    return True


def _round_path_milp(pools: list[Pool], xs: list[np.ndarray], delta: float | None,
                     ) -> list[np.ndarray] | None:
    """The whole-person path nearest to the optimum (least Σ|h − x|) that meets every year's
    total, bounds and rules and the docs/model.md whole-person year-over-year bounds computed from
    the previous year's whole people (one person of movement each way; none after 0), each
    region within ±w people of x; w = 1, then wider. None when no such path exists."""
    for window in (1, 3, 10):
        found = _round_path_window(pools, xs, delta, window)
        if found is not None:
            return found
    return None


def _round_path_window(pools: list[Pool], xs: list[np.ndarray], delta: float | None,
                       window: int) -> list[np.ndarray] | None:
    import pulp

    prob = pulp.LpProblem("round_path", pulp.LpMinimize)
    hv, dev, ranges = [], [], []
    for t, (p, x) in enumerate(zip(pools, xs, strict=True)):
        ht, dt, rt = [], [], []
        for r in range(len(x)):
            lb = max(p.lo[r], math.floor(x[r] + 1e-9) - window, 0.0)
            ub = min(p.hi[r], p.total, math.ceil(x[r] - 1e-9) + window)
            if lb > ub:
                return None
            ht.append(prob.add_variable(f"h_{t}_{r}", float(lb), float(ub), pulp.LpInteger))
            dt.append(prob.add_variable(f"d_{t}_{r}", 0.0))
            rt.append((int(lb), int(ub)))
            prob.addConstraint(dt[r] >= ht[r] - x[r], name=f"above_{t}_{r}")
            prob.addConstraint(dt[r] >= x[r] - ht[r], name=f"below_{t}_{r}")
        prob.addConstraint(pulp.lpSum(ht) == round(p.total), name=f"total_{t}")
        for rule in p.rules:
            members = pulp.lpSum(h for h, m in zip(ht, rule.mask, strict=True) if m)
            if rule.min_share is not None:
                prob.addConstraint(members >= p.rule_min(rule),
                                   name=f"{rule.id.with_sense('min').name}_{t}")
            if rule.max_share is not None:
                prob.addConstraint(members <= p.rule_max(rule),
                                   name=f"{rule.id.with_sense('max').name}_{t}")
        if t > 0 and delta is not None:
            for r in range(len(x)):
                # last year's whole people as one of its possible values (one-hot), so that
                # this year's bounds are exactly docs/model.md's whole-person bounds of that value
                lb, ub = ranges[t - 1][r]
                values = np.arange(lb, ub + 1, dtype=float)
                lo_v, hi_v = _yoy_bounds(values, delta, True)
                hi_v = np.where(values > 0, hi_v, rt[r][1])  # none after 0 (as _path_ok)
                lo_v = np.where(values > 0, lo_v, 0.0)
                pick = [prob.add_variable(f"b_{t}_{r}_{int(v)}", 0.0, 1.0, pulp.LpInteger)
                        for v in values]
                prob.addConstraint(pulp.lpSum(pick) == 1, name=f"one_{t}_{r}")
                prob.addConstraint(
                    hv[t - 1][r] == pulp.lpSum(float(v) * b for v, b in zip(values, pick,
                                                                           strict=True)),
                    name=f"prev_{t}_{r}")
                prob.addConstraint(
                    ht[r] >= pulp.lpSum(float(v) * b for v, b in zip(lo_v, pick, strict=True)),
                    name=f"yoy_dn_{t}_{r}")
                prob.addConstraint(
                    ht[r] <= pulp.lpSum(float(v) * b for v, b in zip(hi_v, pick, strict=True)),
                    name=f"yoy_up_{t}_{r}")
        hv.append(ht)
        dev.append(dt)
        ranges.append(rt)
    prob.setObjective(pulp.lpSum(d for dt in dev for d in dt))
    if solve_quietly(prob, time_limit=120) != "Optimal" or prob.sol_status != 1:
        return None
    return [np.array([round(h.varValue) for h in ht], dtype=float) for ht in hv]


def _feasible(pools: list[Pool], delta: float | None) -> bool:
    if any(diagnose(p) is not None for p in pools[:1]):
        return False
    if len(pools) == 1:
        return solve_pool(pools[0]).status == Status.OPTIMAL
    n = len(pools[0].lo)
    unit = max(pools[0].total, 1e-9) / max(1, n)
    centers = [np.clip(p.total / unit * p.weight / p.weight.sum(), p.lo / unit,
                       np.minimum(p.hi, p.total) / unit) for p in pools]
    yoy = None if delta is None else (1.0 - delta, 1.0 + delta)
    status, _, _ = _solve_lp(_lp_years(pools, unit, centers), WIDE, pools[0].name, yoy)
    return status != "infeasible"


def _with_delta(pools: list[Pool], delta: float) -> list[Pool]:
    first = pools[0].with_bounds(delta)
    return [first, *pools[1:]]


def required_change(pools: list[Pool]) -> float | None:
    """The least uniform change limit (to 0.01 %) under which every year's rules can be met.

    None when no change limit is enough (e.g. the min/max columns or totals conflict).
    """
    hi = 0.5
    while not _feasible(_with_delta(pools, hi), hi):
        hi *= 2
        if hi > 1e4:
            return None
    lo = 0.0
    if _feasible(_with_delta(pools, 0.0), 0.0):
        return 0.0
    while hi - lo > 1e-5:
        mid = (lo + hi) / 2
        if _feasible(_with_delta(pools, mid), mid):
            hi = mid
        else:
            lo = mid
    # the least point of the 0.01 % grid that solves: the threshold lies in (lo, hi] and
    # hi − lo < 1e-4, so it is the first grid point above lo or the next one
    d = math.floor(lo * 1e4 + 1e-6) / 1e4
    for _ in range(3):
        d = round(d + 1e-4, 4)
        if _feasible(_with_delta(pools, d), d):
            break
    else:
        d = hi
    if pools[0].integer and not _whole_path(pools, d):
        d = _least_whole_change(pools, d)
    return d


def _whole_path(pools: list[Pool], d: float) -> bool:
    """Whether a whole-person path exists under the change limit d (solve, then round)."""
    trial = _with_delta(pools, d)
    status, xs, _ = solve_path(trial, d)
    if status != Status.OPTIMAL:
        return False
    try:
        _round_path(trial, xs, d)
    except SolverError:
        return False
    return True


def _least_whole_change(pools: list[Pool], start: float) -> float | None:
    """The least 0.01 % grid limit ≥ start with a whole-person path (people move in steps:
    the continuous limit can fall just short of any whole-person path)."""
    lo, step = start, 0.005
    hi = round(start + step, 4)
    while not _whole_path(pools, hi):
        lo, step = hi, step * 2
        hi = round(hi + step, 4)
        if hi > 1e3:
            return None
    while hi - lo > 1e-4 + 1e-12:
        mid = math.ceil((lo + hi) / 2 * 1e4) / 1e4
        if mid >= hi:
            break
        if _whole_path(pools, mid):
            hi = mid
        else:
            lo = mid
    return hi


def _reachable_share(pools: list[Pool], delta: float | None, t: int) -> float | None:
    """The largest high-potential share of year t reachable along the path (bisection)."""
    import dataclasses

    def with_share(s: float) -> list[Pool]:
        p = pools[t]
        rules = [dataclasses.replace(r, min_share=s) if r.is_hp else r for r in p.rules]
        return [*pools[:t], dataclasses.replace(p, rules=rules)]

    if not _feasible(with_share(0.0)[: t + 1], delta):
        return None
    lo, hi = 0.0, 1.0
    while hi - lo > 1e-5:
        mid = (lo + hi) / 2
        if _feasible(with_share(mid)[: t + 1], delta):
            lo = mid
        else:
            hi = mid
    return math.floor(lo * 1e4) / 1e4


def _eligible(pool: Pool) -> np.ndarray | None:
    """The regions that may receive the pool (None: every region)."""
    mask = getattr(pool, "eligible", None)
    if mask is None:
        return None
    mask = np.asarray(mask, dtype=bool)
    return None if mask.all() else mask


def _subset(pool: Pool, keep: np.ndarray) -> Pool:
    """The pool on the regions `keep` only (the others are fixed at 0: ineligible)."""
    def cut(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else np.asarray(a)[keep]

    rules = [dataclasses.replace(r, mask=np.asarray(r.mask, dtype=bool)[keep])
             for r in pool.rules]
    changes: dict[str, object] = {
        "regions": [r for r, k in zip(pool.regions, keep, strict=True) if k],
        "current": cut(pool.current), "weight": cut(pool.weight), "lo": cut(pool.lo),
        "hi": cut(pool.hi), "hp": cut(pool.hp), "rules": rules,
        "min_col": cut(pool.min_col), "max_col": cut(pool.max_col)}
    if getattr(pool, "eligible", None) is not None:
        changes["eligible"] = np.ones(int(keep.sum()), dtype=bool)
    return dataclasses.replace(pool, **changes)


def _scatter(xs: list[np.ndarray], keep: np.ndarray | None) -> list[np.ndarray]:
    """Per-year allocations on the kept regions back on every region (0 elsewhere)."""
    if keep is None:
        return xs
    out = []
    for x in xs:
        full = np.zeros(len(keep), dtype=float)
        full[keep] = x
        out.append(full)
    return out


def run_path(regions: pd.DataFrame, scenario: Scenario, regions_file: str = "regions",
             progress: Callable[[str], None] | None = None) -> PathResult:
    """Plan every pool over the scenario's years (see the module docstring)."""
    say = progress or (lambda _m: None)
    prep = prepare(regions, scenario, regions_file)
    resolved, scores, hp = prep.scenario, prep.scores, prep.hp
    years = [y.year for y in resolved.years]
    by_year = year_pools(regions, resolved, scores, hp, prep)
    out: dict[str, PathPool] = {}
    for p in resolved.pool_names():
        say(f"solving the {p} path")
        full = [yp[p] for yp in by_year]
        delta = resolved.change_limit(p)
        shares = [_hp_min(q) for q in full]
        # several years: the LP on the eligible regions only (the others are 0 every year);
        # one year is the single-year engine on the whole pool, as `run_plan` solves it
        keep = _eligible(full[0]) if len(full) > 1 else None
        pools = full if keep is None else [_subset(q, keep) for q in full]
        label = getattr(full[0], "label", None) or _builtin_label(p)
        pp = PathPool(p, Status.INFEASIBLE, years, [q.total for q in full], shares,
                      full[0].current, label, getattr(full[0], "kind", p), _eligible(full[0]),
                      getattr(full[0], "unit_cost", None))
        name_en, name_zh = label.en, label.zh
        status, xs, info = solve_path(pools, delta)
        pp.info = info
        if status != Status.OPTIMAL:
            # which year breaks: the first prefix of years that has no plan
            t_bad = next((t for t in range(len(pools))
                          if not _feasible(pools[: t + 1], delta)), len(pools) - 1)
            pp.broken_year = years[t_bad]
            pp.reachable_share = _reachable_share(pools, delta, t_bad)
            pp.required_change = required_change(pools)
            need = shares[t_bad] if t_bad < len(shares) else 0.0
            lim = f"±{pct(delta)} a year" if delta is not None else "the limits"
            lim_zh = f"每年 ±{pct(delta)}" if delta is not None else "现有限制"
            reach = pct(pp.reachable_share) if pp.reachable_share is not None else "—"
            req = pct(pp.required_change) if pp.required_change is not None else "—"
            first = diagnose(full[0]) if t_bad == 0 else None
            if pp.reachable_share is None:
                req_txt = (f" The least change limit that meets every year is ±{req}."
                           if pp.required_change is not None else "")
                req_zh = (f"满足各年要求所需的最小变动限制为 ±{req}。"
                          if pp.required_change is not None else "")
                pp.diagnosis = Text(
                    f"{years[t_bad]} breaks: " + (first.text.en if first is not None else
                    f"the {name_en} total of {years[t_bad]} is out of reach when each region "
                    f"may change at most {lim}.") + req_txt,
                    f"{years[t_bad]} 年无法满足：" + (first.text.zh if first is not None else
                    f"在{lim_zh}的限制下无法达到{name_zh} {years[t_bad]} 年的总量。") + req_zh)
                out[p] = pp
                continue
            pp.diagnosis = Text(
                f"{years[t_bad]} breaks: under {lim} the high-potential regions can reach at "
                f"most {reach} of the {name_en} in {years[t_bad]}; the plan needs {pct(need)}. "
                f"The least change limit that reaches every year's target is ±{req}.",
                f"{years[t_bad]} 年无法满足：在{lim_zh}的限制下，高潜力区域 {years[t_bad]} 年最多"
                f"达到{name_zh}的 {reach}；计划要求 {pct(need)}。"
                f"达到各年目标所需的最小变动限制为 ±{req}。")
            out[p] = pp
            continue
        try:
            alloc, how = _round_path(pools, xs, delta)
        except SolverError:
            # the continuous path exists, but no whole-person path keeps every limit
            pp.required_change = required_change(pools)
            req = pct(pp.required_change) if pp.required_change is not None else "—"
            lim = f"±{pct(delta)}" if delta is not None else "—"
            pp.diagnosis = Text(
                f"{name_en}: no whole-person path meets every year's rules within the {lim} "
                f"year-over-year limit (people move in whole steps, the plan would need "
                f"fractions of a person). The least change limit with a whole-person path "
                f"is ±{req}.",
                f"{name_zh}：在 {lim} 的年度变动限制内，没有满足各年规则的整人路径（人员只能整数"
                f"调整）。存在整人路径的最小变动限制为 ±{req}。")
            out[p] = pp
            continue
        if not _path_ok(pools, alloc, delta):
            raise VerificationError(f"the {p} path breaks a rule or a year-over-year limit")
        xs, alloc = _scatter(xs, keep), _scatter(alloc, keep)
        if not _path_ok(full, alloc, delta):  # and on every region, ineligible ones at 0
            raise VerificationError(f"the {p} path breaks a rule or a year-over-year limit")
        pp.status = Status.OPTIMAL
        pp.exact = np.column_stack(xs)
        pp.allocation = np.column_stack(alloc)
        pp.rounding = how
        pp.hp_share = [float(a[hp].sum() / a.sum()) if a.sum() > 0 else 0.0 for a in alloc]
        pp.required_change = required_change(pools)
        if delta is not None:
            at_limit = []
            prev = full[0].current
            for t, x in enumerate(xs):
                live = prev > 0 if keep is None else (prev > 0) & keep
                if t == 0:  # the first year's bounds, whole people where it counts
                    lo, hi = full[0].lo, full[0].hi
                else:
                    lo, hi = (1 - delta) * prev, (1 + delta) * prev
                tol = 1e-6 * np.maximum(1.0, x)
                at = (np.abs(x - hi) <= tol) | (np.abs(x - lo) <= tol)
                at_limit.append(int(np.sum(live & at)))
                prev = x
            pp.notes.append(Text(
                "regions at their change limit each year: " + ", ".join(
                    f"{y}: {k}" for y, k in zip(years, at_limit, strict=True)),
                "每年处于变动限制的区域数：" + "，".join(
                    f"{y}: {k}" for y, k in zip(years, at_limit, strict=True))))
        out[p] = pp
    status = (Status.OPTIMAL if all(q.status == Status.OPTIMAL for q in out.values())
              else Status.INFEASIBLE)
    return PathResult(status, resolved, years, regions, scores, hp, out)


def _builtin_label(pool: str) -> Text:
    return {"headcount": Text("headcount", "人员"), "budget": Text("budget", "预算")}.get(
        pool, Text(pool, pool))


def _hp_min(pool: Pool) -> float:
    """The pool's minimum high-potential share (0 when it has no such rule)."""
    return next((float(r.min_share or 0.0) for r in pool.rules if r.is_hp), 0.0)


def path_table(result: PathResult) -> pd.DataFrame:
    """Region × year table for every pool (wide), in input order: per pool current_<pool>,
    then <pool>_<year> for each year (whole people as integers for headcount pools).

    `attrs["kinds"]` maps each pool column to its pool's kind ("headcount" | "budget") and
    `attrs["pools"]` to its pool's name.
    """
    cols: dict[str, object] = {"region": result.regions["region"].astype(str).to_numpy(),
                               "high_potential": result.high_potential}
    kinds: dict[str, str] = {}
    owner: dict[str, str] = {}
    for p, pp in result.pools.items():
        if pp.allocation is None:
            raise ValueError("the path has no allocation (infeasible)")
        whole = pp.kind == "headcount"
        cols[f"current_{p}"] = pp.current.astype(np.int64) if whole else pp.current
        for t, y in enumerate(result.years):
            v = pp.allocation[:, t]
            cols[f"{p}_{y}"] = v.astype(np.int64) if whole else v
        for c in (f"current_{p}", *(f"{p}_{y}" for y in result.years)):
            kinds[c], owner[c] = pp.kind, p
    table = pd.DataFrame(cols)
    # which pool each column belongs to and its kind, so that writers need not parse names
    table.attrs["kinds"] = kinds
    table.attrs["pools"] = owner
    return table


def path_summary(result: PathResult) -> dict[str, object]:
    """The path as JSON-ready data (status, per pool per year totals, shares, allocations)."""
    pools = {}
    for p, pp in result.pools.items():
        d: dict[str, object] = {
            "label": {"en": pp.label.en, "zh": pp.label.zh}, "kind": pp.kind,
            "status": str(pp.status), "years": result.years, "totals": pp.totals,
            "hp_required": pp.shares, "hp_share": pp.hp_share or None,
            "rounding": pp.rounding or None, "broken_year": pp.broken_year,
            "reachable_share": pp.reachable_share, "required_change": pp.required_change,
            "diagnosis": None if pp.diagnosis is None else {"en": pp.diagnosis.en,
                                                             "zh": pp.diagnosis.zh},
            "notes": [{"en": n.en, "zh": n.zh} for n in pp.notes],
            "solver": pp.info,
        }
        if pp.unit_cost is not None:
            d["unit_cost"] = pp.unit_cost
            d["cost"] = pp.cost()
        if pp.allocation is not None:
            d["allocation"] = {
                str(y): {str(r): (int(v) if pp.kind == "headcount" else round(float(v), 2))
                         for r, v in zip(result.regions["region"], pp.allocation[:, t],
                                         strict=True)}
                for t, y in enumerate(result.years)}
        pools[p] = d
    return {"status": str(result.status), "years": result.years, "pools": pools}


def describe(result: PathResult, lang: str = "en") -> list[str]:
    """Lines for the CLI: per pool the share reached each year, or what breaks."""
    lines = []
    for p, pp in result.pools.items():
        head = {"headcount": ("Headcount", "人员"), "budget": ("Budget", "预算")}.get(
            p, (pp.label.en, pp.label.zh))
        name = head[1] if lang == "zh" else head[0]
        if pp.status == Status.OPTIMAL:
            shares = ", ".join(f"{y}: {s:.1%} (≥ {r:.0%})"
                               for y, s, r in zip(pp.years, pp.hp_share, pp.shares, strict=True))
            lines.append(f"{name}: {'最优' if lang == 'zh' else 'optimal'} — {shares}")
            for n in pp.notes:
                lines.append(f"  - {n(lang)}")
            if pp.required_change is not None:
                label = ("达到各年目标所需的最小变动限制" if lang == "zh"
                         else "least change limit that meets every year")
                lines.append(f"  - {label}: ±{pct(pp.required_change)}")
            cost = pp.cost()
            if cost is not None:
                label = "每年人力成本" if lang == "zh" else "people cost a year"
                money = ((lambda c: f"{c / 1e4:,.2f} 万元") if lang == "zh"
                         else (lambda c: f"CNY {c / 1e6:,.2f} m"))
                lines.append(f"  - {label}: " + ("，" if lang == "zh" else ", ").join(
                    f"{y}: {money(c)}" for y, c in zip(pp.years, cost, strict=True)))
        else:
            assert pp.diagnosis is not None
            lines.append(f"{name}: {'不可行' if lang == 'zh' else 'infeasible'} — "
                         f"{pp.diagnosis(lang)}")
    return lines

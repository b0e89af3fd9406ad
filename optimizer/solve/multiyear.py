"""The multi-year engine: one LP over all years (the proportional-fairness objective summed
over the years), each region's allocation within the change limit of the previous planned
year (the first year: of the current allocation), then whole people / cents per year.

With several years the optimality conditions couple the years, so instead of the
single-year polish the breakpoints are refined around the LP's answer until it stops
moving (each refinement narrows the brackets tenfold; the answer is then exact to the
last bracket, about 1e-6 relative, far inside docs/model.md's 1e-3). A one-year path is
the single-year engine itself (`solve_pool`), so the two can never disagree.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from optimizer.errors import SolverError, VerificationError
from optimizer.model.pools import Pool, bounds
from optimizer.model.result import Status
from optimizer.solve.backend import WIDE, LPYear, solve_lp, solve_quietly, solver_name
from optimizer.solve.rounding import whole_cents, whole_people
from optimizer.solve.solver import solve_pool
from optimizer.solve.verify import check_allocation

MAX_ROUNDS = 25


def hp_min(pool: Pool) -> float:
    """The pool's minimum high-potential share (0 when it has no such rule)."""
    return next((float(r.min_share or 0.0) for r in pool.rules if r.is_hp), 0.0)


def lp_years(pools: list[Pool], unit: float, centers: list[np.ndarray]) -> list[LPYear]:
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
        status, xs, cols = solve_lp(lp_years(pools, unit, centers), factors,
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


def yoy_bounds(prev: np.ndarray, delta: float | None, integer: bool,
                ) -> tuple[np.ndarray, np.ndarray]:
    nan = np.full(len(prev), np.nan)
    return bounds(prev, nan, nan, delta, integer)


def round_path(pools: list[Pool], xs: list[np.ndarray], delta: float | None,
                ) -> tuple[list[np.ndarray], str]:
    """Whole people (or cents) per year; an integer program over the years when rounding
    year by year breaks a year-over-year limit or a rule."""
    integer = pools[0].integer
    rounder = whole_people if integer else whole_cents
    out = [rounder(x, p.total, p.weight, p.hp, hp_min(p)).astype(float)
           for p, x in zip(pools, xs, strict=True)]
    if not integer or path_ok(pools, out, delta):
        return out, "largest remainder, year by year"
    fixed = _round_path_milp(pools, xs, delta)
    if fixed is None:
        raise SolverError("no whole-person path near the optimum meets every year's rules and "
                          "the year-over-year limits")
    return fixed, "integer program over the years (rounding year by year broke a limit)"


def path_ok(pools: list[Pool], hs: list[np.ndarray], delta: float | None) -> bool:
    try:
        for t, (p, h) in enumerate(zip(pools, hs, strict=True)):
            check_allocation(p, h, rounded=True)
            if t > 0 and delta is not None:
                lo, hi = yoy_bounds(hs[t - 1], delta, p.integer)
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
                lo_v, hi_v = yoy_bounds(values, delta, True)
                hi_v = np.where(values > 0, hi_v, rt[r][1])  # none after 0 (as path_ok)
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
    if solve_quietly(prob, time_limit=120) != Status.OPTIMAL:
        return None
    return [np.array([round(h.varValue) for h in ht], dtype=float) for ht in hv]


def eligible_regions(pool: Pool) -> np.ndarray | None:
    """The regions that may receive the pool (None: every region)."""
    mask = getattr(pool, "eligible", None)
    if mask is None:
        return None
    mask = np.asarray(mask, dtype=bool)
    return None if mask.all() else mask


def subset(pool: Pool, keep: np.ndarray) -> Pool:
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


def scatter(xs: list[np.ndarray], keep: np.ndarray | None) -> list[np.ndarray]:
    """Per-year allocations on the kept regions back on every region (0 elsewhere)."""
    if keep is None:
        return xs
    out = []
    for x in xs:
        full = np.zeros(len(keep), dtype=float)
        full[keep] = x
        out.append(full)
    return out

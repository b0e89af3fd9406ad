"""Solve one pool: the proportional-fairness problem, exactly.

    maximise Σ S[r]·ln x[r]  s.t.  Σ x = X,  share rules,  lo ≤ x ≤ hi

`ln` is concave and separable, so its piecewise-linear interpolation is an LP with one
bounded column per segment and no binaries (`optimizer.solve.backend`). Breakpoints are
placed geometrically around a guess of each region's allocation (few, well placed: a
uniform fine grid makes the solver time explode). The LP's answer tells which bounds and
which rules are active; the optimality conditions on that active set are then solved to
machine precision and checked (`optimizer.solve.polish`). When that fails, breakpoints are
refined around the answer and the LP solved again.

A nearby problem (the same pool without a rule, with a rule moved, with bounds lifted:
the prices in explain/prices.py) is solved from the optimum's active set in the same way,
with no LP unless that does not settle (`solve_pool(..., start=x)`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from optimizer.errors import SolverError
from optimizer.model.pools import Pool, ShareRule
from optimizer.model.result import Status
from optimizer.solve.backend import FIRST, NARROW, LPYear, solve_lp, solve_quietly, solver_name
from optimizer.solve.polish import polish

MAX_LP_ROUNDS = 4
TINY = 1e-6  # an amount (in units of the average allocation) that is 0 within HiGHS's tolerances


@dataclass
class Solution:
    """The continuous optimum of a pool, with the prices that certify it."""

    status: Status
    x: np.ndarray | None = None
    price: np.ndarray | None = None  # π per region: a free region gets S/π
    total_price: float | None = None  # λ, the price of the total
    rule_price: dict[str, float] = field(default_factory=dict)  # ν ≥ 0 of the binding rules
    at_lo: np.ndarray | None = None
    at_hi: np.ndarray | None = None
    info: dict[str, object] = field(default_factory=dict)


def rule_amounts(pool: Pool, rule: ShareRule) -> tuple[float | None, float | None]:
    """(least, most) amount a rule allows in its group; None where it sets no limit."""
    need = pool.rule_min(rule) if rule.min_share is not None else None
    cap = pool.rule_max(rule) if rule.max_share is not None else None
    return need, cap


def _forced_zero(pool: Pool, rules: list[ShareRule], lo: np.ndarray, hi: np.ndarray,
                 total: float) -> np.ndarray:
    """Regions with lo = 0 that get 0 in every feasible plan, found from upper limits on
    their largest feasible amount: e.g. a rule that needs exactly what the other regions'
    minimums leave (as at the largest feasible share), or Σ lo = X. Such a region has
    ln 0 = −∞ in every plan: it is fixed at 0 and left out of the objective (docs/model.md)."""
    tol = 1e-9 * max(1.0, total)
    lo_sum = float(lo.sum())
    ub = np.minimum(hi, total - (lo_sum - lo))
    for r in rules:
        need, cap = rule_amounts(pool, r)
        g = r.mask
        g_lo = float(lo[g].sum())
        if need is not None:  # outside the group: the total less the group's need, others' lo
            o_lo = lo_sum - g_lo
            ub = np.where(g, ub, np.minimum(ub, total - max(need, g_lo) - (o_lo - lo)))
        if cap is not None:  # inside the group: the cap less the other members' minimums
            ub = np.where(g, np.minimum(ub, cap - (g_lo - lo)), ub)
    return (lo <= 0) & (ub <= tol)


def _zero_in_every_plan(lo: np.ndarray, hi: np.ndarray, total: float,
                       rules: list[tuple[np.ndarray, float | None, float | None]],
                       candidates: np.ndarray) -> np.ndarray:
    """Which candidate regions (lo = 0) get 0 in every feasible plan, however rules combine.

    One LP: maximise Σ min(x[r], ε[r]) over the candidates. A region that can be positive
    in some plan is positive in the average of such plans, so at the optimum exactly the
    regions that are 0 in every plan get 0 — within HiGHS's tolerances, so a region counts
    as 0 below a thousandth of its ε[r] = min(ε, its upper bound) (a region whose upper
    bound is tiny, e.g. 1 CNY beside millions, is still told apart).
    """
    import pulp

    eps = 1e-3
    prob = pulp.LpProblem("zero_in_every_plan", pulp.LpMaximize)
    xs = [prob.add_variable(f"x_{i}", float(lo[i]), None if not np.isfinite(hi[i])
                            else float(hi[i])) for i in range(len(lo))]
    idx = np.nonzero(candidates)[0]
    room = np.minimum(eps, hi)
    ts = {i: prob.add_variable(f"t_{i}", 0.0, float(room[i])) for i in idx}
    prob.setObjective(pulp.lpSum(ts.values()))
    for i, t in ts.items():
        prob.addConstraint(t <= xs[i], name=f"t_le_x_{i}")
    prob.addConstraint(pulp.lpSum(xs) == total, name="total")
    for j, (mask, need, cap) in enumerate(rules):
        members = pulp.lpSum(x for x, m in zip(xs, mask, strict=True) if m)
        if need is not None:
            prob.addConstraint(members >= need, name=f"rule_{j}_min")
        if cap is not None:
            prob.addConstraint(members <= cap, name=f"rule_{j}_max")
    out = np.zeros(len(lo), dtype=bool)
    if solve_quietly(prob) != Status.OPTIMAL:
        return out
    for i, t in ts.items():
        out[i] = (t.varValue or 0.0) <= 1e-3 * room[i]
    return out


def solve_pool(pool: Pool, rules: list[ShareRule] | None = None, *,
               start: np.ndarray | None = None) -> Solution:
    """The exact continuous optimum of a pool (rules default to the pool's own).

    `start`: a plan of a nearby problem (e.g. the optimum with one more rule, or with a
    rule moved). The optimality conditions are then solved from its active set first —
    bounds and rules added or released until they hold, no LP — and the LP is solved only
    if that does not settle. The answer is the same either way: the conditions, once they
    hold, fix the unique optimum.
    """
    rules = pool.rules if rules is None else rules
    total = pool.total
    lo, hi = pool.lo.astype(float).copy(), pool.hi.astype(float).copy()
    # regions that are 0 in every feasible plan are fixed at 0 and left out of the objective
    # a weight-0 region (outside the pool's eligibility: lo = hi = 0) is out of the
    # objective; one with room between its bounds would make the optimum ambiguous, so it
    # is held at its minimum
    hi = np.where(pool.weight > 0, hi, np.minimum(hi, lo))
    zero = hi <= 0
    for r in rules:
        if r.max_share is not None and pool.rule_max(r) <= 0:
            zero |= r.mask
        if r.min_share is not None and pool.rule_min(r) >= total > 0:
            zero |= ~r.mask
    if total <= 0:
        zero[:] = True
    zero |= _forced_zero(pool, rules, lo, hi, total)
    if np.any(lo[zero] > 0) or np.any(lo > hi):
        return Solution(Status.INFEASIBLE, info={"reason": "bounds"})
    hi[zero] = 0.0
    var = ~zero
    n = int(var.sum())
    x_full = np.zeros(len(lo))
    info: dict[str, object] = {"solver": solver_name(), "lp_solves": 0, "columns": 0}
    if n == 0:
        if total > 1e-9:
            return Solution(Status.INFEASIBLE, info={"reason": "no region can receive"})
        return Solution(Status.OPTIMAL, x_full, np.full(len(lo), np.inf), 0.0, {},
                        lo > 0, np.zeros(len(lo), bool), info)

    # scale: allocations around 1 and slopes around S, inside the solver's tolerances
    unit = total / n
    w, l_s, h_s = pool.weight[var], lo[var] / unit, np.minimum(hi[var], total) / unit
    x_total = total / unit
    lp_rules = []
    polish_rules = []
    for r in rules:
        need, cap = rule_amounts(pool, r)
        m = r.mask[var]
        lp_rules.append((r, m, None if need is None else need / unit,
                         None if cap is None else cap / unit))
        if need is not None and need > 0:
            polish_rules.append((m, 1.0, need / unit, r.name))
        if cap is not None:
            polish_rules.append((m, -1.0, cap / unit, r.name))
    if l_s.sum() > x_total * (1 + 1e-9) + 1e-9 or h_s.sum() < x_total * (1 - 1e-9) - 1e-9:
        return Solution(Status.INFEASIBLE, info={"reason": "bounds"})

    center = np.clip(x_total * w / w.sum(), l_s, h_s)
    factors = FIRST
    polished = None
    x_lp = center
    if start is not None and len(start) == len(lo):
        x0 = np.clip(np.asarray(start, dtype=float)[var] / unit, l_s, h_s)
        polished = polish(w, l_s, h_s, x_total, [(m, s, a) for m, s, a, _ in polish_rules], x0)
        if polished is not None:
            info["warm_start"] = True
            x_lp = polished[0]
    for _ in range(0 if polished is not None else MAX_LP_ROUNDS):
        year = LPYear(w, l_s, h_s, x_total,
                      [(r.name, m, need, cap) for r, m, need, cap in lp_rules], center)
        status, xs, cols = solve_lp([year], factors, pool.name)
        x_lp = xs[0] if xs else x_lp
        info["lp_solves"] = int(info["lp_solves"]) + 1  # type: ignore[call-overload]
        info["columns"] = max(int(info["columns"]), cols)  # type: ignore[call-overload]
        if status == "infeasible":
            return Solution(Status.INFEASIBLE, info={**info, "reason": "LP infeasible"})
        polished = polish(w, l_s, h_s, x_total, [(m, s, a) for m, s, a, _ in polish_rules],
                           x_lp)
        # a region (lo = 0) left within the solver's tolerance of 0 may be one the rules
        # together hold at 0 in every plan; the polish then meets the conditions only
        # approximately (huge prices), so look before accepting it
        x_try = x_lp if polished is None else polished[0]
        stuck = (l_s <= 0) & (x_try <= TINY)
        if polished is not None and not stuck.any():
            break
        if stuck.any():
            # regions the rules together hold at 0 (ln 0 = −∞): fix them at 0, solve again
            forced = _zero_in_every_plan(l_s, h_s, x_total,
                                         [(m, need, cap) for _, m, need, cap in lp_rules], stuck)
            if forced.any():
                keep = ~forced
                full_idx = np.nonzero(var)[0]
                zero[full_idx[forced]] = True
                hi[zero] = 0.0
                var = ~zero
                w, l_s, h_s = w[keep], l_s[keep], h_s[keep]
                x_lp = x_lp[keep]
                lp_rules = [(r, m[keep], need, cap) for r, m, need, cap in lp_rules]
                polish_rules = [(m[keep], sg, a, name) for m, sg, a, name in polish_rules]
                polished = None
            elif polished is not None:
                break
        center, factors = x_lp, NARROW
    if polished is None:
        raise SolverError(f"the {pool.name} pool: the optimality conditions could not be met "
                          f"after {MAX_LP_ROUNDS} LP solves")
    x, price, lam, nu, at_lo, at_hi = polished
    if not info.get("warm_start"):
        info["lp_max_rel_dev"] = float(np.max(np.abs(x_lp - x) / np.maximum(x, 1e-12)))
    x_full[var] = x * unit
    price_full = np.full(len(lo), np.inf)
    price_full[var] = price / unit
    lo_full = zero & (pool.lo <= 0)
    lo_full[var] = at_lo
    hi_full = np.zeros(len(lo), bool)
    hi_full[var] = at_hi
    rule_price: dict[str, float] = {}
    for (_, _, _, name), v in zip(polish_rules, nu, strict=True):
        if v > 0:
            rule_price[name] = rule_price.get(name, 0.0) + float(v) / unit
    return Solution(Status.OPTIMAL, x_full, price_full, lam / unit, rule_price, lo_full, hi_full,
                    info)


def round_within_rules(pool: Pool, x: np.ndarray, first: np.ndarray, unit: float = 1.0,
                       ) -> np.ndarray | None:
    """Whole units nearest to x (least Σ|h − x|) that meet the total, bounds and every rule.

    Used when the largest-remainder rounding (`first`) breaks a group rule that the
    continuous optimum meets. A small integer program over the fractional regions first:
    each may move to ⌊x⌋ − 1 … ⌈x⌉ + 1 within its bounds; the others keep `first`. When
    that has no solution — a region whose optimum is whole (to float noise) may have to
    give a unit to a rule, e.g. two groups that each need ⌈X/3⌉ cents when the third
    region's exact share is whole — every region may move, the same way.
    `unit` is 1 for people and 0.01 for cents. Returns None when no such rounding exists.
    """
    v = x / unit
    lo = np.ceil(pool.lo / unit - 1e-9)
    hi = np.where(np.isfinite(pool.hi), np.floor(pool.hi / unit + 1e-9), np.inf)
    base = np.floor(v + 1e-9)
    fixed = (first / unit).round()
    frac_idx = np.nonzero(v - base > 1e-9)[0]
    out = _round_ip(pool, v, base, fixed, frac_idx, lo, hi, unit)
    if out is None:
        out = _round_ip(pool, v, base, fixed, np.nonzero(hi > lo)[0], lo, hi, unit)
    return None if out is None else out * unit


def _round_ip(pool: Pool, v: np.ndarray, base: np.ndarray, fixed: np.ndarray,
              movable: np.ndarray, lo: np.ndarray, hi: np.ndarray, unit: float,
              ) -> np.ndarray | None:
    """The integer program of `round_within_rules` with the regions `movable` free to move
    (in units); None when it has no solution."""
    import pulp

    prob = pulp.LpProblem(f"round_{pool.name}", pulp.LpMinimize)
    h, dev = {}, {}
    for i in movable:
        lb = max(lo[i], base[i] - 1)
        ub = min(hi[i], base[i] + 2)
        h[i] = prob.add_variable(f"h_{i}", float(lb), float(ub), pulp.LpInteger)
        dev[i] = prob.add_variable(f"d_{i}", 0.0)
    # least total distance from the continuous optimum; ties to the higher score
    prob.setObjective(pulp.lpSum(dev[i] - 1e-7 * pool.weight[i] * h[i] for i in movable))
    for i in movable:
        prob.addConstraint(dev[i] >= h[i] - v[i], name=f"above_{i}")
        prob.addConstraint(dev[i] >= v[i] - h[i], name=f"below_{i}")
    rest = np.ones(len(v), bool)
    rest[movable] = False
    prob.addConstraint(pulp.lpSum(h.values()) == round(pool.total / unit) - fixed[rest].sum(),
                       name=f"total_{pool.name}")
    for rule in pool.rules:
        members = [h[i] for i in movable if rule.mask[i]]
        base_sum = fixed[rule.mask & rest].sum()
        if rule.min_share is not None:
            need = np.ceil(pool.rule_min(rule) / unit - 1e-9)
            prob.addConstraint(pulp.lpSum(members) >= need - base_sum, name=f"{rule.name}_min")
        if rule.max_share is not None:
            cap = np.floor(pool.rule_max(rule) / unit + 1e-9)
            prob.addConstraint(pulp.lpSum(members) <= cap - base_sum, name=f"{rule.name}_max")
    if solve_quietly(prob, time_limit=120) != Status.OPTIMAL:
        return None
    out = fixed.copy()
    for i in movable:
        out[i] = round(h[i].varValue)
    return out

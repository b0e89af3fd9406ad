"""What a multi-year path needs when it breaks: the first year without a plan, the share
the high-potential regions can reach there, and the least year-over-year change limit
that meets every year (a bisection over whole basis points)."""

from __future__ import annotations

import math

import numpy as np

from optimizer.errors import SolverError
from optimizer.explain.diagnose import diagnose
from optimizer.model.pools import Pool, pct
from optimizer.model.result import Status
from optimizer.solve.backend import WIDE, solve_lp
from optimizer.solve.multiyear import lp_years, round_path, solve_path
from optimizer.solve.solver import solve_pool
from optimizer.words import Text


def path_feasible(pools: list[Pool], delta: float | None) -> bool:
    if any(diagnose(p) is not None for p in pools[:1]):
        return False
    if len(pools) == 1:
        return solve_pool(pools[0]).status == Status.OPTIMAL
    n = len(pools[0].lo)
    unit = max(pools[0].total, 1e-9) / max(1, n)
    centers = [np.clip(p.total / unit * p.weight / p.weight.sum(), p.lo / unit,
                       np.minimum(p.hi, p.total) / unit) for p in pools]
    yoy = None if delta is None else (1.0 - delta, 1.0 + delta)
    status, _, _ = solve_lp(lp_years(pools, unit, centers), WIDE, pools[0].name, yoy)
    return status != "infeasible"


def _with_delta(pools: list[Pool], delta: float) -> list[Pool]:
    first = pools[0].with_bounds(delta)
    return [first, *pools[1:]]


def required_change(pools: list[Pool]) -> float | None:
    """The least uniform change limit (to 0.01 %) under which every year's rules can be met.

    None when no change limit is enough (e.g. the min/max columns or totals conflict).
    """
    hi = 0.5
    while not path_feasible(_with_delta(pools, hi), hi):
        hi *= 2
        if hi > 1e4:
            return None
    lo = 0.0
    if path_feasible(_with_delta(pools, 0.0), 0.0):
        return 0.0
    while hi - lo > 1e-5:
        mid = (lo + hi) / 2
        if path_feasible(_with_delta(pools, mid), mid):
            hi = mid
        else:
            lo = mid
    # the least point of the 0.01 % grid that solves: the threshold lies in (lo, hi] and
    # hi − lo < 1e-4, so it is the first grid point above lo or the next one
    d = math.floor(lo * 1e4 + 1e-6) / 1e4
    for _ in range(3):
        d = round(d + 1e-4, 4)
        if path_feasible(_with_delta(pools, d), d):
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
        round_path(trial, xs, d)
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


def reachable_share(pools: list[Pool], delta: float | None, t: int) -> float | None:
    """The largest high-potential share of year t reachable along the path (bisection)."""
    import dataclasses

    def with_share(s: float) -> list[Pool]:
        p = pools[t]
        rules = [dataclasses.replace(r, min_share=s) if r.is_hp else r for r in p.rules]
        return [*pools[:t], dataclasses.replace(p, rules=rules)]

    if not path_feasible(with_share(0.0)[: t + 1], delta):
        return None
    lo, hi = 0.0, 1.0
    while hi - lo > 1e-5:
        mid = (lo + hi) / 2
        if path_feasible(with_share(mid)[: t + 1], delta):
            lo = mid
        else:
            hi = mid
    return math.floor(lo * 1e4) / 1e4


def broken_year_text(label: Text, year: int, delta: float | None, need: float,
                     reach: float | None, req: float | None, first: Text | None) -> Text:
    """Why a path breaks in `year`: the share the high-potential regions can reach there
    under the limits (`reach`), or — when no share is reachable — the first year's own
    diagnosis (`first`) or the total out of reach; with the least change limit (`req`)."""
    lim = f"±{pct(delta)} a year" if delta is not None else "the limits"
    lim_zh = f"每年 ±{pct(delta)}" if delta is not None else "现有限制"
    req_s = pct(req) if req is not None else "—"
    if reach is None:
        known = req is not None
        req_en = f" The least change limit that meets every year is ±{req_s}." if known else ""
        req_zh = f"满足各年要求所需的最小变动限制为 ±{req_s}。" if known else ""
        return Text(
            f"{year} breaks: " + (first.en if first is not None else
            f"the {label.en} total of {year} is out of reach when each region "
            f"may change at most {lim}.") + req_en,
            f"{year} 年无法满足：" + (first.zh if first is not None else
            f"在{lim_zh}的限制下无法达到{label.zh} {year} 年的总量。") + req_zh)
    return Text(
        f"{year} breaks: under {lim} the high-potential regions can reach at most "
        f"{pct(reach)} of the {label.en} in {year}; the plan needs {pct(need)}. "
        f"The least change limit that reaches every year's target is ±{req_s}.",
        f"{year} 年无法满足：在{lim_zh}的限制下，高潜力区域 {year} 年最多达到{label.zh}的 "
        f"{pct(reach)}；计划要求 {pct(need)}。达到各年目标所需的最小变动限制为 ±{req_s}。")


def no_whole_path_text(label: Text, delta: float | None, req: float | None) -> Text:
    """Why a continuous path has no whole-person version within the limits."""
    req_s = pct(req) if req is not None else "—"
    lim = f"±{pct(delta)}" if delta is not None else "—"
    return Text(
        f"{label.en}: no whole-person path meets every year's rules within the {lim} "
        f"year-over-year limit (people move in whole steps, the plan would need fractions "
        f"of a person). The least change limit with a whole-person path is ±{req_s}.",
        f"{label.zh}：在 {lim} 的年度变动限制内，没有满足各年规则的整人路径（人员只能整数"
        f"调整）。存在整人路径的最小变动限制为 ±{req_s}。")

"""Plans over several years (`run_path`): every pool of the scenario — the added ones
([[pools]]) included — from the one `prepare` step, through the multi-year engine
(`optimizer.solve.multiyear`), with an explanation when a year breaks
(`optimizer.explain.path`).

A `[[years]]` entry may set any pool's total by the pool's name (`director = 5`); a pool
without one keeps its own total. A year's `hp_share` applies to every pool that does not
set its own `hp_share` (such a pool keeps its own share every year). An added pool's
ineligible regions are fixed at 0 in every year and left out of its LP.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimizer.errors import SolverError, VerificationError
from optimizer.explain.diagnose import diagnose
from optimizer.explain.path import (
    broken_year_text,
    no_whole_path_text,
    path_feasible,
    reachable_share,
    required_change,
)
from optimizer.inputs.scenario import Scenario
from optimizer.model.pools import Pool, build_pools
from optimizer.model.prepare import Prepared, prepare
from optimizer.model.result import Status, pool_label
from optimizer.solve.multiyear import (
    eligible_regions,
    hp_min,
    path_ok,
    round_path,
    scatter,
    solve_path,
    subset,
)
from optimizer.words import Text


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


def run_path(regions: pd.DataFrame, scenario: Scenario, regions_file: str = "regions",
             progress: Callable[[str], None] | None = None) -> PathResult:
    """Plan every pool over the scenario's years (see the module docstring)."""
    say = progress or (lambda _m: None)
    prep = prepare(regions, scenario, regions_file)
    resolved, hp = prep.scenario, prep.hp
    years = [y.year for y in resolved.years]
    by_year = year_pools(regions, resolved, prep.scores, hp, prep)
    out: dict[str, PathPool] = {}
    for p in resolved.pool_names():
        say(f"solving the {p} path")
        out[p] = plan_pool_path(p, [yp[p] for yp in by_year], years,
                                resolved.change_limit(p), hp)
    status = (Status.OPTIMAL if all(q.status == Status.OPTIMAL for q in out.values())
              else Status.INFEASIBLE)
    return PathResult(status, resolved, years, regions, prep.scores, hp, out)


def plan_pool_path(p: str, full: list[Pool], years: list[int], delta: float | None,
                   hp: np.ndarray) -> PathPool:
    """One pool's path over the years (`full`: its pool of each year): solved, rounded,
    checked on every region, or explained where it breaks."""
    label = getattr(full[0], "label", None) or pool_label(p)
    pp = PathPool(p, Status.INFEASIBLE, years, [q.total for q in full],
                  [hp_min(q) for q in full], full[0].current, label,
                  getattr(full[0], "kind", p), eligible_regions(full[0]),
                  getattr(full[0], "unit_cost", None))
    # several years: the LP on the eligible regions only (the others are 0 every year);
    # one year is the single-year engine on the whole pool, as `run_plan` solves it
    keep = eligible_regions(full[0]) if len(full) > 1 else None
    pools = full if keep is None else [subset(q, keep) for q in full]
    status, xs, pp.info = solve_path(pools, delta)
    if status != Status.OPTIMAL:
        # which year breaks: the first prefix of years that has no plan
        t_bad = next((t for t in range(len(pools))
                      if not path_feasible(pools[: t + 1], delta)), len(pools) - 1)
        pp.broken_year = years[t_bad]
        pp.reachable_share = reachable_share(pools, delta, t_bad)
        pp.required_change = required_change(pools)
        first = diagnose(full[0]) if t_bad == 0 else None
        pp.diagnosis = broken_year_text(label, years[t_bad], delta, pp.shares[t_bad],
                                        pp.reachable_share, pp.required_change,
                                        first.text if first is not None else None)
        return pp
    try:
        alloc, pp.rounding = round_path(pools, xs, delta)
    except SolverError:
        # the continuous path exists, but no whole-person path keeps every limit
        pp.required_change = required_change(pools)
        pp.diagnosis = no_whole_path_text(label, delta, pp.required_change)
        return pp
    if not path_ok(pools, alloc, delta):
        raise VerificationError(f"the {p} path breaks a rule or a year-over-year limit")
    xs, alloc = scatter(xs, keep), scatter(alloc, keep)
    if not path_ok(full, alloc, delta):  # and on every region, ineligible ones at 0
        raise VerificationError(f"the {p} path breaks a rule or a year-over-year limit")
    pp.status = Status.OPTIMAL
    pp.exact = np.column_stack(xs)
    pp.allocation = np.column_stack(alloc)
    pp.hp_share = [float(a[hp].sum() / a.sum()) if a.sum() > 0 else 0.0 for a in alloc]
    pp.required_change = required_change(pools)
    if delta is not None:
        pp.notes.append(_at_limit_note(full[0], xs, years, delta, keep))
    return pp


def _at_limit_note(first: Pool, xs: list[np.ndarray], years: list[int], delta: float,
                   keep: np.ndarray | None) -> Text:
    """How many regions sit at their change limit each year."""
    at_limit = []
    prev = first.current
    for t, x in enumerate(xs):
        live = prev > 0 if keep is None else (prev > 0) & keep
        if t == 0:  # the first year's bounds, whole people where it counts
            lo, hi = first.lo, first.hi
        else:
            lo, hi = (1 - delta) * prev, (1 + delta) * prev
        tol = 1e-6 * np.maximum(1.0, x)
        at = (np.abs(x - hi) <= tol) | (np.abs(x - lo) <= tol)
        at_limit.append(int(np.sum(live & at)))
        prev = x
    pairs = [f"{y}: {k}" for y, k in zip(years, at_limit, strict=True)]
    return Text("regions at their change limit each year: " + ", ".join(pairs),
                "每年处于变动限制的区域数：" + "，".join(pairs))




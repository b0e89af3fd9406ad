"""The whole flow for one scenario: score → pools → solve → round → verify → explain."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from optimizer.diagnose import diagnose
from optimizer.errors import VerificationError
from optimizer.explain import objective, rule_prices
from optimizer.pools import Pool, build_pools
from optimizer.result import Diagnosis, PlanResult, PoolResult, Status, Text
from optimizer.rounding import whole_cents, whole_people
from optimizer.scenario import Scenario
from optimizer.scoring import high_potential, resolve_hp_rule, score
from optimizer.solver import solve_pool
from optimizer.verify import check_allocation


def resolve(regions: pd.DataFrame, scenario: Scenario) -> Scenario:
    """The scenario with its defaults filled in from the table (totals, high-potential rule)."""
    return scenario.with_changes(
        headcount_total=int(scenario.headcount_total if scenario.headcount_total is not None
                            else regions["current_headcount"].sum()),
        budget_total=round(float(scenario.budget_total if scenario.budget_total is not None
                                 else regions["current_budget"].sum()), 2),
        hp_rule=resolve_hp_rule(regions, scenario),
    )


def _share(x: np.ndarray, hp: np.ndarray) -> float | None:
    s = float(x.sum())
    return float(x[hp].sum()) / s if s > 0 else None


def solve_one(pool: Pool, hp_share: float, explain: bool = True) -> PoolResult:
    """Solve, round, verify and explain one pool."""
    target = pool.total * pool.weight / pool.weight.sum()
    res = PoolResult(
        pool=pool.name, status=Status.INFEASIBLE, total=pool.total, integer=pool.integer,
        current=pool.current, lo=pool.lo, hi=pool.hi, target=target, hp_required=hp_share,
        hp_share_current=_share(pool.current, pool.hp), hp_share_target=_share(target, pool.hp))
    diag = diagnose(pool)
    if diag is not None:
        res.diagnosis = diag
        return res
    sol = solve_pool(pool)
    res.solver = dict(sol.info)
    if sol.status != Status.OPTIMAL or sol.x is None:
        names = ", ".join(r.label.en for r in pool.rules)
        names_zh = "、".join(r.label.zh for r in pool.rules)
        res.diagnosis = Diagnosis(
            Text(f"the share rules ({names}) cannot all be met together within the regions' "
                 f"limits.", f"各份额规则（{names_zh}）在区域限制内无法同时满足。"),
            conflicts=[r.name for r in pool.rules], max_share=None)
        return res
    check_allocation(pool, sol.x, rounded=False)
    rounder = whole_people if pool.integer else whole_cents
    alloc = rounder(sol.x, pool.total, pool.weight, pool.hp, hp_share)
    if pool.integer:
        alloc = alloc.astype(np.int64)
    check_allocation(pool, alloc.astype(float), rounded=True)
    res.status = Status.OPTIMAL
    res.exact = sol.x
    res.allocation = alloc
    res.hp_share = _share(alloc.astype(float), pool.hp)
    res.objective = objective(pool, alloc.astype(float))
    res.solver["objective_continuous"] = objective(pool, sol.x)
    try:  # the current allocation scored the same way, where it meets the rules
        check_allocation(pool, pool.current.astype(float), rounded=True)
        res.objective_current = objective(pool, pool.current.astype(float))
    except VerificationError:
        res.objective_current = None
    if explain:
        res.binding = rule_prices(pool, sol)
    return res


def run_plan(regions: pd.DataFrame, scenario: Scenario, regions_file: str = "regions",
             explain: bool = True, progress: Callable[[str], None] | None = None) -> PlanResult:
    """Allocate headcount and budget for a validated regions table and scenario.

    Raises InputError for problems only visible after scoring (e.g. a threshold rule
    when market potential does not vary), SolverError and VerificationError for bugs.
    """
    say = progress or (lambda _msg: None)
    say(f"scoring {len(regions):,} regions")
    resolved = resolve(regions, scenario)
    scores, notes = score(regions, resolved)
    hp = high_potential(regions, scores, resolved, regions_file)
    pools = build_pools(regions, scores, hp, resolved)
    results = {}
    for name, pool in pools.items():
        say(f"solving the {name} pool")
        results[name] = solve_one(pool, resolved.hp_share, explain)
    status = (Status.OPTIMAL if all(r.status == Status.OPTIMAL for r in results.values())
              else Status.INFEASIBLE)
    return PlanResult(status=status, scenario=resolved, regions=regions, scores=scores,
                      high_potential=hp, pools=results, notes=notes, regions_file=regions_file)


def max_share_all(result: PlanResult) -> float | None:
    """The largest high-potential share every infeasible pool allows (to apply in one click)."""
    shares = [p.diagnosis.max_share for p in result.pools.values()
              if p.diagnosis is not None and p.diagnosis.max_share is not None]
    if not shares or any(p.diagnosis is not None and p.diagnosis.max_share is None
                         for p in result.pools.values()):
        return None
    return min(shares)

"""The whole flow for one scenario: score → pools → solve → round → verify → explain."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from optimizer.errors import SolverError, VerificationError
from optimizer.explain.diagnose import diagnose
from optimizer.explain.prices import objective, rule_prices
from optimizer.explain.relax import conflict_set, prepared_solves, relaxations
from optimizer.inputs.scenario import Scenario
from optimizer.model.pools import Pool
from optimizer.model.prepare import Prepared, prepare, resolve
from optimizer.model.result import Diagnosis, PlanResult, PoolResult, Status
from optimizer.solve.rounding import cents_allocation, whole_people
from optimizer.solve.solver import round_within_rules, solve_pool
from optimizer.solve.verify import check_allocation, meets_rules
from optimizer.words import Text


def _share(x: np.ndarray, hp: np.ndarray) -> float | None:
    s = float(x.sum())
    return float(x[hp].sum()) / s if s > 0 else None


def solve_one(pool: Pool, hp_share: float, explain: bool = True) -> PoolResult:
    """Solve, round, verify and explain one pool."""
    target = pool.total * pool.weight / pool.weight.sum()
    res = PoolResult(
        pool=pool.name, status=Status.INFEASIBLE, total=pool.total, integer=pool.integer,
        current=pool.current, lo=pool.lo, hi=pool.hi, target=target, hp_required=hp_share,
        hp_share_current=_share(pool.current, pool.hp), hp_share_target=_share(target, pool.hp),
        label=pool.label, kind=pool.kind, unit_cost=pool.unit_cost,
        eligible=None if pool.eligible.all() else pool.eligible.copy())
    diag = diagnose(pool)
    if diag is not None:
        found = conflict_set(pool)
        if found is not None:
            # the conflict in the planner's words names every rule involved (e.g. the
            # change limit that "their limits" stands for)
            diag.conflicts = found[0]
            diag.text = Text(f"{diag.text.en} {found[1].en}", f"{diag.text.zh}{found[1].zh}")
        res.diagnosis = diag
        return res
    sol = solve_pool(pool)
    res.solver = dict(sol.info)
    if sol.status != Status.OPTIMAL or sol.x is None:
        found = conflict_set(pool)
        names, text = found if found is not None else (
            [r.id for r in pool.rules],
            Text("the rules cannot all be met together.", "各规则无法同时满足。"))
        res.diagnosis = Diagnosis(text, conflicts=names, max_share=None)
        return res
    check_allocation(pool, sol.x, rounded=False)
    cents = None  # budget pools: the amounts in whole cents, exact at any magnitude
    if pool.integer:
        alloc = whole_people(sol.x, pool.total, pool.weight, pool.hp, hp_share)
    else:
        cents = cents_allocation(sol.x, pool.total, pool.weight, pool.hp, hp_share)
        alloc = cents / 100.0
    if not meets_rules(pool, alloc.astype(float)):
        # group rules beyond the high-potential one: the nearest rounding that meets them all
        exact = round_within_rules(pool, sol.x, alloc.astype(float),
                                   1.0 if pool.integer else 0.01)
        if exact is None:
            raise SolverError(f"the {pool.name} pool: no whole-unit allocation near the "
                              "optimum meets every group rule")
        alloc = exact
        cents = None if pool.integer else np.rint(exact * 100).astype(np.int64)
        res.solver["rounding"] = "integer program (group rules)"
    if pool.integer:
        alloc = np.round(alloc).astype(np.int64)
    check_allocation(pool, alloc.astype(float), rounded=True, cents=cents)
    res.status = Status.OPTIMAL
    res.exact = sol.x
    res.allocation = alloc
    res.cents = cents
    if pool.unit_cost is not None:
        res.cost = alloc.astype(float) * pool.unit_cost
    res.hp_share = _share(alloc.astype(float), pool.hp)
    res.objective = objective(pool, alloc.astype(float))
    res.objective_continuous = objective(pool, sol.x)
    # never worse than today: the current allocation, scored the same way, where it is a
    # plan this pool allows (same total, bounds and rules)
    try:
        check_allocation(pool, pool.current.astype(float), rounded=True)
        res.current_meets_rules = True
    except VerificationError:
        res.current_meets_rules = False
    res.objective_current = objective(pool, pool.current.astype(float))
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
    prep = prepare(regions, scenario, regions_file)
    return solve_prepared(prep, explain, say)


def solve_prepared(prep: Prepared, explain: bool = True,
                   progress: Callable[[str], None] | None = None) -> PlanResult:
    """Solve every pool of a prepared scenario; the nearest relaxations when one fails."""
    say = progress or (lambda _msg: None)
    resolved = prep.scenario
    results = {}
    for name, pool in prep.pools.items():
        say(f"solving the {name} pool")
        results[name] = solve_one(pool, resolved.pool_hp_share(name), explain)
    status = (Status.OPTIMAL if all(r.status == Status.OPTIMAL for r in results.values())
              else Status.INFEASIBLE)
    relaxed = []
    if status == Status.INFEASIBLE:
        say("looking for the nearest plans that solve")
        relaxed = relaxations(prep)
    return PlanResult(status=status, scenario=resolved, regions=prep.regions,
                      scores=prep.scores, high_potential=prep.hp, pools=results,
                      notes=prep.plan_notes, regions_file=prep.regions_file,
                      relaxations=relaxed)


def _pools(regions: pd.DataFrame, scenario: Scenario, regions_file: str = "regions",
           ) -> tuple[Scenario, dict[str, Pool]]:
    """The resolved scenario and its pools (kept for the benchmarks; see `prepare`)."""
    prep = prepare(regions, scenario, regions_file)
    return prep.scenario, prep.pools


def check_feasible(regions: pd.DataFrame, scenario: Scenario) -> bool:
    """Whether every pool of the scenario has a plan (no optimisation, one small LP each)."""
    return prepared_solves(prepare(regions, scenario))


__all__ = ["Prepared", "check_feasible", "prepare", "resolve", "run_plan", "solve_one",
           "solve_prepared"]

"""The front of the flow, done once: resolve → score → high-potential set → pools.

Every caller that plans (`plan.run_plan`, `path.run_path`, `sensitivity.plan_draw`,
`replan.replan`, the `validate` command) starts from `prepare`; the relaxation search,
which tries many nearby scenarios, uses `reprepare`, which keeps the scores (they depend
only on the regions table and the weights, indicators and floor) and rebuilds the pools.
See docs/architecture.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.inputs.regions import money_total
from optimizer.inputs.scenario import Scenario
from optimizer.model.pools import Pool, build_pools
from optimizer.model.scoring import high_potential, resolve_hp_rule, score
from optimizer.words import Text


def resolve(regions: pd.DataFrame, scenario: Scenario) -> Scenario:
    """The scenario with its defaults filled in from the table (totals, high-potential rule)."""
    return scenario.with_changes(
        headcount_total=int(scenario.headcount_total if scenario.headcount_total is not None
                            else regions["current_headcount"].sum()),
        budget_total=round(float(scenario.budget_total if scenario.budget_total is not None
                                 else money_total(regions["current_budget"])), 2),
        hp_rule=resolve_hp_rule(regions, scenario),
    )


@dataclass(frozen=True, eq=False)
class Prepared:
    """What every solve starts from: the resolved scenario, the scores, the high-potential
    set and the pools, for one validated regions table."""

    regions: pd.DataFrame
    regions_file: str
    scenario: Scenario  # resolved: totals and the high-potential rule filled in
    scores: pd.DataFrame  # region, the dimensions, score, weight (see scoring.score)
    notes: tuple[Text, ...]  # what reading the table, the scenario and scoring found
    hp: np.ndarray  # bool per region: the high-potential set
    pools: dict[str, Pool]  # headcount, budget, then the added pools in scenario order
    score_notes: tuple[Text, ...] = ()  # the last part of `notes`: what scoring found

    @property
    def plan_notes(self) -> list[Text]:
        """Every note a plan reports: `notes`, then what building each pool noticed."""
        return [*self.notes, *(n for pool in self.pools.values() for n in pool.notes)]


def _score_inputs(s: Scenario) -> tuple[object, ...]:
    """The parts of a scenario the scores depend on."""
    return (s.weights, s.indicators, s.floor)


def prepare(regions: pd.DataFrame, scenario: Scenario, regions_file: str = "regions",
            ) -> Prepared:
    """Resolve the scenario, score the table, find the high-potential set, build the pools.

    Raises InputError for problems only visible after scoring (e.g. a threshold rule when
    market potential does not vary).
    """
    resolved = resolve(regions, scenario)
    scores, score_notes = score(regions, resolved)
    return _finish(regions, regions_file, resolved, scores, tuple(score_notes))


def reprepare(prep: Prepared, scenario: Scenario) -> Prepared:
    """`prepare` for another scenario on the same table, reusing the scores when the
    weights, indicators and floor are the same (a change of totals, shares, limits,
    group rules or pool definitions)."""
    resolved = resolve(prep.regions, scenario)
    if _score_inputs(resolved) != _score_inputs(prep.scenario):
        return prepare(prep.regions, scenario, prep.regions_file)
    return _finish(prep.regions, prep.regions_file, resolved, prep.scores, prep.score_notes)


def _finish(regions: pd.DataFrame, regions_file: str, resolved: Scenario,
            scores: pd.DataFrame, score_notes: tuple[Text, ...]) -> Prepared:
    hp = high_potential(regions, scores, resolved, regions_file)
    pools = build_pools(regions, scores, hp, resolved)
    # what reading the table and the scenario found, then what scoring found
    notes = (*regions.attrs.get("read_notes", []), *resolved.notes, *score_notes)
    return Prepared(regions, regions_file, resolved, scores, notes, hp, pools, score_notes)

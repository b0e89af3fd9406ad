"""What a plan run returns: typed results shared by the CLI, the exports and the app."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer.inputs.scenario import Scenario
from optimizer.words import Text

if TYPE_CHECKING:
    from optimizer.model.rules import RuleId


class Status(StrEnum):
    """Outcome of a pool or of a whole plan."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    INVALID = "invalid"  # a run that stopped at its inputs (summary.json only)
    ERROR = "error"  # a run that stopped at an internal error (summary.json only)


@dataclass
class RulePrice:
    """A rule that binds in the optimum, and what it costs.

    `name` is the constraint's name (e.g. "hp_share_budget", "upper_bounds_budget",
    "group_2_budget"; built by `optimizer.model.rules.RuleId`);
    `moved` is the amount the rule moves into (positive) or out of its regions compared
    with the plan solved without it; `share_without` the group's share without the rule;
    `per_point` the change of the group's allocation and of the objective when the rule
    moves by one percentage point; `delta` region-by-region change vs the plan without it.
    """

    name: str
    kind: str  # "share_min" | "share_max" | "lower_bound" | "upper_bound"
    text: Text
    regions: list[str] = field(default_factory=list)
    moved: float | None = None
    share_without: float | None = None
    objective_cost: float | None = None  # objective lost to the rule (≥ 0)
    per_point_objective: float | None = None
    delta: pd.Series | None = None  # region -> allocation with rule minus without


@dataclass(init=False)
class Diagnosis:
    """Why a pool has no feasible plan: the rules that conflict and the way out.

    `conflict_ids` are the conflicting rules (`optimizer.model.rules.RuleId`); `conflicts` their
    constraint names, as the outputs show them. Either may be set; a plain string given as
    a conflict is a rule known only by that name.
    """

    text: Text  # the conflict, in planner words, with numbers
    conflict_ids: list[RuleId]  # the rules that conflict
    max_share: float | None  # the largest high-potential share the limits allow, if any
    details: dict[str, float]

    def __init__(self, text: Text, conflicts: list[RuleId] | list[str],
                 max_share: float | None, details: dict[str, float] | None = None) -> None:
        """A diagnosis; `conflicts` as rule identities (or names)."""
        self.text = text
        self.conflicts = conflicts  # type: ignore[assignment]
        self.max_share = max_share
        self.details = {} if details is None else details

    @property
    def conflicts(self) -> list[str]:
        """The conflicting rules' constraint names (e.g. "hp_share_budget_min")."""
        return [r.name for r in self.conflict_ids]

    @conflicts.setter
    def conflicts(self, rules: list[RuleId] | list[str]) -> None:
        from optimizer.model.rules import named

        self.conflict_ids = [named(r) if isinstance(r, str) else r for r in rules]


BUILTIN_LABELS = {"headcount": ("headcount", "人员"), "budget": ("budget", "预算")}
_NO_LABEL = Text("", "")


def pool_label(name: str, label: str | None = None) -> Text:
    """The display name of a pool in both languages: the built-ins' own, else its label."""
    if name in BUILTIN_LABELS and label is None:
        return Text(*BUILTIN_LABELS[name])
    return Text(label or name, label or name)


@dataclass
class PoolResult:
    """One pool (headcount, budget or an added pool) solved, or diagnosed as infeasible.

    Arrays are aligned with the regions table's rows (input order). `label` is the
    display name, `kind` "headcount" (whole people) or "budget" (money); `eligible` is
    the regions that may receive the pool (None: all); `cost` the allocation times
    `unit_cost` (CNY) where the pool has one.
    """

    pool: str
    status: Status
    total: float
    integer: bool
    current: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    target: np.ndarray  # score-proportional allocation with no rule: X·S/ΣS
    exact: np.ndarray | None = None  # continuous optimum x*
    allocation: np.ndarray | None = None  # whole people, or CNY rounded to 0.01
    cents: np.ndarray | None = None  # budget pools: the allocation in whole cents (int64, exact)
    hp_required: float = 0.0  # the rule's minimum share ρ
    hp_share: float | None = None  # share reached by the allocation
    hp_share_current: float | None = None
    hp_share_target: float | None = None  # share of the score-proportional allocation
    objective: float | None = None  # Σ S ln x of the allocation
    objective_current: float | None = None  # same for the current allocation (if feasible)
    objective_continuous: float | None = None  # Σ S ln x* before rounding
    current_meets_rules: bool = False  # the current allocation meets total, bounds, rules
    binding: list[RulePrice] = field(default_factory=list)
    diagnosis: Diagnosis | None = None
    solver: dict[str, object] = field(default_factory=dict)  # name, LP solves, time, columns
    label: Text = _NO_LABEL  # default: the built-in's name, else the pool's name
    kind: str = ""  # default: "headcount" when integer, else "budget"
    unit_cost: float | None = None
    eligible: np.ndarray | None = None  # bool per region; None = every region
    cost: np.ndarray | None = None  # allocation × unit_cost (CNY), where unit_cost is set

    def __post_init__(self) -> None:
        if self.label is _NO_LABEL or self.label == _NO_LABEL:
            self.label = pool_label(self.pool)
        if not self.kind:
            self.kind = "headcount" if self.integer else "budget"


@dataclass
class PlanResult:
    """A whole run: scores, each pool's result and the resolved scenario.

    `pools` is ordered headcount, budget, then the added pools in scenario order.
    """

    status: Status
    scenario: Scenario  # as resolved: totals and the high-potential rule filled in
    regions: pd.DataFrame  # the validated input table (input order)
    scores: pd.DataFrame  # region, the three dimension scores (NaN = none), score, weight
    high_potential: np.ndarray  # bool per region
    pools: dict[str, PoolResult]
    notes: list[Text] = field(default_factory=list)  # e.g. indicators left out (constant)
    regions_file: str = "regions"
    relaxations: list[Any] = field(default_factory=list)  # relax.Relaxation, when infeasible

    def max_share(self) -> float | None:
        """The largest high-potential share every infeasible pool allows (one-click fix).

        None when the plan is optimal or when some pool fails for another reason (or is
        an added pool with its own hp_share, which [high_potential] share does not set).
        """
        failed = [n for n, p in self.pools.items() if p.status != Status.OPTIMAL]
        for n in failed:  # a pool with its own hp_share is not fixed by [high_potential]
            spec = self.scenario.pool_spec(n)
            if spec is not None and spec.hp_share is not None:
                return None
        diags = [self.pools[n].diagnosis for n in failed]
        if not diags or any(d is None or d.max_share is None for d in diags):
            return None
        return min(d.max_share for d in diags if d is not None and d.max_share is not None)

"""The scenario: totals, weights, indicators, the high-potential rule, limits, group rules,
added pools, years — as frozen types.

Read from TOML by `optimizer.inputs.scenario_read` (validated once, every problem reported
with its key) and written back by `optimizer.inputs.scenario_write`, so that a scenario
saved from the app runs unchanged on the CLI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optimizer.words import Text

DIMENSIONS: tuple[str, ...] = ("market_potential", "customer_value", "internal_capability")
POOLS: tuple[str, ...] = ("headcount", "budget")
DIRECTIONS: tuple[str, ...] = ("higher", "lower")
HP_RULES: tuple[str, ...] = ("column", "threshold")

# The nine default indicators: name -> (dimension, direction).
DEFAULT_INDICATORS: dict[str, tuple[str, str]] = {
    "market_size": ("market_potential", "higher"),
    "growth_rate": ("market_potential", "higher"),
    "competition_intensity": ("market_potential", "lower"),
    "customer_ltv": ("customer_value", "higher"),
    "repurchase_rate": ("customer_value", "higher"),
    "referral_score": ("customer_value", "higher"),
    "team_capability": ("internal_capability", "higher"),
    "resource_reserve": ("internal_capability", "higher"),
    "collaboration_efficiency": ("internal_capability", "higher"),
}


@dataclass(frozen=True)
class Indicator:
    """One scored column: its dimension, whether higher or lower is better, its weight."""

    dimension: str
    direction: str = "higher"
    weight: float = 1.0


@dataclass(frozen=True)
class PoolSpec:
    """An added pool ([[pools]] in the scenario): a role or a budget line.

    `kind` is "headcount" (whole people) or "budget" (money to the cent). Column names
    (`current`, `min`, `max`, `eligible_column`) refer to the regions table; `current`
    None means 0 in every region. `[limits]` does not apply: `max_change` is the pool's
    own change limit. `weights` is partial: a dimension it does not name keeps the
    scenario's weight.
    """

    name: str
    kind: str
    total: float
    label: str | None = None
    current: str | None = None
    min: str | None = None
    max: str | None = None
    max_change: float | None = None
    unit_cost: float | None = None
    eligible: tuple[str, ...] | None = None
    eligible_column: str | None = None
    eligible_values: tuple[str, ...] | None = None
    hp_share: float | None = None
    weights: dict[str, float] | None = None

    def display(self) -> str:
        """The name the planner reads: the label, else the name."""
        return self.label or self.name

    @property
    def integer(self) -> bool:
        """Whether the pool is allocated in whole people."""
        return self.kind == "headcount"


@dataclass(frozen=True)
class GroupRule:
    """A named set of regions with a minimum and/or maximum share or amount of some pools.

    Members are chosen by exactly one of: a list of region names; a column and the
    values it must take; or a dimension score at or above a threshold. With `per` (a
    column), the rule is expanded when the pools are built into one group per distinct
    value of that column (within the members, when a selection is given), named
    "<name>: <value>". Amounts are in the pool's unit (whole for headcount pools).
    """

    name: str
    pools: tuple[str, ...] = POOLS
    min_share: float | None = None
    max_share: float | None = None
    regions: tuple[str, ...] | None = None
    column: str | None = None
    values: tuple[str, ...] | None = None
    score: str | None = None
    min_score: float | None = None
    min_amount: float | None = None
    max_amount: float | None = None
    per: str | None = None


@dataclass(frozen=True)
class YearPlan:
    """One year of a multi-year plan: its totals and its minimum high-potential share.

    A None total or share means the scenario's own ([totals], [high_potential] share);
    an added pool missing from `totals` keeps its own total.
    """

    year: int
    headcount: int | None = None
    budget: float | None = None
    hp_share: float | None = None
    totals: dict[str, float] = field(default_factory=dict)  # added pools' totals, by name


@dataclass(frozen=True)
class Threshold:
    """An alarm on one indicator of the actuals: red past `limit`, amber past the amber line."""

    column: str
    alarm_when: str  # "above" | "below"
    limit: float
    amber: float | None = None  # None: within 10 % of the limit on the safe side

    def amber_line(self) -> float:
        """Where amber starts: the given value, else 10 % of the limit on its safe side."""
        if self.amber is not None:
            return self.amber
        step = 0.1 * abs(self.limit)
        return self.limit - step if self.alarm_when == "above" else self.limit + step


# The source plan's risk thresholds: churn above 15 %, digital tool use below 30 %,
# cross-department response slower than 5 days.
DEFAULT_THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("churn_rate", "above", 0.15),
    Threshold("digital_tool_use", "below", 0.30),
    Threshold("response_days", "above", 5.0),
)
QUARTERS = 4


@dataclass(frozen=True)
class Scenario:
    """A fully validated scenario. `None` totals mean: the sum of the current column."""

    headcount_total: int | None = None
    budget_total: float | None = None
    weights: dict[str, float] = field(default_factory=lambda: {d: 1 / 3 for d in DIMENSIONS})
    indicators: dict[str, Indicator] = field(
        default_factory=lambda: {n: Indicator(d, r) for n, (d, r) in DEFAULT_INDICATORS.items()}
    )
    floor: float = 0.1
    hp_share: float = 0.60
    hp_rule: str | None = None  # None: "column" when the table has high_potential, else "threshold"
    hp_threshold: float = 0.5
    max_change: float | None = None
    headcount_max_change: float | None = None
    budget_max_change: float | None = None
    groups: tuple[GroupRule, ...] = ()
    pools: tuple[PoolSpec, ...] = ()  # added pools ([[pools]]), beside headcount and budget
    years: tuple[YearPlan, ...] = ()  # a multi-year plan; change limits apply year over year
    # the quarterly cycle: budget phasing per pool (4 shares summing to 1; default equal),
    # review alarms (a [[thresholds]] table replaces the default for its column), re-plan
    phasing: dict[str, tuple[float, ...]] = field(default_factory=dict)
    thresholds: tuple[Threshold, ...] = DEFAULT_THRESHOLDS
    allow_headcount_reduction: bool = False
    # what reading noticed (e.g. a GB18030 file, a total of 0); not part of the scenario
    notes: tuple[Text, ...] = field(default=(), compare=False, repr=False)

    def pool_names(self) -> tuple[str, ...]:
        """Every pool: headcount, budget, then the added pools in scenario order."""
        return (*POOLS, *(p.name for p in self.pools))

    def pool_spec(self, name: str) -> PoolSpec | None:
        """The added pool called `name`; None for the built-ins (and unknown names)."""
        for p in self.pools:
            if p.name == name:
                return p
        return None

    def change_limit(self, pool: str) -> float | None:
        """The change limit δ that applies to `pool` (its own, else the common one).

        An added pool has only its own `max_change`: [limits] does not apply to it.
        """
        if pool not in POOLS:
            spec = self.pool_spec(pool)
            return spec.max_change if spec is not None else None
        own = self.headcount_max_change if pool == "headcount" else self.budget_max_change
        return own if own is not None else self.max_change

    def total(self, pool: str) -> float | None:
        """The scenario's total for `pool`, None when it defaults to the current sum."""
        if pool == "headcount":
            return self.headcount_total
        if pool == "budget":
            return self.budget_total
        spec = self.pool_spec(pool)
        return spec.total if spec is not None else None

    def pool_kind(self, pool: str) -> str:
        """"headcount" (whole people) or "budget" (money) for any pool of the scenario."""
        if pool in POOLS:
            return pool
        spec = self.pool_spec(pool)
        if spec is None:
            raise KeyError(pool)
        return spec.kind

    def pool_hp_share(self, pool: str) -> float:
        """The minimum high-potential share of `pool` (its own, else [high_potential])."""
        spec = self.pool_spec(pool)
        if spec is not None and spec.hp_share is not None:
            return spec.hp_share
        return self.hp_share

    def pool_weights(self, pool: str) -> dict[str, float]:
        """The dimension weights of `pool`, relative (summing to 1)."""
        w = dict(self.weights)
        spec = self.pool_spec(pool)
        if spec is not None and spec.weights:
            w.update(spec.weights)
        top = max(w.values(), default=0.0)
        if top <= 0:
            return {d: 1 / len(DIMENSIONS) for d in DIMENSIONS}
        scaled = {d: w.get(d, 0.0) / top for d in DIMENSIONS}
        total = math.fsum(scaled.values())
        return {d: v / total for d, v in scaled.items()}

    def with_changes(self, **changes: Any) -> Scenario:
        """A copy with some fields replaced (the app's sliders use this)."""
        return replace(self, **changes)


# the keys of each [section] of the scenario file (read and written alike)
SECTION_KEYS: dict[str, tuple[str, ...]] = {
    "totals": POOLS,
    "weights": DIMENSIONS,
    "scoring": ("floor",),
    "high_potential": ("share", "rule", "threshold"),
    "limits": ("max_change", "budget_max_change", "headcount_max_change"),
}

"""One typed identity per rule: what it is (kind, pool, group, region, sense), its constraint
name and its label for the planner.

Every constraint name the engine emits (`hp_share_budget`, `group_2_1_director_max`,
`bounds_budget[华东]`, …) is built here, from a `RuleId`, and code that needs to know what a
rule is reads the `RuleId`, never the string. The names are stable: they appear in
`summary.json`, the diagnosis and the prices.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from optimizer.words import Text

if TYPE_CHECKING:
    import pandas as pd

    from optimizer.inputs.scenario import Scenario

#: the kinds of rule, in the order a pool's rules are listed
KINDS = ("hp_share", "group", "total", "lower_bounds", "upper_bounds", "bounds",
         "change_limit", "min_max_columns", "eligible", "spent", "named")

_KIND_LABELS = {
    "total": ("Total", "总量"),
    "lower_bounds": ("Regions' lower limits", "区域下限"),
    "upper_bounds": ("Regions' upper limits", "区域上限"),
    "min_max_columns": ("Min/max columns", "最小/最大值列"),
    "eligible": ("Who may receive it", "可分配范围"),
    "spent": ("Spending to date", "已支出/在岗"),
}


@dataclass(frozen=True)
class RuleId:
    """What a rule is.

    kind: one of `KINDS` — "hp_share" (the high-potential rule), "group" (a [[groups]] rule;
    `group` its place in [[groups]] from 1, `part` the part of a `per` rule from 1),
    "total", "lower_bounds" / "upper_bounds" (the regions' limits together), "bounds" (one
    region's own limits; `region` names it), "change_limit", "min_max_columns", "eligible"
    (who may receive the pool), "spent" (spending to date as a floor), or "named" (a rule
    known only by the name in `text`, e.g. one a test builds by hand).
    sense: "min" or "max" for one side of a share rule, None for the rule as a whole.
    """

    kind: str
    pool: str = ""
    group: int | None = None
    part: int | None = None
    region: str | None = None
    sense: str | None = None
    text: str | None = None  # the name of a "named" rule

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown rule kind {self.kind!r}")
        if self.sense not in (None, "min", "max"):
            raise ValueError(f"unknown sense {self.sense!r}")
        if self.kind == "group" and self.group is None:
            raise ValueError("a group rule needs its number")

    @property
    def name(self) -> str:
        """The constraint name, e.g. "hp_share_budget", "group_1_2_director_max"."""
        if self.kind == "named":
            base = self.text or ""
        elif self.kind == "group":
            part = "" if self.part is None else f"{self.part}_"
            base = f"group_{self.group}_{part}{self.pool}"
        elif self.kind == "bounds":
            base = f"bounds_{self.pool}[{self.region}]"
        else:
            base = f"{self.kind}_{self.pool}"
        return base if self.sense is None else f"{base}_{self.sense}"

    def with_sense(self, sense: str | None) -> RuleId:
        """The same rule, one side of it ("min" / "max") or, with None, as a whole."""
        return replace(self, sense=sense)

    @property
    def base(self) -> RuleId:
        """The rule as a whole (no sense)."""
        return self.with_sense(None)

    def __str__(self) -> str:
        return self.name

    def label(self, scenario: Scenario | None = None, part_value: str | None = None) -> Text:
        """The rule in the planner's words, both languages.

        The scenario gives the high-potential share, the change limit and the group's name;
        `part_value` the column value of a `per` group rule's part (else its number shows).
        """
        from optimizer.fmt import DASH, fmt_pct

        if self.kind == "hp_share":
            share = (fmt_pct(scenario.pool_hp_share(self.pool), 0) if scenario is not None
                     else "")
            return Text(f"High-potential ≥ {share}".rstrip(), f"高潜力 ≥ {share}".rstrip())
        if self.kind == "change_limit":
            limit = scenario.change_limit(self.pool) if scenario is not None else None
            shown = fmt_pct(limit, 2) if limit is not None else DASH
            return Text(f"Change limit ±{shown}", f"变动限制 ±{shown}")
        if self.kind == "group":
            assert self.group is not None
            name = (scenario.groups[self.group - 1].name
                    if scenario is not None and 0 < self.group <= len(scenario.groups)
                    else f"#{self.group}")
            if self.part is not None:
                name = f"{name}: {part_value}" if part_value is not None else f"{name} #{self.part}"
            return Text(f"Group '{name}'", f"分组“{name}”")
        if self.kind == "bounds":
            return Text(f"{self.region}'s own limits", f"{self.region}的上下限")
        if self.kind in _KIND_LABELS:
            return Text(*_KIND_LABELS[self.kind])
        return Text(self.name, self.name)


def named(name: str) -> RuleId:
    """A rule known only by its name (no kind to read from it)."""
    return RuleId("named", text=name)


def scenario_rules(scenario: Scenario, regions: pd.DataFrame | None = None,
                   ) -> Iterator[RuleId]:
    """Every whole-rule identity a scenario can emit.

    A `per` group rule's parts are numbered up to the number of distinct values of its
    column in `regions` (the table it expands on), or up to `MAX_PARTS` without it.
    """
    for p in scenario.pool_names():
        for kind in ("hp_share", "total", "lower_bounds", "upper_bounds", "change_limit",
                     "min_max_columns", "eligible", "spent"):
            yield RuleId(kind, p)
        for i, g in enumerate(scenario.groups, start=1):
            if p not in g.pools:
                continue
            if g.per is None:
                yield RuleId("group", p, i)
                continue
            parts = (regions[g.per].nunique(dropna=False)
                     if regions is not None and g.per in regions.columns else MAX_PARTS)
            for k in range(1, int(parts) + 1):
                yield RuleId("group", p, i, k)


MAX_PARTS = 10_000


def find(name: str, scenario: Scenario, regions: pd.DataFrame | None = None,
         ) -> RuleId | None:
    """The rule of `scenario` whose constraint name (either side) is `name`; None when no
    rule of the scenario has that name.

    Names are matched against the identities the scenario emits, never taken apart.
    """
    for rid in scenario_rules(scenario, regions):
        for side in (None, "min", "max"):
            if rid.with_sense(side).name == name:
                return rid.with_sense(side)
    return None

"""Pools: one resource with a total, whole or not, per-region bounds and share rules."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from optimizer.fmt import fmt_limit
from optimizer.inputs.regions import money_total
from optimizer.inputs.scenario import GroupRule, PoolSpec, Scenario
from optimizer.inputs.tables import cell_text
from optimizer.model.result import BUILTIN_LABELS, pool_label
from optimizer.model.rules import RuleId, named
from optimizer.model.scoring import pool_weight
from optimizer.words import Text

POOL_NAMES = BUILTIN_LABELS


@dataclass(frozen=True, init=False)
class ShareRule:
    """Σ_{r∈group} x[r] ≥ min_share·X and/or ≤ max_share·X (and/or ≥ min_amount, ≤ max_amount),
    named for the planner.

    A rule with a minimum always has `min_share` set (0.0 when only `min_amount` is given),
    one with a maximum always `max_share` (1.0 when only `max_amount` is given); the
    amount the rule needs or allows is `Pool.rule_min` / `Pool.rule_max`, the tighter of
    the share and the amount.

    `id` says what the rule is (a `RuleId`; a plain string is taken as a rule known only by
    that name); `name` is its constraint name, built from `id`.
    """

    id: RuleId  # e.g. RuleId("hp_share", "budget"): named "hp_share_budget"
    label: Text  # e.g. "the 60 % rule" / "60% 规则"
    mask: np.ndarray
    min_share: float | None = None
    max_share: float | None = None
    group: str = "high-potential regions"
    group_zh: str = "高潜力区域"
    min_amount: float | None = None  # in the pool's unit (whole people for headcount)
    max_amount: float | None = None

    def __init__(self, id: RuleId | str | None = None,  # noqa: A002 (the rule's identity)
                 label: Text | None = None, mask: np.ndarray | None = None,
                 min_share: float | None = None, max_share: float | None = None,
                 group: str = "high-potential regions", group_zh: str = "高潜力区域",
                 min_amount: float | None = None, max_amount: float | None = None, *,
                 name: str | None = None) -> None:
        """A rule; `id` (or, for a rule known only by its name, `name`) says what it is."""
        rid = id if id is not None else name
        if rid is None or label is None or mask is None:
            raise TypeError("ShareRule needs an id (or a name), a label and a mask")
        values = {"id": named(rid) if isinstance(rid, str) else rid, "label": label,
                  "mask": mask, "min_share": min_share, "max_share": max_share,
                  "group": group, "group_zh": group_zh, "min_amount": min_amount,
                  "max_amount": max_amount}
        for k, v in values.items():
            object.__setattr__(self, k, v)

    @property
    def name(self) -> str:
        """The constraint name, e.g. "hp_share_budget" (built from `id`)."""
        return self.id.name

    @property
    def is_hp(self) -> bool:
        """Whether this is the pool's high-potential rule."""
        return self.id.kind == "hp_share"


@dataclass
class Pool:
    """A resource to allocate over the regions (arrays aligned with the regions table)."""

    name: str
    total: float
    integer: bool
    regions: list[str]
    current: np.ndarray
    weight: np.ndarray  # S per region, > 0
    lo: np.ndarray
    hi: np.ndarray  # np.inf where unbounded
    hp: np.ndarray  # bool: the high-potential set
    rules: list[ShareRule] = field(default_factory=list)
    min_col: np.ndarray | None = None  # the table's min/max columns (NaN = none)
    max_col: np.ndarray | None = None
    delta: float | None = None  # the change limit in force
    label: Text = field(default_factory=lambda: Text("", ""))  # display name, both languages
    kind: str = ""  # "headcount" | "budget" (default: from `integer`)
    unit_cost: float | None = None  # headcount pools: CNY per person per year
    eligible: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    notes: list[Text] = field(default_factory=list)  # what building the pool noticed

    def __post_init__(self) -> None:
        if not self.kind:
            self.kind = "headcount" if self.integer else "budget"
        if not self.label.en:
            self.label = pool_label(self.name)
        if len(self.eligible) != len(self.current):  # default: every region
            self.eligible = np.ones(len(self.current), dtype=bool)

    def with_bounds(self, delta: float | None, use_columns: bool = True) -> Pool:
        """The same pool with bounds recomputed for another change limit (or no columns).

        Ineligible regions stay fixed at 0.
        """
        n = len(self.current)
        nan = np.full(n, np.nan)
        mn = self.min_col if use_columns and self.min_col is not None else nan
        mx = self.max_col if use_columns and self.max_col is not None else nan
        lo, hi = bounds(self.current, mn, mx, delta, self.integer)
        if not self.eligible.all():
            lo = np.where(self.eligible, lo, 0.0)
            hi = np.where(self.eligible, hi, 0.0)
        return replace(self, lo=lo, hi=hi, delta=delta)

    def rule_min(self, rule: ShareRule) -> float:
        """The least amount the rule requires in its group (whole people for headcount):
        the larger of min_share·X and min_amount."""
        need = (rule.min_share or 0.0) * self.total
        need = float(math.ceil(need - 1e-9)) if self.integer else need
        if rule.min_amount is not None:
            amount = float(math.ceil(rule.min_amount - 1e-9)) if self.integer else rule.min_amount
            need = max(need, amount)
        return need

    def rule_max(self, rule: ShareRule) -> float:
        """The most the rule allows in its group: the smaller of max_share·X and max_amount."""
        cap = (1.0 if rule.max_share is None else rule.max_share) * self.total
        cap = float(math.floor(cap + 1e-9)) if self.integer else cap
        if rule.max_amount is not None:
            amount = (float(math.floor(rule.max_amount + 1e-9)) if self.integer
                      else rule.max_amount)
            cap = min(cap, amount)
        return cap

    def display(self, lang: str = "en") -> str:
        """The pool's display name in `lang`."""
        return self.label(lang)


def bounds(current: np.ndarray, lo_col: np.ndarray, hi_col: np.ndarray, delta: float | None,
           integer: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-region bounds (docs/model.md, "Bounds"); NaN in a column means no bound."""
    c = current.astype(float)
    lo = np.where(np.isnan(lo_col), 0.0, np.maximum(lo_col, 0.0))
    hi = np.where(np.isnan(hi_col), np.inf, hi_col)
    if integer:
        lo = np.ceil(lo - 1e-9)
        hi = np.floor(hi + 1e-9)
    if delta is not None:
        has = c > 0
        if integer:
            ch_lo = np.minimum(np.ceil((1 - delta) * c - 1e-9), c - 1)
            ch_hi = np.maximum(np.floor((1 + delta) * c + 1e-9), c + 1)
        else:
            ch_lo = (1 - delta) * c
            ch_hi = (1 + delta) * c
        lo = np.where(has, np.maximum(lo, np.maximum(ch_lo, 0.0)), lo)
        hi = np.where(has, np.minimum(hi, ch_hi), hi)
    return lo, hi


_TRUE_WORDS = ("true", "1", "yes", "y", "是")


def column_mask(regions: pd.DataFrame, column: str, values: tuple[str, ...]) -> np.ndarray:
    """The rows whose `column` takes one of `values` (as typed; a yes/no column such as
    high_potential, read as true/false, matches its spellings: 是, yes, true, 1 …)."""
    col = regions[column]
    if pd.api.types.is_bool_dtype(col):
        wanted = {str(v).strip().lower() in _TRUE_WORDS for v in values}
        return col.astype(bool).isin(wanted).to_numpy()
    return np.isin(column_texts(regions, column), list(values))


def column_texts(regions: pd.DataFrame, column: str) -> np.ndarray:
    """A column's cells as the spreadsheet shows them, stripped (2, not 2.0; blank = "")."""
    col = regions[column]
    if pd.api.types.infer_dtype(col, skipna=False) == "string":
        return col.astype(str).str.strip().to_numpy(dtype=object)
    return np.array([cell_text(v).strip() for v in col], dtype=object)


def group_mask(rule: GroupRule, regions: pd.DataFrame, scores: pd.DataFrame) -> np.ndarray:
    """The regions a group rule selects."""
    if rule.regions is not None:
        return regions["region"].isin(rule.regions).to_numpy()
    if rule.column is not None:
        return column_mask(regions, rule.column, rule.values or ())
    vals = scores[rule.score].to_numpy(dtype=float)
    return np.nan_to_num(vals, nan=-1.0) >= (rule.min_score or 0.0) - 1e-9


def pct(v: float) -> str:
    """A share as the planner writes it: 60 %, 12.5 %."""
    s = f"{round(100 * v, 2) + 0.0:.2f}".rstrip("0").rstrip(".")  # + 0.0: never "-0 %"
    return f"{s} %"


def _bound_column(regions: pd.DataFrame, name: str | None) -> np.ndarray:
    """An optional bound column as floats; NaN (no bound) where the table lacks it."""
    if name is None or name not in regions.columns:
        return np.full(len(regions), np.nan)
    return regions[name].to_numpy(dtype=float)


def eligible_mask(spec: PoolSpec | None, regions: pd.DataFrame) -> np.ndarray:
    """The regions that may receive the pool (every region for the built-ins)."""
    n = len(regions)
    if spec is None:
        return np.ones(n, dtype=bool)
    if spec.eligible is not None:
        return regions["region"].astype(str).isin(spec.eligible).to_numpy()
    if spec.eligible_column is not None:
        return column_mask(regions, spec.eligible_column, spec.eligible_values or ())
    return np.ones(n, dtype=bool)


def _rule_words(g: GroupRule, integer: bool) -> tuple[list[str], list[str]]:
    """The rule's limits in words: ≥ 60 %, ≤ 1 (the same in both languages)."""
    parts = []
    if g.min_share is not None:
        parts.append(f"≥ {pct(g.min_share)}")
    if g.min_amount is not None:
        parts.append(f"≥ {fmt_limit(g.min_amount, integer)}")
    if g.max_share is not None:
        parts.append(f"≤ {pct(g.max_share)}")
    if g.max_amount is not None:
        parts.append(f"≤ {fmt_limit(g.max_amount, integer)}")
    return parts, parts


@dataclass(frozen=True)
class ExpandedGroup:
    """One group rule as the pools apply it: a `per` rule gives one per value."""

    number: int  # the rule's place in [[groups]], from 1 (shared by the parts of a `per` rule)
    rule: GroupRule  # named "<name>: <value>" for a part of a `per` rule
    mask: np.ndarray
    group: str  # the members in words, e.g. "the regions with war_zone = 东区"
    group_zh: str
    part: int | None = None  # the part's number (from 1) for a `per` rule


def expand_groups(groups: tuple[GroupRule, ...], regions: pd.DataFrame, scores: pd.DataFrame,
                  ) -> list[ExpandedGroup]:
    """Every group rule with its members: a rule with `per` becomes one rule per distinct
    value of its column (in order of first appearance), named "<name>: <value>"."""
    out = []
    for i, g in enumerate(groups, start=1):
        has_selection = g.regions is not None or g.column is not None or g.score is not None
        base = group_mask(g, regions, scores) if has_selection else np.ones(len(regions), bool)
        if g.per is None:
            out.append(ExpandedGroup(i, g, base, g.name, g.name))
            continue
        col = column_texts(regions, g.per)
        values = [v for v in dict.fromkeys(col[base].tolist()) if v != ""]
        for k, v in enumerate(values, start=1):
            out.append(ExpandedGroup(
                i, replace(g, name=f"{g.name}: {v}", per=None), base & (col == v),
                f"the regions with {g.per} = {v}", f"{g.per} 为“{v}”的区域", k))
    return out


def _pool_rules(name: str, integer: bool, hp: np.ndarray, hp_share: float,
                expanded: list[ExpandedGroup]) -> list[ShareRule]:
    rules = [ShareRule(
        id=RuleId("hp_share", name),
        label=Text(f"the {pct(hp_share)} high-potential rule",
                   f"高潜力区域 ≥ {pct(hp_share)} 规则"),
        mask=hp.copy(), min_share=hp_share,
    )] if hp_share > 0 else []
    for e in expanded:
        g = e.rule
        if name not in g.pools:
            continue
        parts_en, parts_zh = _rule_words(g, integer)
        rules.append(ShareRule(
            id=RuleId("group", name, e.number, e.part),
            label=Text(f"the rule '{g.name}' {' and '.join(parts_en)}",
                       f"“{g.name}” {' 且 '.join(parts_zh)} 规则"),
            mask=e.mask, group=e.group, group_zh=e.group_zh,
            # an amount alone is a rule with share 0 (minimum) or 100 % (maximum) beside it,
            # so that "min_share is not None" keeps meaning "the rule has a minimum"
            min_share=g.min_share if g.min_share is not None else (
                0.0 if g.min_amount is not None else None),
            max_share=g.max_share if g.max_share is not None else (
                1.0 if g.max_amount is not None else None),
            min_amount=g.min_amount, max_amount=g.max_amount,
        ))
    return rules


def build_pools(regions: pd.DataFrame, scores: pd.DataFrame, hp: np.ndarray,
                scenario: Scenario) -> dict[str, Pool]:
    """Every pool of a validated table, a scored table and a scenario: headcount, budget,
    then the added pools in scenario order."""
    pools = {}
    names = regions["region"].astype(str).tolist()
    expanded = expand_groups(scenario.groups, regions, scores)
    for p in scenario.pool_names():
        spec = scenario.pool_spec(p)
        integer = scenario.pool_kind(p) == "headcount"
        if spec is None:
            current = regions[f"current_{p}"].to_numpy(dtype=float)
            min_col = _bound_column(regions, f"min_{p}")
            max_col = _bound_column(regions, f"max_{p}")
        else:
            current = (regions[spec.current].to_numpy(dtype=float) if spec.current is not None
                       else np.zeros(len(regions)))
            min_col = _bound_column(regions, spec.min)
            max_col = _bound_column(regions, spec.max)
        total = scenario.total(p)
        if total is None:  # money added in whole cents (exact beyond 2^53 cents)
            total = float(current.sum()) if integer else money_total(current)
        if not integer:
            total = round(float(total), 2)
        delta = scenario.change_limit(p)
        lo, hi = bounds(current, min_col, max_col, delta, integer)
        eligible = eligible_mask(spec, regions)
        weight = pool_weight(scores, scenario, p)
        notes: list[Text] = []
        if not eligible.all():
            lo = np.where(eligible, lo, 0.0)
            hi = np.where(eligible, hi, 0.0)
            weight = np.where(eligible, weight, 0.0)
            had = [names[k] for k in np.flatnonzero(~eligible & (current > 0))]
            if had and spec is not None:
                shown = "、".join(had[:10]) + (f" (+{len(had) - 10})" if len(had) > 10 else "")
                label = spec.display()
                notes.append(Text(
                    f"{label}: {shown} may not receive it (not eligible) but had a current "
                    f"amount; the plan gives them 0.",
                    f"{label}：{shown} 不在可分配范围内，但当前有分配；方案中为 0。"))
        rules = _pool_rules(p, integer, hp, scenario.pool_hp_share(p), expanded)
        pools[p] = Pool(p, float(total), integer, list(names), current, weight, lo, hi,
                        hp.copy(), rules, min_col, max_col, delta,
                        label=pool_label(p, spec.label if spec is not None else None),
                        kind="headcount" if integer else "budget",
                        unit_cost=spec.unit_cost if spec is not None else None,
                        eligible=eligible, notes=notes)
    return pools

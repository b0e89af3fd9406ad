"""Pools: one resource with a total, whole or not, per-region bounds and share rules."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from optimizer.regions import money_total
from optimizer.result import Text
from optimizer.scenario import POOLS, GroupRule, Scenario

POOL_NAMES = {"headcount": ("headcount", "人员"), "budget": ("budget", "预算")}


@dataclass(frozen=True)
class ShareRule:
    """Σ_{r∈group} x[r] ≥ min_share·X and/or ≤ max_share·X, named for the planner."""

    name: str  # constraint name, e.g. "hp_share_budget"
    label: Text  # e.g. "the 60 % rule" / "60% 规则"
    mask: np.ndarray
    min_share: float | None = None
    max_share: float | None = None
    group: str = "high-potential regions"
    group_zh: str = "高潜力区域"


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

    def with_bounds(self, delta: float | None, use_columns: bool = True) -> Pool:
        """The same pool with bounds recomputed for another change limit (or no columns)."""
        n = len(self.current)
        nan = np.full(n, np.nan)
        mn = self.min_col if use_columns and self.min_col is not None else nan
        mx = self.max_col if use_columns and self.max_col is not None else nan
        lo, hi = bounds(self.current, mn, mx, delta, self.integer)
        return replace(self, lo=lo, hi=hi, delta=delta)

    def rule_min(self, rule: ShareRule) -> float:
        """The least amount the rule requires in its group (whole people for headcount)."""
        need = (rule.min_share or 0.0) * self.total
        return float(math.ceil(need - 1e-9)) if self.integer else need

    def rule_max(self, rule: ShareRule) -> float:
        """The most the rule allows in its group."""
        cap = (1.0 if rule.max_share is None else rule.max_share) * self.total
        return float(math.floor(cap + 1e-9)) if self.integer else cap


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


def group_mask(rule: GroupRule, regions: pd.DataFrame, scores: pd.DataFrame) -> np.ndarray:
    """The regions a group rule selects."""
    if rule.regions is not None:
        return regions["region"].isin(rule.regions).to_numpy()
    if rule.column is not None:
        col = regions[rule.column].astype(str).str.strip()
        return col.isin(rule.values or ()).to_numpy()
    vals = scores[rule.score].to_numpy(dtype=float)
    return np.nan_to_num(vals, nan=-1.0) >= (rule.min_score or 0.0) - 1e-9


def pct(v: float) -> str:
    """A share as the planner writes it: 60 %, 12.5 %."""
    s = f"{100 * v:.2f}".rstrip("0").rstrip(".")
    return f"{s} %"


def _bound_column(regions: pd.DataFrame, name: str) -> np.ndarray:
    """An optional bound column as floats; NaN (no bound) where the table lacks it."""
    if name not in regions.columns:
        return np.full(len(regions), np.nan)
    return regions[name].to_numpy(dtype=float)


def build_pools(regions: pd.DataFrame, scores: pd.DataFrame, hp: np.ndarray,
                scenario: Scenario) -> dict[str, Pool]:
    """The headcount and budget pools of a validated table, a scored table and a scenario."""
    pools = {}
    for p in POOLS:
        integer = p == "headcount"
        current = regions[f"current_{p}"].to_numpy(dtype=float)
        total = scenario.total(p)
        if total is None:  # money added in whole cents (exact beyond 2^53 cents)
            total = float(current.sum()) if integer else money_total(current)
        if not integer:
            total = round(float(total), 2)
        min_col = _bound_column(regions, f"min_{p}")
        max_col = _bound_column(regions, f"max_{p}")
        lo, hi = bounds(current, min_col, max_col, scenario.change_limit(p), integer)
        rules = [ShareRule(
            name=f"hp_share_{p}",
            label=Text(f"the {pct(scenario.hp_share)} high-potential rule",
                       f"高潜力区域 ≥ {pct(scenario.hp_share)} 规则"),
            mask=hp.copy(), min_share=scenario.hp_share,
        )] if scenario.hp_share > 0 else []
        for i, g in enumerate(scenario.groups):
            if p not in g.pools:
                continue
            parts_en, parts_zh = [], []
            if g.min_share is not None:
                parts_en.append(f"≥ {pct(g.min_share)}")
                parts_zh.append(f"≥ {pct(g.min_share)}")
            if g.max_share is not None:
                parts_en.append(f"≤ {pct(g.max_share)}")
                parts_zh.append(f"≤ {pct(g.max_share)}")
            rules.append(ShareRule(
                name=f"group_{i + 1}_{p}",
                label=Text(f"the rule '{g.name}' {' and '.join(parts_en)}",
                           f"“{g.name}” {' 且 '.join(parts_zh)} 规则"),
                mask=group_mask(g, regions, scores), min_share=g.min_share,
                max_share=g.max_share, group=g.name, group_zh=g.name,
            ))
        pools[p] = Pool(p, float(total), integer, regions["region"].astype(str).tolist(), current,
                        scores["weight"].to_numpy(dtype=float), lo, hi, hp.copy(), rules,
                        min_col, max_col, scenario.change_limit(p))
    return pools

"""The way out of infeasibility: the smallest set of rules that conflict, and the least
relaxation of one kind of rule at a time (the share targets, the change limits, the totals),
each found with an elastic LP and checked by solving the relaxed scenario.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from optimizer.diagnose import amount
from optimizer.pools import Pool, ShareRule, pct
from optimizer.result import Text
from optimizer.scenario import Scenario
from optimizer.solver import solve_quietly

_EPS = 1e-9


@dataclass
class Relaxation:
    """A nearby scenario that solves: what was relaxed, by how much, and the scenario itself."""

    kind: str  # "share" | "change_limit" | "totals"
    text: Text
    changes: dict[str, Any]
    scenario: Scenario = field(repr=False)


# --------------------------------------------------------------------------- feasibility LPs

def _lp(pool: Pool, rules: list[ShareRule], *, lo: np.ndarray | None = None,
        hi: np.ndarray | None = None, mode: str = "feasible") -> dict[str, float] | None:
    """Solve a small LP over x (scaled) for the pool; None when infeasible.

    mode "feasible": any point; "share": least total shortfall of the rules (elastic);
    "delta": least uniform change limit; "total": least change of the pool's total.
    """
    import pulp

    lo = pool.lo if lo is None else lo
    hi = pool.hi if hi is None else hi
    n = len(lo)
    unit = max(pool.total, 1.0) / max(n, 1)
    prob = pulp.LpProblem(f"relax_{pool.name}", pulp.LpMinimize)
    c = pool.current / unit
    xs = []
    var_d = prob.add_variable("delta", 0.0) if mode == "delta" else None
    var_t = prob.add_variable("total", 0.0) if mode == "total" else None
    for i in range(n):
        if mode == "delta" and c[i] > 0:
            mn = pool.min_col[i] if pool.min_col is not None else np.nan
            mx = pool.max_col[i] if pool.max_col is not None else np.nan
            lb = 0.0 if np.isnan(mn) else max(0.0, mn / unit)
            ub = None if np.isnan(mx) else mx / unit
        else:
            lb, ub = lo[i] / unit, (None if not np.isfinite(hi[i]) else hi[i] / unit)
        xs.append(prob.add_variable(f"x_{i}", lb, ub))
    if var_d is not None:
        for i in np.nonzero(c > 0)[0]:
            # (1 − d)·c ≤ x ≤ (1 + d)·c
            prob.addConstraint(xs[i] + c[i] * var_d >= c[i], name=f"change_lo_{i}")
            prob.addConstraint(xs[i] - c[i] * var_d <= c[i], name=f"change_hi_{i}")
    total = pool.total / unit
    total_expr = var_t if var_t is not None else total
    prob.addConstraint(pulp.lpSum(xs) == total_expr, name=f"total_{pool.name}")
    slack = []
    for r in rules:
        members = pulp.lpSum(x for x, m in zip(xs, r.mask, strict=True) if m)
        for sense, share in (("min", r.min_share), ("max", r.max_share)):
            if share is None:
                continue
            amt = (pool.rule_min(r) if sense == "min" else pool.rule_max(r)) / unit
            rhs = share * total_expr if var_t is not None else amt
            e = prob.add_variable(f"e_{r.name}_{sense}", 0.0) if mode == "share" else None
            if sense == "min":
                prob.addConstraint(members + (e if e is not None else 0) >= rhs,
                                   name=f"{r.name}_min")
            else:
                prob.addConstraint(members - (e if e is not None else 0) <= rhs,
                                   name=f"{r.name}_max")
            if e is not None:
                slack.append((r.name, sense, e))
    if mode == "share":
        prob.setObjective(pulp.lpSum(e for _, _, e in slack))
    elif mode == "delta":
        prob.setObjective(var_d)
    elif mode == "total":
        dev = prob.add_variable("dev", 0.0)
        prob.addConstraint(dev >= var_t - total, name="dev_up")
        prob.addConstraint(dev >= total - var_t, name="dev_down")
        prob.setObjective(dev)
    else:
        prob.setObjective(pulp.LpAffineExpression())
    if solve_quietly(prob) != "Optimal":
        return None
    out: dict[str, float] = {}
    for name, sense, e in slack:
        out[f"{name}_{sense}"] = (e.varValue or 0.0) * unit
    if var_d is not None:
        out["delta"] = var_d.varValue or 0.0
    if var_t is not None:
        out["total"] = (var_t.varValue or 0.0) * unit
    return out


def feasible(pool: Pool, rules: list[ShareRule] | None = None) -> bool:
    """Whether the pool has any allocation meeting its total, bounds and the given rules."""
    if np.any(pool.lo > pool.hi + _EPS * max(1.0, pool.total)):
        return False
    return _lp(pool, pool.rules if rules is None else rules) is not None


# --------------------------------------------------------------------------- conflicts

def _rule_words(pool: Pool, rule: ShareRule, lang: str) -> str:
    parts = []
    if rule.min_share is not None:
        parts.append(f"needs ≥ {amount(pool, pool.rule_min(rule))} in {rule.group}"
                      if lang == "en" else
                      f"要求{rule.group_zh}至少 {amount(pool, pool.rule_min(rule), 'zh')}")
    if rule.max_share is not None:
        parts.append(f"allows ≤ {amount(pool, pool.rule_max(rule))} in {rule.group}"
                      if lang == "en" else
                      f"允许{rule.group_zh}至多 {amount(pool, pool.rule_max(rule), 'zh')}")
    label = rule.label.en if lang == "en" else rule.label.zh
    return f"{label} ({'; '.join(parts)})" if lang == "en" else f"{label}（{'；'.join(parts)}）"


def conflict_set(pool: Pool) -> tuple[list[str], Text] | None:
    """A smallest set of rules that cannot hold together (deletion filter), in words.

    The elements are the share rules, the change limit and the regions' min/max columns;
    the total is always in force. None when the pool is feasible.
    """
    if feasible(pool):
        return None
    keep_rules = list(pool.rules)
    use_delta = pool.delta is not None
    use_cols = True

    def ok(rules: list[ShareRule], delta_on: bool, cols_on: bool) -> bool:
        p = pool.with_bounds(pool.delta if delta_on else None, cols_on)
        return feasible(p, rules)

    for r in list(keep_rules):
        trial = [q for q in keep_rules if q is not r]
        if not ok(trial, use_delta, use_cols):
            keep_rules = trial
    if use_delta and not ok(keep_rules, False, use_cols):
        use_delta = False
    if not ok(keep_rules, use_delta, False):
        use_cols = False
    names = [r.name for r in keep_rules]
    en = [_rule_words(pool, r, "en") for r in keep_rules]
    zh = [_rule_words(pool, r, "zh") for r in keep_rules]
    if use_delta:
        assert pool.delta is not None
        names.append(f"change_limit_{pool.name}")
        en.append(f"the ±{pct(pool.delta)} change limit")
        zh.append(f"±{pct(pool.delta)} 变动限制")
    if use_cols:
        names.append(f"min_max_columns_{pool.name}")
        en.append("the regions' min/max columns")
        zh.append("各区域的最小/最大值列")
    names.append(f"total_{pool.name}")
    en.append(f"the total of {amount(pool, pool.total)}")
    zh.append(f"总量 {amount(pool, pool.total, 'zh')}")
    return names, Text("These cannot all hold: " + "; ".join(en) + ".",
                       "以下条件无法同时满足：" + "；".join(zh) + "。")


# --------------------------------------------------------------------------- relaxations

def _solves(regions: pd.DataFrame, scenario: Scenario) -> bool:
    from optimizer.plan import check_feasible

    return check_feasible(regions, scenario)


def _pool_solves(regions: pd.DataFrame, scenario: Scenario, pool: str) -> bool:
    """Whether one pool of the scenario has a plan."""
    from optimizer.diagnose import diagnose
    from optimizer.plan import _pools

    p = _pools(regions, scenario)[1][pool]
    return diagnose(p) is None and feasible(p)


def relax_shares(regions: pd.DataFrame, scenario: Scenario, pools: dict[str, Pool],
                 ) -> Relaxation | None:
    """Lower the share targets (raise the maxima) by the least amount that solves."""
    changes: dict[str, Any] = {}
    hp_share = scenario.hp_share
    groups = list(scenario.groups)
    for pool in pools.values():
        sl = _lp(pool, pool.rules, mode="share")
        if sl is None or pool.total <= 0:
            continue
        for r in pool.rules:
            for sense in ("min", "max"):
                e = sl.get(f"{r.name}_{sense}", 0.0)
                if e <= _EPS * max(1.0, pool.total):
                    continue
                if sense == "min":
                    amt = pool.rule_min(r) - e
                    new = (math.floor(amt + 1e-6) / pool.total if pool.integer
                           else math.floor(amt / pool.total * 1e6 + 1e-6) / 1e6)
                else:
                    amt = pool.rule_max(r) + e
                    new = (math.ceil(amt - 1e-6) / pool.total if pool.integer
                           else math.ceil(amt / pool.total * 1e6 - 1e-6) / 1e6)
                new = min(1.0, max(0.0, new))
                if r.name.startswith("hp_share_"):
                    hp_share = min(hp_share, new)
                else:
                    i = int(r.name.split("_")[1]) - 1
                    g = groups[i]
                    if sense == "min":
                        groups[i] = dataclasses.replace(
                            g, min_share=min(new, g.min_share if g.min_share is not None else 1))
                    else:
                        groups[i] = dataclasses.replace(
                            g, max_share=max(new, g.max_share if g.max_share is not None else 0))
    if hp_share != scenario.hp_share:
        changes["hp_share"] = hp_share
    if tuple(groups) != scenario.groups:
        changes["groups"] = tuple(groups)
    if not changes:
        return None
    new_s = scenario.with_changes(**changes)
    for _ in range(20):  # rounding to 0.0001 % may still fall short by a hair: step down
        if _solves(regions, new_s):
            break
        if "hp_share" in changes:
            changes["hp_share"] = max(0.0, changes["hp_share"] - 1e-4)
        new_s = scenario.with_changes(**changes)
    else:
        return None
    changes = _tighten_shares(regions, scenario, changes)
    groups = list(changes.get("groups", scenario.groups))
    new_s = scenario.with_changes(**changes)
    en, zh = [], []
    if "hp_share" in changes:
        en.append(f"lower the high-potential share from {pct(scenario.hp_share)} to "
                  f"{pct(changes['hp_share'])}")
        zh.append(f"将高潜力区域份额从 {pct(scenario.hp_share)} 降至 {pct(changes['hp_share'])}")
    for old, new in zip(scenario.groups, groups, strict=True):
        if old != new:
            parts_en, parts_zh = [], []
            if new.min_share is not None:
                parts_en.append(f"min {pct(new.min_share)}")
                parts_zh.append(f"最低 {pct(new.min_share)}")
            if new.max_share is not None:
                parts_en.append(f"max {pct(new.max_share)}")
                parts_zh.append(f"最高 {pct(new.max_share)}")
            en.append(f"set '{old.name}' to {', '.join(parts_en)}")
            zh.append(f"将“{old.name}”改为{'、'.join(parts_zh)}")
    return Relaxation("share", Text("Relax the share rules: " + "; ".join(en) + ".",
                                    "放宽份额规则：" + "；".join(zh) + "。"), changes, new_s)


def _tighten_shares(regions: pd.DataFrame, scenario: Scenario, changes: dict[str, Any],
                    ) -> dict[str, Any]:
    """Move each relaxed share back toward its original value, one at a time on the
    0.0001 % grid, as far as the plan still solves with the others held.

    The elastic LP minimises the total shortfall per pool; when rules trade off (a tie) or
    one pool already forced a shared rule lower, a rule may be relaxed more than needed.
    After this pass, tightening any single relaxed rule by one grid step fails.
    """
    changes = dict(changes)

    def solves(ch: dict[str, Any]) -> bool:
        return _solves(regions, scenario.with_changes(**ch))

    def search(new: float, old: float, put: Any) -> float:
        """The value nearest to `old` (exclusive) on the grid, from `new`, that solves."""
        if solves(put(old)):
            return old
        good = round(new * 1e6)
        if new < old:  # a minimum: the largest k/1e6 < old that solves
            bad = math.ceil(old * 1e6 - 1e-9)
        else:  # a maximum: the smallest k/1e6 > old that solves
            bad = math.floor(old * 1e6 + 1e-9)
        while abs(bad - good) > 1:
            mid = (good + bad) // 2
            if solves(put(mid / 1e6)):
                good = mid
            else:
                bad = mid
        return good / 1e6 if solves(put(good / 1e6)) else new

    if "hp_share" in changes:
        changes["hp_share"] = search(changes["hp_share"], scenario.hp_share,
                                     lambda v: {**changes, "hp_share": v})
        if changes["hp_share"] == scenario.hp_share:
            del changes["hp_share"]
    if "groups" in changes:
        groups = list(changes["groups"])
        for i, (old, new) in enumerate(zip(scenario.groups, changes["groups"], strict=True)):
            for fld in ("min_share", "max_share"):
                a, b = getattr(old, fld), getattr(groups[i], fld)
                if a is None or b is None or a == b:
                    continue

                def put(v: float, i: int = i, fld: str = fld) -> dict[str, Any]:
                    trial = list(groups)
                    trial[i] = dataclasses.replace(trial[i], **{fld: v})
                    return {**changes, "groups": tuple(trial)}

                groups[i] = dataclasses.replace(groups[i], **{fld: search(b, a, put)})
                changes["groups"] = tuple(groups)
            del new
        if tuple(groups) == scenario.groups:
            del changes["groups"]
    return changes


def _least_delta(pool: Pool, start: float) -> float | None:
    """The least change limit on the 0.01 % grid under which the pool is feasible.

    `start` is the elastic LP's answer. It is exact for money, but not a lower bound for
    whole people: the bounds ⌈(1−δ)c⌉, ⌊(1+δ)c⌋ always leave one person of movement, so a
    small region may move further than δ·c. The search therefore runs on the grid from the
    pool's own (infeasible) limit upward; feasibility only grows with δ.
    """
    def ok(k: int) -> bool:
        return feasible(pool.with_bounds(k / 1e4), pool.rules)

    bad = math.floor((pool.delta or 0.0) * 1e4 + 1e-6)  # the limit in force fails
    good = max(bad + 1, math.ceil(start * 1e4 - 1e-6))
    for _ in range(30):
        if ok(good):
            break
        bad, good = good, good * 2 + 100
    else:
        return None
    while good - bad > 1:
        mid = (bad + good) // 2
        if ok(mid):
            good = mid
        else:
            bad = mid
    return good / 1e4


def relax_change_limit(regions: pd.DataFrame, scenario: Scenario, pools: dict[str, Pool],
                       ) -> Relaxation | None:
    """Widen each pool's change limit to the least value that solves."""
    changes: dict[str, Any] = {}
    for p, pool in pools.items():
        if pool.delta is None or feasible(pool):
            continue
        sol = _lp(pool, pool.rules, mode="delta")
        if sol is None:
            continue
        d = _least_delta(pool, max(pool.delta, sol["delta"]))
        if d is not None:
            changes[f"{p}_max_change"] = d
    if not changes:
        return None
    new_s = scenario.with_changes(**changes)
    if not _solves(regions, new_s):
        return None
    en = [f"{p.split('_')[0]} ±{pct(v)}" for p, v in changes.items()]
    zh = [f"{'人员' if p.startswith('headcount') else '预算'} ±{pct(v)}"
          for p, v in changes.items()]
    return Relaxation("change_limit",
                      Text("Widen the change limits to: " + ", ".join(en) + ".",
                           "放宽变动限制至：" + "，".join(zh) + "。"), changes, new_s)


def relax_totals(regions: pd.DataFrame, scenario: Scenario, pools: dict[str, Pool],
                 ) -> Relaxation | None:
    """Move each infeasible pool's total by the least amount that solves."""
    changes: dict[str, Any] = {}
    for p, pool in pools.items():
        if feasible(pool):
            continue
        sol = _lp(pool, pool.rules, mode="total")
        if sol is None:
            continue
        t = sol["total"]
        cands = ([math.ceil(t - 1e-6), math.floor(t + 1e-6)] if pool.integer
                 else [round(t, 2), math.ceil(t * 100) / 100, math.floor(t * 100) / 100])
        cands = sorted(set(cands), key=lambda v: abs(v - pool.total))
        for v in cands:
            if v <= 0 < pool.total:
                continue  # a total of 0 meets any share rule, but it is no plan
            trial = scenario.with_changes(**{f"{p}_total": int(v) if pool.integer else v})
            if _pool_solves(regions, trial, p):  # the other pool may need its own change
                changes[f"{p}_total"] = int(v) if pool.integer else float(v)
                break
    if not changes:
        return None
    new_s = scenario.with_changes(**changes)
    if not _solves(regions, new_s):
        return None
    en, zh = [], []
    for k, v in changes.items():
        pool = pools[k.split("_")[0]]
        en.append(f"{pool.name} {amount(pool, pool.total)} → {amount(pool, v)}")
        zh.append(f"{'人员' if pool.integer else '预算'} {amount(pool, pool.total, 'zh')} → "
                  f"{amount(pool, v, 'zh')}")
    return Relaxation("totals", Text("Change the totals: " + "; ".join(en) + ".",
                                     "调整总量：" + "；".join(zh) + "。"), changes, new_s)


def relaxations(regions: pd.DataFrame, scenario: Scenario, pools: dict[str, Pool],
                ) -> list[Relaxation]:
    """Every kind of least relaxation that makes the scenario solve (one kind at a time)."""
    out = []
    for f in (relax_shares, relax_change_limit, relax_totals):
        r = f(regions, scenario, pools)
        if r is not None:
            out.append(r)
    return out

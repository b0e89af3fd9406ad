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

from optimizer.explain.diagnose import amount, diagnose, eligibility_text
from optimizer.inputs.scenario import Scenario
from optimizer.model.pools import Pool, ShareRule, pct
from optimizer.model.prepare import Prepared, reprepare
from optimizer.model.result import BUILTIN_LABELS, Status, pool_label
from optimizer.model.rules import RuleId
from optimizer.solve.backend import solve_quietly
from optimizer.words import Text

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
        hi: np.ndarray | None = None, mode: str = "feasible") -> dict[RuleId | str, float] | None:
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
    prob.addConstraint(pulp.lpSum(xs) == total_expr, name=RuleId("total", pool.name).name)
    slack = []
    for r in rules:
        members = pulp.lpSum(x for x, m in zip(xs, r.mask, strict=True) if m)
        for sense, share in (("min", r.min_share), ("max", r.max_share)):
            if share is None:
                continue
            amt = (pool.rule_min(r) if sense == "min" else pool.rule_max(r)) / unit
            rhs = share * total_expr if var_t is not None else amt
            side = r.id.with_sense(sense)
            e = prob.add_variable(f"e_{side.name}", 0.0) if mode == "share" else None
            if sense == "min":
                prob.addConstraint(members + (e if e is not None else 0) >= rhs,
                                   name=side.name)
            else:
                prob.addConstraint(members - (e if e is not None else 0) <= rhs,
                                   name=side.name)
            if e is not None:
                slack.append((side, e))
    if mode == "share":
        prob.setObjective(pulp.lpSum(e for _, e in slack))
    elif mode == "delta":
        prob.setObjective(var_d)
    elif mode == "total":
        dev = prob.add_variable("dev", 0.0)
        prob.addConstraint(dev >= var_t - total, name="dev_up")
        prob.addConstraint(dev >= total - var_t, name="dev_down")
        prob.setObjective(dev)
    else:
        prob.setObjective(pulp.LpAffineExpression())
    if solve_quietly(prob) != Status.OPTIMAL:
        return None
    out: dict[RuleId | str, float] = {}  # a rule's side: its shortfall; "delta", "total"
    for side, e in slack:
        out[side] = (e.varValue or 0.0) * unit
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


def conflict_set(pool: Pool) -> tuple[list[RuleId], Text] | None:
    """A smallest set of rules that cannot hold together (deletion filter), as RuleIds and
    in words.

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
    ids = [r.id for r in keep_rules]
    en = [_rule_words(pool, r, "en") for r in keep_rules]
    zh = [_rule_words(pool, r, "zh") for r in keep_rules]
    if use_delta:
        assert pool.delta is not None
        ids.append(RuleId("change_limit", pool.name))
        en.append(f"the ±{pct(pool.delta)} change limit")
        zh.append(f"±{pct(pool.delta)} 变动限制")
    if use_cols:
        ids.append(RuleId("min_max_columns", pool.name))
        en.append("the regions' min/max columns")
        zh.append("各区域的最小/最大值列")
    elig = eligibility_text(pool)
    if elig is not None:  # always in force, like the total
        ids.append(RuleId("eligible", pool.name))
        en.append(f"who may receive {pool.label.en} ({elig.en})")
        zh.append(f"{pool.label.zh}的可分配范围（{elig.zh}）")
    ids.append(RuleId("total", pool.name))
    en.append(f"the total of {amount(pool, pool.total)}")
    zh.append(f"总量 {amount(pool, pool.total, 'zh')}")
    return ids, Text("These cannot all hold: " + "; ".join(en) + ".",
                       "以下条件无法同时满足：" + "；".join(zh) + "。")


# --------------------------------------------------------------------------- relaxations

def prepared_solves(prep: Prepared) -> bool:
    """Whether every pool of a prepared scenario has a plan (no optimisation, one small
    LP each)."""
    return all(diagnose(p) is None and feasible(p) for p in prep.pools.values())


def _solves(prep: Prepared, scenario: Scenario) -> bool:
    """Whether `scenario` (the prepared one, changed) has a plan; the scores are reused."""
    return prepared_solves(reprepare(prep, scenario))


def _pool_solves(prep: Prepared, scenario: Scenario, pool: str) -> bool:
    """Whether one pool of `scenario` (the prepared one, changed) has a plan."""
    p = reprepare(prep, scenario).pools[pool]
    return diagnose(p) is None and feasible(p)


def _label(scenario: Scenario, pool: str, lang: str = "en") -> str:
    """A pool's name in a sentence: 人员 / headcount for the built-ins, else its label."""
    spec = scenario.pool_spec(pool) if pool not in BUILTIN_LABELS else None
    return pool_label(pool, spec.display() if spec is not None else None)(lang)


def _set_pool(changes: dict[str, Any], scenario: Scenario, pool: str, **fields: Any) -> None:
    """Record a change of an added pool's definition in `changes["pools"]`."""
    specs = list(changes.get("pools", scenario.pools))
    for i, spec in enumerate(specs):
        if spec.name == pool:
            specs[i] = dataclasses.replace(spec, **fields)
    changes["pools"] = tuple(specs)


def _pool_field(changes: dict[str, Any], scenario: Scenario, pool: str, name: str) -> Any:
    specs = changes.get("pools", scenario.pools)
    return next(getattr(p, name) for p in specs if p.name == pool)


def _group_index(rule: ShareRule) -> int:
    """The [[groups]] index (from 0) of a group rule (the parts of a `per` rule share it)."""
    assert rule.id.kind == "group" and rule.id.group is not None, rule.id
    return rule.id.group - 1


def _amount_binds(pool: Pool, rule: ShareRule, sense: str) -> bool:
    """Whether the rule's minimum (maximum) is its amount rather than its share."""
    if sense == "min":
        return rule.min_amount is not None and (
            rule.min_amount >= (rule.min_share or 0.0) * pool.total - 1e-9)
    return rule.max_amount is not None and (
        rule.max_amount <= (1.0 if rule.max_share is None else rule.max_share) * pool.total
        + 1e-9)


def relax_shares(prep: Prepared) -> Relaxation | None:
    """Lower the share targets (raise the maxima) by the least amount that solves.

    The high-potential rule of an added pool is relaxed through the pool's own hp_share
    (the other pools keep theirs); a group rule whose amount binds, through its amount.
    """
    scenario, pools = prep.scenario, prep.pools
    changes: dict[str, Any] = {}
    hp_share = scenario.hp_share
    groups = list(scenario.groups)
    for pool in pools.values():
        sl = _lp(pool, pool.rules, mode="share")
        if sl is None or pool.total <= 0:
            continue
        for r in pool.rules:
            for sense in ("min", "max"):
                e = sl.get(r.id.with_sense(sense), 0.0)
                if e <= _EPS * max(1.0, pool.total):
                    continue
                by_amount = not r.is_hp and _amount_binds(pool, r, sense)
                if sense == "min":
                    amt = pool.rule_min(r) - e
                    new = (math.floor(amt + 1e-6) / pool.total if pool.integer
                           else math.floor(amt / pool.total * 1e6 + 1e-6) / 1e6)
                    new_amt = (float(math.floor(amt + 1e-6)) if pool.integer
                               else math.floor(amt * 100 + 1e-6) / 100)
                else:
                    amt = pool.rule_max(r) + e
                    new = (math.ceil(amt - 1e-6) / pool.total if pool.integer
                           else math.ceil(amt / pool.total * 1e6 - 1e-6) / 1e6)
                    new_amt = (float(math.ceil(amt - 1e-6)) if pool.integer
                               else math.ceil(amt * 100 - 1e-6) / 100)
                new = min(1.0, max(0.0, new))
                new_amt = max(0.0, new_amt)
                if r.is_hp:
                    if scenario.pool_spec(pool.name) is None:
                        hp_share = min(hp_share, new)
                    else:
                        own = _pool_field(changes, scenario, pool.name, "hp_share")
                        start = scenario.pool_hp_share(pool.name) if own is None else own
                        _set_pool(changes, scenario, pool.name, hp_share=min(start, new))
                    continue
                i = _group_index(r)
                g = groups[i]
                if by_amount:
                    if any(scenario.pool_kind(q) == "headcount" for q in g.pools):
                        # whole people: an amount in every pool of the rule
                        new_amt = float(math.floor(new_amt + 1e-6) if sense == "min"
                                        else math.ceil(new_amt - 1e-6))
                        new_amt = int(new_amt)  # type: ignore[assignment]
                    if sense == "min":
                        groups[i] = dataclasses.replace(g, min_amount=min(
                            new_amt, g.min_amount if g.min_amount is not None else new_amt))
                    else:
                        groups[i] = dataclasses.replace(g, max_amount=max(
                            new_amt, g.max_amount if g.max_amount is not None else new_amt))
                    continue
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
        if _solves(prep, new_s):
            break
        if "hp_share" in changes:
            changes["hp_share"] = max(0.0, changes["hp_share"] - 1e-4)
        for spec in changes.get("pools", ()):
            if spec.hp_share is not None and spec != scenario.pool_spec(spec.name):
                _set_pool(changes, scenario, spec.name, hp_share=max(0.0, spec.hp_share - 1e-4))
        new_s = scenario.with_changes(**changes)
    else:
        return None
    changes = _tighten_shares(prep, changes)
    groups = list(changes.get("groups", scenario.groups))
    new_s = scenario.with_changes(**changes)
    en, zh = [], []
    if "hp_share" in changes:
        en.append(f"lower the high-potential share from {pct(scenario.hp_share)} to "
                  f"{pct(changes['hp_share'])}")
        zh.append(f"将高潜力区域份额从 {pct(scenario.hp_share)} 降至 {pct(changes['hp_share'])}")
    for spec in changes.get("pools", ()):
        old_share = scenario.pool_hp_share(spec.name)
        if spec.hp_share is not None and spec.hp_share != old_share:
            en.append(f"lower the high-potential share of {spec.display()} from "
                      f"{pct(old_share)} to {pct(spec.hp_share)} (pools.{spec.name}.hp_share)")
            zh.append(f"将{spec.display()}的高潜力区域份额从 {pct(old_share)} 降至 "
                      f"{pct(spec.hp_share)}（pools.{spec.name}.hp_share）")
    for old, new in zip(scenario.groups, groups, strict=True):
        if old != new:
            parts_en, parts_zh = [], []
            if new.min_share is not None:
                parts_en.append(f"min {pct(new.min_share)}")
                parts_zh.append(f"最低 {pct(new.min_share)}")
            if new.min_amount is not None:
                parts_en.append(f"min_amount {new.min_amount:,g}")
                parts_zh.append(f"最少 {new.min_amount:,g}")
            if new.max_share is not None:
                parts_en.append(f"max {pct(new.max_share)}")
                parts_zh.append(f"最高 {pct(new.max_share)}")
            if new.max_amount is not None:
                parts_en.append(f"max_amount {new.max_amount:,g}")
                parts_zh.append(f"最多 {new.max_amount:,g}")
            en.append(f"set '{old.name}' to {', '.join(parts_en)}")
            zh.append(f"将“{old.name}”改为{'、'.join(parts_zh)}")
    return Relaxation("share", Text("Relax the share rules: " + "; ".join(en) + ".",
                                    "放宽份额规则：" + "；".join(zh) + "。"), changes, new_s)


def _tighten_shares(prep: Prepared, changes: dict[str, Any]) -> dict[str, Any]:
    """Move each relaxed share back toward its original value, one at a time on the
    0.0001 % grid, as far as the plan still solves with the others held.

    The elastic LP minimises the total shortfall per pool; when rules trade off (a tie) or
    one pool already forced a shared rule lower, a rule may be relaxed more than needed.
    After this pass, tightening any single relaxed rule by one grid step fails.
    """
    scenario = prep.scenario
    changes = dict(changes)

    def solves(ch: dict[str, Any]) -> bool:
        return _solves(prep, scenario.with_changes(**ch))

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
    for spec in changes.get("pools", ()):
        before = scenario.pool_spec(spec.name)
        if before is None or spec.hp_share is None or spec.hp_share == before.hp_share:
            continue
        old_share = scenario.pool_hp_share(spec.name)

        def put_pool(v: float, name: str = spec.name) -> dict[str, Any]:
            trial = dict(changes)
            _set_pool(trial, scenario, name, hp_share=v)
            return trial

        found = search(spec.hp_share, old_share, put_pool)
        _set_pool(changes, scenario, spec.name,
                  hp_share=before.hp_share if found == old_share else found)
    if "pools" in changes and tuple(changes["pools"]) == scenario.pools:
        del changes["pools"]

    def search_amount(new: float, old: float, unit: float, put: Any) -> float:
        """`search` for an amount: the value nearest to `old` in whole units that solves."""
        if solves(put(old)):
            return old
        good, bad = round(new / unit), round(old / unit)
        while abs(bad - good) > 1:
            mid = (good + bad) // 2
            if solves(put(mid * unit)):
                good = mid
            else:
                bad = mid
        v = good * unit
        return (int(v) if unit == 1 else v) if solves(put(v)) else new

    if "groups" in changes:
        groups = list(changes["groups"])
        for i, (old, new) in enumerate(zip(scenario.groups, changes["groups"], strict=True)):
            whole = any(scenario.pool_kind(q) == "headcount" for q in old.pools)
            for fld in ("min_share", "max_share", "min_amount", "max_amount"):
                a, b = getattr(old, fld), getattr(groups[i], fld)
                if a is None or b is None or a == b:
                    continue

                def put(v: float, i: int = i, fld: str = fld) -> dict[str, Any]:
                    trial = list(groups)
                    trial[i] = dataclasses.replace(trial[i], **{fld: v})
                    return {**changes, "groups": tuple(trial)}

                found = (search(b, a, put) if fld.endswith("share")
                         else search_amount(b, a, 1.0 if whole else 0.01, put))
                groups[i] = dataclasses.replace(groups[i], **{fld: found})
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


def relax_change_limit(prep: Prepared) -> Relaxation | None:
    """Widen each pool's change limit to the least value that solves (an added pool's
    own max_change)."""
    scenario, pools = prep.scenario, prep.pools
    changes: dict[str, Any] = {}
    widened: dict[str, float] = {}
    for p, pool in pools.items():
        if pool.delta is None or feasible(pool):
            continue
        sol = _lp(pool, pool.rules, mode="delta")
        if sol is None:
            continue
        d = _least_delta(pool, max(pool.delta, sol["delta"]))
        if d is not None:
            if scenario.pool_spec(p) is None:
                changes[f"{p}_max_change"] = d
            else:
                _set_pool(changes, scenario, p, max_change=d)
                widened[p] = d
    if not changes:
        return None
    new_s = scenario.with_changes(**changes)
    if not _solves(prep, new_s):
        return None
    builtin = {k.removesuffix("_max_change"): v for k, v in changes.items() if k != "pools"}
    en = [f"{_label(scenario, p)} ±{pct(v)}" for p, v in {**builtin, **widened}.items()]
    zh = [f"{_label(scenario, p, 'zh')} ±{pct(v)}" for p, v in {**builtin, **widened}.items()]
    return Relaxation("change_limit",
                      Text("Widen the change limits to: " + ", ".join(en) + ".",
                           "放宽变动限制至：" + "，".join(zh) + "。"), changes, new_s)


def relax_totals(prep: Prepared) -> Relaxation | None:
    """Move each infeasible pool's total by the least amount that solves."""
    scenario, pools = prep.scenario, prep.pools
    changes: dict[str, Any] = {}
    moved: dict[str, float] = {}
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
            value = int(v) if pool.integer else float(v)
            trial_changes: dict[str, Any] = {}
            if scenario.pool_spec(p) is None:
                trial_changes[f"{p}_total"] = value
            else:
                _set_pool(trial_changes, scenario, p, total=value)
            trial = scenario.with_changes(**trial_changes)
            if _pool_solves(prep, trial, p):  # the other pools may need their own change
                if scenario.pool_spec(p) is None:
                    changes[f"{p}_total"] = value
                else:
                    _set_pool(changes, scenario, p, total=value)
                moved[p] = value
                break
    if not changes:
        return None
    new_s = scenario.with_changes(**changes)
    if not _solves(prep, new_s):
        return None
    en, zh = [], []
    for p, v in moved.items():
        pool = pools[p]
        en.append(f"{_label(scenario, p)} {amount(pool, pool.total)} → {amount(pool, v)}")
        zh.append(f"{_label(scenario, p, 'zh')} {amount(pool, pool.total, 'zh')} → "
                  f"{amount(pool, v, 'zh')}")
    return Relaxation("totals", Text("Change the totals: " + "; ".join(en) + ".",
                                     "调整总量：" + "；".join(zh) + "。"), changes, new_s)


def relaxations(prep: Prepared) -> list[Relaxation]:
    """Every kind of least relaxation that makes the scenario solve (one kind at a time)."""
    out = []
    for f in (relax_shares, relax_change_limit, relax_totals):
        r = f(prep)
        if r is not None:
            out.append(r)
    return out

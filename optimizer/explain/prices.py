"""Which rules bind and what they cost, by solving again (never from raw LP duals).

For each binding share rule: the plan without it (region by region), the share the group
would get without it, the objective it costs, and the effect of moving it one percentage
point. For the per-region bounds: which regions sit on them and what lifting them all
would change.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from optimizer.explain.diagnose import amount
from optimizer.model.pools import Pool, ShareRule, pct
from optimizer.model.result import RulePrice, Status
from optimizer.model.rules import RuleId
from optimizer.solve.solver import Solution, solve_pool
from optimizer.words import Text


def live_regions(pool: Pool) -> np.ndarray:
    """The regions that can receive anything: not held at 0 by hi = 0 or by a single rule
    (a maximum share of 0; a minimum share of 100 % for the others), as in solve_pool, and
    with a weight > 0 (a region outside a pool's eligibility has weight 0 and lo = hi = 0:
    it is out of the objective)."""
    live = (pool.hi > 0) & (pool.weight > 0)
    for r in pool.rules:
        if r.max_share is not None and pool.rule_max(r) <= 0:
            live &= ~r.mask
        if r.min_share is not None and pool.rule_min(r) >= pool.total > 0:
            live &= r.mask
    return live


def objective(pool: Pool, x: np.ndarray) -> float:
    """Σ S·ln x over the regions that can receive anything; −∞ if one of them gets 0
    (e.g. a rounded plan with fewer people than regions; written as null in JSON)."""
    live = live_regions(pool)
    if pool.total <= 0:
        return 0.0
    if np.any(x[live] <= 0):
        return float("-inf")
    return float(np.sum(pool.weight[live] * np.log(x[live])))


def uniform_cut(pool: Pool, cost: float) -> float:
    """The uniform cut of every region that would lose as much objective as `cost`."""
    live = live_regions(pool)
    return 1.0 - math.exp(-cost / float(pool.weight[live].sum()))


def _share(pool: Pool, rule: ShareRule, x: np.ndarray) -> float:
    return float(x[rule.mask].sum()) / pool.total if pool.total > 0 else 0.0


def loosened_rule(pool: Pool, rule: ShareRule, is_min: bool) -> ShareRule:
    """The rule moved one step the loosening way: its share by one percentage point and
    its amount (`min_amount` / `max_amount`) by one person in a headcount pool or one
    percent of the total in a budget pool — so whichever of the two binds moves by one
    step (a rule's limit is the tighter of its share and its amount)."""
    step = 1.0 if pool.integer else 0.01 * pool.total
    if is_min:
        amount = None if rule.min_amount is None else max(0.0, rule.min_amount - step)
        return dataclasses.replace(rule, min_share=max(0.0, (rule.min_share or 0.0) - 0.01),
                                   min_amount=amount)
    amount = None if rule.max_amount is None else rule.max_amount + step
    share = 1.0 if rule.max_share is None else rule.max_share
    return dataclasses.replace(rule, max_share=min(1.0, share + 0.01), max_amount=amount)


def rule_prices(pool: Pool, sol: Solution) -> list[RulePrice]:
    """Binding share rules and per-region bounds of a solved pool, each with its price.

    `per_point_objective` is the objective gained when the rule moves one step
    (`loosened_rule`: a percentage point of share, or one person / one percent of the
    total for an amount). Every re-solve starts from the optimum's active set."""
    out: list[RulePrice] = []
    assert sol.x is not None
    x = sol.x
    obj = objective(pool, x) or 0.0
    names = pd.Index(pool.regions)
    for rule in pool.rules:
        if sol.rule_price.get(rule.name, 0.0) <= 0:
            continue
        is_min = rule.min_share is not None and _share(pool, rule, x) <= (
            pool.rule_min(rule) / pool.total + 1e-9)
        others = [r for r in pool.rules if r.name != rule.name]
        # solved again from the optimum's active set (the rule released), no fresh LP
        without = solve_pool(pool, others, start=x)
        if without.status != Status.OPTIMAL or without.x is None:
            continue
        moved = float(x[rule.mask].sum() - without.x[rule.mask].sum())
        share_wo = _share(pool, rule, without.x)
        cost = (objective(pool, without.x) or 0.0) - obj
        loosened = solve_pool(pool, [*others, loosened_rule(pool, rule, is_min)], start=x)
        per_point = None
        if loosened.status == Status.OPTIMAL and loosened.x is not None:
            per_point = (objective(pool, loosened.x) or 0.0) - obj
        cut = uniform_cut(pool, cost)
        ratio = sol.rule_price[rule.name] / sol.total_price if sol.total_price else 0.0
        where_en = f"into {rule.group}" if moved >= 0 else f"out of {rule.group}"
        where_zh = f"移入{rule.group_zh}" if moved >= 0 else f"移出{rule.group_zh}"
        label_en = f"{rule.label.en[0].upper()}{rule.label.en[1:]}"
        lower_zh = "低" if is_min else "高"
        if abs(moved) <= 1e-9 * max(pool.total, 1.0):
            # degenerate: the rule holds with equality, but the other rules and limits force
            # it anyway (its price is then not unique, so none is quoted)
            text = Text(
                f"{label_en} holds exactly, and the other rules and limits already force it: "
                f"without it the plan would be the same (their share {pct(share_wo)}).",
                f"{rule.label.zh}恰好满足，且其他规则与限额已决定了这一点：若无此规则，"
                f"方案不变（其份额 {pct(share_wo)}）。")
        else:
            text = Text(
                f"{label_en} binds: it moves "
                f"{amount(pool, abs(moved))} {where_en}; without it their share would be "
                f"{pct(share_wo)}. It costs as much score as a uniform {pct(cut)} cut of every "
                f"region; at the margin a unit there is worth {pct(ratio)} "
                f"{'less' if is_min else 'more'} than elsewhere.",
                f"{rule.label.zh}起约束作用：{where_zh} {amount(pool, abs(moved), 'zh')}；"
                f"若无此规则，其份额为 {pct(share_wo)}。其代价相当于所有区域统一削减 {pct(cut)}；"
                f"边际上，投入该组的每单位资源价值比其他区域{lower_zh} {pct(ratio)}。")
        out.append(RulePrice(
            name=rule.name, kind="share_min" if is_min else "share_max", text=text,
            regions=[n for n, m in zip(pool.regions, rule.mask, strict=True) if m],
            moved=moved, share_without=share_wo, objective_cost=cost,
            per_point_objective=per_point,
            delta=pd.Series(x - without.x, index=names, name=rule.name)))
    for kind, mask in (("upper_bound", sol.at_hi), ("lower_bound", sol.at_lo)):
        if mask is None:
            continue
        # a bound binds when the region would move past it at the optimum's prices
        with np.errstate(divide="ignore", invalid="ignore"):
            want = pool.weight / sol.price if sol.price is not None else x
        if kind == "upper_bound":
            binding = mask & (want > pool.hi * (1 + 1e-9)) & np.isfinite(pool.hi)
        else:
            binding = mask & (want < pool.lo * (1 - 1e-9)) & (pool.lo > 0)
        idx = np.nonzero(binding)[0]
        if len(idx) == 0:
            continue
        rid = RuleId(f"{kind}s", pool.name)  # upper_bounds_budget, lower_bounds_budget
        relaxed = dataclasses.replace(
            pool, hi=np.where(binding, np.inf, pool.hi) if kind == "upper_bound" else pool.hi,
            lo=np.where(binding, 0.0, pool.lo) if kind == "lower_bound" else pool.lo)
        without = solve_pool(relaxed, start=x)
        delta = None
        moved = None
        cost = None
        if without.status == Status.OPTIMAL and without.x is not None:
            delta = pd.Series(x - without.x, index=names, name=rid.name)
            moved = float(np.abs(x[idx] - without.x[idx]).sum())
            cost = (objective(pool, without.x) or 0.0) - obj
        shown = ", ".join(pool.regions[i] for i in idx[:8]) + (
            f" and {len(idx) - 8} more" if len(idx) > 8 else "")
        shown_zh = "、".join(pool.regions[i] for i in idx[:8]) + (
            f" 等 {len(idx)} 个区域" if len(idx) > 8 else "")
        if kind == "upper_bound":
            en = (f"{len(idx)} region(s) sit at their upper limit ({shown}); without those "
                  f"limits they would take {amount(pool, moved or 0)} more.")
            zh = (f"{len(idx)} 个区域达到上限（{shown_zh}）；若无上限，它们将多获得 "
                  f"{amount(pool, moved or 0, 'zh')}。")
        else:
            en = (f"{len(idx)} region(s) sit at their lower limit ({shown}); without those "
                  f"limits they would give up {amount(pool, moved or 0)}.")
            zh = (f"{len(idx)} 个区域处于下限（{shown_zh}）；若无下限，它们将让出 "
                  f"{amount(pool, moved or 0, 'zh')}。")
        out.append(RulePrice(
            name=rid.name, kind=kind, text=Text(en, zh),
            regions=[pool.regions[i] for i in idx], moved=moved, objective_cost=cost,
            delta=delta))
    return out

"""Why a pool cannot be planned: the rules that conflict, in the planner's terms, with numbers.

Implements docs/model.md's feasibility condition for every share rule against the bounds:
a region with lo > hi; Σ lo > X; Σ hi < X; and for a group g with need n and cap c:
max(Σ_g lo, n, X − Σ_{not g} hi) ≤ min(Σ_g hi, c, X − Σ_{not g} lo).
"""

from __future__ import annotations

import math

import numpy as np

from optimizer.pools import Pool, ShareRule, pct
from optimizer.result import Diagnosis, Text

TOL = 1e-9


def amount(pool: Pool, v: float, lang: str = "en") -> str:
    """An amount in the pool's unit: people, or CNY in m / 万."""
    if pool.integer:
        return f"{v:,.0f} people" if lang == "en" else f"{v:,.0f} 人"
    if lang == "en":
        return f"{v / 1e6:,.2f} m" if abs(v) >= 1e5 else f"{v:,.2f} CNY"
    return f"{v / 1e4:,.2f} 万" if abs(v) < 1e8 else f"{v / 1e8:,.4f} 亿"


def _both(pool: Pool, en: str, zh: str, **values: float) -> Text:
    return Text(en.format(**{k: amount(pool, v, "en") for k, v in values.items()}),
                zh.format(**{k: amount(pool, v, "zh") for k, v in values.items()}))


def _group_range(pool: Pool, rule: ShareRule) -> tuple[float, float]:
    """The least and most the group can get given every region's bounds and the total."""
    g = rule.mask
    x = pool.total
    least = max(float(pool.lo[g].sum()), x - float(pool.hi[~g].sum()))
    most = min(float(pool.hi[g].sum()), x - float(pool.lo[~g].sum()))
    return least, most


def max_feasible_share(pool: Pool, rule: ShareRule) -> float | None:
    """The largest minimum share the bounds allow for `rule`, rounded down so that it solves.

    None when the pool is infeasible for other reasons than this rule.
    """
    x = pool.total
    if x <= 0:
        return None
    if np.any(pool.lo > pool.hi + TOL * max(1.0, x)):
        return None  # a region's own limits conflict: no share can fix that
    least, most = _group_range(pool, rule)
    if least > most + TOL * max(1.0, x):
        return None
    if pool.integer:
        return math.floor(most + 1e-9) / x
    # to 0.0001 %, down, so that it still solves (within docs/model.md's tolerance)
    share = math.floor(most / x * 1e6 + 1e-6) / 1e6
    while share * x > most + TOL * max(1.0, x) and share > 0:
        share = round(share - 1e-6, 6)
    return max(0.0, share)


def diagnose(pool: Pool) -> Diagnosis | None:
    """None when the pool is feasible (docs/model.md's condition), else what conflicts and why."""
    x = pool.total
    tol = TOL * max(1.0, x)
    name_en, name_zh = ("headcount", "人员") if pool.integer else ("budget", "预算")
    bad = np.nonzero(pool.lo > pool.hi + tol)[0]
    if len(bad):
        i = int(bad[0])
        more = f" (and {len(bad) - 1} more regions)" if len(bad) > 1 else ""
        more_zh = f"（另有 {len(bad) - 1} 个区域同样）" if len(bad) > 1 else ""
        return Diagnosis(
            _both(pool, f"{pool.regions[i]}: its {name_en} minimum {{lo}} is above its maximum "
                  f"{{hi}} (min/max columns and change limit together){more}.",
                  f"{pool.regions[i]}：{name_zh}下限 {{lo}} 高于上限 {{hi}}"
                  f"（最小/最大列与变动限制共同决定）{more_zh}。",
                  lo=pool.lo[i], hi=pool.hi[i]),
            conflicts=[f"bounds_{pool.name}[{pool.regions[j]}]" for j in bad[:20]],
            max_share=None)
    lo_sum, hi_sum = float(pool.lo.sum()), float(pool.hi.sum())
    if lo_sum > x + tol:
        return Diagnosis(
            _both(pool, "the regions' minimums add up to {lo}, more than the total {x}.",
                  "各区域下限合计 {lo}，超过总量 {x}。", lo=lo_sum, x=x),
            conflicts=[f"total_{pool.name}", f"lower_bounds_{pool.name}"], max_share=None,
            details={"sum_min": lo_sum, "total": x})
    if hi_sum < x - tol:
        return Diagnosis(
            _both(pool, "the regions' maximums add up to {hi}, less than the total {x}.",
                  "各区域上限合计 {hi}，低于总量 {x}。", hi=hi_sum, x=x),
            conflicts=[f"total_{pool.name}", f"upper_bounds_{pool.name}"], max_share=None,
            details={"sum_max": hi_sum, "total": x})
    for rule in pool.rules:
        least, most = _group_range(pool, rule)
        need = pool.rule_min(rule) if rule.min_share is not None else 0.0
        cap = pool.rule_max(rule) if rule.max_share is not None else x
        g_hi, g_lo = float(pool.hi[rule.mask].sum()), float(pool.lo[rule.mask].sum())
        o_lo, o_hi = float(pool.lo[~rule.mask].sum()), float(pool.hi[~rule.mask].sum())
        share_txt = pct(rule.min_share or 0.0)
        ms = max_feasible_share(pool, rule) if rule.min_share is not None else None
        details = {"need": need, "cap": cap, "group_min": least, "group_max": most,
                   "total": x}
        if need > most + tol:
            if g_hi <= x - o_lo:
                en = ("{label} needs ≥ {need} in {group}; their limits allow at most {most}. "
                      "The largest share the limits allow is {ms}.")
                zh = ("{label}要求{group}至少 {need}；其上限合计最多 {most}。"
                      "限制允许的最大份额为 {ms}。")
            else:
                en = ("{label} needs ≥ {need} in {group}; the other regions must keep at least "
                      "{olo} (their minimums), which leaves at most {most}. The largest share "
                      "the limits allow is {ms}.")
                zh = ("{label}要求{group}至少 {need}；其他区域至少保留 {olo}（其下限），"
                      "最多只剩 {most}。限制允许的最大份额为 {ms}。")
            text = Text(
                en.format(label=rule.label.en, group=rule.group, need=amount(pool, need),
                          most=amount(pool, most), olo=amount(pool, o_lo),
                          ms=pct(ms) if ms is not None else "none"),
                zh.format(label=rule.label.zh, group=rule.group_zh,
                          need=amount(pool, need, "zh"), most=amount(pool, most, "zh"),
                          olo=amount(pool, o_lo, "zh"), ms=pct(ms) if ms is not None else "无"))
            conflicts = [f"{rule.name}_min",
                         f"upper_bounds_{pool.name}" if g_hi <= x - o_lo
                         else f"lower_bounds_{pool.name}"]
            return Diagnosis(text, conflicts, ms, {**details, "group_max_by_limits": g_hi})
        if cap < least - tol:
            text = Text(
                f"{rule.label.en} allows at most {amount(pool, cap)} in {rule.group}; "
                f"their limits require at least {amount(pool, least)}.",
                f"{rule.label.zh}允许{rule.group_zh}最多 {amount(pool, cap, 'zh')}；"
                f"其限制至少需要 {amount(pool, least, 'zh')}。")
            _ = (g_lo, o_hi, share_txt)
            return Diagnosis(text, [f"{rule.name}_max", f"lower_bounds_{pool.name}"], None,
                             details)
    return None

"""Why a pool cannot be planned: the rules that conflict, in the planner's terms, with numbers.

Implements docs/model.md's feasibility condition for every share rule against the bounds:
a region with lo > hi; Σ lo > X; Σ hi < X; and for a group g with need n and cap c:
max(Σ_g lo, n, X − Σ_{not g} hi) ≤ min(Σ_g hi, c, X − Σ_{not g} lo).
"""

from __future__ import annotations

import math

import numpy as np

from optimizer.fmt import fmt_amount
from optimizer.model.pools import Pool, ShareRule, pct
from optimizer.model.result import Diagnosis
from optimizer.model.rules import RuleId
from optimizer.words import Text, choose

TOL = 1e-9


def amount(pool: Pool, v: float, lang: str = "en") -> str:
    """An amount in the pool's unit, as a diagnosis writes it: `fmt.fmt_amount` in its
    precise style ("13 people", "50.00 CNY", "1.23 m", "123.45 万", "1.2345 亿")."""
    return fmt_amount(v, lang, people=pool.integer, precise=True)


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


def _names(names: list[str], lang: str, limit: int = 6) -> str:
    """Region names as a sentence lists them: 西南 and 西北; 西南、西北."""
    shown = names[:limit]
    more = len(names) - len(shown)
    zh = "、".join(shown) + (f" 等 {len(names)} 个区域" if more else "")
    if more:
        en = ", ".join(shown) + f" and {more} more"
    else:
        en = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
    return choose(lang, en, zh)


def eligibility_text(pool: Pool) -> Text | None:
    """"only 西南 and 西北 may receive it" for a pool some regions may not receive."""
    if pool.eligible.all():
        return None
    names = [pool.regions[i] for i in np.flatnonzero(pool.eligible)]
    if not names:
        return Text("no region may receive it", "没有任何区域可以获得")
    return Text(f"only {_names(names, 'en')} may receive it",
                f"只有{_names(names, 'zh')}可以获得")


def _hp_rule_without_hp_regions(pool: Pool, rule: ShareRule, need: float, x: float,
                                details: dict[str, float]) -> Diagnosis | None:
    """The high-potential rule of a pool whose eligible regions are not high-potential."""
    if rule.id.kind != "hp_share" or pool.eligible.all():
        return None
    if np.any(rule.mask & pool.eligible):
        return None
    elig = eligibility_text(pool)
    assert elig is not None
    label = pool.label
    key = f"pools.{pool.name}.hp_share"
    text = Text(
        f"{label.en}: {elig.en}, and none of them is high-potential, so {rule.label.en} "
        f"(≥ {amount(pool, need)} of {amount(pool, x)} in high-potential regions) cannot be "
        f"met. Set hp_share = 0 for this pool ({key} = 0).",
        f"{label.zh}：{elig.zh}，其中没有高潜力区域，因此无法满足{rule.label.zh}"
        f"（高潜力区域至少 {amount(pool, need, 'zh')}，总量 {amount(pool, x, 'zh')}）。"
        f"请将该资源池的 hp_share 设为 0（{key} = 0）。")
    return Diagnosis(text, [rule.id.with_sense("min"), RuleId("eligible", pool.name)], 0.0,
                     {**details, "eligible_high_potential": 0.0})


def diagnose(pool: Pool) -> Diagnosis | None:
    """None when the pool is feasible (docs/model.md's condition), else what conflicts and why.

    An added pool is named by its label; a pool some regions may not receive says who may.
    """
    x = pool.total
    tol = TOL * max(1.0, x)
    total = RuleId("total", pool.name)
    lower, upper = RuleId("lower_bounds", pool.name), RuleId("upper_bounds", pool.name)
    if pool.name in ("headcount", "budget"):
        name_en, name_zh = ("headcount", "人员") if pool.integer else ("budget", "预算")
    else:
        name_en, name_zh = pool.label.en, pool.label.zh
    elig = eligibility_text(pool)
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
            conflicts=[RuleId("bounds", pool.name, region=pool.regions[j]) for j in bad[:20]],
            max_share=None)
    lo_sum, hi_sum = float(pool.lo.sum()), float(pool.hi.sum())
    if lo_sum > x + tol:
        return Diagnosis(
            _both(pool, "the regions' minimums add up to {lo}, more than the total {x}.",
                  "各区域下限合计 {lo}，超过总量 {x}。", lo=lo_sum, x=x),
            conflicts=[total, lower], max_share=None,
            details={"sum_min": lo_sum, "total": x})
    if hi_sum < x - tol and elig is not None:
        return Diagnosis(
            _both(pool, f"{pool.label.en}: {elig.en}, and their limits allow at most {{hi}}, "
                  f"less than the total {{x}}.",
                  f"{pool.label.zh}：{elig.zh}，其上限合计最多 {{hi}}，低于总量 {{x}}。",
                  hi=hi_sum, x=x),
            conflicts=[total, upper, RuleId("eligible", pool.name)], max_share=None,
            details={"sum_max": hi_sum, "total": x})
    if hi_sum < x - tol:
        return Diagnosis(
            _both(pool, "the regions' maximums add up to {hi}, less than the total {x}.",
                  "各区域上限合计 {hi}，低于总量 {x}。", hi=hi_sum, x=x),
            conflicts=[total, upper], max_share=None,
            details={"sum_max": hi_sum, "total": x})
    for rule in pool.rules:
        least, most = _group_range(pool, rule)
        need = pool.rule_min(rule) if rule.min_share is not None else 0.0
        cap = pool.rule_max(rule) if rule.max_share is not None else x
        g_hi, g_lo = float(pool.hi[rule.mask].sum()), float(pool.lo[rule.mask].sum())
        o_lo, o_hi = float(pool.lo[~rule.mask].sum()), float(pool.hi[~rule.mask].sum())
        share_txt = pct(rule.min_share or 0.0)
        # the rule's minimum comes from its amount, not its share: no share to suggest
        by_amount = (rule.min_amount is not None
                     and rule.min_amount >= (rule.min_share or 0.0) * x - tol)
        ms = (max_feasible_share(pool, rule) if rule.min_share is not None and not by_amount
              else None)
        details = {"need": need, "cap": cap, "group_min": least, "group_max": most,
                   "total": x}
        if need > most + tol:
            found = _hp_rule_without_hp_regions(pool, rule, need, x, details)
            if found is not None:
                return found
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
            if by_amount:  # an amount rule: no share to suggest
                en = en.replace(" The largest share the limits allow is {ms}.", "")
                zh = zh.replace("限制允许的最大份额为 {ms}。", "")
            text = Text(
                en.format(label=rule.label.en, group=rule.group, need=amount(pool, need),
                          most=amount(pool, most), olo=amount(pool, o_lo),
                          ms=pct(ms) if ms is not None else "none"),
                zh.format(label=rule.label.zh, group=rule.group_zh,
                          need=amount(pool, need, "zh"), most=amount(pool, most, "zh"),
                          olo=amount(pool, o_lo, "zh"), ms=pct(ms) if ms is not None else "无"))
            if elig is not None:  # who may receive the pool is part of "their limits"
                text = Text(f"{pool.label.en} ({elig.en}): {text.en}",
                            f"{pool.label.zh}（{elig.zh}）：{text.zh}")
            conflicts = [rule.id.with_sense("min"), upper if g_hi <= x - o_lo else lower]
            return Diagnosis(text, conflicts, ms, {**details, "group_max_by_limits": g_hi})
        if cap < least - tol:
            text = Text(
                f"{rule.label.en} allows at most {amount(pool, cap)} in {rule.group}; "
                f"their limits require at least {amount(pool, least)}.",
                f"{rule.label.zh}允许{rule.group_zh}最多 {amount(pool, cap, 'zh')}；"
                f"其限制至少需要 {amount(pool, least, 'zh')}。")
            if elig is not None:
                text = Text(f"{pool.label.en} ({elig.en}): {text.en}",
                            f"{pool.label.zh}（{elig.zh}）：{text.zh}")
            _ = (g_lo, o_hi, share_txt)
            return Diagnosis(text, [rule.id.with_sense("max"), lower], None,
                             details)
    return None

"""Pure helpers between the widgets and the engine, so that the view holds no arithmetic.

Widget values travel as a plain dict keyed by widget key (`controls`):
`controls_from_scenario` fills the widgets from a scenario, `scenario_from_controls`
builds the scenario back. The other functions turn a `PlanResult` into what the page
shows: formatted tables, per-pool share figures, the one-click share fix.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from optimizer import PlanResult, Problem, Scenario, Status, allocation_table, fmt, t
from optimizer.inputs.regions import HIGH_POTENTIAL
from optimizer.inputs.scenario import DIMENSIONS, POOLS, Indicator
from optimizer.report.table import pool_values
from optimizer.words import choose, indicator_label, pool_label

FIRST_DATA_ROW = 2  # spreadsheet row of the first data row (header = row 1)


# --------------------------------------------------------------------------- widget keys

def weight_key(dim: str) -> str:
    return f"w_{dim}"


def ind_weight_key(name: str) -> str:
    return f"ind_w_{name}"


def ind_dir_key(name: str) -> str:
    return f"ind_dir_{name}"


def limit_on_key(pool: str) -> str:
    return f"limit_on_{pool}"


def limit_key(pool: str) -> str:
    return f"limit_{pool}"


def total_key(pool: str) -> str:
    return f"total_{pool}"


DEFAULT_LIMIT = 0.30  # what a change-limit slider shows before it is switched on
INDICATOR_WEIGHT_MAX = 3.0


def normalised_weights(weights: dict[str, float]) -> dict[str, float]:
    """Dimension weights scaled to sum to 1 (all zero stays all zero)."""
    total = sum(max(0.0, float(weights.get(d, 0.0))) for d in DIMENSIONS)
    if total <= 0:
        return {d: 0.0 for d in DIMENSIONS}
    return {d: max(0.0, float(weights.get(d, 0.0))) / total for d in DIMENSIONS}


def resolved_hp_rule(scenario: Scenario, regions: pd.DataFrame | None) -> str:
    """The high-potential rule the engine will apply (docs/model.md defaults)."""
    if scenario.hp_rule is not None:
        return scenario.hp_rule
    has_column = regions is not None and HIGH_POTENTIAL in regions.columns
    return "column" if has_column else "threshold"


def hp_rule_for_table(current: str | None, base: Scenario, regions: pd.DataFrame) -> str:
    """The rule to show after loading a table: the column rule only if it has the column."""
    rule = current or resolved_hp_rule(base, regions)
    if base.hp_rule is None:
        rule = resolved_hp_rule(base, regions)
    if rule == "column" and HIGH_POTENTIAL not in regions.columns:
        return "threshold"
    return rule


def indicator_slider_max(scenario: Scenario) -> float:
    """Upper end of the indicator-weight sliders: 3, or more when the scenario needs it."""
    top = max((i.weight for i in scenario.indicators.values()), default=1.0)
    return float(max(INDICATOR_WEIGHT_MAX, math.ceil(top)))


def limit_slider_max(value: float | None) -> float:
    """Upper end of a change-limit slider: ±100 %, or more when a limit needs it."""
    v = float(value or 0.0)
    return 1.0 if v <= 1.0 else float(math.ceil(v * 2) / 2)


def controls_from_scenario(scenario: Scenario, regions: pd.DataFrame | None) -> dict[str, Any]:
    """Widget values (by widget key) that show `scenario`."""
    c: dict[str, Any] = {}
    for d, w in normalised_weights(scenario.weights).items():
        c[weight_key(d)] = round(w, 4)
    for name, ind in scenario.indicators.items():
        c[ind_weight_key(name)] = float(ind.weight)
        c[ind_dir_key(name)] = ind.direction
    c["hp_share"] = float(scenario.hp_share)
    c["hp_rule"] = resolved_hp_rule(scenario, regions)
    c["hp_threshold"] = float(scenario.hp_threshold)
    c[total_key("headcount")] = scenario.headcount_total
    c[total_key("budget")] = None if scenario.budget_total is None else float(scenario.budget_total)
    for p in POOLS:
        limit = scenario.change_limit(p)
        c[limit_on_key(p)] = limit is not None
        c[limit_key(p)] = float(limit) if limit is not None else DEFAULT_LIMIT
    c["floor"] = float(scenario.floor)
    return c


def all_weights_zero(controls: dict[str, Any]) -> bool:
    """True when no dimension weight is above zero (the scenario would be invalid)."""
    return all(float(controls.get(weight_key(d)) or 0.0) <= 0 for d in DIMENSIONS)


def scenario_from_controls(base: Scenario, controls: dict[str, Any]) -> Scenario:
    """The scenario the widgets describe; settings without a widget come from `base`."""
    weights = {d: float(controls.get(weight_key(d), base.weights.get(d, 0.0))) for d in DIMENSIONS}
    indicators = {}
    for name, ind in base.indicators.items():
        indicators[name] = Indicator(
            ind.dimension,
            str(controls.get(ind_dir_key(name), ind.direction)),
            float(controls.get(ind_weight_key(name), ind.weight)),
        )
    limits: dict[str, float | None] = {}
    for p in POOLS:
        on = bool(controls.get(limit_on_key(p), base.change_limit(p) is not None))
        value = controls.get(limit_key(p), base.change_limit(p))
        limits[f"{p}_max_change"] = float(value) if on and value is not None else None
    headcount = controls.get(total_key("headcount"), base.headcount_total)
    budget = controls.get(total_key("budget"), base.budget_total)
    return base.with_changes(
        weights=weights,
        indicators=indicators,
        hp_share=float(controls.get("hp_share", base.hp_share)),
        hp_rule=controls.get("hp_rule", base.hp_rule),
        hp_threshold=float(controls.get("hp_threshold", base.hp_threshold)),
        headcount_total=None if headcount is None else int(headcount),
        budget_total=None if budget is None else float(budget),
        max_change=None,
        floor=float(controls.get("floor", base.floor)),
        **limits,
    )


def current_totals(regions: pd.DataFrame | None) -> dict[str, str]:
    """Σ current per pool, formatted, for the totals' placeholders."""
    out = {}
    for p in POOLS:
        col = f"current_{p}"
        if regions is None or col not in regions.columns:
            out[p] = fmt.DASH
            continue
        v = pd.to_numeric(regions[col], errors="coerce").sum()
        out[p] = f"{int(v):,}" if p == "headcount" else f"{float(v):,.0f}"
    return out


# --------------------------------------------------------------------------- problems

def problem_text(problem: Problem, lang: str) -> str:
    """An input problem with its place (file, row, column) in the page language."""
    return problem.render(lang)  # one rendering for the CLI and the app


def problems_markdown(problems: list[Problem], lang: str, limit: int = 30) -> str:
    """A bullet list of problems (the first `limit`, then how many more)."""
    lines = [f"- {problem_text(p, lang)}" for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"- … (+{len(problems) - limit})")
    return "\n".join(lines)


# --------------------------------------------------------------------------- pools

def pool_kind(scenario: Scenario, pool: str) -> str:
    """"headcount" (whole people) or "budget" (money) for a built-in or added pool."""
    if pool in POOLS:
        return pool
    spec = scenario.pool_spec(pool)
    return spec.kind if spec is not None else "budget"


def pool_title(scenario: Scenario, pool: str, lang: str) -> str:
    """A pool's name for the planner: 人员 / Headcount, or an added pool's label."""
    spec = scenario.pool_spec(pool) if pool not in POOLS else None
    return pool_label(pool, lang, spec.display() if spec is not None else None)


def result_pools(result: Any) -> list[str]:
    """The pools of a plan (or path) result: headcount, budget, then the added pools."""
    return list(result.pools)


def _sep(lang: str) -> str:
    return t("sep_colon", lang)


# --------------------------------------------------------------------------- results

def pool_figures(result: PlanResult, lang: str) -> list[dict[str, Any]]:
    """Per pool: label, status, share reached vs the rule, formatted for a metric."""
    out = []
    for p in result_pools(result):
        pool = result.pools[p]
        ok = pool.status == Status.OPTIMAL and pool.hp_share is not None
        delta = None
        if ok and pool.hp_share_current is not None:
            delta = fmt.fmt_signed_pp(pool.hp_share - pool.hp_share_current, lang=lang)
        out.append({
            "pool": p,
            "label": t("hp_metric", lang, pool=pool_title(result.scenario, p, lang)),
            "value": fmt.fmt_pct(pool.hp_share) if ok else t("hp_metric_none", lang),
            "delta": delta,
            "caption": t("hp_metric_caption", lang, required=fmt.fmt_pct(pool.hp_required),
                         current=fmt.fmt_pct(pool.hp_share_current)),
            "optimal": pool.status == Status.OPTIMAL,
        })
    return out


def reachable_share(result: PlanResult) -> float | None:
    """The largest high-potential share that makes every infeasible pool feasible.

    None when an added pool is infeasible: the sidebar's share would move every pool, while
    the engine's relaxations set that pool's own share (`pools.<name>.hp_share`).
    """
    if any(p not in POOLS and pool.status != Status.OPTIMAL
           for p, pool in result.pools.items()):
        return None
    return result.max_share()


def other_relaxations(result: PlanResult) -> list[Any]:
    """The engine's ways out other than lowering the share (wider limits, other totals)."""
    found = list(getattr(result, "relaxations", None) or [])
    if reachable_share(result) is None:
        return found
    return [r for r in found if r.kind != "share"]


def _amount(kind: str, v: Any, lang: str, signed: bool = False) -> str:
    """An amount of a pool of `kind` (people or CNY) as the page shows it."""
    return fmt.fmt_amount(v, lang, people=kind == "headcount", signed=signed)


def added_columns(scenario: Scenario) -> list[tuple[str, str, str]]:
    """(name, kind, display name) of each added pool, for `display_table`."""
    return [(p.name, p.kind, p.display()) for p in scenario.pools]


def _each(values: pd.Series, func: Any) -> pd.Series:
    """`values.map(func)`, with `func` called once per distinct value.

    The page's tables repeat many amounts (whole people, equal targets); formatting each
    distinct number once keeps a slider move's table quick. Floats are told apart by
    their bits (so -0.0 and 0.0, or two NaNs, each get their own call); other dtypes
    than numbers are mapped as they are.
    """
    arr = values.to_numpy()
    if arr.dtype.kind == "f":
        keys = np.ascontiguousarray(arr, dtype=np.float64).view(np.int64)
    elif arr.dtype.kind in "iub":
        keys = arr
    else:
        return values.map(func)
    if len(arr) == 0:
        return values.map(func)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    texts = np.array([func(v) for v in arr[first].astype(object)], dtype=object)
    return pd.Series(texts[inverse.reshape(-1)], index=values.index)


TABLE_ROWS = 1000  # the page shows at most this many regions; the export holds all


def display_allocation(result: PlanResult, lang: str,
                       limit: int | None = TABLE_ROWS) -> pd.DataFrame:
    """The allocation table as the page shows it: translated headers, 万/亿, signs, %.

    The built-in pools in full; each added pool with its proposed amount and, where it
    has a unit cost, its people cost (the pool picker shows one pool in full). Only the
    first `limit` regions (input order) are formatted and shown (None: all): formatting
    and drawing 10,000 rows on every slider move costs seconds; the downloads hold all.
    """
    table = allocation_table(result)
    if limit is not None and len(table) > limit:
        table = table.iloc[:limit]
    for spec in result.scenario.pools:  # where the export table lacks a pool's columns
        if spec.name in result.pools and spec.name not in table.columns:
            own = pool_table(result, spec.name)
            for c in own.columns.drop(["region", "high_potential"]):
                table[c] = own[c].to_numpy()
    return display_table(table, lang, added_columns(result.scenario))


def display_table(table: pd.DataFrame, lang: str,
                  added: list[tuple[str, str, str]] | None = None) -> pd.DataFrame:
    """An allocation table (`table.allocation_table` columns) formatted for the page.

    `added` (name, kind, display name) adds each added pool's proposed amount and its
    people cost where the table has the `<name>_cost` column.
    """
    out = pd.DataFrame(index=table.index)
    out[t("col_region", lang)] = table["region"]
    out[t("col_high_potential", lang)] = np.where(table["high_potential"].astype(bool),
                                                  t("yes", lang), t("no", lang))
    for d in (*DIMENSIONS, "score"):
        out[t(f"col_{d}", lang)] = _each(table[d], lambda v: fmt.DASH if pd.isna(v) else f"{v:.3f}")
    for p in POOLS:
        out[t(f"col_current_{p}", lang)] = _each(table[f"current_{p}"], lambda v, p=p:
                                                                    _amount(p, v, lang))
        out[t(f"col_{p}", lang)] = _each(table[p], lambda v, p=p: _amount(p, v, lang))
        out[t(f"col_{p}_change", lang)] = _each(table[f"{p}_change"],
            lambda v, p=p: _amount(p, v, lang, signed=True))
        out[t(f"col_{p}_change_pct", lang)] = _each(table[f"{p}_change_pct"], fmt.fmt_signed_pct)
        out[t(f"col_{p}_target", lang)] = _each(table[f"{p}_target"], lambda v, p=p:
                                                                   _amount(p, v, lang))
    for name, kind, label in added or []:
        if name not in table.columns:
            continue
        out[t("col_added", lang, pool=label)] = _each(table[name],
            lambda v, kind=kind: _amount(kind, v, lang))
        if f"{name}_cost" in table.columns:
            out[t("col_added_cost", lang, pool=label)] = _each(table[f"{name}_cost"],
                lambda v: fmt.fmt_cny(v, lang))
    return out


POOL_VIEW = ("current", "proposed", "change", "change_pct", "target", "cost")


def pool_table(result: PlanResult, pool: str) -> pd.DataFrame:
    """One pool's columns of the allocation table (`table.pool_values`, as
    `table.allocation_table` writes them): region, high_potential, current_<p>, <p>,
    <p>_change, <p>_change_pct, <p>_target (and <p>_cost where the pool has a unit cost) —
    also when another pool of the plan has none."""
    out = pd.DataFrame({"region": result.regions["region"].astype(str).to_numpy(),
                        "high_potential": np.asarray(result.high_potential, dtype=bool)})
    for column, values in pool_values(pool, result.pools[pool]).items():
        out[column] = values
    return out


def pool_view(result: PlanResult, pool: str, lang: str,
              limit: int | None = TABLE_ROWS) -> pd.DataFrame:
    """One pool in full (the pool picker's table): region, high potential, current,
    proposed, change, change %, score-proportional target, and people cost where the pool
    has a unit cost; amounts in the pool's unit. Only the first `limit` regions (None: all),
    as in `display_allocation`."""
    table = pool_table(result, pool)
    if limit is not None and len(table) > limit:
        table = table.iloc[:limit]
    kind = pool_kind(result.scenario, pool)
    out = pd.DataFrame(index=table.index)
    out[t("col_region", lang)] = table["region"]
    out[t("col_high_potential", lang)] = np.where(table["high_potential"].astype(bool),
                                                  t("yes", lang), t("no", lang))
    res = result.pools[pool]
    eligible = getattr(res, "eligible", None)
    if eligible is not None:
        out[t("col_eligible", lang)] = np.where(np.asarray(eligible, dtype=bool)[:len(table)],
                                                t("yes", lang), t("no", lang))
    out[t("col_pv_current", lang)] = _each(table[f"current_{pool}"],
                                           lambda v: _amount(kind, v, lang))
    out[t("col_pv_proposed", lang)] = _each(table[pool], lambda v: _amount(kind, v, lang))
    out[t("col_pv_change", lang)] = _each(table[f"{pool}_change"],
        lambda v: _amount(kind, v, lang, signed=True))
    out[t("col_pv_change_pct", lang)] = _each(table[f"{pool}_change_pct"], fmt.fmt_signed_pct)
    out[t("col_pv_target", lang)] = _each(table[f"{pool}_target"], lambda v: _amount(kind, v, lang))
    if f"{pool}_cost" in table.columns:
        out[t("col_pv_cost", lang)] = _each(table[f"{pool}_cost"], lambda v: fmt.fmt_cny(v, lang))
    return out


def pool_cost(result: PlanResult, pool: str) -> float | None:
    """The people cost of `pool` in total (CNY), None where the pool has no unit cost."""
    res = result.pools.get(pool)
    cost = getattr(res, "cost", None)
    if res is None or cost is None:
        return None
    return float(np.sum(np.asarray(cost, dtype=float)))


def people_cost_total(result: PlanResult) -> float | None:
    """The people cost of every pool with a unit cost, in total; None when none has one."""
    costs = [c for c in (pool_cost(result, p) for p in result_pools(result)) if c is not None]
    return float(sum(costs)) if costs else None


def pool_facts(result: PlanResult, pool: str, lang: str) -> list[dict[str, str]]:
    """The picked pool's figures for metrics: total, high-potential share, people cost."""
    res = result.pools[pool]
    kind = pool_kind(result.scenario, pool)
    facts = [{"label": t("pv_total", lang), "value": _amount(kind, res.total, lang)}]
    if res.status == Status.OPTIMAL and res.hp_share is not None:
        facts.append({"label": t("pv_hp", lang, required=fmt.fmt_pct(res.hp_required)),
                      "value": fmt.fmt_pct(res.hp_share)})
    unit = getattr(res, "unit_cost", None)
    cost = pool_cost(result, pool)
    if unit is not None:
        facts.append({"label": t("pv_unit_cost", lang), "value": fmt.fmt_cny(unit, lang)})
    if cost is not None:
        facts.append({"label": t("pv_cost", lang), "value": fmt.fmt_cny(cost, lang)})
    return facts


def _pools(result: Any, pools: list[str] | None) -> list[str]:
    return result_pools(result) if pools is None else [p for p in pools if p in result.pools]


def binding_lines(result: PlanResult, lang: str, pools: list[str] | None = None) -> list[str]:
    """One line per binding rule (its text says what it costs), or a 'no rule binds' line,
    for every pool (or the `pools` named)."""
    lines = []
    for p in _pools(result, pools):
        pool = result.pools[p]
        if pool.status != Status.OPTIMAL:
            continue
        label = pool_title(result.scenario, p, lang)
        if not pool.binding:
            lines.append(t("no_binding", lang, pool=label))
        for rule in pool.binding:
            lines.append(f"{label}{_sep(lang)}{rule.text(lang)}")
    return lines


def diagnosis_lines(result: PlanResult, lang: str, pools: list[str] | None = None) -> list[str]:
    """The diagnosis of each infeasible pool (or of the `pools` named), in the page language."""
    lines = []
    for p in _pools(result, pools):
        pool = result.pools[p]
        if pool.status == Status.INFEASIBLE and pool.diagnosis is not None:
            label, text = pool_title(result.scenario, p, lang), pool.diagnosis.text(lang)
            named = text.startswith((label + "：", label + ": ", label + ":"))
            lines.append(text if named else f"{label}{_sep(lang)}{text}")
    return lines


def hp_shares(result: PlanResult, lang: str) -> pd.DataFrame:
    """High-potential share per pool before (current) and after (proposed), and the rule."""
    rows = []
    for p in result_pools(result):
        pool = result.pools[p]
        label = pool_title(result.scenario, p, lang)
        rows.append({"pool": label, "series": t("kind_current", lang),
                     "share": pool.hp_share_current, "required": pool.hp_required})
        rows.append({"pool": label, "series": t("kind_proposed", lang),
                     "share": pool.hp_share, "required": pool.hp_required})
    return pd.DataFrame(rows)


def format_share(v: float | None) -> str:
    """A share for a button or a message: 57.3 %."""
    return fmt.fmt_pct(v)


def indicator_caption(name: str, ind: Indicator, lang: str) -> str:
    """An indicator's label with its dimension, for the expander."""
    return indicator_label(name, lang) + t("ind_dimension", lang,
                                           dim=t(f"dim_{ind.dimension}", lang))


def compare_pools(table: pd.DataFrame, scenario: Scenario | None = None) -> list[str]:
    """The pools a `whatif.compare` table holds: the built-ins, then the added pools of
    `scenario` that it has columns for."""
    names = [*POOLS, *(p.name for p in (scenario.pools if scenario is not None else ()))]
    return [p for p in names if f"{p}_a" in table.columns and f"{p}_b" in table.columns]


def display_compare(table: pd.DataFrame, names: tuple[str, str], lang: str,
                    scenario: Scenario | None = None,
                    limit: int | None = TABLE_ROWS) -> pd.DataFrame:
    """`whatif.compare` as the page shows it: A, B and B − A per pool, formatted.

    `scenario` (either side's) names the added pools, their kinds and labels. Only the
    first `limit` regions (None: all), as in `display_allocation`."""
    if limit is not None and len(table) > limit:
        table = table.iloc[:limit]
    out = pd.DataFrame(index=table.index)
    out[t("col_region", lang)] = table["region"]
    for p in compare_pools(table, scenario):
        label = pool_title(scenario, p, lang) if scenario is not None else pool_label(p, lang)
        kind = pool_kind(scenario, p) if scenario is not None else p
        out[f"{label} · A"] = _each(table[f"{p}_a"], lambda v, k=kind: _amount(k, v, lang))
        out[f"{label} · B"] = _each(table[f"{p}_b"], lambda v, k=kind: _amount(k, v, lang))
        out[t("col_diff", lang, name=label)] = _each(table[f"{p}_diff"],
            lambda v, k=kind: _amount(k, v, lang, signed=True))
    return out


# --------------------------------------------------------------------------- rule prices

def pool_weight(result: PlanResult, pool: str) -> np.ndarray:
    """The allocation weight S of `pool` per region (docs/model.md, "More pools"): the
    built-ins' is the scores' `weight`; an added pool's comes from the same dimension
    scores with its own dimension weights (a dimension with no score or weight 0 is left
    out) and the same floor."""
    scores = result.scores
    if pool in POOLS or result.scenario.pool_spec(pool) is None:
        return scores["weight"].to_numpy(dtype=float)
    weights = result.scenario.pool_weights(pool)
    active = [d for d in DIMENSIONS if d in scores.columns and scores[d].notna().any()
              and weights.get(d, 0.0) > 0]
    if active:
        total = sum(weights[d] for d in active)
        composite = sum(scores[d].to_numpy(dtype=float) * weights[d] for d in active) / total
    else:
        composite = np.ones(len(scores))
    floor = float(result.scenario.floor)
    return floor + (1.0 - floor) * np.asarray(composite, dtype=float)


def live_weight(result: PlanResult, pool: str) -> float:
    """Σ S over the regions that can receive anything in `pool` (the objective's regions)."""
    res = result.pools[pool]
    weight = pool_weight(result, pool)
    return float(weight[np.asarray(res.hi) > 0].sum())


def uniform_change(objective_gain: float | None, sum_weight: float) -> float | None:
    """The uniform change of every region worth `objective_gain` of Σ S·ln x: e^(g/ΣS) − 1.

    A loss gives a negative change (the uniform cut is its opposite).
    """
    if objective_gain is None or sum_weight <= 0 or not math.isfinite(objective_gain):
        return None
    return math.expm1(objective_gain / sum_weight)


def _per_value(scenario: Scenario, number: int, part: int,
               regions: pd.DataFrame | None) -> str | None:
    """The column value of part `part` of the `per` group rule `number` (values in order of
    first appearance, as the rule is expanded), None when it cannot be told."""
    g = scenario.groups[number - 1]
    if g.per is None or regions is None or g.per not in regions.columns:
        return None
    col = regions[g.per].astype(str).str.strip()
    if g.regions is not None:
        col = col[regions["region"].astype(str).isin(g.regions).to_numpy()]
    elif g.column is not None or g.score is not None:
        return None  # members chosen by a column or a score: the engine's text names them
    values = [v for v in dict.fromkeys(col.tolist()) if v not in ("", "nan")]
    return values[part - 1] if 0 < part <= len(values) else None


def rule_label(name: Any, scenario: Scenario, lang: str,
               regions: pd.DataFrame | None = None) -> str:
    """A rule — an `optimizer.model.rules.RuleId`, or its constraint name (`hp_share_budget`,
    `group_2_headcount_max`, …) — in planner words.

    A name is looked up among the rules the scenario emits (`optimizer.model.rules.find`), never
    taken apart; a name no rule of the scenario has is shown as it is. A `per` group rule's
    part (`group_1_2_director`) is named by its column value when `regions` (the table it
    was expanded on) is given, else by its number.
    """
    from optimizer import RuleId
    from optimizer.model.rules import find

    rid = name if isinstance(name, RuleId) else find(str(name), scenario, regions)
    if rid is None:
        return str(name)
    p = rid.pool
    keys = {"upper_bounds": "rule_upper", "lower_bounds": "rule_lower", "total": "rule_total",
            "min_max_columns": "rule_columns"}
    if rid.kind == "hp_share":
        return t("rule_hp_label", lang, share=fmt.fmt_pct(scenario.pool_hp_share(p), 0))
    if rid.kind in keys:
        return t(keys[rid.kind], lang)
    if rid.kind == "change_limit":
        return t("rule_change_limit", lang,
                 limit=fmt.fmt_pct(scenario.change_limit(p), 2) if
                 scenario.change_limit(p) is not None else fmt.DASH)
    if rid.kind == "group" and rid.group is not None and 0 < rid.group <= len(scenario.groups):
        group = scenario.groups[rid.group - 1].name
        if rid.part is None:
            return t("rule_group_label", lang, name=group)
        value = _per_value(scenario, rid.group, rid.part, regions)
        return t("rule_group_label", lang,
                 name=f"{group}: {value}" if value is not None else f"{group} #{rid.part}")
    if rid.kind in ("bounds", "eligible", "spent"):
        return rid.label(scenario)(lang)
    return rid.name


def _signed_move(rule: Any) -> float | None:
    """What the rule moves into its regions (negative: out of them)."""
    if rule.delta is not None and rule.regions:
        return float(rule.delta.reindex(rule.regions).fillna(0.0).sum())
    return rule.moved


def _region_list(regions: list[str], lang: str, limit: int = 6) -> str:
    sep = t("sep_list", lang)
    shown = sep.join(regions[:limit])
    if len(regions) > limit:
        shown += t("more_regions", lang, n=len(regions) - limit)
    return shown


def price_table(result: PlanResult, lang: str, pools: list[str] | None = None) -> pd.DataFrame:
    """One row per binding rule of each solved pool (or of the `pools` named): what it
    moves and what it costs."""
    rows = []
    for p in _pools(result, pools):
        pool = result.pools[p]
        if pool.status != Status.OPTIMAL:
            continue
        sum_w = live_weight(result, p)
        for rule in pool.binding:
            cost = uniform_change(-rule.objective_cost if rule.objective_cost is not None
                                  else None, sum_w)
            gain = uniform_change(rule.per_point_objective, sum_w)
            per_point = (fmt.DASH if rule.per_point_objective is None else
                         f"{rule.per_point_objective:+.4f} (≈ {fmt.fmt_signed_pct(gain, 2)})")
            rows.append({
                t("col_pool", lang): pool_title(result.scenario, p, lang),
                t("col_rule", lang): rule_label(rule.name, result.scenario, lang,
                                                result.regions),
                t("col_rule_regions", lang): _region_list(rule.regions, lang),
                t("col_moves", lang): _amount(pool_kind(result.scenario, p), _signed_move(rule),
                                              lang, signed=True),
                t("col_share_without", lang): fmt.fmt_pct(rule.share_without),
                t("col_cost", lang): fmt.fmt_pct(None if cost is None else -cost, 2),
                t("col_per_point", lang): per_point,
            })
    columns = [t(k, lang) for k in ("col_pool", "col_rule", "col_rule_regions", "col_moves",
                                    "col_share_without", "col_cost", "col_per_point")]
    return pd.DataFrame(rows, columns=columns)


def price_deltas(result: PlanResult, pool: str, lang: str) -> pd.DataFrame:
    """Region by region, each binding rule's effect: allocation with it minus without it.

    Columns: rule (label), region, delta; regions in input order.
    """
    res = result.pools[pool]
    frames = []
    if res.status == Status.OPTIMAL:
        for rule in res.binding:
            if rule.delta is None:
                continue
            frames.append(pd.DataFrame({
                "rule": rule_label(rule.name, result.scenario, lang, result.regions),
                "region": rule.delta.index.astype(str),
                "delta": rule.delta.to_numpy(dtype=float)}))
    if not frames:
        return pd.DataFrame({"rule": pd.Series(dtype=str), "region": pd.Series(dtype=str),
                             "delta": pd.Series(dtype=float)})
    return pd.concat(frames, ignore_index=True)


def score_lines(result: PlanResult, lang: str, pools: list[str] | None = None) -> list[str]:
    """Per solved pool: the plan's score against today's allocation, and what rounding costs.

    Today's allocation is scaled to the plan's total (Σ S·ln(k·c) = Σ S·ln c + ΣS·ln k), so
    the figure is what reallocating gains beyond growing every region alike; when today's
    allocation meets every rule the plan is never worse (it maximises the same score).
    """
    lines = []
    for p in _pools(result, pools):
        pool = result.pools[p]
        if pool.status != Status.OPTIMAL or pool.objective is None:
            continue
        label = pool_title(result.scenario, p, lang)
        sum_w = live_weight(result, p)
        today = float(np.sum(pool.current))
        parts = []
        if pool.objective_current is None or today <= 0 or pool.total <= 0:
            parts.append(t("score_no_today", lang))
        else:
            gain = uniform_change(pool.objective - pool.objective_current
                                  - sum_w * math.log(pool.total / today), sum_w)
            key = "score_vs_today_same" if math.isclose(pool.total, today) else "score_vs_today"
            parts.append(t(key, lang, change=fmt.fmt_signed_pct(gain, 1)))
        parts.append(t("today_meets" if pool.current_meets_rules else "today_breaks", lang))
        if pool.integer and pool.objective_continuous is not None:
            cost = uniform_change(pool.objective_continuous - pool.objective, sum_w)
            parts.append(t("rounding_cost", lang,
                           cut=fmt.fmt_pct(None if cost is None else max(cost, 0.0), 3)))
        lines.append(label + t("sep_colon", lang) + choose(lang, " ", "").join(parts))
    return lines


def conflict_labels(result: PlanResult, lang: str, pools: list[str] | None = None) -> list[str]:
    """Per infeasible pool: the conflicting rules' names, in words and as constraint names."""
    lines = []
    for p in _pools(result, pools):
        pool = result.pools[p]
        if pool.status != Status.INFEASIBLE or pool.diagnosis is None:
            continue
        ids = pool.diagnosis.conflict_ids
        if not ids:
            continue
        words = t("sep_semicolon", lang).join(
            f"{rule_label(i, result.scenario, lang, result.regions)} (`{i.name}`)" for i in ids)
        lines.append(t("conflicts", lang, pool=pool_title(result.scenario, p, lang),
                       rules=words))
    return lines


# --------------------------------------------------------------------------- multi-year


def path_span(years: list[int]) -> str:
    """2024–2026 (or one year)."""
    if not years:
        return fmt.DASH
    return str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"


def path_long(result: Any, pool: str, lang: str) -> pd.DataFrame:
    """One row per region and period (today, then each planned year) for the path chart.

    Columns: region, period (label), order, amount, group (high-potential or not).
    """
    pp = result.pools[pool]
    names = result.regions["region"].astype(str).tolist()
    hp = np.asarray(result.high_potential, dtype=bool)
    group = np.where(hp, t("group_hp", lang), t("group_other", lang))
    frames = [pd.DataFrame({"region": names, "period": t("period_today", lang), "order": 0,
                            "amount": np.asarray(pp.current, dtype=float), "group": group})]
    if pp.allocation is not None:
        for i, y in enumerate(result.years, start=1):
            frames.append(pd.DataFrame({"region": names, "period": str(y), "order": i,
                                        "amount": pp.allocation[:, i - 1].astype(float),
                                        "group": group}))
    return pd.concat(frames, ignore_index=True)


def path_shares(result: Any, pool: str, lang: str) -> pd.DataFrame:
    """Per period: the high-potential share reached and the share each year requires."""
    pp = result.pools[pool]
    hp = np.asarray(result.high_potential, dtype=bool)
    today = float(np.sum(pp.current))
    rows = [{"period": t("period_today", lang), "order": 0,
             "share": float(np.sum(pp.current[hp])) / today if today > 0 else None,
             "required": None}]
    for i, (y, need) in enumerate(zip(result.years, pp.shares, strict=True), start=1):
        share = pp.hp_share[i - 1] if pp.hp_share else None
        rows.append({"period": str(y), "order": i, "share": share, "required": float(need)})
    return pd.DataFrame(rows)


def display_path(result: Any, pool: str, lang: str) -> pd.DataFrame:
    """Region × year table of one pool, formatted (today, each year, change over the path)."""
    pp = result.pools[pool]
    out = pd.DataFrame()
    out[t("col_region", lang)] = result.regions["region"].astype(str).to_numpy()
    out[t("col_high_potential", lang)] = np.where(np.asarray(result.high_potential, dtype=bool),
                                                  t("yes", lang), t("no", lang))
    now = np.asarray(pp.current, dtype=float)
    kind = pool_kind(result.scenario, pool)
    out[t("period_today", lang)] = [_amount(kind, v, lang) for v in now]
    if pp.allocation is None:
        return out
    for i, y in enumerate(result.years):
        out[str(y)] = [_amount(kind, v, lang) for v in pp.allocation[:, i]]
    last = pp.allocation[:, -1].astype(float)
    out[t("col_path_change", lang)] = [_amount(kind, v, lang, signed=True) for v in last - now]
    return out


def progress_value(done: int, total: int) -> float:
    """A progress bar's value from a count of finished draws."""
    return min(1.0, done / total) if total > 0 else 1.0


def path_pool_lines(result: Any, pool: str, lang: str) -> list[str]:
    """What the path of a pool reaches each year, and the least change limit that solves."""
    pp = result.pools[pool]
    lines = []
    if pp.status == Status.OPTIMAL:
        shares = t("sep_clause", lang).join(
            t("year_share", lang, year=y, share=fmt.fmt_pct(s), required=fmt.fmt_pct(r, 0))
            for y, s, r in zip(pp.years, pp.hp_share, pp.shares, strict=True))
        lines.append(t("path_shares", lang, shares=shares))
    limit = result.scenario.change_limit(pool)
    lines.append(t("path_limit", lang, limit=t("no_limit", lang) if limit is None else
                   "±" + fmt.fmt_pct(limit, 2)))
    if pp.required_change is not None:
        lines.append(t("path_required", lang, limit="±" + fmt.fmt_pct(pp.required_change, 2)))
    else:
        lines.append(t("path_required_none", lang))
    return lines


def required_change_fix(result: Any) -> dict[str, float]:
    """The least change limit of every pool that breaks, as `<pool>_max_change` entries
    (`apply_limits` turns them into a scenario, added pools included)."""
    out = {}
    for p, pp in result.pools.items():
        if pp.status != Status.OPTIMAL and pp.required_change is not None:
            out[f"{p}_max_change"] = float(pp.required_change)
    return out


def apply_limits(scenario: Scenario, changes: dict[str, Any]) -> Scenario:
    """`scenario` with `changes`, where `<pool>_max_change` of an added pool sets that
    pool's own `max_change` (the built-ins' are scenario fields)."""
    from dataclasses import replace

    own: dict[str, Any] = {}
    pools = list(scenario.pools)
    for key, value in changes.items():
        name = key.removesuffix("_max_change")
        spec = scenario.pool_spec(name) if key.endswith("_max_change") else None
        if spec is None:
            own[key] = value
            continue
        pools = [replace(p, max_change=value) if p.name == name else p for p in pools]
    if pools != list(scenario.pools):
        own["pools"] = tuple(pools)
    return scenario.with_changes(**own)


def fix_text(changes: dict[str, float], lang: str, scenario: Scenario | None = None) -> str:
    """The label of the apply-the-required-change button (`scenario` names added pools)."""
    sep = t("sep_clause", lang)

    def name(key: str) -> str:
        pool = key.removesuffix("_max_change")
        return pool_title(scenario, pool, lang) if scenario is not None else pool_label(pool,
                                                                                          lang)

    parts = [f"{name(k)} ±{fmt.fmt_pct(v, 2)}" for k, v in changes.items()]
    return t("apply_required", lang, limits=sep.join(parts))


# --------------------------------------------------------------------------- sensitivity

SENS_SMALL = 50_000  # draws × regions below which the draws are solved in this process


def sensitivity_workers(n_regions: int, draws: int, cores: int) -> int:
    """Worker processes for a sensitivity run from the page: none for a small run (starting
    processes costs more than it saves), else every core."""
    return 1 if n_regions * draws < SENS_SMALL else max(1, cores)


def run_key(regions: pd.DataFrame, scenario: Scenario) -> tuple[str, int]:
    """An identity of the inputs of a run, to tell a result computed for other inputs."""
    from optimizer import scenario_to_toml

    digest = int(pd.util.hash_pandas_object(regions, index=False).sum())
    return scenario_to_toml(scenario), digest


def display_sensitivity(table: pd.DataFrame, lang: str,
                        scenario: Scenario | None = None) -> pd.DataFrame:
    """The sensitivity table as the page shows it: amounts, frequencies as %.

    `scenario` gives the added pools' labels and kinds."""
    out = pd.DataFrame(index=table.index)
    out[t("col_region", lang)] = table["region"].astype(str)

    def title(p: Any) -> str:
        return pool_title(scenario, str(p), lang) if scenario is not None else pool_label(
            str(p), lang)

    def kind(p: Any) -> str:
        return pool_kind(scenario, str(p)) if scenario is not None else str(p)

    out[t("col_pool", lang)] = table["pool"].map(title)

    def amount(col: str) -> pd.Series:
        return pd.Series([_amount(kind(p), v, lang) for p, v in zip(table["pool"], table[col],
                                                                     strict=True)],
                         index=table.index)

    for col in ("current", "base", "median", "p10", "p90"):
        out[t(f"col_sens_{col}", lang)] = amount(col)
    out[t("col_gain_freq", lang)] = table["gain_freq"].map(fmt.fmt_pct)
    out[t("col_hp_freq", lang)] = table["hp_freq"].map(fmt.fmt_pct)
    return out

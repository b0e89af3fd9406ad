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

from optimizer import fmt
from optimizer.errors import Problem
from optimizer.export import allocation_table
from optimizer.i18n import indicator_label, pool_label, t
from optimizer.regions import BOUND_COLUMNS, HIGH_POTENTIAL, required_columns
from optimizer.result import PlanResult, Status
from optimizer.scenario import DIMENSIONS, POOLS, Indicator, Scenario

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
    """The high-potential rule the engine will apply (MODEL.md defaults)."""
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


# --------------------------------------------------------------------------- data editor

def editor_frame(regions: pd.DataFrame) -> pd.DataFrame:
    """The table as the data editor shows it: index = spreadsheet row, text columns as text.

    Numbering rows as a spreadsheet does makes an error's "row R" point at the editor
    row labelled R. Columns of mixed types (kept, unused extra columns) become text so
    that the grid can show them.
    """
    df = regions.copy()
    df.attrs = {}
    for col in df.columns:
        if df[col].dtype == object:
            df[col] = df[col].map(lambda v: "" if v is None or (isinstance(v, float)
                                                                 and math.isnan(v)) else str(v))
    df.index = pd.RangeIndex(FIRST_DATA_ROW, FIRST_DATA_ROW + len(df), name="row")
    return df


def validation_key(scenario: Scenario) -> str:
    """Every part of a scenario that `validate_regions` reads, as one string.

    The required columns (indicators with weight > 0 in a dimension of weight > 0),
    the indicator names, the high-potential rule and the group rules; weights beyond
    "zero or not" do not change what validation finds.
    """
    return repr((required_columns(scenario), list(scenario.indicators), scenario.hp_rule,
                 scenario.groups))


def editor_to_raw(edited: pd.DataFrame) -> pd.DataFrame:
    """The edited grid as a raw table for `validate_regions`, keeping the grid's row labels.

    A deleted row becomes a blank row (which validation skips while keeping the numbers
    of the rows after it), so that "row R" in a message is the grid row labelled R; added
    rows (labelled after the last one) follow.
    """
    labels = pd.to_numeric(pd.Series(edited.index, dtype=object), errors="coerce")
    top = int(labels.max()) if labels.notna().any() else FIRST_DATA_ROW - 1
    filled = []
    for v in labels:
        if pd.isna(v):
            top += 1
            filled.append(top)
        else:
            filled.append(int(v))
    if len(set(filled)) != len(filled) or min(filled, default=FIRST_DATA_ROW) < FIRST_DATA_ROW:
        return edited.reset_index(drop=True)
    full = edited.set_axis(filled).reindex(range(FIRST_DATA_ROW, max(filled, default=1) + 1))
    return full.reset_index(drop=True)


def regions_csv_bytes(regions: pd.DataFrame) -> bytes:
    """A validated regions table as CSV (UTF-8 with BOM) that `read_regions` reads back equal.

    Floats are written with their shortest exact representation; empty bound columns
    that the original input did not have are left out.
    """
    df = regions.copy()
    df.attrs = {}
    empty_bounds = [c for c in BOUND_COLUMNS if c in df.columns and df[c].isna().all()]
    df = df.drop(columns=empty_bounds)
    return df.to_csv(index=False, lineterminator="\n").encode("utf-8-sig")


# --------------------------------------------------------------------------- problems

def problem_text(problem: Problem, lang: str) -> str:
    """An input problem with its place (file, row, column) in the page language."""
    parts = [problem.file]
    if problem.row is not None:
        parts.append(t("loc_row", lang, row=problem.row))
    if problem.column is not None:
        parts.append(t("loc_column", lang, column=problem.column))
    return t("problem", lang, where=t("loc_sep", lang).join(parts), message=problem.message)


def problems_markdown(problems: list[Problem], lang: str, limit: int = 30) -> str:
    """A bullet list of problems (the first `limit`, then how many more)."""
    lines = [f"- {problem_text(p, lang)}" for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"- … (+{len(problems) - limit})")
    return "\n".join(lines)


# --------------------------------------------------------------------------- results

def pool_figures(result: PlanResult, lang: str) -> list[dict[str, Any]]:
    """Per pool: label, status, share reached vs the rule, formatted for a metric."""
    out = []
    for p in POOLS:
        pool = result.pools[p]
        ok = pool.status == Status.OPTIMAL and pool.hp_share is not None
        delta = None
        if ok and pool.hp_share_current is not None:
            delta = fmt.fmt_signed_pp(pool.hp_share - pool.hp_share_current, lang=lang)
        out.append({
            "pool": p,
            "label": t("hp_metric", lang, pool=pool_label(p, lang)),
            "value": fmt.fmt_pct(pool.hp_share) if ok else t("hp_metric_none", lang),
            "delta": delta,
            "caption": t("hp_metric_caption", lang, required=fmt.fmt_pct(pool.hp_required),
                         current=fmt.fmt_pct(pool.hp_share_current)),
            "optimal": pool.status == Status.OPTIMAL,
        })
    return out


def reachable_share(result: PlanResult) -> float | None:
    """The largest high-potential share that makes every infeasible pool feasible.

    None when the plan is feasible, or when some infeasible pool cannot be fixed by
    lowering the share (its diagnosis has no `max_share`).
    """
    shares = []
    for pool in result.pools.values():
        if pool.status != Status.INFEASIBLE:
            continue
        if pool.diagnosis is None or pool.diagnosis.max_share is None:
            return None
        shares.append(float(pool.diagnosis.max_share))
    return min(shares) if shares else None


def other_relaxations(result: PlanResult) -> list[Any]:
    """The engine's ways out other than lowering the share (wider limits, other totals)."""
    found = list(getattr(result, "relaxations", None) or [])
    if reachable_share(result) is None:
        return found
    return [r for r in found if r.kind != "share"]


def _amount(p: str, v: Any, lang: str, signed: bool = False) -> str:
    if p == "headcount":
        return fmt.fmt_signed_people(v, lang) if signed else fmt.fmt_people(v, lang)
    return fmt.fmt_signed_cny(v, lang) if signed else fmt.fmt_cny(v, lang)


def display_allocation(result: PlanResult, lang: str) -> pd.DataFrame:
    """The allocation table as the page shows it: translated headers, 万/亿, signs, %."""
    return display_table(allocation_table(result), lang)


def display_table(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """An allocation table (`export.allocation_table` columns) formatted for the page."""
    out = pd.DataFrame(index=table.index)
    out[t("col_region", lang)] = table["region"]
    out[t("col_high_potential", lang)] = np.where(table["high_potential"].astype(bool),
                                                  t("yes", lang), t("no", lang))
    for d in (*DIMENSIONS, "score"):
        out[t(f"col_{d}", lang)] = table[d].map(lambda v: fmt.DASH if pd.isna(v) else f"{v:.3f}")
    for p in POOLS:
        out[t(f"col_current_{p}", lang)] = table[f"current_{p}"].map(lambda v, p=p:
                                                                    _amount(p, v, lang))
        out[t(f"col_{p}", lang)] = table[p].map(lambda v, p=p: _amount(p, v, lang))
        out[t(f"col_{p}_change", lang)] = table[f"{p}_change"].map(
            lambda v, p=p: _amount(p, v, lang, signed=True))
        out[t(f"col_{p}_change_pct", lang)] = table[f"{p}_change_pct"].map(fmt.fmt_signed_pct)
        out[t(f"col_{p}_target", lang)] = table[f"{p}_target"].map(lambda v, p=p:
                                                                   _amount(p, v, lang))
    return out


def binding_lines(result: PlanResult, lang: str) -> list[str]:
    """One line per binding rule (its text says what it costs), or a 'no rule binds' line."""
    lines = []
    for p in POOLS:
        pool = result.pools[p]
        if pool.status != Status.OPTIMAL:
            continue
        if not pool.binding:
            lines.append(t("no_binding", lang, pool=pool_label(p, lang)))
        for rule in pool.binding:
            lines.append(f"{pool_label(p, lang)}：{rule.text(lang)}" if lang == "zh"
                         else f"{pool_label(p, lang)}: {rule.text(lang)}")
    return lines


def diagnosis_lines(result: PlanResult, lang: str) -> list[str]:
    """The diagnosis of each infeasible pool, in the page language."""
    lines = []
    for p in POOLS:
        pool = result.pools[p]
        if pool.status == Status.INFEASIBLE and pool.diagnosis is not None:
            sep = "：" if lang == "zh" else ": "
            lines.append(f"{pool_label(p, lang)}{sep}{pool.diagnosis.text(lang)}")
    return lines


def hp_shares(result: PlanResult, lang: str) -> pd.DataFrame:
    """High-potential share per pool before (current) and after (proposed), and the rule."""
    rows = []
    for p in POOLS:
        pool = result.pools[p]
        label = pool_label(p, lang)
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


def display_compare(table: pd.DataFrame, names: tuple[str, str], lang: str) -> pd.DataFrame:
    """`whatif.compare` as the page shows it: A, B and B − A per pool, formatted."""
    out = pd.DataFrame(index=table.index)
    out[t("col_region", lang)] = table["region"]
    for p in POOLS:
        label = pool_label(p, lang)
        out[f"{label} · A"] = table[f"{p}_a"].map(lambda v, p=p: _amount(p, v, lang))
        out[f"{label} · B"] = table[f"{p}_b"].map(lambda v, p=p: _amount(p, v, lang))
        out[t("col_diff", lang, name=label)] = table[f"{p}_diff"].map(
            lambda v, p=p: _amount(p, v, lang, signed=True))
    return out

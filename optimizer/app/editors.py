"""The page's editors, between their grids and the engine: the regions table (edited cells
back to a raw table with spreadsheet row numbers), the pools table (rows ↔ `[[pools]]`, its
problems by field) and the years table (rows ↔ `[[years]]`, a column per added pool).
Pure functions of DataFrames and Scenarios, so that tests/test_app.py checks them without a
browser."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from optimizer import Problem, Scenario, t
from optimizer.app.viewmodel import FIRST_DATA_ROW, problem_text
from optimizer.inputs.regions import BOUND_COLUMNS, required_columns
from optimizer.inputs.scenario import DIMENSIONS
from optimizer.words import dimension_label


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
    the indicator names, the high-potential rule, the group rules and the added pools
    (their columns and eligibility are checked against the table); weights beyond
    "zero or not" do not change what validation finds.
    """
    return repr((required_columns(scenario), list(scenario.indicators), scenario.hp_rule,
                 scenario.groups, scenario.pools))


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
POOL_TEXT = ("name", "label", "kind", "current", "min", "max", "eligible", "eligible_column",
             "eligible_values")
POOL_NUMBERS = ("total", "max_change", "unit_cost", "hp_share")
POOL_EDITOR_COLUMNS: tuple[str, ...] = (
    "name", "label", "kind", "total", "current", "min", "max", "max_change", "unit_cost",
    "eligible", "eligible_column", "eligible_values", "hp_share",
    *(f"w_{d}" for d in DIMENSIONS))
_LIST_SEPARATORS = re.compile(r"[,，、;；\n]+")


def _list_text(values: tuple[str, ...] | None) -> str | None:
    return None if values is None else ", ".join(values)


def pools_frame(scenario: Scenario) -> pd.DataFrame:
    """The scenario's added pools as the pools editor shows them, one row per pool.

    Lists (eligible regions, column values) are comma-separated text; an empty cell is a
    default (no column, the sidebar's share or weight).
    """
    rows = []
    for p in scenario.pools:
        row: dict[str, Any] = {
            "name": p.name, "label": p.label, "kind": p.kind, "total": p.total,
            "current": p.current, "min": p.min, "max": p.max, "max_change": p.max_change,
            "unit_cost": p.unit_cost, "eligible": _list_text(p.eligible),
            "eligible_column": p.eligible_column,
            "eligible_values": _list_text(p.eligible_values), "hp_share": p.hp_share}
        for d in DIMENSIONS:
            row[f"w_{d}"] = (p.weights or {}).get(d)
        rows.append(row)
    df = pd.DataFrame(rows, columns=list(POOL_EDITOR_COLUMNS))
    for c in POOL_TEXT:  # an empty text cell shows empty (not "None")
        df[c] = df[c].map(lambda v: "" if v is None or (isinstance(v, float)
                                                        and math.isnan(v)) else v)
    types: dict[str, str] = {c: "object" for c in POOL_TEXT}
    types.update({c: "Float64" for c in POOL_EDITOR_COLUMNS if c not in POOL_TEXT})
    return df.astype(types)


def _text_cell(v: Any) -> str | None:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    text = str(v).strip()
    return text or None


def pool_rows(edited: pd.DataFrame) -> list[dict[str, Any]]:
    """The edited pools table as `[[pools]]` tables (what a scenario file would hold).

    Empty cells are left out (the defaults apply); a list cell is split at commas (also
    ，、;；); blank rows are skipped. Values are passed on as typed, for the scenario's
    own validation to judge.
    """
    out = []
    for rec in edited.to_dict("records"):
        row: dict[str, Any] = {}
        for c in POOL_TEXT:
            v = _text_cell(rec.get(c))
            if v is None:
                continue
            if c in ("eligible", "eligible_values"):
                row[c] = [x.strip() for x in _LIST_SEPARATORS.split(v) if x.strip()]
            else:
                row[c] = v
        for c in POOL_NUMBERS:
            v = _plain(rec.get(c))
            if v is not None:
                row[c] = v
        weights = {d: w for d in DIMENSIONS if (w := _plain(rec.get(f"w_{d}"))) is not None}
        if weights:
            row["weights"] = weights
        if row:
            out.append(row)
    return out


def scenario_with_pools(scenario: Scenario, edited: pd.DataFrame, file: str) -> Scenario:
    """`scenario` with the pools of the edited table, checked by the scenario's own
    validation (the same messages as a scenario file, each naming the pool and the key).

    The whole scenario is checked again, so that a group rule or a year naming a pool
    that was removed is reported too. Raises InputError.
    """
    from optimizer.inputs.scenario_read import scenario_from_dict
    from optimizer.inputs.scenario_write import scenario_to_dict

    data = scenario_to_dict(scenario)
    rows = pool_rows(edited)
    data.pop("pools", None)
    if rows:
        data["pools"] = rows
    checked = scenario_from_dict(data, file)
    return scenario.with_changes(pools=checked.pools)
_POOL_KEY = re.compile(r"pools(?:\.[a-z][a-z0-9_]*|\[\d+\])\.([a-z_]+)")


def is_pool_problem(problem: Problem) -> bool:
    """Whether a problem is about an added pool (its key or its message names `pools.…`)."""
    return bool(_POOL_KEY.search(problem.column or "") or _POOL_KEY.search(problem.message))


def pool_field_label(problem: Problem, lang: str) -> str | None:
    """The pools editor's column that a pool problem is about (e.g. 总量 for
    `pools.csm.total`), None when it names no column of the editor."""
    m = _POOL_KEY.search(problem.column or "") or _POOL_KEY.search(problem.message)
    if m is None:
        return None
    field = m.group(1)
    if field in ("min", "max"):
        return t(f"pcol_{field}", lang)
    if field == "weights":
        text = (problem.column or "") + " " + problem.message
        dim = re.search(r"weights\.([a-z_]+)", text)
        if dim is not None and dim.group(1) in DIMENSIONS:
            return t("pcol_weight", lang, dim=dimension_label(dim.group(1), lang))
        return t("pcol_weight", lang, dim="").strip()
    key = f"pcol_{field}"
    return t(key, lang) if field in POOL_EDITOR_COLUMNS else None


def pools_markdown(problems: list[Problem], lang: str) -> str:
    """Pool problems as a bullet list, each with the editor column it is about."""
    lines = []
    for p in problems:
        label = pool_field_label(p, lang)
        hint = "" if label is None else t("pool_field_hint", lang, column=label)
        lines.append(f"- {problem_text(p, lang)}{hint}")
    return "\n".join(lines)
YEAR_COLUMNS: tuple[str, ...] = ("year", "headcount", "budget", "hp_share")


def years_frame(scenario: Scenario) -> pd.DataFrame:
    """The scenario's years as the years editor shows them (empty cells = the sidebar's);
    after the built-in columns, one column per added pool (its total that year; empty =
    the pool's own total)."""
    added = [p.name for p in scenario.pools]
    rows = [{"year": y.year, "headcount": y.headcount, "budget": y.budget,
             "hp_share": y.hp_share, **{p: y.totals.get(p) for p in added}}
            for y in scenario.years]
    df = pd.DataFrame(rows, columns=[*YEAR_COLUMNS, *added])
    types = {"year": "Int64", "headcount": "Int64", "budget": "Float64", "hp_share": "Float64"}
    types.update({p.name: "Int64" if p.kind == "headcount" else "Float64"
                  for p in scenario.pools})
    return df.astype(types)


def years_with_pools(years: pd.DataFrame, scenario: Scenario) -> pd.DataFrame | None:
    """The years table with an empty column for each added pool of `scenario` that it lacks
    (every cell typed so far kept), None when it has them all."""
    missing = [p for p in scenario.pools if p.name not in years.columns]
    if not missing:
        return None
    out = years.reset_index(drop=True).copy()
    for p in missing:
        out[p.name] = pd.Series([pd.NA] * len(out),
                                dtype="Int64" if p.kind == "headcount" else "Float64")
    return out


def _plain(v: Any) -> Any:
    """A cell as plain Python (None when empty), so that scenario validation reads it."""
    if v is None or v is pd.NA:
        return None
    if isinstance(v, float | np.floating) and math.isnan(float(v)):
        return None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        f = float(v)
        return int(f) if f.is_integer() and abs(f) < 1e15 else f
    if isinstance(v, str):
        s = v.strip()
        if not s:
            return None
        try:
            return int(s)
        except ValueError:
            try:
                return float(s)
            except ValueError:
                return s
    return v


def years_from_editor(edited: pd.DataFrame, file: str,
                      scenario: Scenario | None = None) -> tuple[Any, ...]:
    """The edited years as YearPlans, checked by the scenario's own validation.

    Blank rows are skipped; raises InputError naming `years[i].column` for a bad cell.
    Columns after the built-in ones are added pools' totals: `scenario` (with its
    [[pools]]) is what they are checked against (a pool it does not have is an error).
    """
    from optimizer.inputs.scenario_read import scenario_from_dict
    from optimizer.inputs.scenario_write import scenario_to_dict

    columns = [*YEAR_COLUMNS, *(c for c in edited.columns if c not in YEAR_COLUMNS)]
    rows = []
    for rec in edited.to_dict("records"):
        row = {str(k): _plain(rec.get(k)) for k in columns}
        if all(v is None for v in row.values()):
            continue
        rows.append({k: v for k, v in row.items() if v is not None or k == "year"})
    for row in rows:
        if row["year"] is None:
            row.pop("year")
    data: dict[str, Any] = {"years": rows}
    if scenario is not None and scenario.pools:
        data["pools"] = scenario_to_dict(scenario)["pools"]
    return scenario_from_dict(data, file).years


def starter_years(first_year: int, n: int = 3) -> tuple[Any, ...]:
    """`n` planned years from `first_year`, every figure left to the sidebar's settings."""
    from optimizer.inputs.scenario import YearPlan

    return tuple(YearPlan(first_year + i) for i in range(n))

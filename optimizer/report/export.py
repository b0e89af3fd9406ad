"""Exports of a plan: the allocation table as CSV and XLSX, the path tables, and the files
of a run (allocation.*, path.*, summary.json) written atomically into a folder that never
lies (`optimizer.report.outdir`). Everything but the `write_*` functions is a pure
function of a `PlanResult` / `PathResult`.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import optimizer
from optimizer.errors import InputError, Problem
from optimizer.inputs.scenario import DIMENSIONS, POOLS
from optimizer.inputs.scenario_write import scenario_to_dict
from optimizer.model.result import PlanResult, Status
from optimizer.report.outdir import prepare_out_dir as _prepare
from optimizer.report.outdir import write_files
from optimizer.report.summary import (
    _clean,
    _read_info,
    file_sha256,
    summary_dict,
    summary_json,
    versions,
)
from optimizer.report.table import (
    _CSV_CHUNK,
    _CSV_LINE_END,
    _XLSX_FORMATS,
    ALLOCATION_CSV,
    ALLOCATION_XLSX,
    SUMMARY_JSON,
    XLSX_CREATED,
    _added_labels,
    _column_kinds,
    _csv_column,
    _csv_quote,
    _exact_money,
    _extra_kind,
    _score_column,
    _sheet_name,
    allocation_table,
    cents_texts,
    column_label,
    cost_cents,
    neutralise,
)
from optimizer.report.xlsx import (
    _close,
    _Sheet,
)
from optimizer.words import Text

if TYPE_CHECKING:  # xlsxwriter is imported where a workbook is written (start-up time)
    pass

def allocation_csv_bytes(result: PlanResult, lang: str = "en",
                         extra: pd.DataFrame | None = None) -> bytes:
    """The allocation table as CSV for Excel: UTF-8 with BOM, CRLF line ends, plain numbers.

    Money has 2 decimals (written from whole cents, so the column sums to the total
    exactly), people are whole numbers, scores, fractional targets and percentages (as
    fractions, 0.25 = 25 %) have 6 decimals; a missing value is an empty cell.
    Formula-like text is neutralised. Headers (and true/false) are Chinese under
    `lang="zh"`. `extra` columns (aligned with the regions) follow the table's own.
    Identical inputs give identical bytes.
    """
    table = allocation_table(result, extra)
    kinds = {c: _extra_kind(result, c) for c in table.columns} | _column_kinds(result)
    exact = _exact_money(result, table)
    labels = _added_labels(result)
    header = [_csv_quote(neutralise(column_label(c, lang, labels))) for c in table.columns]
    arrays = {c: table[c].to_numpy() for c in table.columns if c not in exact}
    out = io.BytesIO()
    out.write((",".join(header) + _CSV_LINE_END).encode("utf-8-sig"))
    for a in range(0, len(table), _CSV_CHUNK):  # by rows: memory stays flat at any size
        b = a + _CSV_CHUNK
        columns = [cents_texts(np.asarray(exact[c][a:b])) if c in exact
                   else _csv_column(arrays[c][a:b], kinds[c], lang) for c in table.columns]
        out.write("".join(f"{line}{_CSV_LINE_END}" for line in
                          map(",".join, zip(*columns, strict=True))).encode("utf-8"))
    return out.getvalue()


def _flatten(prefix: str, value: Any, out: list[tuple[str, Any]]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, list | tuple) and any(isinstance(v, Mapping) for v in value):
        for i, v in enumerate(value, start=1):
            _flatten(f"{prefix}[{i}]", v, out)
    elif isinstance(value, list | tuple):
        out.append((prefix, ", ".join(str(v) for v in value)))
    else:
        out.append((prefix, value))


def scenario_rows(result: PlanResult) -> list[tuple[str, Any]]:
    """The resolved scenario as (key, value) rows, e.g. ("weights.market_potential", 0.4)."""
    rows: list[tuple[str, Any]] = []
    _flatten("", scenario_to_dict(result.scenario), rows)
    return rows


def allocation_xlsx_bytes(result: PlanResult, lang: str = "en",
                          extra: pd.DataFrame | None = None) -> bytes:
    """The plan as an XLSX workbook for finance: allocation, scores, rules and scenario sheets.

    Numbers are stored at full precision and formatted for reading (CNY `#,##0.00`,
    people `#,##0`, percentages `0.0%`, scores `0.000`); the header row is frozen.
    Sheet names and column headers are Chinese under `lang="zh"`.
    The creation date is fixed, so that the same plan gives the same bytes.

    Raises
    ------
    ValueError
        When the plan is not optimal or a pool has no allocation.
    """
    table = allocation_table(result, extra)
    kinds = {c: _extra_kind(result, c) for c in table.columns} | _column_kinds(result)
    labels = _added_labels(result)
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": False, "strings_to_formulas": False,
                                   "strings_to_urls": False, "strings_to_numbers": False})
    wb.set_properties({"title": "Allocation", "created": XLSX_CREATED,
                       "comments": f"region-optimizer {optimizer.__version__}"})
    formats = {k: wb.add_format({"num_format": f}) for k, f in _XLSX_FORMATS.items()}
    formats["header"] = wb.add_format({"bold": True, "bottom": 1})
    formats["title"] = wb.add_format({"bold": True})

    def label(names: list[str]) -> list[str]:
        return [column_label(c, lang, labels) for c in names]

    # allocation
    sh = _Sheet(wb, _sheet_name("allocation", lang), formats)
    sh.table(label(list(table.columns)),
             [(table[name].to_numpy(), None if kinds[name] in ("text", "bool") else kinds[name])
              for name in table.columns])
    sh.ws.freeze_panes(1, 1)
    sh.ws.autofilter(0, 0, len(table), len(table.columns) - 1)
    sh.finish()

    # scores
    sh = _Sheet(wb, _sheet_name("scores", lang), formats)
    cols = ["region", *DIMENSIONS, "score", "weight", "high_potential"]
    n = len(table)
    values = {
        "region": table["region"].to_numpy(),
        **{c: _score_column(result.scores, c, n) for c in (*DIMENSIONS, "score", "weight")},
        "high_potential": table["high_potential"].to_numpy(),
    }
    sh.table(label(cols), [(values[name], "score" if name not in ("region", "high_potential")
                                          else None) for name in cols])
    sh.ws.freeze_panes(1, 1)
    sh.finish()

    _rules_sheet(_Sheet(wb, _sheet_name("rules", lang), formats), result, lang)

    # prices: region by region, the allocation with each binding rule minus without it
    deltas = [(f"{p}: {r.name}", r.delta, pool.integer) for p, pool in result.pools.items()
              for r in pool.binding if r.delta is not None]
    sh = _Sheet(wb, _sheet_name("prices", lang), formats)
    sh.table([column_label("region", lang), *[name for name, _, _ in deltas]],
             [(table["region"].to_numpy(), None),
              *[(delta.to_numpy(), "people_frac" if integer else "money")
                for _, delta, integer in deltas]])
    sh.ws.freeze_panes(1, 1)
    sh.finish()

    # scenario
    sh = _Sheet(wb, _sheet_name("scenario", lang), formats)
    sh.header(0, label(["key", "value"]))
    for row, (key, value) in enumerate(scenario_rows(result), start=1):
        sh.cell(row, 0, key)
        sh.cell(row, 1, value)
    sh.ws.freeze_panes(1, 0)
    sh.finish(max_width=80)

    _close(wb)
    return buf.getvalue()
_POOL_COLUMNS = ["pool", "status", "total", "hp_required", "hp_share", "hp_share_current",
                 "hp_share_target", "objective", "objective_current", "label", "kind",
                 "unit_cost", "people_cost"]
_RULE_COLUMNS = ["pool", "name", "kind", "text_en", "text_zh", "moved", "share_without",
                 "objective_cost", "per_point_objective"]


def _rules_sheet(sh: _Sheet, result: PlanResult, lang: str = "en") -> None:
    """Per pool: one summary line (with its label, kind and people cost), the people cost
    of all pools, then the rules that bind and what each costs."""
    row = 0
    sh.cell(row, 0, "pools", "title")
    row += 1
    sh.header(row, _POOL_COLUMNS)
    costs = []
    for p, pool in result.pools.items():
        row += 1
        amount = "people" if pool.integer else "money"
        cost = cost_cents(pool)
        if cost is not None:
            costs.append(sum(cost))
        cells = [(p, None), (str(pool.status), None), (pool.total, amount),
                 (pool.hp_required, "pct"), (pool.hp_share, "pct"),
                 (pool.hp_share_current, "pct"), (pool.hp_share_target, "pct"),
                 (pool.objective, "objective"), (pool.objective_current, "objective"),
                 (pool.label(lang), None), (pool.kind, None), (pool.unit_cost, "money"),
                 (None if cost is None else sum(cost) / 100, "money")]
        for col, (v, kind) in enumerate(cells):
            sh.cell(row, col, v, kind)
    if costs:
        row += 1
        sh.cell(row, 0, "people_cost_total", "title")
        sh.cell(row, _POOL_COLUMNS.index("people_cost"), sum(costs) / 100, "money")
    row += 2
    sh.cell(row, 0, "binding rules", "title")
    row += 1
    sh.header(row, _RULE_COLUMNS)
    for p, pool in result.pools.items():
        amount = "people_frac" if pool.integer else "money"
        for rule in pool.binding:
            row += 1
            cells = [(p, None), (rule.name, None), (rule.kind, None), (rule.text.en, None),
                     (rule.text.zh, None), (rule.moved, amount), (rule.share_without, "pct"),
                     (rule.objective_cost, "objective"),
                     (rule.per_point_objective, "objective")]
            for col, (v, kind) in enumerate(cells):
                sh.cell(row, col, v, kind)
    sh.ws.freeze_panes(2, 1)
    sh.finish(max_width=80)
# Every file a plan run documents as its output. A run clears them all before it starts,
# so whatever it ends with, the folder never holds a table from before.
PATH_CSV = "path.csv"
PATH_XLSX = "path.xlsx"
RUN_OUTPUTS: tuple[str, ...] = (ALLOCATION_CSV, ALLOCATION_XLSX, PATH_CSV, PATH_XLSX, SUMMARY_JSON)


def prepare_out_dir(out_dir: str | Path, outputs: Sequence[str] = RUN_OUTPUTS) -> Path:
    """`optimizer.report.outdir.prepare_out_dir` for a plan run's outputs (allocation.*, path.*,
    summary.json) by default."""
    return _prepare(out_dir, outputs)


def write_outputs(result: PlanResult, out_dir: Path,
                  inputs: Mapping[str, str | Path] | None = None, lang: str = "en", *,
                  extra: pd.DataFrame | None = None,
                  summary_extra: Mapping[str, Any] | None = None,
                  more_files: Sequence[tuple[str, bytes]] = (),
                  outputs: Sequence[str] = RUN_OUTPUTS) -> list[Path]:
    """Write a run's files into `out_dir` and return their paths.

    Every output an earlier run left (`outputs`: allocation.*, path.*, summary.json) is
    removed first, so a stale table can never pass for this run's. summary.json is always
    written (with `summary_extra` merged in); the allocation files (with `extra` columns)
    and `more_files` only when the plan is optimal, with headers in `lang`. The files are
    written all or none (see `write_files`).
    """
    out = prepare_out_dir(out_dir, outputs)
    files = []
    if result.status == Status.OPTIMAL:
        files = [(ALLOCATION_CSV, allocation_csv_bytes(result, lang, extra)),
                 (ALLOCATION_XLSX, allocation_xlsx_bytes(result, lang, extra)), *more_files]
    summary = summary_dict(result, inputs) | _clean(dict(summary_extra or {}))
    files.append((SUMMARY_JSON, summary_json(summary).encode("utf-8")))
    return write_files(out, files)


def failure_summary(status: Status, inputs: Mapping[str, str | Path] | None = None, *,
                    problems: Sequence[Problem] = (), message: str | None = None,
                    ) -> dict[str, Any]:
    """The summary of a run that ended without a plan: status "invalid" (with every input
    problem, in both languages) or "error" (with the message)."""
    return _clean({
        "status": status,
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": versions(),
        "inputs": {label: {"path": str(path), "sha256": file_sha256(path)}
                   for label, path in (inputs or {}).items()},
        "problems": [{"file": p.file, "row": p.row, "column": p.column,
                      "message_en": p.render("en"), "message_zh": p.render("zh")}
                     for p in problems],
        "message": message,
    })


def write_failure(out_dir: Path, summary: dict[str, Any],
                  outputs: Sequence[str] = RUN_OUTPUTS) -> Path | None:
    """Leave only summary.json for a run that ended without a plan (any table it or an
    earlier run wrote is removed); None where the folder cannot take it."""
    try:
        out = prepare_out_dir(out_dir, outputs)
        return write_files(out, [(SUMMARY_JSON, summary_json(summary).encode())])[0]
    except (OSError, InputError):
        if (Path(out_dir) / SUMMARY_JSON).is_dir():
            return None
        try:  # e.g. allocation.csv is a folder: the summary can still say why
            return write_files(Path(out_dir), [(SUMMARY_JSON, summary_json(summary).encode())])[0]
        except OSError:
            return None


def _path_kind(column: str, kinds: Mapping[str, str] | None = None) -> str:
    """The format of a path table column: its pool's kind (`path_table`'s attrs)."""
    if column == "region":
        return "text"
    if column == "high_potential":
        return "bool"
    if kinds and column in kinds:
        return "people" if kinds[column] == "headcount" else "money"
    return "people" if column.startswith(("headcount", "current_headcount")) else "money"


def _path_labels(result: Any) -> dict[str, Text]:
    return {p: pool.label for p, pool in result.pools.items()
            if p not in POOLS and hasattr(pool, "label")}


def path_csv_bytes(result: Any, lang: str = "en") -> bytes:
    """The region × year table of a multi-year plan (optimizer.flow.path.PathResult) as CSV:
    every pool, headers in `lang` (added pools' named after their labels in Chinese)."""
    from optimizer.report.path import path_table

    table = path_table(result)
    kinds = table.attrs.get("kinds", {})
    labels = _path_labels(result)
    header = [_csv_quote(neutralise(column_label(c, lang, labels))) for c in table.columns]
    columns = [_csv_column(table[c].to_numpy(), _path_kind(c, kinds), lang)
               for c in table.columns]
    lines = [",".join(header), *map(",".join, zip(*columns, strict=True))]
    return (_CSV_LINE_END.join(lines) + _CSV_LINE_END).encode("utf-8-sig")
_SHEET_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})


def _sheet_title(name: str, taken: set[str]) -> str:
    """A valid worksheet name from `name`: no []:*?/\\, at most 31 characters, not
    starting or ending with an apostrophe, unique (case-insensitive) among `taken`."""
    base = name.translate(_SHEET_FORBIDDEN).strip("'")[:31] or "sheet"
    title, k = base, 1
    while title.lower() in taken:
        k += 1
        title = f"{base[:31 - len(str(k)) - 1]}~{k}"
    taken.add(title.lower())
    return title


def path_xlsx_bytes(result: Any, lang: str = "en") -> bytes:
    """The multi-year plan as XLSX: one sheet per pool (region × year) and the scenario.

    The built-ins' sheets are path_headcount and path_budget (人员路径, 预算路径); an
    added pool's path_<name>, or "<label>路径" in Chinese.
    """
    from optimizer.report.path import path_table

    table = path_table(result)
    kinds = table.attrs.get("kinds", {})
    owner = table.attrs.get("pools", {})
    labels = _path_labels(result)
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": False, "strings_to_formulas": False,
                                   "strings_to_urls": False, "strings_to_numbers": False})
    wb.set_properties({"title": "Multi-year plan", "created": XLSX_CREATED})
    formats = {k: wb.add_format({"num_format": f}) for k, f in _XLSX_FORMATS.items()}
    formats["header"] = wb.add_format({"bold": True, "bottom": 1})
    taken = {_sheet_name("scenario", lang).lower()}
    for p in result.pools:
        name = (Text(_sheet_name(f"path_{p}", "en"), f"{labels[p].zh}路径")(lang)
                if p in labels else _sheet_name(f"path_{p}", lang))
        sh = _Sheet(wb, _sheet_title(name, taken), formats)
        cols = ["region", "high_potential", f"current_{p}",
                *[c for c in table.columns if c != f"current_{p}" and (
                    owner.get(c) == p if owner else c.startswith(f"{p}_"))]]
        sh.table([column_label(c, lang, labels) for c in cols],
                 [(table[name].to_numpy(), None if _path_kind(name, kinds) in ("text", "bool")
                   else _path_kind(name, kinds)) for name in cols])
        sh.ws.freeze_panes(1, 1)
        sh.finish()
    sh = _Sheet(wb, _sheet_name("scenario", lang), formats)
    sh.header(0, [column_label(c, lang) for c in ("key", "value")])
    rows: list[tuple[str, Any]] = []
    _flatten("", scenario_to_dict(result.scenario), rows)
    for row, (key, value) in enumerate(rows, start=1):
        sh.cell(row, 0, key)
        sh.cell(row, 1, value)
    sh.finish(max_width=80)
    _close(wb)
    return buf.getvalue()


def write_path_outputs(result: Any, out_dir: Path,
                       inputs: Mapping[str, str | Path] | None = None,
                       lang: str = "en") -> list[Path]:
    """Write a multi-year plan: path.csv and path.xlsx when it solves, summary.json always.

    Every output an earlier run left is removed first; the files are written all or none.
    """
    from optimizer.report.path import path_summary

    out = prepare_out_dir(out_dir)
    files: list[tuple[str, bytes]] = []
    if result.status == Status.OPTIMAL:
        files += [(PATH_CSV, path_csv_bytes(result, lang)),
                  (PATH_XLSX, path_xlsx_bytes(result, lang))]
    summary = _clean({
        "status": result.status,
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": versions(),
        "inputs": {label: {"path": str(path), "sha256": file_sha256(path)}
                   for label, path in (inputs or {}).items()},
        "read": _read_info(result),
        "scenario": scenario_to_dict(result.scenario),
        "path": path_summary(result),
    })
    files.append((SUMMARY_JSON, summary_json(summary).encode("utf-8")))
    return write_files(out, files)

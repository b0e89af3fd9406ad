"""Exports of a plan: the allocation table (CSV, XLSX) and the run summary (strict JSON).

Everything here is a pure function of a `PlanResult`, except `write_outputs`, which
writes the files of a run atomically. Text that a spreadsheet would run as a formula
is neutralised by one function, `neutralise`, in every writer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import io
import json
import math
import os
import platform
import re
import sys
import threading
import weakref
import zipfile
from collections.abc import Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import optimizer
from optimizer.errors import InputError, Problem
from optimizer.inputs.scenario import DIMENSIONS, POOLS
from optimizer.inputs.scenario_write import scenario_to_dict
from optimizer.model.result import PlanResult, PoolResult, Status
from optimizer.report.outdir import prepare_out_dir as _prepare
from optimizer.report.outdir import write_files
from optimizer.words import Text

if TYPE_CHECKING:  # xlsxwriter is imported where a workbook is written (start-up time)
    import xlsxwriter

# Characters that make Excel, LibreOffice or Sheets read a text cell as a formula.
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "\n")

# Workbooks are deflated at this zlib level: at 10,000 regions level 6 (zlib's default)
# takes 2.6 times as long for a file 18 % smaller.
XLSX_COMPRESSLEVEL = 1

# Fixed workbook creation date: the same plan gives the same XLSX bytes.
XLSX_CREATED = dt.datetime(2000, 1, 1)

ALLOCATION_CSV = "allocation.csv"
ALLOCATION_XLSX = "allocation.xlsx"
SUMMARY_JSON = "summary.json"

# CRLF (RFC 4180): the csv module then also quotes a lone "\r" inside a field.
_CSV_LINE_END = "\r\n"

# What each column of the allocation table holds; drives the CSV and XLSX formats.
# "text" | "bool" | "score" | "people" | "people_frac" | "money" | "pct"
_POOL_KINDS = {
    "headcount": {"current": "people", "alloc": "people", "change": "people",
                  "pct": "pct", "target": "people_frac"},
    "budget": {"current": "money", "alloc": "money", "change": "money",
               "pct": "pct", "target": "money"},
}
_CSV_DECIMALS = {"score": 6, "people_frac": 6, "money": 2, "pct": 6}
_XLSX_FORMATS = {
    "score": "0.000",
    "people": "#,##0",
    "people_frac": "#,##0.0",
    "money": "#,##0.00",
    "pct": "0.0%",
    "objective": "0.000000",
}


# The Chinese name of every output column (`--lang zh` and the Chinese app write these; the
# English names, the default, are what scripts rely on). docs: README, "Output columns".
COLUMNS_ZH: dict[str, str] = {
    "region": "区域", "high_potential": "高潜力", "market_potential": "市场潜力",
    "customer_value": "客户价值", "internal_capability": "内部能力", "score": "综合得分",
    "weight": "分配权重",
    "current_headcount": "当前人数", "headcount": "计划人数", "headcount_change": "人数变化",
    "headcount_change_pct": "人数变化率", "headcount_target": "按得分人数",
    "current_budget": "当前预算", "budget": "计划预算", "budget_change": "预算变化",
    "budget_change_pct": "预算变化率", "budget_target": "按得分预算",
    "key": "项目", "value": "值", "year": "年份",
}
SHEETS_ZH: dict[str, str] = {"allocation": "分配", "scores": "得分", "rules": "规则",
                             "prices": "价格", "scenario": "情景",
                             "path_headcount": "人员路径", "path_budget": "预算路径"}


# The Chinese header of an added pool's columns, from the pool's label (`{label}`).
POOL_COLUMNS_ZH: dict[str, str] = {
    "current": "当前{label}", "alloc": "{label}", "change": "{label}变化",
    "pct": "{label}变化率", "target": "按得分{label}", "cost": "{label}人力成本",
}


def pool_columns(pool: str, cost: bool = False) -> dict[str, str]:
    """A pool's columns in the allocation table, in order, each with its role ("current",
    "alloc", "change", "pct", "target", and "cost" where the pool has a unit cost)."""
    cols = {f"current_{pool}": "current", pool: "alloc", f"{pool}_change": "change",
            f"{pool}_change_pct": "pct", f"{pool}_target": "target"}
    if cost:
        cols[f"{pool}_cost"] = "cost"
    return cols


def _pools_of(result: Any) -> list[tuple[str, PoolResult | None]]:
    """(name, pool) of every pool of a plan in its order; the built-ins without a plan."""
    if result is None:
        return [(p, None) for p in POOLS]
    return list(result.pools.items())


def _added_labels(result: Any) -> dict[str, Text]:
    """The display names of a plan's added pools (the built-ins have their own headers)."""
    return {p: pool.label for p, pool in _pools_of(result)
            if pool is not None and p not in POOLS}


def column_label(name: str, lang: str = "en", labels: Mapping[str, Text] | None = None) -> str:
    """An output column's header in `lang`: the English name, or its Chinese name under zh.

    `labels` gives the added pools' display names (`PoolResult.label`): their columns are
    named after them in Chinese ("当前{label}", "{label}", "{label}变化", …). Multi-year
    columns (`headcount_2025`, …) are named after their pool and year.
    """
    if lang != "zh":
        return name
    if name in COLUMNS_ZH:
        return COLUMNS_ZH[name]
    for pool, label in (labels or {}).items():
        role = pool_columns(pool, cost=True).get(name)
        if role is not None:
            return POOL_COLUMNS_ZH[role].format(label=label.zh)
    head, _, year = name.rpartition("_")
    if year.isdigit() and head in COLUMNS_ZH:
        return f"{COLUMNS_ZH[head]}_{year}"
    if year.isdigit() and labels and head in labels:
        return f"{labels[head].zh}_{year}"
    return name


def _sheet_name(name: str, lang: str) -> str:
    return SHEETS_ZH.get(name, name) if lang == "zh" else name


def allocation_columns(result: PlanResult | None = None) -> list[str]:
    """The allocation table's column names, in order (the CSV header): of the built-in
    pools, or with `result` of every pool of that plan (`<pool>_cost` where the pool has
    a unit cost)."""
    cols = ["region", "high_potential", *DIMENSIONS, "score"]
    for p, pool in _pools_of(result):
        cols += list(pool_columns(p, pool is not None and pool.unit_cost is not None))
    return cols


def _column_kinds(result: PlanResult | None = None) -> dict[str, str]:
    kinds = {"region": "text", "high_potential": "bool", "score": "score"}
    kinds.update({d: "score" for d in DIMENSIONS})
    for p, pool in _pools_of(result):
        k = _POOL_KINDS[p if pool is None else pool.kind] | {"cost": "money"}
        kinds.update({c: k[role] for c, role in pool_columns(p, cost=True).items()})
    return kinds


# --------------------------------------------------------------------------- the table

def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula, with a leading `'`; anything else as is.

    Only `str` values are touched: numbers (also negative ones), booleans and missing
    values pass through unchanged, so that −5 stays the number −5.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _require_plan(result: PlanResult) -> dict[str, PoolResult]:
    if result.status != Status.OPTIMAL:
        raise ValueError(f"the plan is {result.status}: there is no allocation to export")
    for p in POOLS:
        if p not in result.pools:
            raise ValueError(f"the plan has no {p} pool: there is nothing to export")
    for p, pool in result.pools.items():
        if pool.allocation is None:
            raise ValueError(f"the {p} pool has no allocation: there is nothing to export")
    return dict(result.pools)


def _unit_cents(pool: PoolResult) -> int | None:
    """The pool's unit cost in whole cents, None without one or when it has a fraction of
    a cent."""
    if pool.unit_cost is None:
        return None
    c = float(pool.unit_cost) * 100
    return int(round(c)) if abs(c - round(c)) < 1e-6 else None


def cost_cents(pool: PoolResult) -> list[int] | None:
    """A headcount pool's people cost per region in whole cents (people × unit cost, exact);
    None without a unit cost or allocation."""
    if pool.unit_cost is None or pool.allocation is None:
        return None
    people = np.rint(np.asarray(pool.allocation, dtype=float)).astype(np.int64).tolist()
    unit = _unit_cents(pool)
    if unit is None:  # a fraction of a cent per person: each region's cost rounded
        return [int(round(n * float(pool.unit_cost) * 100)) for n in people]
    return [n * unit for n in people]


def people_cost(pool: PoolResult) -> np.ndarray | None:
    """A pool's people cost per region in CNY, to the cent; None without a unit cost."""
    cents = cost_cents(pool)
    return None if cents is None else np.asarray(cents, dtype=float) / 100.0


def pool_values(name: str, pool: PoolResult) -> dict[str, np.ndarray]:
    """One solved pool's columns of the allocation table, by column name: current_<p>, <p>
    (whole people, or CNY rounded to 0.01), <p>_change, <p>_change_pct (NaN where current
    is 0), <p>_target, and <p>_cost where the pool has a unit cost."""
    current = np.asarray(pool.current, dtype=float)
    alloc = np.asarray(pool.allocation, dtype=float)
    if pool.integer:
        cur_col: np.ndarray = np.rint(current).astype(np.int64)
        alloc_col: np.ndarray = np.rint(alloc).astype(np.int64)
        change: np.ndarray = alloc_col - cur_col
    else:
        cur_col = current
        alloc_col = np.round(alloc, 2) + 0.0  # + 0.0 turns −0.0 into 0.0
        change = np.round(alloc_col - current, 2) + 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(current > 0, change / np.where(current > 0, current, 1.0), np.nan)
    cols = {f"current_{name}": cur_col, name: alloc_col, f"{name}_change": change,
            f"{name}_change_pct": pct, f"{name}_target": np.asarray(pool.target, dtype=float)}
    cost = people_cost(pool)
    if cost is not None:
        cols[f"{name}_cost"] = cost
    return cols


def _score_column(scores: pd.DataFrame, name: str, n: int) -> np.ndarray:
    if name not in scores.columns:
        return np.full(n, np.nan)
    return pd.to_numeric(scores[name], errors="coerce").to_numpy(dtype=float)


def allocation_table(result: PlanResult, extra: pd.DataFrame | None = None) -> pd.DataFrame:
    """The allocation, one row per region in input order.

    Columns: region, high_potential, the three dimension scores (NaN where a dimension
    has no score), score (the composite C), then for headcount and budget: current_p,
    p (the allocation: whole people, or CNY rounded to 0.01), p_change (allocation −
    current), p_change_pct (change / current, NaN where current is 0) and p_target
    (the score-proportional allocation with no rule).

    Raises
    ------
    ValueError
        When the plan is not optimal or a pool has no allocation.
    """
    pools = _require_plan(result)
    regions = result.regions["region"].astype(str).to_numpy()
    n = len(regions)
    data: dict[str, Any] = {
        "region": regions,
        "high_potential": np.asarray(result.high_potential, dtype=bool),
    }
    for d in (*DIMENSIONS, "score"):
        data[d] = _score_column(result.scores, d, n)
    for p, pool in pools.items():
        data.update(pool_values(p, pool))
    columns = allocation_columns(result)
    for c in ([] if extra is None else [c for c in extra.columns if c != "region"]):
        data[c] = extra[c].to_numpy()
        columns.append(c)
    lengths = {k: len(v) for k, v in data.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"result arrays are not aligned with the regions: {lengths}")
    return pd.DataFrame(data, columns=columns)


def _extra_kind(result: PlanResult, column: str) -> str:
    """The format of a column a caller added (e.g. a re-plan's `budget_remaining`): that of
    the pool it starts with."""
    for p in sorted(result.pools, key=len, reverse=True):
        if column.startswith(f"{p}_"):
            return _POOL_KINDS[p]["alloc"] if p in _POOL_KINDS else (
                "people" if result.pools[p].integer else "money")
    return "score"


def _is_missing(v: Any) -> bool:
    if v is None or v is pd.NA:
        return True
    return isinstance(v, float | np.floating) and not math.isfinite(float(v))


def _csv_cell(v: Any, kind: str, lang: str = "en") -> str:
    """One cell as plain CSV text: no thousands separators, fixed decimals, NaN empty."""
    if _is_missing(v):
        return ""
    if kind == "text":
        return str(neutralise(str(v)))
    if kind == "bool":
        if lang == "zh":
            return "是" if bool(v) else "否"
        return "true" if bool(v) else "false"
    if kind == "people":
        return str(int(v))
    decimals = _CSV_DECIMALS[kind]
    x = round(float(v), decimals) + 0.0
    return f"{x:.{decimals}f}"


def cents_text(cents: int) -> str:
    """Whole cents as plain CNY text with two decimals, exact at any size (-1234 -> -12.34)."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{sign}{whole}.{part:02d}"


def _exact_money(result: PlanResult, table: pd.DataFrame) -> dict[str, Any]:
    """Money columns written from whole cents (budget pools' allocations and changes, people
    costs): a float in CNY cannot hold every cent beyond 2^53 cents, and the written
    amounts must sum to the total exactly. Column -> cents (int array or list of ints)."""
    out: dict[str, Any] = {}
    for p, pool in result.pools.items():
        if pool.cents is None or p not in table.columns:
            continue
        current = np.rint(np.asarray(pool.current, dtype=float) * 100).astype(np.int64)
        out[p] = pool.cents
        out[f"{p}_change"] = pool.cents - current
    for p, pool in result.pools.items():
        cost = cost_cents(pool)
        if cost is not None and f"{p}_cost" in table.columns:
            out[f"{p}_cost"] = cost
    return out


def cents_texts(cents: np.ndarray) -> list[str]:
    """`cents_text` of many amounts at once (integer array)."""
    c = np.asarray(cents)
    if c.dtype.kind not in "iu":
        return [cents_text(v) for v in c.tolist()]
    whole, part = np.divmod(np.abs(c), 100)
    texts = [f"{w}.{q:02d}" for w, q in zip(whole.tolist(), part.tolist(), strict=True)]
    return [("-" + t) if neg else t for t, neg in zip(texts, (c < 0).tolist(), strict=True)]


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


_CSV_CHUNK = 8192  # rows formatted at a time


def _csv_quote(text: str) -> str:
    """A field as the csv module writes it (minimal quoting, "\r\n" line ends)."""
    if any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_column(values: np.ndarray, kind: str, lang: str = "en") -> list[str]:
    """`_csv_cell` of a whole column: the same text, numbers formatted without a call each."""
    if kind in ("text", "bool") or values.dtype.kind not in "fiu":
        return [_csv_quote(_csv_cell(v, kind, lang)) for v in values.tolist()]
    nums = values.astype(float)
    ok = np.isfinite(nums)
    if kind == "people":
        texts = list(map(str, np.where(ok, nums, 0).astype(np.int64).tolist()))
    else:
        # "%.6f" rounds as round(x, 6) then "%.6f" does; only the sign of a zero differs
        form = f"%.{_CSV_DECIMALS[kind]}f"
        zero = form % 0.0
        texts = [zero if t == "-" + zero else t for t in map(form.__mod__, nums.tolist())]
    if not ok.all():
        texts = [t if k else "" for t, k in zip(texts, ok.tolist(), strict=True)]
    return texts


# --------------------------------------------------------------------------- XLSX

def _text_width(s: str) -> int:
    """Display width in Excel character units (CJK characters count double)."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)


def _text_widths(texts: list[str]) -> np.ndarray:
    """`_text_width` of many texts at once."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    points = np.array(texts, dtype=str)
    if points.dtype.itemsize == 0:
        return lengths
    wide = (points.view(np.uint32).reshape(len(texts), -1) > 0x2E80).sum(axis=1)
    return lengths + wide


# Rows of sheet XML are written in chunks of this many rows (a multiple of 16, the row
# blocks of the `spans` attribute): memory stays flat at any table size.
_GRID_CHUNK = 2048


class _GridColumn:
    """One column of a `_Sheet.table`, kept until the workbook closes.

    A numeric column keeps its values as floats (`nums`; NaN and ±inf are blanks) and
    one style; any other column keeps per row the end of its `<c>` element after the
    reference and the style (`rest`; None where there is no cell), its strings already
    in the workbook's shared-string table.
    """

    __slots__ = ("fmt", "last", "nums", "ok", "rest", "whole")

    def __init__(self, fmt: Any, nums: np.ndarray | None = None,
                 rest: list[str | None] | None = None):
        self.fmt, self.nums, self.rest = fmt, nums, rest
        if nums is not None:
            self.ok: np.ndarray | None = np.isfinite(nums)
            with np.errstate(invalid="ignore"):
                self.whole = bool(np.all((nums == np.rint(nums)) & (np.abs(nums) < 2.0**53)
                                         & ~((nums == 0) & np.signbit(nums))))
            hit = np.flatnonzero(self.ok)
            self.last = len(nums) if fmt is not None else int(hit[-1]) + 1 if len(hit) else 0
        else:
            assert rest is not None
            self.ok, self.whole = None, False
            self.last = next((i for i in range(len(rest), 0, -1) if rest[i - 1] is not None), 0)

    def __len__(self) -> int:
        return len(self.nums) if self.nums is not None else len(self.rest or ())

    def style(self) -> str:
        """The ` s="…"` attribute (the style's index is given when first written, as
        xlsxwriter does it)."""
        return "" if self.fmt is None else f' s="{self.fmt._get_xf_index()}"'

    def cells(self, letter: str, start: int, stop: int, rows: list[str]) -> list[str | None]:
        """The `<c>` elements of values start..stop-1, on the sheet rows `rows` (1-based,
        as text: formatted once for all columns). None where there is no cell."""
        pre, s = f'<c r="{letter}', self.style()
        if self.rest is not None:
            return [None if r is None else f'{pre}{row}"{s}{r}'
                    for row, r in zip(rows, self.rest[start:stop], strict=True)]
        assert self.nums is not None and self.ok is not None
        nums, ok = self.nums[start:stop], self.ok[start:stop]
        mid = f'"{s}><v>'
        if ok.all():
            # whole numbers as integers: the same text as "%.16G" below 2**53, 4 x faster
            texts = (nums.astype(np.int64).tolist() if self.whole
                     else map("%.16G".__mod__, nums.tolist()))
            return [f"{pre}{row}{mid}{t}</v></c>" for row, t in zip(rows, texts, strict=True)]
        blank = f'"{s}/>' if self.fmt is not None else None
        return [f"{pre}{row}{mid}{x:.16G}</v></c>" if ok
                else (None if blank is None else f"{pre}{row}{blank}")
                for row, x, ok in zip(rows, nums.tolist(), ok.tolist(), strict=True)]


def _rows_xml(first: int, cols: list[list[str | None]]) -> str:
    """`<row>` elements for 0-based sheet rows first, first+1, … (first a multiple of 16)
    from per-column cell lists (None = no cell), with xlsxwriter's `spans` per block of 16
    rows; a row without cells is left out."""
    rows = list(zip(*cols, strict=True))
    if not any(None in c for c in cols):
        span = f"1:{len(cols)}"
        return "".join(f'<row r="{r}" spans="{span}">{"".join(cells)}</row>'
                       for r, cells in enumerate(rows, start=first + 1))
    out = []
    for lo in range(0, len(rows), 16):
        block = rows[lo:lo + 16]
        present = [c for cells in block for c, v in enumerate(cells) if v is not None]
        if not present:
            continue
        span = f"{min(present) + 1}:{max(present) + 1}"
        for i, cells in enumerate(block, start=first + lo + 1):
            kept = [v for v in cells if v is not None]
            if kept:
                out.append(f'<row r="{i}" spans="{span}">{"".join(kept)}</row>')
    return "".join(out)


# Per workbook (its shared-string table): text columns already written, by content.
_TEXT_COLUMNS: weakref.WeakKeyDictionary[Any, dict[tuple[str, ...], tuple[list[str], int]]] = (
    weakref.WeakKeyDictionary())


class _Sheet:
    """A worksheet writer that neutralises text, blanks NaN and tracks column widths.

    Small sheets are written cell by cell (`cell`, `header`); a sheet of one row per
    region with `table`, whose cells go into the sheet XML by rows, in chunks, when the
    workbook closes: the same cells, styles and shared strings as cell by cell, without
    xlsxwriter's object per cell (a workbook at 100,000 regions has millions of cells).
    """

    def __init__(self, wb: xlsxwriter.Workbook, name: str, formats: dict[str, Any]):
        self.ws = wb.add_worksheet(name)
        self.formats = formats
        self.widths: dict[int, int] = {}

    def _grow(self, col: int, width: int) -> None:
        self.widths[col] = max(self.widths.get(col, 0), width)

    def cell(self, row: int, col: int, value: Any, kind: str | None = None) -> None:
        """One cell: blank when missing, a boolean, a number or neutralised text."""
        fmt = self.formats.get(kind) if kind else None
        if _is_missing(value):
            self.ws.write_blank(row, col, None, fmt)
            return
        if isinstance(value, bool | np.bool_):
            self.ws.write_boolean(row, col, bool(value), fmt)
            self._grow(col, 6)
        elif isinstance(value, int | float | np.integer | np.floating):
            x = float(value)
            self.ws.write_number(row, col, x, fmt)
            self._grow(col, len(f"{x:,.2f}") + 1)
        else:
            text = str(neutralise(str(value)))
            self.ws.write_string(row, col, text, fmt)
            self._grow(col, _text_width(text))

    def header(self, row: int, names: list[str]) -> None:
        """A row of column headers."""
        for col, name in enumerate(names):
            self.cell(row, col, name, "header")

    def _rest(self, col: int, value: Any, styled: bool) -> str | None:
        """What follows `<c r=".."[ s=".."]` for one value as `cell` writes it; None for a
        missing value without a style (xlsxwriter writes no blank cell without one)."""
        if _is_missing(value):
            return "/>" if styled else None
        if isinstance(value, bool | np.bool_):
            self._grow(col, 6)
            return f' t="b"><v>{int(bool(value))}</v></c>'
        if isinstance(value, int | float | np.integer | np.floating):
            x = float(value)
            self._grow(col, len(f"{x:,.2f}") + 1)
            return f"><v>{x:.16G}</v></c>"
        text = str(neutralise(str(value)))
        self._grow(col, _text_width(text))
        return f' t="s"><v>{self.ws.str_table._get_shared_string_index(text)}</v></c>'

    def _texts(self, col: int, texts: list[str]) -> list[str | None]:
        """`_rest` for a column of plain text (e.g. the region names), at once; a column
        the workbook already holds (the regions on every sheet) is looked up once."""
        table = self.ws.str_table
        seen = _TEXT_COLUMNS.setdefault(table, {})
        key = tuple(texts)
        if key in seen:
            rest, width = seen[key]
            table.count += len(texts)  # the references the shared-string table counts
        else:
            texts = [("'" + t) if t.startswith(FORMULA_PREFIXES) else t for t in texts]
            width = int(_text_widths(texts).max()) if texts else 0
            index = table._get_shared_string_index
            rest = [f' t="s"><v>{index(t)}</v></c>' for t in texts]
            seen[key] = rest, width
        if texts:
            self._grow(col, width)
        return list(rest)

    def _column(self, col: int, values: Any, kind: str | None) -> _GridColumn:
        """A column as `cell` would write it value by value; numbers in one array."""
        fmt = self.formats.get(kind) if kind else None
        nums = None
        if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
            seq: list[Any] = []
            if kind not in (None, "header"):
                nums = values.astype(float)
        else:
            seq = values.tolist() if isinstance(values, np.ndarray) else list(values)
            if kind not in (None, "header") and not any(
                    isinstance(v, bool | np.bool_ | str) for v in seq[:1]):
                try:
                    nums = np.asarray(seq, dtype=object).astype(float)
                except (TypeError, ValueError):
                    nums = None
        if nums is None:
            if isinstance(values, np.ndarray) and not seq:
                seq = values.tolist()
            if fmt is None and all(type(v) is str for v in seq):
                return _GridColumn(None, rest=self._texts(col, seq))
            if fmt is None and isinstance(values, np.ndarray) and values.dtype == bool:
                if len(values):
                    self._grow(col, 6)
                cells = (' t="b"><v>0</v></c>', ' t="b"><v>1</v></c>')
                return _GridColumn(None, rest=[cells[v] for v in values.tolist()])
            return _GridColumn(fmt, rest=[self._rest(col, v, fmt is not None) for v in seq])
        finite = np.isfinite(nums)
        if finite.any():
            widest = float(np.max(np.abs(nums[finite])))
            self._grow(col, len(f"{-widest:,.2f}") + 1)
        return _GridColumn(fmt, nums=nums)

    def table(self, names: list[str], columns: list[tuple[Any, str | None]]) -> None:
        """A header row (`names`) and below it one column per (values, kind) pair, all of
        one length: the cells `header` and `cell` would write, but written by rows."""
        if len(names) != len(columns) or not names:
            raise ValueError(f"{len(names)} headers for {len(columns)} columns")
        header = [_GridColumn(self.formats["header"], rest=[self._rest(c, name, True)])
                  for c, name in enumerate(names)]
        grid = [self._column(c, values, kind) for c, (values, kind) in enumerate(columns)]
        n = len(grid[0])
        if any(len(g) != n for g in grid):
            raise ValueError("the columns of a table differ in length")
        last = max(g.last for g in grid)  # the last sheet row (0-based) that holds a cell
        ws = self.ws
        if ws._check_dimensions(0, 0) or ws._check_dimensions(last, len(names) - 1):
            raise ValueError(f"a worksheet holds at most {ws.xls_rowmax - 1:,} rows below "
                             "its header")
        from xlsxwriter.utility import xl_col_to_name

        letters = [xl_col_to_name(c) for c in range(len(names))]

        def write_sheet_data() -> None:
            ws.fh.write("<sheetData>")
            for top in range(0, last + 1, _GRID_CHUNK):  # sheet rows top .. end-1
                end = min(top + _GRID_CHUNK, last + 1)
                start = max(top - 1, 0)  # values start .. end-2 are on these rows
                rows = list(map(str, range(start + 2, end + 1)))
                # the header's cells first: styles are numbered in the order first used
                heads = [h.cells(letters[c], 0, 1, ["1"]) if top == 0 else []
                         for c, h in enumerate(header)]
                cols = [heads[c] + g.cells(letters[c], start, end - 1, rows)
                        for c, g in enumerate(grid)]
                ws.fh.write(_rows_xml(top, cols))
            ws.fh.write("</sheetData>")

        ws._write_sheet_data = write_sheet_data  # xlsxwriter calls it when it closes

    def finish(self, max_width: int = 60) -> None:
        """Set each column's width from the widest value written to it."""
        for col, w in self.widths.items():
            self.ws.set_column(col, col, min(max_width, max(8, w + 2)))


class _FastZipFile(zipfile.ZipFile):
    """The zip file xlsxwriter packs a workbook into, deflated at XLSX_COMPRESSLEVEL."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("compresslevel", XLSX_COMPRESSLEVEL)
        super().__init__(*args, **kwargs)


_ZIP_LOCK = threading.Lock()


# A shared string that xlsxwriter writes as `<si><t>…</t></si>` unchanged: no control
# character or _xHHHH_ escape, nothing to escape for XML, no space to preserve at its ends.
_PLAIN_SST = re.compile(r"[\x00-\x1f&<>_\ufffe\uffff]|^\s|\s$")


def _write_sst_strings(sst: Any) -> None:
    """xlsxwriter's SharedStrings._write_sst_strings, the same bytes: plain strings (the
    region names: 100,000 at that size) written at once, the others by xlsxwriter."""
    plain: list[str] = []
    for text in sst.string_table.string_array:
        if _PLAIN_SST.search(text) is None:
            plain.append(text)
            continue
        if plain:
            sst.fh.write("".join(f"<si><t>{t}</t></si>" for t in plain))
            plain = []
        sst._write_si(text)
    sst.fh.write("".join(f"<si><t>{t}</t></si>" for t in plain))


def _close(wb: xlsxwriter.Workbook) -> None:
    """Close (write) a workbook made with `in_memory: False`: its parts go through temporary
    files, so that memory stays flat at any size, and are deflated at XLSX_COMPRESSLEVEL."""
    import xlsxwriter.packager
    import xlsxwriter.workbook

    # xlsxwriter has no option for the level, nor a faster string table: its zip class and
    # its string writer are swapped while this workbook closes
    with _ZIP_LOCK:
        saved = xlsxwriter.workbook.ZipFile, xlsxwriter.packager.SharedStrings
        sst = type("SharedStrings", (saved[1],), {"_write_sst_strings": _write_sst_strings})
        xlsxwriter.workbook.ZipFile = _FastZipFile
        xlsxwriter.packager.SharedStrings = sst
        try:
            wb.close()
        finally:
            xlsxwriter.workbook.ZipFile = saved[0]
            xlsxwriter.packager.SharedStrings = saved[1]


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


# --------------------------------------------------------------------------- summary

def _clean(value: Any) -> Any:
    """Plain JSON data: numpy scalars and arrays to Python, NaN/inf to None, enums to values."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, Enum):
        return _clean(value.value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        x = float(value)
        return x if math.isfinite(x) else None
    if isinstance(value, str):
        return value
    if isinstance(value, Text):
        return {"en": value.en, "zh": value.zh}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, pd.Series):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        if all(type(v) is str for v in items):  # e.g. the regions of a rule: thousands
            return list(items)
        return [_clean(v) for v in items]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _dist_key(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


@functools.cache
def _dist_infos() -> dict[str, str]:
    """Installed distributions' versions by normalised name, from the names of the
    `<name>-<version>.dist-info` folders on sys.path (the first one wins, as for imports)."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for n in names:
            if n.endswith(".dist-info"):
                name, _, version = n[: -len(".dist-info")].partition("-")
                if version:
                    found.setdefault(_dist_key(name), version)
    return found


def _version(dist: str) -> str | None:
    """A distribution's version: from its .dist-info folder's name where there is one (what
    importlib.metadata reads too, without its ~50 ms import on every run), else from
    importlib.metadata."""
    version = _dist_infos().get(_dist_key(dist))
    if version is not None:
        return version
    import importlib.metadata

    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, str | None]:
    """Versions of the optimizer, Python and the libraries that shape the numbers."""
    return {
        "optimizer": optimizer.__version__,
        "python": platform.python_version(),
        **{name: _version(name) for name in ("pulp", "highspy", "pandas", "numpy")},
    }


def file_sha256(path: str | Path) -> str | None:
    """Hex SHA-256 of a file's bytes, None when it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


MAX_JSON_DELTA = 5000  # region-by-region price tables above this size live in the XLSX only


def _change_value(v: Any) -> Any:
    """A relaxation's scenario change as JSON data (group rules as their TOML tables)."""
    if isinstance(v, tuple):
        return [dataclasses.asdict(g) if dataclasses.is_dataclass(g) else g for g in v]
    return v


def _pool_summary(pool: PoolResult) -> dict[str, Any]:
    diagnosis = None
    if pool.diagnosis is not None:
        d = pool.diagnosis
        diagnosis = {"text_en": d.text.en, "text_zh": d.text.zh, "conflicts": list(d.conflicts),
                     "max_share": d.max_share, "details": dict(d.details)}
    out: dict[str, Any] = {
        "status": pool.status,
        "label": pool.label,
        "kind": pool.kind,
        "total": int(round(pool.total)) if pool.integer else pool.total,
        "integer": pool.integer,
        "unit_cost": pool.unit_cost,
        "hp_required": pool.hp_required,
        "hp_share": pool.hp_share,
        "hp_share_current": pool.hp_share_current,
        "hp_share_target": pool.hp_share_target,
        "objective": pool.objective,
        "objective_current": pool.objective_current,
        "objective_continuous": pool.objective_continuous,
        "current_meets_rules": pool.current_meets_rules,
        "binding": [
            {"name": r.name, "kind": r.kind, "text_en": r.text.en, "text_zh": r.text.zh,
             "regions": list(r.regions), "moved": r.moved, "share_without": r.share_without,
             "objective_cost": r.objective_cost, "per_point_objective": r.per_point_objective,
             "delta": (None if r.delta is None or len(r.delta) > MAX_JSON_DELTA
                       else {str(k): float(v) for k, v in r.delta.items()})}
            for r in pool.binding
        ],
        "diagnosis": diagnosis,
        "solver": dict(pool.solver),
    }
    if pool.unit_cost is not None:  # the people cost in CNY a year, None without a plan
        cents = cost_cents(pool)
        out["cost"] = None if cents is None else sum(cents) / 100
    return out


def people_cost_total(result: PlanResult) -> float | None:
    """The people cost of every pool with a unit cost (CNY a year, summed in whole cents);
    None when no pool has one or one of them has no allocation."""
    costs = [cost_cents(p) for p in result.pools.values() if p.unit_cost is not None]
    if not costs or any(c is None for c in costs):
        return None
    return sum(sum(c) for c in costs if c is not None) / 100


def summary_dict(result: PlanResult, inputs: Mapping[str, str | Path] | None = None, *,
                 created: dt.datetime | None = None) -> dict[str, Any]:
    """The run summary as strict-JSON-ready data (no NaN, no numpy types).

    Parameters
    ----------
    result
        The plan.
    inputs
        Input files by label (e.g. {"regions": path, "scenario": path}); each is
        recorded with its path and SHA-256 (None when it cannot be read).
    created
        The time stamp to record (default: now); written in UTC.
    """
    when = (created or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    summary = {
        "status": result.status,
        "created": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": versions(),
        "inputs": {label: {"path": str(path), "sha256": file_sha256(path)}
                   for label, path in (inputs or {}).items()},
        "read": _read_info(result),
        "scenario": scenario_to_dict(result.scenario),
        "notes": [{"en": t.en, "zh": t.zh} for t in result.notes],
        "pools": {p: _pool_summary(pool) for p, pool in result.pools.items()},
        "people_cost_total": people_cost_total(result),
        "max_share": result.max_share(),
        "relaxations": [{"kind": r.kind, "text_en": r.text.en, "text_zh": r.text.zh,
                         "changes": {k: _change_value(v) for k, v in r.changes.items()}}
                        for r in result.relaxations],
    }
    return _clean(summary)


def summary_json(summary: dict[str, Any]) -> str:
    """Strict JSON text (UTF-8 characters kept, 2-space indent, trailing newline)."""
    return json.dumps(summary, ensure_ascii=False, indent=2, allow_nan=False,
                      sort_keys=False) + "\n"


# --------------------------------------------------------------------------- files

# Every file a plan run documents as its output. A run clears them all before it starts,
# so whatever it ends with, the folder never holds a table from before.
PATH_CSV = "path.csv"
PATH_XLSX = "path.xlsx"
RUN_OUTPUTS: tuple[str, ...] = (ALLOCATION_CSV, ALLOCATION_XLSX, PATH_CSV, PATH_XLSX, SUMMARY_JSON)


def prepare_out_dir(out_dir: str | Path, outputs: Sequence[str] = RUN_OUTPUTS) -> Path:
    """`optimizer.report.outdir.prepare_out_dir` for a plan run's outputs (allocation.*, path.*,
    summary.json) by default."""
    return _prepare(out_dir, outputs)




def _read_info(result: Any) -> dict[str, Any] | None:
    info = getattr(result.regions, "attrs", {}).get("read_info")
    return dict(info) if info else None


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


# --------------------------------------------------------------------------- multi-year path

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
        name = (f"{labels[p].zh}路径" if lang == "zh" and p in labels
                else _sheet_name(f"path_{p}", lang))
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

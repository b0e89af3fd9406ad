"""The allocation table of a plan: its columns (names, labels in both languages, kinds),
its values per pool, money in exact cents, and the cell text of the CSV.

Text that a spreadsheet would run as a formula is neutralised by one function,
`neutralise`, in every writer.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer.inputs.scenario import DIMENSIONS, POOLS
from optimizer.model.result import PlanResult, PoolResult, Status
from optimizer.words import Text

if TYPE_CHECKING:  # xlsxwriter is imported where a workbook is written (start-up time)
    pass

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
    return Text(name, _column_zh(name, labels))(lang)


def _column_zh(name: str, labels: Mapping[str, Text] | None) -> str:
    """An output column's Chinese header (the column's own name where it has none)."""
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
    return Text(name, SHEETS_ZH.get(name, name))(lang)


_BOOL_TEXT = {True: Text("true", "是"), False: Text("false", "否")}


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
        return _BOOL_TEXT[bool(v)](lang)
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

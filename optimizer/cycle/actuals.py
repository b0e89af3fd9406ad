"""The actuals of a year: per quarter and region, people in place, money spent, revenue and
the indicators the review watches. Read once (CSV/TXT/XLSX) and validated at the edge.

A pool's actual is `<pool>` (people in place at the end of the quarter) for a headcount
pool and `<pool>_spent` (money spent in the quarter) for a budget pool; the built-in
budget pool reads `budget_spent`. A pool without a column has nothing in place or spent.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.errors import InputError, Problem, suggest
from optimizer.inputs.scenario import QUARTERS
from optimizer.words import Text

REGION, QUARTER, REVENUE = "region", "quarter", "revenue"
# Indicators a review may watch; a fraction may be typed as 17 %.
FRACTION_INDICATORS: tuple[str, ...] = ("churn_rate", "digital_tool_use", "repurchase_rate")
INDICATORS: tuple[str, ...] = (*FRACTION_INDICATORS, "response_days", "customer_ltv")
ALIASES: dict[str, tuple[str, ...]] = {
    REGION: ("区域", "地区", "大区"),
    QUARTER: ("季度",),
    "headcount": ("在岗人数", "人数"),
    "budget_spent": ("已用预算", "预算支出", "实际支出"),
    REVENUE: ("收入", "营收", "销售额"),
    "churn_rate": ("客户流失率", "流失率"),
    "digital_tool_use": ("数字工具使用率",),
    "response_days": ("响应天数", "跨部门响应天数"),
    "repurchase_rate": ("复购率",),
    "customer_ltv": ("客户终身价值",),
}

_Q_PLAIN = re.compile(r"(\d{4})\s*[-_/ ]?\s*q\s*([1-4])")
_Q_ZH = re.compile(r"(\d{4})\s*年\s*第?\s*([1-4一二三四])\s*季度?")
_ZH_DIGIT = {"一": 1, "二": 2, "三": 3, "四": 4}
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[+-]?[0-9]+)?")
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")
_MAX = 1e15


def actual_column(pool: str, integer: bool) -> str:
    """The actuals column of a pool: people in place, or money spent in the quarter."""
    return pool if integer else f"{pool}_spent"


def quarter_label(year: int, q: int) -> str:
    """A quarter as written in the outputs: 2025Q2."""
    return f"{year}Q{q}"


def parse_quarter(text: str) -> tuple[int, int] | None:
    """(year, quarter) of `2025Q1`, `2025-Q1` or `2025年第1季度`; None when it is none of them."""
    s = unicodedata.normalize("NFKC", str(text)).strip().casefold()
    m = _Q_PLAIN.fullmatch(s) or _Q_ZH.fullmatch(s)
    if m is None:
        return None
    q = m.group(2)
    return int(m.group(1)), _ZH_DIGIT.get(q) or int(q)


@dataclass
class Actuals:
    """Validated actuals, one row per region and quarter, in file order.

    `table` has region, quarter (e.g. "2025Q1"), year, q, one column per pool named as the
    pool (people in place / money spent in the quarter), revenue (NaN where blank) and the
    indicator columns found (NaN where blank).
    """

    table: pd.DataFrame
    year: int
    pools: dict[str, bool]  # pool -> whole people
    file: str = "actuals"
    notes: list[Text] = field(default_factory=list)
    indicators: tuple[str, ...] = ()

    def upto(self, q: int) -> Actuals:
        """The actuals of quarters 1..q only."""
        t = self.table[self.table["q"] <= q].reset_index(drop=True)
        return Actuals(t, self.year, self.pools, self.file, list(self.notes), self.indicators)

    def quarters(self) -> list[int]:
        """The quarters present, in order."""
        return sorted({int(v) for v in self.table["q"]})

    def to_date(self, pool: str, regions: Sequence[str], q: int) -> np.ndarray:
        """Per region: money spent in quarters 1..q, or people in place at the end of q.

        For headcount the latest quarter ≤ q with a row counts; no row at all is 0.
        """
        t = self.table[self.table["q"] <= q]
        index = {r: i for i, r in enumerate(regions)}
        out = np.zeros(len(regions))
        if self.pools.get(pool, False):
            for r, grp in t.sort_values("q").groupby(REGION, sort=False):
                if r in index:
                    out[index[r]] = float(grp[pool].iloc[-1])
        else:
            sums = t.groupby(REGION, sort=False)[pool].sum()
            for r, v in sums.items():
                if r in index:
                    out[index[r]] = float(v)
        return out

    def value(self, column: str, region: str, q: int) -> float:
        """One region's value of a column in quarter q (NaN when there is none)."""
        if column not in self.table.columns:
            return math.nan
        t = self.table
        row = t[(t[REGION] == region) & (t["q"] == q)]
        return float(row[column].iloc[0]) if len(row) else math.nan


# --------------------------------------------------------------------------- cells

def _norm(name: str) -> str:
    return unicodedata.normalize("NFKC", str(name)).strip().casefold()


def parse_number(text: str, percent_ok: bool = False) -> float | None:
    """A number as typed in an office: 2,520万, ¥1.2亿, 17 %, full-width digits; None if not."""
    s = unicodedata.normalize("NFKC", str(text)).strip().replace("\u2212", "-")
    s = s.replace("¥", "").replace("元", "").strip()
    scale = 1
    divide = 1
    if s.endswith("%"):
        if not percent_ok:
            return None
        s, divide = s[:-1].rstrip(), 100
    elif s.endswith("万"):
        s, scale = s[:-1].rstrip(), 10_000
    elif s.endswith("亿"):
        s, scale = s[:-1].rstrip(), 100_000_000
    if _GROUPED.fullmatch(s):
        s = s.replace(",", "")
    if not _NUMBER.fullmatch(s.casefold()):
        return None
    # divide, never multiply by 0.01: 15 % must be exactly 0.15
    v = float(s) * scale / divide
    if not math.isfinite(v) or abs(v) > _MAX:
        return None
    return v + 0.0


# --------------------------------------------------------------------------- reading

def read_actuals(path: str | Path, regions: Sequence[str], pools: Mapping[str, bool],
                 year: int, extra: Sequence[str] = ()) -> Actuals:
    """Read and validate an actuals file against the plan's regions, pools and year."""
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InputError([Problem(file, f"cannot read the file ({e.strerror or e})")]) from None
    return actuals_from_bytes(data, file, regions, pools, year, extra)


def actuals_from_bytes(data: bytes, file: str, regions: Sequence[str],
                       pools: Mapping[str, bool], year: int,
                       extra: Sequence[str] = ()) -> Actuals:
    """Read and validate uploaded actuals; `extra` names further indicator columns to read."""
    from optimizer.inputs.tables import read_table

    names = {REGION: ALIASES[REGION], QUARTER: ALIASES[QUARTER], REVENUE: ALIASES[REVENUE],
             **{(c := actual_column(p, i)): ALIASES.get(c, ()) for p, i in pools.items()},
             **{k: ALIASES.get(k, ()) for k in (*INDICATORS, *extra)}}
    table = read_table(data, file, names, key=REGION)
    return validate_actuals(table.frame, file, regions, pools, year, extra,
                            first_row=table.first_row, notes=list(table.notes))


def validate_actuals(raw: pd.DataFrame, file: str, regions: Sequence[str],
                     pools: Mapping[str, bool], year: int, extra: Sequence[str] = (),
                     first_row: int = 2, notes: list[Text] | None = None) -> Actuals:
    """Check a raw table of text cells; row i of `raw` is spreadsheet row first_row + i."""
    problems: list[Problem] = []
    wanted = {actual_column(p, integer): p for p, integer in pools.items()}
    known = [REGION, QUARTER, REVENUE, *wanted, *INDICATORS,
             *[e for e in extra if e not in INDICATORS]]
    by_name: dict[str, str] = {}
    for k in known:
        by_name[_norm(k)] = k
        for alias in ALIASES.get(k, ()):
            by_name[_norm(alias)] = k
    columns: dict[str, int] = {}
    for j, name in enumerate(raw.columns):
        canon = by_name.get(_norm(name))
        if canon is None:
            continue  # extra columns are kept out of the way
        if canon in columns:
            first = raw.columns[columns[canon]]
            problems.append(Problem(file, f"two columns name '{canon}' ('{first}' and "
                                    f"'{name}'); expected each column once",
                                    row=first_row - 1, column=str(name)))
            continue
        columns[canon] = j
    headers = [str(c) for c in raw.columns]
    for need in (REGION, QUARTER):
        if need not in columns:
            problems.append(Problem(file, f"missing column '{need}'{suggest(need, headers)}",
                                    column=need))
    if problems:
        raise InputError(problems)

    def text(i: int, col: str) -> str:
        v = raw.iat[i, columns[col]]
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()

    known_regions = {unicodedata.normalize("NFKC", r).strip(): r for r in regions}
    rows: list[dict[str, object]] = []
    seen: dict[tuple[str, int], int] = {}
    for i in range(len(raw)):
        row_no = first_row + i
        if not any(text(i, c) for c in columns):
            continue
        cells: dict[str, object] = {}
        region_txt = unicodedata.normalize("NFKC", text(i, REGION)).strip()
        if region_txt not in known_regions:
            problems.append(Problem(file, f"the region '{region_txt}' is not in the plan"
                                    f"{suggest(region_txt, list(known_regions))}; expected one "
                                    f"of: {', '.join(regions)}", row=row_no, column=REGION))
        cells[REGION] = known_regions.get(region_txt, region_txt)
        qt = text(i, QUARTER)
        parsed = parse_quarter(qt)
        if parsed is None:
            problems.append(Problem(file, f"found {qt!r}; expected a quarter such as 2025Q1, "
                                    "2025-Q1 or 2025年第1季度", row=row_no, column=QUARTER))
        elif parsed[0] != year:
            problems.append(Problem(file, f"the quarter {qt} is outside the plan's period "
                                    f"{year}; expected {year}Q1 … {year}Q{QUARTERS}",
                                    row=row_no, column=QUARTER))
        else:
            cells["q"] = parsed[1]
            key = (str(cells[REGION]), parsed[1])
            if key in seen:
                problems.append(Problem(file, f"{key[0]} {quarter_label(year, parsed[1])} "
                                        f"appears in rows {seen[key]} and {row_no}; expected "
                                        "one row per region and quarter", row=row_no,
                                        column=QUARTER))
            seen[key] = row_no
        for col, pool in wanted.items():
            if col not in columns:
                cells[pool] = 0.0
                continue
            t = text(i, col)
            v = 0.0 if not t else parse_number(t)
            integer = pools[pool]
            what = ("a whole number of people ≥ 0" if integer
                    else "an amount spent ≥ 0, e.g. 2,520,000 or 252万")
            if v is None or v < 0 or (integer and v != int(v)):
                problems.append(Problem(file, f"found {t!r}; expected {what}", row=row_no,
                                        column=str(raw.columns[columns[col]])))
                v = 0.0
            cells[pool] = v
        for col in (REVENUE, *[k for k in known if k in columns and k not in wanted
                               and k not in (REGION, QUARTER, REVENUE)]):
            if col not in columns:
                cells[col] = math.nan
                continue
            t = text(i, col)
            fraction = col in FRACTION_INDICATORS
            v = math.nan if not t else parse_number(t, percent_ok=fraction or col not in (
                REVENUE, "response_days", "customer_ltv"))
            bad = v is None
            if not bad and not math.isnan(v):
                bad = ((fraction and not 0 <= v <= 1)
                       or (col in ("response_days", "customer_ltv") and v < 0))
            if bad:
                expect = ("a fraction between 0 and 1, e.g. 0.17 or 17%" if fraction else
                          "a number ≥ 0" if col in ("response_days", "customer_ltv") else
                          "a number")
                problems.append(Problem(file, f"found {t!r}; expected {expect}", row=row_no,
                                        column=str(raw.columns[columns[col]])))
                v = math.nan
            cells[col] = v
        rows.append(cells)
    if problems:
        raise InputError(problems)
    if not rows:
        raise InputError([Problem(file, "the table has no data rows; expected one row per "
                                  "region and quarter below the header")])
    t = pd.DataFrame(rows)
    t["year"] = year
    t[QUARTER] = [quarter_label(year, int(q)) for q in t["q"]]
    present = tuple(k for k in known if k in columns and k not in wanted
                    and k not in (REGION, QUARTER, REVENUE))
    for pool, integer in pools.items():
        if integer:
            t[pool] = t[pool].astype("int64")
    order = [REGION, QUARTER, "year", "q", *pools, REVENUE, *present]
    return Actuals(t[order], year, dict(pools), file, list(notes or []), present)


def ignore_after(actuals: Actuals, q: int) -> Actuals:
    """The actuals up to quarter q, with a note naming the later quarters left out."""
    later = [x for x in actuals.quarters() if x > q]
    out = actuals.upto(q)
    if later:
        names = ", ".join(quarter_label(actuals.year, x) for x in later)
        out.notes.append(Text(
            f"actuals for {names} (after {quarter_label(actuals.year, q)}) are ignored.",
            f"{names} 的实际数据（在 {quarter_label(actuals.year, q)} 之后）不予考虑。"))
    return out


def record_from_frame(raw: pd.DataFrame, file: str, regions: Sequence[str],
                      pools: Mapping[str, bool], first_row: int = 2) -> pd.DataFrame:
    """The plan of record: region and one full-year amount per pool, in the regions' order.

    Any table with `region` and a column named as each pool qualifies (an allocation.csv
    of `run` does); other columns are ignored.
    """
    problems: list[Problem] = []
    cols = {_norm(c): c for c in raw.columns}
    for alias in ALIASES[REGION]:
        if _norm(alias) in cols and REGION not in cols:
            cols[REGION] = cols[_norm(alias)]
    headers = [str(c) for c in raw.columns]
    for need in (REGION, *pools):
        if need not in cols:
            problems.append(Problem(file, f"missing column '{need}'{suggest(need, headers)}; "
                                    "the plan of record needs region and one column per pool",
                                    column=need))
    if problems:
        raise InputError(problems)
    known = {unicodedata.normalize("NFKC", r).strip(): r for r in regions}
    values: dict[str, dict[str, float]] = {}
    for i in range(len(raw)):
        row_no = first_row + i
        name = unicodedata.normalize("NFKC", str(raw.iat[i, list(raw.columns).index(
            cols[REGION])] or "")).strip().lstrip("'")
        if not name:
            continue
        if name not in known:
            problems.append(Problem(file, f"the region '{name}' is not in the regions table"
                                    f"{suggest(name, list(known))}", row=row_no, column=REGION))
            continue
        if known[name] in values:
            problems.append(Problem(file, f"the region '{name}' appears twice; expected each "
                                    "region once", row=row_no, column=REGION))
            continue
        amounts = {}
        for p, integer in pools.items():
            t = str(raw.at[raw.index[i], cols[p]] or "").strip()
            v = parse_number(t) if t else None
            if v is None or v < 0 or (integer and v != int(v)):
                what = "a whole number of people ≥ 0" if integer else "an amount ≥ 0"
                problems.append(Problem(file, f"found {t!r}; expected {what}", row=row_no,
                                        column=p))
                continue
            amounts[p] = v
        values[known[name]] = amounts
    for r in regions:
        if r not in values and not any(p.column == REGION and r in p.message for p in problems):
            problems.append(Problem(file, f"the region '{r}' of the regions table has no row; "
                                    "expected the plan of record of every region",
                                    column=REGION))
    if problems:
        raise InputError(problems)
    out = pd.DataFrame({"region": list(regions)})
    for p, integer in pools.items():
        col = [values[r][p] for r in regions]
        out[p] = np.asarray(col, dtype=np.int64 if integer else float)
    return out


def read_record(path: str | Path, regions: Sequence[str],
                pools: Mapping[str, bool]) -> pd.DataFrame:
    """Read a plan-of-record file (CSV/TXT/XLSX): region and one column per pool."""
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InputError([Problem(file, f"cannot read the file ({e.strerror or e})")]) from None
    from optimizer.inputs.tables import read_table

    table = read_table(data, file, {REGION: ALIASES[REGION], **{p: () for p in pools}},
                       key=REGION)
    return record_from_frame(table.frame, file, regions, pools, table.first_row)

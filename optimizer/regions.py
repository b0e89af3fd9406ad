"""The regions table: read once (CSV or XLSX) and validated at the edge.

Every cell is read as text first, so that a message can quote exactly what the
user typed. All problems of a file are collected and raised together as one
`InputError`; rows are numbered as a spreadsheet shows them (header = row 1).
"""

from __future__ import annotations

import csv
import io
import math
import numbers
import re
import unicodedata
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import InputError, Problem, suggest
from optimizer.scenario import Scenario

REGION = "region"
CURRENT_COLUMNS: tuple[str, ...] = ("current_headcount", "current_budget")
HIGH_POTENTIAL = "high_potential"
BOUND_COLUMNS: tuple[str, ...] = ("min_headcount", "max_headcount", "min_budget", "max_budget")
# Fractions: "12.5%" is read as 0.125 here and nowhere else.
FRACTION_COLUMNS: tuple[str, ...] = ("growth_rate", "repurchase_rate")
# Money and counts cannot be negative; the other scores may take any sign.
NON_NEGATIVE_COLUMNS: tuple[str, ...] = (
    *CURRENT_COLUMNS, "market_size", "customer_ltv", *BOUND_COLUMNS,
)

_TRUE = ("true", "1", "yes", "y", "是")
_FALSE = ("false", "0", "no", "n", "否")
_HP_SPELLINGS = "true/false, 1/0, yes/no, y/n, 是/否 (any case; a blank cell means false)"

_PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")
_NON_FINITE = re.compile(r"[+-]?(?:inf|infinity|nan)", re.IGNORECASE)
_MAX_WHOLE = 2.0**53  # whole numbers above this are not exact in a float

_CSV_HINT = "expected CSV text saved as UTF-8 (in Excel: Save As 'CSV UTF-8')"


# --------------------------------------------------------------------------- public API

def required_columns(scenario: Scenario) -> list[str]:
    """The columns a regions table must have under `scenario`."""
    indicators = [
        name for name, ind in scenario.indicators.items()
        if ind.weight > 0 and scenario.weights.get(ind.dimension, 0.0) > 0
    ]
    return [REGION, *CURRENT_COLUMNS, *indicators]


def read_regions(path: str | Path, scenario: Scenario) -> pd.DataFrame:
    """Read and validate a regions table from a CSV or XLSX file."""
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InputError([Problem(file, f"cannot read the file ({e.strerror or e})")]) from None
    return regions_from_bytes(data, file, scenario)


def regions_from_bytes(data: bytes, filename: str, scenario: Scenario) -> pd.DataFrame:
    """Read and validate a regions table from uploaded bytes; the extension picks the format."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".csv":
        raw = _csv_table(data, filename)
    elif suffix == ".xlsx":
        raw = _xlsx_table(data, filename)
    else:
        found = f"'{suffix}'" if suffix else "no extension"
        raise InputError([Problem(filename, f"cannot read a file with {found}; expected a "
                                  f".csv (UTF-8) or .xlsx file")])
    return validate_regions(raw, scenario, filename)


def validate_regions(raw: pd.DataFrame, scenario: Scenario, file: str) -> pd.DataFrame:
    """Check a raw table (cells as text, numbers, bools or blanks) and return it typed.

    Raises InputError with every problem found. Fully blank rows are skipped (their
    row numbers are kept for the others); row i of `raw` is spreadsheet row i + 2.
    """
    problems: list[Problem] = []
    cells: list[tuple[int, int, Problem]] = []  # (row, column position, problem), sorted later

    # Columns: trimmed names; a nameless column holding nothing is dropped.
    texts: dict[str, list[str]] = {}
    originals: dict[str, pd.Series] = {}
    letters: dict[str, str] = {}
    for j in range(raw.shape[1]):
        name = str(raw.columns[j]).strip()
        column = [_cell_text(v) for v in raw.iloc[:, j]]
        if not name:
            if not any(t.strip() for t in column):
                continue
            name = f"unnamed_{_letter(j)}"
        if name in texts:
            problems.append(Problem(file, f"the column '{name}' appears twice (columns "
                                    f"{letters[name]} and {_letter(j)}); expected each "
                                    f"column once", row=1, column=name))
            continue
        texts[name] = column
        originals[name] = raw.iloc[:, j]
        letters[name] = _letter(j)
    position = {name: k for k, name in enumerate(texts)}

    indicators = list(scenario.indicators)
    known = {REGION, *CURRENT_COLUMNS, HIGH_POTENTIAL, *BOUND_COLUMNS, *indicators}
    unknown = [c for c in texts if c not in known]
    required = required_columns(scenario)
    for name in required:
        if name not in texts:
            why = ("" if name in (REGION, *CURRENT_COLUMNS) else
                   f"; it is needed because indicator '{name}' has a weight > 0 in the scenario")
            problems.append(Problem(file, f"missing column '{name}'{suggest(name, unknown)}{why}",
                                    column=name))
    if scenario.hp_rule == "column" and HIGH_POTENTIAL not in texts:
        problems.append(Problem(file, f"missing column '{HIGH_POTENTIAL}'"
                                f"{suggest(HIGH_POTENTIAL, unknown)}; the scenario's "
                                f"high_potential.rule = \"column\" reads it",
                                column=HIGH_POTENTIAL))

    n_raw = raw.shape[0]
    keep = [i for i in range(n_raw) if any(col[i].strip() for col in texts.values())]
    if not keep:
        problems.append(Problem(file, "the table has no data rows; expected one row per region "
                                "below the header row"))
        raise InputError(problems)
    rows = [i + 2 for i in keep]

    def cell_problem(k: int, name: str, message: str) -> None:
        cells.append((rows[k], position[name], Problem(file, message, row=rows[k], column=name)))

    out: dict[str, pd.Series] = {}

    # Region names: trimmed, non-empty, unique.
    if REGION in texts:
        names = [texts[REGION][i].strip() for i in keep]
        seen: dict[str, list[int]] = {}
        for k, name in enumerate(names):
            if not name:
                cell_problem(k, REGION, "the region name is blank; expected a unique, "
                             "non-empty name")
            else:
                seen.setdefault(name, []).append(k)
        for name, ks in seen.items():
            if len(ks) > 1:
                listed = _and([str(rows[k]) for k in ks])
                cell_problem(ks[1], REGION, f"the region '{name}' appears in rows {listed}; "
                             f"expected each region once")
        out[REGION] = pd.Series(names, dtype=object).astype(str)

    # Numeric columns: errors for what the scenario needs, silent for unused indicators.
    for name in texts:
        if name in (REGION, HIGH_POTENTIAL) or name not in (*CURRENT_COLUMNS, *indicators,
                                                            *BOUND_COLUMNS):
            continue
        values: list[float] = []
        errors: list[tuple[int, str]] = []
        for k, i in enumerate(keep):
            value, error = _number(texts[name][i], name)
            if error is not None:
                errors.append((k, error))
            values.append(value)
        if name in required or name in BOUND_COLUMNS:
            for k, message in errors:
                cell_problem(k, name, message)
        elif errors:
            continue  # an indicator the scenario does not use: kept as given
        out[name] = pd.Series(values, dtype="float64")
    if "current_headcount" in out and not any(p.column == "current_headcount"
                                               for _, _, p in cells):
        out["current_headcount"] = out["current_headcount"].astype("int64")

    # high_potential: optional; blank = false.
    if HIGH_POTENTIAL in texts:
        flags = []
        for k, i in enumerate(keep):
            text = texts[HIGH_POTENTIAL][i].strip()
            word = unicodedata.normalize("NFKC", text).casefold()
            if word in _TRUE:
                flags.append(True)
            elif word in _FALSE or not word:
                flags.append(False)
            else:
                flags.append(False)
                cell_problem(k, HIGH_POTENTIAL, f"found {text!r}; expected one of: {_HP_SPELLINGS}")
        out[HIGH_POTENTIAL] = pd.Series(flags, dtype=bool)

    # Bounds: blank = no bound; a minimum above its maximum is an error.
    for pool in ("headcount", "budget"):
        lo_name, hi_name = f"min_{pool}", f"max_{pool}"
        if lo_name not in out or hi_name not in out:
            continue
        for k, i in enumerate(keep):
            lo, hi = out[lo_name][k], out[hi_name][k]
            if lo > hi:  # False when either is NaN (blank or invalid)
                cell_problem(k, lo_name, f"{lo_name} {texts[lo_name][i].strip()!r} is above "
                             f"{hi_name} {texts[hi_name][i].strip()!r}; expected {lo_name} ≤ "
                             f"{hi_name} (or a blank cell for no bound)")

    problems += _group_problems(scenario, file, texts, keep, out.get(REGION))
    problems += [p for _, _, p in sorted(cells, key=lambda c: (c[0], c[1]))]
    if problems:
        raise InputError(problems)

    # The typed table: input column order, then the bound columns the input lacked.
    columns: dict[str, pd.Series] = {}
    for name in texts:
        columns[name] = out[name] if name in out else originals[name].iloc[keep].reset_index(
            drop=True)
    for name in BOUND_COLUMNS:
        columns.setdefault(name, pd.Series(np.nan, index=range(len(keep)), dtype="float64"))
    df = pd.DataFrame(columns, index=pd.RangeIndex(len(keep)))
    df.attrs["file"] = file
    return df


# --------------------------------------------------------------------------- cells

def _number(text: str, column: str) -> tuple[float, str | None]:
    """The number in a cell, or NaN and the message saying what is wrong with it."""
    shown = text.strip()
    whole = column == "current_headcount"
    non_negative = column in NON_NEGATIVE_COLUMNS
    percent_ok = column in FRACTION_COLUMNS
    if whole:
        expected = "a whole number ≥ 0"
    elif column in BOUND_COLUMNS:
        expected = "a number ≥ 0, or a blank cell for no bound"
    elif non_negative:
        expected = "a number ≥ 0"
    elif percent_ok:
        expected = "a number, e.g. 0.12 or 12%"
    else:
        expected = "a number"
    if not shown:
        if column in BOUND_COLUMNS:
            return math.nan, None
        return math.nan, f"found a blank cell; expected {expected}"
    # Full-width digits and signs (１２％, －) as typed with a Chinese input method.
    s = unicodedata.normalize("NFKC", shown).replace("\u2212", "-")
    scale = 1.0
    if s.endswith("%"):
        if not percent_ok:
            return math.nan, (f"found {shown!r}; expected {expected} (a % sign is accepted "
                              f"only in {' and '.join(FRACTION_COLUMNS)})")
        s, scale = s[:-1].rstrip(), 0.01
    if _GROUPED.fullmatch(s):
        s = s.replace(",", "")
    if _NON_FINITE.fullmatch(s):
        return math.nan, f"found {shown!r}; expected a finite number"
    if not _PLAIN.fullmatch(s):
        return math.nan, f"found {shown!r}; expected {expected}"
    value = float(s) * scale
    if not math.isfinite(value):
        return math.nan, f"found {shown!r}; expected a finite number"
    if (non_negative and value < 0) or (whole and (value != int(value) or value > _MAX_WHOLE)):
        return math.nan, f"found {shown!r}; expected {expected}"
    return value + 0.0, None  # + 0.0 turns -0.0 into 0.0


def _cell_text(v: Any) -> str:
    """A cell as text: what a spreadsheet would show (blank for None/NaN)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool | np.bool_):
        return "TRUE" if v else "FALSE"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        f = float(v)
        if math.isnan(f):
            return ""
        if f.is_integer() and abs(f) < _MAX_WHOLE:
            return str(int(f))
        return repr(f)
    if isinstance(v, datetime | date | time):
        return v.isoformat()
    return str(v)


def _letter(j: int) -> str:
    """Spreadsheet column letter of 0-based position j (0 -> A, 26 -> AA)."""
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _group_problems(scenario: Scenario, file: str, texts: dict[str, list[str]],
                    keep: list[int], regions: pd.Series | None) -> list[Problem]:
    """Group rules that name a column or regions this table does not have."""
    problems = []
    names = set(regions) if regions is not None else set()
    for g in scenario.groups:
        if g.column is not None and g.column not in texts:
            problems.append(Problem(file, f"missing column '{g.column}'"
                                    f"{suggest(g.column, list(texts))}; the scenario's group "
                                    f"'{g.name}' chooses its members by it", column=g.column))
        for r in g.regions or ():
            if regions is not None and r not in names:
                problems.append(Problem(file, f"the scenario's group '{g.name}' names the region "
                                        f"'{r}'{suggest(r, sorted(names))}, which is not in "
                                        f"this table", column=REGION))
    return problems


# --------------------------------------------------------------------------- files

def _table(rows: list[list[str]]) -> pd.DataFrame:
    """Header row + data rows (all text) as a DataFrame; short rows are padded with blanks."""
    width = max((len(r) for r in rows), default=0)
    padded = [r + [""] * (width - len(r)) for r in rows]
    header = padded[0] if padded else []
    return pd.DataFrame(padded[1:], columns=header)


def _csv_table(data: bytes, file: str) -> pd.DataFrame:
    if data.startswith(b"PK\x03\x04"):
        raise InputError([Problem(file, "this is an Excel workbook, not CSV text; name it "
                                  ".xlsx or save it as 'CSV UTF-8'")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputError([Problem(file, f"the file is not UTF-8 text (byte "
                                  f"0x{data[e.start]:02x} in line {line}); {_CSV_HINT}",
                                  row=line)]) from None
    if not text.strip():
        raise InputError([Problem(file, "the file is empty; expected a header row and one row "
                                  "per region")])
    first = text.split("\n", 1)[0]
    # Excel in some locales writes ';' (or tab) between cells.
    delimiter = next((d for d in (",", ";", "\t") if d in first), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = list(reader)
    except csv.Error as e:
        raise InputError([Problem(file, f"cannot read the CSV ({e}); {_CSV_HINT}",
                                  row=reader.line_num)]) from None
    return _table(rows)


def _xlsx_table(data: bytes, file: str) -> pd.DataFrame:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError([Problem(file, "this is an old-format .xls workbook or a password-"
                                  "protected file; expected an .xlsx workbook (or CSV UTF-8) "
                                  "without a password")])
    import openpyxl  # imported here: the CSV path does not need it

    try:
        # read_only + data_only: cell values as last saved, no formulas, macros or links run.
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True,
                                    keep_vba=False, keep_links=False)
    except Exception as e:  # a damaged or foreign file: zipfile, XML and KeyError all occur
        raise InputError([Problem(file, f"cannot read the file as an Excel .xlsx workbook "
                                  f"({type(e).__name__}: {e})")]) from None
    try:
        if not wb.worksheets:
            raise InputError([Problem(file, "the workbook has no worksheet; expected the "
                                      "regions table on the first sheet")])
        rows = [[_cell_text(v) for v in row]
                for row in wb.worksheets[0].iter_rows(values_only=True)]
    finally:
        wb.close()
    if not any(c.strip() for r in rows for c in r):
        raise InputError([Problem(file, "the first sheet is empty; expected a header row and "
                                  "one row per region")])
    return _table(rows)

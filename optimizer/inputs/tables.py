"""Tables as offices make them: CSV/TXT/TSV in any common encoding, or an XLSX sheet.

The one entry point is `read_table`; it knows nothing about regions, so any table keyed by
a name column (the regions table, quarterly actuals, ...) can reuse it::

    table = read_table(data, "actuals.xlsx", {"region": ["区域", "地区"],
                                             "quarter": ["季度"], "spent": ["已支出"]},
                       key="region")
    table.frame          # one column per header cell, canonical names where matched, text cells
    table.row(i)         # spreadsheet row number of frame row i (header row + 1 + i)
    table.info, table.notes, table.formulas

and `parse_numbers(texts, percent=..., money=...)` reads the cells of a numeric column as
typed (thousands separators, 8 %, full-width digits, ¥ ￥ 元, 万, 亿), vectorised.

Rules (docs/model.md, "Files as offices make them"):
- Encoding: a BOM (UTF-8, UTF-16) wins; else valid UTF-8; else GB18030 (covers GBK/GB2312).
- Delimiter: comma, semicolon or tab, whichever makes a header row appear.
- Header: the first of the first 10 rows with a cell *equal*, after `header_key`, to the key
  column or one of its names; rows above it are skipped with a note; the rows below keep
  the numbers a spreadsheet shows. Two headers naming one column is an error.
- XLSX: the first sheet; when it has no header, the error names the sheets that do. Cells
  are the values Excel saved; a formula without a saved value is reported in `formulas`.
  Excel's empty used range is skipped without parsing it.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import math
import numbers
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import InputError, Problem
from optimizer.words import Text

EXTENSIONS: tuple[str, ...] = (".csv", ".txt", ".tsv", ".xlsx")
HEADER_SCAN_ROWS = 10
MAX_MAGNITUDE = 1e15  # every number in a table and every total (docs/model.md)
MAX_CELL_CHARS = 32_767  # Excel's cell limit

DELIMITER_NAMES: dict[str, Text] = {
    ",": Text("comma-separated", "逗号分隔"),
    ";": Text("semicolon-separated", "分号分隔"),
    "\t": Text("tab-separated", "制表符分隔"),
}

# Invisible format characters (zero-width space/joiners, BOM, bidi marks, soft hyphen): the
# code points of Unicode category Cf (Python 3.11's Unicode 14.0; tests/test_regions.py checks
# it against unicodedata). Listed, not scanned: a scan of every code point costs 1.4 s a start.
FORMAT_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F),
    (0x0890, 0x0891), (0x08E2, 0x08E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x2064), (0x2066, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD),
    (0x110CD, 0x110CD), (0x13430, 0x13438), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001), (0xE0020, 0xE007F),
)
_FORMAT_TABLE = dict.fromkeys(c for lo, hi in FORMAT_RANGES for c in range(lo, hi + 1))

_PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NUMBER_CHARS = re.compile(r"[0-9.eE+\- \t\n]*")
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]+,[0-9]+")
_NON_FINITE = re.compile(r"[+-]?(?:inf|infinity|nan)", re.IGNORECASE)
_UNITS = {"万": Decimal(10) ** 4, "亿": Decimal(10) ** 8}
_MAX_WHOLE = 2.0**53

# Why a numeric cell was refused (the caller words the message for its column).
NOT_A_NUMBER, NON_FINITE, TOO_LARGE = "not_a_number", "non_finite", "too_large"
PERCENT_NOT_ALLOWED, UNIT_NOT_ALLOWED, DECIMAL_COMMA = "percent", "unit", "decimal_comma"


@dataclass
class Table:
    """A table read from a file: text cells under their header, and what was detected.

    `frame` has one column per header cell: the canonical name where the header matched
    one, else the header as typed (trimmed; "" for a nameless column). Cells are text
    ("" = blank). Blank rows between data rows are kept, trailing blank rows dropped.
    `info` = {"encoding", "delimiter", "header_row", "sheet"} (None where not applicable);
    `notes` says the same in words; `formulas` holds (frame row, column position) of
    formula cells without a saved value; `headers` the header cells as typed.
    """

    frame: pd.DataFrame
    header_row: int
    info: dict[str, Any]
    notes: list[Text]
    formulas: frozenset[tuple[int, int]] = frozenset()
    headers: list[str] = field(default_factory=list)

    @property
    def first_row(self) -> int:
        """Spreadsheet row number of frame row 0."""
        return self.header_row + 1

    def row(self, i: int) -> int:
        """Spreadsheet row number of frame row `i`."""
        return self.header_row + 1 + i


def header_key(text: str) -> str:
    """A header cell as compared: NFKC, invisible characters removed, trimmed, casefolded."""
    return unicodedata.normalize("NFKC", text).translate(_FORMAT_TABLE).strip().casefold()


def clean_name(text: str) -> str:
    """A name as compared for uniqueness: NFKC, invisible characters removed, trimmed."""
    return unicodedata.normalize("NFKC", text).translate(_FORMAT_TABLE).strip()


def clean_names(texts: Sequence[str]) -> list[str]:
    """`clean_name` of every text, normalised as one string (C speed) where possible."""
    joined = "\n".join(texts)
    if joined.count("\n") == len(texts) - 1:
        parts = unicodedata.normalize("NFKC", joined).translate(_FORMAT_TABLE).split("\n")
        if len(parts) == len(texts):
            return [p.strip() for p in parts]
    return [clean_name(t) for t in texts]


def alias_map(columns: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """header_key of every name (the canonical one and its aliases) -> canonical name."""
    out: dict[str, str] = {}
    for canonical, names in columns.items():
        for n in (canonical, *names):
            out[header_key(n)] = canonical
    return out


def read_table(data: bytes, filename: str, columns: Mapping[str, Iterable[str]],
               key: str) -> Table:
    """Read a CSV/TXT/TSV or XLSX file (chosen by the extension of `filename`).

    `columns` maps each canonical column name to its other names (e.g. Chinese); `key` is
    the canonical column that identifies the header row (e.g. "region"). Raises InputError
    for a file that cannot be read as a table.
    """
    suffix = Path(filename).suffix.lower()
    if suffix not in EXTENSIONS:
        found = f"'{suffix}'" if suffix else "no extension"
        raise InputError([Problem(
            filename, f"cannot read a file with {found}; expected a .csv (UTF-8) or .xlsx "
            f"file (.txt and .tsv text files are read too)",
            message_zh=f"无法读取{'扩展名为 ' + found + ' 的' if suffix else '没有扩展名的'}"
                       f"文件；请使用 .csv、.txt、.tsv 或 .xlsx 文件")])
    aliases = alias_map(columns)
    keys = {k for k, c in aliases.items() if c == key}
    key_names = [key, *columns.get(key, ())]
    if suffix == ".xlsx":
        rows, header, sheet, formulas = _xlsx_rows(data, filename, keys, key_names)
        info = {"encoding": None, "delimiter": None, "header_row": None, "sheet": sheet}
    else:
        text, encoding = _decode(data, filename)
        delimiter = _delimiter(text, keys)
        rows = _csv_rows(text, delimiter, filename)
        header = _header_index(rows, keys)
        formulas = set()
        info = {"encoding": encoding, "delimiter": delimiter, "header_row": None,
                "sheet": None}
    last_formula = max((r for r, _ in formulas), default=-1)
    rows.extend([] for _ in range(last_formula + 1 - len(rows)))
    while len(rows) > last_formula + 1 and not any(c.strip() for c in rows[-1]):
        rows.pop()
    if not rows:
        raise InputError([Problem(filename, "the file is empty; expected a header row and one "
                                  "row per region", message_zh="文件为空；应有一行表头，"
                                  "其下每个区域一行")])
    if header is None:  # no key column anywhere: the first non-blank row, so names are checked
        header = next(i for i, r in enumerate(rows) if any(c.strip() for c in r))
    info["header_row"] = header + 1
    headers = [c.strip() for c in rows[header]]
    body = rows[header + 1:]
    width = max(len(headers), max(map(len, body), default=0))
    headers += [""] * (width - len(headers))
    names = [aliases.get(header_key(h), h) for h in headers]
    _check_duplicates(names, headers, header + 1, filename)
    if any(len(r) != width for r in body):
        body = [r + [""] * (width - len(r)) for r in body]
    cols = list(zip(*body, strict=True)) if body else []
    frame = pd.DataFrame({j: list(cols[j]) if cols else [] for j in range(width)},
                         dtype=object)
    frame.columns = names
    shifted = frozenset((r - header - 1, c) for r, c in formulas if r > header)
    return Table(frame, header + 1, info, [_read_note(info, header)], shifted, headers)


def parse_numbers(texts: Sequence[str], *, percent: bool = False,
                  money: bool = False) -> tuple[np.ndarray, dict[int, str]]:
    """The numbers in text cells as typed; NaN for blanks and refused cells.

    Returns the values and {index: reason} for refused cells (NOT_A_NUMBER, NON_FINITE,
    TOO_LARGE, PERCENT_NOT_ALLOWED, UNIT_NOT_ALLOWED, DECIMAL_COMMA). `percent` accepts
    "8%" = 0.08; `money` accepts ¥ ￥ 元 and the units 万 (×10⁴) and 亿 (×10⁸).
    """
    texts = list(texts)
    bad: dict[int, str] = {}
    values = _plain_column(texts)
    if values is None:
        values = np.full(len(texts), np.nan)
        for i, t in enumerate(texts):
            t = t.strip()
            if not t:
                continue
            if _PLAIN.fullmatch(t):
                values[i] = float(t)
                continue
            value, reason = _parse_one(t, percent=percent, money=money)
            values[i] = value
            if reason is not None:
                bad[i] = reason
    with np.errstate(invalid="ignore"):
        inf = np.isinf(values)
        big = np.abs(values) > MAX_MAGNITUDE
    for i in np.flatnonzero(inf | big):
        bad[int(i)] = NON_FINITE if inf[i] else TOO_LARGE
    if bad:
        values[list(bad)] = np.nan
    return values + 0.0, bad  # + 0.0 turns -0.0 into 0.0


def _plain_column(texts: list[str]) -> np.ndarray | None:
    """The common case at C speed: a column of plain numbers and blanks, else None."""
    if not _NUMBER_CHARS.fullmatch("".join(texts)):
        return None
    try:
        values = np.array(texts, dtype=float)
    except ValueError:  # blanks, or something like "1e" or "--5"
        values = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").to_numpy(
            dtype=float, copy=True)
        typed = np.fromiter(map(len, map(str.strip, texts)), int, len(texts)) > 0
        if (np.isnan(values) & typed).any():
            return None
    return values


def cell_text(v: Any) -> str:
    """A cell value as text: what a spreadsheet would show (blank for None/NaN)."""
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


def column_letter(j: int) -> str:
    """Spreadsheet column letter of 0-based position j (0 -> A, 26 -> AA)."""
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


# --------------------------------------------------------------------------- numbers

def _parse_one(text: str, *, percent: bool, money: bool) -> tuple[float, str | None]:
    """One non-plain cell: full-width forms, %, currency, units, thousands separators."""
    s = unicodedata.normalize("NFKC", text).replace("\u2212", "-").strip()
    scale = Decimal(1)
    if s.endswith("%"):
        if not percent:
            return math.nan, PERCENT_NOT_ALLOWED
        s, scale = s[:-1].rstrip(), Decimal("0.01")
    unit = False
    if s.endswith("元"):
        s, unit = s[:-1].rstrip(), True
    if s[-1:] in _UNITS:
        s, scale, unit = s[:-1].rstrip(), scale * _UNITS[s[-1]], True
    sign = ""
    if s[:1] in "+-" and s[1:2] == "¥":
        sign, s = s[0], s[1:]
    if s.startswith("¥"):
        s, unit = s[1:].lstrip(), True
    s = sign + s
    if unit and not money:
        return math.nan, UNIT_NOT_ALLOWED
    if _GROUPED.fullmatch(s):
        s = s.replace(",", "")
    elif _DECIMAL_COMMA.fullmatch(s):
        return math.nan, DECIMAL_COMMA
    if _NON_FINITE.fullmatch(s):
        return math.nan, NON_FINITE
    if not _PLAIN.fullmatch(s):
        return math.nan, NOT_A_NUMBER
    try:
        value = float(Decimal(s) * scale)  # one rounding: 1.2亿 is exactly 120,000,000
    except (InvalidOperation, OverflowError):
        return math.nan, NON_FINITE
    return value, None


# --------------------------------------------------------------------------- text files

def _decode(data: bytes, file: str) -> tuple[str, str]:
    if data.startswith(b"PK\x03\x04"):
        raise InputError([Problem(file, "this is an Excel workbook, not CSV text; name it "
                                  ".xlsx or save it as 'CSV UTF-8'",
                                  message_zh="这是 Excel 工作簿，不是 CSV 文本；请把扩展名改为 "
                                             ".xlsx，或另存为“CSV UTF-8”")])
    for bom, codec, name in ((codecs.BOM_UTF8, "utf-8", "UTF-8 (BOM)"),
                             (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
                             (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16")):
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec), name
            except UnicodeDecodeError as e:
                raise _undecodable(data, len(bom) + e.start, file, name) from None
    try:
        text, name = data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError as e:
        try:
            text, name = data.decode("gb18030"), "GB18030"
        except UnicodeDecodeError:
            raise _undecodable(data, e.start, file, "UTF-8 or GB18030") from None
    if "\x00" in text:
        raise InputError([Problem(file, "the file holds NUL bytes: it is UTF-16 text without a "
                                  "byte-order mark or not a text file; save it as 'CSV UTF-8'",
                                  message_zh="文件中含有 NUL 字节：可能是没有字节序标记的 UTF-16 "
                                             "文本，或不是文本文件；请另存为“CSV UTF-8”")])
    return text, name


def _undecodable(data: bytes, pos: int, file: str, tried: str) -> InputError:
    line = data[:pos].count(b"\n") + 1
    byte = data[pos] if pos < len(data) else 0
    return InputError([Problem(
        file, f"the file is not {tried} text (byte 0x{byte:02x} in line {line}); save it "
        f"from Excel as 'CSV UTF-8' (or use the .xlsx workbook)", row=line,
        message_zh=f"文件不是 {tried} 文本（第 {line} 行的字节 0x{byte:02x}）；请在 Excel 中"
                   f"另存为“CSV UTF-8”（或直接使用 .xlsx 工作簿）")])


def _delimiter(text: str, keys: set[str]) -> str:
    """The delimiter that makes a header row appear (most cells wins), else the commonest."""
    best: tuple[int, str] | None = None
    for d in (",", ";", "\t"):
        head = list(itertools.islice(csv.reader(io.StringIO(text, newline=""), delimiter=d),
                                     HEADER_SCAN_ROWS))
        i = _header_index(head, keys)
        if i is not None:
            width = sum(1 for c in head[i] if c.strip())
            if best is None or width > best[0]:
                best = (width, d)
    if best is not None:
        return best[1]
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    top = max(counts.values())
    return next(d for d in (",", ";", "\t") if counts[d] == top) if top else ","


def _csv_rows(text: str, delimiter: str, file: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return list(reader)
    except csv.Error as e:
        raise InputError([Problem(file, f"cannot read the CSV ({e}); save it from Excel as "
                                  f"'CSV UTF-8'", row=reader.line_num,
                                  message_zh=f"无法读取 CSV（{e}）；请在 Excel 中另存为“CSV UTF-8”"
                                  )]) from None


def _header_index(rows: Sequence[Sequence[str]], keys: set[str]) -> int | None:
    for i, r in enumerate(rows[:HEADER_SCAN_ROWS]):
        if any(header_key(c) in keys for c in r if c):
            return i
    return None


def _check_duplicates(names: list[str], headers: list[str], row: int, file: str) -> None:
    seen: dict[str, int] = {}
    problems = []
    for j, n in enumerate(names):
        if not n:
            continue
        if n in seen:
            i = seen[n]
            a, b = column_letter(i), column_letter(j)
            typed = (f"columns {a} and {b}" if headers[i] == headers[j] else
                     f"columns {a} '{headers[i]}' and {b} '{headers[j]}'")
            typed_zh = (f"第 {a} 列和第 {b} 列" if headers[i] == headers[j] else
                        f"第 {a} 列“{headers[i]}”和第 {b} 列“{headers[j]}”")
            problems.append(Problem(
                file, f"the column '{n}' appears twice ({typed}); expected each column once",
                row=row, column=n, message_zh=f"列“{n}”出现了两次（{typed_zh}）；每列只能出现一次"))
        else:
            seen[n] = j
    if problems:
        raise InputError(problems)


def _read_note(info: dict[str, Any], header: int) -> Text:
    """'Read as GB18030, tab-separated; header in row 3 (2 rows above it skipped).'"""
    row = header + 1
    skipped = (Text(f" ({header} row{'s' if header > 1 else ''} above it skipped)",
                    f"（跳过其上 {header} 行）") if header else Text("", ""))
    if info["sheet"] is not None:
        return Text(f"Read sheet '{info['sheet']}'; header in row {row}{skipped.en}.",
                    f"读取工作表“{info['sheet']}”；表头在第 {row} 行{skipped.zh}。")
    sep = DELIMITER_NAMES[info["delimiter"]]
    return Text(f"Read as {info['encoding']}, {sep.en}; header in row {row}{skipped.en}.",
                f"按 {info['encoding']} 编码读取，{sep.zh}；表头在第 {row} 行{skipped.zh}。")


# --------------------------------------------------------------------------- workbooks

_VALUE_TAGS = (b"<v>", b"<v ", b"<is>", b"<f>", b"<f ")
_ROW_NUMBER = re.compile(rb'<row\b[^>]*?\sr="(\d+)"')


def _sheet_extent(ws: Any) -> tuple[int | None, bool]:
    """(last row holding a value or formula, whether any formula) from the raw sheet XML.

    Excel's "used range" can hold a million empty formatted rows: scanning the XML for
    value tags costs a fraction of a second where parsing every row costs a minute.
    (None, True) when the XML cannot be scanned (the rows are then parsed in full).
    """
    try:
        source = ws._get_source()  # openpyxl's read-only worksheet stream
    except Exception:  # noqa: BLE001 - a private API: fall back to parsing everything
        return None, True
    last_row: int | None = None
    last_row_tag: int | None = None
    formula = False
    tail = b""
    with source as src:
        while chunk := src.read(1 << 20):
            buf = tail + chunk
            formula = formula or b"<f>" in buf or b"<f " in buf
            pos = max(buf.rfind(t) for t in _VALUE_TAGS)
            if pos >= 0:
                start = buf.rfind(b"<row", 0, pos)
                if start >= 0:
                    m = _ROW_NUMBER.match(buf, start)
                    last_row = int(m.group(1)) if m else -1
                else:
                    last_row = last_row_tag if last_row_tag is not None else -1
            start = buf.rfind(b"<row")
            if start >= 0:
                m = _ROW_NUMBER.match(buf, start)
                if m:
                    last_row_tag = int(m.group(1))
            tail = buf[-4096:]
    if last_row is None or last_row < 0:  # no plain value tags (prefixed XML?) or no r=
        return None, True
    return last_row, formula


def _sheet_rows(ws: Any, max_row: int | None) -> list[list[str]]:
    """The sheet's rows as text, trailing blank cells and rows dropped, gaps kept."""
    rows: list[list[str]] = []
    blank = 0
    for values in ws.iter_rows(max_row=max_row, values_only=True):
        cells = [cell_text(v) for v in values]
        while cells and not cells[-1].strip():
            cells.pop()
        if not cells:
            blank += 1
            continue
        rows.extend([] for _ in range(blank))
        blank = 0
        rows.append(cells)
    return rows


def _formula_cells(data: bytes, title: str, rows: list[list[str]],
                   max_row: int | None) -> set[tuple[int, int]]:
    """(row index, column) of formula cells that Excel saved without a value."""
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        ws = wb[title]
        ws.reset_dimensions()
        out = set()
        for i, values in enumerate(ws.iter_rows(max_row=max_row, values_only=True)):
            for j, v in enumerate(values):
                is_formula = (isinstance(v, str) and v.startswith("=")) or (
                    v is not None and "Formula" in type(v).__name__)
                if is_formula and (i >= len(rows) or j >= len(rows[i])
                                   or not rows[i][j].strip()):
                    out.add((i, j))
        return out
    finally:
        wb.close()


def _xlsx_rows(data: bytes, file: str, keys: set[str], key_names: list[str]
               ) -> tuple[list[list[str]], int | None, str, set[tuple[int, int]]]:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError([Problem(file, "this is an old-format .xls workbook or a password-"
                                  "protected file; expected an .xlsx workbook (or CSV UTF-8) "
                                  "without a password",
                                  message_zh="这是旧格式 .xls 工作簿或受密码保护的文件；请另存为"
                                             "无密码的 .xlsx 工作簿（或 CSV UTF-8）")])
    import openpyxl  # imported here: the CSV path does not need it

    try:
        # read_only + data_only: cell values as last saved, no formulas, macros or links run.
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True,
                                    keep_vba=False, keep_links=False)
    except Exception as e:  # noqa: BLE001 - a damaged or foreign file: zip, XML, KeyError...
        raise InputError([Problem(file, f"cannot read the file as an Excel .xlsx workbook "
                                  f"({type(e).__name__}: {e})",
                                  message_zh=f"无法作为 Excel .xlsx 工作簿读取该文件"
                                             f"（{type(e).__name__}: {e}）")]) from None
    try:
        if not wb.worksheets:
            raise InputError([Problem(file, "the workbook has no worksheet; expected the "
                                      "regions table on the first sheet",
                                      message_zh="工作簿中没有工作表；区域表应在第一个工作表中")])
        first = wb.worksheets[0]
        first.reset_dimensions()  # a stale <dimension> must not pad a million rows
        last, formula = _sheet_extent(first)
        rows = _sheet_rows(first, last)
        if not any(c.strip() for r in rows for c in r) and not _sheets_with_header(wb, keys):
            raise InputError([Problem(file, "the first sheet is empty; expected a header row "
                                      "and one row per region",
                                      message_zh="第一个工作表为空；应有一行表头，其下每个区域一行")])
        header = _header_index(rows, keys)
        if header is None:
            others = _sheets_with_header(wb, keys)
            if others:
                listed = ", ".join(f"'{n}'" for n in others)
                listed_zh = "、".join(f"“{n}”" for n in others)
                raise InputError([Problem(
                    file, f"the first sheet '{first.title}' has no header row (a row with a "
                    f"cell {' / '.join(key_names)} in its first {HEADER_SCAN_ROWS} rows); the "
                    f"sheet{'s' if len(others) > 1 else ''} {listed} "
                    f"{'have' if len(others) > 1 else 'has'} one: move it to the first place "
                    f"in the workbook (or copy the table to the first sheet)",
                    message_zh=f"第一个工作表“{first.title}”的前 {HEADER_SCAN_ROWS} 行中没有表头"
                               f"（含“{' / '.join(key_names)}”的行）；工作表 {listed_zh} 中有："
                               f"请把它移到工作簿的第一个位置（或把表格复制到第一个工作表）")])
        formulas = _formula_cells(data, first.title, rows, last) if formula else set()
        return rows, header, first.title, formulas
    finally:
        wb.close()


def _sheets_with_header(wb: Any, keys: set[str]) -> list[str]:
    out = []
    for ws in wb.worksheets[1:]:
        ws.reset_dimensions()
        head = [[cell_text(v) for v in r]
                for r in ws.iter_rows(max_row=HEADER_SCAN_ROWS, values_only=True)]
        if _header_index(head, keys) is not None:
            out.append(ws.title)
    return out

"""A constant-memory XLSX sheet writer: rows are written as sheet XML column by column in
chunks (no Python call per cell), on top of xlsxwriter's workbook (styles, shared strings,
the zip). At 100,000 territories the workbook is millions of cells."""

from __future__ import annotations

import re
import threading
import weakref
import zipfile
from typing import TYPE_CHECKING, Any

import numpy as np

from optimizer.report.table import (
    FORMULA_PREFIXES,
    XLSX_COMPRESSLEVEL,
    _is_missing,
    neutralise,
)

if TYPE_CHECKING:  # xlsxwriter is imported where a workbook is written (start-up time)
    import xlsxwriter

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

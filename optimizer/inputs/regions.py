"""The regions table: read once (CSV/TXT/TSV or XLSX, see `optimizer.inputs.tables`) and validated.

Every cell is read as text first, so that a message can quote exactly what the user typed.
All problems of a file are collected and raised together as one `InputError`, in English and
Chinese; rows are numbered as a spreadsheet shows them (header = row 1 unless title rows
sit above it). What was detected is attached to the returned frame:
`df.attrs["read_info"]` ({"encoding", "delimiter", "header_row", "sheet"}) and
`df.attrs["read_notes"]` (a list of `Text`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.errors import InputError, Problem, suggest, suggest_zh
from optimizer.inputs.scenario import PoolSpec, Scenario
from optimizer.inputs.tables import (
    DECIMAL_COMMA,
    MAX_CELL_CHARS,
    MAX_MAGNITUDE,
    NON_FINITE,
    PERCENT_NOT_ALLOWED,
    TOO_LARGE,
    UNIT_NOT_ALLOWED,
    alias_map,
    cell_text,
    clean_names,
    column_letter,
    header_key,
    parse_numbers,
    read_table,
)
from optimizer.words import Text

REGION = "region"
CURRENT_COLUMNS: tuple[str, ...] = ("current_headcount", "current_budget")
HIGH_POTENTIAL = "high_potential"
BOUND_COLUMNS: tuple[str, ...] = ("min_headcount", "max_headcount", "min_budget", "max_budget")
# Fractions: "12.5%" is read as 0.125 here and nowhere else.
FRACTION_COLUMNS: tuple[str, ...] = ("growth_rate", "repurchase_rate")
UNIT_INTERVAL_COLUMNS: tuple[str, ...] = ("repurchase_rate",)  # a fraction 0–1
# Money: ¥ ￥ 元 and the units 万, 亿 are read here and nowhere else.
MONEY_COLUMNS: tuple[str, ...] = ("market_size", "customer_ltv", "current_budget", "min_budget",
                                  "max_budget")
# Money and counts cannot be negative; the other scores may take any sign.
NON_NEGATIVE_COLUMNS: tuple[str, ...] = (
    *CURRENT_COLUMNS, "market_size", "customer_ltv", *BOUND_COLUMNS,
)

# The Chinese names of the columns (docs/model.md); the first is the one the template writes.
CHINESE_NAMES: dict[str, tuple[str, ...]] = {
    REGION: ("区域", "地区", "大区"),
    "market_size": ("市场规模",),
    "growth_rate": ("增长率",),
    "competition_intensity": ("竞争强度",),
    "customer_ltv": ("客户终身价值",),
    "repurchase_rate": ("复购率",),
    "referral_score": ("推荐意愿",),
    "team_capability": ("团队能力",),
    "resource_reserve": ("资源储备",),
    "collaboration_efficiency": ("协同效率",),
    "current_headcount": ("当前人数",),
    "current_budget": ("当前预算",),
    HIGH_POTENTIAL: ("高潜力",),
    "min_headcount": ("最少人数",),
    "max_headcount": ("最多人数",),
    "min_budget": ("最低预算",),
    "max_budget": ("最高预算",),
}

_TRUE = ("true", "1", "yes", "y", "是")
_FALSE = ("false", "0", "no", "n", "否")
_HP_SPELLINGS = "true/false, 1/0, yes/no, y/n, 是/否 (any case; a blank cell means false)"
_HP_SPELLINGS_ZH = "true/false、1/0、yes/no、y/n、是/否 之一（不区分大小写；空白表示否）"
_MAX_WHOLE = 2.0**53  # whole numbers above this are not exact in a float
_SHOWN = 60  # characters of a cell quoted in a message


# --------------------------------------------------------------------------- public API

def required_columns(scenario: Scenario) -> list[str]:
    """The columns a regions table must have under `scenario`."""
    indicators = [
        name for name, ind in scenario.indicators.items()
        if ind.weight > 0 and scenario.weights.get(ind.dimension, 0.0) > 0
    ]
    return [REGION, *CURRENT_COLUMNS, *indicators]


def known_columns(scenario: Scenario) -> dict[str, tuple[str, ...]]:
    """Every column the regions table may name under `scenario` -> its other names."""
    out = dict(CHINESE_NAMES)
    for name in [*scenario.indicators, *(g.column for g in scenario.groups if g.column),
                 *(g.per for g in scenario.groups if g.per), *pool_columns(scenario)]:
        out.setdefault(name, ())
    return out


_POOL_COLUMN_KEYS = ("current", "min", "max")


def pool_columns(scenario: Scenario) -> dict[str, tuple[PoolSpec, str]]:
    """The columns the added pools read -> (the first pool that reads it, its key).

    Keys are current, min, max and eligible_column.
    """
    out: dict[str, tuple[PoolSpec, str]] = {}
    for spec in scenario.pools:
        for key in (*_POOL_COLUMN_KEYS, "eligible_column"):
            col = getattr(spec, key)
            if col is not None:
                out.setdefault(col, (spec, key))
    return out


def read_regions(path: str | Path, scenario: Scenario) -> pd.DataFrame:
    """Read and validate a regions table from a CSV/TXT/TSV or XLSX file."""
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InputError([Problem(file, f"cannot read the file ({e.strerror or e})",
                                  message_zh=f"无法读取文件（{e.strerror or e}）")]) from None
    return regions_from_bytes(data, file, scenario)


def regions_from_bytes(data: bytes, filename: str, scenario: Scenario) -> pd.DataFrame:
    """Read and validate a regions table from uploaded bytes; the extension picks the format."""
    table = read_table(data, filename, known_columns(scenario), key=REGION)
    df = validate_regions(table.frame, scenario, filename, first_row=table.first_row,
                          formulas=table.formulas)
    df.attrs["read_info"] = table.info
    df.attrs["read_notes"] = [*table.notes, *df.attrs["read_notes"]]
    return df


def validate_regions(raw: pd.DataFrame, scenario: Scenario, file: str, *, first_row: int = 2,
                     formulas: frozenset[tuple[int, int]] = frozenset()) -> pd.DataFrame:
    """Check a raw table (cells as text, numbers, bools or blanks) and return it typed.

    Raises InputError with every problem found. Fully blank rows are skipped (their
    row numbers are kept for the others); row i of `raw` is spreadsheet row
    `first_row + i`. `formulas` holds (row, column position) of formula cells without a
    saved value. Column names are matched as in a file (Chinese names, any case).
    """
    problems: list[Problem] = []
    cells: list[tuple[int, int, Problem]] = []  # (row, column position, problem), sorted later
    notes: list[Text] = []

    # Columns: canonical names where matched; a nameless column holding nothing is dropped.
    aliases = alias_map(known_columns(scenario))
    texts: dict[str, list[str]] = {}
    originals: dict[str, pd.Series] = {}
    letters: dict[str, str] = {}
    formula_rows: dict[str, set[int]] = {}
    for j in range(raw.shape[1]):
        typed = str(raw.columns[j]).strip()
        name = aliases.get(header_key(typed), typed)
        column = _texts(raw.iloc[:, j])
        in_formulas = {i for i, c in formulas if c == j}
        if not name:
            if not in_formulas and not any(t.strip() for t in column):
                continue
            name = f"unnamed_{column_letter(j)}"
        if name in texts:
            problems.append(_p(file, f"the column '{name}' appears twice (columns "
                               f"{letters[name]} and {column_letter(j)}); expected each "
                               f"column once",
                               f"列“{name}”出现了两次（第 {letters[name]} 列和第 "
                               f"{column_letter(j)} 列）；每列只能出现一次",
                               row=first_row - 1, column=name))
            continue
        texts[name] = column
        originals[name] = raw.iloc[:, j]
        letters[name] = column_letter(j)
        formula_rows[name] = in_formulas
    position = {name: k for k, name in enumerate(texts)}

    indicators = list(scenario.indicators)
    # the numeric columns of the added pools -> (pool, key, kind)
    numeric_pool_columns = _numeric_pool_columns(scenario)
    known = {REGION, *CURRENT_COLUMNS, HIGH_POTENTIAL, *BOUND_COLUMNS, *indicators,
             *numeric_pool_columns}
    unknown = [c for c in texts if c not in known]
    required = required_columns(scenario)
    for name in required:
        if name not in texts:
            en = zh = ""
            if name == REGION:
                en = (" (the header row is the first of the first 10 rows with a cell "
                      "'region', 区域, 地区 or 大区)")
                zh = "（表头是前 10 行中第一个含“region”“区域”“地区”或“大区”单元格的行）"
            elif name not in CURRENT_COLUMNS:
                en = f"; it is needed because indicator '{name}' has a weight > 0 in the scenario"
                zh = f"；方案中指标“{name}”的权重大于 0，因此需要该列"
            problems.append(_p(file, f"missing column '{name}'{suggest(name, unknown)}{en}",
                               f"缺少列“{name}”{_zh_name(name)}{suggest_zh(name, unknown)}{zh}",
                               column=name))
    problems += _pool_column_problems(scenario, file, texts, unknown)
    if scenario.hp_rule == "column" and HIGH_POTENTIAL not in texts:
        problems.append(_p(file, f"missing column '{HIGH_POTENTIAL}'"
                           f"{suggest(HIGH_POTENTIAL, unknown)}; the scenario's "
                           f"high_potential.rule = \"column\" reads it",
                           f"缺少列“{HIGH_POTENTIAL}”（高潜力）"
                           f"{suggest_zh(HIGH_POTENTIAL, unknown)}；方案的 "
                           f"high_potential.rule = \"column\" 需要读取该列",
                           column=HIGH_POTENTIAL))

    n_raw = raw.shape[0]
    any_text = np.zeros(n_raw, dtype=bool)
    for name, col in texts.items():
        any_text |= np.fromiter(map(len, map(str.strip, col)), int, n_raw) > 0
        for i in formula_rows[name]:
            any_text[i] = True
    keep = np.flatnonzero(any_text).tolist()
    if not keep:
        problems.append(_p(file, "the table has no data rows; expected one row per region "
                           "below the header row", "表中没有数据行；表头下应每个区域一行"))
        raise InputError(problems)
    rows = [first_row + i for i in keep]
    everything = len(keep) == n_raw

    def kept(name: str) -> list[str]:
        col = texts[name]
        return col if everything else [col[i] for i in keep]

    def cell_problem(k: int, name: str, en: str, zh: str) -> None:
        cells.append((rows[k], position[name], _p(file, en, zh, row=rows[k], column=name)))

    def formula_ks(name: str) -> set[int]:
        if not formula_rows.get(name):
            return set()
        where = {i: k for k, i in enumerate(keep)}
        return {where[i] for i in formula_rows[name] if i in where}

    def formula_problem(k: int, name: str) -> None:
        cell_problem(k, name, "the cell holds a formula with no saved value; open the file in "
                     "Excel and save it (Excel then stores the values), or type the value",
                     "该单元格是公式，但文件中没有保存计算结果；请在 Excel 中打开并保存该文件"
                     "（Excel 会保存计算值），或直接填写数值")

    out: dict[str, pd.Series] = {}

    # Region names: normalised, non-empty, unique, within Excel's cell limit.
    if REGION in texts:
        typed_names = kept(REGION)
        names = clean_names(typed_names)
        region_formulas = formula_ks(REGION)
        seen: dict[str, list[int]] = {}
        changed = []
        for k, name in enumerate(names):
            if k in region_formulas:
                formula_problem(k, REGION)
            elif not name:
                cell_problem(k, REGION, "the region name is blank; expected a unique, "
                             "non-empty name", "区域名称为空；应为唯一且非空的名称")
            elif len(name) > MAX_CELL_CHARS:
                cell_problem(k, REGION, f"the region name has {len(name):,} characters; "
                             f"expected at most {MAX_CELL_CHARS:,} (Excel's cell limit)",
                             f"区域名称有 {len(name):,} 个字符；最多 {MAX_CELL_CHARS:,} 个"
                             f"（Excel 单元格上限）")
            else:
                seen.setdefault(name, []).append(k)
                if name != typed_names[k].strip():
                    changed.append(k)
        for name, ks in seen.items():
            if len(ks) > 1:
                listed = _and([str(rows[k]) for k in ks])
                forms = list(dict.fromkeys(typed_names[k].strip() for k in ks))
                en = zh = ""
                if len(forms) > 1:
                    shown = _and([repr(f) for f in forms])
                    en = (f" (typed as {shown}: the same name once invisible characters and "
                          f"full-width forms are removed)")
                    zh = f"（写法为 {'、'.join(forms)}：去掉不可见字符并统一全角半角后为同一名称）"
                cell_problem(ks[1], REGION, f"the region '{name}' appears in rows {listed}{en}; "
                             f"expected each region once",
                             f"区域“{name}”出现在第 {'、'.join(str(rows[k]) for k in ks)} 行{zh}；"
                             f"每个区域只能出现一次")
        if changed:
            notes.append(_changed_note(changed, typed_names, names, rows))
        out[REGION] = pd.Series(names, dtype=object).astype(str)

    # Numeric columns: errors for what the scenario needs, silent for unused indicators.
    for name in texts:
        if name in (REGION, HIGH_POTENTIAL) or name not in (*CURRENT_COLUMNS, *indicators,
                                                            *BOUND_COLUMNS,
                                                            *numeric_pool_columns):
            continue
        use = numeric_pool_columns.get(name) if name not in (*CURRENT_COLUMNS,
                                                              *BOUND_COLUMNS) else None
        values, errors = _numbers(kept(name), name, use)
        for k in formula_ks(name):
            errors[k] = ("", "")
            values[k] = np.nan
        if name in required or name in BOUND_COLUMNS or use is not None:
            for k in sorted(errors):
                if errors[k] == ("", ""):
                    formula_problem(k, name)
                else:
                    cell_problem(k, name, *errors[k])
        elif errors:
            continue  # an indicator the scenario does not use: kept as given
        out[name] = pd.Series(values, dtype="float64")
    for name in CURRENT_COLUMNS:
        if name in out and not any(p.column == name for _, _, p in cells):
            problems += _total_problems(file, name, out[name].to_numpy(), scenario, notes)
    if "current_headcount" in out and not any(p.column == "current_headcount"
                                               for _, _, p in cells):
        out["current_headcount"] = out["current_headcount"].astype("int64")

    # high_potential: optional; blank = false.
    if HIGH_POTENTIAL in texts:
        typed = kept(HIGH_POTENTIAL)
        spelled = {t: header_key(t) for t in set(typed)}
        words = [spelled[t] for t in typed]
        hp_formulas = formula_ks(HIGH_POTENTIAL)
        flags = []
        for k, word in enumerate(words):
            flags.append(word in _TRUE)
            if k in hp_formulas:
                formula_problem(k, HIGH_POTENTIAL)
            elif word and word not in _TRUE and word not in _FALSE:
                text = typed[k].strip()
                cell_problem(k, HIGH_POTENTIAL, f"found {_shown(text)}; expected one of: "
                             f"{_HP_SPELLINGS}", f"“{_shown_zh(text)}”无法识别；应为"
                             f"{_HP_SPELLINGS_ZH}")
        out[HIGH_POTENTIAL] = pd.Series(flags, dtype=bool)

    # Bounds: blank = no bound; a minimum above its maximum is an error.
    for pool in ("headcount", "budget"):
        lo_name, hi_name = f"min_{pool}", f"max_{pool}"
        if lo_name not in out or hi_name not in out:
            continue
        lo_all, hi_all = kept(lo_name), kept(hi_name)
        above = out[lo_name].to_numpy() > out[hi_name].to_numpy()  # False where NaN
        for k in np.flatnonzero(above):
            lo, hi = lo_all[k].strip(), hi_all[k].strip()
            cell_problem(int(k), lo_name, f"{lo_name} {lo!r} is above {hi_name} {hi!r}; "
                         f"expected {lo_name} ≤ {hi_name} (or a blank cell for no bound)",
                         f"{lo_name}（{lo}）大于 {hi_name}（{hi}）；应满足 {lo_name} ≤ {hi_name}"
                         f"（或留空表示不限）")

    for spec in scenario.pools:  # a pool's minimum above its maximum
        if spec.min is None or spec.max is None or spec.min not in out or spec.max not in out:
            continue
        lo_all, hi_all = kept(spec.min), kept(spec.max)
        above = out[spec.min].to_numpy() > out[spec.max].to_numpy()
        for k in np.flatnonzero(above):
            lo, hi = lo_all[k].strip(), hi_all[k].strip()
            cell_problem(int(k), spec.min,
                         f"the pool '{spec.name}': {spec.min} {lo!r} (pools.{spec.name}.min) is "
                         f"above {spec.max} {hi!r} (pools.{spec.name}.max); expected min ≤ max "
                         f"(or a blank cell for no bound)",
                         f"资源池“{spec.display()}”：{spec.min}（{lo}，pools.{spec.name}.min）大于 "
                         f"{spec.max}（{hi}，pools.{spec.name}.max）；应满足最小值 ≤ 最大值"
                         f"（或留空表示不限）")

    problems += _group_problems(scenario, file, texts, out.get(REGION))
    problems += _eligibility_problems(scenario, file, texts, out.get(REGION), kept)
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
    df.attrs["read_info"] = raw.attrs.get("read_info", {"encoding": None, "delimiter": None,
                                                        "header_row": None, "sheet": None})
    df.attrs["read_notes"] = notes
    return df


def money_total(values: pd.Series | np.ndarray) -> float:
    """The sum of money amounts, added in whole cents as integers (exact beyond 2^53 cents)."""
    cents = np.rint(np.asarray(values, dtype=float) * 100.0)
    return sum(int(c) for c in cents.tolist()) / 100.0


# --------------------------------------------------------------------------- cells

def _p(file: str, en: str, zh: str, row: int | None = None,
       column: str | None = None) -> Problem:
    return Problem(file, en, row=row, column=column, message_zh=zh)


def _zh_name(name: str) -> str:
    names = CHINESE_NAMES.get(name)
    return f"（{names[0]}）" if names else ""


def _texts(series: pd.Series) -> list[str]:
    """A column as text; a column that is already all text is taken as it is."""
    # (a pandas string column may still hold missing cells, e.g. the app's deleted rows)
    if pd.api.types.infer_dtype(series, skipna=False) == "string" and not series.isna().any():
        return series.tolist()
    return [cell_text(v) for v in series]


def _shown(text: str) -> str:
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "…")


def _shown_zh(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def _expected(column: str) -> tuple[str, str]:
    if column == "current_headcount":
        return "a whole number ≥ 0", "≥ 0 的整数"
    if column in BOUND_COLUMNS:
        return "a number ≥ 0, or a blank cell for no bound", "≥ 0 的数，或留空表示不限"
    if column in NON_NEGATIVE_COLUMNS:
        return "a number ≥ 0", "≥ 0 的数"
    if column in UNIT_INTERVAL_COLUMNS:
        return "a fraction between 0 and 1, e.g. 0.42 or 42%", "0 到 1 之间的比例，例如 0.42 或 42%"
    if column in FRACTION_COLUMNS:
        return "a number, e.g. 0.12 or 12%", "数值，例如 0.12 或 12%"
    return "a number", "数值"


def _numeric_pool_columns(scenario: Scenario) -> dict[str, tuple[PoolSpec, str, str]]:
    """The current/min/max columns of the added pools -> (first pool, key, kind).

    A column read by a budget pool is money (¥, 万, 亿 accepted); by a headcount pool,
    whole numbers; a column both read is both.
    """
    out: dict[str, tuple[PoolSpec, str, str]] = {}
    for spec in scenario.pools:
        for key in _POOL_COLUMN_KEYS:
            col = getattr(spec, key)
            if col is None:
                continue
            if col in out:
                first, k0, kind = out[col]
                out[col] = (first, k0, kind if kind == spec.kind else "both")
            else:
                out[col] = (spec, key, spec.kind)
    return out


def _numbers(typed: list[str], column: str, pool: tuple[PoolSpec, str, str] | None = None,
             ) -> tuple[np.ndarray, dict[int, tuple[str, str]]]:
    """The column's numbers and {row k: (English, Chinese) message} for refused cells.

    `pool` (an added pool's column: pool, key, kind) parses it as that pool's column:
    money for budget pools, whole numbers for headcount pools, ≥ 0, a blank cell meaning
    no bound in a min/max column.
    """
    if pool is None:
        money, whole = column in MONEY_COLUMNS, column == "current_headcount"
        bound, non_negative = column in BOUND_COLUMNS, column in NON_NEGATIVE_COLUMNS
        exp, exp_zh = _expected(column)
    else:
        spec, key, kind = pool
        money, whole = kind in ("budget", "both"), kind in ("headcount", "both")
        bound, non_negative = key != "current", True
        exp, exp_zh = ("a whole number ≥ 0", "≥ 0 的整数") if whole else ("a number ≥ 0",
                                                                          "≥ 0 的数")
        if bound:
            exp, exp_zh = f"{exp}, or a blank cell for no bound", f"{exp_zh}，或留空表示不限"
        exp += f" (the pool '{spec.name}' reads this column as pools.{spec.name}.{key})"
        exp_zh += f"（资源池“{spec.display()}”按 pools.{spec.name}.{key} 读取该列）"
    values, bad = parse_numbers(typed, percent=pool is None and column in FRACTION_COLUMNS,
                                money=money)
    errors: dict[int, tuple[str, str]] = {}
    for k, reason in bad.items():
        errors[k] = _bad_number(typed[k].strip(), column, reason, exp, exp_zh)
    blank = np.isnan(values)
    blank[list(bad)] = False
    if not bound:
        for k in np.flatnonzero(blank):
            if not typed[k].strip():
                errors[int(k)] = (f"found a blank cell; expected {exp}",
                                  f"单元格为空；应为{exp_zh}")
    with np.errstate(invalid="ignore"):
        wrong = np.zeros(len(values), dtype=bool)
        if non_negative:
            wrong |= values < 0
        if whole:
            wrong |= values != np.floor(values)
        if pool is None and column in UNIT_INTERVAL_COLUMNS:
            wrong |= (values < 0) | (values > 1)
    for k in np.flatnonzero(wrong & ~np.isnan(values)):
        text = typed[k].strip()
        errors[int(k)] = (f"found {_shown(text)}; expected {exp}",
                          f"“{_shown_zh(text)}”不符合要求；应为{exp_zh}")
    if errors:
        values[list(errors)] = np.nan
    return values, errors


def _bad_number(text: str, column: str, reason: str, exp: str, exp_zh: str) -> tuple[str, str]:
    shown, shown_zh = _shown(text), _shown_zh(text)
    if reason == NON_FINITE:
        return (f"found {shown}; expected a finite number",
                f"“{shown_zh}”不是有限的数；应为有限的数")
    if reason == TOO_LARGE:
        if column == "current_headcount":
            return (f"found {shown}; expected {exp}", f"“{shown_zh}”不符合要求；应为{exp_zh}")
        return (f"found {shown}; expected a number of magnitude at most 1e15 "
                f"(1,000,000,000,000,000)",
                f"“{shown_zh}”超出范围；数值的绝对值不能超过 1e15（1000 万亿）")
    if reason == PERCENT_NOT_ALLOWED:
        return (f"found {shown}; expected {exp} (a % sign is accepted only in "
                f"{' and '.join(FRACTION_COLUMNS)})",
                f"“{shown_zh}”不符合要求；应为{exp_zh}（只有 {' 和 '.join(FRACTION_COLUMNS)} "
                f"可以使用 % 号）")
    if reason == UNIT_NOT_ALLOWED:
        return (f"found {shown}; expected {exp} (¥, 元, 万 and 亿 are accepted only in the money "
                f"columns {', '.join(MONEY_COLUMNS)})",
                f"“{shown_zh}”不符合要求；应为{exp_zh}（¥、元、万、亿 只能用于金额列 "
                f"{'、'.join(MONEY_COLUMNS)}）")
    if reason == DECIMAL_COMMA:
        return (f"found {shown}; expected {exp}",
                f"“{shown_zh}”不符合要求；应为{exp_zh}（逗号是千位分隔符，小数请用小数点）")
    return (f"found {shown}; expected {exp}", f"“{shown_zh}”不是有效的数；应为{exp_zh}")


def _total_problems(file: str, name: str, values: np.ndarray, scenario: Scenario,
                    notes: list[Text]) -> list[Problem]:
    """The column's total within 1e15 (money in whole cents); a note when it is 0."""
    pool = name.removeprefix("current_")
    total = money_total(values) if name == "current_budget" else float(values.sum())
    own = scenario.total(pool) is not None
    if abs(total) > MAX_MAGNITUDE:
        why = ("" if own else f"; with no [totals] {pool} in the scenario it is the total to "
               "allocate")
        why_zh = "" if own else f"；方案未设置 [totals] {pool}，该合计即为待分配总量"
        return [_p(file, f"the column '{name}' adds up to {total:,.2f}, above 1e15"
                   f"{why}; expected a total of at most 1e15",
                   f"列“{name}”的合计为 {total:,.2f}，超过 1e15{why_zh}；"
                   f"合计不能超过 1e15", column=name)]
    if total == 0:
        if own:
            notes.append(Text(f"'{name}' is 0 in every region: no change limit applies to the "
                              f"{pool} pool and there is no current share to compare with.",
                              f"“{name}”在所有区域均为 0：{pool} 资源池不受变动上限约束，"
                              f"也没有当前占比可比较。"))
        else:
            notes.append(Text(f"'{name}' is 0 in every region and the scenario sets no "
                              f"[totals] {pool}: the {pool} total is 0, nothing is allocated.",
                              f"“{name}”在所有区域均为 0，且方案未设置 [totals] {pool}："
                              f"{pool} 总量为 0，不分配任何资源。"))
    return []


def _changed_note(changed: list[int], typed: list[str], names: list[str],
                  rows: list[int]) -> Text:
    shown = [f"row {rows[k]}: {typed[k].strip()!r} → {names[k]!r}" for k in changed[:10]]
    shown_zh = [f"第 {rows[k]} 行：“{typed[k].strip()}”→“{names[k]}”" for k in changed[:10]]
    more = len(changed) - len(shown)
    tail, tail_zh = (f" and {more} more", f" 等另外 {more} 个") if more else ("", "")
    return Text(f"Region names normalised (full-width forms and invisible characters): "
                f"{'; '.join(shown)}{tail}.",
                f"区域名称已规范化（全角字符与不可见字符）：{'；'.join(shown_zh)}{tail_zh}。")


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _group_problems(scenario: Scenario, file: str, texts: dict[str, list[str]],
                    regions: pd.Series | None) -> list[Problem]:
    """Group rules that name a column or regions this table does not have."""
    problems = []
    names = set(regions) if regions is not None else set()
    for g in scenario.groups:
        if g.column is not None and g.column not in texts:
            problems.append(_p(file, f"missing column '{g.column}'"
                               f"{suggest(g.column, list(texts))}; the scenario's group "
                               f"'{g.name}' chooses its members by it",
                               f"缺少列“{g.column}”{suggest_zh(g.column, list(texts))}；方案中的"
                               f"分组“{g.name}”按该列选择成员", column=g.column))
        for r in g.regions or ():
            if regions is not None and r not in names:
                problems.append(_p(file, f"the scenario's group '{g.name}' names the region "
                                   f"'{r}'{suggest(r, sorted(names))}, which is not in "
                                   f"this table",
                                   f"方案中的分组“{g.name}”列出了区域“{r}”"
                                   f"{suggest_zh(r, sorted(names))}，但该表中没有这个区域",
                                   column=REGION))
    return problems


def _pool_column_problems(scenario: Scenario, file: str, texts: dict[str, list[str]],
                          unknown: list[str]) -> list[Problem]:
    """Columns an added pool or a `per` rule names that the table does not have."""
    problems = []
    for spec in scenario.pools:
        for key in (*_POOL_COLUMN_KEYS, "eligible_column"):
            col = getattr(spec, key)
            if col is None or col in texts:
                continue
            problems.append(_p(file, f"missing column '{col}'{suggest(col, unknown)}; the "
                               f"scenario's pool '{spec.name}' reads it "
                               f"(pools.{spec.name}.{key} = \"{col}\")",
                               f"缺少列“{col}”{suggest_zh(col, unknown)}；方案中的资源池"
                               f"“{spec.display()}”需要读取该列（pools.{spec.name}.{key} = "
                               f"\"{col}\"）", column=col))
    for g in scenario.groups:
        if g.per is not None and g.per not in texts:
            problems.append(_p(file, f"missing column '{g.per}'{suggest(g.per, list(texts))}; "
                               f"the scenario's group '{g.name}' makes one rule per value of "
                               f"it (per = \"{g.per}\")",
                               f"缺少列“{g.per}”{suggest_zh(g.per, list(texts))}；方案中的分组"
                               f"“{g.name}”按该列的每个取值各设一条规则（per = \"{g.per}\"）",
                               column=g.per))
    return problems


def _eligibility_problems(scenario: Scenario, file: str, texts: dict[str, list[str]],
                          regions: pd.Series | None,
                          kept: Callable[[str], list[str]]) -> list[Problem]:
    """An added pool's eligibility naming a region or value the table does not have, or
    leaving no region that may receive it."""
    problems = []
    names = list(dict.fromkeys(regions)) if regions is not None else []
    known = set(names)
    for spec in scenario.pools:
        label = spec.display()
        if spec.eligible is not None and regions is not None:
            missing = [r for r in spec.eligible if r not in known]
            for r in missing:
                problems.append(_p(file, f"the pool '{spec.name}' names the region '{r}'"
                                   f"{suggest(r, names)} in pools.{spec.name}.eligible, which "
                                   f"is not in this table",
                                   f"资源池“{label}”在 pools.{spec.name}.eligible 中列出了区域"
                                   f"“{r}”{suggest_zh(r, names)}，但该表中没有这个区域",
                                   column=REGION))
        col = spec.eligible_column
        if col is not None and col in texts:
            present = list(dict.fromkeys(t.strip() for t in kept(col)))
            values = set(present)
            for v in spec.eligible_values or ():
                if v not in values:
                    shown = ", ".join(present[:12])
                    problems.append(_p(file, f"the pool '{spec.name}': no region has {col} = "
                                       f"'{v}'{suggest(v, present)} "
                                       f"(pools.{spec.name}.eligible_values); the column "
                                       f"holds: {shown}",
                                       f"资源池“{label}”：没有区域的 {col} 为“{v}”"
                                       f"{suggest_zh(v, present)}（pools.{spec.name}."
                                       f"eligible_values）；该列的取值为：{'、'.join(present[:12])}",
                                       column=col))
    return problems

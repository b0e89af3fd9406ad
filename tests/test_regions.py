"""The regions table: reading CSV/XLSX, and every kind of bad input with its exact message."""

from __future__ import annotations

import io
import math

import numpy as np
import openpyxl
import pandas as pd
import pytest
from conftest import COLUMNS, INPUTS, ROWS, csv_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.errors import InputError, Problem
from optimizer.inputs.regions import (
    BOUND_COLUMNS,
    read_regions,
    regions_from_bytes,
    required_columns,
    validate_regions,
)
from optimizer.inputs.scenario import DEFAULT_INDICATORS, GroupRule, Indicator, Scenario
from optimizer.inputs.scenario_read import load_scenario


def problems_of(text: str, scenario: Scenario | None = None, name: str = "r.csv") -> list[Problem]:
    """The problems raised for CSV `text` (fails when it is accepted)."""
    with pytest.raises(InputError) as info:
        regions_from_bytes(text.encode("utf-8"), name, scenario or Scenario())
    return info.value.problems


def one_problem(text: str, scenario: Scenario | None = None) -> Problem:
    problems = problems_of(text, scenario)
    assert len(problems) == 1, problems
    return problems[0]


def with_cell(row: int, column: str, value: str) -> str:
    """The valid table with one cell replaced; `row` as a spreadsheet numbers it (2 = first)."""
    rows = [list(r) for r in ROWS]
    rows[row - 2][COLUMNS.index(column)] = value
    return csv_text(rows)


def with_column(name: str, values: list[str], rows: list[list[str]] | None = None) -> str:
    """The valid table with one more column."""
    rows = [[*r, v] for r, v in zip(rows or ROWS, values, strict=True)]
    return csv_text(rows, [*COLUMNS, name])


# --------------------------------------------------------------------------- good input

def test_required_columns_follow_the_weights():
    assert required_columns(Scenario()) == [
        "region", "current_headcount", "current_budget", *DEFAULT_INDICATORS]
    s = Scenario(weights={"market_potential": 1.0, "customer_value": 0.0,
                          "internal_capability": 1.0},
                 indicators={**Scenario().indicators,
                             "growth_rate": Indicator("market_potential", "higher", 0.0)})
    assert required_columns(s) == [
        "region", "current_headcount", "current_budget", "market_size",
        "competition_intensity", "team_capability", "resource_reserve",
        "collaboration_efficiency"]


@pytest.mark.parametrize("bom", [True, False])
def test_valid_csv_is_typed(write, scenario, bom):
    path = write(csv_text(), bom=bom)
    df = read_regions(path, scenario)
    assert list(df["region"]) == ["华东", "西南", "东北"]
    assert isinstance(df.index, pd.RangeIndex)
    assert df.attrs["file"] == str(path)
    for name in DEFAULT_INDICATORS:
        assert df[name].dtype == np.float64
    assert df["current_headcount"].dtype == np.int64
    assert list(df["current_headcount"]) == [52, 12, 10]
    assert df["current_budget"].dtype == np.float64
    assert df["growth_rate"][1] == 0.28
    assert "high_potential" not in df.columns
    for name in BOUND_COLUMNS:
        assert df[name].dtype == np.float64 and df[name].isna().all()


def test_bom_and_no_bom_read_the_same(write, scenario):
    a = read_regions(write(csv_text(), "a.csv", bom=True), scenario)
    b = read_regions(write(csv_text(), "b.csv", bom=False), scenario)
    pd.testing.assert_frame_equal(a, b)
    assert a.columns[0] == "region"  # the BOM is not part of the first name


def test_chinese_names_round_trip_trimmed(write, scenario):
    rows = [list(r) for r in ROWS]
    rows[0][0], rows[1][0], rows[2][0] = " 华东 ", "西南\t", "Ürümqi 乌鲁木齐"
    df = read_regions(write(csv_text(rows)), scenario)
    assert list(df["region"]) == ["华东", "西南", "Ürümqi 乌鲁木齐"]


def test_column_names_are_trimmed_and_extras_kept(write, scenario):
    columns = [f" {c} " for c in COLUMNS] + ["war_zone", "note"]
    rows = [[*r, z, n] for r, z, n in zip(ROWS, ["东区", "西区", "北区"], ["", "a, b", "007"],
                                           strict=True)]
    text = "".join(",".join(f'"{c}"' for c in line) + "\n" for line in [columns, *rows])
    df = read_regions(write(text), scenario)
    assert list(df["war_zone"]) == ["东区", "西区", "北区"]
    assert list(df["note"]) == ["", "a, b", "007"]  # as given: text, not a number
    assert list(df.columns[:len(COLUMNS)]) == COLUMNS


def test_high_potential_column_becomes_bool(write, scenario):
    df = read_regions(write(with_column("high_potential", ["是", "", "FALSE"])), scenario)
    assert df["high_potential"].dtype == bool
    assert list(df["high_potential"]) == [True, False, False]


@pytest.mark.parametrize("word",
                         ["true", "TRUE", "True", "1", "yes", "YES", "y", "Y", "是", " 是 "])
def test_high_potential_true_spellings(word):
    df = regions_from_bytes(with_column("high_potential", [word, "0", "否"]).encode(), "r.csv",
                            Scenario())
    assert list(df["high_potential"]) == [True, False, False]


@pytest.mark.parametrize("word", ["false", "False", "0", "no", "No", "n", "N", "否", ""])
def test_high_potential_false_spellings(word):
    df = regions_from_bytes(with_column("high_potential", [word, "1", "是"]).encode(), "r.csv",
                            Scenario())
    assert list(df["high_potential"]) == [False, True, True]


@pytest.mark.parametrize(("column", "typed", "value"), [
    ("market_size", "1,234,567", 1234567.0),
    ("current_budget", "25,200,000.50", 25200000.5),
    ("growth_rate", "12.5%", 0.125),
    ("growth_rate", "-3 %", -0.03),
    ("repurchase_rate", "42%", 0.42),
    ("growth_rate", "-0.05", -0.05),  # growth may be negative
    ("referral_score", "-20", -20.0),  # other scores take any sign
    ("competition_intensity", "1e2", 100.0),
    ("market_size", "１２３", 123.0),  # full-width digits from a Chinese input method
    ("referral_score", "\u22125", -5.0),  # a typographic minus
    ("current_headcount", "52.0", 52),
])
def test_friendly_numbers_are_accepted(column, typed, value):
    df = regions_from_bytes(with_cell(2, column, f'"{typed}"').encode(), "r.csv", Scenario())
    assert df[column][0] == value


def test_bounds_blank_means_none_and_parse(write, scenario):
    rows = [[*r, lo, hi] for r, lo, hi in zip(ROWS, ["40", "", "5"], ["", "30", "5"],
                                               strict=True)]
    df = read_regions(write(csv_text(rows, [*COLUMNS, "min_headcount", "max_headcount"])),
                      scenario)
    assert df["min_headcount"].tolist()[0] == 40 and math.isnan(df["min_headcount"][1])
    assert math.isnan(df["max_headcount"][0]) and df["max_headcount"][1] == 30
    assert df["min_budget"].isna().all() and df["max_budget"].dtype == np.float64


def test_blank_rows_are_skipped_and_rows_keep_their_numbers(scenario):
    lines = csv_text().splitlines()
    text = "\n".join([lines[0], lines[1], "", ",,,,", lines[2], lines[3]]) + "\n"
    df = regions_from_bytes(text.encode(), "r.csv", scenario)
    assert list(df["region"]) == ["华东", "西南", "东北"]
    bad = text.replace("东北,2400", "东北,abc")
    [p] = problems_of(bad)
    assert p.row == 6  # header 1, 华东 2, blank 3 and 4, 西南 5, 东北 6


def test_semicolon_separated_csv(scenario):
    df = regions_from_bytes(csv_text().replace(",", ";").encode(), "r.csv", scenario)
    assert list(df["current_headcount"]) == [52, 12, 10]


def test_unused_indicator_is_float_when_it_parses_and_kept_when_not():
    s = Scenario(indicators={**Scenario().indicators,
                             "referral_score": Indicator("customer_value", "higher", 0.0)})
    df = regions_from_bytes(csv_text().encode(), "r.csv", s)
    assert df["referral_score"].dtype == np.float64
    df = regions_from_bytes(with_cell(3, "referral_score", "n/a").encode(), "r.csv", s)
    assert list(df["referral_score"]) == ["38", "n/a", "15"]
    rows = [r[:6] + r[7:] for r in ROWS]  # and it may be missing altogether
    df = regions_from_bytes(csv_text(rows, COLUMNS[:6] + COLUMNS[7:]).encode(), "r.csv", s)
    assert "referral_score" not in df.columns


# --------------------------------------------------------------------------- bad input

def test_missing_column_suggests_a_close_name():
    text = csv_text(columns=[("market_sise" if c == "market_size" else c) for c in COLUMNS])
    p = one_problem(text)
    assert p.file == "r.csv" and p.column == "market_size" and p.row is None
    assert p.message.startswith("missing column 'market_size' (did you mean 'market_sise'?)")
    assert str(p).startswith("r.csv, column 'market_size': missing column 'market_size'")


def test_missing_columns_one_problem_each():
    keep = [c for c in COLUMNS if c not in ("current_budget", "team_capability")]
    rows = [[v for c, v in zip(COLUMNS, r, strict=True) if c in keep] for r in ROWS]
    problems = problems_of(csv_text(rows, keep))
    assert [p.column for p in problems] == ["current_budget", "team_capability"]
    assert problems[0].message == "missing column 'current_budget'"
    assert "indicator 'team_capability' has a weight > 0" in problems[1].message


def test_region_column_in_another_case_is_the_column():
    # headers match after NFKC and case folding (docs/model.md, "Files as offices make them")
    df = regions_from_bytes(csv_text(columns=["Region", *COLUMNS[1:]]).encode(), "r.csv",
                            Scenario())
    assert list(df["region"]) == [r[0] for r in ROWS]


def test_region_column_misspelt():
    p = problems_of(csv_text(columns=["Regoin", *COLUMNS[1:]]))[0]
    assert p.message.startswith("missing column 'region'") and "Regoin" in p.message


@pytest.mark.parametrize(("column", "expected"), [
    ("market_size", "a number ≥ 0"),
    ("growth_rate", "a number, e.g. 0.12 or 12%"),
    ("competition_intensity", "a number"),
    ("current_headcount", "a whole number ≥ 0"),
    ("current_budget", "a number ≥ 0"),
])
def test_blank_numeric_cell(column, expected):
    p = one_problem(with_cell(3, column, ""))
    assert (p.file, p.row, p.column) == ("r.csv", 3, column)
    assert p.message == f"found a blank cell; expected {expected}"


@pytest.mark.parametrize(("column", "typed", "expected"), [
    ("market_size", "abc", "a number ≥ 0"),
    ("customer_ltv", "5.8m", "a number ≥ 0"),
    ("referral_score", "1 234", "a number"),
    ("team_capability", "1,23", "a number"),  # not a thousands grouping
    ("resource_reserve", "1_000", "a number"),
    ("current_budget", "100 dollars", "a number ≥ 0"),
    ("growth_rate", "8%%", "a number, e.g. 0.12 or 12%"),
])
def test_text_in_numeric_cell(column, typed, expected):
    p = one_problem(with_cell(4, column, f'"{typed}"'))
    assert (p.row, p.column) == (4, column)
    assert p.message == f"found {typed!r}; expected {expected}"


def test_percent_outside_a_fraction_column():
    p = one_problem(with_cell(2, "market_size", "12%"))
    assert p.message == ("found '12%'; expected a number ≥ 0 (a % sign is accepted only in "
                         "growth_rate and repurchase_rate)")


@pytest.mark.parametrize("typed", ["inf", "-Infinity", "nan", "NaN", "1e400"])
def test_non_finite_numbers(typed):
    p = one_problem(with_cell(2, "referral_score", typed))
    assert (p.row, p.column) == (2, "referral_score")
    assert p.message == f"found {typed!r}; expected a finite number"


@pytest.mark.parametrize("column", ["current_headcount", "current_budget", "market_size",
                                    "customer_ltv"])
def test_negative_amounts(column):
    p = one_problem(with_cell(3, column, "-5"))
    assert (p.file, p.row, p.column) == ("r.csv", 3, column)
    expected = "a whole number ≥ 0" if column == "current_headcount" else "a number ≥ 0"
    assert p.message == f"found '-5'; expected {expected}"


@pytest.mark.parametrize("column", BOUND_COLUMNS)
def test_negative_bounds(column):
    p = one_problem(with_column(column, ["", "-1", ""]))
    assert (p.row, p.column) == (3, column)
    assert p.message == "found '-1'; expected a number ≥ 0, or a blank cell for no bound"


@pytest.mark.parametrize("typed", ["12.5", "1e20", "-0.5"])
def test_headcount_must_be_whole(typed):
    p = one_problem(with_cell(2, "current_headcount", typed))
    assert (p.row, p.column) == (2, "current_headcount")
    assert p.message == f"found {typed!r}; expected a whole number ≥ 0"


def test_duplicate_region_names_after_trimming():
    rows = [list(r) for r in ROWS]
    rows[0][0], rows[2][0] = "华东", " 华东 "
    p = one_problem(csv_text(rows))
    assert (p.row, p.column) == (4, "region")
    assert p.message == "the region '华东' appears in rows 2 and 4; expected each region once"


def test_region_three_times_is_one_problem_naming_all_rows():
    rows = [list(r) for r in ROWS]
    for r in rows:
        r[0] = "西北"
    p = one_problem(csv_text(rows))
    assert "appears in rows 2, 3 and 4" in p.message and p.row == 3


@pytest.mark.parametrize("name", ["", "   ", '"\t"'])
def test_empty_region_name(name):
    p = one_problem(with_cell(3, "region", name))
    assert (p.row, p.column) == (3, "region")
    assert p.message == "the region name is blank; expected a unique, non-empty name"


@pytest.mark.parametrize("text", [csv_text(rows=[]), csv_text(rows=[]) + ",,,\n\n"])
def test_empty_table(text):
    p = one_problem(text)
    assert (p.file, p.row, p.column) == ("r.csv", None, None)
    assert p.message == "the table has no data rows; expected one row per region below the " \
                        "header row"


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\n"])
def test_empty_file(data):
    with pytest.raises(InputError) as info:
        regions_from_bytes(data, "r.csv", Scenario())
    assert "the file is empty" in str(info.value)


@pytest.mark.parametrize("word", ["maybe", "t", "2", "是的", "x"])
def test_bad_high_potential(word):
    p = one_problem(with_column("high_potential", ["是", word, "否"]))
    assert (p.row, p.column) == (3, "high_potential")
    assert p.message == (f"found {word!r}; expected one of: true/false, 1/0, yes/no, y/n, 是/否 "
                         f"(any case; a blank cell means false)")


@pytest.mark.parametrize("pool", ["headcount", "budget"])
def test_min_above_max(pool):
    rows = [[*r, lo, hi] for r, lo, hi in zip(ROWS, ["", "20", "5"], ["", "10", "5"],
                                               strict=True)]
    p = one_problem(csv_text(rows, [*COLUMNS, f"min_{pool}", f"max_{pool}"]))
    assert (p.file, p.row, p.column) == ("r.csv", 3, f"min_{pool}")
    assert p.message == (f"min_{pool} '20' is above max_{pool} '10'; expected min_{pool} ≤ "
                         f"max_{pool} (or a blank cell for no bound)")


def test_all_problems_at_once_in_row_order():
    rows = [list(r) for r in ROWS]
    rows[2][COLUMNS.index("market_size")] = "lots"
    rows[0][COLUMNS.index("current_headcount")] = "-1"
    rows[1][0] = rows[0][0]
    problems = problems_of(csv_text(rows))
    assert [(p.row, p.column) for p in problems] == [
        (2, "current_headcount"), (3, "region"), (4, "market_size")]
    assert str(problems[2]) == "r.csv, row 4, column 'market_size': found 'lots'; expected a " \
                               "number ≥ 0"


def test_header_problems_and_cell_problems_together():
    text = with_cell(2, "current_budget", "x").replace("market_size", "market_sise")
    problems = problems_of(text)
    assert [p.column for p in problems] == ["market_size", "current_budget"]


def test_duplicate_column():
    p = one_problem(with_column(" region", ["a", "b", "c"]))
    assert (p.row, p.column) == (1, "region")
    assert p.message == ("the column 'region' appears twice (columns A and M); expected each "
                         "column once")


def test_column_rule_needs_the_high_potential_column():
    p = one_problem(csv_text(), Scenario(hp_rule="column"))
    assert p.column == "high_potential"
    assert p.message == ("missing column 'high_potential'; the scenario's high_potential.rule "
                         "= \"column\" reads it")


def test_group_rules_are_checked_against_the_table():
    s = Scenario(groups=(GroupRule("West", column="war_zne", values=("西区",), min_share=0.1),
                         GroupRule("Some", regions=("华东", "东北区"), min_share=0.1)))
    problems = problems_of(with_column("war_zone", ["东区", "西区", "北区"]), s)
    assert [p.message for p in problems] == [
        "missing column 'war_zne' (did you mean 'war_zone'?); the scenario's group 'West' "
        "chooses its members by it",
        "the scenario's group 'Some' names the region '东北区' (did you mean '东北'?), which is "
        "not in this table",
    ]


# --------------------------------------------------------------------------- files

def test_missing_file(tmp_path, scenario):
    path = str(tmp_path / "nope.csv")
    with pytest.raises(InputError) as info:
        read_regions(path, scenario)
    [p] = info.value.problems
    assert p.file == path and p.message == "cannot read the file (No such file or directory)"


def test_directory_is_unreadable(tmp_path, scenario):
    with pytest.raises(InputError, match="cannot read the file"):
        read_regions(tmp_path, scenario)


@pytest.mark.parametrize("name", ["regions", "regions.xls", "regions.json"])
def test_unknown_extension(write, scenario, name):
    path = write(csv_text(), name)
    with pytest.raises(InputError) as info:
        read_regions(path, scenario)
    [p] = info.value.problems
    assert p.file == str(path)
    assert "expected a .csv (UTF-8) or .xlsx file" in p.message


def test_file_is_named_as_given(write, scenario, monkeypatch, tmp_path):
    write(with_cell(2, "market_size", "x"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as info:
        read_regions("./regions.csv", scenario)
    assert info.value.problems[0].file == "./regions.csv"
    assert str(info.value).startswith("./regions.csv, row 2, column 'market_size': ")


def test_non_utf8_csv_is_read_as_gb18030(tmp_path, scenario):
    path = tmp_path / "gbk.csv"
    path.write_bytes(csv_text().encode("gbk"))  # Excel's "CSV" on a Chinese Windows
    df = read_regions(path, scenario)
    assert list(df["region"]) == [r[0] for r in ROWS]
    assert df.attrs["read_info"]["encoding"].lower().startswith("gb")


def test_workbook_named_csv(scenario):
    with pytest.raises(InputError, match="this is an Excel workbook, not CSV text"):
        regions_from_bytes(b"PK\x03\x04rest", "r.csv", scenario)


@pytest.mark.parametrize(("data", "message"), [
    (b"not a zip", "cannot read the file as an Excel .xlsx workbook"),
    (b"PK\x03\x04broken", "cannot read the file as an Excel .xlsx workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old-format .xls workbook or a password-protected"),
])
def test_bad_workbook(scenario, data, message):
    with pytest.raises(InputError) as info:
        regions_from_bytes(data, "r.xlsx", scenario)
    [p] = info.value.problems
    assert p.file == "r.xlsx" and message in p.message


def _workbook(rows: list[list[object]], first_sheet: str = "regions") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = first_sheet
    for r in rows:
        ws.append(r)
    wb.create_sheet("notes").append(["ignored"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _typed_rows() -> list[list[object]]:
    return [[r[0], *(float(v) for v in r[1:10]), int(r[10]), float(r[11])] for r in ROWS]


def test_xlsx_is_read_from_the_first_sheet(tmp_path, scenario):
    path = tmp_path / "regions.xlsx"
    path.write_bytes(_workbook([[*COLUMNS, "high_potential"],
                                *[[*r, hp] for r, hp in zip(_typed_rows(), [False, True, "是"],
                                                            strict=True)]]))
    df = read_regions(path, scenario)
    assert df.attrs["file"] == str(path)
    assert list(df["high_potential"]) == [False, True, True]
    from_csv = regions_from_bytes(csv_text().encode(), "r.csv", scenario)
    df.attrs = from_csv.attrs = {}
    pd.testing.assert_frame_equal(df.drop(columns="high_potential"), from_csv)


def test_xlsx_problems_name_sheet_rows(scenario):
    rows = _typed_rows()
    rows[1][COLUMNS.index("current_headcount")] = 12.5
    rows[2][COLUMNS.index("market_size")] = "#DIV/0!"
    data = _workbook([COLUMNS, rows[0], [None] * len(COLUMNS), rows[1], rows[2]])
    with pytest.raises(InputError) as info:
        regions_from_bytes(data, "r.xlsx", scenario)
    assert [str(p) for p in info.value.problems] == [
        "r.xlsx, row 4, column 'current_headcount': found '12.5'; expected a whole number ≥ 0",
        "r.xlsx, row 5, column 'market_size': found '#DIV/0!'; expected a number ≥ 0",
    ]


def test_empty_xlsx(scenario):
    with pytest.raises(InputError, match="the first sheet is empty"):
        regions_from_bytes(_workbook([]), "r.xlsx", scenario)


# --------------------------------------------------------------------------- edited tables

def test_edited_table_with_mixed_cells(scenario):
    raw = pd.DataFrame(_typed_rows(), columns=COLUMNS, dtype=object)
    raw["high_potential"] = [True, np.bool_(False), None]
    raw["min_budget"] = [np.nan, 1_000_000, None]
    raw["current_headcount"] = raw["current_headcount"].astype("int64")
    raw.index = [10, 11, 12]  # the editor may keep any index
    df = validate_regions(raw, scenario, "edited")
    assert isinstance(df.index, pd.RangeIndex)
    assert list(df["high_potential"]) == [True, False, False]
    assert df["min_budget"].tolist()[1] == 1_000_000 and df["min_budget"].isna().sum() == 2
    assert list(df["current_headcount"]) == [52, 12, 10]
    assert df.attrs["file"] == "edited"


def test_edited_table_problems(scenario):
    raw = regions_from_bytes(csv_text().encode(), "r.csv", scenario)
    raw.loc[1, "market_size"] = np.nan
    raw["current_headcount"] = raw["current_headcount"].astype(object)
    raw.loc[2, "current_headcount"] = True
    with pytest.raises(InputError) as info:
        validate_regions(raw, scenario, "edited")
    assert [str(p) for p in info.value.problems] == [
        "edited, row 3, column 'market_size': found a blank cell; expected a number ≥ 0",
        "edited, row 4, column 'current_headcount': found 'TRUE'; expected a whole number ≥ 0",
    ]


def test_validation_is_idempotent(scenario):
    once = regions_from_bytes(with_column("high_potential", ["是", "", "n"]).encode(), "r.csv",
                              scenario)
    twice = validate_regions(once, scenario, "r.csv")
    pd.testing.assert_frame_equal(once, twice)


_cells = st.one_of(st.text(max_size=8), st.none(), st.booleans(), st.integers(-10**20, 10**20),
                   st.floats(allow_nan=True, allow_infinity=True))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.lists(_cells, min_size=len(COLUMNS) + 1, max_size=len(COLUMNS) + 1),
                max_size=4))
def test_any_table_is_accepted_or_rejected_with_input_error(rows):
    raw = pd.DataFrame(rows, columns=[*COLUMNS, "high_potential"], dtype=object)
    try:
        df = validate_regions(raw, Scenario(), "fuzz")
    except InputError as e:
        assert e.problems and all(p.file == "fuzz" for p in e.problems)
    else:
        assert df["current_headcount"].dtype == np.int64
        assert (df["current_headcount"] >= 0).all()
        assert np.isfinite(df[list(DEFAULT_INDICATORS)].to_numpy()).all()


@settings(max_examples=100, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=0, max_value=1e14))
def test_any_finite_amount_round_trips_through_text(x):
    # any amount whose column total stays within the 1e15 limit (docs/model.md)
    df = regions_from_bytes(with_cell(3, "current_budget", repr(x)).encode(), "r.csv",
                            Scenario())
    assert df["current_budget"][1] == x


# --------------------------------------------------------------------------- bundled inputs

def test_bundled_regions_csv():
    data = (INPUTS / "regions.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # Excel opens the Chinese names correctly
    df = read_regions(INPUTS / "regions.csv", load_scenario(INPUTS / "scenario.toml"))
    assert list(df["region"]) == ["华东", "华南", "华北", "华中", "西南", "西北", "东北"]
    assert df["current_headcount"].sum() == 156
    hp = df.loc[df["high_potential"], "region"].tolist()
    assert hp == ["华北", "华中", "西南", "西北"]
    share = df.loc[df["high_potential"], "current_budget"].sum() / df["current_budget"].sum()
    assert share == pytest.approx(0.25)  # 2023: high-potential markets got 25 % of the budget
    assert df["customer_ltv"].mean() == pytest.approx(5.8e6)
    assert df["repurchase_rate"].mean() == pytest.approx(0.42)
    assert set(df["war_zone"]) == {"东区", "南区", "北区", "西区"}


def test_bundled_groups_match_the_table():
    s = load_scenario(INPUTS / "groups.toml")
    df = read_regions(INPUTS / "regions.csv", s)  # group columns and regions are checked
    assert len(s.groups) == 2
    for g in s.groups:
        if g.values:
            assert set(g.values) <= set(df[g.column])


def test_invisible_characters_are_every_format_character_of_unicode() -> None:
    """The listed ranges are exactly the code points unicodedata puts in category Cf."""
    import sys
    import unicodedata

    from optimizer.inputs.tables import FORMAT_RANGES

    listed = {c for lo, hi in FORMAT_RANGES for c in range(lo, hi + 1)}
    scanned = {c for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"}
    assert listed == scanned

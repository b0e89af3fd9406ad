"""Files as Chinese offices make them (docs/model.md "Files as offices make them", issue 9).

Every fixture is written here: GB18030 and UTF-16 text, title and merged group-header rows,
Chinese and full-width headers, 万/亿 amounts, 1e308, invisible characters in names,
formulas without a saved value, a sheet whose used range claims a million rows.
Expected values are typed by hand from the fixture, never taken from the reader.
"""

from __future__ import annotations

import io
import re
import time
import zipfile

import openpyxl
import pytest
from clihelp import cli
from conftest import COLUMNS, ROWS, csv_text

from optimizer.errors import InputError, Problem
from optimizer.inputs.regions import money_total, regions_from_bytes
from optimizer.inputs.scenario import Scenario
from optimizer.inputs.scenario_read import load_scenario, scenario_from_text
from optimizer.inputs.tables import parse_numbers, read_table

ZH = ["区域", "市场规模", "增长率", "竞争强度", "客户终身价值", "复购率", "推荐意愿", "团队能力",
      "资源储备", "协同效率", "当前人数", "当前预算"]
BUDGETS = [25_200_000.0, 3_500_000.0, 7_000_000.0]


def read(data: bytes, name: str = "r.csv", scenario: Scenario | None = None):
    return regions_from_bytes(data, name, scenario or Scenario())


def problems(data: bytes, name: str = "r.csv", scenario: Scenario | None = None
             ) -> list[Problem]:
    with pytest.raises(InputError) as info:
        read(data, name, scenario)
    return info.value.problems


def with_cells(changes: dict[tuple[int, str], str], columns: list[str] | None = None) -> str:
    rows = [list(r) for r in ROWS]
    for (row, column), value in changes.items():
        rows[row - 2][COLUMNS.index(column)] = value
    return csv_text(rows, columns)


# --------------------------------------------------------------------------- encodings

def test_gb18030_csv_with_chinese_headers_and_title_rows():
    text = "2024年各区域资源表,,,\n单位：元,,\n" + csv_text(columns=ZH)
    df = read(text.encode("gb18030"))
    assert list(df["region"]) == ["华东", "西南", "东北"]
    assert list(df["current_budget"]) == BUDGETS
    assert list(df.columns[:len(COLUMNS)]) == COLUMNS
    assert df.attrs["read_info"] == {"encoding": "GB18030", "delimiter": ",", "header_row": 3,
                                     "sheet": None}
    [note] = df.attrs["read_notes"]
    assert note.en == "Read as GB18030, comma-separated; header in row 3 (2 rows above it skipped)."
    assert "GB18030" in note.zh and "第 3 行" in note.zh


def test_gb18030_rows_keep_spreadsheet_numbers():
    text = "2024年各区域资源表\n" + with_cells({(3, "market_size"): "很多"}, ZH)
    [p] = problems(text.encode("gb18030"))
    assert (p.row, p.column) == (4, "market_size")  # title 1, header 2, 华东 3, 西南 4
    assert p.render("zh") == ("文件 r.csv，第 4 行，列“market_size”：“很多”不是有效的数；"
                              "应为≥ 0 的数")


def test_utf16_tab_separated_txt():
    data = csv_text().replace(",", "\t").encode("utf-16")  # Excel's "Unicode text"
    df = read(data, "regions.txt")
    assert list(df["current_headcount"]) == [52, 12, 10]
    assert df.attrs["read_info"]["encoding"] == "UTF-16"
    assert df.attrs["read_info"]["delimiter"] == "\t"
    assert "tab-separated" in df.attrs["read_notes"][0].en


@pytest.mark.parametrize(("name", "sep"), [("r.tsv", "\t"), ("r.csv", ";"), ("r.txt", ",")])
def test_delimiters_and_extensions(name, sep):
    df = read(csv_text().replace(",", sep).encode(), name)
    assert df.attrs["read_info"]["delimiter"] == sep
    assert list(df["current_budget"]) == BUDGETS


def test_bytes_that_are_no_known_encoding():
    [p] = problems(b"region,x\n\xff\xfe\xfd\n"[:9] + b"\x81\x20\n")
    assert "not UTF-8 or GB18030 text" in p.message and p.row == 2
    assert "CSV UTF-8" in p.render("zh")


# --------------------------------------------------------------------------- headers

def test_headers_in_any_case_and_width():
    columns = ["ＲＥＧＩＯＮ", *[c.upper() for c in COLUMNS[1:6]], *ZH[6:]]
    columns[2] = " Growth_Rate\u200b "
    df = read(csv_text(columns=columns).encode())
    assert list(df.columns[:len(COLUMNS)]) == COLUMNS


def test_a_title_that_contains_the_word_is_not_a_header():
    text = "各区域资源表（区域汇总）\n" + csv_text(columns=ZH)
    df = read(text.encode())
    assert df.attrs["read_info"]["header_row"] == 2


def test_two_headers_naming_one_column():
    [p] = problems(csv_text(rows=[[*r, "x"] for r in ROWS], columns=[*COLUMNS, "当前预算"])
                   .encode())
    assert (p.row, p.column) == (1, "current_budget")
    assert p.message == ("the column 'current_budget' appears twice (columns L 'current_budget' "
                         "and M '当前预算'); expected each column once")
    assert "出现了两次" in p.render("zh")


def _workbook(sheets: dict[str, list[list[object]]], merge: str | None = None) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
        if merge and title == next(iter(sheets)):
            ws.merge_cells(merge)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _typed_rows() -> list[list[object]]:
    return [[r[0], *(float(v) for v in r[1:10]), int(r[10]), float(r[11])] for r in ROWS]


def test_xlsx_merged_group_header_and_title_rows():
    group = ["", "市场潜力", None, None, "客户价值", None, None, "内部能力", None, None]
    data = _workbook({"2024": [["2024年各区域资源表"], group, ZH, *_typed_rows()]},
                     merge="B2:D2")
    df = read(data, "r.xlsx")
    assert list(df["region"]) == ["华东", "西南", "东北"]
    assert list(df["current_budget"]) == BUDGETS
    assert df.attrs["read_info"] == {"encoding": None, "delimiter": None, "header_row": 3,
                                     "sheet": "2024"}
    assert df.attrs["read_notes"][0].en == ("Read sheet '2024'; header in row 3 (2 rows above "
                                            "it skipped).")


def test_xlsx_table_on_another_sheet_is_named():
    data = _workbook({"说明": [["请见数据表"]], "数据": [COLUMNS, *_typed_rows()],
                      "备份": [ZH, *_typed_rows()]})
    [p] = problems(data, "r.xlsx")
    assert p.message.startswith("the first sheet '说明' has no header row")
    assert "the sheets '数据', '备份' have one" in p.message
    assert "“数据”、“备份”" in p.render("zh")


def test_xlsx_formula_without_saved_value():
    rows = _typed_rows()
    rows[1][COLUMNS.index("current_budget")] = "=SUM(A1:A2)"  # openpyxl saves no value
    [p] = problems(_workbook({"regions": [COLUMNS, *rows]}), "r.xlsx")
    assert (p.row, p.column) == (3, "current_budget")
    assert "formula with no saved value" in p.message and "save it" in p.message
    assert "公式" in p.render("zh")


def _claim_rows(data: bytes, extra_rows: bool) -> bytes:
    """The workbook with its dimension claiming 1,048,576 rows (and, optionally, that many
    empty formatted <row> elements, as Excel writes after formatting whole rows)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                xml = re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:M1048576"/>',
                             body.decode())
                if extra_rows:
                    empty = "".join(f'<row r="{r}" spans="1:13" s="1" customFormat="1"/>'
                                    for r in range(5, 1_048_577))
                    xml = xml.replace("</sheetData>", empty + "</sheetData>")
                body = xml.encode()
            dst.writestr(item, body)
    return out.getvalue()


@pytest.mark.parametrize("extra_rows", [False, True])
def test_excel_empty_used_range_is_dropped_at_once(extra_rows):
    data = _claim_rows(_workbook({"regions": [COLUMNS, *_typed_rows()]}), extra_rows)
    t0 = time.perf_counter()
    df = read(data, "r.xlsx")
    took = time.perf_counter() - t0
    assert list(df["region"]) == ["华东", "西南", "东北"]
    assert took < 5.0, took  # parsing the million rows takes 15-25 s on this machine


# --------------------------------------------------------------------------- numbers

@pytest.mark.parametrize(("column", "typed", "value"), [
    ("current_budget", "2,520万", 25_200_000.0),
    ("current_budget", "1.2亿", 120_000_000.0),
    ("current_budget", "¥20,300,000", 20_300_000.0),
    ("current_budget", "￥20,300,000", 20_300_000.0),
    ("current_budget", "20,300,000元", 20_300_000.0),
    ("current_budget", "2520万元", 25_200_000.0),
    ("market_size", "９５亿", 9_500_000_000.0),
    ("growth_rate", "8%", 0.08),
    ("growth_rate", "8 %", 0.08),
    ("growth_rate", "8％", 0.08),
    ("repurchase_rate", "４９％", 0.49),
    ("current_headcount", "５２", 52),
])
def test_numbers_as_typed(column, typed, value):
    df = read(with_cells({(2, column): f'"{typed}"'}).encode())
    assert df[column][0] == value


@pytest.mark.parametrize(("column", "typed", "needle"), [
    ("growth_rate", "0,08", "expected a number, e.g. 0.12 or 12%"),
    ("team_capability", "¥5", "accepted only in the money columns"),
    ("referral_score", "3万", "accepted only in the money columns"),
    ("repurchase_rate", "1.5", "expected a fraction between 0 and 1"),
    ("repurchase_rate", "150 %", "expected a fraction between 0 and 1"),
    ("growth_rate", "1e308", "magnitude at most 1e15"),
    ("current_budget", "2e15", "magnitude at most 1e15"),
])
def test_numbers_refused(column, typed, needle):
    [p] = problems(with_cells({(3, column): f'"{typed}"'}).encode())
    assert (p.row, p.column) == (3, column)
    assert needle in p.message
    assert p.message_zh and p.render("zh").startswith(f"文件 r.csv，第 3 行，列“{column}”：")


def test_decimal_comma_gets_a_chinese_hint():
    [p] = problems(with_cells({(2, "growth_rate"): '"0,08"'}).encode())
    assert "千位分隔符" in p.render("zh")


def test_growth_of_plus_and_minus_1e308_is_an_input_error():
    ps = problems(with_cells({(2, "growth_rate"): "1e308", (3, "growth_rate"): "-1e308"})
                  .encode())
    assert [(p.row, p.column) for p in ps] == [(2, "growth_rate"), (3, "growth_rate")]


def test_current_budget_totals_beyond_1e15():
    ps = problems(with_cells({(2, "current_budget"): "9e14", (3, "current_budget"): "9e14"})
                  .encode())
    assert [p.column for p in ps] == ["current_budget"]
    assert "adds up to 1,800,000,007,000,000.00, above 1e15" in ps[0].message
    assert "[totals] budget" in ps[0].message


def test_current_budget_1e308_twice_without_totals_is_named():
    ps = problems(with_cells({(2, "current_budget"): "1e308", (3, "current_budget"): "1e308"})
                  .encode())
    assert [(p.row, p.column) for p in ps] == [(2, "current_budget"), (3, "current_budget")]


def test_money_total_in_whole_cents():
    # 0.1 + 0.2 in floats is 0.30000000000000004; in cents it is 30.
    assert money_total([0.1, 0.2]) == 0.3
    big = [1e14 + 0.01] * 9
    assert money_total(big) == (9 * (10**16 + 1)) / 100


def test_totals_of_zero_get_a_note():
    df = read(with_cells({(r, "current_budget"): "0" for r in (2, 3, 4)}).encode())
    notes = [n.en for n in df.attrs["read_notes"]]
    assert any("'current_budget' is 0 in every region" in n for n in notes)


def test_parse_numbers_vectorised_matches_cell_by_cell():
    typed = ["1", " 2.5 ", "", "1,234", "8%", "x", "1e400", "2e15", "-0"]
    values, bad = parse_numbers(typed, percent=True)
    assert values[0] == 1 and values[1] == 2.5 and values[3] == 1234 and values[4] == 0.08
    assert str(values[8]) == "0.0"
    assert bad == {5: "not_a_number", 6: "non_finite", 7: "too_large"}


# --------------------------------------------------------------------------- names

def test_invisible_and_full_width_names_are_duplicates():
    ps = problems(with_cells({(2, "region"): "East", (3, "region"): "Ｅａｓｔ",
                              (4, "region"): "E\u200bast"}).encode())
    [p] = ps
    assert (p.row, p.column) == (3, "region")
    assert p.message.startswith("the region 'East' appears in rows 2, 3 and 4 (typed as")
    assert "第 2、3、4 行" in p.render("zh")


def test_changed_names_are_listed_in_a_note():
    df = read(with_cells({(3, "region"): "\u3000西南\u200b", (4, "region"): "Ｎｏｒｔｈ"}).encode())
    assert list(df["region"]) == ["华东", "西南", "North"]
    note = df.attrs["read_notes"][-1]
    assert "row 3" in note.en and "row 4: 'Ｎｏｒｔｈ' → 'North'" in note.en


def test_a_name_longer_than_an_excel_cell():
    [p] = problems(with_cells({(2, "region"): "华" * 32_768}).encode())
    assert (p.row, p.column) == (2, "region")
    assert "32,768 characters; expected at most 32,767" in p.message


# --------------------------------------------------------------------------- scenario

def test_indicator_named_region_is_an_input_error():
    with pytest.raises(InputError) as info:
        scenario_from_text('[indicators.region]\ndimension = "market_potential"\n')
    [p] = info.value.problems
    assert p.column == "indicators.region" and "not an indicator" in p.message
    assert "不能作为指标" in p.render("zh")


def test_gb18030_scenario_is_read_with_a_note(tmp_path):
    path = tmp_path / "s.toml"
    path.write_bytes("# 方案\n[totals]\nheadcount = 206\n".encode("gb18030"))
    s = load_scenario(path)
    assert s.headcount_total == 206
    assert [n.en for n in s.notes] == [f"{path} is not UTF-8 (TOML's encoding): it was read as "
                                       f"GB18030; save it as UTF-8 to silence this note."]


@pytest.mark.parametrize("text", ["[totals]\nbudget = 2e15\n",
                                  "[totals]\nheadcount = 10000000000000000\n"])
def test_totals_beyond_1e15(text):
    with pytest.raises(InputError) as info:
        scenario_from_text(text)
    [p] = info.value.problems
    assert "expected at most 1e15" in p.message and "1e15" in p.render("zh")


def test_scenario_messages_in_chinese():
    with pytest.raises(InputError) as info:
        scenario_from_text("[weights]\nmarket_potental = 1\n[scoring]\nfloor = 2\n")
    zh = [p.render("zh") for p in info.value.problems]
    assert zh[0].startswith("文件 scenario.toml，列“weights.market_potental”：未知的键")
    assert "是否应为“market_potential”" in zh[0]
    assert zh[1] == "文件 scenario.toml，列“scoring.floor”：值为 2；应为满足 0 < floor ≤ 1 的下限"


def test_zero_total_in_the_scenario_gets_a_note():
    s = scenario_from_text("[totals]\nbudget = 0\n")
    assert [n.en for n in s.notes] == ["[totals] budget = 0: nothing is allocated in the "
                                       "budget pool."]


# --------------------------------------------------------------------------- front door

def test_cli_validate_refuses_1e308_growth_in_chinese(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(with_cells({(2, "growth_rate"): "1e308", (3, "growth_rate"): "-1e308"})
                     .encode("gb18030"))
    r = cli("validate", "--regions", path, "--lang", "zh")
    assert r.returncode == 2, r.stderr
    assert f"文件 {path}，第 2 行，列“growth_rate”：“1e308”超出范围" in r.stderr + r.stdout
    assert "Traceback" not in r.stderr


def test_cli_indicator_region_is_exit_2(tmp_path):
    regions = tmp_path / "r.csv"
    regions.write_text(csv_text(), encoding="utf-8")
    scenario = tmp_path / "s.toml"
    scenario.write_text('[indicators.region]\ndimension = "customer_value"\n', encoding="utf-8")
    r = cli("validate", "--regions", regions, "--scenario", scenario)
    assert r.returncode == 2, r.stderr
    assert "indicators.region" in r.stderr + r.stdout


def test_read_table_is_reusable_for_other_tables():
    text = "季度汇总\n区域,季度,已支出\n华东,Q1,\"1,200万\"\n"
    table = read_table(text.encode("gb18030"), "a.csv",
                       {"region": ["区域"], "quarter": ["季度"], "spent": ["已支出"]}, "region")
    assert list(table.frame.columns) == ["region", "quarter", "spent"]
    assert table.row(0) == 3 and table.info["header_row"] == 2
    values, bad = parse_numbers(list(table.frame["spent"]), money=True)
    assert values.tolist() == [12_000_000.0] and not bad

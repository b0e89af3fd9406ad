"""The actuals table: quarters as typed, Chinese headers, encodings, numbers, named errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizer.cycle.actuals import actuals_from_bytes, parse_quarter, read_record
from optimizer.errors import InputError

REGIONS = ["华东", "西南", "东北"]
POOLS = {"headcount": True, "budget": False}
INPUTS = Path(__file__).resolve().parents[1] / "inputs"


def _read(text: str, name: str = "a.csv", encoding: str = "utf-8-sig", year: int = 2025):
    return actuals_from_bytes(text.encode(encoding), name, REGIONS, POOLS, year)


@pytest.mark.parametrize("text, expected", [
    ("2025Q1", (2025, 1)), ("2025-Q2", (2025, 2)), ("2025q3", (2025, 3)),
    ("2025年第4季度", (2025, 4)), ("2025年第一季度", (2025, 1)), ("２０２５Ｑ２", (2025, 2)),
    ("2025Q5", None), ("Q1 2025", None), ("2025", None),
])
def test_quarter_spellings(text, expected):
    assert parse_quarter(text) == expected


def test_chinese_headers_gb18030_and_office_numbers():
    text = ("区域,季度,在岗人数,已用预算,收入,客户流失率\n"
            "华东,2025年第1季度,40,\"2,520万\",1.2亿,17%\n"
            "西南,2025-Q1,12,\"350,000\",,0.12\n")
    a = _read(text, encoding="gb18030")
    t = a.table
    assert list(t["quarter"]) == ["2025Q1", "2025Q1"]
    assert t["budget"].tolist() == [25_200_000.0, 350_000.0]
    assert t["headcount"].tolist() == [40, 12]
    assert t["revenue"].iloc[0] == 120_000_000.0
    assert t["revenue"].isna().iloc[1]
    assert t["churn_rate"].tolist() == [0.17, 0.12]


def test_to_date_sums_spending_and_takes_people_at_the_end():
    text = ("region,quarter,headcount,budget_spent\n"
            "华东,2025Q1,40,100\n华东,2025Q2,38,250.5\n西南,2025Q1,9,10\n")
    a = _read(text)
    assert a.to_date("budget", REGIONS, 2).tolist() == [350.5, 10.0, 0.0]
    assert a.to_date("headcount", REGIONS, 2).tolist() == [38.0, 9.0, 0.0]
    assert a.to_date("budget", REGIONS, 1).tolist() == [100.0, 10.0, 0.0]


def test_errors_name_row_and_column():
    text = ("region,quarter,headcount,budget_spent\n"
            "华东,2025Q1,40,100\n"
            "上海,2025Q1,3,1\n"          # row 3: a region the plan does not know
            "西南,2024Q4,3,1\n"          # row 4: outside the period
            "东北,2025Q1,3,-5\n"         # row 5: negative spending
            "华东,2025Q1,4.5,1\n")       # row 6: twice, and half a person
    with pytest.raises(InputError) as e:
        _read(text)
    got = {(p.row, p.column) for p in e.value.problems}
    assert (3, "region") in got
    assert (4, "quarter") in got
    assert (5, "budget_spent") in got
    assert (6, "quarter") in got and (6, "headcount") in got
    text = "\n".join(str(p) for p in e.value.problems)
    assert "上海" in text and "2024Q4" in text and "'-5'" in text


def test_missing_pool_column_means_nothing_spent():
    a = _read("区域,季度\n华东,2025Q1\n")
    assert a.table["budget"].tolist() == [0.0] and a.table["headcount"].tolist() == [0]


def test_sample_actuals_cover_the_sample_regions():
    names = ["华东", "华南", "华北", "华中", "西南", "西北", "东北"]
    data = (INPUTS / "actuals_2025_q1_q2.csv").read_bytes()
    a = actuals_from_bytes(data, "actuals_2025_q1_q2.csv", names, POOLS, 2025)
    assert a.quarters() == [1, 2]
    assert sorted(set(a.table["region"])) == sorted(names)


def test_plan_of_record_needs_every_region_and_pool(tmp_path):
    p = tmp_path / "rec.csv"
    p.write_text("region,headcount,other\n华东,3,x\n西南,2,y\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_record(p, REGIONS, POOLS)
    cols = {pr.column for pr in e.value.problems}
    assert "budget" in cols
    p.write_text("region,headcount,budget\n华东,3,10\n西南,2,5\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_record(p, REGIONS, POOLS)
    assert any("东北" in pr.message for pr in e.value.problems)

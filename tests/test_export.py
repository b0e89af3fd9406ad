"""Exports: allocation CSV/XLSX, strict-JSON summary, formula neutralisation, output files."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.inputs.scenario import Scenario
from optimizer.model.result import Diagnosis, PlanResult, PoolResult, RulePrice, Status
from optimizer.report.export import allocation_csv_bytes, allocation_xlsx_bytes, write_outputs
from optimizer.report.summary import summary_dict, summary_json
from optimizer.report.table import allocation_columns, allocation_table, neutralise
from optimizer.words import Text

REGIONS = ["华东", "=1+2", "-西区", "North"]
HEADER = [
    "region", "high_potential", "market_potential", "customer_value", "internal_capability",
    "score",
    "current_headcount", "headcount", "headcount_change", "headcount_change_pct",
    "headcount_target",
    "current_budget", "budget", "budget_change", "budget_change_pct", "budget_target",
]


def _scenario() -> Scenario:
    return Scenario(
        headcount_total=18,
        budget_total=1_750_000.5,
        weights={"market_potential": 0.4, "customer_value": 0.35, "internal_capability": 0.25},
        hp_share=0.6,
        hp_rule="column",
        max_change=0.3,
    )


def _base(status: Status, pools: dict[str, PoolResult]) -> PlanResult:
    regions = pd.DataFrame({
        "region": REGIONS,
        "current_headcount": [10, 5, 0, 3],
        "current_budget": [1_000_000.0, 500_000.0, 0.0, 250_000.5],
    })
    scores = pd.DataFrame({
        "region": REGIONS,
        "market_potential": [1.0, 0.5, 0.25, 0.0],
        "customer_value": [0.2, 1.0, 0.0, 0.6],
        "internal_capability": [np.nan] * 4,  # a dimension with no active indicator
        "score": [0.6470588235294118, 0.7058823529411765, 0.11764705882352941, 0.24705882352],
        "weight": [0.6823529411764706, 0.7352941176470589, 0.20588235294117646, 0.3223529411],
    })
    return PlanResult(
        status=status,
        scenario=_scenario(),
        regions=regions,
        scores=scores,
        high_potential=np.array([True, False, True, False]),
        pools=pools,
        notes=[Text("Indicator 'x' is constant and was left out.", "指标 'x' 为常数，已忽略。")],
        regions_file="regions.csv",
    )


def _headcount_pool() -> PoolResult:
    return PoolResult(
        pool="headcount", status=Status.OPTIMAL, total=18, integer=True,
        current=np.array([10.0, 5.0, 0.0, 3.0]),
        lo=np.array([7.0, 3.0, 0.0, 2.0]), hi=np.array([13.0, 6.0, np.inf, 4.0]),
        target=np.array([6.5, 7.25, 2.0, 2.25]),
        exact=np.array([11.6, 4.2, 2.2, 0.0]),
        allocation=np.array([12, 4, 2, 0]),
        hp_required=0.6, hp_share=14 / 18, hp_share_current=10 / 18,
        hp_share_target=8.5 / 18, objective=np.float64(3.21), objective_current=None,
        solver={"name": "HiGHS", "lp_solves": np.int64(3), "seconds": np.float64(0.01),
                "gap": float("nan")},
    )


def _budget_rule() -> RulePrice:
    return RulePrice(
        name="hp_share_budget", kind="share_min",
        text=Text("The 60 % rule moves CNY 12,345.60 into high-potential regions.",
                  "60% 规则将 12,345.60 元移入高潜力区域。"),
        regions=["华东", "-西区"], moved=np.float64(12_345.6), share_without=0.55,
        objective_cost=0.0123, per_point_objective=float("nan"),
        delta=pd.Series([1.0, -1.0, 0.0, 0.0], index=REGIONS),
    )


def _budget_pool() -> PoolResult:
    return PoolResult(
        pool="budget", status=Status.OPTIMAL, total=1_750_000.5, integer=False,
        current=np.array([1_000_000.0, 500_000.0, 0.0, 250_000.5]),
        lo=np.array([700_000.0, 350_000.0, 0.0, 175_000.35]),
        hi=np.array([1_300_000.0, 650_000.0, np.inf, 325_000.65]),
        target=np.array([800_000.123, 600_000.0, 200_000.0, 150_000.377]),
        exact=np.array([1_100_000.251, 400_000.0, 100_000.0, 150_000.249]),
        allocation=np.array([1_100_000.25, 400_000.0, 100_000.0, 150_000.25]),
        hp_required=0.6, hp_share=0.6857, hp_share_current=0.5714, hp_share_target=0.571,
        objective=12.5, objective_current=12.1, binding=[_budget_rule()],
    )


@pytest.fixture
def optimal() -> PlanResult:
    return _base(Status.OPTIMAL, {"headcount": _headcount_pool(), "budget": _budget_pool()})


@pytest.fixture
def infeasible() -> PlanResult:
    budget = _budget_pool()
    budget.status = Status.INFEASIBLE
    budget.exact = budget.allocation = None
    budget.hp_share = budget.objective = None
    budget.binding = []
    budget.diagnosis = Diagnosis(
        text=Text("The 60 % rule needs ≥ 1.05 m in high-potential regions; their change "
                  "limits allow at most 0.98 m.",
                  "60% 规则要求高潜力区域至少 105.0 万；变动上限只允许 98.0 万。"),
        conflicts=["hp_share_budget", "upper_bound_budget[华东]"],
        max_share=0.56,
        details={"need": 1_050_000.3, "allowed": 980_000.0, "slack": np.inf},
    )
    return _base(Status.INFEASIBLE, {"headcount": _headcount_pool(), "budget": budget})


def _strict_loads(text: str) -> object:
    def refuse(name: str) -> object:
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


# --------------------------------------------------------------------------- neutralise

@pytest.mark.parametrize("text", ["=1+2", "+1", "-西区", "@SUM(A1)", "\tx", "\rx", "\nx",
                                  "=HYPERLINK(\"http://x\",\"y\")"])
def test_neutralise_prefixes_formula_like_text(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["华东", "North", "", "a=b", "1-2", " =x"])
def test_neutralise_leaves_plain_text(value):
    assert neutralise(value) == value


@pytest.mark.parametrize("value", [-5, -5.5, np.float64(-1.0), np.int64(-3), True, None,
                                   float("nan")])
def test_neutralise_never_touches_non_text(value):
    out = neutralise(value)
    assert out is value or (isinstance(value, float) and math.isnan(out))


@given(st.text())
def test_neutralised_text_never_starts_a_formula(text):
    out = neutralise(text)
    assert out in (text, "'" + text)
    assert not out.startswith(("=", "+", "-", "@", "\t", "\r", "\n"))
    assert (out != text) == text.startswith(("=", "+", "-", "@", "\t", "\r", "\n"))


def _plan_for(names: list[str]) -> PlanResult:
    """An optimal plan over any region names: one person and CNY 1.5 each."""
    n = len(names)
    one = np.ones(n)

    def pool(name: str, integer: bool, amount: float) -> PoolResult:
        return PoolResult(pool=name, status=Status.OPTIMAL, total=amount * n, integer=integer,
                          current=amount * one, lo=0 * one, hi=2 * amount * one,
                          target=amount * one, allocation=amount * one)

    result = _base(Status.OPTIMAL, {"headcount": pool("headcount", True, 1.0),
                                    "budget": pool("budget", False, 1.5)})
    result.regions = pd.DataFrame({"region": names})
    result.scores = pd.DataFrame({"region": names, "score": np.linspace(0, 1, n)})
    result.high_potential = np.arange(n) % 2 == 0
    return result


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(min_size=1), min_size=1, max_size=5, unique=True))
def test_csv_round_trips_any_region_name_neutralised(names):
    rows = _csv_rows(allocation_csv_bytes(_plan_for(names)))
    assert rows[0] == HEADER
    assert [r[0] for r in rows[1:]] == [neutralise(n) for n in names]
    assert all(r[HEADER.index("budget")] == "1.50" for r in rows[1:])
    assert all(r[HEADER.index("internal_capability")] == "" for r in rows[1:])


# --------------------------------------------------------------------------- the table

def test_allocation_table_columns_order_and_values(optimal):
    t = allocation_table(optimal)
    assert list(t.columns) == HEADER == allocation_columns()
    assert t["region"].tolist() == REGIONS
    assert t["high_potential"].tolist() == [True, False, True, False]
    assert t["headcount"].tolist() == [12, 4, 2, 0]
    assert t["headcount_change"].tolist() == [2, -1, 2, -3]
    assert t["budget"].tolist() == [1_100_000.25, 400_000.0, 100_000.0, 150_000.25]
    assert t["budget_change"].tolist() == [100_000.25, -100_000.0, 100_000.0, -100_000.25]
    assert t["headcount_change_pct"].iloc[0] == pytest.approx(0.2)
    assert math.isnan(t["headcount_change_pct"].iloc[2])  # current 0
    assert math.isnan(t["budget_change_pct"].iloc[2])
    assert t["internal_capability"].isna().all()
    assert t["score"].iloc[1] == pytest.approx(0.7058823529411765)
    assert t["budget_target"].tolist() == [800_000.123, 600_000.0, 200_000.0, 150_000.377]
    assert t["headcount"].sum() == 18
    assert t["budget"].sum() == pytest.approx(1_750_000.5, abs=1e-6)


def test_allocation_table_refuses_a_plan_without_allocation(infeasible):
    with pytest.raises(ValueError, match="infeasible"):
        allocation_table(infeasible)
    with pytest.raises(ValueError):
        allocation_csv_bytes(infeasible)
    with pytest.raises(ValueError):
        allocation_xlsx_bytes(infeasible)


def test_allocation_table_refuses_a_pool_without_allocation(optimal):
    optimal.pools["headcount"].allocation = None
    with pytest.raises(ValueError, match="headcount"):
        allocation_table(optimal)


# --------------------------------------------------------------------------- CSV

def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_has_bom_exact_header_and_crlf_lines(optimal):
    data = allocation_csv_bytes(optimal)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data[3:].decode("utf-8")
    lines = text.split("\r\n")
    assert lines[0] == ",".join(HEADER)
    assert lines[-1] == ""  # ends with a line break
    assert len(lines) == 2 + len(REGIONS)
    assert all("\r" not in line and "\n" not in line for line in lines)


def test_csv_rows_in_input_order_plain_numbers_and_empty_nan(optimal):
    rows = _csv_rows(allocation_csv_bytes(optimal))
    assert rows[0] == HEADER
    body = [dict(zip(HEADER, r, strict=True)) for r in rows[1:]]
    assert [r["region"] for r in body] == ["华东", "'=1+2", "'-西区", "North"]
    first = body[0]
    assert first["high_potential"] == "true"
    assert first["current_headcount"] == "10"
    assert first["headcount"] == "12"
    assert first["headcount_change"] == "2"
    assert first["headcount_change_pct"] == "0.200000"
    assert first["headcount_target"] == "6.500000"
    assert first["current_budget"] == "1000000.00"
    assert first["budget"] == "1100000.25"  # no thousands separator
    assert first["budget_change"] == "100000.25"
    assert first["budget_target"] == "800000.12"
    assert first["market_potential"] == "1.000000"
    assert first["score"] == "0.647059"
    assert first["internal_capability"] == ""  # NaN -> empty cell
    new = body[2]
    assert new["headcount_change_pct"] == "" and new["budget_change_pct"] == ""
    last = body[3]
    assert last["headcount_change"] == "-3"  # numbers keep their sign, no quote
    assert last["budget_change"] == "-100000.25"
    assert last["budget_change_pct"] == "-0.400000"


def test_csv_reads_back_as_numbers(optimal):
    df = pd.read_csv(io.BytesIO(allocation_csv_bytes(optimal)), encoding="utf-8-sig")
    assert list(df.columns) == HEADER
    assert df["headcount"].dtype.kind == "i"
    assert df["budget"].sum() == pytest.approx(1_750_000.5, abs=1e-6)
    assert df["region"].iloc[0] == "华东"


def test_csv_is_byte_identical_for_identical_inputs(optimal):
    again = _base(Status.OPTIMAL, {"headcount": _headcount_pool(), "budget": _budget_pool()})
    assert allocation_csv_bytes(optimal) == allocation_csv_bytes(optimal)
    assert allocation_csv_bytes(optimal) == allocation_csv_bytes(again)


def test_csv_neutralises_formula_region_names(optimal):
    optimal.regions["region"] = ["=HYPERLINK(\"http://evil\",\"x\")", "@cmd", "+1", "\tTab"]
    text = allocation_csv_bytes(optimal).decode("utf-8-sig")
    regions = [r[0] for r in _csv_rows(text.encode("utf-8-sig"))[1:]]
    assert all(r.startswith("'") for r in regions)
    assert regions[0] == "'=HYPERLINK(\"http://evil\",\"x\")"


# --------------------------------------------------------------------------- XLSX

def _workbook(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def test_xlsx_sheets_header_and_neutralised_text(optimal):
    wb = _workbook(allocation_xlsx_bytes(optimal))
    assert wb.sheetnames == ["allocation", "scores", "rules", "prices", "scenario"]
    ws = wb["allocation"]
    assert [c.value for c in ws[1]] == HEADER
    assert [ws.cell(row=r, column=1).value for r in range(2, 6)] == \
        ["华东", "'=1+2", "'-西区", "North"]
    assert ws.freeze_panes == "B2"
    for row in ws.iter_rows():
        for c in row:
            assert c.data_type != "f", f"formula in {c.coordinate}"


def test_xlsx_numbers_stay_numbers_with_formats(optimal):
    ws = _workbook(allocation_xlsx_bytes(optimal))["allocation"]
    col = {name: i + 1 for i, name in enumerate(HEADER)}
    change = ws.cell(row=5, column=col["headcount_change"])
    assert isinstance(change.value, int | float) and change.value == -3
    budget_change = ws.cell(row=5, column=col["budget_change"])
    assert budget_change.value == pytest.approx(-100_000.25)
    assert budget_change.number_format == "#,##0.00"
    assert ws.cell(row=2, column=col["budget"]).value == pytest.approx(1_100_000.25)
    assert ws.cell(row=2, column=col["headcount"]).number_format == "#,##0"
    assert ws.cell(row=2, column=col["headcount_change_pct"]).number_format == "0.0%"
    assert ws.cell(row=2, column=col["score"]).number_format == "0.000"
    assert ws.cell(row=2, column=col["high_potential"]).value is True
    assert ws.cell(row=2, column=col["internal_capability"]).value is None  # NaN -> blank
    assert ws.cell(row=4, column=col["budget_change_pct"]).value is None


def test_xlsx_scores_rules_and_scenario_sheets(optimal):
    wb = _workbook(allocation_xlsx_bytes(optimal))
    scores = [[c.value for c in r] for r in wb["scores"].iter_rows()]
    assert scores[0] == ["region", "market_potential", "customer_value", "internal_capability",
                         "score", "weight", "high_potential"]
    assert scores[2][0] == "'=1+2"
    assert scores[2][5] == pytest.approx(0.7352941176470589)

    rules = [[c.value for c in r] for r in wb["rules"].iter_rows()]
    flat = [v for r in rules for v in r if v is not None]
    assert "hp_share_budget" in flat
    assert "60% 规则将 12,345.60 元移入高潜力区域。" in flat
    rule_row = next(r for r in rules if r[1] == "hp_share_budget")
    assert rule_row[0] == "budget" and rule_row[2] == "share_min"
    assert rule_row[5] == pytest.approx(12_345.6)
    assert rule_row[8] is None  # NaN per-point price -> blank
    pool_rows = {r[0]: r for r in rules if r[0] in ("headcount", "budget") and r[1] == "optimal"}
    assert pool_rows["headcount"][2] == 18
    assert pool_rows["budget"][3] == pytest.approx(0.6)

    scenario = {r[0].value: r[1].value for r in wb["scenario"].iter_rows(min_row=2)}
    assert scenario["weights.market_potential"] == pytest.approx(0.4)
    assert scenario["totals.headcount"] == 18
    assert scenario["high_potential.rule"] == "column"
    assert scenario["limits.max_change"] == pytest.approx(0.3)
    assert scenario["indicators.competition_intensity.direction"] == "lower"


def test_xlsx_neutralises_text_in_the_scenario_sheet(optimal):
    from optimizer.inputs.scenario import GroupRule

    optimal.scenario = optimal.scenario.with_changes(
        groups=(GroupRule(name="=evil()", min_share=0.1, regions=("-西区", "华东")),))
    wb = _workbook(allocation_xlsx_bytes(optimal))
    scenario = {r[0].value: r[1].value for r in wb["scenario"].iter_rows(min_row=2)}
    assert scenario["groups[1].name"] == "'=evil()"
    assert scenario["groups[1].regions"] == "'-西区, 华东"


def test_xlsx_is_deterministic(optimal):
    assert allocation_xlsx_bytes(optimal) == allocation_xlsx_bytes(optimal)


# --------------------------------------------------------------------------- summary

FIXED = dt.datetime(2024, 3, 1, 8, 30, tzinfo=dt.UTC)


def test_summary_is_strict_json_with_pools_and_versions(optimal, tmp_path):
    regions_file = tmp_path / "regions.csv"
    regions_file.write_bytes("region\n华东\n".encode("utf-8-sig"))
    s = summary_dict(optimal, {"regions": regions_file}, created=FIXED)
    text = summary_json(s)
    assert text.endswith("}\n")
    assert "高潜力" in text  # ensure_ascii=False keeps Chinese readable
    data = _strict_loads(text)
    assert data == s
    assert data["status"] == "optimal"
    assert data["created"] == "2024-03-01T08:30:00Z"
    assert set(data["versions"]) == {"optimizer", "python", "pulp", "highspy", "pandas",
                                     "numpy"}
    assert data["versions"]["optimizer"] == "0.1.0"
    assert data["inputs"]["regions"] == {
        "path": str(regions_file),
        "sha256": hashlib.sha256(regions_file.read_bytes()).hexdigest(),
    }
    assert data["scenario"]["weights"]["market_potential"] == 0.4
    assert data["notes"][0]["zh"].startswith("指标")
    hc, bu = data["pools"]["headcount"], data["pools"]["budget"]
    assert hc["status"] == "optimal" and hc["total"] == 18 and hc["integer"] is True
    assert isinstance(hc["total"], int)
    assert hc["objective"] == 3.21 and hc["objective_current"] is None
    assert hc["solver"] == {"name": "HiGHS", "lp_solves": 3, "seconds": 0.01, "gap": None}
    assert hc["binding"] == [] and hc["diagnosis"] is None
    assert bu["total"] == 1_750_000.5 and bu["hp_share_target"] == 0.571
    assert bu["binding"] == [{
        "name": "hp_share_budget", "kind": "share_min",
        "text_en": "The 60 % rule moves CNY 12,345.60 into high-potential regions.",
        "text_zh": "60% 规则将 12,345.60 元移入高潜力区域。",
        "regions": ["华东", "-西区"], "moved": 12_345.6, "share_without": 0.55,
        "objective_cost": 0.0123, "per_point_objective": None,
        "delta": {"华东": 1.0, "=1+2": -1.0, "-西区": 0.0, "North": 0.0},
    }]


def test_summary_of_an_infeasible_plan_carries_the_diagnosis(infeasible):
    data = _strict_loads(summary_json(summary_dict(infeasible)))
    assert data["status"] == "infeasible"
    assert data["inputs"] == {}
    bu = data["pools"]["budget"]
    assert bu["status"] == "infeasible"
    assert bu["hp_share"] is None and bu["objective"] is None
    assert bu["diagnosis"] == {
        "text_en": infeasible.pools["budget"].diagnosis.text.en,
        "text_zh": infeasible.pools["budget"].diagnosis.text.zh,
        "conflicts": ["hp_share_budget", "upper_bound_budget[华东]"],
        "max_share": 0.56,
        "details": {"need": 1_050_000.3, "allowed": 980_000.0, "slack": None},
    }
    assert data["pools"]["headcount"]["status"] == "optimal"


def test_summary_created_defaults_to_now_in_utc(optimal):
    created = summary_dict(optimal)["created"]
    when = dt.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert abs((dt.datetime.now(dt.UTC) - when).total_seconds()) < 3600


def test_summary_of_a_missing_input_file_has_no_hash(optimal, tmp_path):
    s = summary_dict(optimal, {"scenario": tmp_path / "gone.toml"})
    assert s["inputs"]["scenario"]["sha256"] is None


# --------------------------------------------------------------------------- files

def test_write_outputs_optimal_writes_three_files(optimal, tmp_path):
    out = tmp_path / "out" / "run"
    paths = write_outputs(optimal, out)
    assert sorted(p.name for p in paths) == ["allocation.csv", "allocation.xlsx", "summary.json"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)
    assert (out / "allocation.csv").read_bytes() == allocation_csv_bytes(optimal)
    assert _strict_loads((out / "summary.json").read_text("utf-8"))["status"] == "optimal"
    _workbook((out / "allocation.xlsx").read_bytes())


def test_write_outputs_infeasible_removes_stale_allocation(optimal, infeasible, tmp_path):
    write_outputs(optimal, tmp_path)
    assert (tmp_path / "allocation.csv").exists() and (tmp_path / "allocation.xlsx").exists()
    (tmp_path / "notes.txt").write_text("keep me")
    paths = write_outputs(infeasible, tmp_path)
    assert [p.name for p in paths] == ["summary.json"]
    assert not (tmp_path / "allocation.csv").exists()
    assert not (tmp_path / "allocation.xlsx").exists()
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    data = _strict_loads((tmp_path / "summary.json").read_text("utf-8"))
    assert data["status"] == "infeasible"
    assert data["pools"]["budget"]["diagnosis"]["max_share"] == 0.56
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "summary.json"]


# --------------------------------------------------------------------------- added pools

POOL_HEADER = HEADER + [
    "current_director", "director", "director_change", "director_change_pct",
    "director_target", "director_cost",
    "current_fund", "fund", "fund_change", "fund_change_pct", "fund_target",
]
DIRECTOR_PAY = 1_000_000.5  # CNY per person a year: half a yuan, so cents matter
DIRECTORS = [2, 0, 1, 1]


def _director_pool() -> PoolResult:
    return PoolResult(
        pool="director", status=Status.OPTIMAL, total=4, integer=True,
        current=np.zeros(4), lo=np.zeros(4), hi=np.full(4, np.inf),
        target=np.array([1.2, 1.3, 0.6, 0.9]), exact=np.array([1.6, 0.3, 1.1, 1.0]),
        allocation=np.array(DIRECTORS), hp_required=0.25, hp_share=0.75,
        objective=1.5, label=Text("区域销售总监", "区域销售总监"), kind="headcount",
        unit_cost=DIRECTOR_PAY, cost=np.array(DIRECTORS) * DIRECTOR_PAY,
        binding=[RulePrice(name="group_min_director[one per zone: 东区]", kind="group_min",
                           text=Text("One director per zone binds.",
                                     "每个战区一名总监规则起约束作用。"),
                           moved=1.0, delta=pd.Series([1.0, -1.0, 0.0, 0.0], index=REGIONS))],
    )


def _fund_pool() -> PoolResult:
    eligible = np.array([False, False, True, True])
    return PoolResult(
        pool="fund", status=Status.OPTIMAL, total=10_000_000.01, integer=False,
        current=np.array([0.0, 0.0, 100.0, 0.0]), lo=np.zeros(4),
        hi=np.where(eligible, np.inf, 0.0),
        target=np.array([0.0, 0.0, 3_000_000.0, 7_000_000.01]),
        exact=np.array([0.0, 0.0, 6_000_000.004, 4_000_000.006]),
        allocation=np.array([0.0, 0.0, 6_000_000.0, 4_000_000.01]),
        cents=np.array([0, 0, 600_000_000, 400_000_001], dtype=np.int64),
        hp_required=0.6, hp_share=0.6, objective=2.5,
        label=Text("市场拓展基金", "市场拓展基金"), kind="budget", eligible=eligible,
    )


@pytest.fixture
def with_pools() -> PlanResult:
    from optimizer.inputs.scenario import PoolSpec

    plan = _base(Status.OPTIMAL, {"headcount": _headcount_pool(), "budget": _budget_pool(),
                                  "director": _director_pool(), "fund": _fund_pool()})
    plan.scenario = plan.scenario.with_changes(pools=(
        PoolSpec(name="director", kind="headcount", total=4, label="区域销售总监",
                 unit_cost=DIRECTOR_PAY),
        PoolSpec(name="fund", kind="budget", total=10_000_000.01, label="市场拓展基金",
                 eligible=("-西区", "North"))))
    return plan


def test_a_plan_without_added_pools_has_exactly_the_built_in_columns(optimal):
    assert allocation_columns(optimal) == allocation_columns() == HEADER
    assert _csv_rows(allocation_csv_bytes(optimal))[0] == HEADER
    assert [c.value for c in _workbook(allocation_xlsx_bytes(optimal))["allocation"][1]] == HEADER
    assert "people_cost_total" in summary_dict(optimal, created=FIXED)
    assert summary_dict(optimal, created=FIXED)["people_cost_total"] is None


def test_added_pools_columns_follow_the_built_ins_in_scenario_order(with_pools):
    assert allocation_columns(with_pools) == POOL_HEADER
    assert list(allocation_table(with_pools).columns) == POOL_HEADER
    rows = _csv_rows(allocation_csv_bytes(with_pools))
    assert rows[0] == POOL_HEADER
    assert len(rows) == 5 and all(len(r) == len(POOL_HEADER) for r in rows)


def test_people_cost_is_people_times_unit_cost_to_the_cent(with_pools):
    body = [dict(zip(POOL_HEADER, r, strict=True))
            for r in _csv_rows(allocation_csv_bytes(with_pools))[1:]]
    # by hand: 2 × 1,000,000.50 = 2,000,001.00; 0; 1,000,000.50; 1,000,000.50
    assert [r["director_cost"] for r in body] == \
        ["2000001.00", "0.00", "1000000.50", "1000000.50"]
    assert [r["director"] for r in body] == ["2", "0", "1", "1"]  # whole people
    assert [r["current_director"] for r in body] == ["0"] * 4
    assert [r["director_change"] for r in body] == ["2", "0", "1", "1"]
    assert [r["director_change_pct"] for r in body] == [""] * 4  # current 0: no percentage
    assert [r["director_target"] for r in body] == \
        ["1.200000", "1.300000", "0.600000", "0.900000"]
    summary = summary_dict(with_pools, created=FIXED)
    d = summary["pools"]["director"]
    assert d["cost"] == pytest.approx(4_000_002.0) and d["unit_cost"] == DIRECTOR_PAY
    assert d["kind"] == "headcount" and d["label"] == {"en": "区域销售总监", "zh": "区域销售总监"}
    assert summary["people_cost_total"] == pytest.approx(4_000_002.0)
    assert "cost" not in summary["pools"]["fund"] and summary["pools"]["fund"]["kind"] == "budget"
    assert summary["pools"]["headcount"]["label"] == {"en": "headcount", "zh": "人员"}
    assert summary["pools"]["headcount"]["unit_cost"] is None


def test_added_budget_pool_written_exactly_from_cents(with_pools):
    body = [dict(zip(POOL_HEADER, r, strict=True))
            for r in _csv_rows(allocation_csv_bytes(with_pools))[1:]]
    assert [r["fund"] for r in body] == ["0.00", "0.00", "6000000.00", "4000000.01"]
    assert [r["current_fund"] for r in body] == ["0.00", "0.00", "100.00", "0.00"]
    assert [r["fund_change"] for r in body] == ["0.00", "0.00", "5999900.00", "4000000.01"]
    assert body[2]["fund_change_pct"] == "59999.000000"
    cents = sum(int(r["fund"].replace(".", "")) for r in body)
    assert cents == 1_000_000_001  # the total to the cent


def test_added_pools_chinese_headers_from_their_labels(with_pools):
    header = _csv_rows(allocation_csv_bytes(with_pools, lang="zh"))[0]
    assert header[len(HEADER):] == [
        "当前区域销售总监", "区域销售总监", "区域销售总监变化", "区域销售总监变化率",
        "按得分区域销售总监", "区域销售总监人力成本",
        "当前市场拓展基金", "市场拓展基金", "市场拓展基金变化", "市场拓展基金变化率",
        "按得分市场拓展基金"]
    assert header[:len(HEADER)] == _csv_rows(allocation_csv_bytes(_base(
        Status.OPTIMAL, {"headcount": _headcount_pool(), "budget": _budget_pool()}),
        lang="zh"))[0]
    ws = _workbook(allocation_xlsx_bytes(with_pools, lang="zh"))["分配"]
    assert [c.value for c in ws[1]] == header


def test_xlsx_added_pools_formats_cost_and_rules(with_pools):
    wb = _workbook(allocation_xlsx_bytes(with_pools))
    ws = wb["allocation"]
    assert [c.value for c in ws[1]] == POOL_HEADER
    col = {name: i + 1 for i, name in enumerate(POOL_HEADER)}
    assert [ws.cell(row=r, column=col["director_cost"]).value for r in range(2, 6)] == \
        pytest.approx([2_000_001.0, 0.0, 1_000_000.5, 1_000_000.5])
    assert ws.cell(row=2, column=col["director_cost"]).number_format == "#,##0.00"
    assert ws.cell(row=2, column=col["director"]).number_format == "#,##0"
    assert ws.cell(row=2, column=col["director_target"]).number_format == "#,##0.0"
    assert ws.cell(row=5, column=col["fund"]).value == pytest.approx(4_000_000.01)
    assert ws.cell(row=5, column=col["fund"]).number_format == "#,##0.00"
    assert ws.cell(row=2, column=col["director_change_pct"]).value is None

    rules = [[c.value for c in r] for r in wb["rules"].iter_rows()]
    head = rules[1]
    pools = {r[0]: dict(zip(head, r, strict=True)) for r in rules[2:7]}
    assert list(pools) == ["headcount", "budget", "director", "fund", "people_cost_total"]
    assert pools["director"]["label"] == "区域销售总监"
    assert pools["director"]["kind"] == "headcount"
    assert pools["director"]["unit_cost"] == pytest.approx(DIRECTOR_PAY)
    assert pools["director"]["people_cost"] == pytest.approx(4_000_002.0)
    assert pools["fund"]["people_cost"] is None and pools["fund"]["kind"] == "budget"
    assert pools["people_cost_total"]["people_cost"] == pytest.approx(4_000_002.0)
    assert any(r[0] == "director" and r[1] == "group_min_director[one per zone: 东区]"
               for r in rules)
    prices = [[c.value for c in r] for r in wb["prices"].iter_rows()]
    assert "director: group_min_director[one per zone: 东区]" in prices[0]


def test_summary_with_added_pools_is_strict_json(with_pools):
    text = summary_json(summary_dict(with_pools, created=FIXED))
    data = _strict_loads(text)
    assert list(data["pools"]) == ["headcount", "budget", "director", "fund"]
    assert [p["name"] for p in data["scenario"]["pools"]] == ["director", "fund"]


def test_write_outputs_with_added_pools(with_pools, tmp_path):
    paths = write_outputs(with_pools, tmp_path, lang="zh")
    assert sorted(p.name for p in paths) == ["allocation.csv", "allocation.xlsx", "summary.json"]
    assert _csv_rows((tmp_path / "allocation.csv").read_bytes())[0][-1] == "按得分市场拓展基金"
    assert json.loads((tmp_path / "summary.json").read_text())["people_cost_total"] == \
        pytest.approx(4_000_002.0)


# --------------------------------------------------------------------------- sheets by rows

def _reference_sheet(ws, formats, names, columns) -> None:  # noqa: ANN001
    """The cells of a table written one by one with xlsxwriter's own API (as the exports
    did before they wrote sheets by rows)."""
    for c, name in enumerate(names):
        ws.write_string(0, c, name, formats["header"])
    for c, (values, kind) in enumerate(columns):
        fmt = formats.get(kind) if kind else None
        for r, v in enumerate(values, start=1):
            missing = v is None or (isinstance(v, float) and not math.isfinite(v))
            if kind is not None and not isinstance(v, str | bool):
                if missing:
                    ws.write_blank(r, c, None, fmt)
                else:
                    ws.write_number(r, c, float(v), fmt)
            elif missing:
                ws.write_blank(r, c, None, fmt)
            elif isinstance(v, bool):
                ws.write_boolean(r, c, v, fmt)
            elif isinstance(v, int | float):
                ws.write_number(r, c, float(v), fmt)
            else:
                ws.write_string(r, c, neutralise(v), fmt)


def _table_columns(n: int, gap: bool) -> tuple[list[str], list[tuple[list, str | None]]]:
    rng = np.random.default_rng(7)
    odd = [" lead", "trail ", "ctrl\x01", "_x0041_", "a\nb", "<r>x</r>", "\ufffe", "全角\u3000"]
    names = [f"华东-{i:05d}" if i % 7 else f"=R{i}&<x>" if i % 3 else
             f"{odd[i % 8]}{i}" if (i // 168) % 2 else f"{i}{odd[i % 8]}" for i in range(n)]
    money = rng.uniform(-1e9, 1e9, n).round(2)
    money[::11] = np.nan
    money[5] = -0.0
    money[6] = np.inf
    people = rng.integers(-50, 500, n)
    score = rng.uniform(0, 1, n)
    mixed = [None if i % 5 == 0 else ("text" if i % 5 == 1 else (i % 2 == 0 if i % 5 == 2
                                                                 else i * 0.5))
             for i in range(n)]
    if gap:  # rows with no cell at all: only unformatted columns, all missing there
        region: list = [None if 3000 <= i < 3100 or i >= n - 40 else s
                        for i, s in enumerate(names)]
        unformatted = [np.nan if 2990 <= i < 3200 or i >= n - 50 else float(p)
                       for i, p in enumerate(people)]
        return (["region", "mixed", "people"],
                [(region, None), ([None if 3000 <= i < 3100 or i >= n - 40 else v
                                   for i, v in enumerate(mixed)], None),
                 (unformatted, None)])
    return (["region", "high_potential", "people", "money", "score", "mixed", "pct"],
            [(names, None), ((rng.random(n) < 0.4).tolist(), None), (people.tolist(), "people"),
             (money.tolist(), "money"), (score.tolist(), "score"), (mixed, None),
             ((score - 0.5).tolist(), "pct")])


@pytest.mark.parametrize("gap", [False, True])
def test_sheets_written_by_rows_hold_the_cells_xlsxwriter_writes(gap, tmp_path):
    import zipfile

    import xlsxwriter

    from optimizer.report.table import _XLSX_FORMATS
    from optimizer.report.xlsx import _close, _Sheet

    names, columns = _table_columns(5000, gap)  # more rows than one chunk (2,048)
    out = {}
    for way in ("rows", "cells"):
        buf = io.BytesIO()
        wb = xlsxwriter.Workbook(buf, {"in_memory": way == "cells", "strings_to_formulas": False,
                                       "strings_to_urls": False, "strings_to_numbers": False})
        wb.set_properties({"created": dt.datetime(2000, 1, 1)})
        formats = {k: wb.add_format({"num_format": f}) for k, f in _XLSX_FORMATS.items()}
        formats["header"] = wb.add_format({"bold": True, "bottom": 1})
        # two sheets with the same text column (the regions are on every sheet)
        if way == "rows":
            arrays = {"high_potential", "people", "money", "score", "pct"}  # as the exports
            for sheet in ("t", "u"):
                _Sheet(wb, sheet, formats).table(
                    names, [(np.asarray(v) if name in arrays else v, k)
                            for name, (v, k) in zip(names, columns, strict=True)])
            _close(wb)
        else:
            for sheet in ("t", "u"):
                _reference_sheet(wb.add_worksheet(sheet), formats, names, columns)
            wb.close()
        out[way] = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    assert out["rows"].namelist() == out["cells"].namelist()
    for part in out["cells"].namelist():
        assert out["rows"].read(part) == out["cells"].read(part), part
    sheet = out["rows"].read("xl/worksheets/sheet1.xml").decode()
    assert ('<row r="3002"' in sheet) is not gap  # a row without cells is left out


def test_sheet_by_rows_keeps_memory_flat(tmp_path):
    """The sheet XML goes out in chunks of rows: memory while the workbook closes stays far
    below the size of the sheet it writes."""
    import tracemalloc
    import zipfile

    import xlsxwriter

    from optimizer.report.table import _XLSX_FORMATS
    from optimizer.report.xlsx import _close, _Sheet

    n = 40_000
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": False})
    formats = {k: wb.add_format({"num_format": f}) for k, f in _XLSX_FORMATS.items()}
    formats["header"] = wb.add_format({"bold": True})
    sh = _Sheet(wb, "t", formats)
    values = np.linspace(0.123456789, 1e6, n)
    sh.table([f"c{i}" for i in range(8)], [(values + i, "money") for i in range(8)])
    tracemalloc.start()
    try:
        _close(wb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = zipfile.ZipFile(io.BytesIO(buf.getvalue())).getinfo("xl/worksheets/sheet1.xml").file_size
    assert size > 12_000_000
    assert peak < size / 3 + len(buf.getvalue()), (peak, size)


def test_versions_read_from_dist_info_match_importlib_metadata():
    import importlib.metadata

    from optimizer.report.summary import _version

    for dist in ("pulp", "highspy", "pandas", "numpy", "XlsxWriter", "region-optimizer",
                 "no-such-distribution-x"):
        try:
            want = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            want = None
        assert _version(dist) == want, dist

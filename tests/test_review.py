"""The review: alarms at and around each threshold, phasing, spending, the CLI contract."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from optimizer.cycle.actuals import validate_actuals
from optimizer.cycle.review import level, review, review_csv_bytes, review_summary
from optimizer.errors import InputError
from optimizer.inputs.scenario import DEFAULT_THRESHOLDS, Scenario, Threshold
from optimizer.inputs.scenario_read import scenario_from_text
from tests.clihelp import cli, strict_json

REPO = Path(__file__).resolve().parents[1]
INPUTS = REPO / "inputs"
POOLS = {"headcount": True, "budget": False}
CHURN, TOOLS, DAYS = DEFAULT_THRESHOLDS


@pytest.mark.parametrize("t, value, expected", [
    (CHURN, 0.15, "amber"), (CHURN, 0.1500001, "red"), (CHURN, 0.16, "red"),
    (CHURN, 0.135, "green"), (CHURN, 0.1351, "amber"), (CHURN, 0.10, "green"),
    (TOOLS, 0.30, "amber"), (TOOLS, 0.2999, "red"), (TOOLS, 0.33, "green"),
    (TOOLS, 0.3299, "amber"), (TOOLS, 0.50, "green"),
    (DAYS, 5.0, "amber"), (DAYS, 5.01, "red"), (DAYS, 4.5, "green"), (DAYS, 4.51, "amber"),
    (Threshold("nps", "below", 30, amber=40), 39.9, "amber"),
    (Threshold("nps", "below", 30, amber=40), 40, "green"),
    (Threshold("nps", "below", 30, amber=30), 30, "green"),
])
def test_levels_at_and_around_each_threshold(t, value, expected):
    assert level(value, t) == expected


def test_percent_typed_at_the_limit_is_not_red():
    # 15 % typed as text is exactly the limit: amber (within 10 %), never red
    a = _actuals([["华东", "2025Q1", "1", "0", "15%"]])
    rv = review(_record(), a, 1, Scenario())
    assert rv.status["华东"] == "amber"


def _record() -> pd.DataFrame:
    return pd.DataFrame({"region": ["华东", "西北"], "headcount": [10, 4],
                         "budget": [4_000_000.0, 2_000_000.0]})


def _actuals(rows, cols=("region", "quarter", "headcount", "budget_spent", "churn_rate")):
    raw = pd.DataFrame([list(r) for r in rows], columns=list(cols), dtype=object)
    return validate_actuals(raw, "a.csv", ["华东", "西北"], POOLS, 2025,
                            extra=[t.column for t in DEFAULT_THRESHOLDS])


def test_second_quarter_running_in_both_languages():
    a = _actuals([["西北", "2025Q1", "4", "400000", "0.17"],
                  ["西北", "2025Q2", "4", "500000", "0.17"],
                  ["华东", "2025Q1", "9", "900000", "0.10"],
                  ["华东", "2025Q2", "10", "1000000", "0.16"]])
    rv = review(_record(), a, 2, Scenario())
    assert rv.status == {"华东": "red", "西北": "red"}
    texts = {a.region: a.text for a in rv.alarms}
    assert texts["西北"].en == ("西北: churn 17 % above the 15 % limit for the second quarter "
                               "running")
    assert "连续第二个季度" in texts["西北"].zh and "17 %" in texts["西北"].zh
    assert texts["华东"].en.endswith("in 2025Q2")  # red for the first time
    assert [x.region for x in rv.alarms] == ["华东", "西北"]  # reds first, then input order


def test_phasing_and_spending_against_plan_to_date():
    sc = scenario_from_text("[phasing]\nbudget = [0.1, 0.2, 0.3, 0.4]\n")
    a = _actuals([["华东", "2025Q1", "9", "300000", ""], ["华东", "2025Q2", "9", "900000", ""],
                  ["西北", "2025Q1", "3", "100000", ""], ["西北", "2025Q2", "4", "100000", ""]])
    rv = review(_record(), a, 2, sc)
    t = rv.table.set_index("region")
    # by hand: 4 m × (0.1 + 0.2) = 1.2 m planned to date; 1.2 m spent
    assert t.loc["华东", "budget_plan_to_date"] == pytest.approx(1_200_000)
    assert t.loc["华东", "budget_actual"] == 1_200_000
    assert t.loc["华东", "budget_variance"] == pytest.approx(0)
    assert t.loc["华东", "budget_used_pct"] == pytest.approx(0.3)
    assert t.loc["西北", "headcount_actual"] == 4 and t.loc["西北", "headcount_variance"] == 0
    assert rv.status == {"华东": "green", "西北": "green"}
    # 西北: 2 m × 0.3 = 600 k to date; spending 661 k (10.2 % over) is amber, over 2 m red
    a = _actuals([["西北", "2025Q1", "3", "661000", ""], ["华东", "2025Q1", "3", "4000001", ""]])
    rv = review(_record(), a, 2, sc)
    assert rv.status == {"西北": "amber", "华东": "red"}


def test_revenue_per_person_and_per_wan():
    cols = ("region", "quarter", "headcount", "budget_spent", "revenue")
    a = _actuals([["华东", "2025Q1", "10", "200000", "3000000"],
                  ["华东", "2025Q2", "12", "300000", "3000000"]], cols)
    t = review(_record(), a, 2, Scenario()).table.set_index("region")
    assert t.loc["华东", "revenue_to_date"] == 6_000_000
    assert t.loc["华东", "revenue_per_person"] == pytest.approx(6_000_000 / 12)
    assert t.loc["华东", "revenue_per_wan_spent"] == pytest.approx(6_000_000 / 50)


def test_phasing_of_an_unknown_pool_is_named():
    sc = scenario_from_text("[phasing]\ncsm_fund = [0.25, 0.25, 0.25, 0.25]\n")
    with pytest.raises(InputError) as e:
        review(_record(), _actuals([["华东", "2025Q1", "1", "1", ""]]), 1, sc)
    assert e.value.problems[0].column == "phasing.csm_fund"


def test_csv_has_bom_and_neutralised_text():
    rv = review(_record(), _actuals([["西北", "2025Q1", "4", "0", "0.2"]]), 1, Scenario())
    data = review_csv_bytes(rv)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[1]["status"] == "red" and rows[1]["headcount_actual"] == "4"
    assert review_summary(rv)["regions"] == {"green": 1, "amber": 0, "red": 1}


def _plan_of_record(tmp_path: Path) -> Path:
    out = tmp_path / "plan"
    r = cli("run", "--regions", INPUTS / "regions.csv", "--scenario", INPUTS / "scenario.toml",
            "--out", out)
    assert r.returncode == 0, r.stderr
    return out / "allocation.csv"


def test_cli_review_of_the_sample(tmp_path):
    record = _plan_of_record(tmp_path)
    out = tmp_path / "rev"
    out.mkdir()
    (out / "review.csv").write_text("stale")
    r = cli("review", "--regions", INPUTS / "regions.csv", "--scenario",
            INPUTS / "scenario.toml", "--plan-of-record", record, "--actuals",
            INPUTS / "actuals_2025_q1_q2.csv", "--quarter", "2025-Q2", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "西北: churn 18 % above the 15 % limit for the second quarter running" in r.stdout
    summary = strict_json(out / "review.json")
    assert summary["by_region"]["西北"] == "red"
    assert any(a["region"] == "东北" and a["column"] == "budget_spent"
               for a in summary["alarms"])  # the sample's overspending region
    rows = list(csv.DictReader(io.StringIO((out / "review.csv").read_text("utf-8-sig"))))
    assert [x["region"] for x in rows] == ["华东", "华南", "华北", "华中", "西南", "西北", "东北"]
    # independent check of one figure: 西北 spent 2.5 m + 2.7 m in the sample file
    assert float(rows[5]["budget_actual"]) == 5_200_000
    assert (out / "review.xlsx").read_bytes()[:2] == b"PK"


def test_cli_review_errors_are_exit_2(tmp_path):
    record = _plan_of_record(tmp_path)
    bad = tmp_path / "a.csv"
    bad.write_text("region,quarter,budget_spent\n火星,2025Q1,1\n", encoding="utf-8")
    r = cli("review", "--regions", INPUTS / "regions.csv", "--plan-of-record", record,
            "--actuals", bad, "--quarter", "2025Q1", "--out", tmp_path / "o")
    assert r.returncode == 2
    assert "row 2, column 'region'" in r.stderr and "火星" in r.stderr
    r = cli("review", "--regions", INPUTS / "regions.csv", "--plan-of-record", record,
            "--actuals", bad, "--quarter", "Q9", "--out", tmp_path / "o")
    assert r.returncode == 2 and "--quarter" in r.stderr

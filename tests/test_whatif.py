"""What-if helpers and the view model: pure functions, no Streamlit."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import INPUTS

from optimizer.app import editors as ed
from optimizer.app import viewmodel as vm
from optimizer.errors import Problem
from optimizer.flow.plan import run_plan
from optimizer.inputs.regions import read_regions, regions_from_bytes, validate_regions
from optimizer.inputs.scenario import DIMENSIONS
from optimizer.inputs.scenario_read import load_scenario
from optimizer.model.result import Status
from optimizer.studies import whatif


@pytest.fixture(scope="module")
def sample():
    scenario = load_scenario(INPUTS / "scenario.toml")
    return read_regions(INPUTS / "regions.csv", scenario), scenario


def test_controls_round_trip_gives_the_same_plan(sample):
    regions, scenario = sample
    controls = vm.controls_from_scenario(scenario, regions)
    back = vm.scenario_from_controls(scenario, controls)
    a = run_plan(regions, scenario, "r")
    b = run_plan(regions, back, "r")
    for p in a.pools:
        assert (a.pools[p].allocation == b.pools[p].allocation).all()


def test_controls_build_the_scenario(sample):
    regions, scenario = sample
    c = vm.controls_from_scenario(scenario, regions)
    c.update({"w_market_potential": 0.5, "hp_share": 0.55, "limit_on_budget": True,
              "limit_budget": 0.2, "ind_dir_growth_rate": "lower", "total_headcount": None})
    s = vm.scenario_from_controls(scenario, c)
    assert s.weights["market_potential"] == 0.5
    assert s.hp_share == 0.55
    assert s.budget_max_change == 0.2 and s.headcount_max_change is None
    assert s.max_change is None
    assert s.indicators["growth_rate"].direction == "lower"
    assert s.headcount_total is None
    assert vm.all_weights_zero({f"w_{d}": 0.0 for d in DIMENSIONS})


def test_weights_with_keeps_the_ratio_of_the_others():
    w = whatif.weights_with({"market_potential": 0.4, "customer_value": 0.3,
                             "internal_capability": 0.1}, "market_potential", 0.6)
    assert w["market_potential"] == 0.6
    assert w["customer_value"] == pytest.approx(0.3)
    assert w["internal_capability"] == pytest.approx(0.1)
    w = whatif.weights_with({"market_potential": 1, "customer_value": 0,
                             "internal_capability": 0}, "market_potential", 0.5)
    assert w["customer_value"] == w["internal_capability"] == 0.25
    assert whatif.sweep_values(0.4) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert whatif.sweep_values(0.35) == [0.0, 0.2, 0.35, 0.4, 0.6, 0.8, 1.0]


def test_weight_sweep_moves_resources_towards_the_swept_dimension(sample):
    regions, scenario = sample
    sweep = whatif.weight_sweep(regions, scenario, "internal_capability", [0.0, 1.0])
    assert set(sweep["status"]) == {"optimal"}
    assert len(sweep) == 2 * 2 * len(regions)
    hc = sweep[sweep["pool"] == "headcount"].pivot(index="region", columns="weight",
                                                   values="allocation")
    assert (hc.sum() == 206).all()
    # 东北 has a weak team: fewer people when internal capability weighs everything.
    assert hc.loc["东北", 1.0] < hc.loc["东北", 0.0]


def test_compare_and_scenario_diff(sample):
    regions, scenario = sample
    other = scenario.with_changes(hp_share=0.5)
    a, b = run_plan(regions, scenario, "r"), run_plan(regions, other, "r")
    table = whatif.compare(a, b)
    assert list(table["region"]) == list(regions["region"])
    assert table["headcount_diff"].sum() == 0
    assert (table["headcount_diff"] == table["headcount_b"] - table["headcount_a"]).all()
    diff = whatif.scenario_diff(scenario, other)
    assert diff.to_dict("records") == [{"setting": "high_potential.share", "a": 0.6, "b": 0.5}]
    # relative weights that are equal after normalising are no difference
    doubled = scenario.with_changes(weights={d: 2 * w for d, w in scenario.weights.items()})
    assert whatif.scenario_diff(scenario, doubled).empty


def test_compare_with_an_infeasible_plan(sample):
    regions, scenario = sample
    bad = scenario.with_changes(max_change=1.0)
    result = run_plan(regions, bad, "r")
    assert result.status == Status.INFEASIBLE
    table = whatif.compare(run_plan(regions, scenario, "r"), result)
    assert table["headcount_b"].isna().all()
    assert vm.reachable_share(result) is not None
    fixed = run_plan(regions, bad.with_changes(hp_share=vm.reachable_share(result)), "r")
    assert fixed.status == Status.OPTIMAL


def test_problem_text_in_both_languages():
    p = Problem("r.csv", "found 'x'; expected a number", row=4, column="market_size")
    assert vm.problem_text(p, "en") == str(p)
    zh = "文件 r.csv，第 4 行，列“market_size”：found 'x'; expected a number"
    assert vm.problem_text(p, "zh") == zh


def test_editor_rows_keep_their_spreadsheet_numbers(sample):
    regions, scenario = sample
    grid = ed.editor_frame(regions)
    assert list(grid.index) == list(range(2, 2 + len(regions)))
    raw = ed.editor_to_raw(grid.drop(index=2))
    assert raw.iloc[0].isna().all()  # the deleted row, blank: later rows keep their numbers
    assert len(validate_regions(raw, scenario, "grid")) == len(regions) - 1


def test_display_table_reads_in_wan_and_in_english(sample):
    regions, scenario = sample
    result = run_plan(regions, scenario, "r")
    zh = vm.display_allocation(result, "zh")
    en = vm.display_allocation(result, "en")
    assert "现有预算" in zh.columns and "Current budget" in en.columns
    assert zh["现有预算"].iloc[0] == "2,520.0 万"
    assert en["Current budget"].iloc[0] == "CNY 25.20 m"
    assert zh["高潜力"].tolist()[:3] == ["否", "否", "是"]


def test_regions_csv_round_trip(sample):
    regions, scenario = sample
    data = ed.regions_csv_bytes(regions)
    assert data.startswith(b"\xef\xbb\xbf")
    again = regions_from_bytes(data, "regions.csv", scenario)
    pd.testing.assert_frame_equal(again.drop(columns=list(again.attrs) and []), regions,
                                  check_dtype=False)


# --------------------------------------------------------------------------- prices, paths

def test_uniform_change_is_the_equivalent_raise_of_every_region():
    import math

    # Σ S·ln((1+g)x) − Σ S·ln x = ΣS·ln(1+g)
    assert vm.uniform_change(3.0 * math.log(1.1), 3.0) == pytest.approx(0.1)
    assert vm.uniform_change(-3.0 * math.log(2), 3.0) == pytest.approx(-0.5)
    assert vm.uniform_change(None, 3.0) is None


def test_score_lines_compare_with_today_scaled_to_the_new_total(sample):
    regions, scenario = sample
    result = run_plan(regions, scenario, "r", explain=False)
    lines = vm.score_lines(result, "en")
    assert len(lines) == 2
    assert lines[0].startswith("Headcount: ") and "+8.4 %" in lines[0]
    assert "Rounding to whole people costs the equivalent of a uniform 0.005 % cut" in lines[0]
    assert lines[1].startswith("Budget: ") and "+18.8 %" in lines[1]
    assert "Rounding" not in lines[1]
    # same totals as today and no rule: today is a plan, so the plan is never worse
    same = run_plan(regions, scenario.with_changes(headcount_total=None, budget_total=None,
                                                   hp_share=0.0), "r", explain=False)
    assert all("never worse" in line for line in vm.score_lines(same, "en"))
    assert "against today's allocation, the plan" in vm.score_lines(same, "en")[0].lower()


def test_rule_labels_read_like_the_rule(sample):
    _, scenario = sample
    assert vm.rule_label("hp_share_budget", scenario, "zh") == "高潜力 ≥ 60 %"
    assert vm.rule_label("hp_share_budget_min", scenario, "en") == "High-potential ≥ 60 %"
    s = scenario.with_changes(budget_max_change=0.3)
    assert vm.rule_label("change_limit_budget", s, "en") == "Change limit ±30.00 %"
    assert vm.rule_label("total_headcount", s, "zh") == "总量"
    assert vm.rule_label("something_else", s, "zh") == "something_else"


def test_years_from_the_editor_are_validated_like_the_toml(sample):
    from optimizer.errors import InputError
    from optimizer.inputs.scenario import YearPlan

    _, scenario = sample
    frame = ed.years_frame(scenario.with_changes(years=(YearPlan(2024, 206, None, 0.3),)))
    assert list(frame.columns) == ["year", "headcount", "budget", "hp_share"]
    edited = pd.concat([frame, pd.DataFrame([{"year": 2025, "budget": 9e7},
                                             {"year": None}])], ignore_index=True)
    assert ed.years_from_editor(edited, "years") == (YearPlan(2024, 206, None, 0.3),
                                                     YearPlan(2025, None, 9e7, None))
    bad = pd.DataFrame([{"year": 2025, "hp_share": 1.5}, {"year": 2024}])
    with pytest.raises(InputError) as e:
        ed.years_from_editor(bad, "years")
    cols = [p.column for p in e.value.problems]
    assert cols == ["years[1].hp_share"]


def test_the_required_change_fix_widens_only_the_pools_that_break(sample):
    from optimizer.flow.path import run_path

    regions, _ = sample
    plan = load_scenario(INPUTS / "plan_2024_2026.toml")
    tight = plan.with_changes(headcount_max_change=0.5, budget_max_change=0.3)
    path = run_path(regions, tight)
    assert path.pools["headcount"].status == Status.OPTIMAL
    fix = vm.required_change_fix(path)
    assert fix == {"budget_max_change": 0.5548}
    assert vm.fix_text(fix, "zh") == "一键应用所需变动限制：预算 ±55.48 %"
    assert run_path(regions, tight.with_changes(**fix)).status == Status.OPTIMAL


def test_sensitivity_workers_small_runs_stay_in_process():
    assert vm.sensitivity_workers(7, 1000, 4) == 1
    assert vm.sensitivity_workers(2000, 200, 4) == 4
    assert vm.progress_value(5, 20) == 0.25 and vm.progress_value(0, 0) == 1.0


# --------------------------------------------------------------------------- added pools

@pytest.fixture(scope="module")
def roles():
    scenario = load_scenario(INPUTS / "roles_2024.toml")
    return read_regions(INPUTS / "regions.csv", scenario), scenario


def test_a_swept_weight_is_that_weight_in_every_pool(roles):
    _, scenario = roles
    for v in (0.0, 0.3, 1.0):
        s = whatif.scenario_with_weight(scenario, "market_potential", v)
        for p in s.pool_names():
            w = s.pool_weights(p)
            assert w["market_potential"] == pytest.approx(v, abs=1e-12), (p, v)
        # the other dimensions of a pool with its own weights keep their ratio
        own = scenario.pool_weights("csm")
        got = s.pool_weights("csm")
        if v < 1.0:
            assert got["customer_value"] / got["internal_capability"] == pytest.approx(
                own["customer_value"] / own["internal_capability"])
        # a pool without own weights still follows [weights]
        assert s.pool_spec("trainer").weights is None


def test_weight_sweep_lists_every_pool(roles):
    regions, scenario = roles
    sweep = whatif.weight_sweep(regions, scenario, "customer_value", [0.2, 0.8])
    assert set(sweep["status"]) == {"optimal"}
    pools = list(scenario.pool_names())
    assert list(dict.fromkeys(sweep["pool"])) == pools
    assert len(sweep) == 2 * len(pools) * len(regions)
    for (w, p), g in sweep.groupby(["weight", "pool"]):
        total = scenario.total(p)
        assert g["allocation"].sum() == pytest.approx(total), (w, p)
    fund = sweep[sweep["pool"] == "expansion_fund"]
    assert (fund[~fund["region"].isin(["西南", "西北"])]["allocation"] == 0).all()


def test_compare_plans_with_different_pools(roles, sample):
    regions, roles_scenario = roles
    a = run_plan(regions, sample[1], "r")
    b = run_plan(regions, roles_scenario, "r")
    table = whatif.compare(a, b)
    for p in roles_scenario.pool_names():
        assert [f"{p}_a", f"{p}_b", f"{p}_diff"] == [
            c for c in table.columns if c in (f"{p}_a", f"{p}_b", f"{p}_diff")]
    assert table["csm_a"].isna().all() and table["csm_diff"].isna().all()
    assert table["csm_b"].tolist() == [float(v) for v in b.pools["csm"].allocation]
    assert table["headcount_b"].sum() == 142 and table["headcount_a"].sum() == 206


def test_scenario_diff_names_the_pool_setting(roles):
    _, scenario = roles
    import dataclasses

    pools = tuple(dataclasses.replace(p, total=16) if p.name == "csm" else p
                  for p in scenario.pools)
    other = scenario.with_changes(pools=pools)
    diff = whatif.scenario_diff(scenario, other)
    assert diff.to_dict("records") == [{"setting": "pools.csm.total", "a": 15, "b": 16}]

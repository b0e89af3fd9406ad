"""The app with added pools (issue 10): the pools editor, the pool picker, people cost,
the TOML round trip and the roles sample. Allocations are checked against the
independent reference (tests/reference.py), never against the engine itself."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from conftest import INPUTS, REPO
from reference import ref_optimum, ref_scores, ref_whole_people
from streamlit.testing.v1 import AppTest

from optimizer import fmt
from optimizer.app import editors as ed
from optimizer.app import viewmodel as vm
from optimizer.inputs.scenario_read import load_scenario
from optimizer.inputs.scenario_write import scenario_to_toml
from optimizer.model.result import Status
from optimizer.words import t

APP = str(REPO / "app.py")
EDITOR = "pools_editor"

FUND = {"name": "fund", "label": "拓展基金", "kind": "budget", "total": 10_000_000.0,
        "eligible": "西南, 西北", "w_market_potential": 0.2, "w_customer_value": 0.7,
        "w_internal_capability": 0.1}
CSM = {"name": "csm", "label": "客户成功经理", "kind": "headcount", "total": 15.0,
       "unit_cost": 600_000.0, "w_market_potential": 0.2, "w_customer_value": 0.7,
       "w_internal_capability": 0.1}


@pytest.fixture(autouse=True)
def _own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPTIMIZER_STORE", f"sqlite:///{tmp_path / 'plans.db'}")


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=180)
    app.run()
    _ok(app)
    return app


def _edit(at: AppTest, added: list[dict] | None = None, edited: dict | None = None,
          deleted: list[int] | None = None) -> AppTest:
    at.session_state[EDITOR] = {"edited_rows": edited or {}, "added_rows": added or [],
                                "deleted_rows": deleted or []}
    at.run()
    _ok(at)
    return at


def _frame_with(at: AppTest, column: str) -> pd.DataFrame:
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with the column {column!r} on the page")


def _errors(at: AppTest) -> str:
    return "\n".join(e.value for e in at.error)


# --------------------------------------------------------------------------- the reference

def _sample_table() -> pd.DataFrame:
    return pd.read_csv(INPUTS / "regions.csv", encoding="utf-8-sig")


def _weights(table: pd.DataFrame, weights: dict[str, float]) -> list[float]:
    """The allocation weight S of each region with these dimension weights (reference)."""
    columns = {c: table[c].astype(float).tolist() for c in
               ("market_size", "growth_rate", "competition_intensity", "customer_ltv",
                "repurchase_rate", "referral_score", "team_capability", "resource_reserve",
                "collaboration_efficiency")}
    return [r["weight"] for r in ref_scores(columns, weights=weights, floor=0.1)]


def _sample_weights() -> dict[str, float]:
    with open(INPUTS / "scenario.toml", "rb") as f:
        return tomllib.load(f)["weights"]


def _hp(table: pd.DataFrame) -> list[bool]:
    return [str(v).strip() in ("是", "true", "True", "1", "yes") for v in table["high_potential"]]


def _own_weights(pool: dict) -> dict[str, float]:
    w = dict(_sample_weights())
    w.update({d: pool[f"w_{d}"] for d in w if f"w_{d}" in pool})
    return w


# --------------------------------------------------------------------------- the editor

def test_add_a_pool_see_its_column_and_its_allocation(at):
    _edit(at, added=[FUND, CSM])
    result = at.session_state["last_result"]
    assert result.status == Status.OPTIMAL
    assert list(result.pools) == ["headcount", "budget", "fund", "csm"]
    table = _frame_with(at, t("col_headcount", "zh"))
    assert t("col_added", "zh", pool="拓展基金") in table.columns
    assert t("col_added", "zh", pool="客户成功经理") in table.columns
    assert t("col_added_cost", "zh", pool="客户成功经理") in table.columns

    regions = _sample_table()
    names = regions["region"].tolist()
    # the fund: only 西南 and 西北 (both high-potential), by the pool's own weights
    s = _weights(regions, _own_weights(FUND))
    eligible = [n in ("西南", "西北") for n in names]
    ref = ref_optimum([w if e else 0.0 for w, e in zip(s, eligible, strict=True)],
                      [0.0] * len(names), [math.inf if e else 0.0 for e in eligible],
                      _hp(regions), FUND["total"], 0.6, integer=False)
    fund = result.pools["fund"].allocation
    assert fund.sum() == pytest.approx(FUND["total"], abs=0.005)
    for got, want, e in zip(fund, ref, eligible, strict=True):
        assert got == (pytest.approx(want, rel=1e-3, abs=0.01) if e else 0.0)

    # the CSMs: whole people from the continuous optimum with the 60 % rule
    s = _weights(regions, _own_weights(CSM))
    n = len(names)
    x = ref_optimum(s, [0.0] * n, [math.inf] * n, _hp(regions), CSM["total"], 0.6, True)
    people = ref_whole_people(x, 15, s, _hp(regions), 0.6)
    assert result.pools["csm"].allocation.tolist() == people
    # people cost: count × unit cost, per region and in total
    assert vm.people_cost_total(result) == pytest.approx(15 * 600_000)
    shown = table[t("col_added_cost", "zh", pool="客户成功经理")].tolist()
    assert shown == [fmt.fmt_cny(h * 600_000, "zh") for h in people]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("people_cost_total", "zh")] == fmt.fmt_cny(9_000_000, "zh")
    assert not _errors(at)


def test_edit_then_remove_a_pool(at):
    _edit(at, added=[CSM])
    _edit(at, added=[{**CSM, "total": 20.0}])
    result = at.session_state["last_result"]
    assert result.pools["csm"].allocation.sum() == 20
    assert vm.people_cost_total(result) == pytest.approx(20 * 600_000)
    # the row removed: back to the two built-in pools, no pool column in the table
    _edit(at)
    result = at.session_state["last_result"]
    assert list(result.pools) == ["headcount", "budget"]
    assert t("col_added", "zh", pool="客户成功经理") not in _frame_with(
        at, t("col_headcount", "zh")).columns
    assert t("people_cost_total", "zh") not in {m.label for m in at.metric}


def test_an_invalid_pool_is_an_inline_error_naming_pool_and_field_and_keeps_the_edit(at):
    _edit(at, added=[CSM])
    good = at.session_state["last_result"]
    bad = [{**CSM, "total": 2.5}]
    _edit(at, added=bad)
    text = _errors(at)
    assert t("sec_errors_pools", "zh") in text
    assert "pools.csm.total" in text and "2.5" in text and "整数" in text
    assert t("pool_field_hint", "zh", column=t("pcol_total", "zh")) in text
    # what was typed is kept, the last valid plan stays on screen (marked as stale)
    assert at.session_state[EDITOR]["added_rows"] == bad
    assert at.session_state["last_result"] is good
    assert t("stale_result", "zh") in [w.value for w in at.warning]
    # in English the same engine message, in English; the redrawn editor (new headers)
    # starts from what was typed
    at.radio(key="lang").set_value("en").run()
    _ok(at)
    text = _errors(at)
    assert "pools.csm.total" in text and "expected a whole number" in text
    assert t("pool_field_hint", "en", column=t("pcol_total", "en")) in text
    kept = at.session_state[f"{EDITOR}_data"]
    assert kept["name"].tolist() == ["csm"] and kept["total"].tolist() == [2.5]
    assert kept["unit_cost"].tolist() == [600_000.0]
    # fixed in the redrawn editor: the plan is computed again
    _edit(at, edited={0: {"total": 3.0}})
    assert at.session_state["last_result"].pools["csm"].allocation.sum() == 3
    assert t("sec_errors_pools", "en") not in _errors(at)


def test_an_infeasible_pool_names_itself_and_its_own_share_is_one_click_away(at):
    # 华东 and 华南 are not high-potential: the default 60 % rule cannot hold for this pool
    east = {"name": "east_fund", "label": "东部基金", "kind": "budget", "total": 5_000_000.0,
            "eligible": "华东, 华南"}
    _edit(at, added=[east])
    result = at.session_state["last_result"]
    assert result.status == Status.INFEASIBLE
    assert result.pools["east_fund"].status == Status.INFEASIBLE
    assert result.pools["headcount"].status == Status.OPTIMAL
    text = _errors(at)
    assert "东部基金" in text and "华东、华南" in text and "hp_share" in text
    assert not text.count("东部基金：东部基金")
    keys = [b.key for b in at.button]
    assert "apply_max_share" not in keys  # the sidebar's share would move every pool
    fixes = [b for b in at.button if b.key.startswith("apply_relaxation_")]
    own = next(b for b in fixes if "pools.east_fund.hp_share" in b.label)
    own.click().run()
    _ok(at)
    result = at.session_state["last_result"]
    assert result.status == Status.OPTIMAL
    assert at.session_state["base_scenario"].pool_spec("east_fund").hp_share == 0
    assert at.session_state["hp_share"] == 0.6  # the other pools keep the sidebar's share
    fund = dict(zip(result.regions["region"], result.pools["east_fund"].allocation,
                    strict=True))
    assert {r for r, v in fund.items() if v > 0} <= {"华东", "华南"}
    assert ed.pools_frame(at.session_state["base_scenario"])["hp_share"].tolist() == [0.0]


@pytest.mark.parametrize(("row", "key", "zh"), [
    ({**CSM, "kind": "people"}, "pools.csm.kind", "整人"),
    ({**CSM, "name": "Bad"}, "pools[1].name", "小写字母"),
    ({**FUND, "eligible_column": "war_zone", "eligible_values": "西区"}, "pools.fund.eligible",
     "二选一"),
])
def test_each_bad_field_names_the_pool_and_the_key(at, row, key, zh):
    _edit(at, added=[row])
    text = _errors(at)
    assert key in text and zh in text


def test_a_pool_that_does_not_fit_the_table_is_named_in_the_pools_tab(at):
    _edit(at, added=[{**FUND, "eligible": "西南, 火星"}])
    text = _errors(at)
    assert t("sec_errors_pools_table", "zh") in text
    assert "火星" in text and "pools.fund.eligible" in text
    _edit(at, added=[{**CSM, "current": "current_csm"}])
    assert "current_csm" in _errors(at)


def test_language_switch_keeps_the_pools_and_the_picked_pool(at):
    _edit(at, added=[FUND])
    at.selectbox(key="pool_pick").set_value("fund").run()
    at.radio(key="lang").set_value("en").run()
    _ok(at)
    assert at.selectbox(key="pool_pick").value == "fund"
    assert at.session_state[f"{EDITOR}_data"]["name"].tolist() == ["fund"]
    view = _frame_with(at, t("col_pv_proposed", "en"))
    assert view[t("col_eligible", "en")].tolist() == ["no", "no", "no", "no", "yes", "yes",
                                                      "no"]
    assert list(at.session_state["last_result"].pools) == ["headcount", "budget", "fund"]


# --------------------------------------------------------------------------- picker, samples

def _roles(at: AppTest) -> AppTest:
    at.selectbox(key="sample").set_value("roles").run()
    _ok(at)
    return at


def test_the_roles_sample_loads_and_the_picker_shows_each_pool(at):
    _roles(at)
    with open(INPUTS / "roles_2024.toml", "rb") as f:
        spec = tomllib.load(f)
    result = at.session_state["last_result"]
    assert result.status == Status.OPTIMAL
    assert [p.name for p in at.session_state["base_scenario"].pools] == [
        p["name"] for p in spec["pools"]]
    # the editor starts from the sample's pools
    frame = ed.pools_frame(at.session_state["base_scenario"])
    assert frame["name"].tolist() == [p["name"] for p in spec["pools"]]
    # people cost in total: Σ count × unit cost over the roles with a unit cost
    want = sum(p["total"] * p["unit_cost"] for p in spec["pools"] if "unit_cost" in p)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("people_cost_total", "zh")] == fmt.fmt_cny(want, "zh")
    for pool in spec["pools"]:
        at.selectbox(key="pool_pick").set_value(pool["name"]).run()
        _ok(at)
        view = _frame_with(at, t("col_pv_proposed", "zh"))
        amounts = result.pools[pool["name"]].allocation
        unit = "people" if pool["kind"] == "headcount" else "cny"
        shown = view[t("col_pv_proposed", "zh")].tolist()
        if unit == "people":
            assert shown == [fmt.fmt_people(v, "zh") for v in amounts]
            assert sum(amounts) == pool["total"]
        else:
            assert shown == [fmt.fmt_cny(v, "zh") for v in amounts]
        if "unit_cost" in pool:
            cost = view[t("col_pv_cost", "zh")].tolist()
            assert cost == [fmt.fmt_cny(v * pool["unit_cost"], "zh") for v in amounts]
        facts = "\n".join(m.value for m in at.markdown)
        assert t("pv_total", "zh") in facts
    # the directors: one per war zone
    table = _sample_table()
    directors = dict(zip(table["region"], result.pools["director"].allocation, strict=True))
    for _zone, group in table.groupby("war_zone"):
        assert sum(directors[r] for r in group["region"]) == 1
    # the fund: only 西南 and 西北
    fund = dict(zip(table["region"], result.pools["expansion_fund"].allocation, strict=True))
    assert {r for r, v in fund.items() if v > 0} <= {"西南", "西北"}
    assert sum(fund.values()) == pytest.approx(10_000_000, abs=0.005)


def test_compare_sensitivity_and_charts_list_every_pool(at):
    _roles(at)
    labels = [p.display() for p in at.session_state["base_scenario"].pools]
    # the comparison (the current settings on both sides): A, B and B − A of every pool
    compare = _frame_with(at, f"{labels[0]} · A")
    for label in labels:
        assert {f"{label} · A", f"{label} · B"} <= set(compare.columns)
    # the sensitivity run: a band per pool and region, every pool by its label
    at.number_input(key="sens_draws").set_value(4).run()
    at.button(key="sens_run").click().run()
    _ok(at)
    sens = _frame_with(at, t("col_sens_median", "zh"))
    assert list(dict.fromkeys(sens[t("col_pool", "zh")])) == ["人员", "预算", *labels]
    assert len(sens) == len(_sample_table()) * (2 + len(labels))
    # the charts tab: one allocation chart per pool, titled with its label
    titles = [json.dumps(json.loads(c.proto.spec).get("title"), ensure_ascii=False)
              for c in at.get("vega_lite_chart")]
    for label in labels:
        assert any(t("chart_pool", "zh", pool=label) in title for title in titles), label


def test_picked_pool_has_its_explanation(at):
    _roles(at)
    at.selectbox(key="pool_pick").set_value("csm").run()
    _ok(at)
    lines = "\n".join(m.value for m in at.markdown)
    assert "- 客户成功经理：" in lines  # the score line and the binding rules of the CSMs
    explained = at.session_state["last_explained"]
    assert explained is not None
    assert vm.binding_lines(explained, "zh", ["csm"])[0] in lines


def test_the_scenario_toml_round_trip_holds_for_pools(at):
    _roles(at)
    _edit(at, edited={1: {"total": 13.0}})  # solution experts: 12 → 13
    result = at.session_state["last_result"]
    assert result.pools["solution_expert"].allocation.sum() == 13
    toml = scenario_to_toml(result.scenario)  # what the TOML download holds
    fresh = AppTest.from_file(APP, default_timeout=180)
    fresh.run()
    fresh.file_uploader(key="up_scenario").set_value(
        ("mine.toml", toml.encode("utf-8"), "application/toml")).run()
    _ok(fresh)
    assert fresh.session_state["base_scenario"].pools == result.scenario.pools
    assert fresh.session_state["last_result"].pools["solution_expert"].allocation.sum() == 13
    assert ed.pools_frame(fresh.session_state["base_scenario"]).equals(
        ed.pools_frame(result.scenario))
    sample = load_scenario(INPUTS / "roles_2024.toml")
    assert [p.name for p in sample.pools] == [p.name for p in result.scenario.pools]


def test_a_pool_total_per_year_in_the_years_editor(at):
    _roles(at)
    at.session_state["years_editor"] = {
        "edited_rows": {}, "deleted_rows": [],
        "added_rows": [{"year": 2024}, {"year": 2025, "expansion_fund": 12_000_000.0}]}
    at.run()
    _ok(at)
    scenario = at.session_state["last_result"].scenario
    assert [y.totals for y in scenario.years] == [{}, {"expansion_fund": 12_000_000.0}]
    # a total for a pool the scenario does not have is the scenario's own error
    at.session_state["years_editor"] = {
        "edited_rows": {}, "deleted_rows": [],
        "added_rows": [{"year": 2024, "expansion_fund": -5.0}]}
    at.run()
    _ok(at)
    assert "years[1].expansion_fund" in _errors(at)


# --------------------------------------------------------------------------- view model

def test_each_part_of_a_per_rule_is_named_by_its_value():
    scenario = load_scenario(INPUTS / "roles_2024.toml")
    regions = _sample_table()
    zones = list(dict.fromkeys(regions["war_zone"]))  # in order of first appearance
    for k, zone in enumerate(zones, start=1):
        name = f"one director per war zone: {zone}"
        assert vm.rule_label(f"group_1_{k}_director_max", scenario, "zh", regions) == t(
            "rule_group_label", "zh", name=name)
        assert vm.rule_label(f"group_1_{k}_director", scenario, "en") == t(
            "rule_group_label", "en", name=f"one director per war zone #{k}")
    with open(INPUTS / "roles_2024.toml", "rb") as f:
        own = next(p for p in tomllib.load(f)["pools"] if p["name"] == "director")["hp_share"]
    assert vm.rule_label("hp_share_director", scenario, "en") == t(
        "rule_hp_label", "en", share=f"{own * 100:.0f} %")


def test_a_change_limit_fix_reaches_an_added_pool():
    scenario = load_scenario(INPUTS / "roles_2024.toml")
    fix = {"budget_max_change": 0.25, "csm_max_change": 0.5}
    fixed = vm.apply_limits(scenario, fix)
    assert fixed.budget_max_change == 0.25
    assert fixed.pool_spec("csm").max_change == 0.5
    assert [p.name for p in fixed.pools] == [p.name for p in scenario.pools]
    assert all(p.max_change is None for p in fixed.pools if p.name != "csm")
    assert vm.fix_text(fix, "zh", scenario) == t("apply_required", "zh",
                                                 limits="预算 ±25.00 %，客户成功经理 ±50.00 %")


def test_pool_rows_read_the_editor_as_a_scenario_file_would():
    frame = pd.DataFrame([{**FUND, "eligible": "西南，西北、 东北", "label": " ",
                           "hp_share": None}])
    rows = ed.pool_rows(frame)
    assert rows == [{"name": "fund", "kind": "budget", "eligible": ["西南", "西北", "东北"],
                     "total": 10_000_000, "weights": {"market_potential": 0.2,
                                                      "customer_value": 0.7,
                                                      "internal_capability": 0.1}}]
    assert ed.pool_rows(pd.DataFrame([{"name": None, "total": float("nan")}])) == []


def test_a_pool_added_in_the_table_gets_a_column_in_the_years_editor(at):
    at.session_state["years_editor"] = {"edited_rows": {}, "deleted_rows": [],
                                        "added_rows": [{"year": 2025}, {"year": 2026}]}
    at.run()
    _ok(at)
    assert [y.year for y in at.session_state["last_result"].scenario.years] == [2025, 2026]
    _edit(at, added=[CSM])
    # the years typed before are kept in the wider table, which has the pool's column
    data = at.session_state["years_editor_data"]
    assert "csm" in data.columns and data["year"].tolist() == [2025, 2026]
    assert [y.year for y in at.session_state["last_result"].scenario.years] == [2025, 2026]
    at.session_state["years_editor"] = {"edited_rows": {1: {"csm": 18}}, "deleted_rows": [],
                                        "added_rows": []}
    at.run()
    _ok(at)
    years = at.session_state["last_result"].scenario.years
    assert [(y.year, y.totals) for y in years] == [(2025, {}), (2026, {"csm": 18})]

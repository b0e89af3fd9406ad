"""The chart builders build, in the chosen language, and stay readable with many regions."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import INPUTS

from optimizer.app import charts
from optimizer.app.viewmodel import hp_shares
from optimizer.flow.plan import run_plan
from optimizer.inputs.regions import read_regions, validate_regions
from optimizer.inputs.scenario import DIMENSIONS
from optimizer.inputs.scenario_read import load_scenario
from optimizer.report.table import allocation_table
from optimizer.studies import whatif
from optimizer.studies.synth import synth_regions, synth_scenario
from optimizer.words import t


@pytest.fixture(scope="module")
def sample():
    scenario = load_scenario(INPUTS / "scenario.toml")
    regions = read_regions(INPUTS / "regions.csv", scenario)
    return regions, scenario, run_plan(regions, scenario, "regions.csv")


@pytest.fixture(scope="module")
def big():
    raw = synth_regions(300, seed=3)
    scenario = synth_scenario(raw)
    regions = validate_regions(raw, scenario, "synth.csv")
    return run_plan(regions, scenario, "synth.csv", explain=False)


def _title(spec: dict) -> str:
    title = spec["title"]
    return title["text"] if isinstance(title, dict) else title


def _texts(spec) -> list[str]:
    """Every string in a chart spec (titles, axis titles, data values)."""
    if isinstance(spec, dict):
        return [s for v in spec.values() for s in _texts(v)]
    if isinstance(spec, list):
        return [s for v in spec for s in _texts(v)]
    return [spec] if isinstance(spec, str) else []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_chart_builds_with_a_title_in_the_language(sample, lang):
    regions, scenario, result = sample
    table = allocation_table(result)
    sweep = whatif.weight_sweep(regions, scenario, "market_potential", [0.2, 0.4, 0.6])
    built = {
        t("chart_scores", lang): charts.score_chart(result.scores, result.scenario, lang),
        t("chart_pool", lang, pool=t("pool_headcount", lang)):
            charts.pool_chart(table, "headcount", lang),
        t("chart_pool", lang, pool=t("pool_budget", lang)): charts.pool_chart(table, "budget",
                                                                              lang),
        t("chart_hp", lang): charts.hp_share_chart(hp_shares(result, lang), lang),
        t("chart_sweep", lang, pool=t("pool_budget", lang),
          dim=t("dim_market_potential", lang)):
            charts.sweep_chart(sweep, "budget", "market_potential", 0.4, lang),
        t("chart_compare", lang, pool=t("pool_headcount", lang)):
            charts.compare_chart(whatif.compare(result, result), "headcount", ("a", "b"), lang),
    }
    other = "en" if lang == "zh" else "zh"
    for title, chart in built.items():
        spec = chart.to_dict()
        assert _title(spec) == title
        texts = _texts(spec)
        assert t("axis_region", lang) in texts or t("axis_pool", lang) in texts
        assert t("axis_region", other) not in texts


def test_score_parts_add_up_to_the_composite(sample):
    _, _, result = sample
    parts = charts.score_contributions(result.scores, result.scenario)
    total = parts.groupby("region", sort=False)["part"].sum()
    np.testing.assert_allclose(total.to_numpy(), result.scores["score"].to_numpy(), atol=1e-12)
    assert set(parts["dimension"]) == set(DIMENSIONS)


def test_score_parts_skip_a_dimension_of_weight_zero(sample):
    regions, scenario, _ = sample
    s = scenario.with_changes(weights={"market_potential": 1.0, "customer_value": 0.0,
                                       "internal_capability": 0.0})
    result = run_plan(regions, s, "regions.csv", explain=False)
    parts = charts.score_contributions(result.scores, result.scenario)
    assert set(parts["dimension"]) == {"market_potential"}


def test_many_regions_show_the_largest_and_say_so(big):
    table = allocation_table(big)
    chart = charts.pool_chart(table, "budget", "en")
    spec = chart.to_dict()
    assert "(showing 40 of 300 regions)" in _title(spec)
    data = next(iter(spec["datasets"].values()))
    assert len({row["region"] for row in data}) == charts.MAX_BARS
    top = table.loc[table["budget_change"].abs().idxmax(), "region"]
    assert top in {row["region"] for row in data}
    zh = charts.score_chart(big.scores, big.scenario, "zh").to_dict()
    assert "（显示 40 / 300 个区域）" in _title(zh)


@pytest.fixture(scope="module")
def path_sample():
    from optimizer.flow.path import run_path

    scenario = load_scenario(INPUTS / "plan_2024_2026.toml")
    regions = read_regions(INPUTS / "regions.csv", scenario)
    return run_path(regions, scenario, "regions.csv")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_new_charts_build_with_a_title_in_the_language(sample, path_sample, lang):
    from optimizer.app import viewmodel as vm
    from optimizer.studies.sensitivity import run_sensitivity

    regions, scenario, result = sample
    sens = run_sensitivity(regions, scenario, draws=8, seed=1, workers=1)
    hc, bu = t("pool_headcount", lang), t("pool_budget", lang)
    built = {
        t("chart_price", lang, pool=hc):
            charts.price_chart(vm.price_deltas(result, "headcount", lang), "headcount", lang),
        t("chart_path", lang, pool=bu):
            charts.path_chart(vm.path_long(path_sample, "budget", lang), "budget", lang),
        t("chart_path_share", lang, pool=hc):
            charts.path_share_chart(vm.path_shares(path_sample, "headcount", lang), "headcount",
                                    lang),
        t("chart_sens", lang, pool=bu): charts.sensitivity_chart(sens.table, "budget", lang),
    }
    other = "en" if lang == "zh" else "zh"
    for title, chart in built.items():
        spec = chart.to_dict()
        assert _title(spec) == title
        texts = _texts(spec)
        assert t("axis_region", lang) in texts or t("axis_year", lang) in texts
        assert t("axis_region", other) not in texts and t("axis_year", other) not in texts


def test_price_chart_draws_each_rule_per_region(sample):
    from optimizer.app import viewmodel as vm

    regions, _, _ = sample
    groups = load_scenario(INPUTS / "groups.toml")
    result = run_plan(read_regions(INPUTS / "regions.csv", groups), groups, "regions.csv")
    deltas = vm.price_deltas(result, "headcount", "en")
    assert set(deltas["rule"]) == {"High-potential ≥ 60 %", "Group 'West war zone'"}
    spec = charts.price_chart(deltas, "headcount", "en").to_dict()
    data = next(iter(spec["datasets"].values()))
    assert len(data) == 2 * len(regions)
    # with the rule minus without it: the allocation moves, the total does not
    for _, part in deltas.groupby("rule"):
        assert abs(part["delta"].sum()) < 1e-6


def test_path_chart_keeps_the_regions_that_move_most(big):
    import numpy as np

    from optimizer.app import viewmodel as vm
    from optimizer.flow.path import run_path
    from optimizer.inputs.scenario import YearPlan

    s = big.scenario.with_changes(years=(YearPlan(2025), YearPlan(2026, hp_share=0.65)))
    path = run_path(big.regions, s, "synth.csv")
    long = vm.path_long(path, "headcount", "zh")
    spec = charts.path_chart(long, "headcount", "zh").to_dict()
    assert "（显示 12 / 300 个区域）" in _title(spec)
    data = next(iter(spec["datasets"].values()))
    assert len({row["region"] for row in data}) == charts.MAX_LINES
    assert np.isfinite([row["amount"] for row in data]).all()


def test_history_chart_has_one_point_per_event_in_time():
    import pandas as pd

    from optimizer.app.charts import history_chart

    events = pd.DataFrame({"time": ["2025-01-02T09:00:00Z", "2025-01-03T10:00:00Z",
                                    "2025-01-05T16:30:00Z"],
                           "user": ["pia", "pia", "abe"],
                           "action": ["save", "submit", "approve"],
                           "comment": ["", "", "ok"]})
    spec = history_chart(events, "en").to_dict()
    data = next(iter(spec["datasets"].values()))
    assert [d["action"] for d in data] == ["save", "submit", "approve"]
    assert [d["label"] for d in data] == ["save · pia", "submit · pia", "approve · abe"]
    assert pd.to_datetime([d["when"] for d in data]).is_monotonic_increasing


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_added_pool_is_drawn_under_its_label(lang):
    """The roles sample: each added pool's chart carries its label and its own amounts."""
    from optimizer.app import viewmodel as vm

    roles = load_scenario(INPUTS / "roles_2024.toml")
    regions = read_regions(INPUTS / "regions.csv", roles)
    result = run_plan(regions, roles, "regions.csv")
    for spec in roles.pools:
        table = vm.pool_table(result, spec.name)
        chart = charts.pool_chart(table, spec.name, lang, label=spec.display()).to_dict()
        assert _title(chart) == t("chart_pool", lang, pool=spec.display())
        data = next(iter(chart["datasets"].values()))
        proposed = {row["region"]: row["amount"] for row in data
                    if row["series"] == t("kind_proposed", lang)}
        assert proposed == dict(zip(regions["region"], result.pools[spec.name].allocation,
                                    strict=True))
        if spec.eligible:  # an ineligible region gets nothing, whatever its score
            assert all(v == 0 for r, v in proposed.items() if r not in spec.eligible)
    price = charts.price_chart(vm.price_deltas(result, "csm", lang), "csm", lang,
                               label="客户成功经理", kind="headcount").to_dict()
    assert _title(price) == t("chart_price", lang, pool="客户成功经理")

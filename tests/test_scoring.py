"""The three-dimension score (docs/model.md, "Scoring") against hand-computed values and
against the independent reference in tests/reference.py."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.errors import InputError
from optimizer.inputs.scenario import DIMENSIONS, Indicator, Scenario
from optimizer.model.scoring import high_potential, score
from tests.reference import DEFAULT_INDICATORS, ref_scores, ref_threshold_hp

SETTINGS = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def table(**cols: list) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    return pd.DataFrame({"region": [f"R{i}" for i in range(n)], **cols})


# --------------------------------------------------------------------------- by hand

HAND = table(
    market_size=[100.0, 200.0, 300.0],  # z = 0, .5, 1
    competition_intensity=[9.0, 3.0, 6.0],  # lower is better: z = 0, 1, .5
    customer_ltv=[5.0, 5.0, 5.0],  # constant: left out, customer value has no D
    team_capability=[10.0, 30.0, 20.0],  # z = 0, 1, .5
)
HAND_SCENARIO = Scenario(
    indicators={"market_size": Indicator("market_potential", "higher", 1.0),
                "competition_intensity": Indicator("market_potential", "lower", 1.0),
                "customer_ltv": Indicator("customer_value", "higher", 1.0),
                "team_capability": Indicator("internal_capability", "higher", 1.0)},
    weights={"market_potential": 0.5, "customer_value": 0.25, "internal_capability": 0.25},
    floor=0.1,
)


def test_hand_example_dimension_scores_composite_and_weight():
    out, notes = score(HAND, HAND_SCENARIO)
    # D_mp = (z_size + z_comp)/2 = (0+0)/2, (.5+1)/2, (1+.5)/2
    np.testing.assert_allclose(out["market_potential"], [0.0, 0.75, 0.75], atol=1e-15)
    # customer_ltv is constant: customer value has no D (blank), its weight redistributed
    assert out["customer_value"].isna().all()
    np.testing.assert_allclose(out["internal_capability"], [0.0, 1.0, 0.5], atol=1e-15)
    # C = (.5·D_mp + .25·D_ic)/.75: 0, (.375+.25)/.75 = 5/6, (.375+.125)/.75 = 2/3
    np.testing.assert_allclose(out["score"], [0.0, 5 / 6, 2 / 3], atol=1e-15)
    # S = .1 + .9·C: .1, .85, .7
    np.testing.assert_allclose(out["weight"], [0.1, 0.85, 0.7], atol=1e-15)
    assert list(out["region"]) == ["R0", "R1", "R2"]
    assert any("customer_ltv" in n.en for n in notes)


def test_indicator_weights_inside_a_dimension():
    df = table(market_size=[0.0, 10.0], growth_rate=[1.0, 0.0])
    sc = Scenario(indicators={"market_size": Indicator("market_potential", "higher", 3.0),
                              "growth_rate": Indicator("market_potential", "higher", 1.0)})
    out, _ = score(df, sc)
    # D = (3·z_size + 1·z_growth)/4: (0+1)/4, (3+0)/4
    np.testing.assert_allclose(out["market_potential"], [0.25, 0.75], atol=1e-15)
    np.testing.assert_allclose(out["score"], [0.25, 0.75], atol=1e-15)


def test_zero_weight_indicator_is_left_out():
    df = table(market_size=[0.0, 10.0], growth_rate=[1.0, 0.0])
    sc = Scenario(indicators={"market_size": Indicator("market_potential", "higher", 1.0),
                              "growth_rate": Indicator("market_potential", "higher", 0.0)})
    out, _ = score(df, sc)
    np.testing.assert_allclose(out["market_potential"], [0.0, 1.0], atol=1e-15)


def test_zero_weight_dimension_keeps_its_D_but_leaves_the_composite():
    df = table(market_size=[0.0, 10.0], team_capability=[10.0, 0.0])
    sc = Scenario(indicators={"market_size": Indicator("market_potential", "higher", 1.0),
                              "team_capability": Indicator("internal_capability", "higher", 1)},
                  weights={"market_potential": 0.0, "customer_value": 0.5,
                           "internal_capability": 0.5})
    out, _ = score(df, sc)
    # market potential still scored (the threshold rule reads it) ...
    np.testing.assert_allclose(out["market_potential"], [0.0, 1.0], atol=1e-15)
    # ... customer value has no indicator: its weight goes to internal capability alone
    np.testing.assert_allclose(out["score"], [1.0, 0.0], atol=1e-15)


def test_no_active_dimension_gives_C_1_everywhere():
    df = table(market_size=[7.0, 7.0, 7.0])
    sc = Scenario(indicators={"market_size": Indicator("market_potential", "higher", 1.0)})
    out, _ = score(df, sc)
    assert out[list(DIMENSIONS)].isna().all().all()
    np.testing.assert_allclose(out["score"], 1.0)
    np.testing.assert_allclose(out["weight"], 1.0)


@pytest.mark.parametrize("floor,expected", [(0.1, [0.1, 0.55, 1.0]), (0.5, [0.5, 0.75, 1.0]),
                                            (1.0, [1.0, 1.0, 1.0])])
def test_floor(floor, expected):
    df = table(market_size=[0.0, 50.0, 100.0])
    out, _ = score(df, Scenario(floor=floor))
    np.testing.assert_allclose(out["weight"], expected, atol=1e-15)


def test_direction_lower_reverses_the_ranking():
    df = table(competition_intensity=[2.0, 4.0, 10.0])
    out, _ = score(df, Scenario())
    # z = 1 − (v − 2)/8: 1, .75, 0
    np.testing.assert_allclose(out["market_potential"], [1.0, 0.75, 0.0], atol=1e-15)


@pytest.mark.parametrize("values,constant", [
    ([1e6, 1e6 + 1e-7], True),  # spread 1e-7 ≤ 1e-12·1e6
    ([1e6, 1e6 + 1e-5], False),
    ([0.0, 1e-13], True),  # spread ≤ 1e-12·max(1, |max|)
    ([0.0, 2e-12], False),
    ([-5.0, -5.0], True),
])
def test_constant_indicator_tolerance(values, constant):
    df = table(market_size=values, team_capability=[0.0, 1.0])
    out, _ = score(df, Scenario())
    assert out["market_potential"].isna().all() == constant


def test_dimension_score_is_nan_not_zero_and_the_composite_uses_the_rest():
    df = table(market_size=[3.0, 3.0], customer_ltv=[1.0, 2.0], team_capability=[0.0, 1.0])
    out, _ = score(df, Scenario(weights={"market_potential": 0.8, "customer_value": 0.1,
                                         "internal_capability": 0.1}))
    assert out["market_potential"].isna().all()
    # customer value and capability share the composite equally: C = 0, 1
    np.testing.assert_allclose(out["score"], [0.0, 1.0], atol=1e-15)


# --------------------------------------------------------------------------- high potential

def test_threshold_rule_includes_the_threshold_itself():
    df = table(market_size=[0.0, 50.0, 100.0])
    sc = Scenario(hp_rule="threshold", hp_threshold=0.5)
    out, _ = score(df, sc)
    assert high_potential(df, out, sc).tolist() == [False, True, True]


def test_column_rule_reads_the_column():
    df = table(market_size=[0.0, 50.0, 100.0])
    df["high_potential"] = [True, False, False]
    sc = Scenario()  # rule defaults to "column" when the table has the column
    out, _ = score(df, sc)
    assert high_potential(df, out, sc).tolist() == [True, False, False]


def test_threshold_rule_without_market_potential_is_an_input_error():
    df = table(market_size=[5.0, 5.0], team_capability=[0.0, 1.0])
    sc = Scenario(hp_rule="threshold")
    out, _ = score(df, sc)
    with pytest.raises(InputError) as e:
        high_potential(df, out, sc)
    assert "market_potential" in str(e.value)
    # with ρ = 0 the rule has nothing to enforce: nobody is high-potential, no error
    sc0 = sc.with_changes(hp_share=0.0)
    assert high_potential(df, out, sc0).tolist() == [False, False]


def test_column_rule_without_column_is_an_input_error():
    df = table(market_size=[0.0, 1.0])
    sc = Scenario(hp_rule="column")
    out, _ = score(df, sc)
    with pytest.raises(InputError):
        high_potential(df, out, sc)


# --------------------------------------------------------------------------- vs reference

@st.composite
def scoring_cases(draw):
    n = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    names = list(DEFAULT_INDICATORS)
    indicators = {}
    columns = {}
    for name in names:
        dim = draw(st.sampled_from(DIMENSIONS))
        direction = draw(st.sampled_from(["higher", "lower"]))
        weight = draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.7]))
        indicators[name] = (dim, direction, weight)
        kind = draw(st.sampled_from(["normal", "constant", "ints", "huge"]))
        if kind == "constant":
            col = np.full(n, rng.normal() * 100)
        elif kind == "ints":
            col = rng.integers(-3, 4, n).astype(float)
        elif kind == "huge":
            col = rng.lognormal(20, 2, n)
        else:
            col = rng.normal(0, 10, n)
        columns[name] = col
    weights = {d: draw(st.sampled_from([0.0, 0.25, 1.0, 0.4])) for d in DIMENSIONS}
    if all(w == 0 for w in weights.values()):
        weights["customer_value"] = 1.0
    floor = draw(st.sampled_from([0.1, 0.01, 0.5, 1.0, 0.3333]))
    return columns, indicators, weights, floor


@SETTINGS
@given(scoring_cases())
def test_score_matches_reference(case):
    columns, indicators, weights, floor = case
    df = table(**{k: v.tolist() for k, v in columns.items()})
    sc = Scenario(indicators={k: Indicator(*v) for k, v in indicators.items()},
                  weights=weights, floor=floor)
    out, _ = score(df, sc)
    ref = ref_scores({k: v.tolist() for k, v in columns.items()}, indicators, weights, floor)
    for r, row in enumerate(ref):
        for d in DIMENSIONS:
            got = out[d].iloc[r]
            if row[d] is None:
                assert math.isnan(got), (d, r)
            else:
                assert got == pytest.approx(row[d], abs=1e-12), (d, r)
        assert out["score"].iloc[r] == pytest.approx(row["score"], abs=1e-12)
        assert out["weight"].iloc[r] == pytest.approx(row["weight"], abs=1e-12)
        assert 0.0 <= out["score"].iloc[r] <= 1.0 + 1e-15
        assert floor - 1e-15 <= out["weight"].iloc[r] <= 1.0 + 1e-15
    mp_ok = not all(row["market_potential"] is None for row in ref)
    if mp_ok:
        for threshold in (0.0, 0.3, 0.5, 1.0):
            sct = sc.with_changes(hp_rule="threshold", hp_threshold=threshold)
            assert high_potential(df, out, sct).tolist() == ref_threshold_hp(ref, threshold)


def test_sample_input_scores_match_reference():
    from pathlib import Path

    from optimizer.inputs.regions import read_regions
    from optimizer.inputs.scenario_read import load_scenario

    root = Path(__file__).resolve().parents[1]
    sc = load_scenario(root / "inputs" / "scenario.toml")
    df = read_regions(root / "inputs" / "regions.csv", sc)
    out, _ = score(df, sc)
    ind = {k: (v.dimension, v.direction, v.weight) for k, v in sc.indicators.items()}
    ref = ref_scores({k: df[k].tolist() for k in ind if k in df.columns}, ind, sc.weights,
                     sc.floor)
    np.testing.assert_allclose(out["weight"], [r["weight"] for r in ref], atol=1e-12)
    np.testing.assert_allclose(out["score"], [r["score"] for r in ref], atol=1e-12)


# --------------------------------------------------------------------------- overflow (issue 9)

def _table_for_overflow() -> pd.DataFrame:
    from conftest import COLUMNS, ROWS

    df = pd.DataFrame([[r[0], *map(float, r[1:])] for r in ROWS], columns=COLUMNS)
    return df


@pytest.mark.parametrize(("huge", "plain"), [
    ({"market_potential": 1e308, "customer_value": 1e308, "internal_capability": 1e308},
     {"market_potential": 1.0, "customer_value": 1.0, "internal_capability": 1.0}),
    ({"market_potential": 1e308, "customer_value": 5e307, "internal_capability": 0.0},
     {"market_potential": 1.0, "customer_value": 0.5, "internal_capability": 0.0}),
])
def test_huge_dimension_weights_are_relative(huge, plain):
    from tests.reference import ref_scores

    df = _table_for_overflow()
    out, _ = score(df, Scenario(weights=huge))
    ref = ref_scores({n: df[n].tolist() for n in Scenario().indicators}, weights=plain)
    assert out["score"].tolist() == pytest.approx([r["score"] for r in ref], abs=1e-12)
    assert np.isfinite(out["weight"]).all()


def test_huge_indicator_weights_are_relative():
    from tests.reference import ref_scores

    df = _table_for_overflow()
    inds = {**Scenario().indicators,
            "market_size": Indicator("market_potential", "higher", 1e308),
            "growth_rate": Indicator("market_potential", "higher", 1e308)}
    out, _ = score(df, Scenario(indicators=inds))
    plain = {n: (i.dimension, i.direction, 1.0) for n, i in inds.items()}
    plain["competition_intensity"] = ("market_potential", "lower", 1e-308)
    ref = ref_scores({n: df[n].tolist() for n in inds}, indicators=plain)
    assert out["market_potential"].tolist() == pytest.approx(
        [r["market_potential"] for r in ref], abs=1e-12)


def test_indicator_values_of_plus_and_minus_1e308_normalise():
    from tests.reference import ref_scores

    df = _table_for_overflow()
    df["growth_rate"] = [1e308, -1e308, 0.0]
    out, _ = score(df, Scenario())
    columns = {n: df[n].tolist() for n in Scenario().indicators}
    columns["growth_rate"] = [1.0, -1.0, 0.0]  # min-max does not depend on the scale
    ref = ref_scores(columns)
    assert out["market_potential"].tolist() == pytest.approx(
        [r["market_potential"] for r in ref], abs=1e-12)

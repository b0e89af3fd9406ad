"""The scenario TOML: every kind of bad input with its message, and the round trip to TOML."""

from __future__ import annotations

import pytest
from conftest import INPUTS
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.errors import InputError, Problem
from optimizer.inputs.scenario import DEFAULT_INDICATORS, DIMENSIONS, GroupRule, Indicator, Scenario
from optimizer.inputs.scenario_read import load_scenario, scenario_from_text
from optimizer.inputs.scenario_write import scenario_to_toml


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(InputError) as info:
        scenario_from_text(text, "s.toml")
    assert all(p.file == "s.toml" for p in info.value.problems)
    return info.value.problems


def one_problem(text: str) -> Problem:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


# --------------------------------------------------------------------------- good input

def test_empty_text_is_the_default_scenario():
    s = scenario_from_text("")
    assert s == Scenario()
    assert s.weights == {d: 1 / 3 for d in DIMENSIONS}
    assert set(s.indicators) == set(DEFAULT_INDICATORS)
    assert (s.floor, s.hp_share, s.hp_rule, s.hp_threshold) == (0.1, 0.60, None, 0.5)
    assert s.headcount_total is None and s.budget_total is None
    assert s.change_limit("budget") is None


def test_full_scenario():
    s = scenario_from_text("""
        [totals]
        headcount = 206
        budget = 100_000_000
        [weights]
        market_potential = 0.40
        customer_value = 0.35
        internal_capability = 0.25
        [indicators.competition_intensity]
        weight = 2
        [indicators.nps]
        dimension = "customer_value"
        [scoring]
        floor = 1
        [high_potential]
        share = 0
        rule = "threshold"
        threshold = 0.6
        [limits]
        max_change = 0.30
        budget_max_change = 0.5
    """)
    assert s.headcount_total == 206 and isinstance(s.headcount_total, int)
    assert s.budget_total == 100_000_000.0
    assert s.weights == {"market_potential": 0.40, "customer_value": 0.35,
                         "internal_capability": 0.25}
    assert s.indicators["competition_intensity"] == Indicator("market_potential", "lower", 2.0)
    assert s.indicators["nps"] == Indicator("customer_value", "higher", 1.0)
    assert (s.floor, s.hp_share, s.hp_rule, s.hp_threshold) == (1.0, 0.0, "threshold", 0.6)
    assert s.change_limit("headcount") == 0.30 and s.change_limit("budget") == 0.5
    assert s.total("headcount") == 206


def test_group_rules_parse():
    s = scenario_from_text("""
        [[groups]]
        name = " West war zone "
        pool = "headcount"
        min_share = 0.15
        column = "war_zone"
        values = [" 西区 "]
        [[groups]]
        name = "Outside East and South"
        pools = "both"
        min_share = 0.3
        max_share = 0.9
        regions = ["华北", " 西南"]
        [[groups]]
        name = "Strong markets"
        pools = ["budget", "headcount"]
        max_share = 0.5
        score = "market_potential"
        min_score = 0.7
    """)
    assert s.groups == (
        GroupRule("West war zone", ("headcount",), 0.15, None, column="war_zone",
                  values=("西区",)),
        GroupRule("Outside East and South", ("headcount", "budget"), 0.3, 0.9,
                  regions=("华北", "西南")),
        GroupRule("Strong markets", ("headcount", "budget"), None, 0.5,
                  score="market_potential", min_score=0.7),
    )


# --------------------------------------------------------------------------- bad input

def test_malformed_toml_names_the_line():
    p = one_problem("[totals]\nheadcount = 206\nbudget = \n")
    assert p.row == 3
    assert p.message.startswith("not valid TOML: ") and "line 3" in p.message
    assert str(p).startswith("s.toml, row 3: not valid TOML")


def test_huge_integer_is_an_input_error_not_a_crash():
    p = one_problem("[totals]\nheadcount = " + "9" * 400 + "\n")
    assert p.column == "totals.headcount" and p.message.endswith("expected a finite number")
    p = one_problem("[totals]\nheadcount = " + "9" * 5000 + "\n")  # Python's int limit
    assert p.message.startswith("not valid TOML")


@pytest.mark.parametrize(("text", "column", "message"), [
    ("[weight]\nmarket_potential = 0.4\n", "weight",
     "unknown key 'weight' (did you mean 'weights'?); expected one of: totals, weights, "
     "indicators, scoring, high_potential, limits, pools, groups, years, phasing, thresholds, "
     "replan"),
    ("[weights]\nmarket_potental = 0.4\n", "weights.market_potental",
     "unknown key 'market_potental' (did you mean 'market_potential'?); expected one of: "
     "market_potential, customer_value, internal_capability"),
    ("[limits]\nmax_chang = 0.3\n", "limits.max_chang",
     "unknown key 'max_chang' (did you mean 'max_change'?); expected one of: max_change, "
     "budget_max_change, headcount_max_change"),
    ("[high_potential]\nshares = 0.6\n", "high_potential.shares",
     "unknown key 'shares' (did you mean 'share'?); expected one of: share, rule, threshold"),
    ("[indicators.growth_rate]\nweigth = 2\n", "indicators.growth_rate.weigth",
     "unknown key 'weigth' (did you mean 'weight'?); expected one of: dimension, direction, "
     "weight"),
    ("[indicators.market_sise]\nweight = 2\n", "indicators.market_sise.dimension",
     "a new indicator needs a dimension (did you mean 'market_size'?); expected one of: "
     "market_potential, customer_value, internal_capability"),
])
def test_unknown_keys_with_suggestion(text, column, message):
    p = one_problem(text)
    assert (p.row, p.column, p.message) == (None, column, message)


@pytest.mark.parametrize("dim", DIMENSIONS)
def test_negative_weight(dim):
    p = one_problem(f"[weights]\n{dim} = -0.4\n")
    assert (p.column, p.message) == (f"weights.{dim}", "found -0.4; expected a weight ≥ 0")


def test_negative_indicator_weight():
    p = one_problem("[indicators.growth_rate]\nweight = -1\n")
    assert (p.column, p.message) == ("indicators.growth_rate.weight",
                                     "found -1; expected a weight ≥ 0")


def test_all_weights_zero():
    p = one_problem("[weights]\nmarket_potential = 0\ncustomer_value = 0.0\n"
                    "internal_capability = 0\n")
    assert (p.column, p.message) == (
        "weights", "all dimension weights are 0; expected at least one weight > 0")


@pytest.mark.parametrize("value", ["1.5", "-0.1", "60", '"60%"', "true"])
def test_share_outside_0_1(value):
    p = one_problem(f"[high_potential]\nshare = {value}\n")
    assert p.column == "high_potential.share"
    assert p.message.endswith("expected a share between 0 and 1 (0.60 = 60 %)")
    assert p.message.startswith("found ")


@pytest.mark.parametrize("value", ["0", "0.0", "-0.1", "1.5", "1.0000001"])
def test_floor_outside_0_1(value):
    p = one_problem(f"[scoring]\nfloor = {value}\n")
    assert (p.column, p.message) == ("scoring.floor",
                                     f"found {value}; expected a floor with 0 < floor ≤ 1")


def test_bad_rule():
    p = one_problem('[high_potential]\nrule = "colum"\n')
    assert (p.column, p.message) == ("high_potential.rule",
                                     "found 'colum'; expected \"column\" or \"threshold\"")


def test_bad_threshold():
    p = one_problem("[high_potential]\nthreshold = 1.2\n")
    assert p.message == ("found 1.2; expected a threshold between 0 and 1 on the "
                         "market-potential score")


def test_bad_direction_and_dimension():
    problems = problems_of('[indicators.competition_intensity]\ndirection = "lowest"\n'
                           '[indicators.nps]\ndimension = "customer_valu"\n')
    assert [(p.column, p.message) for p in problems] == [
        ("indicators.competition_intensity.direction",
         "found 'lowest'; expected \"higher\" or \"lower\""),
        ("indicators.nps.dimension",
         "found 'customer_valu' (did you mean 'customer_value'?); expected one of: "
         "market_potential, customer_value, internal_capability"),
    ]


@pytest.mark.parametrize(("text", "column", "message"), [
    ("headcount = 206.5", "totals.headcount", "found 206.5; expected a whole number"),
    ("headcount = -1", "totals.headcount", "found -1; expected a whole number of people ≥ 0"),
    ('headcount = "206"', "totals.headcount", "found '206'; expected a whole number of people ≥ 0"),
    ("budget = -5", "totals.budget", "found -5; expected an amount ≥ 0"),
    ("budget = inf", "totals.budget", "found inf; expected a finite number"),
    ("budget = nan", "totals.budget", "found nan; expected a finite number"),
])
def test_bad_totals(text, column, message):
    p = one_problem(f"[totals]\n{text}\n")
    assert (p.column, p.message) == (column, message)


def test_negative_change_limit():
    p = one_problem("[limits]\nbudget_max_change = -0.3\n")
    assert (p.column, p.message) == ("limits.budget_max_change",
                                     "found -0.3; expected a change limit ≥ 0 (0.30 = ±30 %)")


def test_section_that_is_not_a_table():
    p = one_problem("weights = 3\n")
    assert (p.column, p.message) == ("weights", "expected a table [weights]")


def test_all_problems_at_once():
    problems = problems_of("[weight]\n[scoring]\nfloor = 0\n[high_potential]\nshare = 2\n")
    assert [p.column for p in problems] == ["weight", "scoring.floor", "high_potential.share"]


@pytest.mark.parametrize(("group", "problems"), [
    ('name = "W"\nmin_share = 0.2', [
        ("groups[1]", "choose members by exactly one of: regions = [...]; column = \"...\" with "
                      "values = [...]; score = \"market_potential\" with min_score = 0.5")]),
    ('name = "W"\nmin_share = 0.5\nmax_share = 0.2\nregions = ["a"]', [
        ("groups[1].min_share", "min_share 0.5 is above max_share 0.2")]),
    ('name = ""\npools = ["people"]\nregions = ["a"]', [
        ("groups[1].name", "expected a non-empty name, e.g. name = \"West war zone\""),
        ("groups[1].pools", "found ['people']; expected \"headcount\", \"budget\" or both"),
        ("groups[1]", "a group rule needs min_share and/or max_share (or min_amount and/or "
                      "max_amount)")]),
    ('name = "W"\nmin_share = 1.5\nregions = ["a"]', [
        ("groups[1].min_share", "found 1.5; expected a share between 0 and 1")]),
    ('name = "W"\nmin_share = 0.5\ncolumn = "war_zone"', [
        ("groups[1].values", "expected a list of the column's values that make a member")]),
    ('name = "W"\nmin_share = 0.5\nregion = ["a"]\nregions = ["a"]', [
        ("groups[1].region", "unknown key 'region' (did you mean 'regions'?); expected one of: "
                             "name, pools, pool, min_share, max_share, min_amount, max_amount, "
                             "per, regions, column, values, score, min_score")]),
    ('name = "W"\nmin_share = 0.5\nscore = "market"\nmin_score = 0.5', [
        ("groups[1].score", "found 'market'; expected one of: market_potential, customer_value, "
                            "internal_capability, score")]),
])
def test_bad_group_rules(group, problems):
    found = problems_of(f"[[groups]]\n{group}\n")
    assert [(p.column, p.message) for p in found] == problems


def test_group_names_must_be_unique():
    p = one_problem('[[groups]]\nname = "W"\nmin_share = 0.5\nregions = ["a"]\n'
                    '[[groups]]\nname = "W"\nmax_share = 0.5\nregions = ["b"]\n')
    assert (p.column, p.message) == ("groups", "the group name 'W' is used twice; expected "
                                               "unique names")


# --------------------------------------------------------------------------- files

def test_load_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}: cannot read the file (No such file or directory)"]


def test_load_non_utf8_and_bom(tmp_path):
    # TOML is UTF-8; a GB18030 file (Notepad on a Chinese Windows) is read with a note
    gbk = tmp_path / "gbk.toml"
    gbk.write_bytes("# 方案\n[totals]\nheadcount = 206\n".encode("gbk"))
    read = load_scenario(gbk)
    assert read.headcount_total == 206
    assert any("GB18030" in n.en for n in read.notes)
    good = tmp_path / "bom.toml"
    good.write_bytes("# 方案\n[totals]\nheadcount = 206\n".encode("utf-8-sig"))
    assert load_scenario(good).headcount_total == 206


def test_problem_names_the_file_as_given(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[scoring]\nfloor = 0\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_scenario(str(path))
    assert str(info.value) == f"{path}, column 'scoring.floor': found 0; expected a floor " \
                              f"with 0 < floor ≤ 1"


# --------------------------------------------------------------------------- round trip

def test_round_trip_default():
    assert scenario_from_text(scenario_to_toml(Scenario())) == Scenario()


@pytest.mark.parametrize("name", ["scenario.toml", "groups.toml"])
def test_round_trip_bundled(name):
    s = load_scenario(INPUTS / name)
    assert scenario_from_text(scenario_to_toml(s)) == s


def test_round_trip_everything():
    s = Scenario(
        headcount_total=0, budget_total=1e15,
        weights={"market_potential": 0.1 + 0.2, "customer_value": 0.0,
                 "internal_capability": 1 / 3},
        indicators={**Scenario().indicators,
                    "competition_intensity": Indicator("market_potential", "higher", 0.0),
                    "客户密度": Indicator("market_potential", "lower", 2.5),
                    'odd "name"': Indicator("internal_capability", "higher", 1e-7)},
        floor=1.0, hp_share=1.0, hp_rule="threshold", hp_threshold=0.0,
        max_change=0.0, headcount_max_change=2.0, budget_max_change=0.125,
        groups=(GroupRule("西区 \"战区\"", ("headcount",), 0.15, 0.4, column="war_zone",
                          values=("西区", "x\\y")),
                GroupRule("Outside", ("budget",), None, 0.9, regions=("华北", "西南")),
                GroupRule("Top", ("headcount", "budget"), 0.2, None, score="score",
                          min_score=0.75)),
    )
    assert scenario_from_text(scenario_to_toml(s)) == s


_share = st.floats(0, 1)
_weight = st.floats(0, 1e6)


@settings(max_examples=200, deadline=None)
@given(
    headcount=st.none() | st.integers(0, 10**9),
    budget=st.none() | st.floats(0, 1e15),
    weights=st.tuples(_weight, _weight, _weight).filter(lambda w: any(w)),
    floor=st.floats(0, 1).filter(lambda f: f > 0),
    share=_share, threshold=_share, rule=st.sampled_from([None, "column", "threshold"]),
    limit=st.none() | st.floats(0, 10),
    ind_weight=_weight,
    lo=st.none() | _share,
)
def test_round_trip_property(headcount, budget, weights, floor, share, threshold, rule, limit,
                             ind_weight, lo):
    s = Scenario(
        headcount_total=headcount, budget_total=budget,
        weights=dict(zip(DIMENSIONS, weights, strict=True)),
        indicators={**Scenario().indicators,
                    "growth_rate": Indicator("market_potential", "higher", ind_weight)},
        floor=floor, hp_share=share, hp_rule=rule, hp_threshold=threshold,
        budget_max_change=limit,
        groups=(GroupRule("g", ("budget",), lo, 1.0 if lo is None else None,
                          regions=("华东",)),),
    )
    assert scenario_from_text(scenario_to_toml(s)) == s

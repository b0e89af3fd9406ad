"""Roles and budget lines: many pools (issue 10, engine side).

Each added pool is checked against the independent reference (tests/reference.py): its
own dimension weights, its eligibility (an ineligible region gets 0 and is out of the
objective), its own high-potential share, bounds and change limit, and group rules in
amounts (including "one per value of a column"). Bad pool definitions, in the scenario or
against the regions table, are input errors naming the pool and the key.
"""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.errors import InputError
from optimizer.flow.plan import run_plan
from optimizer.inputs.regions import read_regions, regions_from_bytes
from optimizer.inputs.scenario import Scenario
from optimizer.inputs.scenario_read import load_scenario, scenario_from_text
from optimizer.inputs.scenario_write import scenario_to_dict, scenario_to_toml
from optimizer.model.result import Status
from optimizer.report.table import allocation_table
from tests.reference import (
    DEFAULT_INDICATORS,
    ref_bounds,
    ref_eligible,
    ref_group_optimum,
    ref_need,
    ref_partition_optimum,
    ref_partition_rounding_cost,
    ref_pool_weights,
    ref_scores,
    ref_waterfill,
    ref_whole_people,
)
from tests.test_rules import lp_feasible

REPO = Path(__file__).resolve().parents[1]
INPUTS = REPO / "inputs"
ROLES = INPUTS / "roles_2024.toml"
REGIONS = INPUTS / "regions.csv"
BUILTIN_COLUMNS = [
    "region", "high_potential", "market_potential", "customer_value", "internal_capability",
    "score",
    "current_headcount", "headcount", "headcount_change", "headcount_change_pct",
    "headcount_target",
    "current_budget", "budget", "budget_change", "budget_change_pct", "budget_target",
]
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
CJK = re.compile(r"[\u4e00-\u9fff]")


def problems_of(text: str) -> list:
    with pytest.raises(InputError) as e:
        scenario_from_text(text)
    return e.value.problems


def has_problem(problems, column: str, *words: str) -> bool:
    """Whether a problem sits at `column` and its message holds every word, with a Chinese
    message too."""
    for p in problems:
        if p.column == column and all(w in p.message for w in words):
            assert p.message_zh and CJK.search(p.message_zh), p
            return True
    return False


# --------------------------------------------------------------------------- the scenario

POOL = '[[pools]]\nname = "csm"\nkind = "headcount"\ntotal = 15\n'


@pytest.mark.parametrize(("text", "column", "words"), [
    ('[[pools]]\nname = "csm"\nkind = "people"\ntotal = 15\n', "pools.csm.kind",
     ("'people'", "headcount", "budget")),
    ('[[pools]]\nname = "csm"\nkind = "headcout"\ntotal = 15\n', "pools.csm.kind",
     ("did you mean 'headcount'",)),
    ('[[pools]]\nname = "csm"\ntotal = 15\n', "pools.csm.kind", ("no kind",)),
    (POOL + POOL, "pools.csm.name", ("'csm'", "twice")),
    ('[[pools]]\nname = "budget"\nkind = "budget"\ntotal = 1\n', "pools.budget.name",
     ("built-in",)),
    ('[[pools]]\nname = "headcount_change"\nkind = "budget"\ntotal = 1\n',
     "pools.headcount_change.name", ("clashes", "headcount_change")),
    ('[[pools]]\nname = "score"\nkind = "budget"\ntotal = 1\n', "pools.score.name",
     ("clashes", "'score'")),
    (POOL + '[[pools]]\nname = "csm_change"\nkind = "budget"\ntotal = 1\n',
     "pools.csm_change.name", ("clashes", "'csm_change'", "'csm'")),
    ('[[pools]]\nname = "CSM"\nkind = "budget"\ntotal = 1\n', "pools[1].name",
     ("'CSM'", "lower-case")),
    ('[[pools]]\nkind = "budget"\ntotal = 1\n', "pools[1].name", ("needs a name",)),
    ('[[pools]]\nname = "csm"\nkind = "headcount"\n', "pools.csm.total", ("needs its total",)),
    ('[[pools]]\nname = "csm"\nkind = "headcount"\ntotal = 15.5\n', "pools.csm.total",
     ("15.5", "whole")),
    ('[[pools]]\nname = "csm"\nkind = "headcount"\ntotal = -1\n', "pools.csm.total",
     ("-1",)),
    ('[[pools]]\nname = "fund"\nkind = "budget"\ntotal = 1\nunit_cost = 5\n',
     "pools.fund.unit_cost", ("headcount pools only",)),
    (POOL + 'unit_cost = -5\n', "pools.csm.unit_cost", ("-5",)),
    (POOL + 'eligible = ["华东"]\neligible_column = "war_zone"\neligible_values = ["西区"]\n',
     "pools.csm.eligible", ("not both",)),
    (POOL + 'eligible = []\n', "pools.csm.eligible", ("non-empty list",)),
    (POOL + 'eligible_values = ["西区"]\n', "pools.csm.eligible_values",
     ("needs eligible_column",)),
    (POOL + 'eligible_column = "war_zone"\n', "pools.csm.eligible_values", ("list",)),
    (POOL + 'max_chnage = 0.3\n', "pools.csm.max_chnage", ("did you mean 'max_change'",)),
    (POOL + 'max_change = -0.3\n', "pools.csm.max_change", ("-0.3",)),
    (POOL + 'hp_share = 1.5\n', "pools.csm.hp_share", ("1.5",)),
    (POOL + 'current = 3\n', "pools.csm.current", ("column",)),
    (POOL + 'label = ""\n', "pools.csm.label", ("display name",)),
    (POOL + '[pools.weights]\ncustomer_valu = 1\n', "pools.csm.weights.customer_valu",
     ("did you mean 'customer_value'",)),
    (POOL + '[pools.weights]\ncustomer_value = -1\n', "pools.csm.weights.customer_value",
     ("-1",)),
    ('[weights]\nmarket_potential = 1\ncustomer_value = 0\ninternal_capability = 0\n' + POOL
     + '[pools.weights]\nmarket_potential = 0\n', "pools.csm.weights", ("all dimension",)),
    (POOL + 'weights = 3\n', "pools.csm.weights", ("table",)),
    ('pools = 3\n', "pools", ("[[pools]]",)),
    (POOL + '[[groups]]\nname = "g"\npools = ["cms"]\nregions = ["a"]\nmin_amount = 1\n',
     "groups[1].pools", ("'cms'", "did you mean 'csm'", "csm")),
    (POOL + '[[groups]]\nname = "g"\npools = ["csm"]\nregions = ["a"]\nmin_amount = 1.5\n',
     "groups[1].min_amount", ("1.5", "whole")),
    (POOL + '[[groups]]\nname = "g"\npools = ["csm"]\nper = "war_zone"\nmin_amount = 2\n'
     'max_amount = 1\n', "groups[1].min_amount", ("above max_amount",)),
    (POOL + '[[groups]]\nname = "g"\npools = ["csm"]\nper = 3\nmin_amount = 1\n',
     "groups[1].per", ("column name",)),
    (POOL + '[[years]]\nyear = 2024\ncsm = 2.5\n', "years[1].csm", ("2.5", "whole")),
    (POOL + '[[years]]\nyear = 2024\ncms = 2\n', "years[1].cms", ("did you mean 'csm'",)),
    (POOL + '[phasing]\ncsm = [0.25, 0.25, 0.25, 0.25]\n', "phasing.csm",
     ("headcount pool",)),
])
def test_bad_pool_definitions_name_the_pool_and_the_key(text, column, words):
    found = problems_of(text)
    assert has_problem(found, column, *words), [(p.column, p.message) for p in found]


def test_every_problem_of_a_pool_is_reported_at_once():
    found = problems_of('[[pools]]\nname = "csm"\nkind = "people"\ntotal = 1.5\ncolour = 1\n'
                        '[[pools]]\nname = "fund"\nkind = "budget"\ntotal = 1\nunit_cost = 2\n')
    assert {p.column for p in found} >= {"pools.csm.kind", "pools.csm.colour",
                                         "pools.fund.unit_cost"}


def test_a_group_naming_a_broken_pool_adds_no_second_problem():
    found = problems_of('[[pools]]\nname = "csm"\nkind = "people"\ntotal = 1\n'
                        '[[groups]]\nname = "g"\npools = ["csm"]\nregions = ["a"]\n'
                        'min_amount = 1\n[[years]]\nyear = 2024\ncsm = 1\n')
    assert [p.column for p in found] == ["pools.csm.kind"]


FULL = '''
[weights]
market_potential = 2
[[pools]]
name = "csm"
label = "客户成功经理"
kind = "headcount"
total = 15
current = "current_csm"
min = "min_csm"
max = "max_csm"
max_change = 0.3
unit_cost = 600_000
eligible = ["华东", "华南"]
hp_share = 0.3
[pools.weights]
customer_value = 0.7
[[pools]]
name = "fund"
kind = "budget"
total = 10_000_000.5
eligible_column = "war_zone"
eligible_values = ["西区"]
[[groups]]
name = "one per zone"
pools = ["csm"]
per = "war_zone"
min_amount = 1
max_amount = 3
[[groups]]
name = "fund share"
pools = ["fund", "budget"]
regions = ["西南"]
min_share = 0.1
max_amount = 5_000_000.25
[[years]]
year = 2024
csm = 5
fund = 2_000_000.5
[[years]]
year = 2025
'''


def test_pools_parse_into_the_interface():
    s = scenario_from_text(FULL)
    assert s.pool_names() == ("headcount", "budget", "csm", "fund")
    csm, fund = s.pools
    assert (csm.name, csm.kind, csm.total, csm.label, csm.display()) == (
        "csm", "headcount", 15, "客户成功经理", "客户成功经理")
    assert (csm.current, csm.min, csm.max, csm.max_change, csm.unit_cost) == (
        "current_csm", "min_csm", "max_csm", 0.3, 600_000)
    assert csm.eligible == ("华东", "华南") and csm.hp_share == 0.3
    assert csm.weights == {"customer_value": 0.7}
    assert (fund.display(), fund.eligible_column, fund.eligible_values) == (
        "fund", "war_zone", ("西区",))
    assert s.pool_spec("csm") is csm and s.pool_spec("headcount") is None
    assert s.total("csm") == 15 and s.total("fund") == 10_000_000.5
    assert s.change_limit("csm") == 0.3 and s.change_limit("fund") is None
    assert s.pool_hp_share("csm") == 0.3 and s.pool_hp_share("fund") == s.hp_share
    # partial weights: a dimension the pool does not name keeps [weights]; relative, sum 1
    w = s.pool_weights("csm")
    raw = {"market_potential": 2.0, "customer_value": 0.7, "internal_capability": 1 / 3}
    assert w == pytest.approx({d: v / sum(raw.values()) for d, v in raw.items()})
    assert sum(s.pool_weights("fund").values()) == pytest.approx(1.0)
    g1, g2 = s.groups
    assert (g1.pools, g1.per, g1.min_amount, g1.max_amount) == (("csm",), "war_zone", 1, 3)
    assert (g2.pools, g2.min_share, g2.max_amount) == (("budget", "fund"), 0.1, 5_000_000.25)
    assert s.years[0].totals == {"csm": 5, "fund": 2_000_000.5} and s.years[1].totals == {}


def test_limits_do_not_apply_to_added_pools():
    s = scenario_from_text("[limits]\nmax_change = 0.2\n" + POOL)
    assert s.change_limit("headcount") == 0.2 and s.change_limit("csm") is None


def test_round_trip_of_pools_and_the_new_group_keys():
    s = scenario_from_text(FULL)
    text = scenario_to_toml(s)
    assert scenario_from_text(text) == s
    d = scenario_to_dict(s)
    assert [p["name"] for p in d["pools"]] == ["csm", "fund"]
    assert d["pools"][0]["weights"] == {"customer_value": 0.7}
    assert d["groups"][0]["per"] == "war_zone" and d["years"][0]["csm"] == 5
    # a scenario without added pools keeps its document: no "pools" key
    assert "pools" not in scenario_to_dict(load_scenario(INPUTS / "scenario.toml"))
    roles = load_scenario(ROLES)
    assert scenario_from_text(scenario_to_toml(roles)) == roles


# --------------------------------------------------------------------------- the table

def csv(rows: list[list[str]]) -> bytes:
    return ("\n".join(",".join(r) for r in rows) + "\n").encode()


HEADER = ["region", "market_size", "current_headcount", "current_budget", "high_potential",
          "war_zone", "current_csm", "max_csm", "current_fund"]
ROWS = [["东一", "100", "10", "1000", "否", "东区", "2", "", "1万"],
        ["西一", "300", "20", "2000", "是", "西区", "0", "5", "¥2000"],
        ["西二", "200", "30", "3000", "是", "西区", "1", "4", "0"]]
ONE = ('[weights]\nmarket_potential = 1\ncustomer_value = 0\ninternal_capability = 0\n'
       '[high_potential]\nrule = "column"\nshare = 0\n'
       + "".join(f"[indicators.{n}]\nweight = 0\n" for n in DEFAULT_INDICATORS
                 if n not in ("market_size", "customer_ltv")))


def read(rows: list[list[str]], pools: str, header: list[str] = HEADER):
    s = scenario_from_text(ONE + pools)
    return s, regions_from_bytes(csv([header, *rows]), "t.csv", s)


def table_problems(rows, pools, header=HEADER):
    with pytest.raises(InputError) as e:
        read(rows, pools, header)
    return e.value.problems


def test_pool_columns_are_read_with_the_money_and_whole_number_parsers():
    _, t = read(ROWS, '[[pools]]\nname = "csm"\nkind = "headcount"\ntotal = 3\n'
                'current = "current_csm"\nmax = "max_csm"\n'
                '[[pools]]\nname = "fund"\nkind = "budget"\ntotal = 5\ncurrent = "current_fund"\n')
    assert t["current_csm"].tolist() == [2, 0, 1]
    assert np.isnan(t["max_csm"][0]) and t["max_csm"].tolist()[1:] == [5, 4]
    assert t["current_fund"].tolist() == [10_000.0, 2_000.0, 0.0]


@pytest.mark.parametrize(("rows", "pools", "row", "column", "words"), [
    (ROWS, '[[pools]]\nname = "csm"\nkind = "headcount"\ntotal = 3\ncurrent = "current_cms"\n',
     None, "current_cms", ("missing column 'current_cms'", "did you mean 'current_csm'",
                           "pools.csm.current")),
    (ROWS, '[[pools]]\nname = "csm"\nkind = "headcount"\ntotal = 3\nmax = "maximum"\n',
     None, "maximum", ("missing column", "pools.csm.max")),
    ([ROWS[0], ["西一", "300", "20", "2000", "是", "西区", "two", "5", "0"], ROWS[2]],
     '[[pools]]\nname = "csm"\nkind = "headcount"\ntotal = 3\ncurrent = "current_csm"\n',
     3, "current_csm", ("'two'", "pools.csm.current")),
    ([ROWS[0], ["西一", "300", "20", "2000", "是", "西区", "1.5", "5", "0"], ROWS[2]],
     '[[pools]]\nname = "csm"\nkind = "headcount"\ntotal = 3\ncurrent = "current_csm"\n',
     3, "current_csm", ("'1.5'", "whole number", "pools.csm.current")),
    ([ROWS[0], ["西一", "300", "20", "2000", "是", "西区", "1", "2.5", "0"], ROWS[2]],
     '[[pools]]\nname = "csm"\nkind = "headcount"\ntotal = 3\nmax = "max_csm"\n',
     3, "max_csm", ("'2.5'", "pools.csm.max")),
    ([ROWS[0], ["西一", "300", "20", "2000", "是", "西区", "1", "5", "-3"], ROWS[2]],
     '[[pools]]\nname = "fund"\nkind = "budget"\ntotal = 3\ncurrent = "current_fund"\n',
     3, "current_fund", ("'-3'", "pools.fund.current")),
    ([ROWS[0], ["西一", "300", "20", "2000", "是", "西区", "", "5", "0"], ROWS[2]],
     '[[pools]]\nname = "csm"\nkind = "headcount"\ntotal = 3\ncurrent = "current_csm"\n',
     3, "current_csm", ("blank", "pools.csm.current")),
    ([ROWS[0], ["西一", "300", "20", "2000", "是", "西区", "9", "5", "0"], ROWS[2]],
     '[[pools]]\nname = "csm"\nkind = "headcount"\ntotal = 3\nmin = "current_csm"\n'
     'max = "max_csm"\n', 3, "current_csm", ("pools.csm.min", "above", "pools.csm.max")),
    (ROWS, '[[pools]]\nname = "csm"\nkind = "headcount"\ntotal = 3\neligible = ["东1", "西一"]\n',
     None, "region", ("'东1'", "pools.csm.eligible", "not in this table")),
    (ROWS, '[[pools]]\nname = "csm"\nkind = "headcount"\ntotal = 3\n'
     'eligible_column = "zone"\neligible_values = ["西区"]\n',
     None, "zone", ("missing column 'zone'", "pools.csm.eligible_column")),
    (ROWS, '[[pools]]\nname = "csm"\nkind = "headcount"\ntotal = 3\n'
     'eligible_column = "war_zone"\neligible_values = ["西 区"]\n',
     None, "war_zone", ("no region has war_zone = '西 区'", "pools.csm.eligible_values")),
    (ROWS, '[[pools]]\nname = "csm"\nkind = "headcount"\ntotal = 3\n'
     '[[groups]]\nname = "one each"\npools = ["csm"]\nper = "warzone"\nmin_amount = 1\n',
     None, "warzone", ("missing column 'warzone'", "did you mean 'war_zone'", "one each")),
])
def test_pool_problems_in_the_table_name_the_pool_key_file_row_and_column(
        rows, pools, row, column, words):
    found = table_problems(rows, pools)
    hit = [p for p in found if p.column == column and all(w in p.message for w in words)]
    assert hit, [(p.row, p.column, p.message) for p in found]
    assert hit[0].file == "t.csv" and hit[0].row == row
    assert hit[0].message_zh and CJK.search(hit[0].message_zh)


# --------------------------------------------------------------------------- the sample

def roles_run():
    s = load_scenario(ROLES)
    regions = read_regions(REGIONS, s)
    return s, regions, run_plan(regions, s)


@pytest.fixture(scope="module")
def roles():
    return roles_run()


def indicator_columns(regions) -> dict[str, list[float]]:
    return {n: regions[n].astype(float).tolist() for n in DEFAULT_INDICATORS if n in regions}


def test_roles_sample_every_pool_against_the_reference(roles):
    s, regions, res = roles
    doc = tomllib.loads(ROLES.read_text(encoding="utf-8"))
    assert res.status == Status.OPTIMAL
    assert list(res.pools) == ["headcount", "budget", *[p["name"] for p in doc["pools"]]]
    names = regions["region"].tolist()
    hp = [str(v).strip() == "是" for v in
          read_text_column(REGIONS, "high_potential")]
    zone = read_text_column(REGIONS, "war_zone")
    base_w = doc["weights"]
    rho = doc["high_potential"]["share"]
    cols = indicator_columns(regions)
    for spec in doc["pools"]:
        name = spec["name"]
        pr = res.pools[name]
        integer = spec["kind"] == "headcount"
        assert pr.kind == spec["kind"] and pr.integer == integer
        assert pr.label.en == pr.label.zh == spec.get("label", name)
        weights = ref_pool_weights(base_w, spec.get("weights"))
        weight = [row["weight"] for row in ref_scores(cols, weights=weights,
                                                       floor=doc["scoring"]["floor"])]
        elig = ref_eligible(names, spec.get("eligible"))
        n = len(names)
        lo, hi = [0.0] * n, [math.inf] * n
        lo = [a if e else 0.0 for a, e in zip(lo, elig, strict=True)]
        hi = [b if e else 0.0 for b, e in zip(hi, elig, strict=True)]
        total = float(spec["total"])
        share = spec.get("hp_share", rho)
        need = ref_need(total, share, integer)
        if name == "director":
            # one per war zone: a partition with exactly 1 in each part
            parts = [["东区", "南区", "北区", "西区"].index(z) for z in zone]
            limits = {p: (1.0, 1.0) for p in range(4)}
            x = ref_partition_optimum(weight, lo, hi, parts, total, limits, elig)
            # the sample's fact: the war-zone rule already meets the 25 % rule
            assert sum(v for v, h in zip(x, hp, strict=True) if h) >= need - 1e-9
        else:
            x = ref_group_optimum(weight, lo, hi, hp, total, need, None, elig)
        assert pr.exact == pytest.approx(x, rel=1e-6, abs=1e-6 * max(1.0, total)), name
        alloc = np.asarray(pr.allocation, float)
        assert np.all(alloc[~np.array(elig)] == 0)
        if name == "director":
            assert [int(alloc[[z == v for v in zone]].sum()) for z in ("东区", "南区", "北区",
                                                                       "西区")] == [1, 1, 1, 1]
            cost = float(np.abs(alloc - pr.exact).sum())
            assert cost == pytest.approx(
                ref_partition_rounding_cost(pr.exact.tolist(), int(total), parts, limits),
                abs=1e-6)
        elif integer:
            assert alloc.tolist() == ref_whole_people(pr.exact.tolist(), int(total),
                                                      pr_weight(res, name), hp, share)
        else:
            assert np.all(np.abs(alloc - pr.exact) < 0.01 + 1e-9)
            assert round(alloc.sum() * 100) == round(total * 100)
        if "unit_cost" in spec:
            assert pr.unit_cost == spec["unit_cost"]
            assert pr.cost is not None and pr.cost.tolist() == (alloc * spec["unit_cost"]).tolist()
        else:
            assert pr.cost is None
        assert (pr.eligible is None) == all(elig)


def pr_weight(res, name: str) -> list[float]:
    """The weights the engine used (ties of the rounding go to the higher S)."""
    from optimizer.model.pools import build_pools

    pools = build_pools(res.regions, res.scores, res.high_potential, res.scenario)
    return pools[name].weight.tolist()


def read_text_column(path: Path, column: str) -> list[str]:
    import csv as csvmod

    with path.open(encoding="utf-8-sig", newline="") as f:
        return [row[column] for row in csvmod.DictReader(f)]


def test_roles_sample_rule_names_and_labels(roles):
    _, _, res = roles
    from optimizer.model.pools import build_pools

    pools = build_pools(res.regions, res.scores, res.high_potential, res.scenario)
    rules = {r.name: r for r in pools["director"].rules}
    assert list(rules) == ["hp_share_director", *[f"group_1_{k}_director" for k in (1, 2, 3, 4)]]
    east = rules["group_1_1_director"]
    assert east.label.en == "the rule 'one director per war zone: 东区' ≥ 1 and ≤ 1"
    assert east.label.zh == "“one director per war zone: 东区” ≥ 1 且 ≤ 1 规则"
    assert east.mask.tolist() == [z == "东区" for z in read_text_column(REGIONS, "war_zone")]
    # the other pools do not carry the director's rule
    assert [r.name for r in pools["csm"].rules] == ["hp_share_csm"]


# --------------------------------------------------------------------------- no [[pools]]

def test_a_scenario_without_pools_gives_the_built_in_allocation():
    s = load_scenario(INPUTS / "scenario.toml")
    regions = read_regions(REGIONS, s)
    res = run_plan(regions, s)
    assert list(res.pools) == ["headcount", "budget"]
    assert list(allocation_table(res).columns) == BUILTIN_COLUMNS
    doc = tomllib.loads((INPUTS / "scenario.toml").read_text(encoding="utf-8"))
    cols = indicator_columns(regions)
    weight = [row["weight"] for row in ref_scores(cols, weights=doc.get("weights"),
                                                   floor=doc.get("scoring", {}).get("floor",
                                                                                    0.1))]
    hp = [str(v).strip() == "是" for v in read_text_column(REGIONS, "high_potential")]
    rho = doc.get("high_potential", {}).get("share", 0.6)
    for p in ("headcount", "budget"):
        integer = p == "headcount"
        pr = res.pools[p]
        current = regions[f"current_{p}"].astype(float).tolist()
        lo, hi = ref_bounds(current, None, None, s.change_limit(p), integer)
        total = float(res.scenario.total(p))
        x = ref_group_optimum(weight, lo, hi, hp, total, ref_need(total, rho, integer), None)
        assert pr.exact == pytest.approx(x, rel=1e-6)
        if integer:
            assert pr.allocation.tolist() == ref_whole_people(pr.exact.tolist(), int(total),
                                                              weight, hp, rho)
        else:
            assert np.all(np.abs(pr.allocation - pr.exact) < 0.01 + 1e-9)
        assert pr.eligible is None and pr.cost is None and pr.unit_cost is None
        assert pr.label.en == p and pr.kind == p


# --------------------------------------------------------------------------- explanations

def sample_with(extra: str):
    s = scenario_from_text(ROLES.read_text(encoding="utf-8") + extra)
    rows = [r.split(",") for r in REGIONS.read_text(encoding="utf-8-sig").splitlines()]
    rows[0] += ["max_cap", "current_lim"]
    for r in rows[1:]:
        r += ["300万" if r[0] in ("西南", "西北") else "", "2"]
    regions = regions_from_bytes(csv(rows), "regions.csv", s)
    return s, regions, run_plan(regions, s)


def test_a_pool_whose_eligible_regions_are_not_high_potential_says_so():
    s, regions, res = sample_with('[[pools]]\nname = "east_fund"\nlabel = "华东专项"\n'
                                  'kind = "budget"\ntotal = 1_000_000\n'
                                  'eligible = ["华东", "华南"]\n')
    assert res.status == Status.INFEASIBLE
    assert all(p.status == Status.OPTIMAL for n, p in res.pools.items() if n != "east_fund")
    d = res.pools["east_fund"].diagnosis
    assert d is not None
    for text in ("华东专项", "only 华东 and 华南 may receive it", "none of them is high-potential",
                 "hp_share = 0"):
        assert text in d.text.en
    for text in ("华东专项", "只有华东、华南可以获得", "没有高潜力区域", "hp_share 设为 0"):
        assert text in d.text.zh
    assert "eligible_east_fund" in d.conflicts
    share = [r for r in res.relaxations if r.kind == "share"]
    assert share, res.relaxations
    relaxed = share[0].scenario
    # the pool's own hp_share is lowered, the others keep the scenario's 60 %
    assert relaxed.pool_hp_share("east_fund") == 0.0 and relaxed.hp_share == s.hp_share
    assert "华东专项" in share[0].text.en and "华东专项" in share[0].text.zh
    again = run_plan(regions, relaxed)
    assert again.status == Status.OPTIMAL


def test_an_eligible_set_too_small_for_the_total_names_the_pool_and_who_may_receive_it():
    _, regions, res = sample_with('[[pools]]\nname = "capped"\n'
                                  'label = "the market expansion fund"\nkind = "budget"\n'
                                  'total = 10_000_000\neligible = ["西南", "西北"]\n'
                                  'max = "max_cap"\n')
    d = res.pools["capped"].diagnosis
    assert d is not None
    assert d.text.en.startswith("the market expansion fund: only 西南 and 西北 may receive it, "
                                "and their limits allow at most 6.00 m")
    assert "只有西南、西北可以获得" in d.text.zh and "600.00 万" in d.text.zh
    totals = [r for r in res.relaxations if r.kind == "totals"]
    assert totals and totals[0].scenario.total("capped") == pytest.approx(6_000_000)
    assert "the market expansion fund" in totals[0].text.en
    assert run_plan(regions, totals[0].scenario).status == Status.OPTIMAL


def test_relaxing_an_added_pools_change_limit_and_amount_rules():
    _, regions, res = sample_with('[[pools]]\nname = "lim"\nkind = "headcount"\ntotal = 40\n'
                                  'current = "current_lim"\nmax_change = 0.5\nhp_share = 0\n')
    limit = [r for r in res.relaxations if r.kind == "change_limit"]
    assert limit and limit[0].scenario.change_limit("lim") == pytest.approx(2.0)
    assert limit[0].scenario.change_limit("headcount") is None
    assert run_plan(regions, limit[0].scenario).status == Status.OPTIMAL
    _, regions, res = sample_with('[[groups]]\nname = "two per zone"\npools = ["director"]\n'
                                  'per = "war_zone"\nmin_amount = 2\n')
    d = res.pools["director"].diagnosis
    assert d is not None and "the regions with war_zone = 南区" in d.text.en
    share = [r for r in res.relaxations if r.kind == "share"]
    assert share and share[0].scenario.groups[1].min_amount == 1
    assert run_plan(regions, share[0].scenario).status == Status.OPTIMAL


def test_ineligible_regions_with_a_current_amount_get_a_note():
    _, regions, res = sample_with('[[pools]]\nname = "lim"\nlabel = "试点"\nkind = "headcount"\n'
                                  'total = 4\ncurrent = "current_lim"\nhp_share = 0\n'
                                  'eligible = ["华东", "华南"]\n')
    assert res.status == Status.OPTIMAL
    notes = [n for n in res.notes if n.en.startswith("试点:")]
    assert len(notes) == 1
    assert "华北" in notes[0].en and "华东" not in notes[0].en and "不在可分配范围内" in notes[0].zh
    assert res.pools["lim"].allocation[2:].tolist() == [0] * 5


# --------------------------------------------------------------------------- properties

ZONES = ("E", "W", "N")


@st.composite
def pool_sets(draw):
    """A small table and 1–3 added pools: each headcount or budget, with or without its own
    weights, eligibility (a list or war_zone values), current column and change limit, a
    max column; either under its own high-potential share or under a war-zone rule in
    amounts (the reference solves both exactly)."""
    n = draw(st.integers(3, 7))
    market = draw(st.lists(st.integers(0, 100), min_size=n, max_size=n))
    ltv = draw(st.lists(st.integers(0, 100), min_size=n, max_size=n))
    hp = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    zone = [draw(st.sampled_from(ZONES)) for _ in range(n)]
    names = [f"R{i}" for i in range(n)]
    pools = []
    for k in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["headcount", "budget"]))
        integer = kind == "headcount"
        unit = 1 if integer else 1000  # budget amounts in thousands of CNY (plus cents)
        p = {"name": f"p{k}", "kind": kind}
        how = draw(st.sampled_from(["all", "list", "column"]))
        if how == "list":
            p["eligible"] = sorted(draw(st.sets(st.sampled_from(names), min_size=1)))
        elif how == "column":
            p["eligible_values"] = sorted(draw(st.sets(st.sampled_from(sorted(set(zone))),
                                                       min_size=1)))
        if draw(st.booleans()):
            p["weights"] = {"market_potential": draw(st.integers(0, 5)),
                            "customer_value": draw(st.integers(1, 5))}
        if draw(st.booleans()):
            p["current"] = [unit * v for v in draw(st.lists(st.integers(0, 20), min_size=n,
                                                             max_size=n))]
            if draw(st.booleans()):
                p["max_change"] = draw(st.sampled_from([0.5, 1.0, 3.0]))
        if draw(st.booleans()):
            p["max"] = [None if v is None else unit * v for v in draw(st.lists(
                st.one_of(st.none(), st.integers(1, 30)), min_size=n, max_size=n))]
        total = draw(st.integers(0, 4 * n))
        p["total"] = total if integer else total * 1000 + draw(st.integers(0, 99)) / 100
        if "current" in p and draw(st.booleans()):  # today's total: today may be a plan
            total = sum(p["current"]) // unit
            p["total"] = total if integer else float(total * 1000)
        p["rule"] = draw(st.sampled_from(["hp", "zones"]))
        if p["rule"] == "hp":
            p["hp_share"] = draw(st.sampled_from([0.0, 0.3, 0.6]))
        else:
            # limits around an equal split of the total over the war zones
            p["hp_share"] = 0.0
            each = total / len(set(zone))
            slack = draw(st.sampled_from([0.0, 0.3, 1.0]))
            p["zone_min"] = unit * max(0, math.floor(each * (1 - slack)) - draw(
                st.integers(0, 1)))
            p["zone_max"] = unit * (math.ceil(each * (1 + slack)) + draw(st.integers(0, 2)))
        pools.append(p)
    return n, market, ltv, hp, zone, pools


def pool_toml(pools) -> str:
    out = [ONE.replace("customer_value = 0", "customer_value = 1")]
    for p in pools:
        lines = [f'[[pools]]\nname = "{p["name"]}"\nkind = "{p["kind"]}"\ntotal = {p["total"]}',
                 f'hp_share = {p["hp_share"]}']
        if "eligible" in p:
            lines.append("eligible = [" + ", ".join(f'"{r}"' for r in p["eligible"]) + "]")
        if "eligible_values" in p:
            lines.append('eligible_column = "war_zone"\neligible_values = ['
                         + ", ".join(f'"{v}"' for v in p["eligible_values"]) + "]")
        if "current" in p:
            lines.append(f'current = "cur_{p["name"]}"')
        if "max_change" in p:
            lines.append(f'max_change = {p["max_change"]}')
        if "max" in p:
            lines.append(f'max = "max_{p["name"]}"')
        if "weights" in p:
            lines.append("[pools.weights]\n" + "\n".join(f"{d} = {v}"
                                                         for d, v in p["weights"].items()))
        out.append("\n".join(lines) + "\n")
    for p in pools:
        if p["rule"] == "zones":
            out.append(f'[[groups]]\nname = "zones {p["name"]}"\npools = ["{p["name"]}"]\n'
                       f'per = "war_zone"\nmin_amount = {p["zone_min"]}\n'
                       f'max_amount = {p["zone_max"]}\n')
    return "\n".join(out)


def pool_table(n, market, ltv, hp, zone, pools) -> bytes:
    header = ["region", "market_size", "customer_ltv", "current_headcount", "current_budget",
              "high_potential", "war_zone"]
    for p in pools:
        if "current" in p:
            header.append(f"cur_{p['name']}")
        if "max" in p:
            header.append(f"max_{p['name']}")
    rows = [header]
    for i in range(n):
        row = [f"R{i}", str(market[i]), str(ltv[i]), "5", "1000", "是" if hp[i] else "否",
               zone[i]]
        for p in pools:
            if "current" in p:
                row.append(str(p["current"][i]))
            if "max" in p:
                row.append("" if p["max"][i] is None else str(p["max"][i]))
        rows.append(row)
    return csv(rows)


@settings(SETTINGS, max_examples=60)
@given(pool_sets())
def test_random_pool_sets_every_pool_against_the_reference(case):
    n, market, ltv, hp, zone, pools = case
    s = scenario_from_text(pool_toml(pools))
    regions = regions_from_bytes(pool_table(*case), "t.csv", s)
    res = run_plan(regions, s, explain=False)
    names = [f"R{i}" for i in range(n)]
    cols = {"market_size": [float(v) for v in market], "customer_ltv": [float(v) for v in ltv]}
    indicators = {"market_size": ("market_potential", "higher", 1.0),
                  "customer_ltv": ("customer_value", "higher", 1.0)}
    base_w = {"market_potential": 1.0, "customer_value": 1.0, "internal_capability": 0.0}
    labels = sorted(set(zone))
    parts = [labels.index(z) for z in zone]
    for p in pools:
        pr = res.pools[p["name"]]
        integer = p["kind"] == "headcount"
        total = float(p["total"])
        elig = ref_eligible(names, p.get("eligible"), zone if "eligible_values" in p else None,
                            p.get("eligible_values"))
        weights = ref_pool_weights(base_w, p.get("weights"))
        weight = [row["weight"] for row in ref_scores(cols, indicators, weights, 0.1)]
        current = [float(v) for v in p.get("current", [0] * n)]
        mx = None if "max" not in p else [None if v is None else float(v) for v in p["max"]]
        lo, hi = ref_bounds(current, None, mx, p.get("max_change"), integer)
        lo = [a if e else 0.0 for a, e in zip(lo, elig, strict=True)]
        hi = [b if e else 0.0 for b, e in zip(hi, elig, strict=True)]
        if p["rule"] == "hp":
            need = ref_need(total, p["hp_share"], integer) if p["hp_share"] > 0 else None
            rules = [("hp", np.array(hp), need, None)] if need is not None else []
            limits = {}
        else:
            limits = {k: (float(p["zone_min"]), float(p["zone_max"])) for k in range(len(labels))}
            rules = [(f"zone {z}", np.array([v == z for v in zone]), *limits[k])
                     for k, z in enumerate(labels)]
        ok = lp_feasible(np.array(lo), np.array(hi), total, rules)
        assert (pr.status == Status.OPTIMAL) == ok, (p, pr.diagnosis)
        if not ok:
            assert pr.diagnosis is not None and pr.diagnosis.text.en and pr.diagnosis.text.zh
            continue
        alloc = np.asarray(pr.allocation, float)
        # every pool meets its total, bounds, eligibility and rules
        if integer:
            assert int(alloc.sum()) == int(total) and np.all(alloc == np.round(alloc))
        else:
            assert round(alloc.sum() * 100) == round(total * 100)
        assert np.all(alloc >= np.array(lo) - 1e-9) and np.all(alloc <= np.array(hi) + 1e-9)
        assert np.all(alloc[~np.array(elig)] == 0), "an ineligible region got something"
        for _, mask, need, cap in rules:
            g = float(alloc[mask].sum())
            assert need is None or g >= need - 1e-6
            assert cap is None or g <= cap + 1e-6
        # never worse than today: where today's allocation is a plan this pool allows,
        # the optimum scores at least as well (Σ S ln x, the same objective)
        cur = np.array(current)
        tol = 1e-9 * max(1.0, total) if integer else 0.01
        today = (abs(cur.sum() - total) <= (tol if integer else 0.005)
                 and bool(np.all(cur >= np.array(lo) - tol))
                 and bool(np.all(cur <= np.array(hi) + tol))
                 and all((need is None or cur[mask].sum() >= need - tol)
                         and (cap is None or cur[mask].sum() <= cap + tol)
                         for _, mask, need, cap in rules))
        assert pr.current_meets_rules == today, (p, today)
        if today:
            assert pr.objective_continuous >= pr.objective_current - 1e-9 * max(
                1.0, abs(pr.objective_current)), p
        # the continuous optimum against the reference
        if p["rule"] == "hp":
            x = ref_group_optimum(weight, lo, hi, hp, total, need, None, elig)
        else:
            x = ref_partition_optimum(weight, lo, hi, parts, total, limits, elig)
        assert pr.exact == pytest.approx(x, rel=1e-6, abs=1e-6 * max(1.0, total)), p
        # the rounding
        if integer and p["rule"] == "hp":
            assert alloc.tolist() == ref_whole_people(pr.exact.tolist(), int(total),
                                                      pr_weight(res, p["name"]), hp,
                                                      p["hp_share"])
        elif integer:
            cost = float(np.abs(alloc - pr.exact).sum())
            assert cost == pytest.approx(ref_partition_rounding_cost(
                pr.exact.tolist(), int(total), parts, limits), abs=1e-6)
        else:
            assert np.all(np.abs(alloc - pr.exact) < 0.01 + 1e-9)


def test_ref_waterfill_is_used_for_an_eligible_subset_only():
    # the reference's eligibility: the same as water-filling the eligible regions alone
    x = ref_group_optimum([1.0, 2.0, 3.0], [0, 0, 0], [math.inf] * 3, [False] * 3, 6.0, None,
                          None, [True, False, True])
    assert x == pytest.approx([1.5, 0.0, 4.5])
    assert ref_waterfill([1.0, 3.0], [0, 0], [math.inf] * 2, 6.0) == pytest.approx([1.5, 4.5])


def test_an_amount_rule_and_a_share_rule_together_use_the_tighter():
    s = scenario_from_text(ONE + '[[pools]]\nname = "csm"\nkind = "headcount"\ntotal = 10\n'
                           '[[groups]]\nname = "west"\npools = ["csm"]\ncolumn = "war_zone"\n'
                           'values = ["西区"]\nmin_share = 0.5\nmin_amount = 7\n'
                           'max_amount = 8\n')
    regions = regions_from_bytes(csv([HEADER, *ROWS]), "t.csv", s)
    res = run_plan(regions, s)
    alloc = res.pools["csm"].allocation
    assert 7 <= int(alloc[1:].sum()) <= 8
    # the reference: one group with need max(0.5·10, 7) = 7 and cap 8
    cols = {"market_size": regions["market_size"].astype(float).tolist()}
    weight = [r["weight"] for r in ref_scores(cols, {"market_size": ("market_potential",
                                                                      "higher", 1.0)},
                                              {"market_potential": 1.0}, 0.1)]
    x = ref_group_optimum(weight, [0.0] * 3, [math.inf] * 3, [False, True, True], 10.0, 7.0,
                          8.0)
    assert res.pools["csm"].exact == pytest.approx(x, rel=1e-6)


def test_scenario_type_is_unchanged_for_the_built_ins():
    s = Scenario()
    assert s.pools == () and s.pool_names() == ("headcount", "budget")
    assert s.pool_weights("headcount") == pytest.approx({d: 1 / 3 for d in s.weights})


def test_never_worse_than_today_per_pool():
    # today's 2 people in every region (14) is a plan of a pool of 14 with ±50 %; the
    # optimum scores at least as well; with 华东 and 华南 left out, today is no plan
    _, regions, res = sample_with('[[pools]]\nname = "lim"\nkind = "headcount"\ntotal = 14\n'
                                  'current = "current_lim"\nmax_change = 0.5\nhp_share = 0\n'
                                  '[[pools]]\nname = "part"\nkind = "headcount"\ntotal = 14\n'
                                  'current = "current_lim"\nhp_share = 0\n'
                                  'eligible = ["华北", "华中", "西南", "西北", "东北"]\n')
    lim, part = res.pools["lim"], res.pools["part"]
    assert lim.current_meets_rules and not part.current_meets_rules
    cols = indicator_columns(regions)
    doc = tomllib.loads(ROLES.read_text(encoding="utf-8"))
    weight = np.array([r["weight"] for r in ref_scores(cols, weights=doc["weights"],
                                                        floor=doc["scoring"]["floor"])])
    today = float(np.sum(weight * np.log(np.full(7, 2.0))))
    assert lim.objective_current == pytest.approx(today, rel=1e-12)
    assert lim.objective_continuous >= today
    assert lim.objective_continuous == pytest.approx(
        float(np.sum(weight * np.log(lim.exact))), rel=1e-12)


def test_eligibility_and_groups_by_a_yes_no_column():
    _, regions, res = sample_with('[[pools]]\nname = "hpf"\nkind = "budget"\ntotal = 100\n'
                                  'eligible_column = "high_potential"\neligible_values = ["是"]\n'
                                  '[[groups]]\nname = "not hp"\npools = ["hpf"]\n'
                                  'column = "high_potential"\nvalues = ["否"]\nmax_amount = 0\n')
    hp = [v == "是" for v in read_text_column(REGIONS, "high_potential")]
    pr = res.pools["hpf"]
    assert pr.status == Status.OPTIMAL
    assert pr.eligible.tolist() == hp
    assert all((v > 0) == h for v, h in zip(pr.allocation.tolist(), hp, strict=True))


def test_per_within_a_selection_and_the_pools_own_hp_share():
    s, regions, res = sample_with('[[pools]]\nname = "west"\nkind = "headcount"\ntotal = 6\n'
                                  'hp_share = 0.5\n'
                                  '[[groups]]\nname = "two each"\npools = ["west"]\n'
                                  'column = "war_zone"\nvalues = ["西区", "北区"]\n'
                                  'per = "war_zone"\nmin_amount = 2\n')
    from optimizer.model.pools import build_pools

    pools = build_pools(res.regions, res.scores, res.high_potential, res.scenario)
    rules = [r for r in pools["west"].rules if r.name.startswith("group_")]
    zone = read_text_column(REGIONS, "war_zone")
    assert [r.group for r in rules] == ["the regions with war_zone = 北区",
                                        "the regions with war_zone = 西区"]
    assert [r.mask.tolist() for r in rules] == [[z == "北区" for z in zone],
                                                [z == "西区" for z in zone]]
    pr = res.pools["west"]
    assert pr.status == Status.OPTIMAL and pr.hp_required == 0.5
    alloc = pr.allocation
    assert all(int(alloc[r.mask].sum()) >= 2 for r in rules)
    assert res.pools["headcount"].hp_required == s.hp_share


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True),
                    st.text(max_size=4), st.lists(st.one_of(st.integers(0, 3),
                                                            st.text(max_size=3)), max_size=3),
                    st.dictionaries(st.text(max_size=3), st.integers(-1, 3), max_size=2))
_GOOD = {"name": st.sampled_from(["a", "b", "c_1"]), "label": st.sampled_from(["甲", "B"]),
         "kind": st.sampled_from(["headcount", "budget"]), "total": st.sampled_from([0, 3, 2.5]),
         "current": st.just("cur"), "min": st.just("lo"), "max": st.just("hi"),
         "max_change": st.sampled_from([0, 0.3]), "unit_cost": st.just(1000),
         "eligible": st.just(["R1"]), "eligible_column": st.just("zone"),
         "eligible_values": st.just(["E"]), "hp_share": st.sampled_from([0, 0.5]),
         "weights": st.just({"customer_value": 2}), "other": _VALUES,
         "pools": st.sampled_from([["a"], ["a", "headcount"], "both"]),
         "per": st.just("zone"), "min_amount": st.sampled_from([0, 1, 1.5]),
         "max_amount": st.sampled_from([2, 3.5]), "regions": st.just(["R1"])}


@st.composite
def tables_of(draw, keys, clean=False):
    """A table of some of `keys`, each value a good one or any value; a `clean` table has
    good values only, its required keys and no unknown key, so that the fuzz reaches the
    accepting branch whatever Hypothesis's version draws."""
    out = {}
    for k in keys:
        if clean and k in _REQUIRED or draw(st.booleans()) and not (clean and k == "other"):
            out[k] = draw(_GOOD[k] if clean or draw(st.integers(0, 3)) else _VALUES)
    if clean and "eligible" in out and "eligible_column" in out:
        del out["eligible"]  # a clean table chooses its regions one way
    if clean and "eligible_values" in out and "eligible_column" not in out:
        del out["eligible_values"]
    return out


_REQUIRED = {"name", "kind", "total", "max_amount"}  # what a clean pool or group rule has


_KEYS = ("name", "label", "kind", "total", "current", "min", "max", "max_change", "unit_cost",
         "eligible", "eligible_column", "eligible_values", "hp_share", "weights", "other")
_GROUP = ("name", "pools", "per", "min_amount", "max_amount", "regions")


@settings(SETTINGS, max_examples=300)
@given(st.booleans().flatmap(lambda clean: st.tuples(
    st.lists(tables_of(_KEYS, clean), max_size=3), st.lists(tables_of(_GROUP, clean), max_size=1))))
def test_any_pool_table_is_a_scenario_or_an_input_error(tables):
    pools, groups = tables
    from optimizer.inputs.scenario_read import scenario_from_dict

    try:
        s = scenario_from_dict({"pools": pools, "groups": groups,
                                "years": [{"year": 2024, **{str(p.get("name")): 1
                                                            for p in pools}}]})
    except InputError as e:
        assert e.problems and all(p.column and p.message for p in e.problems)
        return
    assert len(s.pools) == len(pools)
    assert scenario_from_text(scenario_to_toml(s)) == s
    valid[0] += 1


valid = [0]  # scenarios the fuzz above accepted


def test_the_fuzz_accepts_some_scenarios():
    test_any_pool_table_is_a_scenario_or_an_input_error()
    assert valid[0] >= 10


def test_a_workbook_with_numeric_zone_values():
    import io

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["region", "market_size", "current_headcount", "current_budget",
               "high_potential", "zone"])
    for i, (m, z) in enumerate([(100, 1), (300, 2), (200, 2), (50, 3)]):
        ws.append([f"R{i}", m, 5, 1000, "否", z])
    buf = io.BytesIO()
    wb.save(buf)
    s = scenario_from_text(ONE + '[[pools]]\nname = "p"\nkind = "headcount"\ntotal = 6\n'
                           'eligible_column = "zone"\neligible_values = ["2", "3"]\n'
                           '[[groups]]\nname = "each"\npools = ["p"]\nper = "zone"\n'
                           'min_amount = 2\n')
    regions = regions_from_bytes(buf.getvalue(), "t.xlsx", s)
    res = run_plan(regions, s)
    pr = res.pools["p"]
    assert pr.eligible.tolist() == [False, True, True, True]
    # zone 1 has no eligible region: its rule "each: 1" needs 2 people it cannot get
    assert pr.status == Status.INFEASIBLE and pr.diagnosis is not None
    assert "each: 1" in pr.diagnosis.text.en
    s2 = scenario_from_text(ONE + '[[pools]]\nname = "p"\nkind = "headcount"\ntotal = 6\n'
                            'eligible_column = "zone"\neligible_values = ["2", "3"]\n'
                            '[[groups]]\nname = "each"\npools = ["p"]\nper = "zone"\n'
                            'max_amount = 4\n')
    res = run_plan(regions_from_bytes(buf.getvalue(), "t.xlsx", s2), s2)
    alloc = res.pools["p"].allocation.tolist()
    assert alloc[0] == 0 and alloc[1] + alloc[2] <= 4 and sum(alloc) == 6


def test_an_added_pools_conflicts_are_typed_rules_built_by_their_identity():
    from optimizer.model.rules import find

    s, regions, res = sample_with('[[pools]]\nname = "east_fund"\nlabel = "华东专项"\n'
                                  'kind = "budget"\ntotal = 1_000_000\n'
                                  'eligible = ["华东", "华南"]\n')
    d = res.pools["east_fund"].diagnosis
    assert d is not None and d.conflict_ids
    kinds = [r.kind for r in d.conflict_ids]
    assert "named" not in kinds and {"hp_share", "eligible", "total"} <= set(kinds)
    assert all(r.pool == "east_fund" for r in d.conflict_ids)
    assert d.conflicts == [r.name for r in d.conflict_ids]
    assert len(set(d.conflicts)) == len(d.conflicts)
    # every name leads back to its rule only through the identities the scenario emits
    assert [find(n, s, regions) for n in d.conflicts] == d.conflict_ids

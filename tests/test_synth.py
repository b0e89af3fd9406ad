"""Synthetic territory sets: columns, determinism, realism, feasibility of the 60 % rule."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from optimizer.inputs.scenario_read import load_scenario
from optimizer.studies.synth import synth_regions, synth_scenario, write_synth

COLUMNS = [
    "region", "market_size", "growth_rate", "competition_intensity", "customer_ltv",
    "repurchase_rate", "referral_score", "team_capability", "resource_reserve",
    "collaboration_efficiency", "current_headcount", "current_budget", "high_potential",
    "war_zone",
]
ZONE_PREFIXES = {"东区": {"华东"}, "南区": {"华南"}, "北区": {"华北"}, "西区": {"西南", "西北"}}


@pytest.mark.parametrize("n", [1, 2, 7, 250])
def test_columns_sizes_and_types(n):
    df = synth_regions(n, seed=3)
    assert list(df.columns) == COLUMNS
    assert len(df) == n
    assert df["region"].is_unique
    assert df["current_headcount"].dtype.kind == "i"
    assert (df["current_headcount"] >= 0).all()
    assert (df["current_budget"] >= 0).all()
    assert df["high_potential"].dtype == bool
    assert set(df["war_zone"]) <= set(ZONE_PREFIXES)
    numeric = df[COLUMNS[1:12]]
    assert np.isfinite(numeric.to_numpy(dtype=float)).all()
    assert df["repurchase_rate"].between(0, 1).all()
    assert (df["market_size"] > 0).all()


def test_region_names_follow_the_war_zone():
    df = synth_regions(12_000, seed=1)
    for name, zone in zip(df["region"], df["war_zone"], strict=True):
        m = re.fullmatch(r"(华东|华南|华北|西南|西北)-(\d{5})", name)
        assert m, name
        assert m.group(1) in ZONE_PREFIXES[zone]
    assert df["region"].iloc[0].endswith("-00001")
    assert synth_regions(5)["region"].iloc[4].endswith("-0005")


def test_same_seed_same_frame_other_seed_other_frame():
    a, b = synth_regions(500, seed=42), synth_regions(500, seed=42)
    pd.testing.assert_frame_equal(a, b)
    c = synth_regions(500, seed=43)
    assert not a["market_size"].equals(c["market_size"])


def test_rejects_an_empty_set():
    with pytest.raises(ValueError):
        synth_regions(0)


def test_realistic_mix():
    df = synth_regions(20_000, seed=0)
    hc, bu = df["current_headcount"], df["current_budget"]
    assert 1.0 <= hc.mean() <= 1.8  # about 1.3 people per territory
    assert 0.03 <= (hc == 0).mean() <= 0.15  # new territories
    assert 0.005 <= (bu == 0).mean() <= 0.08  # a few with no budget
    assert ((bu == 0) <= (hc == 0)).all()  # only new territories have no budget
    assert 0.30 <= df["high_potential"].mean() <= 0.40
    hp = df["high_potential"]
    assert df.loc[hp, "growth_rate"].mean() > df.loc[~hp, "growth_rate"].mean() + 0.02
    # skewed market sizes: the mean well above the median
    assert df["market_size"].mean() > 1.3 * df["market_size"].median()
    assert df["growth_rate"].min() < 0  # growth may be negative
    # the West grows fastest, East and South are the big markets
    by_zone = df.groupby("war_zone")
    assert by_zone["growth_rate"].mean().idxmax() == "西区"
    assert by_zone["market_size"].median().idxmin() == "西区"


def _bounds(c: np.ndarray, delta: float, integer: bool) -> tuple[np.ndarray, np.ndarray]:
    """docs/model.md bounds from a change limit alone: 0 / inf where current is 0."""
    c = c.astype(float)
    if integer:
        lo = np.maximum(0.0, np.minimum(np.ceil((1 - delta) * c - 1e-9), c - 1))
        hi = np.maximum(np.floor((1 + delta) * c + 1e-9), c + 1)
    else:
        lo, hi = (1 - delta) * c, (1 + delta) * c
    return np.where(c > 0, lo, 0.0), np.where(c > 0, hi, np.inf)


def _feasible(c: np.ndarray, hp: np.ndarray, total: float, rho: float, delta: float,
              integer: bool) -> bool:
    lo, hi = _bounds(c, delta, integer)
    need = math.ceil(rho * total - 1e-9) if integer else rho * total
    low = max(lo[hp].sum(), need, total - hi[~hp].sum())
    high = min(hi[hp].sum(), total - lo[~hp].sum())
    return low <= high + 1e-9 * max(1.0, total)


@pytest.mark.parametrize("n", [1, 3, 10, 57, 1_000, 30_000])
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_the_60_percent_rule_is_feasible_under_30_percent_limits(n, seed):
    df = synth_regions(n, seed)
    s = synth_scenario(df)
    hp = df["high_potential"].to_numpy()
    hc = df["current_headcount"].to_numpy()
    bu = df["current_budget"].to_numpy()
    assert s.hp_share == 0.60 and s.max_change == 0.30
    for integer in (True, False):  # whole-people bounds, and plain ±30 % bounds
        assert _feasible(hc, hp, s.headcount_total, 0.60, 0.30, integer)
    assert _feasible(bu, hp, s.budget_total, 0.60, 0.30, False)
    # also without counting on the unlimited room of new territories
    pos_hc, pos_bu = hc > 0, bu > 0
    assert 1.3 * hc[hp & pos_hc].sum() >= 0.6 * s.headcount_total - 1e-9
    assert 1.3 * bu[hp & pos_bu].sum() >= 0.6 * s.budget_total - 1e-6


def test_the_rule_is_not_met_by_the_current_split():
    # The plan has to move resources: the current high-potential share is below 60 %.
    df = synth_regions(5_000, seed=2)
    hp = df["high_potential"]
    for col in ("current_headcount", "current_budget"):
        assert df.loc[hp, col].sum() < 0.6 * df[col].sum()


def test_write_synth_files(tmp_path):
    paths = write_synth(200, 5, tmp_path / "synth")
    assert set(paths) == {"regions", "scenario"}
    raw = paths["regions"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r" not in raw
    df = pd.read_csv(paths["regions"], encoding="utf-8-sig")
    expected = synth_regions(200, 5)
    assert list(df.columns) == COLUMNS
    assert df["region"].tolist() == expected["region"].tolist()
    assert df["current_budget"].tolist() == expected["current_budget"].tolist()
    assert df["high_potential"].tolist() == expected["high_potential"].tolist()

    scenario = load_scenario(paths["scenario"])
    assert scenario == synth_scenario(expected)
    assert scenario.headcount_total == int(expected["current_headcount"].sum())
    assert scenario.budget_total == round(expected["current_budget"].sum())
    assert scenario.weights == {"market_potential": 0.40, "customer_value": 0.35,
                                "internal_capability": 0.25}
    assert scenario.hp_share == 0.60 and scenario.hp_rule == "column"
    assert scenario.max_change == 0.30
    # same call, same bytes
    again = write_synth(200, 5, tmp_path / "again")
    assert again["regions"].read_bytes() == raw
    assert again["scenario"].read_bytes() == paths["scenario"].read_bytes()


def test_large_sets_are_generated():
    df = synth_regions(100_000, seed=9)
    assert len(df) == 100_000 and df["region"].is_unique


# --------------------------------------------------------------------------- --pools

def test_added_pools_leave_the_two_pool_table_as_it_was():
    base = synth_regions(400, seed=4)
    more = synth_regions(400, seed=4, pools=8)
    pd.testing.assert_frame_equal(more[COLUMNS], base)
    names = ["expert", "fund", "specialist", "csm", "marketing", "analyst"]
    assert list(more.columns[len(COLUMNS):]) == [
        f"{c}_{n}" for n in names for c in ("current", "min", "max")]
    assert synth_regions(400, seed=4, pools=2).equals(base)


def test_more_than_six_added_pools_take_the_kinds_again_numbered():
    df = synth_regions(60, seed=1, pools=16)
    s = synth_scenario(df, pools=16)
    assert [p.name for p in s.pools] == [
        "expert", "fund", "specialist", "csm", "marketing", "analyst",
        "expert_2", "fund_2", "specialist_2", "csm_2", "marketing_2", "analyst_2",
        "expert_3", "fund_3"]
    assert len({p.name for p in s.pools}) == 14


@pytest.mark.parametrize("bad", [1, 0, -3, True, 2.5, "8"])
def test_pools_must_be_a_whole_number_of_at_least_two(tmp_path, bad):
    from optimizer.errors import InputError

    with pytest.raises(InputError) as e:
        write_synth(10, 0, tmp_path / "x", pools=bad)
    assert e.value.problems[0].file == "--pools"
    assert not (tmp_path / "x").exists()


def test_the_added_pools_mix_every_feature():
    df = synth_regions(3_000, seed=2, pools=8)
    s = synth_scenario(df, pools=8)
    kinds = [p.kind for p in s.pools]
    assert kinds.count("headcount") >= 3 and kinds.count("budget") >= 2
    by_list = [p for p in s.pools if p.eligible is not None]
    by_column = [p for p in s.pools if p.eligible_column is not None]
    assert len(by_list) == 1 and len(by_column) == 1
    assert set(by_list[0].eligible) == set(df["region"][df["region"].str[:2].isin(
        ["西南", "西北"])])
    assert by_column[0].eligible_column == "war_zone"
    assert [p.name for p in s.pools if p.unit_cost is not None] == ["expert"]
    assert any(p.weights for p in s.pools) and any(p.max_change for p in s.pools)
    assert any(p.hp_share is not None for p in s.pools)
    amount = [g for g in s.groups if g.min_amount is not None or g.max_amount is not None]
    assert len(amount) == 1 and amount[0].per == "war_zone" and amount[0].min_amount >= 1
    for p in s.pools:
        assert (p.current, p.min, p.max) == (f"current_{p.name}", f"min_{p.name}",
                                             f"max_{p.name}")
        if p.kind == "headcount":
            assert df[p.current].dtype.kind == "i" and p.total == int(p.total)
        # bound cells: a few, never above / below today's amount where given
        mn, mx, cur = df[p.min], df[p.max], df[p.current]
        assert 0 < mn.notna().mean() < 0.1 and 0 < mx.notna().mean() < 0.1
        assert (mn[mn.notna()] <= cur[mn.notna()]).all()
        assert (mx[mx.notna()] >= cur[mx.notna()]).all()


@pytest.mark.parametrize("n", [1, 3, 10, 2_000])
def test_every_added_pool_has_a_plan(tmp_path, n):
    """Written, read back and planned: every pool optimal, its total met, nothing outside
    its eligible regions, its own share of the high-potential regions, cost = people ×
    unit cost. Checked from the files (pandas and tomllib), not from the scenario object."""
    import tomllib

    from optimizer.flow.plan import run_plan
    from optimizer.inputs.regions import read_regions

    paths = write_synth(n, 3, tmp_path / "s", pools=8)
    scenario = load_scenario(paths["scenario"])
    assert scenario == synth_scenario(synth_regions(n, 3, pools=8), pools=8)
    regions = read_regions(paths["regions"], scenario)
    result = run_plan(regions, scenario, explain=False)
    assert result.status == "optimal", [
        (p, r.diagnosis.text.en) for p, r in result.pools.items() if r.diagnosis]
    spec = tomllib.loads(paths["scenario"].read_text(encoding="utf-8"))
    df = pd.read_csv(paths["regions"], encoding="utf-8-sig")
    hp = df["high_potential"].to_numpy(bool)
    assert [p["name"] for p in spec["pools"]] == list(result.pools)[2:]
    for p in spec["pools"]:
        x = np.asarray(result.pools[p["name"]].allocation, dtype=float)
        if p["kind"] == "headcount":
            assert (x == np.round(x)).all() and x.sum() == p["total"]
        else:
            assert round(x.sum() * 100) == round(p["total"] * 100)
        if "eligible" in p:
            outside = ~df["region"].isin(p["eligible"]).to_numpy()
        elif "eligible_column" in p:
            outside = ~df[p["eligible_column"]].isin(p["eligible_values"]).to_numpy()
        else:
            outside = np.zeros(n, dtype=bool)
        assert (x[outside] == 0).all(), p["name"]
        share = p.get("hp_share", spec["high_potential"]["share"])
        need = math.ceil(share * p["total"] - 1e-9) if p["kind"] == "headcount" else (
            share * p["total"])
        assert x[hp].sum() >= need - 1e-6 * max(1.0, p["total"]), p["name"]
        if "unit_cost" in p:
            np.testing.assert_allclose(result.pools[p["name"]].cost, x * p["unit_cost"])
    if n >= 2_000:  # large enough: the 60 % rule holds in every pool that keeps it
        assert sum("hp_share" not in p for p in spec["pools"]) >= 4
    # the same call, the same bytes
    again = write_synth(n, 3, tmp_path / "again", pools=8)
    for k in ("regions", "scenario"):
        assert again[k].read_bytes() == paths[k].read_bytes()


def test_cli_synth_pools(tmp_path):
    from tests.clihelp import cli

    proc = cli("synth", "--regions", "300", "--pools", "8", "--seed", "2", "--out",
               tmp_path / "s")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    direct = write_synth(300, 2, tmp_path / "direct", pools=8)
    for k in ("regions", "scenario"):
        assert (tmp_path / "s" / direct[k].name).read_bytes() == direct[k].read_bytes()
    bad = cli("synth", "--regions", "300", "--pools", "1", "--out", tmp_path / "b")
    assert bad.returncode == 2 and "--pools" in bad.stderr + bad.stdout

"""Synthetic territory sets: columns, determinism, realism, feasibility of the 60 % rule."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from optimizer.scenario import load_scenario
from optimizer.synth import synth_regions, synth_scenario, write_synth

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

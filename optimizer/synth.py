"""Realistic synthetic territory sets of any size, for demos, tests and benchmarks.

The figures follow the source plan (PLAN_FACTS): East and South China are the large,
mature, contested markets; the West is small and fast-growing; customer lifetime value
is around 5.8 m CNY and repurchase around 42 %. Market sizes and budgets are lognormal
(a few big territories, a long tail); about 8 % of territories are new (no people yet),
about half of those have no budget either.

The high-potential set (about 30–40 % of territories, chosen by growth and size) is
picked so that the 60 % rule can be met under a ±30 % change limit in both pools,
with margin, even ignoring the new territories' unlimited room.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.outdir import prepare_out_dir, write_files
from optimizer.scenario import Scenario, scenario_to_toml

WAR_ZONES: tuple[str, ...] = ("东区", "南区", "北区", "西区")
_ZONE_SHARE = np.array([0.30, 0.25, 0.25, 0.20])  # share of territories by war zone
_MARKET_MEDIAN = np.array([9e7, 8e7, 4.5e7, 1.5e7])  # CNY; East and South are the big markets
_GROWTH_MEAN = np.array([0.07, 0.08, 0.12, 0.24])  # the West grows ≥ 25 % a year in the plan
_COMPETITION_MEAN = np.array([7.5, 7.0, 5.5, 3.5])  # 1–10, the mature markets are contested

SYNTH_WEIGHTS = {"market_potential": 0.40, "customer_value": 0.35, "internal_capability": 0.25}
SYNTH_SHARE = 0.60
SYNTH_MAX_CHANGE = 0.30
_HP_FRACTION = 0.35  # initial share of territories marked high-potential
_HP_MARGIN = 0.02  # the set must meet a share 2 points above the rule's


def _names(zone: np.ndarray, west_north: np.ndarray) -> list[str]:
    prefix = np.array(["华东", "华南", "华北", "西南"], dtype=object)[zone]
    prefix[(zone == 3) & west_north] = "西北"
    width = max(4, len(str(len(zone))))
    return [f"{p}-{i:0{width}d}" for i, p in enumerate(prefix.tolist(), start=1)]


def _pool_bounds(current: np.ndarray, delta: float,
                 integer: bool) -> tuple[np.ndarray, np.ndarray]:
    """docs/model.md change bounds; a new territory (current 0) gets no room (robust check)."""
    if integer:
        lo = np.minimum(np.ceil((1 - delta) * current - 1e-9), current - 1)
        hi = np.maximum(np.floor((1 + delta) * current + 1e-9), current + 1)
    else:
        lo, hi = (1 - delta) * current, (1 + delta) * current
    pos = current > 0
    return np.where(pos, np.maximum(lo, 0.0), 0.0), np.where(pos, hi, 0.0)


def _share_feasible(current: np.ndarray, hp: np.ndarray, total: float, share: float,
                    delta: float, integer: bool) -> bool:
    """The docs/model.md feasibility condition of one pool, with new territories held at 0."""
    lo, hi = _pool_bounds(current, delta, integer)
    need = math.ceil(share * total - 1e-9) if integer else share * total
    tol = 1e-9 * max(1.0, total)
    low = max(lo[hp].sum(), need, total - hi[~hp].sum())
    high = min(hi[hp].sum(), total - lo[~hp].sum())
    return bool(low <= high + tol)


def _choose_high_potential(potential: np.ndarray, headcount: np.ndarray,
                           budget: np.ndarray) -> np.ndarray:
    """The top territories by potential, as few as give the set room for the rule.

    Starts from the top 35 % and adds territories in order of potential until the
    60 % rule (plus a margin) is feasible under ±30 % in both pools.
    """
    n = len(potential)
    order = np.argsort(-potential, kind="stable")
    share = SYNTH_SHARE + _HP_MARGIN
    hc_total, bu_total = float(headcount.sum()), float(round(budget.sum()))

    def feasible(k: int) -> bool:
        hp = np.zeros(n, dtype=bool)
        hp[order[:k]] = True
        # Headcount is checked with whole-people bounds and with plain ±30 % bounds.
        return (_share_feasible(headcount, hp, hc_total, share, SYNTH_MAX_CHANGE, True)
                and _share_feasible(headcount, hp, hc_total, share, SYNTH_MAX_CHANGE, False)
                and _share_feasible(budget, hp, bu_total, share, SYNTH_MAX_CHANGE, False))

    k = min(n, max(1, round(_HP_FRACTION * n)))
    if not feasible(k):
        # Adding territories only helps (more room inside, less outside): bisect on k.
        lo, hi = k, n
        while lo + 1 < hi:
            mid = (lo + hi) // 2
            if feasible(mid):
                hi = mid
            else:
                lo = mid
        k = hi
    hp = np.zeros(n, dtype=bool)
    hp[order[:k]] = True
    return hp


def synth_regions(n: int, seed: int = 0) -> pd.DataFrame:
    """A synthetic regions table of `n` territories (same seed, same table).

    Columns: region ("华东-0001", …), the nine default indicators, current_headcount,
    current_budget, high_potential and war_zone (东区/南区/北区/西区).
    """
    if n < 1:
        raise ValueError(f"n = {n}; expected at least 1 territory")
    rng = np.random.default_rng(seed)
    zone = rng.choice(4, size=n, p=_ZONE_SHARE)
    west_north = rng.random(n) < 0.4

    # market potential
    market_size = np.round(_MARKET_MEDIAN[zone] * rng.lognormal(0.0, 0.9, n), -3)
    growth = np.round(_GROWTH_MEAN[zone] + rng.normal(0.0, 0.07, n), 4)
    competition = np.round(np.clip(_COMPETITION_MEAN[zone] + rng.normal(0.0, 1.3, n), 1, 10), 2)
    # customer value
    ltv = np.round(5.8e6 * rng.lognormal(0.0, 0.45, n), -2)
    repurchase = np.round(rng.beta(4.2, 5.8, n), 4)
    referral = np.round(np.clip(rng.normal(6.5, 1.5, n), 0, 10), 1)
    # internal capability: stronger teams where the organisation is mature
    mature = np.isin(zone, (0, 1))
    team = np.round(np.clip(rng.normal(68, 10, n) + 6 * mature, 0, 100), 1)
    reserve = np.round(np.clip(rng.normal(62, 14, n) + 8 * mature, 0, 100), 1)
    collaboration = np.round(np.clip(rng.normal(70, 9, n), 0, 100), 1)

    # Resources follow last year's split: roughly market size, with noise.
    new = rng.random(n) < 0.08
    size_rel = (market_size / np.median(market_size)) ** 0.6
    headcount = np.maximum(1, np.rint(1.0 * size_rel * rng.lognormal(0.0, 0.35, n)))
    headcount = np.where(new, 0, headcount).astype(np.int64)
    per_person = 4.5e5 * rng.lognormal(0.0, 0.25, n)
    spend = 1.5e5 * size_rel * rng.lognormal(0.0, 0.6, n)
    budget = np.round(headcount * per_person + spend, -2)
    no_budget = new & (rng.random(n) < 0.5)
    budget = np.where(no_budget, 0.0, np.where(new, np.round(0.3 * spend, -2), budget))

    # High potential: growing and sizeable markets.
    def z(v: np.ndarray) -> np.ndarray:
        s = v.std()
        return (v - v.mean()) / s if s > 0 else np.zeros_like(v)

    potential = z(growth) + 1.3 * z(np.log(market_size)) + rng.normal(0.0, 0.5, n)
    high_potential = _choose_high_potential(potential, headcount, budget)

    return pd.DataFrame({
        "region": _names(zone, west_north),
        "market_size": market_size,
        "growth_rate": growth,
        "competition_intensity": competition,
        "customer_ltv": ltv,
        "repurchase_rate": repurchase,
        "referral_score": referral,
        "team_capability": team,
        "resource_reserve": reserve,
        "collaboration_efficiency": collaboration,
        "current_headcount": headcount,
        "current_budget": budget,
        "high_potential": high_potential,
        "war_zone": np.array(WAR_ZONES, dtype=object)[zone],
    })


def synth_scenario(regions: pd.DataFrame) -> Scenario:
    """The scenario that goes with a synthetic table: current totals, 60 % rule, ±30 %."""
    return Scenario(
        headcount_total=int(regions["current_headcount"].sum()),
        budget_total=float(round(float(regions["current_budget"].sum()))),
        weights=dict(SYNTH_WEIGHTS),
        hp_share=SYNTH_SHARE,
        hp_rule="column",
        max_change=SYNTH_MAX_CHANGE,
    )


def write_synth(n: int, seed: int, out_dir: Path) -> dict[str, Path]:
    """Write out_dir/regions.csv (UTF-8 with BOM) and out_dir/scenario.toml; return the paths."""
    regions = synth_regions(n, seed)
    csv_text = regions.to_csv(index=False, lineterminator="\n")
    toml_text = (f"# Synthetic scenario for {n} territories (seed {seed}): current totals,\n"
                 f"# the 60 % high-potential rule and a ±30 % change limit.\n\n"
                 + scenario_to_toml(synth_scenario(regions)))
    out_dir = prepare_out_dir(out_dir, ("regions.csv", "scenario.toml"))
    written = write_files(out_dir, [("regions.csv", csv_text.encode("utf-8-sig")),
                                    ("scenario.toml", toml_text.encode("utf-8"))])
    return dict(zip(("regions", "scenario"), written, strict=True))

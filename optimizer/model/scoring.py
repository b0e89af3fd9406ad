"""The three-dimension score (docs/model.md, "Scoring"): min-max, directions, weights, floor."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.errors import InputError, Problem
from optimizer.inputs.scenario import DIMENSIONS, Scenario
from optimizer.words import Text


def indicator_scores(regions: pd.DataFrame, scenario: Scenario) -> tuple[pd.DataFrame, list[Text]]:
    """Normalised indicator values z (columns = active indicators) and notes on those left out."""
    z = {}
    notes: list[Text] = []
    for name, ind in scenario.indicators.items():
        if ind.weight <= 0 or name not in regions.columns:
            continue
        v = regions[name].to_numpy(dtype=float)
        # min-max is scale-free: dividing by the largest magnitude first keeps hi - lo finite
        # for any finite values (1e308 and -1e308 included).
        scale = max(1.0, float(np.abs(v).max()))
        v = v / scale
        lo, hi = float(v.min()), float(v.max())
        if hi - lo <= 1e-12 * max(1.0, abs(hi) * scale) / scale:
            notes.append(Text(
                f"'{name}' has the same value in every region, so it cannot rank anyone: "
                f"it is left out and its weight goes to the rest of {ind.dimension}.",
                f"“{name}”在所有区域取值相同，无法区分区域：不参与评分，其权重分给同维度其他指标。",
            ))
            continue
        zi = (v - lo) / (hi - lo)
        z[name] = 1.0 - zi if ind.direction == "lower" else zi
    return pd.DataFrame(z, index=regions.index), notes


def score(regions: pd.DataFrame, scenario: Scenario) -> tuple[pd.DataFrame, list[Text]]:
    """Dimension scores D (NaN where a dimension has no active indicator), composite and weight.

    Returns a frame with columns region, the three dimensions, `score` (C in [0, 1]) and
    `weight` (S = f + (1 − f)·C), in input order, and notes for the planner.
    """
    z, notes = indicator_scores(regions, scenario)
    out = pd.DataFrame({"region": regions["region"].to_numpy()}, index=regions.index)
    num = np.zeros(len(regions))
    den = 0.0
    # Weights are relative: normalised by the largest before any sum, so that no finite
    # weights (1e308 included) overflow.
    top = max([scenario.weights[d] for d in DIMENSIONS if scenario.weights[d] > 0], default=1.0)
    for d in DIMENSIONS:
        names = [n for n in z.columns if scenario.indicators[n].dimension == d]
        if not names:
            out[d] = np.nan
            continue
        u = np.array([scenario.indicators[n].weight for n in names])
        u = u / u.max()
        out[d] = z[names].to_numpy() @ u / u.sum()
        w = scenario.weights[d] / top
        if w > 0:
            num += w * out[d].to_numpy()
            den += w
    out["score"] = num / den if den > 0 else 1.0
    out["weight"] = scenario.floor + (1.0 - scenario.floor) * out["score"]
    return out, notes


def pool_weight(scores: pd.DataFrame, scenario: Scenario, pool: str) -> np.ndarray:
    """The weight S of every region for `pool`: the composite of the dimension scores
    with the pool's own dimension weights (same indicators, directions and floor).

    The built-ins and a pool without [pools.weights] use the scenario's weight column.
    """
    spec = scenario.pool_spec(pool)
    if spec is None or not spec.weights:
        return scores["weight"].to_numpy(dtype=float)
    w = scenario.pool_weights(pool)
    num = np.zeros(len(scores))
    den = 0.0
    for d in DIMENSIONS:
        if d not in scores.columns or w[d] <= 0:
            continue
        vals = scores[d].to_numpy(dtype=float)
        if np.isnan(vals).all():  # the dimension has no active indicator
            continue
        num += w[d] * vals
        den += w[d]
    composite = num / den if den > 0 else np.ones(len(scores))
    return scenario.floor + (1.0 - scenario.floor) * composite


def resolve_hp_rule(regions: pd.DataFrame, scenario: Scenario) -> str:
    """The high-potential rule in force: the scenario's, else column when the table has one."""
    if scenario.hp_rule is not None:
        return scenario.hp_rule
    return "column" if "high_potential" in regions.columns else "threshold"


def high_potential(regions: pd.DataFrame, scores: pd.DataFrame, scenario: Scenario,
                   file: str = "regions") -> np.ndarray:
    """The high-potential set H as a boolean mask (docs/model.md): the column, or a threshold."""
    rule = resolve_hp_rule(regions, scenario)
    if rule == "column":
        if "high_potential" not in regions.columns:
            raise InputError([Problem(file, "the scenario's high-potential rule is \"column\" but "
                                      "the table has no high_potential column; add it (是/否) or "
                                      "use rule = \"threshold\"", column="high_potential")])
        return regions["high_potential"].to_numpy(dtype=bool)
    mp = scores["market_potential"].to_numpy()
    if np.isnan(mp).all():
        if scenario.hp_share > 0:
            raise InputError([Problem(
                file, "the high-potential rule is a threshold on market potential, but no "
                "market-potential indicator varies between regions (or all have weight 0); "
                "give them different values, or use rule = \"column\" with a high_potential "
                "column", column="market_potential")])
        return np.zeros(len(regions), dtype=bool)
    return mp >= scenario.hp_threshold - 1e-9

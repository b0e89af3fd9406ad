"""What-if analysis over the engine: a sweep of one dimension weight, and two plans compared.

Pure functions on pandas objects; they call `run_plan` and never touch the solver.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import InputError
from optimizer.flow.plan import run_plan
from optimizer.inputs.scenario import DIMENSIONS, Scenario
from optimizer.inputs.scenario_write import scenario_to_dict
from optimizer.model.result import PlanResult, Status
from optimizer.report.table import allocation_table

SWEEP_VALUES: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def weights_with(weights: dict[str, float], dimension: str, value: float) -> dict[str, float]:
    """Normalised weights with `dimension` at `value` (0–1), the others sharing 1 − value.

    The other dimensions keep their current ratio; when they are all 0 they share the
    rest equally.
    """
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension '{dimension}'; expected one of {DIMENSIONS}")
    value = min(1.0, max(0.0, float(value)))
    others = [d for d in DIMENSIONS if d != dimension]
    rest = sum(max(0.0, float(weights.get(d, 0.0))) for d in others)
    out = {dimension: value}
    for d in others:
        part = max(0.0, float(weights.get(d, 0.0))) / rest if rest > 0 else 1.0 / len(others)
        out[d] = (1.0 - value) * part
    return {d: out[d] for d in DIMENSIONS}


def normalised_weight(weights: dict[str, float], dimension: str) -> float:
    """The share of `dimension` in the weights (0 when all are 0)."""
    total = sum(max(0.0, float(w)) for w in weights.values())
    return max(0.0, float(weights.get(dimension, 0.0))) / total if total > 0 else 0.0


def sweep_values(current: float, values: Iterable[float] = SWEEP_VALUES) -> list[float]:
    """The grid of a sweep plus the current weight, sorted, without near-duplicates."""
    out: list[float] = []
    for v in sorted({round(float(v), 6) for v in (*values, current)}):
        if not out or v - out[-1] > 1e-6:
            out.append(v)
    return out


def scenario_with_weight(scenario: Scenario, dimension: str, value: float) -> Scenario:
    """The scenario with `dimension` at the normalised weight `value` in every pool.

    [weights] becomes `weights_with(...)`; an added pool with its own weights gets the
    same: its full weights (`Scenario.pool_weights`) with `dimension` at `value` and its
    other dimensions keeping their ratio. A pool without own weights follows [weights].
    """
    pools = tuple(
        replace(spec, weights=weights_with(scenario.pool_weights(spec.name), dimension, value))
        if spec.weights else spec for spec in scenario.pools)
    changes: dict[str, Any] = {"weights": weights_with(scenario.weights, dimension, value)}
    if pools:
        changes["pools"] = pools
    return scenario.with_changes(**changes)


def weight_sweep(regions: pd.DataFrame, scenario: Scenario, dimension: str,
                 values: Sequence[float], regions_file: str = "regions") -> pd.DataFrame:
    """Plan once per weight of `dimension` and stack the allocations.

    The weight applies to every pool (`scenario_with_weight`). Returns a long frame with
    columns weight (the normalised weight of `dimension`), region, pool (every pool of
    the scenario, headcount and budget first), allocation (NaN when the pool is
    infeasible at that weight), status. An input error at one weight (e.g. the threshold
    rule when market potential gets weight 0) is recorded as status "error" for that
    weight.
    """
    frames = []
    names = regions["region"].astype(str).to_numpy()
    for v in values:
        s = scenario_with_weight(scenario, dimension, v)
        try:
            result = run_plan(regions, s, regions_file, explain=False)
        except InputError:
            for p in scenario.pool_names():
                frames.append(pd.DataFrame({"weight": float(v), "region": names, "pool": p,
                                            "allocation": np.nan, "status": "error"}))
            continue
        for p in result.pools:
            pool = result.pools[p]
            alloc = (np.asarray(pool.allocation, dtype=float) if pool.allocation is not None
                     else np.full(len(names), np.nan))
            frames.append(pd.DataFrame({"weight": float(v), "region": names, "pool": p,
                                        "allocation": alloc, "status": str(pool.status)}))
    if not frames:
        return pd.DataFrame(columns=["weight", "region", "pool", "allocation", "status"])
    return pd.concat(frames, ignore_index=True)


def _pool_columns(result: PlanResult, pools: Sequence[str]) -> pd.DataFrame:
    """region, score and each of `pools`' allocation (NaN for an infeasible pool or one
    the plan does not have)."""
    names = result.regions["region"].astype(str).to_numpy()
    out = pd.DataFrame({"region": names,
                        "score": result.scores["score"].to_numpy(dtype=float)})
    table = allocation_table(result) if result.status == Status.OPTIMAL else None
    for p in pools:
        if table is not None and p in result.pools and p in table.columns:
            out[p] = table[p].to_numpy()
            continue
        alloc = result.pools[p].allocation if p in result.pools else None
        out[p] = np.asarray(alloc, dtype=float) if alloc is not None else np.nan
    return out


def compare(result_a: PlanResult, result_b: PlanResult) -> pd.DataFrame:
    """Region by region: score and each pool's allocation in A and B, and B − A.

    Regions are matched by name (outer join, A's order first); a region missing from
    one side has NaN there. Pools: A's (headcount, budget, its added pools), then B's
    added pools that A lacks; a pool one plan lacks is NaN on that side. Columns:
    region, score_a, score_b, then for each pool p_a, p_b, p_diff.
    """
    pools = list(dict.fromkeys([*result_a.pools, *result_b.pools]))
    a = _pool_columns(result_a, pools).add_suffix("_a").rename(columns={"region_a": "region"})
    b = _pool_columns(result_b, pools).add_suffix("_b").rename(columns={"region_b": "region"})
    out = a.merge(b, on="region", how="outer", sort=False)
    order = list(dict.fromkeys([*a["region"], *b["region"]]))  # A's order, then B's extras
    out = out.set_index("region").loc[order].reset_index()
    cols = ["region", "score_a", "score_b"]
    for p in pools:
        out[f"{p}_diff"] = out[f"{p}_b"] - out[f"{p}_a"]
        cols += [f"{p}_a", f"{p}_b", f"{p}_diff"]
    return out[cols]


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
        for i, v in enumerate(value, start=1):
            _flat(f"{prefix}[{i}]", v, out)
    else:
        out[prefix] = value


def scenario_settings(scenario: Scenario) -> dict[str, Any]:
    """The scenario as flat settings, e.g. {"weights.market_potential": 0.4, ...}; an added
    pool's keys under its name, e.g. "pools.csm.total".

    Dimension weights are normalised (they are relative), so that 2:1:1 and
    0.5:0.25:0.25 read as the same setting.
    """
    out: dict[str, Any] = {}
    data = scenario_to_dict(scenario)
    if isinstance(data.get("pools"), list):  # added pools by name: "pools.csm.total"
        data["pools"] = {str(p.get("name")): {k: v for k, v in p.items() if k != "name"}
                         for p in data["pools"]}
    _flat("", data, out)
    total = sum(scenario.weights.values())
    for d in DIMENSIONS:
        out[f"weights.{d}"] = round(scenario.weights[d] / total, 6) if total > 0 else 0.0
    return out


def scenario_diff(a: Scenario, b: Scenario) -> pd.DataFrame:
    """The settings in which two scenarios differ: columns setting, a, b (None = not set)."""
    fa, fb = scenario_settings(a), scenario_settings(b)
    rows = []
    for key in list(fa) + [k for k in fb if k not in fa]:
        va, vb = fa.get(key), fb.get(key)
        if va != vb:
            rows.append({"setting": key, "a": va, "b": vb})
    return pd.DataFrame(rows, columns=["setting", "a", "b"])

"""Robustness to the weights: re-plan under weights drawn around the chosen ones.

Weights are judgements. A sensitivity run draws the dimension and indicator weights
around the scenario's (a ± range per weight, or a Dirichlet centred on them), plans
each draw as `run_plan(..., explain=False)` does and reports, per region and pool, the
median and the 10–90 % range of the allocation, how often the region gains against
its current allocation and, under the threshold rule, how often it is high-potential.

Draws are made once, in the calling process, from one seeded generator; the plans are
solved in chunks on Dask (a local cluster started for the run when `workers > 1`, or an
existing cluster given by its scheduler address) and gathered in draw order, so the same
seed gives the same table whatever the number of workers or the cluster.

Every pool is covered, the added ones ([[pools]]) included. A pool with its own dimension
weights (`[pools.weights]`) is perturbed consistently with the scenario: in each draw,
each dimension's weight is multiplied by one factor, the same in [weights] and in every
pool's own weights (range: the drawn uniform factor; Dirichlet: the drawn weight over the
chosen one, 1 for a dimension the scenario weights 0), so a draw is one judgement of how
much each dimension matters, applied to every pool alike. Indicator weights are shared
by every pool and drawn once.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import InputError, Problem
from optimizer.explain.diagnose import diagnose
from optimizer.flow.plan import run_plan, solve_one
from optimizer.inputs.scenario import DIMENSIONS, Indicator, Scenario
from optimizer.inputs.scenario_write import scenario_to_dict
from optimizer.model.prepare import prepare
from optimizer.model.result import PlanResult, Status
from optimizer.report.table import neutralise
from optimizer.studies.cluster import cluster_slots, dask_client

MODES: tuple[str, ...] = ("range", "dirichlet")
QUANTILES: tuple[float, float, float] = (0.10, 0.50, 0.90)
CHUNK = 50  # draws per task: large enough that task overhead is small, small for progress
TABLE_COLUMNS: tuple[str, ...] = ("region", "pool", "current", "base", "median", "p10", "p90",
                                  "gain_freq", "hp_freq")

Progress = Callable[[int, int], None]


# --------------------------------------------------------------------------- settings

def check_settings(draws: int, mode: str, spread: float, concentration: float,
                   workers: int | None = None, seed: int | None = None,
                   names: Mapping[str, str] | None = None) -> None:
    """Raise InputError naming every setting that is out of range.

    `names` maps a parameter to the label the user knows it by (e.g. the CLI's
    {"spread": "--range"}); the default is the parameter's own name.
    """
    label = {k: (names or {}).get(k, k) for k in
             ("draws", "seed", "mode", "spread", "concentration", "workers")}
    problems = []

    def bad(key: str, msg: str) -> None:
        problems.append(Problem(label[key], msg))

    if isinstance(draws, bool) or not isinstance(draws, int | np.integer) or draws < 1:
        bad("draws", f"found {draws!r}; expected a whole number of draws ≥ 1, e.g. 1000")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)
                             or seed < 0):
        bad("seed", f"found {seed!r}; expected a whole number ≥ 0")
    if mode not in MODES:
        bad("mode", f"found {mode!r}; expected \"range\" or \"dirichlet\"")
    elif mode == "range" and not _finite(spread, lo=0.0, hi=1.0, hi_open=True):
        bad("spread", f"found {spread!r}; expected a fraction with 0 ≤ range < 1 "
            "(0.2 = each weight ±20 %)")
    elif mode == "dirichlet" and not _finite(concentration, lo=0.0, lo_open=True):
        bad("concentration", f"found {concentration!r}; expected a concentration > 0 "
            "(higher = draws closer to the chosen weights, e.g. 200)")
    if workers is not None and (isinstance(workers, bool) or
                                not isinstance(workers, int | np.integer) or workers < 1):
        bad("workers", f"found {workers!r}; expected a whole number of processes ≥ 1")
    if problems:
        raise InputError(problems)


def _finite(v: Any, lo: float, hi: float | None = None, lo_open: bool = False,
            hi_open: bool = False) -> bool:
    if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
        return False
    v = float(v)
    if not math.isfinite(v) or v < lo or (lo_open and v == lo):
        return False
    return hi is None or v < hi or (not hi_open and v == hi)


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------- draws

def draw_scenarios(scenario: Scenario, n: int, seed: int | None = 0, mode: str = "range",
                   spread: float = 0.2, concentration: float = 200.0) -> list[Scenario]:
    """`n` copies of `scenario` with dimension and indicator weights drawn around its own.

    Parameters
    ----------
    scenario
        The chosen scenario; only `weights` and the indicators' weights change.
    n
        Number of draws.
    seed
        Seed of a numpy Generator: the same seed gives the same draws.
    mode
        "range": every positive weight is multiplied by uniform(1 − spread, 1 + spread),
        independently. "dirichlet": the dimension weights are Dirichlet(c · w / Σw) and
        the indicator weights inside each dimension likewise (scaled back to the
        original sums, so the draws read like the chosen weights); the mean is the
        chosen weights and a larger `concentration` c draws closer to them.
    spread, concentration
        The ± fraction of "range"; the concentration of "dirichlet".

    Weights of 0 stay 0 in both modes, so an indicator or dimension left out stays out.
    The added pools' own dimension weights are multiplied by the draw's factor of each
    dimension (see the module docstring); the draws of a scenario without own pool
    weights are those it had before pools could have them.
    """
    check_settings(n, mode, spread, concentration, seed=seed)
    rng = np.random.default_rng(seed)
    dims = list(DIMENSIONS)
    w = np.array([float(scenario.weights.get(d, 0.0)) for d in dims])
    names = list(scenario.indicators)
    u = np.array([float(scenario.indicators[k].weight) for k in names])
    if mode == "range":
        # all factors drawn up front, in a fixed layout, so the draws do not depend on
        # which weights are zero (zero times a factor stays zero)
        fw = rng.uniform(1.0 - spread, 1.0 + spread, size=(n, len(dims)))
        fu = rng.uniform(1.0 - spread, 1.0 + spread, size=(n, len(names)))
        dw, du = w * fw, u * fu
    else:
        dw = _dirichlet(rng, w, concentration, n)
        du = np.zeros((n, len(names)))
        for d in dims:
            cols = [j for j, k in enumerate(names) if scenario.indicators[k].dimension == d]
            if cols:
                du[:, cols] = _dirichlet(rng, u[cols], concentration, n)
    # each dimension's factor in each draw (1 where the scenario's weight is 0)
    factor = np.divide(dw, w, out=np.ones_like(dw), where=w > 0)
    out = []
    for i in range(n):
        weights = {d: float(dw[i, j]) for j, d in enumerate(dims)}
        indicators = {k: scenario.indicators[k] if u[j] == 0 else
                      _with_weight(scenario.indicators[k], float(du[i, j]))
                      for j, k in enumerate(names)}
        changes: dict[str, Any] = {"weights": weights, "indicators": indicators}
        if any(spec.weights for spec in scenario.pools):
            f = {d: float(factor[i, j]) for j, d in enumerate(dims)}
            changes["pools"] = tuple(
                replace(spec, weights={d: float(v) * f[d] for d, v in spec.weights.items()})
                if spec.weights else spec for spec in scenario.pools)
        out.append(scenario.with_changes(**changes))
    return out


def _with_weight(ind: Indicator, weight: float) -> Indicator:
    return Indicator(ind.dimension, ind.direction, weight)


def _dirichlet(rng: np.random.Generator, w: np.ndarray, concentration: float,
               n: int) -> np.ndarray:
    """n draws of the positive entries of w from Dirichlet(c·w/Σw), times Σw; zeros stay 0."""
    out = np.zeros((n, len(w)))
    pos = np.flatnonzero(w > 0)
    if len(pos) == 1:
        out[:, pos] = w[pos]
    elif len(pos) > 1:
        total = float(w[pos].sum())
        out[:, pos] = rng.dirichlet(concentration * w[pos] / total, size=n) * total
    return out


# --------------------------------------------------------------------------- solving

@dataclass
class _Chunk:
    """The plans of a run of consecutive draws, as plain arrays (cheap to pickle)."""

    start: int
    feasible: np.ndarray  # bool per draw
    scored: np.ndarray  # bool per draw: False when the draw could not be scored
    hp: np.ndarray  # bool, draws × regions
    alloc: dict[str, np.ndarray]  # pool -> float, draws × regions (NaN where infeasible)


def plan_draw(regions: pd.DataFrame, scenario: Scenario,
              ) -> tuple[np.ndarray, dict[str, np.ndarray] | None]:
    """The high-potential set and each pool's allocation (None when a pool has no plan).

    The steps of `run_plan(..., explain=False)`, with the same functions, minus what a
    sensitivity run does not read: the explanation of an infeasible draw (its conflict
    set and the nearest relaxations cost about three times a whole plan, and draws near
    a limit are often infeasible). Raises InputError as `run_plan` does.
    """
    prep = prepare(regions, scenario)
    resolved, hp = prep.scenario, prep.hp
    allocs = {}
    for name, pool in prep.pools.items():
        if diagnose(pool) is not None:  # no plan; skip solve_one's conflict search
            return hp, None
        res = solve_one(pool, resolved.pool_hp_share(name), explain=False)
        if res.status != Status.OPTIMAL or res.allocation is None:
            return hp, None
        allocs[name] = np.asarray(res.allocation, dtype=float)
    return hp, allocs


def _solve_chunk(start: int, scenarios: Sequence[Scenario], regions: pd.DataFrame) -> _Chunk:
    """Plan every scenario of a chunk of consecutive draws (runs on a Dask worker)."""
    m, n = len(scenarios), len(regions)
    feasible = np.zeros(m, dtype=bool)
    scored = np.zeros(m, dtype=bool)
    hp = np.zeros((m, n), dtype=bool)
    names = scenarios[0].pool_names() if scenarios else ()  # every draw has the same pools
    alloc = {p: np.full((m, n), np.nan) for p in names}
    for i, s in enumerate(scenarios):
        try:
            hp_i, allocs = plan_draw(regions, s)
        except InputError:
            # e.g. every market-potential indicator drawn to 0 under the threshold rule:
            # this draw has no plan; it is counted with the infeasible ones
            continue
        scored[i] = True
        hp[i] = hp_i
        if allocs is None:
            continue
        feasible[i] = True
        for p in names:
            alloc[p][i] = allocs[p]
    return _Chunk(start, feasible, scored, hp, alloc)


def _chunk_size(total: int, slots: int) -> int:
    # about four chunks per worker so a slow chunk does not leave the others idle
    return max(1, min(CHUNK, math.ceil(total / (4 * slots))))


def _solve_all(regions: pd.DataFrame, scenarios: list[Scenario], workers: int,
               progress: Progress | None, scheduler: str | None = None,
               scheduler_label: str = "scheduler") -> list[_Chunk]:
    total = len(scenarios)
    report = progress or (lambda _done, _total: None)
    chunks: dict[int, _Chunk] = {}
    done = 0
    size = _chunk_size(total, workers)
    starts = list(range(0, total, size))
    if scheduler is None and (workers == 1 or len(starts) == 1):
        # the single-process reference; also not worth starting a cluster for one chunk
        for s in starts:
            c = _solve_chunk(s, scenarios[s:s + size], regions)
            chunks[s] = c
            done += len(c.feasible)
            report(done, total)
        return [chunks[s] for s in starts]
    from distributed import as_completed

    with dask_client(min(workers, len(starts)), scheduler, scheduler_label) as client:
        if scheduler is not None:
            size = _chunk_size(total, cluster_slots(client))
            starts = list(range(0, total, size))
        # the table goes to every worker once, not once per chunk
        data = client.scatter(regions, broadcast=True, hash=False)
        futures = [client.submit(_solve_chunk, s, scenarios[s:s + size], data, pure=False)
                   for s in starts]
        try:
            for f in as_completed(futures, loop=client.loop):
                c = f.result()
                chunks[c.start] = c
                done += len(c.feasible)
                report(done, total)
        except BaseException:
            # Ctrl-C, or an error in a draw or in the progress callback: stop the chunks
            # still queued (on a shared cluster they would run on for nobody)
            client.cancel(futures)
            raise
    return [chunks[s] for s in starts]  # draw order, whatever order they finished in


# --------------------------------------------------------------------------- the run

@dataclass
class SensitivityResult:
    """A sensitivity run: per region and pool, the spread of the allocation over the draws.

    `table` has one row per region and pool (pools in the plan's order — headcount, budget,
    then the added pools — and regions in input order within each):
    region, pool, current, base (the chosen weights' allocation), median, p10, p90 (over
    the feasible draws; NaN when none is feasible), gain_freq (share of feasible draws
    that give the region more than its current allocation), hp_freq (share of the
    scored draws in which the region is high-potential; NaN under the "column" rule,
    where the set does not depend on the weights). Empty when the base plan is infeasible.
    """

    status: Status  # of the base plan; no draws are solved when it is infeasible
    table: pd.DataFrame
    draws: int  # draws requested
    infeasible: int  # draws without a plan (infeasible, or not scorable)
    seconds: float
    base: PlanResult
    settings: dict[str, Any] = field(default_factory=dict)  # mode, seed, spread, …
    feasible: np.ndarray | None = None  # bool per draw
    allocations: dict[str, np.ndarray] = field(default_factory=dict)  # pool -> draws × regions
    hp: np.ndarray | None = None  # bool, draws × regions

    @property
    def feasible_draws(self) -> int:
        """Draws that have a plan (those the quantiles are taken over)."""
        return self.draws - self.infeasible if self.status == Status.OPTIMAL else 0


def run_sensitivity(regions: pd.DataFrame, scenario: Scenario, draws: int = 1000,
                    seed: int | None = 0, mode: str = "range", spread: float = 0.2,
                    concentration: float = 200.0, workers: int | None = None,
                    progress: Progress | None = None, scheduler: str | None = None,
                    scheduler_label: str = "scheduler") -> SensitivityResult:
    """Plan `draws` scenarios with weights drawn around `scenario`'s and summarise them.

    Parameters
    ----------
    regions, scenario
        A validated regions table and scenario (as for `run_plan`).
    draws, seed, mode, spread, concentration
        See `draw_scenarios`.
    workers
        Worker processes of the local Dask cluster started for the run (default: every
        core this process may use). 1 solves in the calling process, without a cluster.
    progress
        Called as `progress(done, total)` in the calling thread after each chunk of
        draws (e.g. to move a progress bar).
    scheduler
        Address of a running Dask scheduler (e.g. "tcp://10.0.0.5:8786"): solve on that
        cluster instead (`workers` is then ignored); the cluster is left running.
    scheduler_label
        How the user names `scheduler` (the CLI: "--scheduler"), for the message when
        it cannot be reached.

    Returns
    -------
    SensitivityResult
        With `status` infeasible (and no draws solved) when the base plan has none.

    Raises
    ------
    InputError
        A setting out of range, a scenario that does not score (as `run_plan`), or a
        scheduler that cannot be reached within a few seconds.
    """
    workers = default_workers() if workers is None else workers
    check_settings(draws, mode, spread, concentration, workers, seed)
    t0 = time.perf_counter()
    base = run_plan(regions, scenario, explain=False)
    settings = {"draws": int(draws), "seed": seed, "mode": mode,
                "spread": float(spread) if mode == "range" else None,
                "concentration": float(concentration) if mode == "dirichlet" else None,
                "workers": int(workers), "scheduler": scheduler}
    if base.status != Status.OPTIMAL:
        return SensitivityResult(Status.INFEASIBLE, pd.DataFrame(columns=list(TABLE_COLUMNS)),
                                 int(draws), 0, time.perf_counter() - t0, base, settings)
    # draws around the resolved scenario: totals and the high-potential rule are fixed
    scenarios = draw_scenarios(base.scenario, draws, seed, mode, spread, concentration)
    chunks = _solve_all(regions, scenarios, workers, progress, scheduler, scheduler_label)
    feasible = np.concatenate([c.feasible for c in chunks])
    scored = np.concatenate([c.scored for c in chunks])
    hp = np.concatenate([c.hp for c in chunks])
    alloc = {p: np.concatenate([c.alloc[p] for c in chunks]) for p in base.pools}
    table = _table(base, feasible, scored, hp, alloc)
    return SensitivityResult(Status.OPTIMAL, table, int(draws), int((~feasible).sum()),
                             time.perf_counter() - t0, base, settings, feasible, alloc, hp)


def _table(base: PlanResult, feasible: np.ndarray, scored: np.ndarray, hp: np.ndarray,
           alloc: dict[str, np.ndarray]) -> pd.DataFrame:
    names = base.regions["region"].astype(str).to_numpy()
    n = len(names)
    if base.scenario.hp_rule == "column" or not scored.any():
        hp_freq = np.full(n, np.nan)
    else:
        hp_freq = hp[scored].mean(axis=0)
    frames = []
    for p, pool in base.pools.items():
        current = np.asarray(pool.current, dtype=float)
        x = alloc[p][feasible]
        if len(x):
            p10, med, p90 = np.quantile(x, QUANTILES, axis=0)
            # a gain is at least one whole unit (a person, a cent) above today
            unit = 1.0 if pool.integer else 0.01
            gain = (x > current + unit / 2).mean(axis=0)
        else:
            p10 = med = p90 = gain = np.full(n, np.nan)
        frames.append(pd.DataFrame({
            "region": names, "pool": p, "current": current,
            "base": np.asarray(pool.allocation, dtype=float),
            "median": med, "p10": p10, "p90": p90, "gain_freq": gain, "hp_freq": hp_freq,
        }, columns=list(TABLE_COLUMNS)))
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- exports

def _num(v: Any) -> float | int | None:
    if v is None:
        return None
    if isinstance(v, int | np.integer) and not isinstance(v, bool):
        return int(v)
    x = float(v)
    return x if math.isfinite(x) else None


def sensitivity_dict(result: SensitivityResult) -> dict[str, Any]:
    """The run as strict-JSON-ready data (NaN → None): settings, counts and the table.

    Identical for identical inputs and seed, whatever the worker count.
    """
    rows = []
    for rec in result.table.to_dict("records"):
        rows.append({k: (v if k in ("region", "pool") else _num(v)) for k, v in rec.items()})
    diagnosis = {p: {"en": r.diagnosis.text.en, "zh": r.diagnosis.text.zh}
                 for p, r in result.base.pools.items() if r.diagnosis is not None}
    return {
        "status": str(result.status),
        # no wall time, no worker count, no cluster: the same seed gives the same file
        "settings": {k: (v if isinstance(v, str) or v is None else _num(v))
                     for k, v in result.settings.items() if k not in ("workers", "scheduler")},
        "draws": result.draws,
        "feasible_draws": result.feasible_draws,
        "infeasible": result.infeasible,
        "hp_rule": result.base.scenario.hp_rule,
        "scenario": scenario_to_dict(result.base.scenario),
        "base_diagnosis": diagnosis,
        # every pool of the table: its display name and kind (whole people or money)
        "pools": {p: _pool_info(r) for p, r in result.base.pools.items()},
        "regions": rows,
    }


def _pool_info(r: Any) -> dict[str, Any]:
    label = getattr(r, "label", None)
    kind = getattr(r, "kind", None) or ("headcount" if r.integer else "budget")
    return {"label": {"en": label.en, "zh": label.zh} if label is not None else
            {"en": r.pool, "zh": r.pool}, "kind": kind}


def sensitivity_json(result: SensitivityResult) -> str:
    """Strict JSON text (no NaN/Infinity), UTF-8 characters kept."""
    return json.dumps(sensitivity_dict(result), ensure_ascii=False, indent=2,
                      allow_nan=False) + "\n"


def sensitivity_csv_bytes(result: SensitivityResult) -> bytes:
    """The table as CSV for Excel: UTF-8 with BOM, CRLF, plain numbers, NaN empty.

    Headcount quantiles may be fractional (interpolated between draws): 2 decimals;
    money 2 decimals; frequencies as fractions with 4 decimals. Formula-like region
    names get a leading `'`.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(TABLE_COLUMNS)
    for rec in result.table.to_dict("records"):
        row = []
        for k in TABLE_COLUMNS:
            v = rec[k]
            if k in ("region", "pool"):
                row.append(neutralise(str(v)))
            elif v is None or not math.isfinite(float(v)):
                row.append("")
            else:
                digits = 4 if k.endswith("_freq") else 2
                row.append(f"{round(float(v), digits) + 0.0:.{digits}f}")
        writer.writerow(row)
    return buf.getvalue().encode("utf-8-sig")

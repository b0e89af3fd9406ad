"""Benchmark: the whole CLI run (both pools, outputs written) at 7, 10,000 and 100,000 regions,
beside the same problem solved by CVXPY + Clarabel and by the exact water-filling formula.

Prints, per size and on the same instance:
- `python -m optimizer run` in a fresh process: wall time and peak memory (RSS);
- the engine's bare solve of both pools in this process (`solve_pool`: one LP each, then
  the polish), and the solve with the rules' prices (`rule_prices`);
- CVXPY + Clarabel solving both pools (max Σ S·ln x over the same total, bounds and 60 %
  rule; headcount as its continuous optimum, like the engine's before rounding), in a
  fresh process: wall time of `problem.solve` (model building included) and peak memory;
- the exact water-filling formula (the floor an LP can approach);
- the ratios, the largest deviation of the written budget and of CVXPY's answer from the
  exact optimum, and whether the headcount equals docs/model.md's rounding of it.

    python bench/bench.py                 # 7, 10000, 100000
    python bench/bench.py --sizes 7 10000 # a subset
    python bench/bench.py --no-cvxpy      # without the CVXPY column

CVXPY and Clarabel are the optional extra `bench` (pip install -e '.[bench]').
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimizer.explain.prices import rule_prices  # noqa: E402
from optimizer.inputs.regions import read_regions  # noqa: E402
from optimizer.inputs.scenario_read import load_scenario  # noqa: E402
from optimizer.model.pools import Pool  # noqa: E402
from optimizer.model.prepare import prepare  # noqa: E402
from optimizer.solve.solver import solve_pool  # noqa: E402
from optimizer.studies.synth import write_synth  # noqa: E402
from tests.reference import ref_whole_people  # noqa: E402

BUILT_IN = ("headcount", "budget")


def waterfill(s: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: float) -> np.ndarray:
    """max Σ s·ln x, Σx = total, lo ≤ x ≤ hi: bisection on the price, then exact on the free set."""
    if len(s) == 0 or total <= 0:
        return np.zeros(len(s))
    a, b = -60.0, 60.0
    for _ in range(200):
        m = (a + b) / 2
        if np.clip(s / math.exp(m), lo, hi).sum() > total:
            a = m
        else:
            b = m
    x = np.clip(s / math.exp((a + b) / 2), lo, hi)
    free = (x > lo) & (x < hi)
    if free.any():
        mu = s[free].sum() / (total - x[~free].sum())
        x[free] = s[free] / mu
    return x


def exact(pool: Pool) -> np.ndarray:
    """The exact optimum with the high-potential rule (docs/model.md), by water-filling."""
    w, lo, hi, h, x_tot = pool.weight, pool.lo, pool.hi, pool.hp, pool.total
    hi = np.minimum(hi, x_tot)
    x = waterfill(w, lo, hi, x_tot)
    need = pool.rule_min(pool.rules[0]) if pool.rules else 0.0
    if x[h].sum() >= need - 1e-9 * max(1.0, x_tot):
        return x
    out = np.empty_like(x)
    out[h] = waterfill(w[h], lo[h], hi[h], need)
    out[~h] = waterfill(w[~h], lo[~h], hi[~h], x_tot - need)
    return out


def load_pools(regions: Path, scenario: Path) -> tuple[dict[str, Pool], float]:
    """The engine's pools of an instance (read, scored, bounded), as the CLI builds them,
    and the high-potential share."""
    sc = load_scenario(scenario)
    df = read_regions(regions, sc)
    prep = prepare(df, sc)
    return prep.pools, prep.scenario.hp_share


def cvxpy_solve(pool: Pool) -> tuple[np.ndarray, str]:
    """The pool's continuous optimum by CVXPY + Clarabel (exponential cones), same rules,
    and CVXPY's status ("optimal", or "optimal_inaccurate" where Clarabel stopped short of
    its tolerances: the deviation from the exact optimum is printed beside it).

    In units of X/n, as the engine scales its LP: Clarabel's tolerances are absolute."""
    import cvxpy as cp

    n = len(pool.lo)
    live = pool.hi > 0
    unit = pool.total / max(1, int(live.sum()))
    lo, hi = pool.lo[live] / unit, np.minimum(pool.hi[live], pool.total) / unit
    x = cp.Variable(int(live.sum()))
    cons = [cp.sum(x) == pool.total / unit, x >= lo, x <= hi]
    for rule in pool.rules:
        mask = rule.mask[live]
        if rule.min_share is not None:
            cons.append(cp.sum(x[np.nonzero(mask)[0]]) >= pool.rule_min(rule) / unit)
        if rule.max_share is not None:
            cons.append(cp.sum(x[np.nonzero(mask)[0]]) <= pool.rule_max(rule) / unit)
    prob = cp.Problem(cp.Maximize(pool.weight[live] @ cp.log(x)), cons)
    prob.solve(solver=cp.CLARABEL)
    if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise RuntimeError(f"CVXPY + Clarabel: {prob.status} on the {pool.name} pool")
    out = np.zeros(n)
    out[live] = np.asarray(x.value, dtype=float) * unit
    return out, str(prob.status)


def cvxpy_child(regions: Path, scenario: Path, out: Path) -> None:
    """Child process: solve both pools with CVXPY + Clarabel, write times and answers."""
    import cvxpy  # noqa: F401  (imported before the clock starts, like the engine's solver)

    pools, _ = load_pools(regions, scenario)
    t0 = time.perf_counter()
    got = {p: cvxpy_solve(pools[p]) for p in BUILT_IN}
    seconds = time.perf_counter() - t0
    np.savez(out, seconds=seconds, status=np.array([got[p][1] for p in BUILT_IN]),
             **{p: got[p][0] for p in BUILT_IN})


def run_child(args: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MiB and exit code of one command in a fresh process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - t0, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def run_cli(regions: Path, scenario: Path, out: Path) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MiB and exit code of one CLI run in a fresh process."""
    return run_child([sys.executable, "-m", "optimizer", "run", "--regions", str(regions),
                      "--scenario", str(scenario), "--out", str(out)])


def rel_dev(x: np.ndarray, ref: np.ndarray) -> float:
    """Largest |x − ref| / ref over the regions (ref > 0)."""
    return float(np.max(np.abs(x - ref) / np.maximum(ref, 1e-9)))


def bench(n: int, tmp: Path, with_cvxpy: bool = True) -> dict[str, object]:
    """One size: the CLI run, the bare solves (engine, CVXPY, water-filling) on one instance."""
    if n == 7:
        regions, scenario = ROOT / "inputs/regions.csv", ROOT / "inputs/scenario.toml"
    else:
        paths = write_synth(n, seed=1, out_dir=tmp / f"synth{n}")
        regions, scenario = paths["regions"], paths["scenario"]
    out = tmp / f"out{n}"
    wall, rss, code = run_cli(regions, scenario, out)
    pools, share = load_pools(regions, scenario)
    solve_pool(pools["budget"])  # imports and the solver's first model out of the timings
    t0 = time.perf_counter()
    sols = {p: solve_pool(pools[p]) for p in BUILT_IN}
    t_solve = time.perf_counter() - t0
    for p in BUILT_IN:
        rule_prices(pools[p], sols[p])
    t_prices = time.perf_counter() - t0
    t0 = time.perf_counter()
    x_b = exact(pools["budget"])
    x_h = exact(pools["headcount"])
    t_wf = time.perf_counter() - t0
    row: dict[str, object] = {
        "regions": n, "exit": code, "cli_s": wall, "peak_mib": rss, "solve_s": t_solve,
        "prices_s": t_prices, "waterfill_s": t_wf,
        "engine_dev": max(rel_dev(sols["budget"].x, x_b), rel_dev(sols["headcount"].x, x_h))}
    if with_cvxpy:
        npz = tmp / f"cvxpy{n}.npz"
        _, c_rss, c_code = run_child([sys.executable, str(Path(__file__).resolve()),
                                      "--cvxpy-child", str(regions), str(scenario), str(npz)])
        if c_code == 0:
            got = np.load(npz)
            row.update(cvxpy_s=float(got["seconds"]), cvxpy_mib=c_rss,
                       cvxpy_dev=max(rel_dev(got["budget"], x_b), rel_dev(got["headcount"], x_h)),
                       cvxpy_status=dict(zip(BUILT_IN, got["status"].tolist(), strict=True)))
        else:
            row["cvxpy_status"] = f"exit {c_code}"
    if code == 0:
        table = pd.read_csv(out / "allocation.csv", encoding="utf-8-sig")
        row["budget_max_rel_dev"] = rel_dev(table["budget"].to_numpy(float), x_b)
        people = ref_whole_people(x_h.tolist(), int(pools["headcount"].total),
                                  pools["headcount"].weight.tolist(),
                                  pools["headcount"].hp.tolist(), share)
        row["headcount_equals_rounded_exact"] = bool(
            np.array_equal(np.array(people), table["headcount"].to_numpy()))
    return row


def _fmt(v: object, spec: str) -> str:
    return "—" if v is None else format(v, spec)


def main() -> None:
    """Run the sizes asked for and print one line each, then the ratios."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[7, 10_000, 100_000])
    ap.add_argument("--no-cvxpy", action="store_true", help="leave out CVXPY + Clarabel")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON lines too")
    ap.add_argument("--cvxpy-child", nargs=3, metavar=("REGIONS", "SCENARIO", "OUT"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.cvxpy_child:
        cvxpy_child(*(Path(a) for a in args.cvxpy_child))
        return
    print(f"{'regions':>8} {'exit':>4} {'CLI s':>7} {'peak MiB':>8} {'solve s':>8} "
          f"{'+prices s':>9} {'CVXPY s':>8} {'CVXPY MiB':>9} {'water-fill s':>12} "
          f"{'engine dev':>10} {'CVXPY dev':>9} {'budget dev':>10} {'hc = exact':>10}")
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for n in args.sizes:
            r = bench(n, Path(d), with_cvxpy=not args.no_cvxpy)
            rows.append(r)
            print(f"{r['regions']:>8,} {r['exit']:>4} {r['cli_s']:>7.2f} {r['peak_mib']:>8.0f} "
                  f"{r['solve_s']:>8.3f} {r['prices_s']:>9.3f} "
                  f"{_fmt(r.get('cvxpy_s'), '>8.3f')} {_fmt(r.get('cvxpy_mib'), '>9.0f')} "
                  f"{r['waterfill_s']:>12.4f} {r['engine_dev']:>10.1e} "
                  f"{_fmt(r.get('cvxpy_dev'), '>9.1e')} "
                  f"{_fmt(r.get('budget_max_rel_dev'), '>10.1e')} "
                  f"{str(r.get('headcount_equals_rounded_exact', '—')):>10}", flush=True)
            st = r.get("cvxpy_status")
            if st is not None and st != {p: "optimal" for p in BUILT_IN}:
                print(f"{'':>8} CVXPY + Clarabel status: {st}", flush=True)
            if args.json:
                print(json.dumps(r), flush=True)
    print("\nratios (same instance):")
    print(f"{'regions':>8} {'CVXPY / engine solve':>21} {'CVXPY / CLI':>12} "
          f"{'engine solve / water-fill':>26} {'CLI / water-fill':>17}")
    for r in rows:
        wf = max(float(r["waterfill_s"]), 1e-9)
        cv = r.get("cvxpy_s")
        print(f"{r['regions']:>8,} "
              f"{_fmt(None if cv is None else cv / r['solve_s'], '>21.1f')} "
              f"{_fmt(None if cv is None else cv / r['cli_s'], '>12.2f')} "
              f"{r['solve_s'] / wf:>26.1f} {r['cli_s'] / wf:>17.1f}")


if __name__ == "__main__":
    main()

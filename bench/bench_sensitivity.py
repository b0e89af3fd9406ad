"""Benchmark: a sensitivity run of 1,000 weight draws, in one process and on Dask.

    python bench/bench_sensitivity.py [--draws 1000] [--repeat 3] [--workers 1 2]
    python bench/bench_sensitivity.py --territories 10000 --draws 1000 --workers 2 \
        --draws-in-process 100      # the issue's benchmark: 1,000 draws at 10,000 territories
    python bench/bench_sensitivity.py --scheduler tcp://HOST:8786   # an existing cluster

Prints the wall time of `run_sensitivity` (base plan, draws, solves, summary) per worker
count (1 = in this process; more = a local Dask cluster of that many worker processes,
its start-up included), draws per second, and whether every run gave the same table.
Target on the seven-region sample: 1,000 draws in under 30 s. `--territories N` plans a
synthetic set of N territories (`optimizer.studies.synth`, seed 1) instead; it has no target.
`--draws-in-process K` times the in-process reference on K draws only (its rate is
per draw; the tables are then not compared, the draws being different).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout, installed or not

from optimizer.inputs.regions import read_regions  # noqa: E402
from optimizer.inputs.scenario_read import load_scenario  # noqa: E402
from optimizer.studies.sensitivity import run_sensitivity  # noqa: E402
from optimizer.studies.synth import synth_regions, synth_scenario  # noqa: E402

TARGET_SECONDS = 30.0


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the workers): unlike wall
    time, not inflated when other jobs share the cores."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    """Run the benchmark; exit 1 when a run misses the target or the tables differ."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=1, help="runs per worker count (median)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--territories", type=int, default=0,
                    help="plan N synthetic territories instead of the bundled sample")
    ap.add_argument("--draws-in-process", type=int, default=None, metavar="K",
                    help="draws for the workers=1 run (default: --draws)")
    ap.add_argument("--scheduler", default=None, help="also run on this Dask cluster")
    args = ap.parse_args()

    if args.territories:
        regions = synth_regions(args.territories, seed=1)
        scenario = synth_scenario(regions)
    else:
        scenario = load_scenario(REPO / "inputs" / "scenario.toml")
        regions = read_regions(REPO / "inputs" / "regions.csv", scenario)
    print(f"{len(regions):,} regions, {args.draws:,} draws (range ±20 %), seed {args.seed}; "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}", flush=True)
    runs_to_do = [(f"workers={w}", w, None) for w in args.workers]
    if args.scheduler:
        runs_to_do.append((f"scheduler={args.scheduler}", 1, args.scheduler))
    tables = []
    ok = True
    for label, w, scheduler in runs_to_do:
        draws = args.draws_in_process or args.draws if w == 1 and not scheduler else args.draws
        times, cpus = [], []
        for _ in range(args.repeat):
            c0 = _cpu()
            t0 = time.perf_counter()
            res = run_sensitivity(regions, scenario, draws=draws, seed=args.seed,
                                  workers=w, scheduler=scheduler)
            times.append(time.perf_counter() - t0)
            cpus.append(_cpu() - c0)
        if draws == args.draws:
            tables.append(res.table)
        wall = statistics.median(times)
        ok &= bool(args.territories) or wall < TARGET_SECONDS
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"{label}: {draws:,} draws in {wall:8.2f} s  ({draws / wall:7.2f} draws/s, "
              f"{1000 * wall / draws:.1f} ms/draw; runs: {runs} s; "
              f"CPU {statistics.median(cpus):.2f} s; infeasible {res.infeasible}; "
              f"load {os.getloadavg()[0]:.2f})", flush=True)
    same = all(t.equals(tables[0]) for t in tables)
    ok &= same
    print(f"same table for every run of {args.draws:,} draws: {same} ({len(tables)} runs)")
    if not args.territories:
        print(f"target {TARGET_SECONDS:.0f} s: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

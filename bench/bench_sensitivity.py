"""Benchmark: a sensitivity run of 1,000 weight draws on the bundled seven-region sample.

    python bench/bench_sensitivity.py [--draws 1000] [--repeat 3] [--workers 1 2]

Prints the wall time of `run_sensitivity` (base plan, draws, solves, summary) per worker
count, draws per second, and whether every worker count gave the same table. Target:
1,000 draws in under 30 s.
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

from optimizer.regions import read_regions  # noqa: E402
from optimizer.scenario import load_scenario  # noqa: E402
from optimizer.sensitivity import run_sensitivity  # noqa: E402

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
    args = ap.parse_args()

    scenario = load_scenario(REPO / "inputs" / "scenario.toml")
    regions = read_regions(REPO / "inputs" / "regions.csv", scenario)
    print(f"{len(regions)} regions, {args.draws:,} draws (range ±20 %), seed {args.seed}; "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    tables = []
    ok = True
    for w in args.workers:
        times, cpus = [], []
        for _ in range(args.repeat):
            c0 = _cpu()
            t0 = time.perf_counter()
            res = run_sensitivity(regions, scenario, draws=args.draws, seed=args.seed,
                                  workers=w)
            times.append(time.perf_counter() - t0)
            cpus.append(_cpu() - c0)
        tables.append(res.table)
        wall = statistics.median(times)
        ok &= wall < TARGET_SECONDS
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"workers={w}: {wall:6.2f} s  ({args.draws / wall:7.1f} draws/s, "
              f"{1000 * wall / args.draws:.2f} ms/draw; runs: {runs} s; "
              f"CPU {statistics.median(cpus):.2f} s; infeasible {res.infeasible})")
    same = all(t.equals(tables[0]) for t in tables)
    ok &= same
    print(f"same table for every worker count: {same}")
    print(f"target {TARGET_SECONDS:.0f} s: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

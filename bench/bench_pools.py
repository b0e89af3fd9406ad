"""Benchmark: 10,000 territories × 8 pools (issue 10) — the whole CLI run, target ≤ 8 s.

The instance is built in code by `optimizer.studies.synth` (seed 1): the regions table with the
current/min/max columns of six added pools and a scenario with their `[[pools]]` — both
kinds (headcount and budget), eligibility by a list of regions and by a column, own
dimension weights, a unit cost, an own high-potential share, change limits and an amount
rule per war zone (`synth.added_pools`). It is written to a temporary folder and planned
by `python -m optimizer run` in a fresh process (wall time, peak RSS, exit status); then,
in this process, each pool is solved and priced on its own (`solve_pool`, `rule_prices`)
to show where the time goes.

    python bench/bench_pools.py                       # 10,000 territories, 8 pools
    python bench/bench_pools.py --regions 100000 --pools 8 --target 80

Exit status 1 when the CLI run fails or misses the target.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimizer.explain.prices import rule_prices  # noqa: E402
from optimizer.flow.plan import _pools  # noqa: E402
from optimizer.inputs.regions import read_regions  # noqa: E402
from optimizer.inputs.scenario_read import load_scenario  # noqa: E402
from optimizer.solve.solver import solve_pool  # noqa: E402
from optimizer.studies.synth import write_synth  # noqa: E402

TARGET_SECONDS = 8.0


def run_cli(regions: Path, scenario: Path, out: Path) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MiB and exit code of one CLI run in a fresh process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "optimizer", "run", "--regions", str(regions),
                             "--scenario", str(scenario), "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - t0, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def per_pool(regions: Path, scenario: Path) -> list[dict[str, object]]:
    """Each pool solved and priced in this process: seconds, LP columns, LP solves."""
    sc = load_scenario(scenario)
    df = read_regions(regions, sc)
    _, pools = _pools(df, sc)
    solve_pool(pools["budget"])  # imports and the solver's first model out of the timings
    rows = []
    for name, pool in pools.items():
        t0 = time.perf_counter()
        sol = solve_pool(pool)
        t1 = time.perf_counter()
        binding = rule_prices(pool, sol) if sol.x is not None else []
        t2 = time.perf_counter()
        eligible = getattr(pool, "eligible", None)
        rows.append({"pool": name, "kind": getattr(pool, "kind", None),
                     "status": sol.status.value, "solve_s": t1 - t0, "prices_s": t2 - t1,
                     "regions_in_pool": int(len(pool.lo) if eligible is None else eligible.sum()),
                     "rules": len(pool.rules), "columns": sol.info.get("columns"),
                     "lp_solves": sol.info.get("lp_solves"), "binding": len(binding)})
    return rows


def main() -> int:
    """Build the instance, time the CLI run, print the per-pool breakdown."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--regions", type=int, default=10_000)
    ap.add_argument("--pools", type=int, default=8, help="pools in all, built-ins included")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--target", type=float, default=TARGET_SECONDS)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        paths = write_synth(args.regions, args.seed, Path(d) / "in", pools=args.pools)
        t_build = time.perf_counter() - t0
        wall, rss, code = run_cli(paths["regions"], paths["scenario"], Path(d) / "out")
        statuses = {}
        summary = Path(d) / "out" / "summary.json"
        if summary.exists():
            js = json.loads(summary.read_text(encoding="utf-8"))
            statuses = {p: v.get("status") for p, v in js.get("pools", {}).items()}
        print(f"{args.regions:,} territories × {args.pools} pools (instance built in "
              f"{t_build:.1f} s)")
        print(f"CLI run: {wall:.2f} s, peak {rss:.0f} MiB, exit {code}; target ≤ "
              f"{args.target:g} s: {'met' if code == 0 and wall <= args.target else 'MISSED'}")
        if statuses:
            print("pool status in summary.json: "
                  + ", ".join(f"{p} {s}" for p, s in statuses.items()))
        rows = per_pool(paths["regions"], paths["scenario"])
    print(f"\n{'pool':<12} {'kind':<9} {'status':<10} {'regions':>7} {'rules':>5} "
          f"{'columns':>8} {'LPs':>3} {'solve s':>8} {'prices s':>8} {'binding':>7}")
    for r in rows:
        print(f"{r['pool']:<12} {str(r['kind']):<9} {r['status']:<10} "
              f"{r['regions_in_pool']:>7,} {r['rules']:>5} {r['columns']:>8} "
              f"{r['lp_solves']:>3} {r['solve_s']:>8.3f} {r['prices_s']:>8.3f} "
              f"{r['binding']:>7}")
    total = sum(float(r["solve_s"]) + float(r["prices_s"]) for r in rows)
    print(f"{'all pools':<12} {'':<9} {'':<10} {'':>7} {'':>5} {'':>8} {'':>3} "
          f"{'':>8} {'':>8}  {total:.3f} s solve + prices")
    return 0 if code == 0 and wall <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())

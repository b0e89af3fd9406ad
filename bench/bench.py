"""Benchmark: the whole CLI run (both pools, outputs written) at 7, 10,000 and 100,000 regions.

Prints, per size: wall time and peak memory of `python -m optimizer run` (a fresh process),
and side by side the time of the exact water-filling formula on the same instance (the floor
an LP can approach), with the largest deviation of the written budget from that exact
optimum and whether the headcount equals docs/model.md's rounding of it.

    python bench/bench.py                 # 7, 10000, 100000
    python bench/bench.py --sizes 7 10000 # a subset
"""

from __future__ import annotations

import argparse
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

from optimizer.plan import resolve  # noqa: E402
from optimizer.pools import build_pools  # noqa: E402
from optimizer.regions import read_regions  # noqa: E402
from optimizer.scenario import load_scenario  # noqa: E402
from optimizer.scoring import high_potential, score  # noqa: E402
from optimizer.synth import write_synth  # noqa: E402
from tests.reference import ref_whole_people  # noqa: E402


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


def exact(pool) -> np.ndarray:  # noqa: ANN001
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


def run_cli(regions: Path, scenario: Path, out: Path) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MiB and exit code of one CLI run in a fresh process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "optimizer", "run", "--regions", str(regions),
                             "--scenario", str(scenario), "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - t0, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def bench(n: int, tmp: Path) -> dict[str, object]:
    """One size: the CLI run and the water-filling floor on the same instance."""
    if n == 7:
        regions, scenario = ROOT / "inputs/regions.csv", ROOT / "inputs/scenario.toml"
    else:
        paths = write_synth(n, seed=1, out_dir=tmp / f"synth{n}")
        regions, scenario = paths["regions"], paths["scenario"]
    out = tmp / f"out{n}"
    wall, rss, code = run_cli(regions, scenario, out)
    sc = load_scenario(scenario)
    df = read_regions(regions, sc)
    resolved = resolve(df, sc)
    scores, _ = score(df, resolved)
    hp = high_potential(df, scores, resolved)
    pools = build_pools(df, scores, hp, resolved)
    t0 = time.perf_counter()
    x_b = exact(pools["budget"])
    x_h = exact(pools["headcount"])
    t_wf = time.perf_counter() - t0
    table = pd.read_csv(out / "allocation.csv", encoding="utf-8-sig")
    budget = table["budget"].to_numpy(float)
    dev = float(np.max(np.abs(budget - x_b) / np.maximum(x_b, 1e-9)))
    people = ref_whole_people(x_h.tolist(), int(pools["headcount"].total),
                              pools["headcount"].weight.tolist(), hp.tolist(), resolved.hp_share)
    same = bool(np.array_equal(np.array(people), table["headcount"].to_numpy()))
    return {"regions": n, "exit": code, "cli_s": wall, "peak_mib": rss, "waterfill_s": t_wf,
            "budget_max_rel_dev": dev, "headcount_equals_rounded_exact": same}


def main() -> None:
    """Run the sizes asked for and print one line each."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[7, 10_000, 100_000])
    args = ap.parse_args()
    print(f"{'regions':>8} {'exit':>4} {'CLI s':>8} {'peak MiB':>9} {'water-fill s':>13} "
          f"{'budget max rel dev':>19} {'headcount = exact rounding':>27}")
    with tempfile.TemporaryDirectory() as d:
        for n in args.sizes:
            r = bench(n, Path(d))
            print(f"{r['regions']:>8,} {r['exit']:>4} {r['cli_s']:>8.2f} {r['peak_mib']:>9.0f} "
                  f"{r['waterfill_s']:>13.4f} {r['budget_max_rel_dev']:>19.2e} "
                  f"{str(r['headcount_equals_rounded_exact']):>27}", flush=True)


if __name__ == "__main__":
    main()

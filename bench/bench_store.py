"""Store benchmark: solve, save and open a plan of N territories; list 1,000 plans.

    .venv/bin/python bench/bench_store.py [--regions 10000] [--plans 1000] [--store URL]

Prints one line per step with its wall time; the save and open times exclude the solve.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from optimizer.flow.plan import run_plan
from optimizer.inputs.regions import read_regions
from optimizer.inputs.scenario_read import load_scenario
from optimizer.inputs.scenario_write import scenario_to_toml
from optimizer.store import api
from optimizer.store.db import open_store
from optimizer.studies.synth import write_synth


def _timed(label: str, fn):  # noqa: ANN001, ANN202
    t0 = time.perf_counter()
    out = fn()
    print(f"{label:<42} {time.perf_counter() - t0:7.3f} s", flush=True)
    return out


def main() -> None:
    """Run the benchmark."""
    p = argparse.ArgumentParser()
    p.add_argument("--regions", type=int, default=10_000)
    p.add_argument("--plans", type=int, default=1000)
    p.add_argument("--store", default=None, help="default: a new SQLite file in a temp dir")
    a = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-store-"))
    url = a.store or f"sqlite:///{tmp / 'plans.db'}"
    paths = write_synth(a.regions, 1, tmp / "synth")
    scenario = load_scenario(paths["scenario"])
    regions = read_regions(paths["regions"], scenario)
    result = _timed(f"solve {a.regions:,} territories", lambda: run_plan(
        regions, scenario, regions_file="regions.csv"))
    files, summary = _timed("make the files (CSV, XLSX, both languages)",
                            lambda: api.plan_files_of(result, {"regions": paths["regions"]}))
    store = open_store(url)
    if store.is_postgres:
        api.init_store(store, team=True, admin=("bench", "bench-password"))
        admin = api.acting_user(store, "bench", "bench-password")
        api.create_user(store, admin, "planner", "bench-password", "planner")
        me = api.acting_user(store, "planner", "bench-password")
    else:
        me = api.acting_user(store)
    data = Path(paths["regions"]).read_bytes()
    toml = scenario_to_toml(scenario)
    out = _timed(f"save a {a.regions:,}-territory plan", lambda: api.save_plan(
        store, me, name="bench", regions_data=data, regions_filename="regions.csv",
        scenario_toml=toml, result=result, files=files, summary=summary, period="2025"))
    plan = _timed(f"open it (get_plan: {2 * a.regions:,} result rows)",
                  lambda: api.get_plan(store, me, out.plan_id))
    assert len(plan.results) == 2 * a.regions
    small_s = load_scenario(Path(__file__).resolve().parents[1] / "inputs" / "scenario.toml")
    small_path = Path(__file__).resolve().parents[1] / "inputs" / "regions.csv"
    small = run_plan(read_regions(small_path, small_s), small_s, regions_file="regions.csv")
    sf, ssum = api.plan_files_of(small, {"regions": small_path})
    t0 = time.perf_counter()
    for i in range(a.plans - 1):
        api.save_plan(store, me, name=f"plan {i % 50}", regions_data=small_path.read_bytes(),
                      regions_filename="regions.csv", scenario_toml=scenario_to_toml(small_s),
                      result=small, files=sf, summary=ssum, period=str(2000 + i % 30))
    print(f"{'store ' + str(a.plans - 1) + ' more plans':<42} {time.perf_counter() - t0:7.3f} s")
    plans = _timed(f"list {a.plans:,} plans (the Plans page query)",
                   lambda: api.list_plans(store, me))
    assert len(plans) == a.plans
    from optimizer.app.plans import plans_frame

    _timed(f"build the Plans page table of {a.plans:,}", lambda: plans_frame(plans, "zh"))
    store.dispose()


if __name__ == "__main__":
    main()

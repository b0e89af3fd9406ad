"""Command line for studies over many plans: `optimizer sensitivity` and `optimizer batch`.

Both solve on Dask: a local cluster started for the run (all cores, nothing to set up),
or an existing cluster given by `--scheduler ADDRESS`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from optimizer import Text, t
from optimizer.cli.common import (
    EXIT_INFEASIBLE,
    EXIT_INPUT,
    EXIT_OK,
    add_inputs,
    load_inputs,
)
from optimizer.report.outdir import prepare_out_dir, write_files

CLUSTER_EPILOG = """
cluster: by default a local Dask cluster is started for the run (one worker process
per core, on 127.0.0.1 only, closed at the end). For several machines, start a
scheduler (`dask scheduler`) and workers (`dask worker tcp://HOST:8786`, in an
environment where this package is installed) and pass --scheduler tcp://HOST:8786;
the cluster is left running. The same inputs and seed give the same files either way.
"""


def _add_cluster(sp: argparse.ArgumentParser, what: str) -> None:
    sp.add_argument("--workers", type=int, default=None, metavar="N",
                    help=f"worker processes of the local Dask cluster (default: all cores; 1 "
                         f"= {what} in this process, no cluster)")
    sp.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="address of a running Dask scheduler, e.g. tcp://127.0.0.1:8786, "
                         "to solve on that cluster instead of a local one (left running)")


def register(sub: argparse._SubParsersAction) -> None:
    """Add `sensitivity` and `batch` to the command line."""
    sen = sub.add_parser(
        "sensitivity", help="re-plan under weights drawn around the chosen ones; write "
        "sensitivity.csv, sensitivity.json", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Draw the dimension and indicator weights around the scenario's, plan "
                    "each draw, and report per region and pool the median and 10-90 %% range "
                    "of the allocation, how often it gains against today, and (threshold "
                    "rule) how often it is high-potential.",
        epilog="example:\n  optimizer sensitivity --regions inputs/regions.csv --scenario "
               "inputs/scenario.toml --draws 1000 --range 0.2 --out out\n  optimizer "
               "sensitivity --regions inputs/regions.csv --draws 1000 --scheduler "
               "tcp://127.0.0.1:8786 --out out\n" + CLUSTER_EPILOG + "\nexit status: 0 "
               "done; 2 invalid input or unreachable scheduler; 3 the base plan is "
               "infeasible.\n")
    add_inputs(sen)
    sen.add_argument("--draws", type=int, default=1000, metavar="N",
                     help="number of weight draws (default 1000)")
    sen.add_argument("--seed", type=int, default=0, metavar="S",
                     help="random seed: the same seed gives the same output (default 0)")
    sen.add_argument("--mode", choices=("range", "dirichlet"), default="range",
                     help="range: each weight times uniform(1 - r, 1 + r); dirichlet: weights "
                          "~ Dirichlet centred on the chosen ones (default: range)")
    sen.add_argument("--range", dest="spread", type=float, default=0.2, metavar="R",
                     help="± fraction per weight in range mode, 0 <= R < 1 (default 0.2)")
    sen.add_argument("--concentration", type=float, default=200.0, metavar="C",
                     help="Dirichlet concentration, > 0; higher = closer to the chosen "
                          "weights (default 200)")
    _add_cluster(sen, "solve")
    sen.add_argument("--out", required=True, metavar="DIR", type=Path,
                     help="output folder (created if missing)")
    sen.set_defaults(func=_cmd_sensitivity)

    bat = sub.add_parser(
        "batch", help="plan every scenario of a folder; one output folder each and a "
        "comparison table", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Plan every *.toml of --scenarios (by file name) on the regions table, "
                    "as `optimizer run` does, into OUT/<scenario>/ with the same files; "
                    "write OUT/comparison.csv (one row per scenario), "
                    "OUT/comparison_regions.csv (one row per region) and OUT/batch.json. "
                    "An invalid scenario gets summary.json with its messages and does not "
                    "stop the others.",
        epilog="example:\n  optimizer batch --regions inputs/regions.csv --scenarios "
               "scenarios --out out_batch\n" + CLUSTER_EPILOG + "\nexit status: 0 every "
               "scenario planned; 2 a scenario invalid (or bad options, unreachable "
               "scheduler); 3 else a scenario infeasible.\n")
    bat.add_argument("--regions", required=True, metavar="FILE", type=Path,
                     help="regions table, CSV (UTF-8, BOM optional) or XLSX, shared by every "
                          "scenario")
    bat.add_argument("--scenarios", required=True, metavar="DIR", type=Path,
                     help="folder of scenario .toml files (one per business unit or what-if)")
    bat.add_argument("--out", required=True, metavar="DIR", type=Path,
                     help="output folder (created if missing)")
    bat.add_argument("--no-explain", action="store_true",
                     help="skip the price of the binding rules (as for `run`)")
    _add_cluster(bat, "plan")
    bat.add_argument("--lang", choices=("en", "zh"), default="en",
                     help="language of the messages (default: en)")
    bat.set_defaults(func=_cmd_batch)


def _progress_bar(width: int = 30) -> Callable[[int, int], None]:
    """A text bar on stderr, updated in place: [#####.....] 500/1000."""
    def show(done: int, total: int) -> None:
        filled = width * done // max(total, 1)
        end = "\n" if done >= total else ""
        print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end=end,
              file=sys.stderr, flush=True)
    return show


def _print_columns(rows: list[list[str]]) -> None:
    """Rows as aligned columns (CJK characters count two)."""
    import unicodedata

    def width(t: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in t)

    widths = [max(width(row[j]) for row in rows) for j in range(len(rows[0]))]
    for row in rows:
        cells = [c + " " * (w - width(c)) if j < 2 else " " * (w - width(c)) + c
                 for j, (c, w) in enumerate(zip(row, widths, strict=True))]
        print("  ".join(cells).rstrip())


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from optimizer import Status
    from optimizer.inputs.scenario import POOLS
    from optimizer.studies.sensitivity import (
        check_settings,
        run_sensitivity,
        sensitivity_csv_bytes,
        sensitivity_json,
    )

    lang = args.lang
    options = {"draws": "--draws", "seed": "--seed", "mode": "--mode", "spread": "--range",
               "concentration": "--concentration", "workers": "--workers"}
    check_settings(args.draws, args.mode, args.spread, args.concentration, args.workers,
                   args.seed, names=options)
    csv_path, json_path = args.out / "sensitivity.csv", args.out / "sensitivity.json"
    # an earlier run's table must not pass for this run's, whatever this one ends with
    prepare_out_dir(args.out, (csv_path.name, json_path.name))
    regions, scenario = load_inputs(args)
    res = run_sensitivity(regions, scenario, draws=args.draws, seed=args.seed, mode=args.mode,
                          spread=args.spread, concentration=args.concentration,
                          workers=args.workers, progress=_progress_bar(),
                          scheduler=args.scheduler, scheduler_label="--scheduler")
    files = [(json_path.name, sensitivity_json(res).encode("utf-8"))]
    if res.status == Status.OPTIMAL:
        files.insert(0, (csv_path.name, sensitivity_csv_bytes(res)))
    write_files(args.out, files)
    if res.status != Status.OPTIMAL:
        for pool in res.base.pools.values():
            if pool.diagnosis is not None:
                print(f"{pool.label(args.lang)}: {pool.diagnosis.text(args.lang)}")
        print(t("cli_sens_base_infeasible", lang))
        print(t("cli_wrote", lang, path=json_path))
        return EXIT_INFEASIBLE
    print(t("cli_sens_draws", lang, draws=res.draws, infeasible=res.infeasible,
            seconds=res.seconds))
    rows = [[t("cli_sens_col_region", lang), t("cli_sens_col_pool", lang),
             t("cli_sens_col_base", lang), t("cli_sens_col_median", lang),
             t("cli_sens_col_range", lang), t("cli_sens_col_gains", lang),
             t("cli_sens_col_hp", lang)]]
    # the English table names a built-in pool by its name (as in the CSV), an added pool by
    # its label; the Chinese one names every pool by its label
    labels = {p: Text(p if p in POOLS else pool.label.en, pool.label.zh)(lang)
              for p, pool in res.base.pools.items()}
    for r in res.table.itertuples(index=False):
        def num(v: float) -> str:
            return "" if v != v else f"{v:,.0f}"  # NaN: no feasible draw / column rule
        pool = labels.get(r.pool, r.pool)
        rows.append([str(r.region), pool, num(r.base), num(r.median),
                     f"{num(r.p10)}–{num(r.p90)}" if r.p10 == r.p10 else "",
                     "" if r.gain_freq != r.gain_freq else f"{r.gain_freq:.0%}",
                     "" if r.hp_freq != r.hp_freq else f"{r.hp_freq:.0%}"])
    _print_columns(rows)
    for p in (csv_path, json_path):
        print(t("cli_wrote", lang, path=p))
    return EXIT_OK




def _cmd_batch(args: argparse.Namespace) -> int:
    from optimizer.studies.batch import INVALID, run_batch

    lang = args.lang
    res = run_batch(args.regions, args.scenarios, args.out, workers=args.workers,
                    scheduler=args.scheduler, explain=not args.no_explain,
                    progress=_progress_bar(), lang=args.lang,
                    names={"scenarios": "--scenarios", "out": "--out",
                           "scheduler": "--scheduler", "workers": "--workers"})
    label = {"optimal": t("cli_batch_optimal", lang),
             "infeasible": t("cli_batch_infeasible", lang),
             INVALID: t("cli_batch_invalid", lang)}
    for o in res.outcomes:
        print(f"{o.name}: {label[o.status]}")
        for p in o.problems:
            print(f"  {p.render(lang)}")
    n, bad, inf = len(res.outcomes), res.count(INVALID), res.count("infeasible")
    print(t("cli_batch_counts", lang, n=n, optimal=n - bad - inf, infeasible=inf, invalid=bad))
    for p in res.files:
        print(t("cli_wrote", lang, path=p))
    return EXIT_INPUT if bad else EXIT_INFEASIBLE if inf else EXIT_OK

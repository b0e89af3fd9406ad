"""Command line: parses, calls the package, reports. Exit 0 optimal, 1 internal error,
2 invalid input, 3 infeasible."""

from __future__ import annotations

import argparse
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from optimizer import __version__
from optimizer.errors import InputError, SolverError, VerificationError

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_INFEASIBLE = 0, 1, 2, 3

EXAMPLES = """\
examples:
  optimizer run --regions inputs/regions.csv --scenario inputs/scenario.toml --out out
  optimizer validate --regions inputs/regions.csv --scenario inputs/scenario.toml
  optimizer synth --regions 10000 --seed 1 --out /tmp/synth
  optimizer sensitivity --regions inputs/regions.csv --scenario inputs/scenario.toml --out out

exit status: 0 optimal plan written; 2 invalid input (message names file, row, column);
3 infeasible (diagnosis printed and in summary.json); 1 internal error.
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="optimizer", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Allocate next year's headcount and budget across regions by their "
                    "three-dimension score, with high-potential markets receiving at least "
                    "their minimum share (60 % by default).",
        epilog=EXAMPLES)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def inputs(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--regions", required=True, metavar="FILE", type=Path,
                        help="regions table, CSV (UTF-8, BOM optional) or XLSX; one row per "
                             "region, e.g. inputs/regions.csv")
        sp.add_argument("--scenario", metavar="FILE", type=Path,
                        help="scenario TOML (totals, weights, high-potential rule, limits, "
                             "groups), e.g. inputs/scenario.toml; default: every default of "
                             "the model (totals = current sums)")
        sp.add_argument("--lang", choices=("en", "zh"), default="en",
                        help="language of the messages (default: en)")

    run = sub.add_parser("run", help="optimise and write allocation.csv, allocation.xlsx, "
                         "summary.json", formatter_class=argparse.RawDescriptionHelpFormatter,
                         description="Optimise both pools and write the output files.",
                         epilog="example:\n  optimizer run --regions inputs/regions.csv "
                                "--scenario inputs/scenario.toml --out out\n")
    inputs(run)
    run.add_argument("--out", required=True, metavar="DIR", type=Path,
                     help="output folder (created if missing); allocation.* left by an "
                          "earlier run are removed first")
    run.add_argument("--no-explain", action="store_true",
                     help="skip the price of the binding rules (saves the extra solves on "
                          "very large tables)")

    val = sub.add_parser("validate", help="check the inputs without solving",
                         formatter_class=argparse.RawDescriptionHelpFormatter,
                         description="Read and check both inputs; report every problem.",
                         epilog="example:\n  optimizer validate --regions inputs/regions.csv "
                                "--scenario inputs/scenario.toml\n")
    inputs(val)

    _sensitivity_parser(sub, inputs)

    syn = sub.add_parser("synth", help="write a synthetic territory set for tests and "
                         "benchmarks", formatter_class=argparse.RawDescriptionHelpFormatter,
                         description="Write DIR/regions.csv and DIR/scenario.toml: N realistic "
                                     "synthetic territories (same seed, same files).",
                         epilog="example:\n  optimizer synth --regions 100000 --seed 7 "
                                "--out /tmp/t100k\n")
    syn.add_argument("--regions", required=True, type=int, metavar="N",
                     help="number of territories, e.g. 10000")
    syn.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    syn.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    return p


@contextmanager
def _progress(enabled: bool = True, after: float = 2.0) -> Iterator[Callable[[str], None]]:
    """A progress callback that prints to stderr once the run has taken `after` seconds."""
    state = {"msg": "starting", "printed": ""}
    t0 = time.perf_counter()
    done = threading.Event()

    def loop() -> None:
        while not done.wait(0.5):
            el = time.perf_counter() - t0
            if el >= after and state["msg"] != state["printed"]:
                print(f"… {state['msg']} ({el:.0f} s)", file=sys.stderr, flush=True)
                state["printed"] = state["msg"]

    th = threading.Thread(target=loop, daemon=True)
    if enabled:
        th.start()

    def say(msg: str) -> None:
        state["msg"] = msg

    try:
        yield say
    finally:
        done.set()


def _load(args: argparse.Namespace):  # noqa: ANN202 - internal
    from optimizer.regions import read_regions
    from optimizer.scenario import Scenario, load_scenario

    problems = []
    scenario = Scenario()
    if args.scenario is not None:
        try:
            scenario = load_scenario(args.scenario)
        except InputError as e:
            problems += e.problems
    try:
        regions = read_regions(args.regions, scenario)
    except InputError as e:
        problems += e.problems
        regions = None
    if problems:
        raise InputError(problems)
    return regions, scenario


def _cmd_validate(args: argparse.Namespace) -> int:
    from optimizer.plan import resolve
    from optimizer.scoring import high_potential, score

    regions, scenario = _load(args)
    resolved = resolve(regions, scenario)
    scores, notes = score(regions, resolved)
    hp = high_potential(regions, scores, resolved, str(args.regions))
    for n in notes:
        print(n(args.lang))
    if args.lang == "zh":
        print(f"输入有效：{len(regions)} 个区域，其中高潜力区域 {int(hp.sum())} 个。")
    else:
        print(f"inputs are valid: {len(regions):,} regions, {int(hp.sum()):,} high-potential.")
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    from optimizer.export import write_outputs
    from optimizer.plan import run_plan
    from optimizer.result import Status

    lang = args.lang
    with _progress() as say:
        say("reading inputs")
        regions, scenario = _load(args)
        if scenario.years:
            return _run_path(args, regions, scenario, say)
        result = run_plan(regions, scenario, regions_file=str(args.regions),
                          explain=not args.no_explain, progress=say)
        say("writing outputs")
        inputs = {"regions": args.regions}
        if args.scenario is not None:
            inputs["scenario"] = args.scenario
        written = write_outputs(result, args.out, inputs)
    for n in result.notes:
        print(n(lang))
    for name, pool in result.pools.items():
        label = {"headcount": ("Headcount", "人员"), "budget": ("Budget", "预算")}[name]
        head = label[1] if lang == "zh" else label[0]
        if pool.status == Status.OPTIMAL:
            share = pool.hp_share or 0.0
            if lang == "zh":
                print(f"{head}：最优。高潜力区域份额 {share:.1%}（规则 ≥ {pool.hp_required:.0%}）")
            else:
                print(f"{head}: optimal. High-potential share {share:.1%} "
                      f"(rule ≥ {pool.hp_required:.0%})")
            for b in pool.binding:
                print(f"  - {b.text(lang)}")
        else:
            assert pool.diagnosis is not None
            print(f"{head}：不可行 —— {pool.diagnosis.text('zh')}" if lang == "zh"
                  else f"{head}: infeasible — {pool.diagnosis.text('en')}")
    if result.status != Status.OPTIMAL:
        ms = result.max_share()
        if ms is not None:
            print(f"限制允许的最大高潜力份额：{ms:.4%}" if lang == "zh" else
                  f"The largest high-potential share the limits allow: {ms:.4%}")
        if result.relaxations:
            print("可行的最近方案（每次只放宽一类规则）：" if lang == "zh" else
                  "Nearest plans that solve (one kind of rule relaxed at a time):")
            for r in result.relaxations:
                print(f"  - {r.text(lang)}")
        else:
            print("放宽单一类规则无法得到可行方案。" if lang == "zh" else
                  "No single kind of relaxation makes this plan solve.")
    for p in written:
        print(("已写入 " if lang == "zh" else "wrote ") + str(p))
    return EXIT_OK if result.status == Status.OPTIMAL else EXIT_INFEASIBLE


def _run_path(args: argparse.Namespace, regions, scenario, say) -> int:  # noqa: ANN001
    """A scenario with [[years]]: one LP over all years, path.* outputs."""
    from optimizer.export import write_path_outputs
    from optimizer.path import describe, run_path
    from optimizer.result import Status

    result = run_path(regions, scenario, regions_file=str(args.regions), progress=say)
    say("writing outputs")
    inputs = {"regions": args.regions}
    if args.scenario is not None:
        inputs["scenario"] = args.scenario
    written = write_path_outputs(result, args.out, inputs)
    years = ", ".join(str(y) for y in result.years)
    print(f"多年计划：{years}" if args.lang == "zh" else f"Multi-year plan: {years}")
    for line in describe(result, args.lang):
        print(line)
    for p in written:
        print(("已写入 " if args.lang == "zh" else "wrote ") + str(p))
    return EXIT_OK if result.status == Status.OPTIMAL else EXIT_INFEASIBLE


def _cmd_synth(args: argparse.Namespace) -> int:
    from optimizer.synth import write_synth

    if args.regions < 1:
        raise InputError([_problem("--regions", f"found {args.regions}; expected N ≥ 1")])
    paths = write_synth(args.regions, args.seed, args.out)
    for p in paths.values():
        print(f"wrote {p}")
    return EXIT_OK


# --------------------------------------------------------------------------- sensitivity

def _sensitivity_parser(sub, inputs: Callable[[argparse.ArgumentParser], None]) -> None:  # noqa: ANN001
    sen = sub.add_parser(
        "sensitivity", help="re-plan under weights drawn around the chosen ones; write "
        "sensitivity.csv, sensitivity.json", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Draw the dimension and indicator weights around the scenario's, plan "
                    "each draw, and report per region and pool the median and 10-90 %% range "
                    "of the allocation, how often it gains against today, and (threshold "
                    "rule) how often it is high-potential.",
        epilog="example:\n  optimizer sensitivity --regions inputs/regions.csv --scenario "
               "inputs/scenario.toml --draws 1000 --range 0.2 --out out\n\nexit status: 0 "
               "done; 2 invalid input; 3 the base plan is infeasible.\n")
    inputs(sen)
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
    sen.add_argument("--workers", type=int, default=None, metavar="N",
                     help="processes to solve in (default: all cores)")
    sen.add_argument("--out", required=True, metavar="DIR", type=Path,
                     help="output folder (created if missing)")


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
    from optimizer.result import Status
    from optimizer.sensitivity import (
        check_settings,
        run_sensitivity,
        sensitivity_csv_bytes,
        sensitivity_json,
    )

    zh = args.lang == "zh"
    options = {"draws": "--draws", "seed": "--seed", "mode": "--mode", "spread": "--range",
               "concentration": "--concentration", "workers": "--workers"}
    check_settings(args.draws, args.mode, args.spread, args.concentration, args.workers,
                   args.seed, names=options)
    regions, scenario = _load(args)
    res = run_sensitivity(regions, scenario, draws=args.draws, seed=args.seed, mode=args.mode,
                          spread=args.spread, concentration=args.concentration,
                          workers=args.workers, progress=_progress_bar())
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = args.out / "sensitivity.csv", args.out / "sensitivity.json"
    csv_path.unlink(missing_ok=True)  # a stale table must not pass for this run's
    if res.status == Status.OPTIMAL:
        csv_path.write_bytes(sensitivity_csv_bytes(res))
    json_path.write_text(sensitivity_json(res), encoding="utf-8")
    if res.status != Status.OPTIMAL:
        for name, pool in res.base.pools.items():
            if pool.diagnosis is not None:
                print(f"{name}: {pool.diagnosis.text(args.lang)}")
        print("基础方案不可行：未抽样。" if zh else
              "The base plan is infeasible: no draws were solved.")
        print(("已写入 " if zh else "wrote ") + str(json_path))
        return EXIT_INFEASIBLE
    print(f"{res.draws} 次抽样，{res.infeasible} 次不可行，用时 {res.seconds:.1f} 秒" if zh else
          f"{res.draws:,} draws, {res.infeasible:,} infeasible, {res.seconds:.1f} s")
    head = (("区域", "资源", "基础方案", "中位数", "P10–P90", "增加概率", "高潜力概率") if zh else
            ("region", "pool", "base", "median", "p10–p90", "gains", "high-potential"))
    rows = [list(head)]
    for r in res.table.itertuples(index=False):
        def num(v: float) -> str:
            return "" if v != v else f"{v:,.0f}"  # NaN: no feasible draw / column rule
        pool = {"headcount": "人员", "budget": "预算"}.get(r.pool, r.pool) if zh else r.pool
        rows.append([str(r.region), pool, num(r.base), num(r.median),
                     f"{num(r.p10)}–{num(r.p90)}" if r.p10 == r.p10 else "",
                     "" if r.gain_freq != r.gain_freq else f"{r.gain_freq:.0%}",
                     "" if r.hp_freq != r.hp_freq else f"{r.hp_freq:.0%}"])
    _print_columns(rows)
    for p in (csv_path, json_path):
        print(("已写入 " if zh else "wrote ") + str(p))
    return EXIT_OK


def _problem(where: str, msg: str):  # noqa: ANN202 - internal
    from optimizer.errors import Problem

    return Problem(where, msg)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    commands = {"run": _cmd_run, "validate": _cmd_validate, "synth": _cmd_synth,
                "sensitivity": _cmd_sensitivity}
    try:
        return commands[args.command](args)
    except InputError as e:
        n = len(e.problems)
        print(f"error: {n} problem{'s' if n != 1 else ''} in the input:", file=sys.stderr)
        for p in e.problems:
            print(f"  {p}", file=sys.stderr)
        return EXIT_INPUT
    except (SolverError, VerificationError) as e:
        print(f"internal error: {e}\nNo allocation was written. Please report this with the "
              "input files.", file=sys.stderr)
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the user gets a message, never a bare traceback
        print(f"internal error: {type(e).__name__}: {e}\nNo allocation was written. Please "
              "report this with the input files.", file=sys.stderr)
        if "--debug" in sys.argv or __import__("os").environ.get("OPTIMIZER_DEBUG"):
            traceback.print_exc()
        return EXIT_INTERNAL

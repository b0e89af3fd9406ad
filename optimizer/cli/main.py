"""Command line: parses, calls the package, reports. Exit 0 optimal, 1 internal error,
2 invalid input, 3 infeasible."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimizer import InputError, SolverError, Text, VerificationError, __version__, t
from optimizer.cli.common import (
    EXIT_INFEASIBLE,
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_OK,
    add_inputs,
    load_inputs,
    option_problem,
    progress,
)

if TYPE_CHECKING:
    from optimizer import PoolResult

# Each module adds its sub-commands with `register(sub)`; a sub-parser's `func` default runs
# the command. run, validate and synth live here.
COMMAND_MODULES = ("optimizer.cli.sweeps", "optimizer.cli.store", "optimizer.cli.cycle",
                   "optimizer.cli.files")

EXAMPLES = """\
examples:
  optimizer run --regions inputs/regions.csv --scenario inputs/scenario.toml --out out
  optimizer validate --regions inputs/regions.csv --scenario inputs/scenario.toml
  optimizer synth --regions 10000 --seed 1 --out /tmp/synth
  optimizer sensitivity --regions inputs/regions.csv --scenario inputs/scenario.toml --out out
  optimizer batch --regions inputs/regions.csv --scenarios scenarios --out out_batch
  optimizer template --lang zh --out templates
  optimizer plan save --regions inputs/regions.csv --scenario inputs/scenario.toml --name 基线 \\
      --period 2025
  optimizer actuals import --plan ID inputs/actuals_2025_q1_q2.csv
  optimizer review --plan ID --quarter 2025Q2 --out review
  optimizer replan --plan ID --after 2025Q2

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

    run = sub.add_parser("run", help="optimise and write allocation.csv, allocation.xlsx, "
                         "summary.json", formatter_class=argparse.RawDescriptionHelpFormatter,
                         description="Optimise both pools and write the output files.",
                         epilog="example:\n  optimizer run --regions inputs/regions.csv "
                                "--scenario inputs/scenario.toml --out out\n")
    add_inputs(run)
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
    add_inputs(val)

    syn = sub.add_parser("synth", help="write a synthetic territory set for tests and "
                         "benchmarks", formatter_class=argparse.RawDescriptionHelpFormatter,
                         description="Write DIR/regions.csv and DIR/scenario.toml: N realistic "
                                     "synthetic territories (same seed, same files).",
                         epilog="example:\n  optimizer synth --regions 100000 --seed 7 "
                                "--out /tmp/t100k\n")
    syn.add_argument("--regions", required=True, type=int, metavar="N",
                     help="number of territories, e.g. 10000")
    syn.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    syn.add_argument("--pools", type=int, default=2, metavar="P", help="pools in all, headcount "
                     "and budget included (default 2; 8 adds six pools of every kind)")
    syn.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    run.set_defaults(func=_cmd_run)
    val.set_defaults(func=_cmd_validate)
    syn.set_defaults(func=_cmd_synth)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return p


def _cmd_validate(args: argparse.Namespace) -> int:
    from optimizer import prepare

    regions, scenario = load_inputs(args)
    prep = prepare(regions, scenario, str(args.regions))
    hp = prep.hp
    for n in prep.notes:
        print(n(args.lang))
    print(t("cli_inputs_valid", args.lang, n=len(regions), hp=int(hp.sum())))
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    from optimizer import Status
    from optimizer.report.export import failure_summary, prepare_out_dir, write_failure

    inputs = {"regions": args.regions}
    if args.scenario is not None:
        inputs["scenario"] = args.scenario
    # Every exit path leaves a true folder: an earlier run's outputs go first, and a run
    # that ends without a plan leaves only a summary.json that says why.
    try:
        prepare_out_dir(args.out)
        return _plan_and_write(args, inputs)
    except InputError as e:
        write_failure(args.out, failure_summary(Status.INVALID, inputs, problems=e.problems))
        raise
    except Exception as e:
        write_failure(args.out, failure_summary(Status.ERROR, inputs,
                                                message=f"{type(e).__name__}: {e}"))
        raise


def _plan_and_write(args: argparse.Namespace, inputs: dict[str, Path]) -> int:
    from optimizer import Status, fmt_cny, run_plan, write_outputs
    from optimizer.report.summary import people_cost_total

    lang = args.lang
    with progress() as say:
        say("reading inputs")
        regions, scenario = load_inputs(args)
        if scenario.years:
            return _run_path(args, regions, scenario, say, inputs)
        result = run_plan(regions, scenario, regions_file=str(args.regions),
                          explain=not args.no_explain, progress=say)
        say("writing outputs")
        written = write_outputs(result, args.out, inputs, lang=lang)
    for n in result.notes:
        print(n(lang))
    for pool in result.pools.values():
        for line in _pool_lines(pool, lang):
            print(line)
    total = people_cost_total(result)
    if total is not None:
        print(t("cli_people_cost_total", lang, cost=fmt_cny(total, lang)))
    if result.status != Status.OPTIMAL:
        ms = result.max_share()
        if ms is not None:
            print(t("cli_max_share", lang, share=ms))
        if result.relaxations:
            print(t("cli_nearest_plans", lang))
            for r in result.relaxations:
                print(f"  - {r.text(lang)}")
        else:
            print(t("cli_no_relaxation", lang))
    for p in written:
        print(t("cli_wrote", lang, path=p))
    return EXIT_OK if result.status == Status.OPTIMAL else EXIT_INFEASIBLE


def _pool_lines(pool: PoolResult, lang: str) -> list[str]:
    """What the run prints of one pool, named by its label: optimal with its share, binding
    rules and people cost, or infeasible with the diagnosis."""
    from optimizer import Status, fmt_cny
    from optimizer.report.table import cost_cents

    en = pool.label.en
    head = Text(en[:1].upper() + en[1:], pool.label.zh)(lang)  # a sentence starts upper case
    if pool.status != Status.OPTIMAL:
        assert pool.diagnosis is not None
        return [t("cli_pool_infeasible", lang, pool=head, diagnosis=pool.diagnosis.text(lang))]
    share = pool.hp_share or 0.0
    lines = [t("cli_pool_optimal", lang, pool=head, share=share, required=pool.hp_required)]
    lines += [f"  - {b.text(lang)}" for b in pool.binding]
    cents = cost_cents(pool)
    if cents is not None:
        cost = fmt_cny(sum(cents) / 100, lang)
        unit = fmt_cny(pool.unit_cost, lang)
        lines.append("  - " + t("cli_pool_cost", lang, cost=cost, unit=unit))
    return lines


def _run_path(args: argparse.Namespace, regions, scenario, say, inputs) -> int:  # noqa: ANN001
    """A scenario with [[years]]: one LP over all years, path.* outputs."""
    from optimizer import Status, run_path, write_path_outputs
    from optimizer.report.path import describe

    result = run_path(regions, scenario, regions_file=str(args.regions), progress=say)
    say("writing outputs")
    for n in [*regions.attrs.get("read_notes", []), *scenario.notes]:
        print(n(args.lang))
    written = write_path_outputs(result, args.out, inputs, lang=args.lang)
    years = ", ".join(str(y) for y in result.years)
    print(t("cli_multi_year", args.lang, years=years))
    for line in describe(result, args.lang):
        print(line)
    for p in written:
        print(t("cli_wrote", args.lang, path=p))
    return EXIT_OK if result.status == Status.OPTIMAL else EXIT_INFEASIBLE


def _cmd_synth(args: argparse.Namespace) -> int:
    from optimizer.studies.synth import write_synth

    if args.regions < 1:
        raise InputError([option_problem("--regions", f"found {args.regions}; expected N ≥ 1")])
    paths = write_synth(args.regions, args.seed, args.out, pools=args.pools)
    for p in paths.values():
        print(f"wrote {p}")
    return EXIT_OK


class _ClosedPipeSafe:
    """stdout that outlives its reader (`optimizer run … | head -1`, `… | true`).

    The files of a run are its result; a reader that went away must not turn a finished run
    into an "internal error". Once the pipe is closed, further output goes nowhere.
    """

    def __init__(self, stream: Any):
        self._stream = stream
        self._closed = False

    def write(self, text: str) -> int:
        """Write and flush at once, so that a closed pipe shows here and not at exit."""
        if not self._closed:
            try:
                self._stream.write(text)
                self._stream.flush()
            except BrokenPipeError:
                self._closed = True
                with contextlib.suppress(OSError, ValueError):
                    # the interpreter's last flush at exit must not find the broken pipe
                    os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())
        return len(text)

    def flush(self) -> None:
        """Nothing to do: every write is flushed."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if not isinstance(sys.stdout, _ClosedPipeSafe):
        sys.stdout = _ClosedPipeSafe(sys.stdout)
    try:
        return args.func(args)
    except InputError as e:
        lang = getattr(args, "lang", "en")
        n = len(e.problems)
        print(t("cli_input_problem" if n == 1 else "cli_input_problems", lang, n=n),
              file=sys.stderr)
        for p in e.problems:
            print(f"  {p.render(lang)}", file=sys.stderr)
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
        if "--debug" in sys.argv or os.environ.get("OPTIMIZER_DEBUG"):
            traceback.print_exc()
        return EXIT_INTERNAL

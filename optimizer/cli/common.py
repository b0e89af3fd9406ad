"""What the command-line modules share: exit codes, the input options, reading both inputs,
a progress line on stderr and the error type of a bad option."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from optimizer import InputError, Problem

if TYPE_CHECKING:
    import pandas as pd

    from optimizer import Scenario

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_INFEASIBLE = 0, 1, 2, 3


def option_problem(where: str, msg: str) -> Problem:
    """A problem with a command-line option (`where` names it, e.g. "--draws")."""
    return Problem(where, msg)


def add_inputs(sp: argparse.ArgumentParser) -> None:
    """The options every command that reads the two inputs shares."""
    sp.add_argument("--regions", required=True, metavar="FILE", type=Path,
                    help="regions table, CSV (UTF-8, BOM optional) or XLSX; one row per "
                         "region, e.g. inputs/regions.csv")
    sp.add_argument("--scenario", metavar="FILE", type=Path,
                    help="scenario TOML (totals, weights, high-potential rule, limits, "
                         "groups), e.g. inputs/scenario.toml; default: every default of "
                         "the model (totals = current sums)")
    sp.add_argument("--lang", choices=("en", "zh"), default="en",
                    help="language of the messages (default: en)")


@contextmanager
def progress(enabled: bool = True, after: float = 2.0) -> Iterator[Callable[[str], None]]:
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


def load_inputs(args: argparse.Namespace) -> tuple[pd.DataFrame, Scenario]:
    """Read `--scenario` and `--regions`; every problem of both in one InputError."""
    from optimizer import Scenario, load_scenario, read_regions

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

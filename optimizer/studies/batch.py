"""Plan every scenario of a folder on one regions table, side by side.

One scenario per business unit or per what-if: each is planned as `optimizer run` plans
it (a [[years]] scenario as a multi-year path) and written into a folder of its own with
the same files; a comparison table puts the scenarios next to each other. Scenarios are
read in the calling process (an invalid one is reported, not fatal); the plans are
solved on Dask, one task per scenario, on a local cluster started for the batch or on an
existing cluster given by its scheduler address. Each plan is deterministic, so a batch
gives the same files wherever it runs.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.errors import InputError, Problem
from optimizer.flow.path import PathResult, run_path
from optimizer.flow.plan import run_plan
from optimizer.inputs.regions import regions_from_bytes
from optimizer.inputs.scenario import POOLS, Scenario
from optimizer.inputs.scenario_read import load_scenario
from optimizer.model.result import PlanResult, Status
from optimizer.report.export import write_outputs, write_path_outputs
from optimizer.report.outdir import prepare_out_dir, write_files
from optimizer.report.summary import file_sha256, summary_json
from optimizer.report.table import ALLOCATION_CSV, ALLOCATION_XLSX, SUMMARY_JSON, neutralise
from optimizer.studies.cluster import dask_client

INVALID = "invalid"
COMPARISON_CSV = "comparison.csv"
COMPARISON_REGIONS_CSV = "comparison_regions.csv"
BATCH_JSON = "batch.json"
_STALE = (ALLOCATION_CSV, ALLOCATION_XLSX, "path.csv", "path.xlsx", SUMMARY_JSON)
_POOL_FIELDS = ("total", "hp_share", "hp_required", "objective", "binding")

Progress = Callable[[int, int], None]


@dataclass
class Outcome:
    """One scenario of a batch: its plan, or why it could not be planned."""

    name: str  # the file's stem: also the name of its output folder
    file: Path
    status: str  # "optimal", "infeasible" or "invalid"
    result: PlanResult | PathResult | None = None
    problems: list[Problem] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)


@dataclass
class BatchResult:
    """A batch: one outcome per scenario (sorted by file name) and the files written."""

    outcomes: list[Outcome]
    files: list[Path]  # comparison.csv, comparison_regions.csv, batch.json
    explain: bool = True

    def count(self, status: str) -> int:
        """How many scenarios ended with `status`."""
        return sum(o.status == status for o in self.outcomes)


# --------------------------------------------------------------------------- planning

def plan_scenario(regions_data: bytes, regions_file: str, scenario: Scenario,
                  explain: bool = True) -> PlanResult | PathResult | list[Problem]:
    """Plan one scenario as `optimizer run` does (runs on a Dask worker).

    The regions table is validated against this scenario (which columns it needs
    depends on it); problems only visible then come back as a list, not raised, so one
    invalid scenario does not stop the batch.
    """
    try:
        regions = regions_from_bytes(regions_data, regions_file, scenario)
        if scenario.years:
            return run_path(regions, scenario, regions_file=regions_file)
        return run_plan(regions, scenario, regions_file=regions_file, explain=explain)
    except InputError as e:
        return e.problems


def _label(names: Mapping[str, str] | None, key: str) -> str:
    return (names or {}).get(key, key)


def _scenario_files(folder: Path, names: Mapping[str, str] | None) -> list[Path]:
    if not folder.is_dir():
        raise InputError([Problem(_label(names, "scenarios"), f"found {str(folder)!r}, which "
                                  "is not a folder; expected a folder of scenario .toml files")])
    files = sorted(p for p in folder.glob("*.toml") if p.is_file())
    if not files:
        raise InputError([Problem(_label(names, "scenarios"), f"no *.toml file in "
                                  f"{str(folder)!r}; expected one scenario file per plan")])
    return files


def run_batch(regions_path: Path, scenarios_dir: Path, out_dir: Path,
              workers: int | None = None, scheduler: str | None = None,
              explain: bool = True, progress: Progress | None = None,
              names: Mapping[str, str] | None = None, lang: str = "en") -> BatchResult:
    """Plan every `*.toml` of `scenarios_dir` on the regions table; write each and a comparison.

    Parameters
    ----------
    regions_path
        The regions table (CSV or XLSX), read once and shipped to the workers once.
    scenarios_dir
        Folder of scenario files, planned in file-name order.
    out_dir
        Receives OUT/<scenario stem>/ per scenario (the files `optimizer run` writes;
        summary.json with status "invalid" and the messages for an invalid scenario),
        comparison.csv, comparison_regions.csv and batch.json.
    workers
        Worker processes of the local Dask cluster (default: every core); 1 plans in
        the calling process.
    scheduler
        Address of a running Dask scheduler: plan there instead (left running).
    explain
        Price the binding rules, as `optimizer run` does unless `--no-explain`.
    progress
        Called as `progress(done, total)` after each scenario.
    names
        How the user names the settings ("scenarios", "out", "scheduler", "workers"),
        for messages.
    lang
        Language of the messages in comparison.csv ("en" or "zh").

    Raises
    ------
    InputError
        The regions file cannot be read, the folder holds no scenario, or the
        scheduler cannot be reached; invalid scenarios are outcomes, not errors.
    """
    from optimizer.studies.sensitivity import default_workers

    workers = default_workers() if workers is None else workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError([Problem(_label(names, "workers"), f"found {workers!r}; expected a "
                                  "whole number of processes ≥ 1")])
    files = _scenario_files(Path(scenarios_dir), names)
    try:
        data = Path(regions_path).read_bytes()
    except OSError as e:
        raise InputError([Problem(str(regions_path), "cannot read the file "
                                  f"({e.strerror or e})")]) from None
    out_dir = prepare_out_dir(out_dir, (COMPARISON_CSV, COMPARISON_REGIONS_CSV, BATCH_JSON))
    outcomes: dict[str, Outcome] = {}
    todo: list[tuple[Outcome, Scenario]] = []
    for f in files:
        o = Outcome(f.stem, f, INVALID)
        outcomes[o.name] = o
        try:
            todo.append((o, load_scenario(f)))
        except InputError as e:
            o.problems = e.problems
    report = progress or (lambda _done, _total: None)
    done = 0

    def finish(o: Outcome, planned: PlanResult | PathResult | list[Problem]) -> None:
        nonlocal done
        _record(o, planned, regions_path, out_dir)
        done += 1
        report(done, len(files))

    regions_file = str(regions_path)
    local = scheduler is None and (workers == 1 or len(todo) <= 1)
    with contextlib.ExitStack() as stack:
        # connect before writing anything: an unreachable scheduler leaves no half batch
        client = None if local else stack.enter_context(
            dask_client(min(workers, len(todo)), scheduler, _label(names, "scheduler")))
        for o in outcomes.values():
            if o.problems:
                finish(o, o.problems)
        if client is None:
            for o, s in todo:
                finish(o, plan_scenario(data, regions_file, s, explain))
        else:
            from distributed import as_completed

            shipped = client.scatter(data, broadcast=True, hash=False)
            futures = {client.submit(plan_scenario, shipped, regions_file, s, explain,
                                     pure=False): o for o, s in todo}
            try:
                for fut in as_completed(list(futures), loop=client.loop):
                    finish(futures[fut], fut.result())
            except BaseException:
                client.cancel(list(futures))
                raise
    ordered = [outcomes[f.stem] for f in files]
    result = BatchResult(ordered, [], explain)
    result.files = _write_tables(result, regions_path, Path(scenarios_dir), out_dir, lang)
    return result


def _record(o: Outcome, planned: PlanResult | PathResult | list[Problem], regions_path: Path,
            out_dir: Path) -> None:
    """Write one scenario's folder as its result comes in."""
    folder = out_dir / o.name
    inputs = {"regions": regions_path, "scenario": o.file}
    if isinstance(planned, list):
        o.status, o.problems = INVALID, planned
        # a plan from an earlier batch must not pass for this one's
        prepare_out_dir(folder, _STALE)
        summary = {
            "status": INVALID,
            "inputs": {k: {"path": str(p), "sha256": file_sha256(p)} for k, p in inputs.items()},
            "problems": [_problem_dict(p) for p in planned],
        }
        o.written = write_files(folder, [(SUMMARY_JSON, summary_json(summary).encode())])
        return
    o.result, o.status = planned, str(planned.status)
    write = write_path_outputs if isinstance(planned, PathResult) else write_outputs
    o.written = write(planned, folder, inputs)


def _problem_dict(p: Problem) -> dict[str, Any]:
    return {"file": p.file, "row": p.row, "column": p.column, "message": p.message,
            "text": p.render("en"), "text_zh": p.render("zh")}


# --------------------------------------------------------------------------- comparison

def _last(values: Sequence[Any] | None) -> Any:
    return values[-1] if values else None


def _pool_values(o: Outcome, pool: str, explain: bool) -> dict[str, Any]:
    """The pool's figures for the comparison row (a multi-year plan: its final year);
    empty when the scenario has no such pool."""
    r = o.result
    empty = dict.fromkeys(_POOL_FIELDS)
    if r is None or pool not in r.pools:
        return empty
    optimal = r.status == Status.OPTIMAL
    if isinstance(r, PathResult):
        pp = r.pools[pool]
        return {**empty, "total": _last(pp.totals), "hp_required": _last(pp.shares),
                "hp_share": _last(pp.hp_share) if optimal else None}
    pr = r.pools[pool]
    return {"total": pr.total, "hp_required": pr.hp_required,
            "hp_share": pr.hp_share if optimal else None,
            "objective": pr.objective if optimal else None,
            # without the rule prices nothing is known about which rules bind
            "binding": len(pr.binding) if optimal and explain else None}


def batch_pools(batch: BatchResult) -> dict[str, str]:
    """Every pool of the batch's plans and its kind ("headcount" | "budget"): headcount,
    budget, then the added pools in the order the scenarios (by file name) first name them."""
    out = {p: p for p in POOLS}
    for o in batch.outcomes:
        if o.result is None:
            continue
        for name, pr in o.result.pools.items():
            if name not in out:
                out[name] = _kind(pr)
    return out


def _kind(pr: Any) -> str:
    kind = getattr(pr, "kind", None)
    if kind in ("headcount", "budget"):
        return str(kind)
    return "headcount" if getattr(pr, "integer", False) else "budget"


def _people_cost(o: Outcome, pool: str) -> float | None:
    """The pool's people cost in a planned single-year scenario (None: no unit cost)."""
    r = o.result
    if not isinstance(r, PlanResult) or r.status != Status.OPTIMAL or pool not in r.pools:
        return None
    cost = getattr(r.pools[pool], "cost", None)
    return None if cost is None else math.fsum(float(c) for c in cost)


def _cost_pools(batch: BatchResult) -> list[str]:
    """The pools with a unit cost in some scenario of the batch."""
    out: dict[str, None] = {}
    for o in batch.outcomes:
        if o.result is None:
            continue
        for name, pr in o.result.pools.items():
            if getattr(pr, "unit_cost", None) is not None:
                out[name] = None
    return list(out)


def comparison_table(batch: BatchResult, lang: str = "en") -> pd.DataFrame:
    """One row per scenario: status, per pool (every pool of the batch: headcount, budget,
    then the added pools) the total, the high-potential share reached and required, the
    objective and the number of binding rules; where some scenario gives a pool a unit
    cost, `<pool>_cost` and `people_cost_total`; `problems` when invalid. A scenario
    without a pool is empty in its columns.

    A multi-year scenario shows its final year (`years` lists them); it has no single
    objective, no rule prices and no people cost.
    """
    pools = batch_pools(batch)
    costed = _cost_pools(batch)
    rows = []
    for o in batch.outcomes:
        years = o.result.years if isinstance(o.result, PathResult) else []
        span = f"{years[0]}-{years[-1]}" if len(years) > 1 else "".join(map(str, years))
        row: dict[str, Any] = {"scenario": o.name, "status": o.status, "years": span}
        for p in pools:
            for k, v in _pool_values(o, p, batch.explain).items():
                row[f"{p}_{k}"] = v
        if costed:
            costs = {p: _people_cost(o, p) for p in costed}
            for p in costed:
                row[f"{p}_cost"] = costs[p]
            known = [c for c in costs.values() if c is not None]
            row["people_cost_total"] = math.fsum(known) if known else None
        row["problems"] = "; ".join(p.render(lang) for p in o.problems)
        rows.append(row)
    return pd.DataFrame(rows)


def comparison_regions(batch: BatchResult) -> pd.DataFrame:
    """One row per region; per planned scenario and each of its pools (the added ones
    included) its allocation (`scenario:pool`, a multi-year plan `scenario:pool:year`);
    empty where a scenario has no plan."""
    return _regions_table(batch)[0]


def _regions_table(batch: BatchResult) -> tuple[pd.DataFrame, dict[str, str]]:
    columns: dict[str, pd.Series] = {}
    kinds: dict[str, str] = {}
    order: dict[str, None] = {}  # regions in input order (every scenario reads one table)
    for o in batch.outcomes:
        r = o.result
        if r is None:
            continue
        names = r.regions["region"].astype(str).tolist()
        order.update(dict.fromkeys(names))
        planned = r.status == Status.OPTIMAL
        for p, pr in r.pools.items():
            kind = _kind(pr)
            if isinstance(r, PathResult):
                x = pr.allocation
                for t, y in enumerate(r.years):
                    columns[f"{o.name}:{p}:{y}"] = pd.Series(
                        x[:, t] if planned and x is not None else math.nan, index=names,
                        dtype=float)
                    kinds[f"{o.name}:{p}:{y}"] = kind
            else:
                x = pr.allocation
                columns[f"{o.name}:{p}"] = pd.Series(
                    x if planned and x is not None else math.nan, index=names, dtype=float)
                kinds[f"{o.name}:{p}"] = kind
    table = pd.DataFrame(columns, index=list(order))
    table.index.name = "region"
    return table.reset_index(), kinds


def _cell(v: Any, kind: str) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if isinstance(v, str):
        return neutralise(v)
    if kind in ("headcount", "count"):
        return str(int(round(float(v))))
    if kind == "budget":
        return f"{round(float(v), 2) + 0.0:.2f}"
    return f"{round(float(v), 6) + 0.0:.6f}"  # shares and objectives


def table_csv_bytes(table: pd.DataFrame, kinds: Mapping[str, str] | None = None) -> bytes:
    """A table as CSV for Excel: UTF-8 with BOM, CRLF, empty where unknown.

    `kinds` maps a numeric column to "headcount" (whole people), "budget" (CNY, 2
    decimals) or "count"; other numbers get 6 decimals, text is neutralised.
    """
    kinds = kinds or {}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([neutralise(str(c)) for c in table.columns])
    for rec in table.to_dict("records"):
        writer.writerow([_cell(rec[c], kinds.get(str(c), "")) for c in table.columns])
    return buf.getvalue().encode("utf-8-sig")


def _comparison_kinds(batch: BatchResult) -> dict[str, str]:
    pools = batch_pools(batch)
    return {**{f"{p}_total": k for p, k in pools.items()},
            **{f"{p}_binding": "count" for p in pools},
            **{f"{p}_cost": "budget" for p in _cost_pools(batch)},
            "people_cost_total": "budget"}


def batch_dict(batch: BatchResult, regions_path: Path, scenarios_dir: Path) -> dict[str, Any]:
    """The batch as strict-JSON-ready data: status per scenario (no time stamps)."""
    return {
        "regions": {"path": str(regions_path), "sha256": file_sha256(regions_path)},
        "scenarios_dir": str(scenarios_dir),
        "explain": batch.explain,
        "counts": {s: batch.count(s) for s in ("optimal", "infeasible", INVALID)},
        "scenarios": [{"name": o.name, "file": str(o.file), "status": o.status,
                       "out": o.name, "kind": "path" if isinstance(o.result, PathResult)
                       else "plan" if o.result is not None else None,
                       "problems": [_problem_dict(p) for p in o.problems]}
                      for o in batch.outcomes],
    }


def _write_tables(batch: BatchResult, regions_path: Path, scenarios_dir: Path,
                  out_dir: Path, lang: str) -> list[Path]:
    regions_table, kinds = _regions_table(batch)
    files = [(COMPARISON_CSV, table_csv_bytes(comparison_table(batch, lang),
                                                  _comparison_kinds(batch))),
             (COMPARISON_REGIONS_CSV, table_csv_bytes(regions_table, kinds)),
             (BATCH_JSON, (json.dumps(batch_dict(batch, regions_path, scenarios_dir),
                                      ensure_ascii=False, indent=2, allow_nan=False)
                           + "\n").encode("utf-8"))]
    return write_files(out_dir, files)

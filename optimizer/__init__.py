"""Allocate sales headcount and budget across regions (weighted proportional fairness, exact LP).

The flow, one stage a subpackage (docs/architecture.md); data goes down the list, never up:

    inputs/   read and check the files offices make      → regions table, Scenario
    model/    scores, high-potential set, pools, rules    → Prepared (one `prepare` step)
    solve/    one solver backend, exact polish, rounding  → Solution per pool
    explain/  diagnosis, relaxations, rule prices         → Diagnosis, RulePrice
    flow/     a whole run: `run_plan` (one year), `run_path` (several years)
    report/   allocation tables and files (CSV, JSON, XLSX)
    studies/, cycle/, store/   sensitivity and batch runs; the quarterly cycle; the plan store
    app/, cli/                 the two shells; both use the names below

The public API (imported on first use, so `import optimizer` stays cheap for the CLI):

    >>> from optimizer import allocation_table, load_scenario, read_regions, run_plan
    >>> scenario = load_scenario("inputs/scenario.toml")
    >>> result = run_plan(read_regions("inputs/regions.csv", scenario), scenario)
    >>> result.status, allocation_table(result).shape
    (<Status.OPTIMAL: 'optimal'>, (7, 16))
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name → the module that defines it
_API: dict[str, str] = {
    # errors and words every stage shares
    "InputError": "optimizer.errors", "Problem": "optimizer.errors",
    "SolverError": "optimizer.errors", "VerificationError": "optimizer.errors",
    "Text": "optimizer.words", "t": "optimizer.words",
    "fmt_cny": "optimizer.fmt",
    # inputs
    "read_regions": "optimizer.inputs.regions", "regions_from_bytes": "optimizer.inputs.regions",
    "validate_regions": "optimizer.inputs.regions",
    "Scenario": "optimizer.inputs.scenario", "load_scenario": "optimizer.inputs.scenario_read",
    "scenario_from_text": "optimizer.inputs.scenario_read",
    "scenario_to_toml": "optimizer.inputs.scenario_write",
    # model
    "prepare": "optimizer.model.prepare", "Prepared": "optimizer.model.prepare",
    "RuleId": "optimizer.model.rules",
    "PlanResult": "optimizer.model.result", "PoolResult": "optimizer.model.result",
    "Status": "optimizer.model.result",
    # solve and explain
    "solve_pool": "optimizer.solve.solver", "diagnose": "optimizer.explain.diagnose",
    # flow
    "run_plan": "optimizer.flow.plan", "run_path": "optimizer.flow.path",
    "PathResult": "optimizer.flow.path",
    # report
    "allocation_table": "optimizer.report.table", "write_outputs": "optimizer.report.export",
    "write_path_outputs": "optimizer.report.export", "path_table": "optimizer.report.path",
}

__all__ = [
    "__version__",
    "InputError",
    "Problem",
    "SolverError",
    "VerificationError",
    "Text",
    "t",
    "fmt_cny",
    "read_regions",
    "regions_from_bytes",
    "validate_regions",
    "Scenario",
    "load_scenario",
    "scenario_from_text",
    "scenario_to_toml",
    "prepare",
    "Prepared",
    "RuleId",
    "PlanResult",
    "PoolResult",
    "Status",
    "solve_pool",
    "diagnose",
    "run_plan",
    "run_path",
    "PathResult",
    "allocation_table",
    "write_outputs",
    "write_path_outputs",
    "path_table",
]

if TYPE_CHECKING:  # what a type checker and a reader see; at run time `__getattr__` loads
    from optimizer.errors import InputError, Problem, SolverError, VerificationError
    from optimizer.explain.diagnose import diagnose
    from optimizer.flow.path import PathResult, run_path
    from optimizer.flow.plan import run_plan
    from optimizer.fmt import fmt_cny
    from optimizer.inputs.regions import read_regions, regions_from_bytes, validate_regions
    from optimizer.inputs.scenario import Scenario
    from optimizer.inputs.scenario_read import load_scenario, scenario_from_text
    from optimizer.inputs.scenario_write import scenario_to_toml
    from optimizer.model.prepare import Prepared, prepare
    from optimizer.model.result import PlanResult, PoolResult, Status
    from optimizer.model.rules import RuleId
    from optimizer.report.export import write_outputs, write_path_outputs
    from optimizer.report.path import path_table
    from optimizer.report.table import allocation_table
    from optimizer.solve.solver import solve_pool
    from optimizer.words import Text, t


def __getattr__(name: str) -> Any:
    """A public name, from its module (PEP 562): imported on first use, and looked up there
    every time, so that the API and the module never disagree (a test that patches
    `optimizer.flow.plan.run_plan` patches `optimizer.run_plan` too)."""
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'optimizer' has no attribute '{name}'")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    """The public names (for tab completion)."""
    return sorted(__all__)

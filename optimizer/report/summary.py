"""The run summary (strict JSON): status, inputs with their SHA-256, package versions,
per pool totals, shares, binding rules and prices, diagnoses."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import math
import os
import platform
import re
import sys
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import optimizer
from optimizer.inputs.scenario_write import scenario_to_dict
from optimizer.model.result import PlanResult, PoolResult
from optimizer.report.table import (
    cost_cents,
)
from optimizer.words import Text

if TYPE_CHECKING:  # xlsxwriter is imported where a workbook is written (start-up time)
    pass

def _read_info(result: Any) -> dict[str, Any] | None:
    info = getattr(result.regions, "attrs", {}).get("read_info")
    return dict(info) if info else None


def _clean(value: Any) -> Any:
    """Plain JSON data: numpy scalars and arrays to Python, NaN/inf to None, enums to values."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, Enum):
        return _clean(value.value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        x = float(value)
        return x if math.isfinite(x) else None
    if isinstance(value, str):
        return value
    if isinstance(value, Text):
        return {"en": value.en, "zh": value.zh}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, pd.Series):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        if all(type(v) is str for v in items):  # e.g. the regions of a rule: thousands
            return list(items)
        return [_clean(v) for v in items]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _dist_key(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


@functools.cache
def _dist_infos() -> dict[str, str]:
    """Installed distributions' versions by normalised name, from the names of the
    `<name>-<version>.dist-info` folders on sys.path (the first one wins, as for imports)."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for n in names:
            if n.endswith(".dist-info"):
                name, _, version = n[: -len(".dist-info")].partition("-")
                if version:
                    found.setdefault(_dist_key(name), version)
    return found


def _version(dist: str) -> str | None:
    """A distribution's version: from its .dist-info folder's name where there is one (what
    importlib.metadata reads too, without its ~50 ms import on every run), else from
    importlib.metadata."""
    version = _dist_infos().get(_dist_key(dist))
    if version is not None:
        return version
    import importlib.metadata

    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, str | None]:
    """Versions of the optimizer, Python and the libraries that shape the numbers."""
    return {
        "optimizer": optimizer.__version__,
        "python": platform.python_version(),
        **{name: _version(name) for name in ("pulp", "highspy", "pandas", "numpy")},
    }


def file_sha256(path: str | Path) -> str | None:
    """Hex SHA-256 of a file's bytes, None when it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()
MAX_JSON_DELTA = 5000  # region-by-region price tables above this size live in the XLSX only


def _change_value(v: Any) -> Any:
    """A relaxation's scenario change as JSON data (group rules as their TOML tables)."""
    if isinstance(v, tuple):
        return [dataclasses.asdict(g) if dataclasses.is_dataclass(g) else g for g in v]
    return v


def _pool_summary(pool: PoolResult) -> dict[str, Any]:
    diagnosis = None
    if pool.diagnosis is not None:
        d = pool.diagnosis
        diagnosis = {"text_en": d.text.en, "text_zh": d.text.zh, "conflicts": list(d.conflicts),
                     "max_share": d.max_share, "details": dict(d.details)}
    out: dict[str, Any] = {
        "status": pool.status,
        "label": pool.label,
        "kind": pool.kind,
        "total": int(round(pool.total)) if pool.integer else pool.total,
        "integer": pool.integer,
        "unit_cost": pool.unit_cost,
        "hp_required": pool.hp_required,
        "hp_share": pool.hp_share,
        "hp_share_current": pool.hp_share_current,
        "hp_share_target": pool.hp_share_target,
        "objective": pool.objective,
        "objective_current": pool.objective_current,
        "objective_continuous": pool.objective_continuous,
        "current_meets_rules": pool.current_meets_rules,
        "binding": [
            {"name": r.name, "kind": r.kind, "text_en": r.text.en, "text_zh": r.text.zh,
             "regions": list(r.regions), "moved": r.moved, "share_without": r.share_without,
             "objective_cost": r.objective_cost, "per_point_objective": r.per_point_objective,
             "delta": (None if r.delta is None or len(r.delta) > MAX_JSON_DELTA
                       else {str(k): float(v) for k, v in r.delta.items()})}
            for r in pool.binding
        ],
        "diagnosis": diagnosis,
        "solver": dict(pool.solver),
    }
    if pool.unit_cost is not None:  # the people cost in CNY a year, None without a plan
        cents = cost_cents(pool)
        out["cost"] = None if cents is None else sum(cents) / 100
    return out


def people_cost_total(result: PlanResult) -> float | None:
    """The people cost of every pool with a unit cost (CNY a year, summed in whole cents);
    None when no pool has one or one of them has no allocation."""
    costs = [cost_cents(p) for p in result.pools.values() if p.unit_cost is not None]
    if not costs or any(c is None for c in costs):
        return None
    return sum(sum(c) for c in costs if c is not None) / 100


def summary_dict(result: PlanResult, inputs: Mapping[str, str | Path] | None = None, *,
                 created: dt.datetime | None = None) -> dict[str, Any]:
    """The run summary as strict-JSON-ready data (no NaN, no numpy types).

    Parameters
    ----------
    result
        The plan.
    inputs
        Input files by label (e.g. {"regions": path, "scenario": path}); each is
        recorded with its path and SHA-256 (None when it cannot be read).
    created
        The time stamp to record (default: now); written in UTC.
    """
    when = (created or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    summary = {
        "status": result.status,
        "created": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": versions(),
        "inputs": {label: {"path": str(path), "sha256": file_sha256(path)}
                   for label, path in (inputs or {}).items()},
        "read": _read_info(result),
        "scenario": scenario_to_dict(result.scenario),
        "notes": [{"en": t.en, "zh": t.zh} for t in result.notes],
        "pools": {p: _pool_summary(pool) for p, pool in result.pools.items()},
        "people_cost_total": people_cost_total(result),
        "max_share": result.max_share(),
        "relaxations": [{"kind": r.kind, "text_en": r.text.en, "text_zh": r.text.zh,
                         "changes": {k: _change_value(v) for k, v in r.changes.items()}}
                        for r in result.relaxations],
    }
    return _clean(summary)


def summary_json(summary: dict[str, Any]) -> str:
    """Strict JSON text (UTF-8 characters kept, 2-space indent, trailing newline)."""
    return json.dumps(summary, ensure_ascii=False, indent=2, allow_nan=False,
                      sort_keys=False) + "\n"

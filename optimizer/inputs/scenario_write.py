"""Writing a scenario back to TOML (and to the plain dict the TOML holds): what the app
saves runs unchanged on the CLI (`scenario_from_text(scenario_to_toml(s)) == s`)."""

from __future__ import annotations

from typing import Any

from optimizer.inputs.scenario import (
    DEFAULT_THRESHOLDS,
    DIMENSIONS,
    SECTION_KEYS,
    PoolSpec,
    Scenario,
)


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(float(v)) if v != int(v) or abs(v) >= 1e16 else f"{v:.1f}"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    raise TypeError(type(v))


def scenario_to_dict(s: Scenario) -> dict[str, Any]:
    """The scenario as plain data, in the TOML layout, with every default written out."""
    out: dict[str, Any] = {}
    totals = {}
    if s.headcount_total is not None:
        totals["headcount"] = s.headcount_total
    if s.budget_total is not None:
        totals["budget"] = s.budget_total
    out["totals"] = totals
    out["weights"] = {d: s.weights[d] for d in DIMENSIONS}
    out["indicators"] = {n: {"dimension": i.dimension, "direction": i.direction,
                             "weight": i.weight} for n, i in s.indicators.items()}
    out["scoring"] = {"floor": s.floor}
    hp: dict[str, Any] = {"share": s.hp_share, "threshold": s.hp_threshold}
    if s.hp_rule is not None:
        hp["rule"] = s.hp_rule
    out["high_potential"] = hp
    out["limits"] = {k: getattr(s, k) for k in SECTION_KEYS["limits"]
                     if getattr(s, k) is not None}
    if s.pools:  # only when set: a scenario without added pools keeps its document
        out["pools"] = [_pool_to_dict(p) for p in s.pools]
    groups = []
    for g in s.groups:
        d: dict[str, Any] = {"name": g.name, "pools": list(g.pools)}
        for k in ("min_share", "max_share", "min_amount", "max_amount", "per", "regions",
                  "column", "values", "score", "min_score"):
            v = getattr(g, k)
            if v is not None:
                d[k] = list(v) if isinstance(v, tuple) else v
        groups.append(d)
    out["groups"] = groups
    out["years"] = [{**{k: v for k, v in (("year", y.year), ("headcount", y.headcount),
                                          ("budget", y.budget), ("hp_share", y.hp_share))
                        if v is not None}, **y.totals} for y in s.years]
    # the cycle's keys only when set: a plan without a cycle keeps its document unchanged
    if s.phasing:
        out["phasing"] = {k: list(v) for k, v in s.phasing.items()}
    if s.thresholds != DEFAULT_THRESHOLDS:
        out["thresholds"] = [{"column": t.column, "alarm_when": t.alarm_when, "limit": t.limit,
                              **({"amber": t.amber} if t.amber is not None else {})}
                             for t in s.thresholds]
    if s.allow_headcount_reduction:
        out["replan"] = {"allow_headcount_reduction": True}
    return out


def _pool_to_dict(p: PoolSpec) -> dict[str, Any]:
    d: dict[str, Any] = {"name": p.name, "kind": p.kind, "total": p.total}
    for k in ("label", "current", "min", "max", "max_change", "unit_cost", "eligible",
              "eligible_column", "eligible_values", "hp_share"):
        v = getattr(p, k)
        if v is not None:
            d[k] = list(v) if isinstance(v, tuple) else v
    if p.weights:
        d["weights"] = {k: p.weights[k] for k in DIMENSIONS if k in p.weights}
    return d


def scenario_to_toml(s: Scenario) -> str:
    """The scenario as TOML text that `load_scenario` reads back to an equal Scenario."""
    d = scenario_to_dict(s)
    lines: list[str] = []
    for section in ("totals", "weights", "scoring", "high_potential", "limits"):
        lines.append(f"[{section}]")
        lines += [f"{k} = {_fmt(v)}" for k, v in d[section].items()]
        lines.append("")
    for name, spec in d["indicators"].items():
        lines.append(f"[indicators.{_key(name)}]")
        lines += [f"{k} = {_fmt(v)}" for k, v in spec.items()]
        lines.append("")
    for item in d.get("pools", []):
        lines.append("[[pools]]")
        lines += [f"{k} = {_fmt(v)}" for k, v in item.items() if k != "weights"]
        lines.append("")
        if "weights" in item:
            lines.append("[pools.weights]")
            lines += [f"{k} = {_fmt(v)}" for k, v in item["weights"].items()]
            lines.append("")
    for table, items in (("groups", d["groups"]), ("years", d["years"])):
        for item in items:
            lines.append(f"[[{table}]]")
            lines += [f"{k} = {_fmt(v)}" for k, v in item.items()]
            lines.append("")
    for section in ("phasing", "replan"):
        if section in d:
            lines.append(f"[{section}]")
            lines += [f"{_key(k)} = {_fmt(v)}" for k, v in d[section].items()]
            lines.append("")
    for item in d.get("thresholds", []):
        lines.append("[[thresholds]]")
        lines += [f"{k} = {_fmt(v)}" for k, v in item.items()]
        lines.append("")
    return "\n".join(lines)


def _key(name: str) -> str:
    import re

    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _fmt(name)

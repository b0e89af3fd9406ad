"""A multi-year path for the reader: the region × year table, the JSON summary and the
lines the CLI prints."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.flow.path import PathResult
from optimizer.model.pools import pct
from optimizer.model.result import Status


def path_table(result: PathResult) -> pd.DataFrame:
    """Region × year table for every pool (wide), in input order: per pool current_<pool>,
    then <pool>_<year> for each year (whole people as integers for headcount pools).

    `attrs["kinds"]` maps each pool column to its pool's kind ("headcount" | "budget") and
    `attrs["pools"]` to its pool's name.
    """
    cols: dict[str, object] = {"region": result.regions["region"].astype(str).to_numpy(),
                               "high_potential": result.high_potential}
    kinds: dict[str, str] = {}
    owner: dict[str, str] = {}
    for p, pp in result.pools.items():
        if pp.allocation is None:
            raise ValueError("the path has no allocation (infeasible)")
        whole = pp.kind == "headcount"
        cols[f"current_{p}"] = pp.current.astype(np.int64) if whole else pp.current
        for t, y in enumerate(result.years):
            v = pp.allocation[:, t]
            cols[f"{p}_{y}"] = v.astype(np.int64) if whole else v
        for c in (f"current_{p}", *(f"{p}_{y}" for y in result.years)):
            kinds[c], owner[c] = pp.kind, p
    table = pd.DataFrame(cols)
    # which pool each column belongs to and its kind, so that writers need not parse names
    table.attrs["kinds"] = kinds
    table.attrs["pools"] = owner
    return table


def path_summary(result: PathResult) -> dict[str, object]:
    """The path as JSON-ready data (status, per pool per year totals, shares, allocations)."""
    pools = {}
    for p, pp in result.pools.items():
        d: dict[str, object] = {
            "label": {"en": pp.label.en, "zh": pp.label.zh}, "kind": pp.kind,
            "status": str(pp.status), "years": result.years, "totals": pp.totals,
            "hp_required": pp.shares, "hp_share": pp.hp_share or None,
            "rounding": pp.rounding or None, "broken_year": pp.broken_year,
            "reachable_share": pp.reachable_share, "required_change": pp.required_change,
            "diagnosis": None if pp.diagnosis is None else {"en": pp.diagnosis.en,
                                                             "zh": pp.diagnosis.zh},
            "notes": [{"en": n.en, "zh": n.zh} for n in pp.notes],
            "solver": pp.info,
        }
        if pp.unit_cost is not None:
            d["unit_cost"] = pp.unit_cost
            d["cost"] = pp.cost()
        if pp.allocation is not None:
            d["allocation"] = {
                str(y): {str(r): (int(v) if pp.kind == "headcount" else round(float(v), 2))
                         for r, v in zip(result.regions["region"], pp.allocation[:, t],
                                         strict=True)}
                for t, y in enumerate(result.years)}
        pools[p] = d
    return {"status": str(result.status), "years": result.years, "pools": pools}


def describe(result: PathResult, lang: str = "en") -> list[str]:
    """Lines for the CLI: per pool the share reached each year, or what breaks."""
    lines = []
    for p, pp in result.pools.items():
        head = {"headcount": ("Headcount", "人员"), "budget": ("Budget", "预算")}.get(
            p, (pp.label.en, pp.label.zh))
        name = head[1] if lang == "zh" else head[0]
        if pp.status == Status.OPTIMAL:
            shares = ", ".join(f"{y}: {s:.1%} (≥ {r:.0%})"
                               for y, s, r in zip(pp.years, pp.hp_share, pp.shares, strict=True))
            lines.append(f"{name}: {'最优' if lang == 'zh' else 'optimal'} — {shares}")
            for n in pp.notes:
                lines.append(f"  - {n(lang)}")
            if pp.required_change is not None:
                label = ("达到各年目标所需的最小变动限制" if lang == "zh"
                         else "least change limit that meets every year")
                lines.append(f"  - {label}: ±{pct(pp.required_change)}")
            cost = pp.cost()
            if cost is not None:
                label = "每年人力成本" if lang == "zh" else "people cost a year"
                money = ((lambda c: f"{c / 1e4:,.2f} 万元") if lang == "zh"
                         else (lambda c: f"CNY {c / 1e6:,.2f} m"))
                lines.append(f"  - {label}: " + ("，" if lang == "zh" else ", ").join(
                    f"{y}: {money(c)}" for y, c in zip(pp.years, cost, strict=True)))
        else:
            assert pp.diagnosis is not None
            lines.append(f"{name}: {'不可行' if lang == 'zh' else 'infeasible'} — "
                         f"{pp.diagnosis(lang)}")
    return lines

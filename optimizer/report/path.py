"""A multi-year path for the reader: the region × year table, the JSON summary and the
lines the CLI prints."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.flow.path import PathResult
from optimizer.fmt import fmt_cny
from optimizer.model.pools import pct
from optimizer.model.result import Status
from optimizer.words import Text, t

# the built-in pools' names at the head of a line (capitalised in English)
_HEADS = {"headcount": Text("Headcount", "人员"), "budget": Text("Budget", "预算")}


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
        for j, y in enumerate(result.years):
            v = pp.allocation[:, j]
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
                         for r, v in zip(result.regions["region"], pp.allocation[:, j],
                                         strict=True)}
                for j, y in enumerate(result.years)}
        pools[p] = d
    return {"status": str(result.status), "years": result.years, "pools": pools}


def describe(result: PathResult, lang: str = "en") -> list[str]:
    """Lines for the CLI: per pool the share reached each year, or what breaks."""
    lines = []
    for p, pp in result.pools.items():
        name = _HEADS.get(p, pp.label)(lang)
        if pp.status == Status.OPTIMAL:
            shares = ", ".join(f"{y}: {s:.1%} (≥ {r:.0%})"
                               for y, s, r in zip(pp.years, pp.hp_share, pp.shares, strict=True))
            lines.append(t("cli_path_optimal", lang, pool=name, shares=shares))
            for n in pp.notes:
                lines.append(f"  - {n(lang)}")
            if pp.required_change is not None:
                lines.append("  - " + t("cli_path_least_change", lang,
                                        change=pct(pp.required_change)))
            cost = pp.cost()
            if cost is not None:
                costs = t("sep_clause", lang).join(
                    f"{y}: {fmt_cny(c, lang)}"
                    for y, c in zip(pp.years, cost, strict=True))
                lines.append("  - " + t("cli_path_cost", lang, costs=costs))
        else:
            assert pp.diagnosis is not None
            lines.append(t("cli_path_infeasible", lang, pool=name, diagnosis=pp.diagnosis(lang)))
    return lines

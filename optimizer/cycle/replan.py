"""The re-plan within the year (act), docs/model.md "Re-planning within the year".

The same optimisation for the full year, on the engine's own pools: the plan of record
takes the place of `current` (so the change limits are measured against it), what is
spent or in place becomes a floor, and an upper limit below the floor rises to it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from optimizer.cycle.actuals import Actuals, ignore_after, quarter_label
from optimizer.explain.diagnose import amount
from optimizer.flow.plan import solve_one
from optimizer.inputs.scenario import POOLS, Scenario
from optimizer.model.pools import Pool
from optimizer.model.prepare import prepare
from optimizer.model.result import Diagnosis, PlanResult, Status
from optimizer.model.rules import RuleId
from optimizer.words import Text, choose

TOL = 1e-9


@dataclass
class Replan:
    """A re-plan: the plan result (pool `current` = the plan of record) and what it kept."""

    result: PlanResult
    record: pd.DataFrame  # region + one full-year column per pool, the regions' order
    to_date: dict[str, np.ndarray]  # per pool: spent so far, or people in place
    floors: dict[str, bool]  # per pool: whether what is in place was a floor
    year: int
    after: int
    notes: list[Text] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The re-plan point, e.g. 2025Q2."""
        return quarter_label(self.year, self.after)


def replan_pool(pool: Pool, record: np.ndarray, to_date: np.ndarray, floor: bool) -> Pool:
    """The pool with the plan of record as current and the spending as a floor."""
    base = replace(pool, current=record.astype(float)).with_bounds(pool.delta)
    # a region the pool closes (ineligible, or a maximum of 0) stays closed
    closed = pool.hi <= 0
    lo = np.where(closed, 0.0, base.lo)
    hi = np.where(closed, 0.0, base.hi)
    if floor:
        lo = np.maximum(lo, to_date)
        hi = np.maximum(hi, to_date)  # spent already: the region gets nothing more
    return replace(base, lo=lo, hi=hi)


def _pool_share(pool: Pool) -> float:
    """The pool's high-potential share (0 when it has no such rule)."""
    return next((r.min_share or 0.0 for r in pool.rules if r.is_hp), 0.0)


def _name_spending(pool: Pool, base_lo: np.ndarray, to_date: np.ndarray,
                   diag: Diagnosis) -> None:
    """Add to a diagnosis which regions' spending (or people in place) sets their minimum.

    Regions already above their plan of record come first: they are what broke the plan.
    """
    tol = TOL * max(1.0, pool.total)
    idx = [int(i) for i in np.nonzero(to_date > base_lo + tol)[0]]
    if not idx:
        return
    over = [i for i in idx if to_date[i] > pool.current[i] + tol]
    idx = over or idx
    idx.sort(key=lambda i: -(to_date[i] - pool.current[i]))
    shown = idx[:6]
    what_en = "in place" if pool.integer else "spent"
    what_zh = "在岗" if pool.integer else "已支出"

    def one(i: int, lang: str) -> str:
        rec, done = amount(pool, pool.current[i], lang), amount(pool, to_date[i], lang)
        return choose(lang, f"{pool.regions[i]} {done} (plan of record {rec})",
                      f"{pool.regions[i]} {done}（计划 {rec}）")

    en = ", ".join(one(i, "en") for i in shown)
    zh = "、".join(one(i, "zh") for i in shown)
    more_en = f" and {len(idx) - len(shown)} more" if len(idx) > len(shown) else ""
    more_zh = f" 等 {len(idx)} 个区域" if len(idx) > len(shown) else ""
    total = float(to_date[idx].sum())
    diag.text = Text(
        f"{diag.text.en} Already {what_en}, and so a minimum for the year: {en}{more_en} "
        f"({amount(pool, total)} together).",
        f"{diag.text.zh}已{what_zh}的部分即为全年下限：{zh}{more_zh}"
        f"（合计 {amount(pool, total, 'zh')}）。")
    diag.conflict_ids = [*diag.conflict_ids, RuleId("spent", pool.name)]
    diag.details = {**diag.details, "to_date_total": total}


def replan(regions: pd.DataFrame, scenario: Scenario, record: pd.DataFrame, actuals: Actuals,
           after: int, regions_file: str = "regions", explain: bool = True) -> Replan:
    """Re-plan the full year after quarter `after` (1–4) from the plan of record and actuals.

    `record` holds region and one full-year column per pool, in the regions' order.
    """
    acts = ignore_after(actuals, after)
    totals = {}
    for p in POOLS:  # the year's total: the scenario's, else the plan of record's
        if scenario.total(p) is None:
            s = record[p].sum()
            totals[f"{p}_total"] = int(s) if p == "headcount" else round(float(s), 2)
    prep = prepare(regions, scenario.with_changes(**totals), regions_file)
    resolved, scores, hp, pools = prep.scenario, prep.scores, prep.hp, prep.pools
    notes = prep.score_notes
    names = regions["region"].astype(str).tolist()
    results = {}
    to_date: dict[str, np.ndarray] = {}
    floors: dict[str, bool] = {}
    for name, pool in pools.items():
        rec = record[name].to_numpy(dtype=float)
        done = acts.to_date(name, names, after) if name in acts.pools else np.zeros(len(names))
        floor = not (pool.integer and resolved.allow_headcount_reduction)
        new = replan_pool(pool, rec, done, floor)
        res = solve_one(new, _pool_share(new), explain)
        if res.status != Status.OPTIMAL and res.diagnosis is not None and floor:
            _name_spending(new, replan_pool(pool, rec, done, False).lo, done, res.diagnosis)
        results[name] = res
        to_date[name] = done
        floors[name] = floor
    status = (Status.OPTIMAL if all(r.status == Status.OPTIMAL for r in results.values())
              else Status.INFEASIBLE)
    all_notes = [*notes, *acts.notes]
    result = PlanResult(status=status, scenario=resolved, regions=regions, scores=scores,
                        high_potential=hp, pools=results, notes=all_notes,
                        regions_file=regions_file)
    return Replan(result, record, to_date, floors, acts.year, after, list(acts.notes))


# --------------------------------------------------------------------------- outputs

def replan_columns(rp: Replan) -> pd.DataFrame:
    """Per region and pool: of record, spent or in place so far, and the remaining amount."""
    data: dict[str, object] = {"region": rp.record["region"].tolist()}
    for p, res in rp.result.pools.items():
        integer = res.integer
        rec = rp.record[p].to_numpy(dtype=float)
        done = rp.to_date[p]
        data[f"{p}_of_record"] = rec
        data[f"{p}_in_place" if integer else f"{p}_spent"] = done
        if res.allocation is not None:
            data[f"{p}_remaining"] = np.asarray(res.allocation, dtype=float) - done
    return pd.DataFrame(data)


def _cell(v: float, integer: bool) -> str:
    from optimizer.report.table import _csv_cell

    return _csv_cell(v, "people" if integer else "money")


def _pool_of(column: str, rp: Replan) -> str:
    return next(p for p in sorted(rp.result.pools, key=len, reverse=True)
                if column.startswith(f"{p}_"))


def diff_table(rp: Replan) -> pd.DataFrame:
    """The re-plan against the plan of record: one row per region and pool."""
    rows = []
    for p, res in rp.result.pools.items():
        if res.allocation is None:
            continue
        rec = rp.record[p].to_numpy(dtype=float)
        new = np.asarray(res.allocation, dtype=float)
        for i, r in enumerate(rp.record["region"]):
            change = new[i] - rec[i]
            rows.append({"region": r, "pool": p, "of_record": rec[i], "replan": new[i],
                         "change": change,
                         "change_pct": change / rec[i] if rec[i] > 0 else np.nan,
                         "to_date": rp.to_date[p][i], "remaining": new[i] - rp.to_date[p][i]})
    return pd.DataFrame(rows, columns=["region", "pool", "of_record", "replan", "change",
                                       "change_pct", "to_date", "remaining"])


def diff_csv_bytes(rp: Replan) -> bytes:
    """diff.csv: the re-plan against the plan of record, UTF-8 with BOM, plain numbers."""
    from optimizer.report.table import neutralise

    t = diff_table(rp)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(list(t.columns))
    for row in t.itertuples(index=False):
        integer = rp.result.pools[row.pool].integer
        w.writerow([neutralise(str(row.region)), row.pool,
                    *[_cell(v, integer) for v in (row.of_record, row.replan, row.change)],
                    "" if row.change_pct != row.change_pct else f"{row.change_pct:.6f}",
                    _cell(row.to_date, integer), _cell(row.remaining, integer)])
    return out.getvalue().encode("utf-8-sig")


def replan_summary(rp: Replan) -> dict[str, object]:
    """What the summary adds for a re-plan: the point, the floors and the totals."""
    pools = {}
    for p, res in rp.result.pools.items():
        pools[p] = {"of_record": float(rp.record[p].sum()), "to_date": float(rp.to_date[p].sum()),
                    "floor": rp.floors[p], "total": res.total,
                    "remaining": (float(np.sum(res.allocation) - rp.to_date[p].sum())
                                  if res.allocation is not None else None)}
    return {"after": rp.label, "pools": pools,
            "notes": [{"en": n.en, "zh": n.zh} for n in rp.notes]}

"""The quarterly review (check): spending and people against the plan of record, revenue,
and the alarms of the indicators, each region red / amber / green with its reasons.

Budget pools are compared with the plan to date (the year's amount phased over the
quarters: equal by default, or the scenario's `[phasing]`); headcount pools are people
in place against the year's plan. Spending is also watched: more than 10 % above the
plan to date is amber, more than the whole year's plan is red.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimizer.cycle.actuals import FRACTION_INDICATORS, REVENUE, Actuals, quarter_label
from optimizer.errors import InputError, Problem
from optimizer.fmt import fmt_amount
from optimizer.inputs.scenario import QUARTERS, Scenario, Threshold
from optimizer.model.pools import pct
from optimizer.words import Text

LEVELS = ("green", "amber", "red")
OVERSPEND_AMBER = 0.10  # spending this far above the plan to date is amber
TOL = 1e-9

LABELS: dict[str, tuple[str, str]] = {
    "churn_rate": ("churn", "客户流失率"),
    "digital_tool_use": ("digital tool use", "数字工具使用率"),
    "response_days": ("cross-department response", "跨部门响应时间"),
    "repurchase_rate": ("repurchase", "复购率"),
    "customer_ltv": ("customer lifetime value", "客户终身价值"),
}
_ORDINAL_EN = {2: "second", 3: "third", 4: "fourth"}
_ORDINAL_ZH = {2: "二", 3: "三", 4: "四"}


@dataclass(frozen=True)
class Alarm:
    """One reason a region is not green."""

    region: str
    column: str  # the indicator, or "<pool>_spent" for spending
    level: str  # "amber" | "red"
    value: float
    limit: float
    running: int  # consecutive quarters at this level or worse, up to the reviewed one
    text: Text


@dataclass
class Review:
    """The review of one quarter: tables per region, the phased series and the alarms."""

    year: int
    quarter: int
    regions: list[str]
    pools: dict[str, bool]
    table: pd.DataFrame  # one row per region (input order), the review.csv columns
    series: pd.DataFrame  # pool, region ("" = all), quarter, plan, actual (cumulative)
    alarms: list[Alarm]
    status: dict[str, str]  # region -> green | amber | red
    notes: list[Text] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The reviewed quarter, e.g. 2025Q2."""
        return quarter_label(self.year, self.quarter)


def phasing(scenario: Scenario, pool: str) -> np.ndarray:
    """The share of a budget pool's year planned in each quarter (equal by default)."""
    shares = scenario.phasing.get(pool)
    return np.full(QUARTERS, 1.0 / QUARTERS) if shares is None else np.asarray(shares, float)


def check_phasing(scenario: Scenario, pools: Mapping[str, bool],
                  file: str = "scenario") -> None:
    """Every `[phasing]` list names a budget pool of the plan."""
    budget = [p for p, integer in pools.items() if not integer]
    bad = [p for p in scenario.phasing if p not in budget]
    if bad:
        raise InputError([Problem(file, f"there is no budget pool '{p}' to phase; expected "
                                  f"one of: {', '.join(budget)}", column=f"phasing.{p}")
                          for p in bad])


def plan_to_date(year_plan: np.ndarray, shares: np.ndarray, q: int) -> np.ndarray:
    """The year's amounts phased to the end of quarter q, in whole cents."""
    return np.round(year_plan * float(math.fsum(shares[:q])), 2) + 0.0


# --------------------------------------------------------------------------- alarms

def level(value: float, t: Threshold) -> str:
    """green, amber or red for one value against one threshold (at the limit is not red)."""
    if value is None or math.isnan(value):
        return "green"
    tol = TOL * max(1.0, abs(t.limit))
    amber = t.amber_line()
    if t.alarm_when == "above":
        if value > t.limit + tol:
            return "red"
        return "amber" if value > amber + tol else "green"
    if value < t.limit - tol:
        return "red"
    return "amber" if value < amber - tol else "green"


def _shown(column: str, v: float, lang: str) -> str:
    if column in FRACTION_INDICATORS or column.endswith("_rate"):
        return pct(v)
    if column == "response_days":
        return f"{v:g} days" if lang == "en" else f"{v:g} 天"
    return f"{v:,.6g}"


def _label(column: str) -> tuple[str, str]:
    return LABELS.get(column, (column, column))


def _running_words(n: int, when: str) -> tuple[str, str]:
    if n <= 1:
        return f" in {when}", f"（{when}）"
    return (f" for the {_ORDINAL_EN.get(n, f'{n}th')} quarter running",
            f"，连续第{_ORDINAL_ZH.get(n, str(n))}个季度")


def threshold_alarm(region: str, t: Threshold, values: list[float], when: str) -> Alarm | None:
    """The alarm of one region and threshold; `values` are quarters 1..k (NaN = no data)."""
    lv = level(values[-1], t)
    if lv == "green":
        return None
    rank = LEVELS.index(lv)
    running = 0
    for v in reversed(values):
        if LEVELS.index(level(v, t)) < rank:
            break
        running += 1
    en_l, zh_l = _label(t.column)
    v = values[-1]
    side_en, side_zh = ("above", "高于") if t.alarm_when == "above" else ("below", "低于")
    bound_zh = "上限" if t.alarm_when == "above" else "下限"
    run_en, run_zh = _running_words(running, when)
    if lv == "red":
        en = (f"{region}: {en_l} {_shown(t.column, v, 'en')} {side_en} the "
              f"{_shown(t.column, t.limit, 'en')} limit{run_en}")
        zh = (f"{region}：{zh_l} {_shown(t.column, v, 'zh')} {side_zh} "
              f"{_shown(t.column, t.limit, 'zh')} 的{bound_zh}{run_zh}")
    else:
        en = (f"{region}: {en_l} {_shown(t.column, v, 'en')} is near the "
              f"{_shown(t.column, t.limit, 'en')} limit (amber {side_en} "
              f"{_shown(t.column, t.amber_line(), 'en')}){run_en}")
        zh = (f"{region}：{zh_l} {_shown(t.column, v, 'zh')} 接近 "
              f"{_shown(t.column, t.limit, 'zh')} 的{bound_zh}（{side_zh} "
              f"{_shown(t.column, t.amber_line(), 'zh')} 即为黄色）{run_zh}")
    return Alarm(region, t.column, lv, v, t.limit, running, Text(en, zh))


def _money(v: float, lang: str = "en") -> str:
    """Money in an alarm sentence: `fmt.fmt_amount`'s precise style ("1.23 m", "123.45 万")."""
    return fmt_amount(v, lang, precise=True)


def spending_alarm(region: str, pool: str, label: tuple[str, str], spent: float,
                   to_date: float, year: float, when: str) -> Alarm | None:
    """Amber above the plan to date by more than 10 %, red above the whole year's plan."""
    if spent > year * (1 + TOL) + 0.005:
        en = (f"{region}: {label[0]} {_money(spent)} spent by {when}, more than the "
              f"{_money(year)} planned for the whole year")
        zh = (f"{region}：截至 {when} {label[1]}已支出 {_money(spent, 'zh')}，超过全年计划 "
              f"{_money(year, 'zh')}")
        return Alarm(region, f"{pool}_spent", "red", spent, year, 1, Text(en, zh))
    if spent > to_date * (1 + OVERSPEND_AMBER) + 0.005:
        over = pct(round(spent / to_date - 1, 2)) if to_date > 0 else ""
        en = (f"{region}: {label[0]} {_money(spent)} spent by {when}, {over} above the "
              f"{_money(to_date)} planned to date")
        zh = (f"{region}：截至 {when} {label[1]}已支出 {_money(spent, 'zh')}，比计划进度 "
              f"{_money(to_date, 'zh')} 高 {over}")
        return Alarm(region, f"{pool}_spent", "amber", spent, to_date, 1, Text(en, zh))
    return None


# --------------------------------------------------------------------------- review

def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def review(record: pd.DataFrame, actuals: Actuals, quarter: int, scenario: Scenario,
           labels: Mapping[str, tuple[str, str]] | None = None) -> Review:
    """Review quarter `quarter` of the year against the plan of record (region + pool columns).

    Actuals after `quarter` are left out with a note.
    """
    from optimizer.cycle.actuals import ignore_after

    pools = actuals.pools
    check_phasing(scenario, pools)
    acts = ignore_after(actuals, quarter)
    names = record["region"].astype(str).tolist()
    when = quarter_label(acts.year, quarter)
    labels = {p: (labels or {}).get(p, (p, {"headcount": "人员", "budget": "预算"}.get(p, p)))
              for p in pools}
    data: dict[str, object] = {"region": names}
    series = []
    alarms: list[Alarm] = []
    spent_total = np.zeros(len(names))
    people = np.zeros(len(names))
    for p, integer in pools.items():
        year = record[p].to_numpy(dtype=float)
        actual = acts.to_date(p, names, quarter)
        shares = np.ones(QUARTERS) if integer else phasing(scenario, p)
        to_date = year if integer else plan_to_date(year, shares, quarter)
        data[f"{p}_plan"] = year
        data[f"{p}_plan_to_date"] = to_date
        data[f"{p}_actual"] = actual
        data[f"{p}_variance"] = np.round(actual - to_date, 0 if integer else 2) + 0.0
        data[f"{p}_used_pct"] = _div(actual, year)
        if integer:
            people += actual
        else:
            spent_total += actual
            for i, r in enumerate(names):
                a = spending_alarm(r, p, labels[p], float(actual[i]), float(to_date[i]),
                                   float(year[i]), when)
                if a is not None:
                    alarms.append(a)
        for q in range(1, QUARTERS + 1):
            plan_q = year if integer else plan_to_date(year, shares, q)
            act_q = acts.to_date(p, names, q) if q <= quarter else np.full(len(names), np.nan)
            for i, r in enumerate(names):
                series.append((p, r, quarter_label(acts.year, q), float(plan_q[i]),
                               float(act_q[i])))
            total_act = float(act_q.sum()) if q <= quarter else math.nan
            series.append((p, "", quarter_label(acts.year, q), float(plan_q.sum()), total_act))
    revenue = np.zeros(len(names))
    t = acts.table
    for i, r in enumerate(names):
        revenue[i] = float(np.nansum(t.loc[t["region"] == r, REVENUE].to_numpy(dtype=float)))
    data["revenue_to_date"] = revenue
    data["revenue_per_person"] = _div(revenue, people)
    data["revenue_per_wan_spent"] = _div(revenue, spent_total / 1e4)
    notes = list(acts.notes)
    for th in scenario.thresholds:
        if th.column not in acts.table.columns:
            notes.append(Text(f"the actuals have no '{th.column}' column: its alarm is not "
                              "checked.", f"实际数据中没有“{th.column}”列：不检查该预警。"))
            continue
        data[th.column] = [acts.value(th.column, r, quarter) for r in names]
        for r in names:
            values = [acts.value(th.column, r, q) for q in range(1, quarter + 1)]
            a = threshold_alarm(r, th, values, when)
            if a is not None:
                alarms.append(a)
    missing = [r for r in names if not ((t["region"] == r) & (t["q"] == quarter)).any()]
    if missing:
        notes.append(Text(f"no actuals for {when}: {', '.join(missing)}.",
                          f"{when} 无实际数据：{'、'.join(missing)}。"))
    status = {r: "green" for r in names}
    for a in alarms:
        if LEVELS.index(a.level) > LEVELS.index(status[a.region]):
            status[a.region] = a.level
    order = {r: i for i, r in enumerate(names)}
    alarms.sort(key=lambda a: (-LEVELS.index(a.level), order[a.region]))
    data["status"] = [status[r] for r in names]
    table = pd.DataFrame(data)
    table.insert(1, "status", table.pop("status"))
    table.insert(2, "alarms_en", ["; ".join(a.text.en for a in alarms if a.region == r)
                                  for r in names])
    table.insert(3, "alarms_zh", ["；".join(a.text.zh for a in alarms if a.region == r)
                                  for r in names])
    frame = pd.DataFrame(series, columns=["pool", "region", "quarter", "plan", "actual"])
    return Review(acts.year, quarter, names, dict(pools), table, frame, alarms, status, notes)


# --------------------------------------------------------------------------- exports

def _kind(column: str, pools: Mapping[str, bool]) -> str:
    """How a review column is written: text, people, money, fraction or number."""
    if column in ("region", "status", "alarms_en", "alarms_zh"):
        return "text"
    for p, integer in pools.items():
        if column.startswith(f"{p}_"):
            if column.endswith("_pct"):
                return "fraction"
            return "people" if integer else "money"
    if column.startswith("revenue"):
        return "money"
    return "number"


def _csv_cell(v: object, kind: str) -> str:
    from optimizer.report.table import neutralise

    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if kind == "text":
        return str(neutralise(str(v)))
    if kind == "people":
        return str(int(round(float(v))))  # type: ignore[arg-type]
    if kind == "money":
        return f"{round(float(v), 2) + 0.0:.2f}"  # type: ignore[arg-type]
    return f"{round(float(v), 6) + 0.0:.6f}".rstrip("0").rstrip(".")  # type: ignore[arg-type]


def review_csv_bytes(rv: Review) -> bytes:
    """review.csv: one row per region, UTF-8 with BOM, CRLF, plain numbers."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    cols = list(rv.table.columns)
    w.writerow(cols)
    kinds = [_kind(c, rv.pools) for c in cols]
    for row in rv.table.itertuples(index=False):
        w.writerow([_csv_cell(v, k) for v, k in zip(row, kinds, strict=True)])
    return buf.getvalue().encode("utf-8-sig")


def review_xlsx_bytes(rv: Review) -> bytes:
    """review.xlsx: the review, the alarms and the quarterly series, one sheet each."""
    import datetime as dt
    import io

    import xlsxwriter

    from optimizer.report.table import neutralise

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False,
                                   "strings_to_urls": False, "strings_to_numbers": False})
    wb.set_properties({"title": f"Review {rv.label}", "created": dt.datetime(2000, 1, 1)})
    fmt = {"people": wb.add_format({"num_format": "#,##0"}),
           "money": wb.add_format({"num_format": "#,##0.00"}),
           "fraction": wb.add_format({"num_format": "0.0%"}),
           "number": wb.add_format({"num_format": "0.###"}),
           "header": wb.add_format({"bold": True, "bottom": 1})}

    def sheet(name: str, frame: pd.DataFrame, kinds: list[str]) -> None:
        ws = wb.add_worksheet(name)
        for j, c in enumerate(frame.columns):
            ws.write_string(0, j, str(neutralise(str(c))), fmt["header"])
            ws.set_column(j, j, 14 if kinds[j] != "text" else 24)
            for i, v in enumerate(frame[c].tolist(), start=1):
                if v is None or (isinstance(v, float) and math.isnan(v)):
                    ws.write_blank(i, j, None)
                elif kinds[j] == "text":
                    ws.write_string(i, j, str(neutralise(str(v))))
                else:
                    ws.write_number(i, j, float(v), fmt[kinds[j]])
        ws.freeze_panes(1, 1)

    sheet("review", rv.table, [_kind(c, rv.pools) for c in rv.table.columns])
    alarms = pd.DataFrame([{"region": a.region, "level": a.level, "column": a.column,
                            "value": a.value, "limit": a.limit, "running": a.running,
                            "text_en": a.text.en, "text_zh": a.text.zh} for a in rv.alarms],
                          columns=["region", "level", "column", "value", "limit", "running",
                                   "text_en", "text_zh"])
    sheet("alarms", alarms, ["text", "text", "text", "number", "number", "number", "text",
                             "text"])
    series = rv.series.assign(region=rv.series["region"].replace("", "(all)"))
    sheet("series", series, ["text", "text", "text", "number", "number"])
    wb.close()
    return buf.getvalue()


def plain(value: object) -> object:
    """Strict-JSON data: numpy to Python, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(float(value)) else None
    return value


def review_summary(rv: Review) -> dict[str, object]:
    """The review as strict-JSON-ready data: counts, alarms first, totals per pool."""
    totals = {}
    for p in rv.pools:
        totals[p] = {k: float(np.nansum(rv.table[f"{p}_{k}"].to_numpy(dtype=float)))
                     for k in ("plan", "plan_to_date", "actual", "variance")}
    counts = {lv: sum(1 for s in rv.status.values() if s == lv) for lv in LEVELS}
    return plain({  # type: ignore[return-value]
        "status": "ok",
        "quarter": rv.label,
        "regions": counts,
        "alarms": [{"region": a.region, "column": a.column, "level": a.level, "value": a.value,
                    "limit": a.limit, "running": a.running, "text_en": a.text.en,
                    "text_zh": a.text.zh} for a in rv.alarms],
        "by_region": {r: rv.status[r] for r in rv.regions},
        "pools": totals,
        "notes": [{"en": n.en, "zh": n.zh} for n in rv.notes],
    })

"""Reading a scenario: TOML (a file, bytes or text) or a dict → a validated `Scenario`.

Every problem is collected and reported at once with its key (`InputError`), in both
languages; unknown keys get a "did you mean" (docs/model.md, "Inputs").
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimizer.errors import InputError, Problem, suggest, suggest_zh
from optimizer.inputs.scenario import (
    DEFAULT_INDICATORS,
    DEFAULT_THRESHOLDS,
    DIMENSIONS,
    DIRECTIONS,
    HP_RULES,
    POOLS,
    QUARTERS,
    SECTION_KEYS,
    GroupRule,
    Indicator,
    PoolSpec,
    Scenario,
    Threshold,
    YearPlan,
)

if TYPE_CHECKING:
    from optimizer.words import Text


_TOP_KEYS = ("totals", "weights", "indicators", "scoring", "high_potential", "limits", "pools",
             "groups", "years", "phasing", "thresholds", "replan")
_YEAR_KEYS = ("year", "headcount", "budget", "hp_share")
_INDICATOR_KEYS = ("dimension", "direction", "weight")
_GROUP_KEYS = ("name", "pools", "pool", "min_share", "max_share", "min_amount", "max_amount",
               "per", "regions", "column", "values", "score", "min_score")
_POOL_KEYS = ("name", "label", "kind", "total", "current", "min", "max", "max_change",
              "unit_cost", "eligible", "eligible_column", "eligible_values", "hp_share",
              "weights")
POOL_KINDS: tuple[str, ...] = ("headcount", "budget")
# Columns of the outputs beside the pools' own: an added pool may not be called so.
_RESERVED_NAMES = ("region", "high_potential", *DIMENSIONS, "score", "weight", "hp", "total",
                   "status", "year", "quarter")
# The columns a pool p has in the outputs (allocation, re-plan, cost).
_POOL_COLUMN_FORMS = ("current_{p}", "{p}", "{p}_change", "{p}_change_pct", "{p}_target",
                      "{p}_cost", "{p}_spent", "{p}_in_place", "{p}_of_record", "{p}_remaining")


def pool_columns(name: str) -> tuple[str, ...]:
    """The output column names that pool `name` may produce."""
    return tuple(f.format(p=name) for f in _POOL_COLUMN_FORMS)


class _Collector:
    """Collects problems of one file so that all of them are reported at once."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def add(self, key: str, message: str, zh: str | None = None) -> None:
        """Record a problem at `key`; `zh` is the Chinese message (default: a translation)."""
        self.problems.append(Problem(self.file, f"{message}", column=key,
                                     message_zh=zh or _zh_message(message)))

    def number(self, key: str, value: Any, *, lo: float | None = None,
               hi: float | None = None, lo_open: bool = False, integer: bool = False,
               what: str = "a number") -> float | None:
        """Check a numeric value; record a problem and return None when it is not acceptable."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(key, f"found {value!r}; expected {what}")
            return None
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an integer too large for a float
            finite = False
        if not finite:
            self.add(key, f"found {value!r}; expected a finite number")
            return None
        if integer and float(value) != int(value):
            self.add(key, f"found {value!r}; expected a whole number")
            return None
        bad_lo = lo is not None and (value <= lo if lo_open else value < lo)
        bad_hi = hi is not None and value > hi
        if bad_lo or bad_hi:
            self.add(key, f"found {value!r}; expected {what}")
            return None
        return int(value) if integer else float(value)

    def total(self, key: str, value: Any, integer: bool = False) -> float | None:
        """A total: ≥ 0 (whole for people) and at most 1e15, like every total of the model."""
        v = self.number(key, value, lo=0, integer=integer,
                        what="a whole number of people ≥ 0" if integer else "an amount ≥ 0")
        if v is not None and v > MAX_TOTAL:
            self.add(key, f"found {value!r}; expected at most 1e15 (the largest total the "
                     f"model accepts)", f"值为 {value!r}；不能超过 1e15（模型接受的最大总量）")
            return None
        return v

    def unknown_keys(self, prefix: str, table: dict[str, Any], known: tuple[str, ...]) -> None:
        for key in table:
            if key not in known:
                self.add(f"{prefix}{key}", f"unknown key '{key}'{suggest(key, known)}; "
                         f"expected one of: {', '.join(known)}")


def scenario_from_dict(data: dict[str, Any], file: str = "scenario") -> Scenario:
    """Validate a parsed TOML document into a Scenario, raising InputError with every problem."""
    c = _Collector(file)
    c.unknown_keys("", data, _TOP_KEYS)
    for section, keys in SECTION_KEYS.items():
        if section in data:
            if not isinstance(data[section], dict):
                c.add(section, f"expected a table [{section}]")
                data = {**data, section: {}}
            else:
                c.unknown_keys(f"{section}.", data[section], keys)
    kwargs: dict[str, Any] = {}

    totals = data.get("totals", {})
    if "headcount" in totals:
        kwargs["headcount_total"] = c.total("totals.headcount", totals["headcount"],
                                            integer=True)
    if "budget" in totals:
        kwargs["budget_total"] = c.total("totals.budget", totals["budget"])

    if "weights" in data:
        weights = {d: 1 / 3 for d in DIMENSIONS}  # a dimension left out keeps its default
        for d in DIMENSIONS:
            if d in data["weights"]:
                v = c.number(f"weights.{d}", data["weights"][d], lo=0, what="a weight ≥ 0")
                weights[d] = v if v is not None else 0.0
        if all(weights[d] == 0 for d in DIMENSIONS):
            c.add("weights", "all dimension weights are 0; expected at least one weight > 0")
        kwargs["weights"] = _relative(weights)

    indicators = {n: Indicator(d, r) for n, (d, r) in DEFAULT_INDICATORS.items()}
    ind_data = data.get("indicators", {})
    if not isinstance(ind_data, dict):
        c.add("indicators", "expected tables [indicators.NAME]")
        ind_data = {}
    for name, spec in ind_data.items():
        key = f"indicators.{name}"
        if name in _NOT_INDICATORS:
            c.add(key, f"'{name}' is a column of the model ({_NOT_INDICATORS[name]}), not an "
                  f"indicator; expected the name of a score column, e.g. market_size",
                  f"“{name}”是模型的固定列，不能作为指标；应为评分列的名称，例如 market_size")
            continue
        if not isinstance(spec, dict):
            c.add(key, "expected a table with dimension, direction and weight")
            continue
        c.unknown_keys(f"{key}.", spec, _INDICATOR_KEYS)
        base = indicators.get(name)
        dim = spec.get("dimension", base.dimension if base else None)
        if dim is None:
            c.add(f"{key}.dimension", f"a new indicator needs a dimension"
                  f"{suggest(name, indicators)}; expected one of: {', '.join(DIMENSIONS)}")
            continue
        if dim not in DIMENSIONS:
            c.add(f"{key}.dimension", f"found {dim!r}{suggest(str(dim), DIMENSIONS)}; "
                  f"expected one of: {', '.join(DIMENSIONS)}")
            continue
        direction = spec.get("direction", base.direction if base else "higher")
        if direction not in DIRECTIONS:
            c.add(f"{key}.direction", f"found {direction!r}; expected \"higher\" or \"lower\"")
            continue
        weight = spec.get("weight", base.weight if base else 1.0)
        w = c.number(f"{key}.weight", weight, lo=0, what="a weight ≥ 0")
        if w is None:
            continue
        indicators[name] = Indicator(dim, direction, w)
    kwargs["indicators"] = _relative_indicators(indicators)

    scoring = data.get("scoring", {})
    if "floor" in scoring:
        f = c.number("scoring.floor", scoring["floor"], lo=0, hi=1, lo_open=True,
                     what="a floor with 0 < floor ≤ 1")
        if f is not None:
            kwargs["floor"] = f

    hp = data.get("high_potential", {})
    if "share" in hp:
        s = c.number("high_potential.share", hp["share"], lo=0, hi=1,
                     what="a share between 0 and 1 (0.60 = 60 %)")
        if s is not None:
            kwargs["hp_share"] = s
    if "rule" in hp:
        if hp["rule"] not in HP_RULES:
            c.add("high_potential.rule",
                  f"found {hp['rule']!r}; expected \"column\" or \"threshold\"")
        else:
            kwargs["hp_rule"] = hp["rule"]
    if "threshold" in hp:
        t = c.number("high_potential.threshold", hp["threshold"], lo=0, hi=1,
                     what="a threshold between 0 and 1 on the market-potential score")
        if t is not None:
            kwargs["hp_threshold"] = t

    limits = data.get("limits", {})
    for key in SECTION_KEYS["limits"]:
        if key in limits:
            v = c.number(f"limits.{key}", limits[key], lo=0,
                         what="a change limit ≥ 0 (0.30 = ±30 %)")
            if v is not None:
                kwargs[key] = v

    kwargs["pools"] = _pools_from_dict(c, data, kwargs.get("weights"))
    added = {p.name: p for p in kwargs["pools"]}
    # names the [[pools]] tables give, valid or not, so that later keys naming them do not
    # add a second problem

    named = {p.get("name") for p in data.get("pools", []) if isinstance(p, dict)
             and isinstance(p.get("name"), str) and re.fullmatch(_POOL_NAME, p["name"])} \
        if isinstance(data.get("pools"), list) else set()

    groups_data = data.get("groups", [])
    if not isinstance(groups_data, list):
        c.add("groups", "expected [[groups]] tables")
        groups_data = []
    groups = []
    for i, g in enumerate(groups_data, start=1):
        rule = _group_from_dict(c, f"groups[{i}]", g, added, named)
        if rule is not None:
            groups.append(rule)
    names = [g.name for g in groups]
    for n in {n for n in names if names.count(n) > 1}:
        c.add("groups", f"the group name '{n}' is used twice; expected unique names")
    kwargs["groups"] = tuple(groups)

    years_data = data.get("years", [])
    if not isinstance(years_data, list):
        c.add("years", "expected [[years]] tables, one per planned year")
        years_data = []
    years = []
    for i, y in enumerate(years_data, start=1):
        key = f"years[{i}]"
        if not isinstance(y, dict):
            c.add(key, "expected a table with year, headcount, budget and hp_share")
            continue
        n_before = len(c.problems)
        c.unknown_keys(f"{key}.", {k: v for k, v in y.items() if k not in named}
                       if named else y, (*_YEAR_KEYS, *added))
        yr = c.number(f"{key}.year", y.get("year"), lo=1900, hi=3000, integer=True,
                      what="a calendar year such as 2024")
        hc = (c.total(f"{key}.headcount", y["headcount"], integer=True)
              if "headcount" in y else None)
        bu = (c.total(f"{key}.budget", y["budget"])
              if "budget" in y else None)
        sh = (c.number(f"{key}.hp_share", y["hp_share"], lo=0, hi=1,
                       what="a share between 0 and 1 (0.60 = 60 %)") if "hp_share" in y else None)
        year_totals: dict[str, float] = {}
        for pname, spec in added.items():
            if pname in y:
                v = c.total(f"{key}.{pname}", y[pname], integer=spec.integer)
                if v is not None:
                    year_totals[pname] = v
        if len(c.problems) == n_before and yr is not None:
            years.append(YearPlan(int(yr), None if hc is None else int(hc), bu, sh,
                                  year_totals))
    if years and [y.year for y in years] != sorted({y.year for y in years}):
        c.add("years", "years must be listed once each, in increasing order")
    kwargs["years"] = tuple(years)
    kwargs.update(_cycle_from_dict(c, data, added))

    if c.problems:
        raise InputError(c.problems)
    return Scenario(**kwargs, notes=_zero_total_notes(kwargs))


_THRESHOLD_KEYS = ("column", "alarm_when", "limit", "amber")


def _cycle_from_dict(c: _Collector, data: dict[str, Any],
                     added: dict[str, PoolSpec] | None = None) -> dict[str, Any]:
    """[phasing], [[thresholds]] and [replan]: the quarterly cycle's keys."""
    out: dict[str, Any] = {}
    phasing_data = data.get("phasing", {})
    if not isinstance(phasing_data, dict):
        c.add("phasing", "expected a table [phasing] with one list of 4 shares per pool")
        phasing_data = {}
    phasing = {}
    for pool, shares in phasing_data.items():
        key = f"phasing.{pool}"
        if pool == "headcount":
            c.add(key, "headcount is people in place, not money spent over the quarters; "
                  "phasing applies to budget pools")
            continue
        if added and pool in added and added[pool].integer:
            c.add(key, f"the pool '{pool}' is a headcount pool: people in place, not money "
                  "spent over the quarters; phasing applies to budget pools",
                  f"资源池“{pool}”是人员类资源池（在岗人数，而非按季度支出的资金）；"
                  "分季度比例只适用于预算类资源池")
            continue
        if not isinstance(shares, list) or len(shares) != QUARTERS:
            c.add(key, f"found {shares!r}; expected {QUARTERS} shares, one per quarter, "
                  "e.g. [0.2, 0.25, 0.25, 0.3]")
            continue
        vals = [c.number(f"{key}[{i}]", v, lo=0, hi=1, what="a share between 0 and 1")
                for i, v in enumerate(shares, start=1)]
        if any(v is None for v in vals):
            continue
        total = math.fsum(v for v in vals if v is not None)
        if abs(total - 1.0) > 1e-6:
            c.add(key, f"the shares add up to {total:g}; expected them to add up to 1")
            continue
        phasing[pool] = tuple(float(v) for v in vals if v is not None)
    out["phasing"] = phasing

    th_data = data.get("thresholds", [])
    if not isinstance(th_data, list):
        c.add("thresholds", "expected [[thresholds]] tables (column, alarm_when, limit)")
        th_data = []
    given: dict[str, Threshold] = {}
    for i, t in enumerate(th_data, start=1):
        key = f"thresholds[{i}]"
        if not isinstance(t, dict):
            c.add(key, "expected a table with column, alarm_when, limit and optional amber")
            continue
        n_before = len(c.problems)
        c.unknown_keys(f"{key}.", t, _THRESHOLD_KEYS)
        col = t.get("column")
        if not isinstance(col, str) or not col.strip():
            c.add(f"{key}.column", "expected the name of a column of the actuals, e.g. "
                  "column = \"churn_rate\"")
        when = t.get("alarm_when")
        if when not in ("above", "below"):
            c.add(f"{key}.alarm_when", f"found {when!r}; expected \"above\" or \"below\"")
        limit = c.number(f"{key}.limit", t.get("limit"), what="a number (0.15 = 15 %)")
        amber = (c.number(f"{key}.amber", t["amber"], what="a number on the safe side of "
                          "the limit") if "amber" in t else None)
        if len(c.problems) > n_before or limit is None:
            continue
        if amber is not None and (amber > limit if when == "above" else amber < limit):
            side = "below" if when == "above" else "above"
            c.add(f"{key}.amber", f"found {amber:g}; an alarm {when} {limit:g} needs its amber "
                  f"line at or {side} the limit")
            continue
        name = str(col).strip()
        if name in given:
            c.add(f"{key}.column", f"the column '{name}' has two thresholds; expected one")
            continue
        given[name] = Threshold(name, str(when), limit, amber)
    out["thresholds"] = (*[given.pop(d.column, d) for d in DEFAULT_THRESHOLDS],
                         *given.values())

    replan = data.get("replan", {})
    if not isinstance(replan, dict):
        c.add("replan", "expected a table [replan]")
        replan = {}
    c.unknown_keys("replan.", replan, ("allow_headcount_reduction",))
    if "allow_headcount_reduction" in replan:
        v = replan["allow_headcount_reduction"]
        if isinstance(v, bool):
            out["allow_headcount_reduction"] = v
        else:
            c.add("replan.allow_headcount_reduction", f"found {v!r}; expected true or false")
    return out


def _group_from_dict(c: _Collector, key: str, g: Any,
                     added: dict[str, PoolSpec] | None = None,
                     named: set[Any] | None = None) -> GroupRule | None:
    added = added or {}
    if not isinstance(g, dict):
        c.add(key, "expected a table with name, a member selection and min_share/max_share")
        return None
    n_before = len(c.problems)
    c.unknown_keys(f"{key}.", g, _GROUP_KEYS)
    name = g.get("name")
    if not isinstance(name, str) or not name.strip():
        c.add(f"{key}.name", "expected a non-empty name, e.g. name = \"West war zone\"")
        name = ""
    pools_raw = g.get("pools", g.get("pool", list(POOLS)))
    if isinstance(pools_raw, str):
        pools_raw = list(POOLS) if pools_raw == "both" else [pools_raw]
    known = (*POOLS, *added)
    pools: tuple[str, ...] = ()
    if not isinstance(pools_raw, list) or not pools_raw or any(
            not isinstance(p, str) or p not in known for p in pools_raw):
        # a pool whose own definition failed has its problem reported there already
        if not (isinstance(pools_raw, list) and pools_raw and named and all(
                isinstance(p, str) and (p in known or p in named) for p in pools_raw)):
            if added or named:
                listed = (*known, *sorted(n for n in named or () if isinstance(n, str)
                                          and n not in known))
                bad = next((p for p in pools_raw if isinstance(p, str) and p not in listed),
                           "") if isinstance(pools_raw, list) else ""
                c.add(f"{key}.pools", f"found {pools_raw!r}{suggest(str(bad), listed)}; "
                      f"expected one or more of: {', '.join(listed)}")
            else:
                c.add(f"{key}.pools",
                      f"found {pools_raw!r}; expected \"headcount\", \"budget\" or both")
    else:
        pools = tuple(p for p in known if p in pools_raw)
    shares = {}
    for s in ("min_share", "max_share"):
        if s in g:
            shares[s] = c.number(f"{key}.{s}", g[s], lo=0, hi=1, what="a share between 0 and 1")
    whole = any(p == "headcount" or (p in added and added[p].integer) for p in pools)
    amounts = {}
    for s in ("min_amount", "max_amount"):
        if s in g:
            amounts[s] = c.total(f"{key}.{s}", g[s], integer=whole)
    if not any(k in g for k in ("min_share", "max_share", "min_amount", "max_amount")):
        c.add(key, "a group rule needs min_share and/or max_share (or min_amount and/or "
              "max_amount)")
    lo_s, hi_s = shares.get("min_share"), shares.get("max_share")
    if lo_s is not None and hi_s is not None and lo_s > hi_s:
        c.add(f"{key}.min_share", f"min_share {lo_s} is above max_share {hi_s}")
    lo_a, hi_a = amounts.get("min_amount"), amounts.get("max_amount")
    if lo_a is not None and hi_a is not None and lo_a > hi_a:
        c.add(f"{key}.min_amount", f"min_amount {lo_a} is above max_amount {hi_a}")
    selectors = [k for k in ("regions", "column", "score") if k in g]
    per = None
    if "per" in g:
        if not isinstance(g["per"], str) or not g["per"].strip():
            c.add(f"{key}.per", f"found {g['per']!r}; expected a column name, e.g. "
                  f"per = \"war_zone\"")
        else:
            per = g["per"].strip()
    if len(selectors) > 1 or (not selectors and "per" not in g):
        c.add(key, "choose members by exactly one of: regions = [...]; column = \"...\" with "
              "values = [...]; score = \"market_potential\" with min_score = 0.5")
    sel: dict[str, Any] = {}
    if "regions" in g:
        if not isinstance(g["regions"], list) or not all(isinstance(r, str) for r in g["regions"]):
            c.add(f"{key}.regions", "expected a list of region names")
        else:
            sel["regions"] = tuple(r.strip() for r in g["regions"])
    if "column" in g:
        vals = g.get("values")
        if not isinstance(g["column"], str):
            c.add(f"{key}.column", "expected a column name")
        elif not isinstance(vals, list) or not vals:
            c.add(f"{key}.values", "expected a list of the column's values that make a member")
        else:
            sel["column"] = g["column"]
            sel["values"] = tuple(str(v).strip() for v in vals)
    if "score" in g:
        if g["score"] not in (*DIMENSIONS, "score"):
            c.add(f"{key}.score", f"found {g['score']!r}; expected one of: "
                  f"{', '.join(DIMENSIONS)}, score")
        mn = c.number(f"{key}.min_score", g.get("min_score"), lo=0, hi=1,
                      what="a score threshold between 0 and 1")
        if mn is not None:
            sel["score"] = g["score"]
            sel["min_score"] = mn
    if len(c.problems) > n_before:
        return None
    return GroupRule(name=name.strip(), pools=pools, min_share=lo_s, max_share=hi_s,
                     min_amount=lo_a, max_amount=hi_a, per=per, **sel)


_POOL_NAME = r"[a-z][a-z0-9_]*"


def _pools_from_dict(c: _Collector, data: dict[str, Any],
                     weights: dict[str, float] | None) -> tuple[PoolSpec, ...]:
    """The [[pools]] tables: every problem names the pool and the key."""

    raw = data.get("pools", [])
    if not isinstance(raw, list):
        c.add("pools", "expected [[pools]] tables, one per added pool",
              "应为 [[pools]] 表，每个新增资源池一个")
        return ()
    base_weights = weights or {d: 1 / 3 for d in DIMENSIONS}
    taken = {col: p for p in POOLS for col in pool_columns(p)}
    taken.update({n: "" for n in _RESERVED_NAMES})
    specs: list[PoolSpec] = []
    seen: set[str] = set()
    for i, t in enumerate(raw, start=1):
        name = t.get("name") if isinstance(t, dict) else None
        ok_name = isinstance(name, str) and re.fullmatch(_POOL_NAME, name) is not None
        key = f"pools.{name}" if ok_name else f"pools[{i}]"
        if not isinstance(t, dict):
            c.add(key, "expected a table with name, kind and total",
                  "应为包含 name、kind 和 total 的表")
            continue
        n_before = len(c.problems)
        c.unknown_keys(f"{key}.", t, _POOL_KEYS)
        if name is None:
            c.add(f"{key}.name", "a pool needs a name, e.g. name = \"csm\" (lower-case letters, "
                  "digits and _, starting with a letter)",
                  "资源池需要名称，例如 name = \"csm\"（小写字母、数字和 _，以字母开头）")
        elif not ok_name:
            c.add(f"{key}.name", f"found {name!r}; expected a name of lower-case letters, "
                  f"digits and _, starting with a letter, e.g. \"csm\"",
                  f"值为 {name!r}；名称应由小写字母、数字和 _ 组成，并以字母开头，例如 \"csm\"")
        elif name in POOLS:
            c.add(f"{key}.name", f"'{name}' is a built-in pool; expected another name (the "
                  f"built-in pools are set in [totals])",
                  f"“{name}”是内置资源池；请换一个名称（内置资源池在 [totals] 中设置）")
        elif name in seen:
            c.add(f"{key}.name", f"the pool name '{name}' is used twice; expected unique names",
                  f"资源池名称“{name}”用了两次；名称应唯一")
        else:
            clash = next((col for col in pool_columns(name) if col in taken), None)
            if clash is not None:
                other = taken[clash]
                whose = (f"the column '{clash}' of the pool '{other}'" if other
                         else f"the output column '{clash}'")
                whose_zh = (f"资源池“{other}”的列“{clash}”" if other else f"输出列“{clash}”")
                c.add(f"{key}.name", f"the pool '{name}' would write a column '{clash}', which "
                      f"clashes with {whose}; expected another name",
                      f"资源池“{name}”会生成列“{clash}”，与{whose_zh}冲突；请换一个名称")
        if ok_name:
            seen.add(name)
            taken.update({col: name for col in pool_columns(name)})
        kind = t.get("kind")
        if kind not in POOL_KINDS:
            shown = "no kind" if kind is None else f"{kind!r}"
            c.add(f"{key}.kind", f"found {shown}{suggest(str(kind), POOL_KINDS)}; expected "
                  f"\"headcount\" (whole people) or \"budget\" (money)",
                  f"值为 {shown}{suggest_zh(str(kind), POOL_KINDS)}；应为 \"headcount\"（整人）"
                  f"或 \"budget\"（金额）")
        integer = kind == "headcount"
        total = None
        if "total" not in t:
            c.add(f"{key}.total", "a pool needs its total, e.g. total = 15",
                  "资源池需要总量 total，例如 total = 15")
        else:
            total = c.total(f"{key}.total", t["total"], integer=integer)
        label = t.get("label")
        if label is not None and (not isinstance(label, str) or not label.strip()):
            c.add(f"{key}.label", f"found {label!r}; expected a non-empty display name, "
                  f"e.g. label = \"客户成功经理\"",
                  f"值为 {label!r}；应为非空的显示名称，例如 label = \"客户成功经理\"")
        cols: dict[str, str | None] = {}
        for k in ("current", "min", "max", "eligible_column"):
            v = t.get(k)
            if v is not None and (not isinstance(v, str) or not v.strip()):
                c.add(f"{key}.{k}", f"found {v!r}; expected the name of a column of the "
                      f"regions table", f"值为 {v!r}；应为区域表中的列名")
                v = None
            cols[k] = v.strip() if isinstance(v, str) else None
        max_change = (c.number(f"{key}.max_change", t["max_change"], lo=0,
                               what="a change limit ≥ 0 (0.30 = ±30 %)")
                      if "max_change" in t else None)
        unit_cost = None
        if "unit_cost" in t:
            if kind == "budget":
                c.add(f"{key}.unit_cost", "unit_cost is the annual cost of one person: it "
                      "applies to headcount pools only, and this pool is a budget pool",
                      "unit_cost 是每人每年的成本，只适用于人员类资源池；该资源池是预算类")
            else:
                unit_cost = c.number(f"{key}.unit_cost", t["unit_cost"], lo=0,
                                     what="an amount ≥ 0")
        hp_share = (c.number(f"{key}.hp_share", t["hp_share"], lo=0, hi=1,
                             what="a share between 0 and 1 (0.60 = 60 %)")
                    if "hp_share" in t else None)
        eligible = None
        values = None
        if "eligible" in t and "eligible_column" in t:
            c.add(f"{key}.eligible", "give eligible = [...] or eligible_column with "
                  "eligible_values, not both",
                  "eligible = [...] 与 eligible_column 加 eligible_values 只能二选一")
        if "eligible" in t:
            e = t["eligible"]
            if not isinstance(e, list) or not e or not all(
                    isinstance(r, str) and r.strip() for r in e):
                c.add(f"{key}.eligible", f"found {e!r}; expected a non-empty list of region "
                      f"names", f"值为 {e!r}；应为非空的区域名称列表")
            else:
                eligible = tuple(r.strip() for r in e)
        if "eligible_values" in t and "eligible_column" not in t:
            c.add(f"{key}.eligible_values", "eligible_values needs eligible_column, the "
                  "column they are values of", "eligible_values 需要配合 eligible_column "
                  "（取值所在的列）使用")
        if "eligible_column" in t:
            vals = t.get("eligible_values")
            if not isinstance(vals, list) or not vals:
                c.add(f"{key}.eligible_values", "expected a list of the column's values that "
                      "may receive the pool, e.g. eligible_values = [\"西区\"]",
                      "应为可获得该资源池的列取值列表，例如 eligible_values = [\"西区\"]")
            else:
                values = tuple(str(v).strip() for v in vals)
        w = None
        if "weights" in t:
            wt = t["weights"]
            if not isinstance(wt, dict):
                c.add(f"{key}.weights", "expected a table [pools.weights] of dimension weights",
                      "应为维度权重表 [pools.weights]")
            else:
                c.unknown_keys(f"{key}.weights.", wt, DIMENSIONS)
                w = {}
                for d in DIMENSIONS:
                    if d in wt:
                        v = c.number(f"{key}.weights.{d}", wt[d], lo=0, what="a weight ≥ 0")
                        w[d] = v if v is not None else 0.0
                merged = {**base_weights, **w}
                if all(merged[d] == 0 for d in DIMENSIONS):
                    c.add(f"{key}.weights", "all dimension weights of the pool are 0; expected "
                          "at least one weight > 0", "该资源池的所有维度权重均为 0；至少应有"
                          "一个权重大于 0")
                w = _relative(w) if w else w
        if len(c.problems) > n_before or total is None or not ok_name:
            continue
        specs.append(PoolSpec(
            name=str(name), kind=str(kind), total=float(total) if not integer else int(total),
            label=label.strip() if isinstance(label, str) else None, current=cols["current"],
            min=cols["min"], max=cols["max"], max_change=max_change, unit_cost=unit_cost,
            eligible=eligible, eligible_column=cols["eligible_column"] if values else None,
            eligible_values=values, hp_share=hp_share, weights=w or None))
    return tuple(specs)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError([Problem(str(path), f"cannot read the file ({e.strerror})",
                                  message_zh=f"无法读取文件（{e.strerror}）")]) from None
    return scenario_from_bytes(data, str(path))


def scenario_from_bytes(data: bytes, file: str = "scenario.toml") -> Scenario:
    """Decode (UTF-8; GB18030 read with a note), parse and validate scenario TOML bytes."""
    from optimizer.words import Text

    try:
        return scenario_from_text(data.decode("utf-8-sig"), file)
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise InputError([Problem(file, "the file is not UTF-8 text; expected a TOML "
                                  "scenario saved as UTF-8",
                                  message_zh="文件不是 UTF-8 文本；请以 UTF-8 编码保存 TOML 方案"
                                  )]) from None
    s = scenario_from_text(text, file)
    note = Text(f"{file} is not UTF-8 (TOML's encoding): it was read as GB18030; save it as "
                f"UTF-8 to silence this note.",
                f"{file} 不是 UTF-8 编码（TOML 规定的编码）：已按 GB18030 读取；以 UTF-8 保存"
                f"即可消除此提示。")
    return replace(s, notes=(note, *s.notes))


def scenario_from_text(text: str, file: str = "scenario.toml") -> Scenario:
    """Parse and validate scenario TOML text (the app's upload uses this)."""
    try:
        data = tomllib.loads(text)
    except ValueError as e:  # TOMLDecodeError, or an integer of over 4300 digits
        line = _toml_line(str(e))
        raise InputError([Problem(file, f"not valid TOML: {e}", row=line,
                                  message_zh=f"不是有效的 TOML：{e}")]) from None
    return scenario_from_dict(data, file)


MAX_TOTAL = 1e15  # every total (docs/model.md: finite, magnitude ≤ 1e15)

# Columns the model reads itself: never an indicator.
_NOT_INDICATORS = {
    "region": "the region names", "current_headcount": "the current people",
    "current_budget": "the current budget", "high_potential": "the high-potential flag",
    "min_headcount": "a bound", "max_headcount": "a bound", "min_budget": "a bound",
    "max_budget": "a bound",
}


def _relative(weights: dict[str, float]) -> dict[str, float]:
    """Weights are relative: when their sum would overflow, divide them by the largest."""
    if math.isfinite(math.fsum(weights.values())):
        return weights
    top = max(weights.values())
    return {k: v / top for k, v in weights.items()}


def _relative_indicators(indicators: dict[str, Indicator]) -> dict[str, Indicator]:
    """`_relative` on the indicator weights of each dimension."""
    out = dict(indicators)
    for d in DIMENSIONS:
        names = [n for n, i in indicators.items() if i.dimension == d]
        scaled = _relative({n: indicators[n].weight for n in names})
        for n in names:
            out[n] = replace(indicators[n], weight=scaled[n])
    return out


def _zero_total_notes(kwargs: dict[str, Any]) -> tuple[Text, ...]:
    from optimizer.words import Text

    out = []
    for pool in POOLS:
        if kwargs.get(f"{pool}_total") == 0:
            out.append(Text(f"[totals] {pool} = 0: nothing is allocated in the {pool} pool.",
                            f"[totals] {pool} = 0：{pool} 资源池不分配任何资源。"))
    for spec in kwargs.get("pools", ()):
        if spec.total == 0:
            out.append(Text(f"pools.{spec.name}.total = 0: nothing is allocated in the pool "
                            f"'{spec.display()}'.",
                            f"pools.{spec.name}.total = 0：资源池“{spec.display()}”"
                            f"不分配任何资源。"))
    return tuple(out)


# Chinese for the messages of this module: `what` phrases, fixed messages, message shapes.
_WHAT_ZH = {
    "a whole number of people ≥ 0": "≥ 0 的整数人数", "an amount ≥ 0": "≥ 0 的金额",
    "a weight ≥ 0": "≥ 0 的权重", "a floor with 0 < floor ≤ 1": "满足 0 < floor ≤ 1 的下限",
    "a share between 0 and 1 (0.60 = 60 %)": "0 到 1 之间的比例（0.60 = 60 %）",
    "a share between 0 and 1": "0 到 1 之间的比例",
    "a threshold between 0 and 1 on the market-potential score":
        "0 到 1 之间的阈值（针对市场潜力得分）",
    "a change limit ≥ 0 (0.30 = ±30 %)": "≥ 0 的变动上限（0.30 = ±30 %）",
    "a calendar year such as 2024": "年份，例如 2024",
    "a score threshold between 0 and 1": "0 到 1 之间的得分阈值",
    "a number": "数值", "a finite number": "有限的数", "a whole number": "整数",
    "a number (0.15 = 15 %)": "数值（0.15 = 15 %）",
    "true or false": "true 或 false", '"higher" or "lower"': '"higher" 或 "lower"',
    '"column" or "threshold"': '"column" 或 "threshold"',
    '"above" or "below"': '"above" 或 "below"',
    '"headcount", "budget" or both': '"headcount"、"budget" 或两者',
    'a column name, e.g. per = "war_zone"': '列名，例如 per = "war_zone"',
}
_FIXED_ZH = {
    "all dimension weights are 0; expected at least one weight > 0":
        "所有维度权重均为 0；至少应有一个权重大于 0",
    "expected tables [indicators.NAME]": "应为 [indicators.名称] 形式的表",
    "expected a table with dimension, direction and weight":
        "应为包含 dimension、direction 和 weight 的表",
    "expected [[groups]] tables": "应为 [[groups]] 表",
    "expected [[years]] tables, one per planned year": "应为 [[years]] 表，每个计划年份一个",
    "expected a table with year, headcount, budget and hp_share":
        "应为包含 year、headcount、budget 和 hp_share 的表",
    "years must be listed once each, in increasing order": "每个年份只能列一次，并按递增顺序排列",
    "expected a table with name, a member selection and min_share/max_share":
        "应为包含 name、成员选择方式和 min_share/max_share 的表",
    'expected a non-empty name, e.g. name = "West war zone"':
        '应为非空名称，例如 name = "西区"',
    "a group rule needs min_share and/or max_share (or min_amount and/or max_amount)":
        "分组规则需要 min_share 和/或 max_share（或 min_amount 和/或 max_amount）",
    'choose members by exactly one of: regions = [...]; column = "..." with values = [...]; '
    'score = "market_potential" with min_score = 0.5':
        '请只用一种方式选择成员：regions = [...]；column = "..." 加 values = [...]；'
        'score = "market_potential" 加 min_score = 0.5',
    "expected a list of region names": "应为区域名称的列表",
    "expected a column name": "应为列名",
    "expected a list of the column's values that make a member": "应为该列中属于成员的取值列表",
}


def _zh_message(message: str) -> str | None:
    """The Chinese of a message of this module, None when it has none (English is shown)."""

    if message in _FIXED_ZH:
        return _FIXED_ZH[message]

    def zh_suggest(text: str) -> str:
        return re.sub(r" \(did you mean '(.*?)'\?\)", r"（是否应为“\1”？）", text)

    def zh_what(what: str) -> str:
        if what.startswith("one of: "):
            return "以下之一：" + what.removeprefix("one of: ")
        if what.startswith("one or more of: "):
            return "以下一个或多个：" + what.removeprefix("one or more of: ")
        return _WHAT_ZH.get(what, what)

    m = re.fullmatch(r"found (.*?); expected (.*)", message, re.S)
    if m:
        return f"值为 {zh_suggest(m.group(1))}；应为{zh_what(m.group(2))}"
    m = re.fullmatch(r"unknown key '(.*?)'(.*?); expected one of: (.*)", message, re.S)
    if m:
        return f"未知的键“{m.group(1)}”{zh_suggest(m.group(2))}；应为以下之一：{m.group(3)}"
    m = re.fullmatch(r"a new indicator needs a dimension(.*?); expected one of: (.*)", message)
    if m:
        return f"新指标需要指定维度 dimension{zh_suggest(m.group(1))}；应为以下之一：{m.group(2)}"
    m = re.fullmatch(r"expected a table \[(.*)\]", message)
    if m:
        return f"应为表 [{m.group(1)}]"
    m = re.fullmatch(r"the group name '(.*)' is used twice; expected unique names", message)
    if m:
        return f"分组名称“{m.group(1)}”用了两次；名称应唯一"
    m = re.fullmatch(r"min_(share|amount) (.*) is above max_(?:share|amount) (.*)", message)
    if m:
        return f"min_{m.group(1)} {m.group(2)} 大于 max_{m.group(1)} {m.group(3)}"
    return None


def _toml_line(msg: str) -> int | None:

    m = re.search(r"line (\d+)", msg)
    return int(m.group(1)) if m else None


# --------------------------------------------------------------------------- writing

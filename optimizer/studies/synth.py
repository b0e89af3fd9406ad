"""Realistic synthetic territory sets of any size, for demos, tests and benchmarks.

The figures follow the source plan (PLAN_FACTS): East and South China are the large,
mature, contested markets; the West is small and fast-growing; customer lifetime value
is around 5.8 m CNY and repurchase around 42 %. Market sizes and budgets are lognormal
(a few big territories, a long tail); about 8 % of territories are new (no people yet),
about half of those have no budget either.

The high-potential set (about 30–40 % of territories, chosen by growth and size) is
picked so that the 60 % rule can be met under a ±30 % change limit in both pools,
with margin, even ignoring the new territories' unlimited room.

With `pools` > 2 the set gets `pools − 2` added pools (docs/model.md, "More pools"): their
current/min/max columns are appended to the table (drawn from a generator of their own, so
the two-pool table is unchanged) and their `[[pools]]` go into the scenario. They cycle
through six kinds of pool — headcount and budget, eligibility by a list of regions and by a
column, own weights, a unit cost, an own high-potential share, change limits and an amount
group rule (`per = "war_zone"`) — each feasible by construction: a pool's high-potential
share is 60 % where its bounds allow that with margin, else the largest multiple of 5 % they
allow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.errors import InputError, Problem
from optimizer.inputs.scenario import GroupRule, PoolSpec, Scenario
from optimizer.inputs.scenario_write import scenario_to_toml
from optimizer.model.pools import bounds
from optimizer.report.outdir import prepare_out_dir, write_files

WAR_ZONES: tuple[str, ...] = ("东区", "南区", "北区", "西区")
_ZONE_SHARE = np.array([0.30, 0.25, 0.25, 0.20])  # share of territories by war zone
_MARKET_MEDIAN = np.array([9e7, 8e7, 4.5e7, 1.5e7])  # CNY; East and South are the big markets
_GROWTH_MEAN = np.array([0.07, 0.08, 0.12, 0.24])  # the West grows ≥ 25 % a year in the plan
_COMPETITION_MEAN = np.array([7.5, 7.0, 5.5, 3.5])  # 1–10, the mature markets are contested

SYNTH_WEIGHTS = {"market_potential": 0.40, "customer_value": 0.35, "internal_capability": 0.25}
SYNTH_SHARE = 0.60
SYNTH_MAX_CHANGE = 0.30
_HP_FRACTION = 0.35  # initial share of territories marked high-potential
_HP_MARGIN = 0.02  # the set must meet a share 2 points above the rule's


def _names(zone: np.ndarray, west_north: np.ndarray) -> list[str]:
    prefix = np.array(["华东", "华南", "华北", "西南"], dtype=object)[zone]
    prefix[(zone == 3) & west_north] = "西北"
    width = max(4, len(str(len(zone))))
    return [f"{p}-{i:0{width}d}" for i, p in enumerate(prefix.tolist(), start=1)]


def _pool_bounds(current: np.ndarray, delta: float,
                 integer: bool) -> tuple[np.ndarray, np.ndarray]:
    """docs/model.md change bounds; a new territory (current 0) gets no room (robust check)."""
    if integer:
        lo = np.minimum(np.ceil((1 - delta) * current - 1e-9), current - 1)
        hi = np.maximum(np.floor((1 + delta) * current + 1e-9), current + 1)
    else:
        lo, hi = (1 - delta) * current, (1 + delta) * current
    pos = current > 0
    return np.where(pos, np.maximum(lo, 0.0), 0.0), np.where(pos, hi, 0.0)


def _share_feasible(current: np.ndarray, hp: np.ndarray, total: float, share: float,
                    delta: float, integer: bool) -> bool:
    """The docs/model.md feasibility condition of one pool, with new territories held at 0."""
    lo, hi = _pool_bounds(current, delta, integer)
    need = math.ceil(share * total - 1e-9) if integer else share * total
    tol = 1e-9 * max(1.0, total)
    low = max(lo[hp].sum(), need, total - hi[~hp].sum())
    high = min(hi[hp].sum(), total - lo[~hp].sum())
    return bool(low <= high + tol)


def _choose_high_potential(potential: np.ndarray, headcount: np.ndarray,
                           budget: np.ndarray) -> np.ndarray:
    """The top territories by potential, as few as give the set room for the rule.

    Starts from the top 35 % and adds territories in order of potential until the
    60 % rule (plus a margin) is feasible under ±30 % in both pools.
    """
    n = len(potential)
    order = np.argsort(-potential, kind="stable")
    share = SYNTH_SHARE + _HP_MARGIN
    hc_total, bu_total = float(headcount.sum()), float(round(budget.sum()))

    def feasible(k: int) -> bool:
        hp = np.zeros(n, dtype=bool)
        hp[order[:k]] = True
        # Headcount is checked with whole-people bounds and with plain ±30 % bounds.
        return (_share_feasible(headcount, hp, hc_total, share, SYNTH_MAX_CHANGE, True)
                and _share_feasible(headcount, hp, hc_total, share, SYNTH_MAX_CHANGE, False)
                and _share_feasible(budget, hp, bu_total, share, SYNTH_MAX_CHANGE, False))

    k = min(n, max(1, round(_HP_FRACTION * n)))
    if not feasible(k):
        # Adding territories only helps (more room inside, less outside): bisect on k.
        lo, hi = k, n
        while lo + 1 < hi:
            mid = (lo + hi) // 2
            if feasible(mid):
                hi = mid
            else:
                lo = mid
        k = hi
    hp = np.zeros(n, dtype=bool)
    hp[order[:k]] = True
    return hp


def synth_regions(n: int, seed: int = 0, pools: int = 2) -> pd.DataFrame:
    """A synthetic regions table of `n` territories (same seed, same table).

    Columns: region ("华东-0001", …), the nine default indicators, current_headcount,
    current_budget, high_potential and war_zone (东区/南区/北区/西区); with `pools` > 2,
    then current_<name>, min_<name>, max_<name> of each added pool (see `added_pools`).
    """
    if n < 1:
        raise ValueError(f"n = {n}; expected at least 1 territory")
    check_pools(pools)
    rng = np.random.default_rng(seed)
    zone = rng.choice(4, size=n, p=_ZONE_SHARE)
    west_north = rng.random(n) < 0.4

    # market potential
    market_size = np.round(_MARKET_MEDIAN[zone] * rng.lognormal(0.0, 0.9, n), -3)
    growth = np.round(_GROWTH_MEAN[zone] + rng.normal(0.0, 0.07, n), 4)
    competition = np.round(np.clip(_COMPETITION_MEAN[zone] + rng.normal(0.0, 1.3, n), 1, 10), 2)
    # customer value
    ltv = np.round(5.8e6 * rng.lognormal(0.0, 0.45, n), -2)
    repurchase = np.round(rng.beta(4.2, 5.8, n), 4)
    referral = np.round(np.clip(rng.normal(6.5, 1.5, n), 0, 10), 1)
    # internal capability: stronger teams where the organisation is mature
    mature = np.isin(zone, (0, 1))
    team = np.round(np.clip(rng.normal(68, 10, n) + 6 * mature, 0, 100), 1)
    reserve = np.round(np.clip(rng.normal(62, 14, n) + 8 * mature, 0, 100), 1)
    collaboration = np.round(np.clip(rng.normal(70, 9, n), 0, 100), 1)

    # Resources follow last year's split: roughly market size, with noise.
    new = rng.random(n) < 0.08
    size_rel = (market_size / np.median(market_size)) ** 0.6
    headcount = np.maximum(1, np.rint(1.0 * size_rel * rng.lognormal(0.0, 0.35, n)))
    headcount = np.where(new, 0, headcount).astype(np.int64)
    per_person = 4.5e5 * rng.lognormal(0.0, 0.25, n)
    spend = 1.5e5 * size_rel * rng.lognormal(0.0, 0.6, n)
    budget = np.round(headcount * per_person + spend, -2)
    no_budget = new & (rng.random(n) < 0.5)
    budget = np.where(no_budget, 0.0, np.where(new, np.round(0.3 * spend, -2), budget))

    # High potential: growing and sizeable markets.
    def z(v: np.ndarray) -> np.ndarray:
        s = v.std()
        return (v - v.mean()) / s if s > 0 else np.zeros_like(v)

    potential = z(growth) + 1.3 * z(np.log(market_size)) + rng.normal(0.0, 0.5, n)
    high_potential = _choose_high_potential(potential, headcount, budget)

    table = pd.DataFrame({
        "region": _names(zone, west_north),
        "market_size": market_size,
        "growth_rate": growth,
        "competition_intensity": competition,
        "customer_ltv": ltv,
        "repurchase_rate": repurchase,
        "referral_score": referral,
        "team_capability": team,
        "resource_reserve": reserve,
        "collaboration_efficiency": collaboration,
        "current_headcount": headcount,
        "current_budget": budget,
        "high_potential": high_potential,
        "war_zone": np.array(WAR_ZONES, dtype=object)[zone],
    })
    if pools > 2:
        columns = _pool_columns(table, pools, np.random.default_rng([seed, 10]))
        table = pd.concat([table, pd.DataFrame(columns)], axis=1)
    return table


def check_pools(pools: int, label: str = "--pools") -> None:
    """Raise InputError (naming `label`) unless `pools` is a whole number ≥ 2."""
    if isinstance(pools, bool) or not isinstance(pools, int | np.integer) or pools < 2:
        raise InputError([Problem(
            label, f"found {pools!r}; expected the number of pools in all, the two built-in "
            f"ones included: a whole number ≥ 2 (e.g. 8 = headcount, budget and 6 added pools)",
            message_zh=f"值为 {pools!r}；应为资源池总数（含内置的人员和预算两个）：≥ 2 的整数"
                       f"（例如 8 = 人员、预算及 6 个新增资源池）")])


# --------------------------------------------------------------------------- added pools

@dataclass(frozen=True)
class _Kind:
    """One of the six kinds of added pool the generator cycles through."""

    name: str
    label: str
    kind: str  # "headcount" | "budget"
    of: str  # the built-in current column the pool's current amounts follow
    scale: float  # current = scale × that column (whole people / cents)
    growth: float  # total = (1 + growth) × the current sum over the eligible regions
    max_change: float | None = None
    unit_cost: float | None = None
    weights: dict[str, float] | None = None
    eligible: str = "all"  # "all" | "west list" (by region list) | "zone column" (by column)
    hp_share: float | None = None  # the pool's own share (None: [high_potential].share)
    group: bool = False  # the amount rule: at least min_amount in every war zone


_KINDS: tuple[_Kind, ...] = (
    _Kind("expert", "行业解决方案专家", "headcount", "current_headcount", 1.0, 0.05,
          max_change=SYNTH_MAX_CHANGE, unit_cost=750_000.0,
          weights={"market_potential": 0.60}, group=True),
    _Kind("fund", "市场拓展基金", "budget", "current_budget", 0.1, 0.10, eligible="west list"),
    _Kind("specialist", "数字化销售专员", "headcount", "current_headcount", 1.2, 0.0,
          eligible="zone column"),
    _Kind("csm", "客户成功经理", "headcount", "current_headcount", 0.8, 0.0,
          max_change=SYNTH_MAX_CHANGE,
          weights={"market_potential": 0.20, "customer_value": 0.70,
                   "internal_capability": 0.10}),
    _Kind("marketing", "市场推广预算", "budget", "current_budget", 0.15, 0.05,
          max_change=SYNTH_MAX_CHANGE, hp_share=0.50),
    _Kind("analyst", "销售运营分析师", "headcount", "current_headcount", 0.4, 0.0,
          weights={"internal_capability": 0.60}),
)
_ZONE_VALUES = ("东区", "南区", "北区")  # who may receive the "zone column" pools
_BOUND_SHARE = 0.04  # share of territories with a min (and, separately, a max) cell


def added_pools(pools: int) -> list[tuple[str, str, _Kind]]:
    """(name, label, kind) of the `pools − 2` added pools: the six kinds in turn, numbered
    from the second round on ("expert", …, "analyst", "expert_2", …)."""
    out = []
    for i in range(max(0, pools - 2)):
        k = _KINDS[i % len(_KINDS)]
        r = i // len(_KINDS) + 1
        out.append((k.name if r == 1 else f"{k.name}_{r}",
                    k.label if r == 1 else f"{k.label} {r}", k))
    return out


def _zone_values(regions: pd.DataFrame) -> tuple[str, ...]:
    """The war zones of `_ZONE_VALUES` the table has (else the first territory's zone)."""
    present = set(regions["war_zone"].astype(str))
    values = tuple(z for z in _ZONE_VALUES if z in present)
    return values or (str(regions["war_zone"].iloc[0]),)


def _eligible(regions: pd.DataFrame, kind: _Kind) -> np.ndarray:
    names = regions["region"].astype(str)
    if kind.eligible == "west list":
        mask = names.str.startswith(("西南", "西北")).to_numpy()
    elif kind.eligible == "zone column":
        mask = regions["war_zone"].isin(_zone_values(regions)).to_numpy()
    else:
        mask = np.ones(len(regions), dtype=bool)
    if not mask.any():  # a small table without such territories: the first one alone
        mask = mask.copy()
        mask[0] = True
    return mask


def _pool_columns(regions: pd.DataFrame, pools: int,
                  rng: np.random.Generator) -> dict[str, np.ndarray]:
    """current_/min_/max_ columns of every added pool (blank bound cells are NaN)."""
    n = len(regions)
    out: dict[str, np.ndarray] = {}
    for name, _label, k in added_pools(pools):
        base = regions[k.of].to_numpy(dtype=float) * k.scale * rng.lognormal(0.0, 0.2, n)
        base = np.where(_eligible(regions, k), base, 0.0)
        current = np.rint(base) if k.kind == "headcount" else np.round(base, -2)
        # a few cells of each bound column, always around today's amount: a region may keep
        # what it has (so the pool's total of today is a plan) but not much less / more
        has_min = (rng.random(n) < _BOUND_SHARE) & (current > 0)
        has_max = (rng.random(n) < _BOUND_SHARE) & (current > 0) & ~has_min
        unit = 1.0 if k.kind == "headcount" else 100.0
        mn = np.where(has_min, np.floor(0.8 * current / unit) * unit, np.nan)
        mx = np.where(has_max, np.ceil(1.2 * current / unit) * unit + unit, np.nan)
        out[f"current_{name}"] = (current.astype(np.int64) if k.kind == "headcount"
                                  else current)
        out[f"min_{name}"] = mn
        out[f"max_{name}"] = mx
    return out


def _max_hp_amount(lo: np.ndarray, hi: np.ndarray, hp: np.ndarray, total: float) -> float:
    """The most the high-potential regions can hold under bounds lo/hi and the total."""
    return float(min(hi[hp].sum(), total - lo[~hp].sum()))


def _pool_share(lo: np.ndarray, hi: np.ndarray, hp: np.ndarray, total: float,
                integer: bool, wanted: float) -> float:
    """`wanted` if the bounds allow it with margin, else the largest multiple of 5 % below."""
    room = _max_hp_amount(lo, np.minimum(hi, total), hp, total) - _HP_MARGIN * total
    share = wanted
    while share > 0:
        need = math.ceil(share * total - 1e-9) if integer else share * total
        if need <= room + 1e-9:
            return share
        share = round(math.floor(share * 20 - 1e-9) / 20, 2)
    return 0.0


def synth_pool_specs(regions: pd.DataFrame, pools: int,
                     ) -> tuple[tuple[PoolSpec, ...], tuple[GroupRule, ...]]:
    """The `[[pools]]` and amount group rules of the added pools of a synthetic table."""
    hp = regions["high_potential"].to_numpy(dtype=bool)
    specs, groups = [], []
    for name, label, k in added_pools(pools):
        integer = k.kind == "headcount"
        eligible = _eligible(regions, k)
        current = regions[f"current_{name}"].to_numpy(dtype=float)
        total: float = float((1.0 + k.growth) * current[eligible].sum())
        total = int(round(total)) if integer else round(total, -2)
        if total <= 0:  # no current amount anywhere eligible (e.g. a tiny table)
            total = max(1, int(eligible.sum())) if integer else 100.0 * max(1, int(eligible.sum()))
        lo, hi = bounds(current, regions[f"min_{name}"].to_numpy(dtype=float),
                        regions[f"max_{name}"].to_numpy(dtype=float), k.max_change, integer)
        lo, hi = np.where(eligible, lo, 0.0), np.where(eligible, hi, 0.0)
        wanted = k.hp_share if k.hp_share is not None else SYNTH_SHARE
        share = _pool_share(lo, hi, hp, total, integer, wanted)
        names = regions["region"].astype(str)
        specs.append(PoolSpec(
            name=name, kind=k.kind, total=total, label=label, current=f"current_{name}",
            min=f"min_{name}", max=f"max_{name}", max_change=k.max_change,
            unit_cost=k.unit_cost,
            eligible=tuple(names[eligible]) if k.eligible == "west list" else None,
            eligible_column="war_zone" if k.eligible == "zone column" else None,
            eligible_values=_zone_values(regions) if k.eligible == "zone column" else None,
            hp_share=None if share == SYNTH_SHARE and k.hp_share is None else share,
            weights=dict(k.weights) if k.weights else None))
        if k.group:
            # at least half of what the smallest war zone must keep of today's people (at
            # least one person where every zone has room for one): a rule every plan near
            # today's meets, in whole people
            zones = regions["war_zone"].astype(str).to_numpy()
            least = min(float(lo[zones == z].sum()) for z in np.unique(zones))
            room = min(float(np.minimum(hi, total)[zones == z].sum()) for z in np.unique(zones))
            amount = math.floor(least / 2)
            if amount == 0 and room >= 1 and len(np.unique(zones)) <= total:
                amount = 1
            groups.append(GroupRule(name=f"{name} in every war zone", pools=(name,),
                                    per="war_zone", min_amount=amount))
    return tuple(specs), tuple(groups)


def synth_scenario(regions: pd.DataFrame, pools: int = 2) -> Scenario:
    """The scenario that goes with a synthetic table: current totals, 60 % rule, ±30 %;
    with `pools` > 2 also the added pools and their amount rule (`synth_pool_specs`)."""
    added, groups = synth_pool_specs(regions, pools) if pools > 2 else ((), ())
    return Scenario(
        headcount_total=int(regions["current_headcount"].sum()),
        budget_total=float(round(float(regions["current_budget"].sum()))),
        weights=dict(SYNTH_WEIGHTS),
        hp_share=SYNTH_SHARE,
        hp_rule="column",
        max_change=SYNTH_MAX_CHANGE,
        groups=groups,
        pools=added,
    )


def write_synth(n: int, seed: int, out_dir: Path, pools: int = 2) -> dict[str, Path]:
    """Write out_dir/regions.csv (UTF-8 with BOM) and out_dir/scenario.toml; return the paths.

    `pools` is the number of pools in all, the built-in headcount and budget included
    (the CLI's `--pools`): 8 adds six pools (see `added_pools`).
    """
    check_pools(pools)
    regions = synth_regions(n, seed, pools)
    csv_text = regions.to_csv(index=False, lineterminator="\n")
    more = (f"# and {pools - 2} added pools (current/min/max columns in regions.csv).\n"
            if pools > 2 else "")
    toml_text = (f"# Synthetic scenario for {n} territories (seed {seed}): current totals,\n"
                 f"# the 60 % high-potential rule and a ±30 % change limit{',' if more else '.'}"
                 f"\n{more}\n"
                 + scenario_to_toml(synth_scenario(regions, pools)))
    out_dir = prepare_out_dir(out_dir, ("regions.csv", "scenario.toml"))
    written = write_files(out_dir, [("regions.csv", csv_text.encode("utf-8-sig")),
                                    ("scenario.toml", toml_text.encode("utf-8"))])
    return dict(zip(("regions", "scenario"), written, strict=True))

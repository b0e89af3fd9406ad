"""An independent reference implementation of docs/model.md, for the tests only.

It shares NO code with the `optimizer` package (it must never import it): plain Python
loops and `math`, written from the specification alone, so that a bug in the engine
cannot hide behind the same bug in the check.

- `ref_scores`: the three-dimension score, step by step (normalise, dimension scores,
  composite, allocation weight), with constant / zero-weight indicators left out.
- `ref_bounds`: per-region bounds of one pool, incl. the whole-people rules.
- `ref_feasible`: docs/model.md's feasibility condition (with its tolerance).
- `ref_waterfill`: max Σ S ln x s.t. Σ x = X, lo ≤ x ≤ hi, by bisection on the price μ
  (x(μ) = clip(S/μ, lo, hi)), finished by solving for μ exactly on the free set.
- `ref_optimum`: the base model with the high-potential rule Σ_H x ≥ ρX.
- `ref_whole_people`: docs/model.md's rounding rule of the continuous optimum.
- More pools (docs/model.md, "More pools"): `ref_pool_weights` (a pool's own dimension
  weights over the scenario's), `ref_eligible` (who may receive a pool),
  `ref_group_optimum` (one group with a least and a most amount, e.g. the high-potential
  rule with an amount), `ref_partition_optimum` (disjoint groups each with a least and a
  most amount, e.g. "one director per war zone"), `ref_partition_rounding_cost` (the
  least Σ|h − x*| of whole people meeting such groups), each with ineligible regions
  fixed at 0 and out of the objective.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

INF = math.inf

DEFAULT_INDICATORS = {
    "market_size": ("market_potential", "higher", 1.0),
    "growth_rate": ("market_potential", "higher", 1.0),
    "competition_intensity": ("market_potential", "lower", 1.0),
    "customer_ltv": ("customer_value", "higher", 1.0),
    "repurchase_rate": ("customer_value", "higher", 1.0),
    "referral_score": ("customer_value", "higher", 1.0),
    "team_capability": ("internal_capability", "higher", 1.0),
    "resource_reserve": ("internal_capability", "higher", 1.0),
    "collaboration_efficiency": ("internal_capability", "higher", 1.0),
}
DIMS = ("market_potential", "customer_value", "internal_capability")


# --------------------------------------------------------------------------- scoring

def ref_scores(columns: dict[str, Sequence[float]],
               indicators: dict[str, tuple[str, str, float]] | None = None,
               weights: dict[str, float] | None = None,
               floor: float = 0.1) -> list[dict[str, float | None]]:
    """Per region: each dimension's D (None when the dimension has no active indicator),
    the composite C ("score") and the allocation weight S ("weight").

    `columns` maps indicator name -> values (one per region); `indicators` maps
    name -> (dimension, direction, weight); `weights` maps dimension -> weight.
    """
    if indicators is None:
        indicators = DEFAULT_INDICATORS
    if weights is None:
        weights = {d: 1.0 / 3.0 for d in DIMS}
    n = len(next(iter(columns.values())))

    # step 1: normalise each active indicator
    z: dict[str, list[float]] = {}
    for name, (_dim, direction, u) in indicators.items():
        if u <= 0 or name not in columns:
            continue
        values = [float(v) for v in columns[name]]
        vmin = values[0]
        vmax = values[0]
        for v in values:
            if v < vmin:
                vmin = v
            if v > vmax:
                vmax = v
        if vmax - vmin <= 1e-12 * max(1.0, abs(vmax)):
            continue  # cannot rank anyone: left out, weight to the rest of the dimension
        col = []
        for v in values:
            t = (v - vmin) / (vmax - vmin)
            col.append(1.0 - t if direction == "lower" else t)
        z[name] = col

    # step 2: dimension scores over the active indicators
    dim_score: dict[str, list[float] | None] = {}
    for d in DIMS:
        names = [nm for nm in z if indicators[nm][0] == d]
        if not names:
            dim_score[d] = None
            continue
        total_u = 0.0
        for nm in names:
            total_u += indicators[nm][2]
        col = []
        for r in range(n):
            acc = 0.0
            for nm in names:
                acc += indicators[nm][2] * z[nm][r]
            col.append(acc / total_u)
        dim_score[d] = col

    # step 3: composite over the active dimensions (a D and weight > 0)
    active = [d for d in DIMS if dim_score[d] is not None and weights.get(d, 0.0) > 0]
    out: list[dict[str, float | None]] = []
    for r in range(n):
        row: dict[str, float | None] = {}
        for d in DIMS:
            col = dim_score[d]
            row[d] = None if col is None else col[r]
        if active:
            num = 0.0
            den = 0.0
            for d in active:
                num += weights[d] * dim_score[d][r]  # type: ignore[index]
                den += weights[d]
            c = num / den
        else:
            c = 1.0
        row["score"] = c
        # step 4: allocation weight
        row["weight"] = floor + (1.0 - floor) * c
        out.append(row)
    return out


def ref_threshold_hp(scores: list[dict[str, float | None]], threshold: float) -> list[bool]:
    """High-potential by the threshold rule on the market-potential dimension score."""
    out = []
    for row in scores:
        d = row["market_potential"]
        out.append(d is not None and d >= threshold - 1e-9)
    return out


# --------------------------------------------------------------------------- bounds

def ref_bounds(current: Sequence[float], min_col: Sequence[float | None] | None,
               max_col: Sequence[float | None] | None, delta: float | None,
               integer: bool) -> tuple[list[float], list[float]]:
    """(lo, hi) per region following docs/model.md "Bounds"; None (or NaN) = no bound."""
    def given(col: Sequence[float | None] | None, r: int) -> float | None:
        if col is None:
            return None
        v = col[r]
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        return float(v)

    lo_out, hi_out = [], []
    for r, c in enumerate(current):
        c = float(c)
        lo_terms = [0.0]
        hi_terms = [INF]
        mn, mx = given(min_col, r), given(max_col, r)
        if mn is not None:
            lo_terms.append(math.ceil(mn - 1e-9) if integer else mn)
        if mx is not None:
            hi_terms.append(math.floor(mx + 1e-9) if integer else mx)
        if delta is not None and c > 0:
            if integer:
                lo_terms.append(max(0, min(math.ceil((1 - delta) * c - 1e-9), c - 1)))
                hi_terms.append(max(math.floor((1 + delta) * c + 1e-9), c + 1))
            else:
                lo_terms.append((1 - delta) * c)
                hi_terms.append((1 + delta) * c)
        lo_out.append(float(max(lo_terms)))
        hi_out.append(float(min(hi_terms)))
    return lo_out, hi_out


# --------------------------------------------------------------------------- feasibility

def ref_need(total: float, rho: float, integer: bool) -> float:
    """The least the high-potential group must get: ρX, or ⌈ρX − 1e-9⌉ people."""
    if integer:
        return float(math.ceil(rho * total - 1e-9))
    return rho * total


def ref_margin(lo: Sequence[float], hi: Sequence[float], hp: Sequence[bool], total: float,
               rho: float, integer: bool) -> float:
    """min(upper) − max(lower) of docs/model.md's condition (≥ −tol means feasible);
    −inf when some region has lo > hi."""
    tol = 1e-9 * max(1.0, total)
    for a, b in zip(lo, hi, strict=True):
        if a > b + tol:
            return -INF
    h_lo = h_hi = o_lo = o_hi = 0.0
    for a, b, h in zip(lo, hi, hp, strict=True):
        if h:
            h_lo += a
            h_hi += b
        else:
            o_lo += a
            o_hi += b
    need = ref_need(total, rho, integer)
    low = max(h_lo, need, total - o_hi)
    high = min(h_hi, total - o_lo)
    return high - low


def ref_feasible(lo: Sequence[float], hi: Sequence[float], hp: Sequence[bool], total: float,
                 rho: float, integer: bool) -> bool:
    """docs/model.md: feasible iff no lo > hi and max(Σ_H lo, ρX, X − Σ_¬H hi) ≤
    min(Σ_H hi, X − Σ_¬H lo), within 1e-9·max(1, X)."""
    return ref_margin(lo, hi, hp, total, rho, integer) >= -1e-9 * max(1.0, total)


# --------------------------------------------------------------------------- optimum

def _clip(v: float, a: float, b: float) -> float:
    return a if v < a else (b if v > b else v)


def ref_waterfill(weight: Sequence[float], lo: Sequence[float], hi: Sequence[float],
                  total: float) -> list[float]:
    """argmax Σ S ln x s.t. Σ x = total, lo ≤ x ≤ hi (assumed feasible).

    x(μ) = clip(S/μ, lo, hi) with Σ x(μ) non-increasing in μ: bisection on log μ, then
    the exact μ of the free set (Σ_free S / (total − Σ_fixed)), repeated until the set
    of regions on their bounds no longer changes.
    """
    n = len(weight)
    if n == 0:
        return []
    lo_sum = sum(lo)
    hi_sum = sum(hi)
    if total <= lo_sum:
        return [float(v) for v in lo]
    if total >= hi_sum:
        return [float(v) for v in hi]

    def alloc(mu: float) -> list[float]:
        return [_clip(s / mu, a, b) for s, a, b in zip(weight, lo, hi, strict=True)]

    def excess(log_mu: float) -> float:
        return math.fsum(alloc(math.exp(log_mu))) - total

    # bracket: excess(a) ≥ 0 ≥ excess(b)
    a = b = math.log(sum(weight) / total)
    while excess(a) < 0:
        a -= 2.0
    while excess(b) > 0:
        b += 2.0
    for _ in range(200):
        m = 0.5 * (a + b)
        if excess(m) > 0:
            a = m
        else:
            b = m
        if b - a < 1e-15:
            break
    mu = math.exp(0.5 * (a + b))

    # exact finish on the active set found by the bisection
    for _ in range(50):
        x = alloc(mu)
        free_s = []
        fixed = []
        for s, xa, l_, h_ in zip(weight, x, lo, hi, strict=True):
            if l_ < s / mu < h_:
                free_s.append(s)
            else:
                fixed.append(xa)
        rest = total - math.fsum(fixed)
        if not free_s or rest <= 0:
            return x
        new_mu = math.fsum(free_s) / rest
        if new_mu == mu:
            break
        mu = new_mu
    return alloc(mu)


def ref_optimum(weight: Sequence[float], lo: Sequence[float], hi: Sequence[float],
                hp: Sequence[bool], total: float, rho: float, integer: bool) -> list[float]:
    """The exact optimum of docs/model.md's problem with the high-potential rule (assumed
    feasible): the plan without the rule if it already gives H enough, else H filled
    with exactly the need and the rest with the remainder, each by water-filling."""
    x = ref_waterfill(weight, lo, hi, total)
    need = ref_need(total, rho, integer) if rho > 0 else 0.0
    h_sum = math.fsum(v for v, h in zip(x, hp, strict=True) if h)
    if h_sum >= need:
        return x
    idx_h = [r for r in range(len(weight)) if hp[r]]
    idx_o = [r for r in range(len(weight)) if not hp[r]]
    xh = ref_waterfill([weight[r] for r in idx_h], [lo[r] for r in idx_h],
                       [hi[r] for r in idx_h], need)
    xo = ref_waterfill([weight[r] for r in idx_o], [lo[r] for r in idx_o],
                       [hi[r] for r in idx_o], total - need)
    out = [0.0] * len(weight)
    for r, v in zip(idx_h, xh, strict=True):
        out[r] = v
    for r, v in zip(idx_o, xo, strict=True):
        out[r] = v
    return out


# --------------------------------------------------------------------------- rounding

def ref_whole_people(x: Sequence[float], total: int, weight: Sequence[float],
                     hp: Sequence[bool], rho: float) -> list[int]:
    """docs/model.md: everyone gets ⌊x⌋; the K = X − Σ⌊x⌋ extra people go first to the
    m = max(0, ⌈ρX − 1e-9⌉ − Σ_H ⌊x⌋) high-potential regions with the largest fractional
    parts, then to the remaining regions with the largest fractional parts; ties within
    1e-9 go to the higher S, then to the earlier row."""
    n = len(x)
    base = []
    frac = []
    for v in x:
        f = math.floor(v + 1e-9)
        base.append(int(f))
        rest = v - f
        frac.append(rest if rest > 1e-9 else 0.0)
    k = total - sum(base)
    need = math.ceil(rho * total - 1e-9) if rho > 0 else 0
    m = max(0, need - sum(b for b, h in zip(base, hp, strict=True) if h))

    def before(i: int, j: int) -> int:
        if abs(frac[i] - frac[j]) > 1e-9:
            return -1 if frac[i] > frac[j] else 1
        if weight[i] != weight[j]:
            return -1 if weight[i] > weight[j] else 1
        return -1 if i < j else (1 if i > j else 0)

    out = list(base)
    given = [False] * n
    order = sorted(range(n), key=functools.cmp_to_key(before))
    left = k
    if m > 0:
        for r in order:
            if m == 0 or left == 0:
                break
            if hp[r] and frac[r] > 0:
                given[r] = True
                out[r] += 1
                m -= 1
                left -= 1
    for r in order:
        if left <= 0:
            break
        if not given[r] and frac[r] > 0:
            given[r] = True
            out[r] += 1
            left -= 1
    return out


# --------------------------------------------------------------------------- re-plan

def ref_replan_bounds(record: Sequence[float], min_col: Sequence[float | None] | None,
                      max_col: Sequence[float | None] | None, delta: float | None,
                      integer: bool, to_date: Sequence[float],
                      floor: bool = True) -> tuple[list[float], list[float]]:
    """docs/model.md "Re-planning within the year": the bounds of one pool with the plan of
    record in place of current, what is spent / in place as a floor, and an upper limit
    below the floor raised to it."""
    lo, hi = ref_bounds(record, min_col, max_col, delta, integer)
    if not floor:
        return lo, hi
    lo_out, hi_out = [], []
    for a, b, s in zip(lo, hi, to_date, strict=True):
        s = float(s)
        lo_out.append(a if a >= s else s)
        hi_out.append(b if b >= s else s)
    return lo_out, hi_out


# --------------------------------------------------------------------------- more pools

def ref_pool_weights(scenario_weights: dict[str, float],
                     own: dict[str, float] | None) -> dict[str, float]:
    """A pool's dimension weights: its own where it names a dimension, else the scenario's."""
    out = dict(scenario_weights)
    for d, v in (own or {}).items():
        out[d] = v
    return out


def ref_eligible(names: Sequence[str], eligible: Sequence[str] | None = None,
                 column: Sequence[str] | None = None,
                 values: Sequence[str] | None = None) -> list[bool]:
    """Who may receive a pool: by a list of names, or by a column's values; else everyone."""
    if eligible is not None:
        return [n in eligible for n in names]
    if column is not None:
        return [str(c).strip() in (values or ()) for c in column]
    return [True] * len(names)


def _sub(seq: Sequence, idx: Sequence[int]) -> list:
    return [seq[i] for i in idx]


def _scatter(n: int, idx: Sequence[int], vals: Sequence[float]) -> list[float]:
    out = [0.0] * n
    for i, v in zip(idx, vals, strict=True):
        out[i] = float(v)
    return out


def ref_group_optimum(weight: Sequence[float], lo: Sequence[float], hi: Sequence[float],
                      members: Sequence[bool], total: float, need: float | None,
                      cap: float | None, eligible: Sequence[bool] | None = None) -> list[float]:
    """argmax Σ S ln x over the eligible regions s.t. Σ x = total, lo ≤ x ≤ hi and
    need ≤ Σ_group x ≤ cap (assumed feasible); an ineligible region gets 0.

    With one group the problem separates once the group's amount is known: the plan
    without the rule if its group amount is within [need, cap], else the group filled
    with exactly the violated limit and the others with the rest, each by water-filling.
    """
    n = len(weight)
    keep = [i for i in range(n) if eligible is None or eligible[i]]
    w, a, b, m = _sub(weight, keep), _sub(lo, keep), _sub(hi, keep), _sub(members, keep)
    x = ref_waterfill(w, a, b, total)
    g = math.fsum(v for v, k in zip(x, m, strict=True) if k)
    target = None
    if need is not None and g < need:
        target = need
    if cap is not None and g > cap:
        target = cap
    if target is not None:
        idx_g = [i for i in range(len(w)) if m[i]]
        idx_o = [i for i in range(len(w)) if not m[i]]
        xg = ref_waterfill(_sub(w, idx_g), _sub(a, idx_g), _sub(b, idx_g), target)
        xo = ref_waterfill(_sub(w, idx_o), _sub(a, idx_o), _sub(b, idx_o), total - target)
        x = [0.0] * len(w)
        for i, v in zip(idx_g, xg, strict=True):
            x[i] = v
        for i, v in zip(idx_o, xo, strict=True):
            x[i] = v
    return _scatter(n, keep, x)


def ref_partition_optimum(weight: Sequence[float], lo: Sequence[float], hi: Sequence[float],
                          parts: Sequence[int], total: float,
                          limits: dict[int, tuple[float | None, float | None]],
                          eligible: Sequence[bool] | None = None) -> list[float]:
    """argmax Σ S ln x over the eligible regions s.t. Σ x = total, lo ≤ x ≤ hi and, for
    every part p of a partition of the regions, need_p ≤ Σ_{r in p} x ≤ cap_p (assumed
    feasible; a part missing from `limits` has none). An ineligible region gets 0.

    At a price μ every part takes clip(Σ_p clip(S/μ, lo, hi), need_p, cap_p): this is
    non-increasing in μ; bisection on log μ finds where the parts add up to the total.
    The parts held at a limit then get exactly it; the free parts are water-filled
    together with what is left (their common price is the same μ).
    """
    n = len(weight)
    keep = [i for i in range(n) if eligible is None or eligible[i]]
    w, a, b = _sub(weight, keep), _sub(lo, keep), _sub(hi, keep)
    pk = _sub(parts, keep)
    labels = sorted(set(pk))
    idx = {p: [i for i in range(len(w)) if pk[i] == p] for p in labels}
    lim = {p: limits.get(p, (None, None)) for p in labels}

    def part_amount(p: int, mu: float) -> float:
        v = math.fsum(_clip(w[i] / mu, a[i], b[i]) for i in idx[p])
        need, cap = lim[p]
        if need is not None and v < need:
            v = need
        if cap is not None and v > cap:
            v = cap
        return v

    def excess(log_mu: float) -> float:
        mu = math.exp(log_mu)
        return math.fsum(part_amount(p, mu) for p in labels) - total

    if not w:
        return [0.0] * n
    if total <= math.fsum(a):
        return _scatter(n, keep, a)
    lo_a = hi_a = math.log(max(math.fsum(w), 1e-300) / max(total, 1e-300))
    for _ in range(340):  # within exp's range
        if excess(lo_a) >= 0 or lo_a < -680:
            break
        lo_a -= 2.0
    for _ in range(340):
        if excess(hi_a) <= 0 or hi_a > 680:
            break
        hi_a += 2.0
    for _ in range(300):
        mid = 0.5 * (lo_a + hi_a)
        if excess(mid) > 0:
            lo_a = mid
        else:
            hi_a = mid
        if hi_a - lo_a < 1e-15:
            break
    mu = math.exp(0.5 * (lo_a + hi_a))
    x = [0.0] * len(w)
    free: list[int] = []
    fixed_total = 0.0
    for p in labels:
        raw = math.fsum(_clip(w[i] / mu, a[i], b[i]) for i in idx[p])
        need, cap = lim[p]
        held = None
        if need is not None and raw <= need + 1e-12 * max(1.0, abs(need)):
            held = need
        if cap is not None and raw >= cap - 1e-12 * max(1.0, abs(cap)):
            held = cap
        if held is None:
            free += idx[p]
            continue
        xs = ref_waterfill(_sub(w, idx[p]), _sub(a, idx[p]), _sub(b, idx[p]), held)
        for i, v in zip(idx[p], xs, strict=True):
            x[i] = v
        fixed_total += held
    if free:
        xs = ref_waterfill(_sub(w, free), _sub(a, free), _sub(b, free), total - fixed_total)
        for i, v in zip(free, xs, strict=True):
            x[i] = v
    return _scatter(n, keep, x)


def ref_partition_rounding_cost(x: Sequence[float], total: int, parts: Sequence[int],
                                limits: dict[int, tuple[float | None, float | None]]) -> float:
    """The least Σ|h − x| over whole h with Σ h = total, every h ∈ {⌊x⌋, ⌈x⌉} and every
    part within its (whole) limits: per part, rounding up its k largest fractional parts
    costs Σ_up (1 − f) + Σ_down f; a knapsack over the parts picks the k's. inf when none."""
    labels = sorted(set(parts))
    options: list[dict[int, float]] = []  # per part: extra units k -> least cost
    base_total = 0
    for p in labels:
        idx = [i for i in range(len(x)) if parts[i] == p]
        floors = [math.floor(x[i] + 1e-9) for i in idx]
        fr = sorted((max(0.0, x[i] - f) for i, f in zip(idx, floors, strict=True)),
                    reverse=True)
        base = sum(floors)
        base_total += base
        need, cap = limits.get(p, (None, None))
        costs: dict[int, float] = {}
        for k in range(len(idx) + 1):
            amount = base + k
            if need is not None and amount < need - 1e-9:
                continue
            if cap is not None and amount > cap + 1e-9:
                continue
            costs[k] = math.fsum(1.0 - f for f in fr[:k]) + math.fsum(fr[k:])
        options.append(costs)
    want = total - base_total
    best: dict[int, float] = {0: 0.0}
    for costs in options:
        nxt: dict[int, float] = {}
        for used, c0 in best.items():
            for k, c in costs.items():
                u = used + k
                if u > want:
                    continue
                if u not in nxt or c0 + c < nxt[u]:
                    nxt[u] = c0 + c
        best = nxt
    return best.get(want, INF)

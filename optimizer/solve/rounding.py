"""Whole people and whole cents from the continuous optimum (docs/model.md, "Accuracy")."""

from __future__ import annotations

import math

import numpy as np


def largest_remainder(x: np.ndarray, total: int, weight: np.ndarray, hp: np.ndarray,
                      hp_need: int, tol: float | np.ndarray = 1e-9) -> np.ndarray:
    """Integers h with Σh = total, h ∈ {⌊x⌋, ⌊x⌋+1}, nearest to x, high-potential first.

    Every region gets ⌊x⌋; the K = total − Σ⌊x⌋ extra units go first to the
    m = max(0, hp_need − Σ_H ⌊x⌋) high-potential regions with the largest fractional
    parts, then to the remaining regions with the largest fractional parts. Ties within
    1e-9 go to the higher weight, then to the earlier row.
    """
    base = np.floor(x + tol)
    frac = np.where(x - base > tol, x - base, 0.0)
    out = base.astype(np.int64)
    # in whole units as Python integers: a float sum is not exact beyond 2^53
    extra = int(total) - int(out.sum())
    rows = np.arange(len(x))
    key_frac = np.round(frac / 1e-9)
    if extra < 0:
        # float noise in huge amounts (x·100 beyond 2^53) can floor a few units too high:
        # take them back where the fractional part is smallest, keeping the
        # high-potential need, lowest weight and last row first
        order = np.lexsort((-rows, weight, key_frac))
        spare_hp = int(out[hp].sum()) - hp_need
        while extra < 0:  # a unit or a few per region at most; loops until all are back
            before = extra
            for i in order:
                if extra == 0:
                    break
                if out[i] > 0 and (not hp[i] or spare_hp > 0):
                    out[i] -= 1
                    extra += 1
                    spare_hp -= int(hp[i])
            if extra == before:
                break  # nothing left to take: the caller's check reports the total
        return out
    if extra == 0:
        return out
    # order: fractional part (to 1e-9), then weight, then row — stable lexsort, last key first
    order = np.lexsort((rows, -weight, -key_frac))
    m = max(0, hp_need - int(out[hp].sum()))
    given = np.zeros(len(x), dtype=bool)
    if m > 0:
        hp_order = order[hp[order] & (frac[order] > 0)]
        pick = hp_order[:min(m, extra)]
        given[pick] = True
    rest = order[~given[order] & (frac[order] > 0)]
    given[rest[: extra - int(given.sum())]] = True
    out[given] += 1
    left = extra - int(given.sum())
    live = order[weight[order] > 0]  # never a region outside the pool (weight 0, fixed at 0)
    live = live if len(live) else order
    while left > 0:  # float noise the other way: too few fractional parts to carry the units
        out[live[:left]] += 1
        left -= min(left, len(live))
    return out


def whole_people(x: np.ndarray, total: float, weight: np.ndarray, hp: np.ndarray,
                 hp_share: float) -> np.ndarray:
    """The headcount allocation: whole people nearest to x meeting the high-potential rule."""
    need = max(0, math.ceil(hp_share * total - 1e-9)) if hp_share > 0 else 0
    return largest_remainder(x, int(round(total)), weight, hp, need)


def whole_cents(x: np.ndarray, total: float, weight: np.ndarray, hp: np.ndarray,
                hp_share: float) -> np.ndarray:
    """The budget in CNY rounded to 0.01, summing exactly to the total, same method as people."""
    return cents_allocation(x, total, weight, hp, hp_share) / 100.0


def cents_allocation(x: np.ndarray, total: float, weight: np.ndarray, hp: np.ndarray,
                     hp_share: float) -> np.ndarray:
    """`whole_cents` as whole cents (int64), exact at any magnitude.

    Beyond 2^53 cents (about 9·10^13 CNY) a float in CNY cannot hold every cent, so the
    checks and the CSV export work on these integers.
    """
    cents = int(round(total * 100))
    # ρ·X in cents carries float noise (0.667317 × 39,000,000 = 26,025,363.000000004)
    need = max(0, math.ceil(hp_share * cents - 1e-9 - 1e-12 * cents)) if hp_share > 0 else 0
    v = x * 100
    # amounts of 10^7 cents carry float noise far above 1e-9 cent: judge whole cents
    # relatively, but never so loosely that a fraction of a cent is floored up (at 10^11 CNY
    # 1e-12·v is more than a cent)
    tol = np.minimum(1e-9 + 1e-12 * np.abs(v), 1e-3)
    return largest_remainder(v, cents, weight, hp, need, tol)

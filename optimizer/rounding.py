"""Whole people and whole cents from the continuous optimum (MODEL.md, "Accuracy")."""

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
    extra = int(round(total - base.sum()))
    out = base.copy()
    if extra <= 0:
        return out.astype(np.int64)
    # order: fractional part (to 1e-9), then weight, then row — stable lexsort, last key first
    rows = np.arange(len(x))
    key_frac = np.round(frac / 1e-9)
    order = np.lexsort((rows, -weight, -key_frac))
    m = max(0, hp_need - int(base[hp].sum()))
    given = np.zeros(len(x), dtype=bool)
    if m > 0:
        hp_order = order[hp[order] & (frac[order] > 0)]
        pick = hp_order[:min(m, extra)]
        given[pick] = True
    rest = order[~given[order] & (frac[order] > 0)]
    given[rest[: extra - int(given.sum())]] = True
    out[given] += 1
    return out.astype(np.int64)


def whole_people(x: np.ndarray, total: float, weight: np.ndarray, hp: np.ndarray,
                 hp_share: float) -> np.ndarray:
    """The headcount allocation: whole people nearest to x meeting the high-potential rule."""
    need = max(0, math.ceil(hp_share * total - 1e-9)) if hp_share > 0 else 0
    return largest_remainder(x, int(round(total)), weight, hp, need)


def whole_cents(x: np.ndarray, total: float, weight: np.ndarray, hp: np.ndarray,
                hp_share: float) -> np.ndarray:
    """The budget in CNY rounded to 0.01, summing exactly to the total, same method as people."""
    cents = int(round(total * 100))
    # ρ·X in cents carries float noise (0.667317 × 39,000,000 = 26,025,363.000000004)
    need = max(0, math.ceil(hp_share * cents - 1e-9 - 1e-12 * cents)) if hp_share > 0 else 0
    v = x * 100
    # amounts of 10^7 cents carry float noise far above 1e-9 cent: judge whole cents relatively
    return largest_remainder(v, cents, weight, hp, need, 1e-9 + 1e-12 * np.abs(v)) / 100.0

"""Whole people and whole cents from the continuous optimum (MODEL.md, "Accuracy")."""

from __future__ import annotations

import math

import numpy as np


def largest_remainder(x: np.ndarray, total: int, weight: np.ndarray, hp: np.ndarray,
                      hp_need: int) -> np.ndarray:
    """Integers h with Σh = total, h ∈ {⌊x⌋, ⌊x⌋+1}, nearest to x, high-potential first.

    Every region gets ⌊x⌋; the K = total − Σ⌊x⌋ extra units go first to the
    m = max(0, hp_need − Σ_H ⌊x⌋) high-potential regions with the largest fractional
    parts, then to the remaining regions with the largest fractional parts. Ties within
    1e-9 go to the higher weight, then to the earlier row.
    """
    base = np.floor(x + 1e-9)
    frac = np.where(x - base > 1e-9, x - base, 0.0)
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
        pick = hp_order[:m]
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
    need = max(0, math.ceil(hp_share * cents - 1e-9)) if hp_share > 0 else 0
    return largest_remainder(x * 100, cents, weight, hp, need) / 100.0

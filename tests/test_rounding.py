"""Whole people and whole cents (docs/model.md, "Accuracy"): the rounding rule by hand, against
the independent reference, and its promise of being the nearest admissible allocation."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.solve.rounding import largest_remainder, whole_cents, whole_people
from tests.reference import ref_whole_people

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def arr(*v):
    return np.array(v, dtype=float)


# --------------------------------------------------------------------------- by hand

def test_exact_integers_are_kept():
    x = arr(100, 200, 100)
    assert whole_people(x, 400, arr(1, 2, 1), np.zeros(3, bool), 0.0).tolist() == [100, 200, 100]


def test_largest_fraction_wins():
    # ⌊x⌋ = 1, 2, 3 (6); K = 7 − 6 = 1 goes to the largest fraction (.6)
    x = arr(1.3, 2.6, 3.1)
    assert whole_people(x, 7, arr(1, 1, 1), np.zeros(3, bool), 0.0).tolist() == [1, 3, 3]


def test_ties_go_to_higher_weight_then_earlier_row():
    x = arr(1.5, 1.5, 2.0)
    # equal fractions: the higher S wins
    assert whole_people(x, 5, arr(1, 2, 1), np.zeros(3, bool), 0.0).tolist() == [1, 2, 2]
    # equal fractions and S: the earlier row wins
    assert whole_people(x, 5, arr(1, 1, 1), np.zeros(3, bool), 0.0).tolist() == [2, 1, 2]
    # fractions within 1e-9 count as equal: S decides, not the 5e-10 difference
    x2 = arr(1.5, 1.5 + 5e-10, 2.0 - 5e-10)
    assert whole_people(x2, 5, arr(2, 1, 1), np.zeros(3, bool), 0.0).tolist() == [2, 1, 2]


def test_high_potential_quota_comes_first():
    # H = {1}; ρ = 15 %: need ⌈0.3⌉ = 1 person in H, Σ_H ⌊x⌋ = 0 → m = 1.
    # K = 2 − 1 = 1 extra person: without the quota it would go to region 0 (.7 > .3).
    x = arr(0.7, 0.3, 1.0)
    hp = np.array([False, True, False])
    assert whole_people(x, 2, arr(1, 1, 1), hp, 0.15).tolist() == [0, 1, 1]
    assert whole_people(x, 2, arr(1, 1, 1), hp, 0.0).tolist() == [1, 0, 1]


def test_quota_then_largest_remaining_fractions():
    # H = {0, 1}, ρ = 0.5, X = 4: need 2, Σ_H ⌊x⌋ = 1 → m = 1 → region 1 (.4 > .0 fraction)
    # K = 4 − 2 = 2; the second extra person goes to the largest remaining fraction: region 2
    x = arr(1.0, 0.4, 0.9, 0.7)
    x = x * 4 / x.sum()  # scale to sum 4 → 1.333.., 0.533.., 1.2, 0.933..
    hp = np.array([True, True, False, False])
    got = whole_people(x, 4, arr(1, 1, 1, 1), hp, 0.5).tolist()
    assert got == ref_whole_people(x.tolist(), 4, [1, 1, 1, 1], hp.tolist(), 0.5)
    assert sum(got) == 4 and got[0] + got[1] >= 2


def test_headcount_need_uses_the_ceiling():
    # X = 7, ρ = .5: need ⌈3.5⌉ = 4 people in H
    x = arr(4.0, 1.0, 1.0, 1.0)
    hp = np.array([True, False, False, False])
    assert whole_people(x, 7, arr(1, 1, 1, 1), hp, 0.5).tolist() == [4, 1, 1, 1]


def test_zero_total():
    assert whole_people(arr(0, 0), 0, arr(1, 1), np.array([True, False]), 0.6).tolist() == [0, 0]


def test_largest_remainder_returns_int64():
    out = largest_remainder(arr(0.5, 0.5), 1, arr(1, 1), np.zeros(2, bool), 0)
    assert out.dtype == np.int64 and out.tolist() == [1, 0]


def test_whole_cents_by_hand():
    # 100 / 3 each: 33.33 ×3 = 99.99, the extra cent to the earliest row (equal S)
    x = np.full(3, 100 / 3)
    got = whole_cents(x, 100.0, arr(1, 1, 1), np.zeros(3, bool), 0.0)
    assert got.tolist() == [33.34, 33.33, 33.33]
    # with S deciding the tie
    got = whole_cents(x, 100.0, arr(1, 1, 2), np.zeros(3, bool), 0.0)
    assert got.tolist() == [33.33, 33.33, 33.34]


# --------------------------------------------------------------------------- properties

@st.composite
def fractional_plans(draw, max_n: int = 9):
    """A continuous allocation x ≥ 0 with integer total X and Σ_H x ≥ ρX."""
    n = draw(st.integers(1, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    total = draw(st.integers(0, 40))
    raw = rng.lognormal(0, 1, n)
    if draw(st.booleans()):
        raw[rng.random(n) < 0.3] = 0.0
    if raw.sum() == 0:
        raw[0] = 1.0
    x = raw / raw.sum() * total
    hp = rng.random(n) < 0.5
    share_h = x[hp].sum() / total if total > 0 else 0.0
    rho = draw(st.sampled_from([0.0, 0.25, 0.6, 1.0]))
    rho = min(rho, share_h)  # the continuous plan meets the rule
    if draw(st.booleans()):
        rho = share_h  # the rule binds exactly
    weight = rng.choice([0.1, 0.5, 1.0], n)
    return x, total, weight, hp, rho


def admissible(h, x, total, hp, rho):
    need = math.ceil(rho * total - 1e-9) if rho > 0 else 0
    return (sum(h) == total and sum(v for v, m in zip(h, hp, strict=True) if m) >= need
            and all(math.floor(xi + 1e-9) <= hi <= math.floor(xi + 1e-9) + 1 for hi, xi in
                    zip(h, x, strict=True)))


@SETTINGS
@given(fractional_plans())
def test_whole_people_matches_reference_and_is_nearest(case):
    x, total, weight, hp, rho = case
    got = whole_people(x, total, weight, hp, rho).tolist()
    ref = ref_whole_people(x.tolist(), total, weight.tolist(), hp.tolist(), rho)
    assert got == ref
    assert sum(got) == total
    need = math.ceil(rho * total - 1e-9) if rho > 0 else 0
    assert sum(g for g, m in zip(got, hp, strict=True) if m) >= need
    # no whole-people allocation that meets the rules is nearer to x (brute force)
    dist = sum(abs(g - xi) for g, xi in zip(got, x, strict=True))
    floors = [math.floor(xi + 1e-9) for xi in x]
    best = math.inf
    for ups in itertools.product((0, 1), repeat=len(x)):
        h = [f + u for f, u in zip(floors, ups, strict=True)]
        if admissible(h, x, total, hp, rho):
            best = min(best, sum(abs(a - b) for a, b in zip(h, x, strict=True)))
    assert dist <= best + 1e-9


@SETTINGS
@given(st.integers(1, 40), st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.6]))
def test_whole_cents_sum_exactly(n, seed, rho):
    rng = np.random.default_rng(seed)
    total = round(float(rng.lognormal(16, 2)), 2)
    x = rng.lognormal(0, 1, n)
    x = x / x.sum() * total
    hp = rng.random(n) < 0.5
    if hp.any() and rho > 0:
        # make the continuous plan meet the rule
        if x[hp].sum() < rho * total:
            x[hp] *= rho * total / x[hp].sum()
            x[~hp] *= (total - x[hp].sum()) / x[~hp].sum() if (~hp).any() else 1.0
    else:
        rho = 0.0
    if not (~hp).any() and rho > 0:
        rho = 1.0
    got = whole_cents(x, total, np.ones(n), hp, rho)
    cents = np.rint(got * 100).astype(np.int64)
    assert np.all(np.abs(got * 100 - cents) < 1e-6)  # whole cents
    assert int(cents.sum()) == round(total * 100)
    assert np.all(np.abs(got - x) < 0.01 + 1e-9 * max(1.0, total))
    if rho > 0:
        assert cents[hp].sum() >= math.ceil(rho * total * 100 - 1e-6)

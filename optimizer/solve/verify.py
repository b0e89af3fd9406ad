"""Independent checks of an allocation (plain numpy, nothing shared with the LP).

A failed check is a bug: it raises VerificationError and no table is handed out.
"""

from __future__ import annotations

import numpy as np

from optimizer.errors import VerificationError
from optimizer.model.pools import Pool


def check_allocation(pool: Pool, x: np.ndarray, *, rounded: bool,
                     cents: np.ndarray | None = None) -> None:
    """Totals, bounds, whole people and every share rule; raise VerificationError if broken.

    `cents`, for a rounded budget, is the allocation in whole cents: its sum must be the
    total's to the cent, in integers (a float sum is not exact beyond 2^53 cents).
    """
    total = pool.total
    tol = 1e-9 * max(1.0, total)
    if rounded and not pool.integer:
        tol = max(tol, 0.01 + 1e-9 * max(1.0, total))  # budget written in whole cents
    problems = []
    if x.shape != pool.current.shape or not np.all(np.isfinite(x)):
        raise VerificationError(f"{pool.name}: allocation has the wrong shape or non-finite values")
    if cents is not None:
        if int(cents.sum()) != int(round(total * 100)):
            problems.append(f"total {int(cents.sum())} cents differs from "
                            f"{int(round(total * 100))}")
    elif abs(float(x.sum()) - total) > (0.5e-2 if rounded and not pool.integer else tol):
        problems.append(f"total {x.sum():.6f} differs from {total:.6f}")
    if rounded and pool.integer and not np.all(x == np.round(x)):
        problems.append("not whole people")
    low = np.nonzero(x < pool.lo - tol)[0]
    high = np.nonzero(x > pool.hi + tol)[0]
    for i in low[:5]:
        problems.append(f"{pool.regions[i]} gets {x[i]:.6f}, below its minimum {pool.lo[i]:.6f}")
    for i in high[:5]:
        problems.append(f"{pool.regions[i]} gets {x[i]:.6f}, above its maximum {pool.hi[i]:.6f}")
    if np.any(x < -tol):
        problems.append("negative allocation")
    outside = np.nonzero(~pool.eligible & (np.abs(x) > tol))[0]
    for i in outside[:5]:
        problems.append(f"{pool.regions[i]} gets {x[i]:.6f} but may not receive the pool")
    for rule in pool.rules:
        s = float(x[rule.mask].sum())
        if rule.min_share is not None and s < pool.rule_min(rule) - tol:
            problems.append(f"{rule.name}: group gets {s:.6f}, the rule needs "
                            f"{pool.rule_min(rule):.6f}")
        if rule.max_share is not None and s > pool.rule_max(rule) + tol:
            problems.append(f"{rule.name}: group gets {s:.6f}, the rule allows "
                            f"{pool.rule_max(rule):.6f}")
    if problems:
        raise VerificationError(f"verification of the {pool.name} allocation failed: "
                                + "; ".join(problems))


def meets_rules(pool: Pool, x: np.ndarray) -> bool:
    """True when the rounded allocation x meets every share rule exactly (whole units)."""
    for rule in pool.rules:
        s = float(x[rule.mask].sum())
        tol = 1e-9 * max(1.0, pool.total)
        if rule.min_share is not None and s < pool.rule_min(rule) - tol:
            return False
        if rule.max_share is not None and s > pool.rule_max(rule) + tol:
            return False
    return True

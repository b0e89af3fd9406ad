"""The polish: the optimality conditions of a pool solved exactly on an active set.

At the optimum of max Σ S·ln x with Σ x = X, bounds and share rules, every free region has
x = S / π, where π is one price per cell of regions with the same rules (λ for the total,
less the prices ν of the rules the cell is in). Given the bounds and rules an LP answer
leaves active, `polish` solves those equations to machine precision and checks them,
moving regions onto or off their bounds and rules in or out until they hold; degenerate
prices (more active constraints than the free regions fix) are settled by a tiny LP.
"""

from __future__ import annotations

import numpy as np

from optimizer.model.result import Status
from optimizer.solve.backend import solve_quietly


def polish(weight: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: float,
            rules: list[tuple[np.ndarray, float, float]], x0: np.ndarray,
            ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray, np.ndarray] | None:
    """Solve the optimality conditions starting from the active set of x0.

    `rules` are (mask, sign, amount): sign +1 for Σ_g x ≥ amount, −1 for Σ_g x ≤ amount.
    Returns (x, π, λ, ν, at_lo, at_hi) when the conditions hold, else None.
    """
    n = len(weight)
    tol = 1e-9 * max(1.0, float(np.max(np.abs(x0), initial=1.0)))
    # a region whose bounds meet (lo = hi, e.g. spending already at its upper limit in a
    # re-plan) is fixed: it sits on both bounds, and releasing it from one would only move
    # it onto the other, round and round
    pinned = hi - lo <= tol
    at_lo = pinned | (x0 <= lo + 1e-7 * np.maximum(1.0, lo))
    at_hi = ~at_lo & (x0 >= hi - 1e-7 * np.maximum(1.0, np.where(np.isfinite(hi), hi, 0)))
    masks = np.array([m for m, _, _ in rules], dtype=bool).reshape(len(rules), n)
    signs = np.array([s for _, s, _ in rules], dtype=float)
    amounts = np.array([a for _, _, a in rules], dtype=float)
    sums0 = masks @ x0 if rules else np.zeros(0)
    active = np.abs(sums0 - amounts) <= 1e-6 * max(1.0, total)
    seen: set[bytes] = set()
    for _ in range(60):
        key = at_lo.tobytes() + at_hi.tobytes() + active.tobytes()
        if key in seen:
            return None  # cycling: let the LP refine instead
        seen.add(key)
        free = ~at_lo & ~at_hi
        fixed_x = np.where(at_lo, lo, np.where(at_hi, hi, 0.0))
        act = np.nonzero(active)[0]
        solved = _prices(weight, free, fixed_x, total, masks[act], signs[act], amounts[act], x0)
        if solved is None and active.any():
            # a rule the LP left a hair from its limit can make the equations inconsistent:
            # drop the loosest active rule; the check below brings it back if it is broken
            slack = np.where(active, signs * (sums0 - amounts), -np.inf)
            active[int(np.argmax(slack))] = False
            continue
        if solved is None:
            return None
        theta, price, e_cells, cell_of, null = solved
        if null.shape[1] > 0:
            # degenerate: the free regions fix only some of the prices (e.g. at the largest
            # feasible share, every other region sits on a bound); choose the rest so that
            # the regions on bounds and the rules' signs agree, if any choice does
            theta = _settle_degenerate(weight, lo, hi, at_lo, at_hi, theta, e_cells, cell_of,
                                       null, tol)
            price = (e_cells @ theta)[cell_of]
        with np.errstate(divide="ignore"):
            want = np.where(price > 0, weight / np.where(price > 0, price, 1.0), np.inf)
        x = np.where(free, want, fixed_x)
        nu = np.zeros(len(rules))
        nu[act] = theta[1:]
        changed = False
        to_lo = free & (want < lo - tol)
        to_hi = free & (want > hi + tol)
        release = ((at_lo & (want > lo + tol)) | (at_hi & (want < hi - tol))) & ~pinned
        if to_lo.any() or to_hi.any() or release.any():
            at_lo = (at_lo & ~release) | to_lo
            at_hi = (at_hi & ~release) | to_hi
            changed = True
        wrong_sign = active & (nu < -1e-12 * max(1.0, abs(theta[0])))
        sums = masks @ x if rules else np.zeros(0)
        violated = ~active & (signs * (sums - amounts) < -1e-9 * max(1.0, total))
        if wrong_sign.any() or violated.any():
            active = (active & ~wrong_sign) | violated
            changed = True
        if not changed:
            # a region whose bounds meet sits on both: report the one it presses against
            up = pinned & (want > hi + tol)
            return (x, price, float(theta[0]), nu, at_lo & ~free & ~up,
                    (at_hi & ~free) | up)
    return None


def _settle_degenerate(weight: np.ndarray, lo: np.ndarray, hi: np.ndarray, at_lo: np.ndarray,
                       at_hi: np.ndarray, theta: np.ndarray, e: np.ndarray,
                       cell_of: np.ndarray, null: np.ndarray, tol: float) -> np.ndarray:
    """Move θ along the directions the free regions leave open (θ + N·z) so that every
    region on a bound wants to stay there and every active rule's price is ≥ 0 (a tiny LP
    in z). When no z keeps every region on its bound (the active set holds a region that
    should leave it), z keeps only the prices' signs: the caller then releases that region.
    Returns θ unchanged when not even that is possible (the active set is then wrong)."""
    for stay in (True, False):
        z = _settle_lp(weight, lo, hi, at_lo, at_hi, theta, e, cell_of, null, tol, stay)
        if z is not None:
            return theta + null @ z
    return theta


def _settle_lp(weight: np.ndarray, lo: np.ndarray, hi: np.ndarray, at_lo: np.ndarray,
               at_hi: np.ndarray, theta: np.ndarray, e: np.ndarray, cell_of: np.ndarray,
               null: np.ndarray, tol: float, stay: bool) -> np.ndarray | None:
    """The tiny LP of `_settle_degenerate` (with or without the stay-on-bound rows)."""
    import pulp

    d = null.shape[1]
    prob = pulp.LpProblem("settle_prices", pulp.LpMinimize)
    z = [prob.add_variable(f"z_{j}", None, None) for j in range(d)]
    prob.setObjective(pulp.LpAffineExpression())
    en = e @ null  # how each cell's price moves with z
    base = e @ theta
    for c in range(len(e)):
        in_c = cell_of == c
        move = pulp.LpAffineExpression([(z[j], float(en[c, j])) for j in range(d)])
        low = in_c & at_lo & (lo > 0)
        high = in_c & at_hi & np.isfinite(hi) & (hi > 0)
        if stay and low.any():  # S/π ≤ lo  ⇔  π ≥ S/lo
            need = float(np.max(weight[low] / (lo[low] + tol)))
            prob.addConstraint(move >= need - base[c], name=f"stay_low_{c}")
        if stay and high.any():  # S/π ≥ hi  ⇔  π ≤ S/hi
            cap = float(np.min(weight[high] / np.maximum(hi[high] - tol, 1e-300)))
            prob.addConstraint(move <= cap - base[c], name=f"stay_high_{c}")
        prob.addConstraint(move >= 1e-12 - base[c], name=f"positive_{c}")
    for j in range(1, len(theta)):  # the rules' prices ν ≥ 0
        expr = pulp.LpAffineExpression([(z[i], float(null[j, i])) for i in range(d)])
        prob.addConstraint(expr >= -theta[j], name=f"sign_{j}")
    if solve_quietly(prob) != Status.OPTIMAL:
        return None
    return np.array([v.varValue or 0.0 for v in z])


def _cells(masks: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct patterns of rule membership among the regions (cells, one row each) and
    each region's cell. Up to 62 rules a pattern is packed into one integer (a 1-D sort
    instead of a sort of rows)."""
    k = len(masks)
    if k == 0:
        return np.zeros((1, 0), dtype=bool), np.zeros(n, dtype=np.int64)
    if k <= 62:
        bits = np.left_shift(np.int64(1), np.arange(k, dtype=np.int64))
        code = bits @ masks.astype(np.int64)
        uniq, cell_of = np.unique(code, return_inverse=True)
        cells = (uniq[:, None] & bits[None, :]) != 0
        return cells, cell_of.ravel()
    cells, cell_of = np.unique(masks.T, axis=0, return_inverse=True)
    return cells, cell_of.ravel()


def _prices(weight: np.ndarray, free: np.ndarray, fixed_x: np.ndarray, total: float,
            masks: np.ndarray, signs: np.ndarray, amounts: np.ndarray, x0: np.ndarray,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Newton on (λ, ν) so that the free regions' S/π meet the total and the active rules.

    Returns (θ = (λ, ν), π per region, the cells' price map E, each region's cell, and a
    basis of the directions of θ that leave every free region's price unchanged)."""
    k = 1 + len(masks)
    cells, cell_of = _cells(masks, len(weight))
    n_cells = len(cells)
    a_c = np.bincount(cell_of, weights=np.where(free, weight, 0.0), minlength=n_cells)
    e = np.column_stack([np.ones(n_cells), -(cells * signs[None, :])]) if len(masks) else (
        np.ones((n_cells, 1)))
    g = np.vstack([np.ones(n_cells), cells.T]) if len(masks) else np.ones((1, n_cells))
    rhs = np.concatenate([[total - fixed_x.sum()], amounts - masks @ fixed_x])
    use = a_c > 0
    # a rule whose members all sit on bounds has no equation, only its sign: it must hold
    # as it stands, and its price is left to the degenerate directions below
    has_free = np.concatenate([[True], (cells.T.astype(float) @ a_c) > 0]) if len(masks) else (
        np.array([True]))
    if np.any(signs[~has_free[1:]] * rhs[1:][~has_free[1:]] > 1e-9 * max(1.0, total)):
        return None
    g, rhs = g[has_free], rhs[has_free]
    if not use.any():  # every region on a bound: the prices are only bounded, not fixed
        if abs(rhs[0]) > 1e-9 * max(1.0, total):
            return None
        theta = np.zeros(k)
        theta[0] = 1.0
        return theta, (e @ theta)[cell_of], e, cell_of, np.eye(k)
    # starting prices: each cell's S over its LP allocation, fitted to (λ, ν) — or over
    # the cell's amount itself where the equations fix it (no more cells with free regions
    # than equations): a start far from the answer (a cell that the LP left a hair above 0,
    # as at the largest feasible share) would otherwise take Newton many halvings
    x_c = np.bincount(cell_of, weights=np.where(free, x0, 0.0), minlength=n_cells)
    g_use = g[:, use]
    if g_use.shape[1] <= g_use.shape[0]:
        sums, _, rank, _ = np.linalg.lstsq(g_use, rhs, rcond=None)
        if (rank == g_use.shape[1] and np.all(sums > 0)
                and np.max(np.abs(g_use @ sums - rhs)) <= 1e-12 * max(1.0, abs(total))):
            x_c = x_c.copy()
            x_c[use] = sums
    pi0 = np.where(use & (x_c > 0), a_c / np.where(x_c > 0, x_c, 1.0), np.nan)
    ok = ~np.isnan(pi0)
    theta = np.linalg.lstsq(e[ok], pi0[ok], rcond=None)[0] if ok.any() else np.zeros(k)
    if np.any(e[use] @ theta <= 0):
        theta = np.zeros(k)
        theta[0] = a_c.sum() / max(rhs[0], 1e-300)
    scale = max(1.0, abs(total))

    def resid(th: np.ndarray) -> np.ndarray:
        pi = e @ th
        return g[:, use] @ (a_c[use] / pi[use]) - rhs

    r = resid(theta)
    for _ in range(100):
        if np.max(np.abs(r)) <= 1e-13 * scale:
            break
        pi = e @ theta
        d = a_c[use] / pi[use] ** 2
        jac = -(g[:, use] * d[None, :]) @ e[use]
        try:
            step = (np.linalg.solve(jac, -r) if jac.shape[0] == jac.shape[1]
                    else np.linalg.lstsq(jac, -r, rcond=None)[0])
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(jac, -r, rcond=None)[0]
        alpha = 1.0
        while alpha > 1e-12:
            cand = theta + alpha * step
            if np.all(e[use] @ cand > 0):
                rc = resid(cand)
                if np.max(np.abs(rc)) < np.max(np.abs(r)) or alpha < 1e-6:
                    theta, r = cand, rc
                    break
            alpha /= 2
        else:
            return None
    if np.max(np.abs(r)) > 1e-9 * scale:
        return None
    _, sv, vt = np.linalg.svd(e[use])
    rank = int(np.sum(sv > 1e-12 * max(1.0, float(sv.max(initial=0.0)))))
    null = vt[rank:].T  # k × (k − rank)
    return theta, (e @ theta)[cell_of], e, cell_of, null

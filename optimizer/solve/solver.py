"""Solve one pool: the proportional-fairness problem as an exact piecewise-linear LP.

    maximise Σ S[r]·ln x[r]  s.t.  Σ x = X,  share rules,  lo ≤ x ≤ hi

`ln` is concave and separable, so its piecewise-linear interpolation is an LP with one
bounded column per segment and no binaries. Breakpoints are placed geometrically around
a guess of each region's allocation (few, well placed: a uniform fine grid makes the
solver time explode). The LP is built as numpy arrays and handed to HiGHS (highspy) in
one call; with OPTIMIZER_SOLVER=cbc, or without highspy, the same arrays become a PuLP
model solved by CBC. The LP's answer tells which bounds and which rules are active; the
optimality conditions on that active set (x = S/π per region, one price π per cell of
regions with the same rules) are then solved to machine precision and checked, moving
regions onto or off their bounds and rules in or out until they hold. When that fails,
breakpoints are refined around the answer and the LP solved again.

A nearby problem (the same pool without a rule, with a rule moved, with bounds lifted:
the prices in explain.py) is solved from the optimum's active set in the same way, with
no LP unless that does not settle (`solve_pool(..., start=x)`). Small LPs (the
zero-in-every-plan test, degenerate prices, rounding under group rules) stay PuLP models.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from optimizer.errors import SolverError
from optimizer.model.pools import Pool, ShareRule
from optimizer.model.result import Status

WIDE = 16.0 ** np.arange(-2, 3)  # first LP of a path: ×1/256 … ×256 around the guess
# first LP of one pool: ×1/2 and ×2 around the guess. It only has to find which bounds and
# rules are active — the polish then solves the optimality conditions exactly and moves
# what the LP placed wrongly — so few, wide segments do (a third of WIDE's columns, and
# HiGHS's time is in proportion; on random pools as many second LPs as with WIDE)
FIRST = np.array([0.5, 2.0])
NARROW = np.array([0.25, 0.5, 0.9, 0.99, 0.999, 1.0, 1.001, 1.01, 1.1, 2.0, 4.0])
MAX_LP_ROUNDS = 4
TINY = 1e-6  # an amount (in units of the average allocation) that is 0 within HiGHS's tolerances
LP_TIME_LIMIT: float | None = None  # seconds per LP solve; None = no limit


@dataclass
class Solution:
    """The continuous optimum of a pool, with the prices that certify it."""

    status: Status
    x: np.ndarray | None = None
    price: np.ndarray | None = None  # π per region: a free region gets S/π
    total_price: float | None = None  # λ, the price of the total
    rule_price: dict[str, float] = field(default_factory=dict)  # ν ≥ 0 of the binding rules
    at_lo: np.ndarray | None = None
    at_hi: np.ndarray | None = None
    info: dict[str, object] = field(default_factory=dict)


@functools.cache
def _highspy_available() -> bool:
    try:
        import highspy  # noqa: F401
    except ImportError:
        return False
    return True


def solver_name() -> str:
    """The LP solver in use: HiGHS (highspy) unless OPTIMIZER_SOLVER=cbc or HiGHS is missing."""
    want = os.environ.get("OPTIMIZER_SOLVER", "highs").lower()
    if want != "cbc" and _highspy_available():
        return "HiGHS"
    return "CBC"


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Keep the solver's banner (printed from C, even with msg=False) off our stdout.

    C writes to file descriptor 1 whatever Python's sys.stdout is (a test harness or a
    redirect can give sys.stdout another descriptor), so both are silenced."""
    fds = {1}
    with contextlib.suppress(AttributeError, OSError, ValueError):
        sys.stdout.flush()
        fds.add(sys.stdout.fileno())
    saved: dict[int, int] = {}
    with open(os.devnull, "w") as devnull:
        try:
            for fd in sorted(fds):
                try:
                    saved[fd] = os.dup(fd)
                except OSError:
                    continue  # not open: nothing to silence
                os.dup2(devnull.fileno(), fd)
            yield
        finally:
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)


def solve_quietly(prob: object, time_limit: float | None = None) -> Status:
    """Solve a small PuLP model (a relaxation, a rounding MILP, a zero test) with HiGHS (CBC
    as fallback), stdout kept clean.

    The one status vocabulary of the engine: `Status.OPTIMAL` (a proven optimum) or
    `Status.INFEASIBLE` (proven to have none). Anything else — a time limit, an unbounded
    model, a solver error, a MILP stopped with an unproven solution — raises SolverError:
    it is never read as "infeasible".
    """
    import pulp

    opts = {} if time_limit is None else {"timeLimit": time_limit}
    solver = (pulp.HiGHS(msg=False, **opts) if solver_name() == "HiGHS"
              else pulp.PULP_CBC_CMD(msg=False, **opts))
    with _quiet_stdout():
        prob.solve(solver)  # type: ignore[attr-defined]
    status = pulp.LpStatus[prob.status]  # type: ignore[attr-defined]
    if status == "Infeasible":
        return Status.INFEASIBLE
    if status == "Optimal" and prob.sol_status == pulp.LpSolutionOptimal:  # type: ignore[attr-defined]
        return Status.OPTIMAL
    raise SolverError(f"the solver ended with status '{status}' (solution status "
                      f"{prob.sol_status}) on the model '{prob.name}'")  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- the LP

def _breakpoints(lo: np.ndarray, hi: np.ndarray, center: np.ndarray,
                 factors: np.ndarray) -> np.ndarray:
    """Sorted breakpoints per row, lo and hi included (rows = regions)."""
    pts = np.column_stack([lo, center[:, None] * factors[None, :], hi])
    return np.sort(np.clip(pts, lo[:, None], hi[:, None]), axis=1)


@dataclass
class LPYear:
    """One year of the LP in scaled units: weights, bounds, total, rules, breakpoint centres.

    `rules` are (name, mask, least amount or None, most amount or None).
    """

    weight: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    total: float
    rules: list[tuple[str, np.ndarray, float | None, float | None]]
    center: np.ndarray


@dataclass
class LPArrays:
    """A piecewise-linear LP as arrays: minimise cost·y, 0 ≤ y ≤ upper, row_lo ≤ A·y ≤ row_hi.

    A is given by its entries (entry_row, entry_col, entry_val); `segments` holds, per
    year, the region of each of its columns and the columns' first index.
    """

    cost: np.ndarray
    upper: np.ndarray
    row_lo: np.ndarray
    row_hi: np.ndarray
    row_names: list[str]
    entry_row: np.ndarray
    entry_col: np.ndarray
    entry_val: np.ndarray
    segments: list[tuple[np.ndarray, int]]

    def csc(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A column by column (start, index, value), rows sorted inside each column (the
        entries come row block by row block, so a stable sort by column keeps them so)."""
        order = np.argsort(self.entry_col, kind="stable")
        count = np.bincount(self.entry_col, minlength=len(self.cost))
        start = np.zeros(len(self.cost) + 1, dtype=np.int32)
        np.cumsum(count, out=start[1:])
        return start, self.entry_row[order].astype(np.int32), self.entry_val[order]

    def csr(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A row by row (start, index, value)."""
        order = np.lexsort((self.entry_col, self.entry_row))
        count = np.bincount(self.entry_row, minlength=len(self.row_lo))
        start = np.zeros(len(self.row_lo) + 1, dtype=np.int64)
        np.cumsum(count, out=start[1:])
        return start, self.entry_col[order], self.entry_val[order]


def _lp_arrays(years: list[LPYear], factors: np.ndarray, pool: str,
               yoy: tuple[float, float] | None = None) -> LPArrays:
    """The LP of `solve_lp` as arrays, built with numpy (no object per column)."""
    costs, uppers, segments = [], [], []
    row_lo: list[float] = []
    row_hi: list[float] = []
    names: list[str] = []
    e_row: list[np.ndarray] = []
    e_col: list[np.ndarray] = []
    e_val: list[np.ndarray] = []
    n_cols = 0

    def add_row(name: str, cols: np.ndarray, vals: np.ndarray, low: float, high: float) -> None:
        e_row.append(np.full(len(cols), len(names), dtype=np.int64))
        e_col.append(cols)
        e_val.append(vals)
        names.append(name)
        row_lo.append(low)
        row_hi.append(high)

    for t, yr in enumerate(years):
        lo, hi = yr.lo, yr.hi
        pts = _breakpoints(lo, hi, yr.center, factors)
        a, b = pts[:, :-1], pts[:, 1:]
        length = b - a
        keep = length > 1e-12 * np.maximum(1.0, b)
        rows, cols = np.nonzero(keep)
        a, b, length = a[rows, cols], b[rows, cols], length[rows, cols]
        s = yr.weight[rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            # chord slope of S·ln x; a segment starting at 0 gets 2·S/b, steeper than the next
            slope = np.where(a > 0, s * np.log1p(length / np.where(a > 0, a, 1.0)) / length,
                             2.0 * s / b)
        # maximise Σ S·ln x  ==  minimise −Σ slope·y (minimise keeps duals' signs conventional)
        costs.append(-slope)
        uppers.append(length)
        segments.append((rows, n_cols))
        idx = np.arange(n_cols, n_cols + len(rows), dtype=np.int64)
        ones = np.ones(len(rows))
        n_cols += len(rows)
        suffix = f"_{t + 1}" if len(years) > 1 else ""
        # the pool's total is allocated exactly
        rest = yr.total - float(lo.sum())
        add_row(f"total_{pool}{suffix}", idx, ones, rest, rest)
        # each share rule on its group of regions
        for name, mask, need, cap in yr.rules:
            in_group = mask[rows]
            base = float(lo[mask].sum())
            low = -np.inf if need is None else need - base
            high = np.inf if cap is None else cap - base
            if need is not None:
                add_row(f"{name}_min{suffix}", idx[in_group], ones[in_group], low, np.inf)
            if cap is not None:
                add_row(f"{name}_max{suffix}", idx[in_group], ones[in_group], -np.inf, high)
    if yoy is not None and len(years) > 1:
        f_lo, f_hi = yoy
        for t in range(1, len(years)):
            prev, cur = years[t - 1], years[t]
            (r_prev, c_prev), (r_cur, c_cur) = segments[t - 1], segments[t]
            live = (prev.hi > 0) & (cur.hi > 0)
            regions = np.nonzero(live)[0]
            # x[t] = lo[t] + Σ y[t],  x[t−1] = lo[t−1] + Σ y[t−1]
            for kind, f in (("up", f_hi), ("down", f_lo)):
                first = len(names)
                row_of = np.full(len(live), -1, dtype=np.int64)
                row_of[regions] = first + np.arange(len(regions))
                on_cur, on_prev = live[r_cur], live[r_prev]
                e_row.append(np.concatenate([row_of[r_cur[on_cur]], row_of[r_prev[on_prev]]]))
                e_col.append(np.concatenate([c_cur + np.nonzero(on_cur)[0],
                                             c_prev + np.nonzero(on_prev)[0]]))
                e_val.append(np.concatenate([np.ones(int(on_cur.sum())),
                                             np.full(int(on_prev.sum()), -f)]))
                rhs = f * prev.lo[regions] - cur.lo[regions]
                names.extend(f"yoy_{kind}_{pool}_{t + 1}_{r}" for r in regions)
                if kind == "up":
                    row_lo.extend([-np.inf] * len(regions))
                    row_hi.extend(rhs.tolist())
                else:
                    row_lo.extend(rhs.tolist())
                    row_hi.extend([np.inf] * len(regions))
    return LPArrays(np.concatenate(costs), np.concatenate(uppers), np.array(row_lo, float),
                    np.array(row_hi, float), names, np.concatenate(e_row).astype(np.int64),
                    np.concatenate(e_col).astype(np.int64), np.concatenate(e_val), segments)


def solve_lp(years: list[LPYear], factors: np.ndarray, pool: str,
              yoy: tuple[float, float] | None = None,
              ) -> tuple[str, list[np.ndarray], int]:
    """One piecewise-linear LP over one or more years; returns (status, x per year, columns).

    With several years, `yoy` = (1 − δ, 1 + δ) bounds each region's allocation by the
    previous year's: (1 − δ)·x[t−1] ≤ x[t] ≤ (1 + δ)·x[t−1] where both years can receive.
    The LP goes to HiGHS as arrays in one call (`_run_highs`), or to CBC through PuLP.
    """
    lp = _lp_arrays(years, factors, pool, yoy)
    n_cols = len(lp.cost)
    if n_cols == 0:
        # every region sits on its bounds: the plan is lo, if it meets every row
        tol = 1e-9 * max(1.0, max((abs(y.total) for y in years), default=1.0))
        ok = bool(np.all(lp.row_lo <= tol) and np.all(lp.row_hi >= -tol))
        return ("optimal", [y.lo.astype(float).copy() for y in years], 0) if ok else (
            "infeasible", [], 0)
    if solver_name() == "HiGHS":
        # one year: the polish needs the active set, not a vertex; several years: the path
        # compares successive LP answers, which a vertex makes reproducible
        status, y = _run_highs(lp, pool, crossover=len(years) > 1)
    else:
        status, y = _run_cbc(lp, pool)
    if status == "infeasible" or y is None:
        return "infeasible", [], n_cols
    y = np.clip(y, 0.0, lp.upper)
    xs = []
    for yr, (rows, first) in zip(years, lp.segments, strict=True):
        xs.append(yr.lo + np.bincount(rows, weights=y[first:first + len(rows)],
                                      minlength=len(yr.lo)))
    return "optimal", xs, n_cols


def _run_highs(lp: LPArrays, pool: str, crossover: bool = True,
               ) -> tuple[str, np.ndarray | None]:
    """Solve the arrays with highspy: ("optimal", y) or ("infeasible", None).

    Interior point without presolve first (on these wide LPs with a few rows presolve
    costs 10× the solve), with crossover to a vertex only if asked; when that ends without
    a definite answer, dual simplex with presolve. A time limit or a solver failure raises
    SolverError: it never reads as "infeasible".
    """
    import highspy

    inf = highspy.kHighsInf
    n_col, n_row = len(lp.cost), len(lp.row_lo)
    row_lo = np.where(np.isfinite(lp.row_lo), lp.row_lo, -inf)
    row_hi = np.where(np.isfinite(lp.row_hi), lp.row_hi, inf)
    start, index, value = lp.csc()
    with _quiet_stdout():  # the banner is printed from C when the first Highs is made
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    if LP_TIME_LIMIT is not None:
        h.setOptionValue("time_limit", float(LP_TIME_LIMIT))
    try:  # the arrays as they are (no conversion to Python lists on the way)
        passed = h.passModel(n_col, n_row, len(index), int(highspy.MatrixFormat.kColwise),
                             int(highspy.ObjSense.kMinimize), 0.0, lp.cost, np.zeros(n_col),
                             lp.upper, row_lo, row_hi, start[:-1], index, value,
                             np.zeros(n_col, dtype=np.int32))
    except TypeError:  # a highspy without that overload: through a HighsLp
        model = highspy.HighsLp()
        model.num_col_, model.num_row_ = n_col, n_row
        model.col_cost_, model.col_lower_, model.col_upper_ = lp.cost, np.zeros(n_col), lp.upper
        model.row_lower_, model.row_upper_ = row_lo, row_hi
        model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        model.a_matrix_.num_col_, model.a_matrix_.num_row_ = n_col, n_row
        model.a_matrix_.start_ = start
        model.a_matrix_.index_ = index
        model.a_matrix_.value_ = value
        passed = h.passModel(model)
    if passed == highspy.HighsStatus.kError:  # a warning (e.g. on a large bound) is fine
        raise SolverError(f"HiGHS did not accept the LP of the {pool} pool")
    ms = highspy.HighsModelStatus
    status = None
    for options in ({"solver": "ipm", "presolve": "off",
                     "run_crossover": "on" if crossover else "off"},
                    {"solver": "simplex", "presolve": "on"}):
        for key, val in options.items():
            h.setOptionValue(key, val)
        with _quiet_stdout():
            h.run()
        status = h.getModelStatus()
        if status == ms.kOptimal and (h.getInfo().primal_solution_status
                                      == highspy.SolutionStatus.kSolutionStatusFeasible):
            return "optimal", np.asarray(h.getSolution().col_value, dtype=float)
        if status == ms.kInfeasible:
            return "infeasible", None
        if status in (ms.kTimeLimit, ms.kIterationLimit, ms.kInterrupt, ms.kMemoryLimit):
            break
        h.clearSolver()  # the next attempt starts afresh, not from the stalled point
    raise SolverError(f"the LP solver (HiGHS) ended with status "
                      f"'{h.modelStatusToString(status)}' on the {pool} pool")


def _run_cbc(lp: LPArrays, pool: str) -> tuple[str, np.ndarray | None]:
    """Solve the arrays as a PuLP model with CBC (the fallback): ("optimal", y) or
    ("infeasible", None); any other ending raises SolverError."""
    import pulp

    if hasattr(pulp, "set_v4_migration_warnings"):
        pulp.set_v4_migration_warnings(False)
    prob = pulp.LpProblem(f"allocate_{pool}", pulp.LpMinimize)
    ys = [prob.add_variable(f"y_{i}", 0.0, float(u)) for i, u in enumerate(lp.upper)]
    prob.setObjective(pulp.LpAffineExpression(zip(ys, lp.cost.tolist(), strict=True)))
    start, cols, vals = lp.csr()
    for i, name in enumerate(lp.row_names):
        a, b = int(start[i]), int(start[i + 1])
        expr = pulp.LpAffineExpression(
            (ys[c], v) for c, v in zip(cols[a:b].tolist(), vals[a:b].tolist(), strict=True))
        low, high = float(lp.row_lo[i]), float(lp.row_hi[i])
        if low == high:
            prob.addConstraint(expr == low, name=name)
            continue
        if np.isfinite(low):
            prob.addConstraint(expr >= low, name=name if not np.isfinite(high) else f"{name}_lo")
        if np.isfinite(high):
            prob.addConstraint(expr <= high, name=name if not np.isfinite(low) else f"{name}_hi")
    opts = {} if LP_TIME_LIMIT is None else {"timeLimit": LP_TIME_LIMIT}
    with _quiet_stdout():
        prob.solve(pulp.PULP_CBC_CMD(msg=False, **opts))
    status = pulp.LpStatus[prob.status]
    if status == "Infeasible":
        return "infeasible", None
    if status != "Optimal" or prob.sol_status != 1:
        raise SolverError(f"the LP solver (CBC) ended with status '{status}' "
                          f"(solution status {prob.sol_status}) on the {pool} pool")
    return "optimal", np.array([y.varValue or 0.0 for y in ys])


# --------------------------------------------------------------------------- the polish

def _polish(weight: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: float,
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


# --------------------------------------------------------------------------- one pool

def rule_amounts(pool: Pool, rule: ShareRule) -> tuple[float | None, float | None]:
    """(least, most) amount a rule allows in its group; None where it sets no limit."""
    need = pool.rule_min(rule) if rule.min_share is not None else None
    cap = pool.rule_max(rule) if rule.max_share is not None else None
    return need, cap


def _forced_zero(pool: Pool, rules: list[ShareRule], lo: np.ndarray, hi: np.ndarray,
                 total: float) -> np.ndarray:
    """Regions with lo = 0 that get 0 in every feasible plan, found from upper limits on
    their largest feasible amount: e.g. a rule that needs exactly what the other regions'
    minimums leave (as at the largest feasible share), or Σ lo = X. Such a region has
    ln 0 = −∞ in every plan: it is fixed at 0 and left out of the objective (docs/model.md)."""
    tol = 1e-9 * max(1.0, total)
    lo_sum = float(lo.sum())
    ub = np.minimum(hi, total - (lo_sum - lo))
    for r in rules:
        need, cap = rule_amounts(pool, r)
        g = r.mask
        g_lo = float(lo[g].sum())
        if need is not None:  # outside the group: the total less the group's need, others' lo
            o_lo = lo_sum - g_lo
            ub = np.where(g, ub, np.minimum(ub, total - max(need, g_lo) - (o_lo - lo)))
        if cap is not None:  # inside the group: the cap less the other members' minimums
            ub = np.where(g, np.minimum(ub, cap - (g_lo - lo)), ub)
    return (lo <= 0) & (ub <= tol)


def _zero_in_every_plan(lo: np.ndarray, hi: np.ndarray, total: float,
                       rules: list[tuple[np.ndarray, float | None, float | None]],
                       candidates: np.ndarray) -> np.ndarray:
    """Which candidate regions (lo = 0) get 0 in every feasible plan, however rules combine.

    One LP: maximise Σ min(x[r], ε[r]) over the candidates. A region that can be positive
    in some plan is positive in the average of such plans, so at the optimum exactly the
    regions that are 0 in every plan get 0 — within HiGHS's tolerances, so a region counts
    as 0 below a thousandth of its ε[r] = min(ε, its upper bound) (a region whose upper
    bound is tiny, e.g. 1 CNY beside millions, is still told apart).
    """
    import pulp

    eps = 1e-3
    prob = pulp.LpProblem("zero_in_every_plan", pulp.LpMaximize)
    xs = [prob.add_variable(f"x_{i}", float(lo[i]), None if not np.isfinite(hi[i])
                            else float(hi[i])) for i in range(len(lo))]
    idx = np.nonzero(candidates)[0]
    room = np.minimum(eps, hi)
    ts = {i: prob.add_variable(f"t_{i}", 0.0, float(room[i])) for i in idx}
    prob.setObjective(pulp.lpSum(ts.values()))
    for i, t in ts.items():
        prob.addConstraint(t <= xs[i], name=f"t_le_x_{i}")
    prob.addConstraint(pulp.lpSum(xs) == total, name="total")
    for j, (mask, need, cap) in enumerate(rules):
        members = pulp.lpSum(x for x, m in zip(xs, mask, strict=True) if m)
        if need is not None:
            prob.addConstraint(members >= need, name=f"rule_{j}_min")
        if cap is not None:
            prob.addConstraint(members <= cap, name=f"rule_{j}_max")
    out = np.zeros(len(lo), dtype=bool)
    if solve_quietly(prob) != Status.OPTIMAL:
        return out
    for i, t in ts.items():
        out[i] = (t.varValue or 0.0) <= 1e-3 * room[i]
    return out


def solve_pool(pool: Pool, rules: list[ShareRule] | None = None, *,
               start: np.ndarray | None = None) -> Solution:
    """The exact continuous optimum of a pool (rules default to the pool's own).

    `start`: a plan of a nearby problem (e.g. the optimum with one more rule, or with a
    rule moved). The optimality conditions are then solved from its active set first —
    bounds and rules added or released until they hold, no LP — and the LP is solved only
    if that does not settle. The answer is the same either way: the conditions, once they
    hold, fix the unique optimum.
    """
    rules = pool.rules if rules is None else rules
    total = pool.total
    lo, hi = pool.lo.astype(float).copy(), pool.hi.astype(float).copy()
    # regions that are 0 in every feasible plan are fixed at 0 and left out of the objective
    # a weight-0 region (outside the pool's eligibility: lo = hi = 0) is out of the
    # objective; one with room between its bounds would make the optimum ambiguous, so it
    # is held at its minimum
    hi = np.where(pool.weight > 0, hi, np.minimum(hi, lo))
    zero = hi <= 0
    for r in rules:
        if r.max_share is not None and pool.rule_max(r) <= 0:
            zero |= r.mask
        if r.min_share is not None and pool.rule_min(r) >= total > 0:
            zero |= ~r.mask
    if total <= 0:
        zero[:] = True
    zero |= _forced_zero(pool, rules, lo, hi, total)
    if np.any(lo[zero] > 0) or np.any(lo > hi):
        return Solution(Status.INFEASIBLE, info={"reason": "bounds"})
    hi[zero] = 0.0
    var = ~zero
    n = int(var.sum())
    x_full = np.zeros(len(lo))
    info: dict[str, object] = {"solver": solver_name(), "lp_solves": 0, "columns": 0}
    if n == 0:
        if total > 1e-9:
            return Solution(Status.INFEASIBLE, info={"reason": "no region can receive"})
        return Solution(Status.OPTIMAL, x_full, np.full(len(lo), np.inf), 0.0, {},
                        lo > 0, np.zeros(len(lo), bool), info)

    # scale: allocations around 1 and slopes around S, inside the solver's tolerances
    unit = total / n
    w, l_s, h_s = pool.weight[var], lo[var] / unit, np.minimum(hi[var], total) / unit
    x_total = total / unit
    lp_rules = []
    polish_rules = []
    for r in rules:
        need, cap = rule_amounts(pool, r)
        m = r.mask[var]
        lp_rules.append((r, m, None if need is None else need / unit,
                         None if cap is None else cap / unit))
        if need is not None and need > 0:
            polish_rules.append((m, 1.0, need / unit, r.name))
        if cap is not None:
            polish_rules.append((m, -1.0, cap / unit, r.name))
    if l_s.sum() > x_total * (1 + 1e-9) + 1e-9 or h_s.sum() < x_total * (1 - 1e-9) - 1e-9:
        return Solution(Status.INFEASIBLE, info={"reason": "bounds"})

    center = np.clip(x_total * w / w.sum(), l_s, h_s)
    factors = FIRST
    polished = None
    x_lp = center
    if start is not None and len(start) == len(lo):
        x0 = np.clip(np.asarray(start, dtype=float)[var] / unit, l_s, h_s)
        polished = _polish(w, l_s, h_s, x_total, [(m, s, a) for m, s, a, _ in polish_rules], x0)
        if polished is not None:
            info["warm_start"] = True
            x_lp = polished[0]
    for _ in range(0 if polished is not None else MAX_LP_ROUNDS):
        year = LPYear(w, l_s, h_s, x_total,
                      [(r.name, m, need, cap) for r, m, need, cap in lp_rules], center)
        status, xs, cols = solve_lp([year], factors, pool.name)
        x_lp = xs[0] if xs else x_lp
        info["lp_solves"] = int(info["lp_solves"]) + 1  # type: ignore[call-overload]
        info["columns"] = max(int(info["columns"]), cols)  # type: ignore[call-overload]
        if status == "infeasible":
            return Solution(Status.INFEASIBLE, info={**info, "reason": "LP infeasible"})
        polished = _polish(w, l_s, h_s, x_total, [(m, s, a) for m, s, a, _ in polish_rules],
                           x_lp)
        # a region (lo = 0) left within the solver's tolerance of 0 may be one the rules
        # together hold at 0 in every plan; the polish then meets the conditions only
        # approximately (huge prices), so look before accepting it
        x_try = x_lp if polished is None else polished[0]
        stuck = (l_s <= 0) & (x_try <= TINY)
        if polished is not None and not stuck.any():
            break
        if stuck.any():
            # regions the rules together hold at 0 (ln 0 = −∞): fix them at 0, solve again
            forced = _zero_in_every_plan(l_s, h_s, x_total,
                                         [(m, need, cap) for _, m, need, cap in lp_rules], stuck)
            if forced.any():
                keep = ~forced
                full_idx = np.nonzero(var)[0]
                zero[full_idx[forced]] = True
                hi[zero] = 0.0
                var = ~zero
                w, l_s, h_s = w[keep], l_s[keep], h_s[keep]
                x_lp = x_lp[keep]
                lp_rules = [(r, m[keep], need, cap) for r, m, need, cap in lp_rules]
                polish_rules = [(m[keep], sg, a, name) for m, sg, a, name in polish_rules]
                polished = None
            elif polished is not None:
                break
        center, factors = x_lp, NARROW
    if polished is None:
        raise SolverError(f"the {pool.name} pool: the optimality conditions could not be met "
                          f"after {MAX_LP_ROUNDS} LP solves")
    x, price, lam, nu, at_lo, at_hi = polished
    if not info.get("warm_start"):
        info["lp_max_rel_dev"] = float(np.max(np.abs(x_lp - x) / np.maximum(x, 1e-12)))
    x_full[var] = x * unit
    price_full = np.full(len(lo), np.inf)
    price_full[var] = price / unit
    lo_full = zero & (pool.lo <= 0)
    lo_full[var] = at_lo
    hi_full = np.zeros(len(lo), bool)
    hi_full[var] = at_hi
    rule_price: dict[str, float] = {}
    for (_, _, _, name), v in zip(polish_rules, nu, strict=True):
        if v > 0:
            rule_price[name] = rule_price.get(name, 0.0) + float(v) / unit
    return Solution(Status.OPTIMAL, x_full, price_full, lam / unit, rule_price, lo_full, hi_full,
                    info)


def round_within_rules(pool: Pool, x: np.ndarray, first: np.ndarray, unit: float = 1.0,
                       ) -> np.ndarray | None:
    """Whole units nearest to x (least Σ|h − x|) that meet the total, bounds and every rule.

    Used when the largest-remainder rounding (`first`) breaks a group rule that the
    continuous optimum meets. A small integer program over the fractional regions first:
    each may move to ⌊x⌋ − 1 … ⌈x⌉ + 1 within its bounds; the others keep `first`. When
    that has no solution — a region whose optimum is whole (to float noise) may have to
    give a unit to a rule, e.g. two groups that each need ⌈X/3⌉ cents when the third
    region's exact share is whole — every region may move, the same way.
    `unit` is 1 for people and 0.01 for cents. Returns None when no such rounding exists.
    """
    v = x / unit
    lo = np.ceil(pool.lo / unit - 1e-9)
    hi = np.where(np.isfinite(pool.hi), np.floor(pool.hi / unit + 1e-9), np.inf)
    base = np.floor(v + 1e-9)
    fixed = (first / unit).round()
    frac_idx = np.nonzero(v - base > 1e-9)[0]
    out = _round_ip(pool, v, base, fixed, frac_idx, lo, hi, unit)
    if out is None:
        out = _round_ip(pool, v, base, fixed, np.nonzero(hi > lo)[0], lo, hi, unit)
    return None if out is None else out * unit


def _round_ip(pool: Pool, v: np.ndarray, base: np.ndarray, fixed: np.ndarray,
              movable: np.ndarray, lo: np.ndarray, hi: np.ndarray, unit: float,
              ) -> np.ndarray | None:
    """The integer program of `round_within_rules` with the regions `movable` free to move
    (in units); None when it has no solution."""
    import pulp

    prob = pulp.LpProblem(f"round_{pool.name}", pulp.LpMinimize)
    h, dev = {}, {}
    for i in movable:
        lb = max(lo[i], base[i] - 1)
        ub = min(hi[i], base[i] + 2)
        h[i] = prob.add_variable(f"h_{i}", float(lb), float(ub), pulp.LpInteger)
        dev[i] = prob.add_variable(f"d_{i}", 0.0)
    # least total distance from the continuous optimum; ties to the higher score
    prob.setObjective(pulp.lpSum(dev[i] - 1e-7 * pool.weight[i] * h[i] for i in movable))
    for i in movable:
        prob.addConstraint(dev[i] >= h[i] - v[i], name=f"above_{i}")
        prob.addConstraint(dev[i] >= v[i] - h[i], name=f"below_{i}")
    rest = np.ones(len(v), bool)
    rest[movable] = False
    prob.addConstraint(pulp.lpSum(h.values()) == round(pool.total / unit) - fixed[rest].sum(),
                       name=f"total_{pool.name}")
    for rule in pool.rules:
        members = [h[i] for i in movable if rule.mask[i]]
        base_sum = fixed[rule.mask & rest].sum()
        if rule.min_share is not None:
            need = np.ceil(pool.rule_min(rule) / unit - 1e-9)
            prob.addConstraint(pulp.lpSum(members) >= need - base_sum, name=f"{rule.name}_min")
        if rule.max_share is not None:
            cap = np.floor(pool.rule_max(rule) / unit + 1e-9)
            prob.addConstraint(pulp.lpSum(members) <= cap - base_sum, name=f"{rule.name}_max")
    if solve_quietly(prob, time_limit=120) != Status.OPTIMAL:
        return None
    out = fixed.copy()
    for i in movable:
        out[i] = round(h[i].varValue)
    return out

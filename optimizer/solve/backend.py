"""The one solver backend: every LP and small model of the engine is solved here.

- `solve_lp(years, factors, pool)`: the piecewise-linear LP of one pool (one year) or of a
  multi-year path, built as numpy arrays (`LPArrays`: one bounded column per segment of
  ln, rows for the totals, rules and year-over-year limits) and handed to HiGHS (highspy)
  in one call; with OPTIMIZER_SOLVER=cbc, or without highspy, the same arrays become a
  PuLP model solved by CBC.
- `solve_quietly(prob)`: a small PuLP model (relaxations, rounding MILPs, the zero test,
  degenerate prices) with HiGHS through PuLP, CBC as fallback.

One status vocabulary (`Status`): optimal or infeasible; a time limit or a solver error
raises SolverError, never "infeasible" (docs/model.md, "Exits").
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from optimizer.errors import SolverError
from optimizer.model.result import Status

WIDE = 16.0 ** np.arange(-2, 3)  # first LP of a path: ×1/256 … ×256 around the guess
# first LP of one pool: ×1/2 and ×2 around the guess. It only has to find which bounds and
# rules are active — the polish then solves the optimality conditions exactly and moves
# what the LP placed wrongly — so few, wide segments do (a third of WIDE's columns, and
# HiGHS's time is in proportion; on random pools as many second LPs as with WIDE)
FIRST = np.array([0.5, 2.0])
NARROW = np.array([0.25, 0.5, 0.9, 0.99, 0.999, 1.0, 1.001, 1.01, 1.1, 2.0, 4.0])
LP_TIME_LIMIT: float | None = None  # seconds per LP solve; None = no limit


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

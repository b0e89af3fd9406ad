"""The small PuLP models go through one backend with one status vocabulary."""

from __future__ import annotations

import pulp
import pytest

from optimizer.errors import SolverError
from optimizer.model.result import Status
from optimizer.solve.backend import solve_quietly


def _model(sense: int = pulp.LpMinimize) -> tuple[pulp.LpProblem, pulp.LpVariable]:
    prob = pulp.LpProblem("small", sense)
    x = prob.add_variable("x", 0.0, None)
    prob.setObjective(x)
    return prob, x


def test_an_optimum_is_optimal():
    prob, x = _model()
    prob.addConstraint(x >= 2, name="least")
    assert solve_quietly(prob) == Status.OPTIMAL
    assert x.varValue == pytest.approx(2.0)


def test_a_model_without_a_plan_is_infeasible():
    prob, x = _model()
    prob.addConstraint(x <= -1, name="impossible")
    assert solve_quietly(prob) == Status.INFEASIBLE


def test_an_unbounded_model_is_a_solver_error_not_infeasible():
    prob, x = _model(pulp.LpMaximize)
    prob.addConstraint(x >= 1, name="least")
    with pytest.raises(SolverError, match="status"):
        solve_quietly(prob)


def test_a_time_limit_is_a_solver_error_not_infeasible():
    # a knapsack-like MILP big enough not to be proven optimal in 0 s
    prob = pulp.LpProblem("hard", pulp.LpMaximize)
    ys = [prob.add_variable(f"y_{i}", 0, 1, cat="Integer") for i in range(400)]
    w = [(i * 7919) % 997 + 1 for i in range(400)]
    v = [(i * 104729) % 991 + 1 for i in range(400)]
    prob.setObjective(pulp.lpSum(vi * y for vi, y in zip(v, ys, strict=True)))
    for k in range(30):
        prob.addConstraint(pulp.lpSum(((i * (k + 3)) % 13 + wi) * y
                                      for i, (wi, y) in enumerate(zip(w, ys, strict=True)))
                           <= 40_000 + 997 * k, name=f"cap_{k}")
    with pytest.raises(SolverError, match="Not Solved"):
        solve_quietly(prob, time_limit=0.0)

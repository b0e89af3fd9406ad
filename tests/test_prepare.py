"""The one `prepare` step: what it builds, what `reprepare` reuses, and that the front of
the flow is no longer rebuilt per relaxation candidate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

import optimizer.model.prepare as prepare_mod
from optimizer.flow.plan import run_plan
from optimizer.model.prepare import prepare, reprepare
from optimizer.model.result import Status
from optimizer.model.scoring import high_potential, score
from tests.test_relax import hp_vs_change_limit

REPO = Path(__file__).resolve().parents[1]


def _same_pools(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for name in a:
        p, q = a[name], b[name]
        assert p.total == q.total and p.delta == q.delta and p.integer == q.integer
        for f in ("current", "weight", "lo", "hi", "hp", "eligible"):
            assert np.array_equal(getattr(p, f), getattr(q, f)), (name, f)
        assert [(r.name, r.min_share, r.max_share) for r in p.rules] == [
            (r.name, r.min_share, r.max_share) for r in q.rules]


def test_prepare_resolves_scores_and_builds_every_pool():
    df, sc = hp_vs_change_limit()
    prep = prepare(df, sc)
    assert prep.scenario.headcount_total == int(df["current_headcount"].sum())
    assert prep.scenario.hp_rule == "column"
    scores, _ = score(df, prep.scenario)
    assert np.allclose(prep.scores["weight"], scores["weight"])
    assert np.array_equal(prep.hp, high_potential(df, scores, prep.scenario))
    assert list(prep.pools) == ["headcount", "budget"]


def test_reprepare_reuses_the_scores_and_builds_the_same_pools_as_prepare():
    df, sc = hp_vs_change_limit()
    prep = prepare(df, sc)
    changed = prep.scenario.with_changes(hp_share=0.2, max_change=0.5, headcount_total=90)
    again = reprepare(prep, changed)
    assert again.scores is prep.scores  # not scored again
    _same_pools(again.pools, prepare(df, changed).pools)
    # another floor: scored afresh, as prepare would
    reweighted = changed.with_changes(floor=prep.scenario.floor / 2)
    fresh = reprepare(prep, reweighted)
    assert fresh.scores is not prep.scores
    assert np.allclose(fresh.scores["weight"], prepare(df, reweighted).scores["weight"])


def test_an_infeasible_run_scores_the_table_once(monkeypatch):
    calls = []
    real = prepare_mod.score

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(prepare_mod, "score", counting)
    df, sc = hp_vs_change_limit()
    res = run_plan(df, sc)
    assert res.status == Status.INFEASIBLE and res.relaxations
    assert len(calls) == 1


def test_plan_and_relax_import_alone_and_relax_does_not_import_plan():
    for module in ("optimizer.explain.relax", "optimizer.model.prepare", "optimizer.flow.plan"):
        code = f"import sys, {module}; print('optimizer.flow.plan' in sys.modules)"
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.strip()
        assert out == ("True" if module == "optimizer.flow.plan" else "False"), module
    source = (REPO / "optimizer" / "explain" / "relax.py").read_text(encoding="utf-8")
    assert "optimizer.flow.plan" not in source

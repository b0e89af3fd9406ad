"""Robustness to the weights: draws, the sensitivity table, and `optimizer sensitivity`."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.errors import InputError
from optimizer.flow.plan import run_plan
from optimizer.inputs.regions import read_regions
from optimizer.inputs.scenario import DIMENSIONS, Indicator, Scenario
from optimizer.inputs.scenario_read import load_scenario
from optimizer.model.result import Status
from optimizer.studies.sensitivity import (
    TABLE_COLUMNS,
    draw_scenarios,
    plan_draw,
    run_sensitivity,
    sensitivity_csv_bytes,
    sensitivity_json,
)

REPO = Path(__file__).resolve().parents[1]
REGIONS = REPO / "inputs" / "regions.csv"
SCENARIO = REPO / "inputs" / "scenario.toml"


@pytest.fixture(scope="module")
def sample() -> tuple[pd.DataFrame, Scenario]:
    """The bundled seven-region sample and its scenario (high-potential rule: column)."""
    scenario = load_scenario(SCENARIO)
    return read_regions(REGIONS, scenario), scenario


@pytest.fixture(scope="module")
def threshold(sample: tuple[pd.DataFrame, Scenario]) -> Scenario:
    """The sample under the threshold rule, where 西北's market potential (0.63) is near
    the line: draws move it in and out of the high-potential set."""
    return sample[1].with_changes(hp_rule="threshold", hp_threshold=0.62, hp_share=0.3)


# --------------------------------------------------------------------------- draws

def test_same_seed_same_draws(sample: tuple[pd.DataFrame, Scenario]) -> None:
    _, s = sample
    for mode in ("range", "dirichlet"):
        a = draw_scenarios(s, 20, seed=3, mode=mode)
        b = draw_scenarios(s, 20, seed=3, mode=mode)
        c = draw_scenarios(s, 20, seed=4, mode=mode)
        assert a == b
        assert a != c


def test_range_draws_stay_within_the_range_and_keep_zeros() -> None:
    inds = {"market_size": Indicator("market_potential", "higher", 2.0),
            "growth_rate": Indicator("market_potential", "higher", 0.0),
            "customer_ltv": Indicator("customer_value", "higher", 1.0)}
    s = Scenario(weights={"market_potential": 0.5, "customer_value": 0.5,
                          "internal_capability": 0.0}, indicators=inds)
    for d in draw_scenarios(s, 200, seed=1, mode="range", spread=0.25):
        assert d.weights["internal_capability"] == 0.0
        assert d.indicators["growth_rate"].weight == 0.0
        assert 0.375 <= d.weights["market_potential"] <= 0.625
        assert 1.5 <= d.indicators["market_size"].weight <= 2.5
        assert d.indicators["market_size"].dimension == "market_potential"
        assert d.indicators["market_size"].direction == "higher"


def test_dirichlet_draws_are_centred_on_the_weights(
        sample: tuple[pd.DataFrame, Scenario]) -> None:
    _, s = sample
    draws = draw_scenarios(s, 2000, seed=0, mode="dirichlet", concentration=50)
    w = np.array([[d.weights[k] for k in DIMENSIONS] for d in draws])
    np.testing.assert_allclose(w.sum(axis=1), sum(s.weights.values()))  # the same scale
    np.testing.assert_allclose(w.mean(axis=0), [s.weights[k] for k in DIMENSIONS], atol=0.01)
    # indicators inside a dimension keep their sum: 3 indicators of weight 1
    mp = [[d.indicators[k].weight for k in ("market_size", "growth_rate",
                                           "competition_intensity")] for d in draws]
    np.testing.assert_allclose(np.sum(mp, axis=1), 3.0)


@pytest.mark.parametrize("kwargs", [{"mode": "both"}, {"spread": 1.0}, {"spread": -0.1},
                                    {"mode": "dirichlet", "concentration": 0.0},
                                    {"n": 0}, {"seed": -1}])
def test_bad_settings_are_input_errors(sample: tuple[pd.DataFrame, Scenario],
                                       kwargs: dict) -> None:
    args = {"n": 5, "seed": 0, "mode": "range", "spread": 0.2, "concentration": 200.0}
    with pytest.raises(InputError):
        draw_scenarios(sample[1], **{**args, **kwargs})


# --------------------------------------------------------------------------- the run

def test_fixed_seed_gives_identical_tables_whatever_the_workers(
        sample: tuple[pd.DataFrame, Scenario]) -> None:
    regions, s = sample
    a = run_sensitivity(regions, s, draws=60, seed=11, workers=1)
    b = run_sensitivity(regions, s, draws=60, seed=11, workers=1)
    c = run_sensitivity(regions, s, draws=60, seed=11, workers=2)
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.table, c.table)
    for p in a.allocations:
        np.testing.assert_array_equal(a.allocations[p], c.allocations[p])
    assert list(a.table.columns) == list(TABLE_COLUMNS)
    assert len(a.table) == 2 * len(regions)
    assert a.draws == 60 and a.infeasible == 0 and a.seconds > 0
    d = run_sensitivity(regions, s, draws=60, seed=12, workers=1)
    assert not d.table.equals(a.table)


def test_zero_range_gives_the_base_plan_in_every_draw(
        sample: tuple[pd.DataFrame, Scenario]) -> None:
    regions, s = sample
    res = run_sensitivity(regions, s, draws=20, seed=5, spread=0.0, workers=1)
    base = run_plan(regions, s, explain=False)
    for p in ("headcount", "budget"):
        alloc = np.asarray(base.pools[p].allocation, dtype=float)
        np.testing.assert_array_equal(res.allocations[p], np.tile(alloc, (20, 1)))
        t = res.table[res.table["pool"] == p]
        for col in ("base", "median", "p10", "p90"):
            np.testing.assert_array_equal(t[col].to_numpy(), alloc)
        gains = (alloc > np.asarray(base.pools[p].current) + 0.005).astype(float)
        np.testing.assert_array_equal(t["gain_freq"].to_numpy(), gains)


def test_very_high_concentration_converges_to_the_base_plan(
        sample: tuple[pd.DataFrame, Scenario]) -> None:
    regions, s = sample
    res = run_sensitivity(regions, s, draws=40, seed=2, mode="dirichlet",
                          concentration=1e7, workers=1)
    t = res.table
    budget = t[t["pool"] == "budget"]
    rel = np.maximum(abs(budget["p10"] - budget["base"]), abs(budget["p90"] - budget["base"]))
    assert (rel <= 0.005 * budget["base"]).all()
    heads = t[t["pool"] == "headcount"]
    assert (abs(heads["p10"] - heads["base"]) <= 1).all()
    assert (abs(heads["p90"] - heads["base"]) <= 1).all()
    assert (heads["median"] == heads["base"]).all()


def test_high_potential_frequency(sample: tuple[pd.DataFrame, Scenario],
                                  threshold: Scenario) -> None:
    regions, s = sample
    col = run_sensitivity(regions, s, draws=10, seed=0, workers=1)
    assert col.table["hp_freq"].isna().all()  # the column rule does not move with weights
    res = run_sensitivity(regions, threshold, draws=80, seed=1, spread=0.3, workers=1)
    f = res.table["hp_freq"]
    assert f.between(0, 1).all()
    by_region = res.table[res.table["pool"] == "budget"].set_index("region")["hp_freq"]
    assert by_region["西南"] > 0.9  # far above the line
    assert by_region["东北"] == 0.0  # far below it
    assert 0.0 < by_region["西北"] < 1.0  # on it
    assert res.table["gain_freq"].between(0, 1).all()


def test_infeasible_draws_are_counted_and_left_out(
        sample: tuple[pd.DataFrame, Scenario], threshold: Scenario) -> None:
    """With a change limit, draws that drop 西北 from the set cannot meet the 30 % rule."""
    regions, _ = sample
    s = threshold.with_changes(max_change=5.0)
    res = run_sensitivity(regions, s, draws=60, seed=1, spread=0.3, workers=1)
    assert res.status == Status.OPTIMAL
    assert 0 < res.infeasible < res.draws
    assert res.feasible_draws == int(res.feasible.sum()) == res.draws - res.infeasible
    assert np.isnan(res.allocations["budget"][~res.feasible]).all()
    assert not np.isnan(res.allocations["budget"][res.feasible]).any()
    b = res.table[res.table["pool"] == "budget"]
    assert (b["p10"] <= b["median"]).all() and (b["median"] <= b["p90"]).all()


def test_plan_draw_matches_run_plan(sample: tuple[pd.DataFrame, Scenario],
                                    threshold: Scenario) -> None:
    """The lean per-draw path gives run_plan's allocations, and its verdict on feasibility."""
    regions, _ = sample
    s = threshold.with_changes(max_change=5.0)
    seen = set()
    for d in draw_scenarios(s, 12, seed=1, spread=0.3):
        hp, allocs = plan_draw(regions, d)
        full = run_plan(regions, d, explain=False)
        np.testing.assert_array_equal(hp, full.high_potential)
        assert (allocs is not None) == (full.status == Status.OPTIMAL)
        seen.add(allocs is not None)
        if allocs is not None:
            for p, x in allocs.items():
                np.testing.assert_array_equal(x, np.asarray(full.pools[p].allocation, float))
    assert seen == {True, False}


def test_progress_is_reported_per_chunk_up_to_the_total(
        sample: tuple[pd.DataFrame, Scenario]) -> None:
    regions, s = sample
    calls: list[tuple[int, int]] = []
    run_sensitivity(regions, s, draws=30, seed=0, workers=1,
                    progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (30, 30)
    assert len(calls) > 1 and all(t == 30 for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_infeasible_base_plan_solves_no_draws(sample: tuple[pd.DataFrame, Scenario]) -> None:
    regions, s = sample
    res = run_sensitivity(regions, s.with_changes(max_change=0.1), draws=50, workers=1)
    assert res.status == Status.INFEASIBLE
    assert res.table.empty and res.feasible_draws == 0
    json.loads(sensitivity_json(res))


def test_result_pickles_and_exports_strictly(sample: tuple[pd.DataFrame, Scenario]) -> None:
    regions, s = sample
    res = run_sensitivity(regions, s, draws=10, seed=0, workers=1)
    again = pickle.loads(pickle.dumps(res))
    pd.testing.assert_frame_equal(again.table, res.table)
    data = json.loads(sensitivity_json(res), parse_constant=_reject)
    assert data["draws"] == 10 and data["settings"]["seed"] == 0
    assert data["regions"][0]["hp_freq"] is None  # NaN → null
    raw = sensitivity_csv_bytes(res)
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(TABLE_COLUMNS)
    assert lines[1].startswith("华东,headcount,52.00,35.00,")


# --------------------------------------------------------------------------- the CLI

def _reject(token: str) -> None:
    raise ValueError(f"not strict JSON: {token}")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "optimizer", "sensitivity", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def test_cli_writes_csv_with_bom_and_strict_json(tmp_path: Path) -> None:
    out = tmp_path / "out"
    p = _cli("--regions", str(REGIONS), "--scenario", str(SCENARIO), "--draws", "20",
             "--seed", "1", "--workers", "2", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert "20/20" in p.stderr  # the progress bar
    assert "20 draws, 0 infeasible" in p.stdout
    raw = (out / "sensitivity.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    data = json.loads((out / "sensitivity.json").read_text("utf-8"), parse_constant=_reject)
    assert data["status"] == "optimal" and data["draws"] == 20
    assert len(data["regions"]) == 14
    # the same numbers as the library with the same seed
    scenario = load_scenario(SCENARIO)
    res = run_sensitivity(read_regions(REGIONS, scenario), scenario, draws=20, seed=1,
                          workers=1)
    assert raw == sensitivity_csv_bytes(res)
    assert (out / "sensitivity.json").read_text("utf-8") == sensitivity_json(res)


def test_cli_dirichlet_mode(tmp_path: Path) -> None:
    p = _cli("--regions", str(REGIONS), "--draws", "10", "--mode", "dirichlet",
             "--concentration", "100", "--workers", "1", "--out", str(tmp_path), "--lang", "zh")
    assert p.returncode == 0, p.stderr
    assert "10 次抽样" in p.stdout
    assert (tmp_path / "sensitivity.csv").exists()


@pytest.mark.parametrize("args, message", [
    (["--draws", "0"], "--draws: found 0"),
    (["--range", "1.5"], "--range: found 1.5"),
    (["--mode", "dirichlet", "--concentration", "-1"], "--concentration: found -1.0"),
    (["--workers", "0"], "--workers: found 0"),
    (["--seed", "-3"], "--seed: found -3"),
])
def test_cli_bad_settings_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    p = _cli("--regions", str(REGIONS), "--out", str(tmp_path), *args)
    assert p.returncode == 2
    assert message in p.stderr
    assert not (tmp_path / "sensitivity.json").exists()


def test_cli_bad_input_file_exit_2(tmp_path: Path) -> None:
    p = _cli("--regions", str(tmp_path / "missing.csv"), "--draws", "5", "--out", str(tmp_path))
    assert p.returncode == 2
    assert "missing.csv" in p.stderr


def test_cli_infeasible_base_exit_3(tmp_path: Path) -> None:
    scenario = tmp_path / "tight.toml"
    scenario.write_text(SCENARIO.read_text("utf-8") + "\n[limits]\nmax_change = 0.1\n", "utf-8")
    (tmp_path / "sensitivity.csv").write_text("stale", "utf-8")
    p = _cli("--regions", str(REGIONS), "--scenario", str(scenario), "--draws", "5",
             "--out", str(tmp_path))
    assert p.returncode == 3, p.stderr
    assert not (tmp_path / "sensitivity.csv").exists()
    data = json.loads((tmp_path / "sensitivity.json").read_text("utf-8"))
    assert data["status"] == "infeasible" and data["base_diagnosis"]


# --------------------------------------------------------------------------- added pools

ROLES = REPO / "inputs" / "roles_2024.toml"


@pytest.fixture(scope="module")
def roles() -> tuple[pd.DataFrame, Scenario]:
    """The roles sample: six roles (the customer success managers with their own weights,
    directors one per war zone) and the expansion fund for 西南 and 西北 only."""
    scenario = load_scenario(ROLES)
    return read_regions(REGIONS, scenario), scenario


@pytest.mark.parametrize("mode", ["range", "dirichlet"])
def test_pool_weights_are_drawn_with_the_same_factor_per_dimension(
        roles: tuple[pd.DataFrame, Scenario], mode: str) -> None:
    _, s = roles
    own = {p.name: p.weights for p in s.pools if p.weights}
    assert set(own) == {"csm"}
    draws = draw_scenarios(s, 25, seed=5, mode=mode, spread=0.3, concentration=50.0)
    for d in draws:
        assert [p.name for p in d.pools] == [p.name for p in s.pools]
        for p, q in zip(s.pools, d.pools, strict=True):
            if not p.weights:
                assert q == p  # a pool without own weights follows [weights]
                continue
            assert set(q.weights) == set(p.weights)
            for dim, w in p.weights.items():
                factor = d.weights[dim] / s.weights[dim]
                assert q.weights[dim] == pytest.approx(w * factor, rel=1e-12), (mode, dim)
            # everything but the weights is the pool's own
            assert ({k: v for k, v in vars(q).items() if k != "weights"}
                    == {k: v for k, v in vars(p).items() if k != "weights"})
    # the factors vary: the pool's weights really are drawn
    assert len({round(d.pools[3].weights["customer_value"], 9) for d in draws}) > 20


def test_draws_without_own_pool_weights_are_those_of_before(
        roles: tuple[pd.DataFrame, Scenario], sample: tuple[pd.DataFrame, Scenario]) -> None:
    # the same generator calls whatever the pools: a scenario's dimension and indicator
    # draws do not depend on the pools it has
    _, s = roles
    plain = s.with_changes(pools=())
    for mode in ("range", "dirichlet"):
        a = draw_scenarios(s, 10, seed=2, mode=mode)
        b = draw_scenarios(plain, 10, seed=2, mode=mode)
        assert [x.weights for x in a] == [x.weights for x in b]
        assert [x.indicators for x in a] == [x.indicators for x in b]


def test_plan_draw_matches_run_plan_for_added_pools(roles: tuple[pd.DataFrame, Scenario],
                                                    ) -> None:
    regions, s = roles
    for d in draw_scenarios(s, 6, seed=1, spread=0.4):
        hp, allocs = plan_draw(regions, d)
        full = run_plan(regions, d, explain=False)
        assert full.status == Status.OPTIMAL and allocs is not None
        assert list(allocs) == list(full.pools) == list(d.pool_names())
        for p, x in allocs.items():
            np.testing.assert_array_equal(x, np.asarray(full.pools[p].allocation, float))


def test_sensitivity_covers_every_pool_and_keeps_their_rules(
        roles: tuple[pd.DataFrame, Scenario]) -> None:
    regions, s = roles
    res = run_sensitivity(regions, s, draws=12, seed=3, workers=1, spread=0.4)
    assert res.status == Status.OPTIMAL and res.infeasible == 0
    names = regions["region"].astype(str).tolist()
    pools = list(s.pool_names())
    assert list(dict.fromkeys(res.table["pool"])) == pools
    assert len(res.table) == len(pools) * len(names)
    zone = regions["war_zone"].astype(str).to_numpy()
    fund_ok = np.isin(np.array(names), ["西南", "西北"])
    for i in range(res.draws):
        # every draw: one director per war zone, the fund only where it may go
        d = res.allocations["director"][i]
        assert {z: d[zone == z].sum() for z in set(zone)} == {z: 1 for z in set(zone)}
        f = res.allocations["expansion_fund"][i]
        assert np.all(f[~fund_ok] == 0) and round(f.sum() * 100) == 10_000_000 * 100
        for p in s.pools:
            assert res.allocations[p.name][i].sum() == pytest.approx(p.total, abs=1e-6)
    fund = res.table[res.table["pool"] == "expansion_fund"].set_index("region")
    assert (fund.loc[~fund_ok, ["base", "median", "p10", "p90", "gain_freq"]] == 0).all().all()
    # today nobody has the fund: every draw gives 西南 and 西北 more than today
    assert (fund.loc[["西南", "西北"], "gain_freq"] == 1.0).all()
    base = res.table[res.table["pool"] == "csm"]["base"].tolist()
    assert base == np.asarray(res.base.pools["csm"].allocation, float).tolist()
    data = json.loads(sensitivity_json(res), parse_constant=_reject)
    assert list(data["pools"]) == pools
    assert data["pools"]["csm"] == {"label": {"en": "客户成功经理", "zh": "客户成功经理"},
                                    "kind": "headcount"}
    assert data["pools"]["expansion_fund"]["kind"] == "budget"
    assert {r["pool"] for r in data["regions"]} == set(pools)
    lines = sensitivity_csv_bytes(res).decode("utf-8-sig").splitlines()
    assert sum(line.split(",")[1] == "director" for line in lines[1:]) == len(names)


def test_zero_range_gives_the_base_plan_of_every_pool(
        roles: tuple[pd.DataFrame, Scenario]) -> None:
    regions, s = roles
    res = run_sensitivity(regions, s, draws=4, seed=0, workers=1, spread=0.0)
    for p, pr in res.base.pools.items():
        for i in range(res.draws):
            np.testing.assert_array_equal(res.allocations[p][i],
                                          np.asarray(pr.allocation, float))

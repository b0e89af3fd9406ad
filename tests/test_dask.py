"""Sweeps and batches on an existing Dask cluster: the same files as in one process."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

from optimizer.errors import InputError
from optimizer.inputs.regions import read_regions
from optimizer.inputs.scenario import Scenario
from optimizer.inputs.scenario_read import load_scenario
from optimizer.studies.batch import run_batch
from optimizer.studies.sensitivity import run_sensitivity, sensitivity_csv_bytes, sensitivity_json
from tests.clihelp import cli

REPO = Path(__file__).resolve().parents[1]
INPUTS = REPO / "inputs"
REGIONS = INPUTS / "regions.csv"
SCENARIO = INPUTS / "scenario.toml"


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """Two single-threaded worker processes on 127.0.0.1, no dashboard; closed after."""
    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                     dashboard_address=None, silence_logs=logging.ERROR)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(scope="module")
def client(cluster: LocalCluster) -> Iterator[Client]:
    """A client of the test's own, to look at the cluster (not used by the code under test)."""
    with Client(cluster, set_as_default=False) as c:
        yield c


@pytest.fixture(scope="module")
def sample() -> tuple[pd.DataFrame, Scenario]:
    """The bundled seven-region sample and its scenario."""
    scenario = load_scenario(SCENARIO)
    return read_regions(REGIONS, scenario), scenario


def _tasks_done(client: Client) -> int:
    """Task state changes the scheduler has made, so a test can tell the cluster did work."""
    def count(dask_scheduler) -> int:  # noqa: ANN001 - the scheduler object
        return int(dask_scheduler.transition_counter)
    return client.run_on_scheduler(count)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("change", [{}, {"hp_rule": "threshold", "hp_threshold": 0.62,
                                         "hp_share": 0.3, "max_change": 5.0}])
def test_sensitivity_on_the_cluster_is_identical_to_one_process(
        sample: tuple[pd.DataFrame, Scenario], cluster: LocalCluster, client: Client,
        change: dict) -> None:
    """Also with infeasible and unscorable draws (the threshold rule near 西北's score)."""
    regions, s = sample
    s = s.with_changes(**change)
    ref = run_sensitivity(regions, s, draws=40, seed=7, spread=0.3, workers=1)
    before = _tasks_done(client)
    calls: list[int] = []
    got = run_sensitivity(regions, s, draws=40, seed=7, spread=0.3,
                          scheduler=cluster.scheduler_address,
                          progress=lambda done, _total: calls.append(done))
    assert _tasks_done(client) > before  # solved on the cluster, not in this process
    assert sensitivity_csv_bytes(got) == sensitivity_csv_bytes(ref)
    assert sensitivity_json(got) == sensitivity_json(ref)
    np.testing.assert_array_equal(got.feasible, ref.feasible)
    for p in ref.allocations:
        np.testing.assert_array_equal(got.allocations[p], ref.allocations[p])
    assert calls[-1] == 40 and calls == sorted(calls) and len(calls) > 1
    if change:
        assert 0 < got.infeasible < got.draws
    # the cluster was only borrowed: still there for the next user
    assert client.submit(sum, [1, 2]).result() == 3
    assert len(client.nthreads()) == 2


def test_sensitivity_cli_with_scheduler(tmp_path: Path, cluster: LocalCluster, client: Client,
                                        sample: tuple[pd.DataFrame, Scenario]) -> None:
    regions, s = sample
    before = _tasks_done(client)
    p = cli("sensitivity", "--regions", REGIONS, "--scenario", SCENARIO, "--draws", "30",
            "--seed", "4", "--scheduler", cluster.scheduler_address, "--out", tmp_path)
    assert p.returncode == 0, p.stderr
    assert "30/30" in p.stderr and "Traceback" not in p.stderr
    assert _tasks_done(client) > before
    ref = run_sensitivity(regions, s, draws=30, seed=4, workers=1)
    assert (tmp_path / "sensitivity.csv").read_bytes() == sensitivity_csv_bytes(ref)
    assert (tmp_path / "sensitivity.json").read_text("utf-8") == sensitivity_json(ref)
    assert len(client.nthreads()) == 2  # not shut down by the CLI


def test_batch_on_the_cluster_is_identical_to_one_process(tmp_path: Path,
                                                          cluster: LocalCluster,
                                                          client: Client) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    for name in ("scenario", "groups", "plan_2024_2026"):
        (folder / f"{name}.toml").write_bytes((INPUTS / f"{name}.toml").read_bytes())
    (folder / "bad.toml").write_text("[weights]\nmarket_potential = -1\n", "utf-8")
    ref = run_batch(REGIONS, folder, tmp_path / "ref", workers=1)
    before = _tasks_done(client)
    p = cli("batch", "--regions", REGIONS, "--scenarios", folder, "--out", tmp_path / "out",
            "--scheduler", cluster.scheduler_address)
    assert p.returncode == 2, p.stderr  # bad.toml
    assert _tasks_done(client) > before
    assert [o.status for o in ref.outcomes] == ["invalid", "optimal", "optimal", "optimal"]
    for o in ref.outcomes:
        for f in o.written:
            if f.name != "summary.json":  # time-stamped
                assert (tmp_path / "out" / o.name / f.name).read_bytes() == f.read_bytes()
    for f in ref.files:  # comparison tables and batch.json (no time stamps)
        assert (tmp_path / "out" / f.name).read_bytes() == f.read_bytes(), f.name


@pytest.mark.parametrize("command", ["sensitivity", "batch"])
def test_unreachable_scheduler_exit_2(tmp_path: Path, command: str) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    args = (["--draws", "5"] if command == "sensitivity" else ["--scenarios", INPUTS])
    p = cli(command, "--regions", REGIONS, *args, "--scheduler", address,
            "--out", tmp_path / "out")
    assert p.returncode == 2, p.stderr
    assert f"--scheduler: cannot reach the Dask scheduler at '{address}'" in p.stderr
    assert "Traceback" not in p.stderr
    assert not any((tmp_path / "out").glob("**/*.csv"))


def test_malformed_scheduler_address_exit_2(tmp_path: Path) -> None:
    p = cli("sensitivity", "--regions", REGIONS, "--draws", "5", "--scheduler", "nowhere",
            "--out", tmp_path)
    assert p.returncode == 2
    assert "--scheduler: found 'nowhere'" in p.stderr and "Traceback" not in p.stderr


def test_library_names_the_setting_it_was_given(sample: tuple[pd.DataFrame, Scenario]) -> None:
    regions, s = sample
    with pytest.raises(InputError) as e:
        run_sensitivity(regions, s, draws=5, scheduler=f"tcp://127.0.0.1:{_free_port()}")
    assert e.value.problems[0].file == "scheduler"


def test_local_cluster_from_a_thread_as_in_the_app(sample: tuple[pd.DataFrame, Scenario],
                                                   ) -> None:
    """The app runs the page script in a thread of a server with other threads running:
    the local cluster started for the run must work there, and report progress there."""
    regions, s = sample
    ref = run_sensitivity(regions, s, draws=24, seed=9, workers=1)
    out: dict[str, object] = {}
    busy = threading.Event()
    other = threading.Thread(target=busy.wait, daemon=True)  # another server thread
    other.start()

    def page() -> None:
        seen: list[str] = []
        out["res"] = run_sensitivity(regions, s, draws=24, seed=9, workers=2,
                                     progress=lambda *_: seen.append(
                                         threading.current_thread().name))
        out["threads"] = set(seen)

    t = threading.Thread(target=page, name="script-thread")
    t.start()
    t.join(timeout=240)
    busy.set()
    assert not t.is_alive()
    assert out["threads"] == {"script-thread"}
    assert sensitivity_csv_bytes(out["res"]) == sensitivity_csv_bytes(ref)

"""Nothing lost: migrations, re-solving from stored inputs, concurrent saves from several
processes, a save or an approval killed half-way (kill -9), and a store that goes away."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, inspect, select

from optimizer.store import api, models
from optimizer.store.db import StoreError, current_revision, head_revision, migrate, open_store
from tests.clihelp import ROOT, cli
from tests.test_store_support import (  # noqa: F401
    INPUTS,
    PASSWORD,
    ROLE_USERS,
    drop_database,
    fresh_database,
    pg_server,
    solved_sample,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: an SQLite file or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'plans.db'}"
        return
    server = request.getfixturevalue("pg_server")
    u, name = fresh_database(server)
    try:
        yield u
    finally:
        drop_database(server, name)


@pytest.fixture(scope="module")
def solved():
    """The sample plan under inputs/groups.toml, solved once, ready to store."""
    return solved_sample("groups.toml")


def _setup(store) -> api.Actor:  # noqa: ANN001
    if store.is_postgres:
        api.init_store(store, team=True, admin=(ROLE_USERS["admin"], PASSWORD))
        admin = api.acting_user(store, ROLE_USERS["admin"], PASSWORD)
        for role in ("planner", "approver"):
            api.create_user(store, admin, ROLE_USERS[role], PASSWORD, "planner,approver")
        return api.acting_user(store, ROLE_USERS["planner"], PASSWORD)
    return api.acting_user(store)


def _save(store, actor, solved, name="s", based_on=None, period="2025"):  # noqa: ANN001, ANN202
    return api.save_plan(store, actor, name=name, regions_data=solved["regions_data"],
                         regions_filename="regions.csv", scenario_toml=solved["scenario_toml"],
                         result=solved["result"], files=solved["files"],
                         summary=solved["summary"], period=period, based_on=based_on)


def test_migrates_an_empty_store_and_the_first_schema(url: str, solved):
    engine = create_engine(url)
    assert current_revision(engine) is None
    migrate(engine, "0001")  # a store written by the first version
    assert current_revision(engine) == "0001"
    assert "users" not in inspect(engine).get_table_names()
    # data written with the first schema, table by table as that version wrote it
    from optimizer.store.api import result_rows

    with engine.begin() as conn:
        t = api.now()
        conn.execute(models.Meta.__table__.insert(), [{"key": "mode", "value": "local"}])
        conn.execute(models.RegionsTable.__table__.insert(), [dict(
            sha256="ab" * 32, filename="regions.csv", n_regions=7,
            data=solved["regions_data"], created_by="old", created_at=t)])
        conn.execute(models.ScenarioRecord.__table__.insert(), [dict(
            id="scen0001", name="旧", created_by="old", created_at=t)])
        conn.execute(models.ScenarioVersion.__table__.insert(), [dict(
            id="ver00001", scenario_id="scen0001", number=1, parent_id=None,
            toml=solved["scenario_toml"], comment="", author="old", created_at=t)])
        conn.execute(models.Plan.__table__.insert(), [dict(
            id="plan0001", version_id="ver00001", regions_sha256="ab" * 32, period="2024",
            status="approved", status_comment="", author="old", created_at=t, updated_at=t,
            summary={}, versions={})])
        conn.execute(models.PlanResult.__table__.insert(),
                     [{**r, "plan_id": "plan0001"} for r in result_rows(solved["result"])])
    engine.dispose()
    store = open_store(url)  # upgrades to the newest schema
    assert current_revision(store.engine) == head_revision()
    assert "users" in inspect(store.engine).get_table_names()
    me = api.acting_user(store)  # the old store was local: still no login
    plan = api.get_plan(store, me, "plan0001")
    assert plan.info["status"] == "approved" and plan.info["name"] == "旧"
    hc = solved["result"].pools["headcount"].allocation
    assert plan.pool("headcount")["allocation"].tolist() == [float(v) for v in hc]
    store.dispose()


def test_a_stored_plan_resolved_from_its_inputs_gives_identical_numbers(tmp_path, solved):
    store = open_store(f"sqlite:///{tmp_path / 'p.db'}")
    me = api.acting_user(store)
    pid = _save(store, me, solved).plan_id
    stored = api.get_plan(store, me, pid)
    again = api.resolve_again(stored)
    for name, pool in again.pools.items():
        rows = stored.pool(name)
        assert np.array_equal(rows["allocation"].to_numpy(), pool.allocation.astype(float))
        assert np.array_equal(rows["exact"].to_numpy(), pool.exact.astype(float))
    from optimizer.report.export import allocation_csv_bytes

    assert allocation_csv_bytes(again) == api.plan_files(store, me, pid)["en/allocation.csv"]
    store.dispose()


def test_optimistic_concurrency_in_the_library(url: str, solved):
    store = open_store(url)
    me = _setup(store)
    first = _save(store, me, solved, name="并发")
    # two planners open version 1, both save: both get a version, the second is told
    a = _save(store, me, solved, name="并发", based_on=first.version_id)
    b = _save(store, me, solved, name="并发", based_on=first.version_id)
    assert (a.number, b.number) == (2, 3)
    assert a.in_between is None
    assert b.in_between is not None and b.in_between.id == a.version_id
    assert b.in_between.plan_id == a.plan_id  # what the comparison opens
    assert b.parent_id == first.version_id  # the version it was really based on
    store.dispose()


def _cli_env(url: str) -> tuple[list[str], dict]:
    if url.startswith("postgresql"):
        return ["--user", ROLE_USERS["planner"]], {"OPTIMIZER_PASSWORD": PASSWORD}
    return [], {}


def test_concurrent_saves_from_several_processes(url: str, solved):
    store = open_store(url)
    _setup(store)
    user, env = _cli_env(url)
    n = 4
    procs = [subprocess.Popen(
        [sys.executable, "-m", "optimizer", "plan", "save", "--regions",
         str(INPUTS / "regions.csv"), "--scenario", str(INPUTS / "scenario.toml"), "--name",
         "同时", "--json", "--store", url, *user], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, **env}) for _ in range(n)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        outs.append((json.loads(out), err))
    numbers = sorted(o["version"] for o, _ in outs)
    assert numbers == list(range(1, n + 1))  # every save got its own version
    by_number = {o["version"]: o for o, _ in outs}
    for o, err in outs:
        ib = o["in_between"]
        if ib is not None:  # told, with the version saved in between and how to compare
            assert ib["version"] == o["version"] - 1
            assert f"plan diff {by_number[ib['version']]['id']} {o['id']}" in err
        elif o["version"] > 1:  # not told: it really was based on the one before
            assert o["parent_id"] == by_number[o["version"] - 1]["version_id"]
    store.dispose()


KILLER = textwrap.dedent("""
    import sys, time
    from optimizer.store import api
    from optimizer.store.db import open_store
    import pickle
    real_audit = api.audit
    def slow_audit(session, actor, action, *a, **k):
        real_audit(session, actor, action, *a, **k)
        if action == sys.argv[2]:
            session.flush()  # every row of the change is written, not yet committed
            print("INSIDE", flush=True)
            time.sleep(600)
    api.audit = slow_audit
    store = open_store(sys.argv[1])
    job = pickle.load(open(sys.argv[3], "rb"))
    actor = api.Actor(**job.pop("actor"))
    if sys.argv[2] == "save":
        api.save_plan(store, actor, **job)
    else:
        api.change_status(store, actor, job["plan_id"], "approve")
""")


def _kill_inside(url: str, action: str, job: dict, tmp_path: Path) -> None:
    import pickle

    job_file = tmp_path / "job.pkl"
    job_file.write_bytes(pickle.dumps(job))
    p = subprocess.Popen([sys.executable, "-c", KILLER, url, action, str(job_file)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    assert line.strip() == "INSIDE", p.stderr.read()
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=30)
    assert p.returncode == -signal.SIGKILL


def _snapshot(store) -> dict:  # noqa: ANN001
    with store.transaction() as s:
        return {t.name: s.execute(select(t.c[list(t.c.keys())[0]])).scalars().all()
                for t in models.Base.metadata.sorted_tables
                if t.name not in ("store_meta", "users")} | {
            "status": sorted(s.execute(select(models.Plan.id, models.Plan.status)).all())}


def test_kill_9_mid_save_and_mid_approval_leaves_the_store_as_before(url, solved, tmp_path):
    store = open_store(url)
    me = _setup(store)
    old = _save(store, me, solved, name="杀")
    api.change_status(store, me, old.plan_id, "submit")
    api.change_status(store, me, old.plan_id, "approve")
    new = _save(store, me, solved, name="杀")
    api.change_status(store, me, new.plan_id, "submit")
    before = _snapshot(store)
    other = {**solved, "regions_data": solved["regions_data"] + b"\n"}  # a new regions table
    job = dict(name="杀", regions_data=other["regions_data"], regions_filename="r.csv",
               scenario_toml=solved["scenario_toml"], result=solved["result"],
               files=solved["files"], summary=solved["summary"], period="2025",
               actor={"name": me.name, "team": me.team})
    _kill_inside(url, "save", job, tmp_path)
    assert _snapshot(store) == before
    # the approval supersedes the old plan of record and approves the new one: all or none
    _kill_inside(url, "approve", {"plan_id": new.plan_id,
                                  "actor": {"name": me.name, "team": me.team}}, tmp_path)
    assert _snapshot(store) == before
    # and the store still works: the same change now goes through, whole
    api.change_status(store, me, new.plan_id, "approve")
    statuses = dict(_snapshot(store)["status"])
    assert (statuses[old.plan_id], statuses[new.plan_id]) == ("superseded", "approved")
    store.dispose()


def test_a_store_that_goes_away_is_a_message_not_a_traceback(tmp_path: Path, solved):
    r = cli("plan", "list", "--store", "postgresql://postgres@127.0.0.1:9/nothing")
    assert r.returncode == 2 and "cannot use the store" in r.stderr
    assert "Traceback" not in r.stderr
    path = tmp_path / "gone.db"
    store = open_store(f"sqlite:///{path}")
    me = api.acting_user(store)
    _save(store, me, solved)
    path.unlink()
    with pytest.raises(StoreError, match="is gone"):
        api.list_plans(store, me)
    with pytest.raises(StoreError, match="nothing was saved"):
        _save(store, me, solved)
    store.dispose()
    (tmp_path / "f.db").write_text("not a folder")
    r = cli("plan", "list", "--store", f"sqlite:///{tmp_path / 'f.db' / 'x.db'}")
    assert r.returncode == 2 and "Traceback" not in r.stderr

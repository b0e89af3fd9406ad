"""Permissions: every role against every action and transition, through the library layer
(which the app also calls) and through the CLI with the user's identity; on a team SQLite
store and on a real PostgreSQL server."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from optimizer.store import api
from optimizer.store.auth import Actor, PermissionDenied
from optimizer.store.db import open_store
from tests.clihelp import cli
from tests.test_store_support import (  # noqa: F401
    INPUTS,
    PASSWORD,
    ROLE_USERS,
    drop_database,
    fresh_database,
    pg_server,
    solved_sample,
)

# who may do what: the contract of the issue; any login may read and export a plan's files,
# only administrators manage users and take backups (a dump holds the password hashes)
ALLOWED = {
    "planner": {"view", "export", "save", "submit"},
    "finance": {"view", "export"},
    "approver": {"view", "export", "approve", "reject"},
    "admin": {"view", "export", "users", "backup"},
}


@pytest.fixture(scope="module")
def solved():
    """The sample plan under inputs/scenario.toml, solved once, ready to store."""
    return solved_sample("scenario.toml")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def team(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[tuple[str, object]]:  # noqa: ANN001
    """(URL, store) of a fresh team store with one user per role."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('team') / 'plans.db'}"
        name = None
    else:
        server = request.getfixturevalue("pg_server")
        url, name = fresh_database(server)
    store = open_store(url)
    api.init_store(store, team=True, admin=(ROLE_USERS["admin"], PASSWORD))
    admin = api.acting_user(store, ROLE_USERS["admin"], PASSWORD)
    for role, user in ROLE_USERS.items():
        if role != "admin":
            api.create_user(store, admin, user, PASSWORD, role)
    try:
        yield url, store
    finally:
        store.dispose()
        if name is not None:
            drop_database(request.getfixturevalue("pg_server"), name)


def _login(store, role: str) -> Actor:  # noqa: ANN001
    return api.acting_user(store, ROLE_USERS[role], PASSWORD)


def _save(store, actor: Actor, solved, name: str = "权限") -> str:  # noqa: ANN001
    return api.save_plan(store, actor, name=name, regions_data=solved["regions_data"],
                         regions_filename="regions.csv", scenario_toml=solved["scenario_toml"],
                         result=solved["result"], files=solved["files"],
                         summary=solved["summary"], period="2025").plan_id


def _status(store, pid: str) -> str:  # noqa: ANN001
    with store.transaction() as s:
        from optimizer.store.models import Plan

        return s.get(Plan, pid).status


@pytest.mark.parametrize("role", sorted(ALLOWED))
def test_every_role_against_every_action(team, solved, role: str):
    url, store = team
    me = _login(store, role)
    planner = _login(store, "planner")
    approver = _login(store, "approver")

    def attempt(action: str) -> bool:
        try:
            if action == "view":
                api.list_plans(store, me)
            elif action == "export":
                api.plan_files(store, me, _save(store, planner, solved))
            elif action == "save":
                _save(store, me, solved)
            elif action == "submit":
                api.change_status(store, me, _save(store, planner, solved), "submit")
            elif action in ("approve", "reject"):
                pid = _save(store, planner, solved)
                api.change_status(store, planner, pid, "submit")
                api.change_status(store, me, pid, action, "reason")
                assert _status(store, pid) == {"approve": "approved", "reject": "rejected"}[
                    action]
            elif action == "users":
                api.create_user(store, me, f"new_{role}", PASSWORD, "finance")
            elif action == "backup":
                api.dump(store, me, io.StringIO())
            return True
        except PermissionDenied as e:
            assert me.name in str(e) and "may not" in str(e)
            return False

    got = {a for a in ("view", "export", "save", "submit", "approve", "reject", "users",
                       "backup") if attempt(a)}
    assert got == ALLOWED[role]
    # a refused status change leaves the plan as it was
    pid = _save(store, planner, solved)
    api.change_status(store, planner, pid, "submit")
    if role != "approver":
        with pytest.raises(PermissionDenied):
            api.change_status(store, me, pid, "approve")
        assert _status(store, pid) == "submitted"
    api.change_status(store, approver, pid, "reject", "cleanup")


def test_logins_and_forged_identities_are_refused(team):
    url, store = team
    with pytest.raises(PermissionDenied, match="wrong user name or password"):
        api.acting_user(store, ROLE_USERS["approver"], "not the password")
    with pytest.raises(PermissionDenied, match="wrong user name or password"):
        api.acting_user(store, "nobody", PASSWORD)
    with pytest.raises(PermissionDenied, match="log in"):
        api.acting_user(store, None, None)
    # an actor made up in the caller is checked against the store, never trusted
    with pytest.raises(PermissionDenied):
        api.list_plans(store, Actor("mallory", team=True))
    with pytest.raises(PermissionDenied):
        api.list_plans(store, Actor(ROLE_USERS["approver"], team=False))
    with store.transaction() as s:
        from optimizer.store.models import User

        stored = s.get(User, ROLE_USERS["planner"]).password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_planner_cannot_approve_through_the_cli(team, solved, tmp_path: Path):
    url, store = team
    pid = _save(store, _login(store, "planner"), solved, name="命令行")
    env = {"OPTIMIZER_PASSWORD": PASSWORD}
    r = cli("plan", "submit", pid, "--store", url, "--user", ROLE_USERS["planner"], env=env)
    assert r.returncode == 0, r.stderr
    r = cli("plan", "approve", pid, "--store", url, "--user", ROLE_USERS["planner"], env=env)
    assert r.returncode == 2 and "may not approve" in r.stderr and "Traceback" not in r.stderr
    r = cli("plan", "list", "--store", url, env=env)  # no login at all
    assert r.returncode == 2 and "log in" in r.stderr
    r = cli("plan", "list", "--store", url, "--user", ROLE_USERS["finance"],
            env={"OPTIMIZER_PASSWORD": "wrong"})
    assert r.returncode == 2 and "wrong user name or password" in r.stderr
    assert _status(store, pid) == "submitted"
    r = cli("plan", "approve", pid, "--store", url, "--user", ROLE_USERS["approver"], env=env)
    assert r.returncode == 0, r.stderr
    assert _status(store, pid) == "approved"


def test_local_store_acts_as_the_os_user(tmp_path: Path, solved):
    store = open_store(f"sqlite:///{tmp_path / 'local.db'}")
    me = api.acting_user(store)
    assert me.team is False and me.name
    pid = _save(store, me, solved)
    api.change_status(store, me, pid, "submit")
    api.change_status(store, me, pid, "approve")
    assert api.list_plans(store, me)[0]["author"] == me.name
    with pytest.raises(PermissionDenied):  # a team login means nothing on a local store
        api.list_plans(store, Actor(me.name, team=True))
    store.dispose()

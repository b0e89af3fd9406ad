"""Shared by the store tests: a real PostgreSQL server, a fresh database per module, the
CLI with a store, and reading the CSV that `optimizer run` writes (the independent truth).

A server is taken from $OPTIMIZER_TEST_PG_URL (scripts/test starts one); without it this
module starts a throw-away one. If neither works the tests fail: they are never skipped.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clihelp import cli

REPO = Path(__file__).resolve().parents[1]
INPUTS = REPO / "inputs"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PASSWORD = "correct horse battery"
ROLE_USERS = {"planner": "pia", "finance": "fay", "approver": "abe", "admin": "ada"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*cmd: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """URL of a PostgreSQL server's maintenance database (postgres, trust auth)."""
    url = os.environ.get("OPTIMIZER_TEST_PG_URL")
    if url:
        yield url
        return
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL is not installed ({PG_BIN}/initdb missing): apt-get install "
                    "postgresql, or set OPTIMIZER_TEST_PG_URL", pytrace=False)
    d = Path(tempfile.mkdtemp(prefix="optimizer-pg-"))
    if os.geteuid() == 0:
        shutil.chown(d, "postgres")
    port = _free_port()
    data = d / "data"
    subprocess.run(_as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust",
                                "-U", "postgres"), check=True, capture_output=True)
    subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-l",
                                str(d / "log"), "-o",
                                f"-k {d} -p {port} -c listen_addresses=127.0.0.1", "start"),
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast",
                                    "stop"), capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


def fresh_database(server_url: str) -> tuple[str, str]:
    """Create an empty database on the server; returns (its URL, its name)."""
    import psycopg

    name = "t_" + secrets.token_hex(6)
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name, name


def drop_database(server_url: str, name: str) -> None:
    """Drop a database made by fresh_database (its connections are closed first)."""
    import psycopg

    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Backend:
    """A store to run the CLI against: its URL and, for team stores, who logs in."""

    def __init__(self, kind: str, url: str, team: bool):
        self.kind, self.url, self.team = kind, url, team

    def run(self, *args: str | Path, role: str | None = "planner", user: str | None = None,
            env: dict | None = None):
        """`optimizer ARGS --store URL` as the user of `role` (team stores)."""
        extra: list[str] = ["--store", self.url]
        full_env = {**(env or {})}
        if self.team and (user or role):
            extra += ["--user", user or ROLE_USERS[role]]
            full_env.setdefault("OPTIMIZER_PASSWORD", PASSWORD)
        return cli(*args, *extra, env=full_env)


def make_team(backend: Backend) -> None:
    """Set a team store up: an administrator, then one user per role."""
    r = cli("store", "init", "--team", "--admin", ROLE_USERS["admin"], "--store", backend.url,
            env={"OPTIMIZER_PASSWORD": PASSWORD})
    assert r.returncode == 0, r.stderr
    for role, name in ROLE_USERS.items():
        if role == "admin":
            continue
        r = backend.run("store", "user", "add", name, "--role", role, role="admin",
                        env={"OPTIMIZER_NEW_PASSWORD": PASSWORD})
        assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Backend]:
    """A fresh store for the module: SQLite (local, no login) or PostgreSQL (team)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("store") / "plans.db"
        yield Backend("sqlite", f"sqlite:///{path}", team=False)
        return
    server = request.getfixturevalue("pg_server")
    url, name = fresh_database(server)
    b = Backend("postgresql", url, team=True)
    make_team(b)
    try:
        yield b
    finally:
        drop_database(server, name)


def run_csv(regions: Path, scenario: Path, out: Path, lang: str = "en") -> bytes:
    """The allocation.csv bytes `optimizer run` writes for these inputs."""
    r = cli("run", "--regions", regions, "--scenario", scenario, "--out", out, "--lang", lang)
    assert r.returncode == 0, r.stderr
    return (out / "allocation.csv").read_bytes()


def csv_amounts(data: bytes) -> dict[tuple[str, str], float]:
    """(region, pool) -> allocation, read from an allocation.csv with the csv module."""
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    return {(r["region"], pool): float(r[pool]) for r in rows
            for pool in ("headcount", "budget")}


def wait_for(predicate, timeout: float = 30.0) -> bool:  # noqa: ANN001
    """Poll `predicate()` until it is true or `timeout` seconds pass."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def solved_sample(scenario_file: str) -> dict:
    """The sample regions planned under `inputs/<scenario_file>`, with the files `optimizer
    run` writes: what a store test saves."""
    from optimizer.flow.plan import run_plan
    from optimizer.inputs.regions import read_regions
    from optimizer.inputs.scenario_read import load_scenario
    from optimizer.inputs.scenario_write import scenario_to_toml
    from optimizer.store import api

    inputs = Path(__file__).resolve().parents[1] / "inputs"
    scenario = load_scenario(inputs / scenario_file)
    regions = read_regions(inputs / "regions.csv", scenario)
    result = run_plan(regions, scenario, regions_file="regions.csv")
    files, summary = api.plan_files_of(result, {"regions": inputs / "regions.csv"})
    return {"result": result, "files": files, "summary": summary,
            "scenario_toml": scenario_to_toml(scenario),
            "regions_data": (inputs / "regions.csv").read_bytes()}

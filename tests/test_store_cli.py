"""The plan CLI contract, on SQLite (local store) and a real PostgreSQL server (team store).

Numbers are checked against the CSV that `optimizer run` writes for the same inputs and
against differences computed here from those CSVs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_store_support import (  # noqa: F401
    INPUTS,
    backend,
    csv_amounts,
    pg_server,
    run_csv,
)

REGIONS = INPUTS / "regions.csv"
BASE = INPUTS / "scenario.toml"
GROUPS = INPUTS / "groups.toml"


def _json(r) -> object:  # noqa: ANN001
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)  # stdout is only the JSON document


def _save(b, scenario: Path, name: str = "基线", period: str = "2025", **kw) -> str:  # noqa: ANN001
    extra = [f"--{k}={v}" for k, v in kw.items()]
    out = _json(b.run("plan", "save", "--regions", REGIONS, "--scenario", scenario, "--name",
                      name, "--period", period, *extra, "--json"))
    assert isinstance(out["id"], str) and 4 <= len(out["id"]) <= 12 and out["id"].isalnum()
    return out["id"]


@pytest.fixture(scope="module")
def truth(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """allocation.csv of `optimizer run` for both scenarios (en and zh headers)."""
    d = tmp_path_factory.mktemp("run")
    return {"base": run_csv(REGIONS, BASE, d / "base"),
            "groups": run_csv(REGIONS, GROUPS, d / "groups"),
            "groups_zh": run_csv(REGIONS, GROUPS, d / "groups_zh", lang="zh")}


def test_save_list_show_and_files_byte_identical(backend, truth, tmp_path: Path):  # noqa: F811
    pid = _save(backend, BASE, comment="first")
    listed = _json(backend.run("plan", "list", "--json"))
    mine = [p for p in listed if p["id"] == pid]
    assert len(mine) == 1
    p = mine[0]
    assert (p["name"], p["period"], p["status"], p["comment"]) == ("基线", "2025", "draft",
                                                                    "first")
    assert p["author"] and p["created_at"].endswith("Z")
    shown = _json(backend.run("plan", "show", pid, "--json", role="finance"))
    expected = csv_amounts(truth["base"])
    got = {(r["region"], pool): r[pool] for r in shown["results"]
           for pool in ("headcount", "budget")}
    assert got == pytest.approx(expected, abs=0.005)
    assert [r["region"] for r in shown["results"]] == ["华东", "华南", "华北", "华中", "西南",
                                                       "西北", "东北"]
    assert shown["history"][0]["action"] == "save"
    # finance exports: the same bytes as `optimizer run`, in either language
    r = backend.run("plan", "show", pid, "--out", tmp_path / "en", role="finance")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "en" / "allocation.csv").read_bytes() == truth["base"]
    gid = _save(backend, GROUPS)
    r = backend.run("plan", "show", gid, "--out", tmp_path / "zh", "--lang", "zh",
                    role="finance")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "zh" / "allocation.csv").read_bytes() == truth["groups_zh"]
    assert {"allocation.csv", "allocation.xlsx", "summary.json"} <= {
        f.name for f in (tmp_path / "zh").iterdir()}


def test_versions_of_a_scenario_chain_to_their_parent(backend):  # noqa: F811
    first = _save(backend, BASE, name="链")
    second = _save(backend, GROUPS, name="链")
    plans = {p["id"]: p for p in _json(backend.run("plan", "list", "--name", "链", "--json"))}
    assert plans[first]["version"] == 1 and plans[second]["version"] == 2
    assert plans[second]["parent_id"] == plans[first]["version_id"]
    assert plans[first]["parent_id"] is None


def test_diff_per_region_and_pool(backend, truth):  # noqa: F811
    a, b = _save(backend, BASE, name="甲"), _save(backend, GROUPS, name="乙")
    d = _json(backend.run("plan", "diff", a, b, "--json", role="approver"))
    assert d["a"]["id"] == a and d["b"]["id"] == b
    ta, tb = csv_amounts(truth["base"]), csv_amounts(truth["groups"])
    rows = {(r["region"], r["pool"]): r for r in d["rows"]}
    assert set(rows) == set(ta)
    for key, row in rows.items():
        assert row["a"] == pytest.approx(ta[key], abs=0.005)
        assert row["b"] == pytest.approx(tb[key], abs=0.005)
        assert row["difference"] == pytest.approx(tb[key] - ta[key], abs=0.01)
    assert any(abs(r["difference"]) > 0 for r in d["rows"])  # the scenarios do differ
    text = backend.run("plan", "diff", a, b, role="approver")
    assert text.returncode == 0 and "华东" in text.stdout


def test_status_flow_supersedes_the_periods_plan_of_record(backend):  # noqa: F811
    first = _save(backend, BASE, name="年度", period="2031")
    second = _save(backend, GROUPS, name="年度", period="2031")
    other = _save(backend, BASE, name="年度", period="2032")

    def status(pid: str) -> str:
        return {p["id"]: p for p in _json(backend.run("plan", "list", "--json"))}[pid]["status"]

    r = backend.run("plan", "approve", first, role="approver")  # a draft never submitted
    assert r.returncode == 2 and "never submitted" in r.stderr
    assert status(first) == "draft"
    for pid in (first, second, other):
        assert backend.run("plan", "submit", pid).returncode == 0
    assert backend.run("plan", "submit", first).returncode == 2  # twice
    assert _json(backend.run("plan", "approve", first, "--json", role="approver"))[
        "status"] == "approved"
    r = backend.run("plan", "approve", first, role="approver")  # approving twice
    assert r.returncode == 2 and "approved already" in r.stderr
    assert backend.run("plan", "approve", other, role="approver").returncode == 0
    out = _json(backend.run("plan", "approve", second, "--comment", "better", "--json",
                            role="approver"))
    assert out["superseded"] == first
    assert (status(first), status(second), status(other)) == ("superseded", "approved",
                                                              "approved")
    approved = _json(backend.run("plan", "list", "--period", "2031", "--status", "approved",
                                 "--json", role="finance"))
    assert [p["id"] for p in approved] == [second]
    # rejection needs a reason, and only a submitted plan can be rejected
    third = _save(backend, BASE, name="年度", period="2031")
    assert backend.run("plan", "reject", third, role="approver").returncode == 2
    assert backend.run("plan", "submit", third).returncode == 0
    assert backend.run("plan", "reject", third, role="approver").returncode == 2
    r = backend.run("plan", "reject", third, "--comment", "预算过高", role="approver")
    assert r.returncode == 0, r.stderr
    assert status(third) == "rejected"
    assert backend.run("plan", "approve", third, role="approver").returncode == 2
    hist = _json(backend.run("plan", "show", second, "--json"))["history"]
    assert [e["action"] for e in hist][-3:] == ["save", "submit", "approve"]
    assert [e["action"] for e in hist][0] == "version"  # version 1 of the scenario came first


def test_unknown_id_short_prefix_and_store_anywhere(backend):  # noqa: F811
    pid = _save(backend, BASE, name="前缀")
    r = backend.run("plan", "show", "zzzzzzzz")
    assert r.returncode == 2 and "zzzzzzzz" in r.stderr and "Traceback" not in r.stderr
    assert backend.run("plan", "submit", "nope").returncode == 2
    shown = _json(backend.run("plan", "show", pid[:5].upper(), "--json"))
    assert shown["id"] == pid
    # --store before the action works as well as after it
    from tests.clihelp import cli

    env = {"OPTIMIZER_PASSWORD": "correct horse battery"}
    user = ["--user", "pia"] if backend.team else []
    r = cli("plan", "--store", backend.url, *user, "show", pid, "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["id"] == pid


def test_infeasible_plan_is_not_saved(backend, tmp_path: Path):  # noqa: F811
    bad = tmp_path / "bad.toml"
    bad.write_text("[high_potential]\nshare = 0.99\nrule = \"threshold\"\nthreshold = 0.99\n"
                   "[limits]\nmax_change_pct = 0.01\n", encoding="utf-8")
    before = len(_json(backend.run("plan", "list", "--json")))
    r = backend.run("plan", "save", "--regions", REGIONS, "--scenario", bad, "--name", "坏")
    assert r.returncode in (2, 3), r.stderr
    assert len(_json(backend.run("plan", "list", "--json"))) == before


def test_dump_and_load_round_trip(backend, tmp_path: Path):  # noqa: F811
    from tests.clihelp import cli

    _save(backend, BASE, name="备份")
    dump = tmp_path / "backup.jsonl"
    r = backend.run("store", "dump", "--out", dump, role="admin")
    assert r.returncode == 0, r.stderr
    assert json.loads(dump.read_text(encoding="utf-8").splitlines()[0])["format"]
    target = f"sqlite:///{tmp_path / 'restored.db'}"
    r = cli("store", "load", dump, "--store", target)
    assert r.returncode == 0, r.stderr
    env = {"OPTIMIZER_PASSWORD": "correct horse battery"}
    user = ["--user", "pia"] if backend.team else []
    restored = json.loads(cli("plan", "list", "--json", "--store", target, *user,
                              env=env).stdout)
    original = _json(backend.run("plan", "list", "--json"))
    assert restored == original
    again = cli("store", "load", dump, "--store", target, *user, env=env)
    assert again.returncode == 2 and "not empty" in again.stderr

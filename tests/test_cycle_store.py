"""The quarterly cycle's store form through the CLI, on SQLite (local store) and a real
PostgreSQL server (team store): actuals imported and versioned against the plan of
record, the review of a quarter, the re-plan saved as a linked draft.

Figures are checked against the sample actuals read here with the csv module and against
the plans as `optimizer plan show` reports them.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.clihelp import cli
from tests.test_store_support import INPUTS, PASSWORD, backend, pg_server  # noqa: F401

REGIONS = INPUTS / "regions.csv"
BASE = INPUTS / "scenario.toml"
SAMPLE = INPUTS / "actuals_2025_q1_q2.csv"
POOLS = ("headcount", "budget")


def _json(r) -> object:  # noqa: ANN001
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)  # stdout is only the JSON document


def _sample_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(SAMPLE.read_text(encoding="utf-8-sig"))))


def _to_date(q: int) -> dict[str, dict[str, float]]:
    """Money spent in quarters 1..q and people in place at the end of q, per region."""
    spent: dict[str, float] = {}
    people: dict[str, float] = {}
    for row in _sample_rows():
        k = int(row["quarter"][-1])
        if k <= q:
            spent[row["region"]] = spent.get(row["region"], 0.0) + float(row["budget_spent"])
        if k == q:
            people[row["region"]] = float(row["headcount"])
    return {"budget": spent, "headcount": people}


def _amounts(b, pid: str) -> dict[tuple[str, str], float]:  # noqa: ANN001
    shown = _json(b.run("plan", "show", pid, "--json"))
    return {(r["region"], p): float(r[p]) for r in shown["results"] for p in POOLS}


def _versions(b, pid: str) -> list[dict]:  # noqa: ANN001
    return _json(b.run("actuals", "list", "--plan", pid, "--json"))


@pytest.fixture(scope="module")
def record(backend) -> str:  # noqa: F811
    """The plan of record of 2025 in this store, saved, submitted and approved."""
    out = _json(backend.run("plan", "save", "--regions", REGIONS, "--scenario", BASE,
                            "--name", "年度计划", "--period", "2025", "--json"))
    pid = out["id"]
    assert backend.run("plan", "submit", pid).returncode == 0
    r = backend.run("plan", "approve", pid, role="approver")
    assert r.returncode == 0, r.stderr
    r = backend.run("actuals", "import", "--plan", pid, SAMPLE, "--json")
    got = _json(r)
    assert [(q["quarter"], q["version"], q["regions"]) for q in got["quarters"]] == [
        ("2025Q1", 1, 7), ("2025Q2", 1, 7)]
    return pid


def test_import_refuses_bad_rows_drafts_and_other_roles(backend, record, tmp_path):  # noqa: F811
    before = _versions(backend, record)
    bad = tmp_path / "bad.csv"
    bad.write_text("区域,季度,已用预算\n火星,2025Q1,100\n华东,2024Q4,100\n华南,2025Q1,-5\n",
                   encoding="utf-8")
    r = backend.run("actuals", "import", "--plan", record, bad)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "row 2, column 'region'" in r.stderr and "火星" in r.stderr
    assert "row 3, column 'quarter'" in r.stderr and "outside the plan's period" in r.stderr
    assert "row 4, column 'budget_spent'" in r.stderr and "'-5'" in r.stderr
    draft = _json(backend.run("plan", "save", "--regions", REGIONS, "--scenario", BASE,
                              "--name", "草稿", "--period", "2025", "--json"))["id"]
    r = backend.run("actuals", "import", "--plan", draft, SAMPLE)
    assert r.returncode == 2 and "not the plan of record" in r.stderr
    if backend.team:  # a local store has one user with every role
        r = backend.run("actuals", "import", "--plan", record, SAMPLE, role="finance")
        assert r.returncode == 2 and "may not import_actuals" in r.stderr
    assert _versions(backend, record) == before  # nothing was stored


def test_a_quarter_imported_again_is_a_new_version_and_the_newest_counts(
        backend, record, tmp_path):  # noqa: F811
    def northwest() -> str:
        rv = _json(backend.run("review", "--plan", record, "--quarter", "2025Q2", "--json"))
        return rv["by_region"]["西北"]

    assert northwest() == "red"  # churn 17 % then 18 %: above the 15 % limit
    fixed = tmp_path / "q2.csv"
    rows = [r for r in _sample_rows() if r["quarter"] == "2025Q2"]
    for r in rows:
        if r["region"] == "西北":
            r["churn_rate"] = "10%"
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    fixed.write_text(buf.getvalue(), encoding="utf-8")
    n_q2 = sum(1 for v in _versions(backend, record) if v["quarter"] == "2025Q2")
    got = _json(backend.run("actuals", "import", fixed, "--plan", record, "--json"))
    assert [(q["quarter"], q["version"]) for q in got["quarters"]] == [("2025Q2", n_q2 + 1)]
    versions = _versions(backend, record)
    q2 = [v for v in versions if v["quarter"] == "2025Q2"]
    assert [v["version"] for v in q2] == list(range(1, n_q2 + 2))  # the old ones are kept
    assert [v["latest"] for v in q2] == [False] * n_q2 + [True]
    assert northwest() == "green"  # Q2's newest version no longer trips the alarm
    _json(backend.run("actuals", "import", "--plan", record, SAMPLE, "--json"))
    assert northwest() == "red"


def test_review_of_the_plan_of_record(backend, record, tmp_path):  # noqa: F811
    out = tmp_path / "rev"
    rv = _json(backend.run("review", "--plan", record, "--quarter", "2025年第2季度", "--out",
                           out, "--json", role="finance"))
    assert rv["quarter"] == "2025Q2" and rv["plan"] == record
    assert rv["by_region"]["西北"] == "red" and rv["alarms"][0]["region"] == "西北"
    assert "churn 18 % above the 15 % limit for the second quarter running" in \
        rv["alarms"][0]["text_en"]
    plan = _amounts(backend, record)
    done = _to_date(2)
    for p in POOLS:
        assert rv["pools"][p]["plan"] == pytest.approx(sum(v for (_, q), v in plan.items()
                                                           if q == p), abs=0.01)
        assert rv["pools"][p]["actual"] == pytest.approx(sum(done[p].values()), abs=0.01)
    # 东北 spent more than 10 % above its plan to date (half the year, equal phasing)
    overspend = plan[("东北", "budget")] / 2
    assert done["budget"]["东北"] > 1.1 * overspend
    assert any(a["region"] == "东北" and a["column"] == "budget_spent" for a in rv["alarms"])
    rows = list(csv.DictReader(io.StringIO((out / "review.csv").read_text("utf-8-sig"))))
    by = {x["region"]: x for x in rows}
    assert float(by["西北"]["budget_actual"]) == done["budget"]["西北"]
    assert int(by["西北"]["headcount_actual"]) == done["headcount"]["西北"]
    assert (out / "review.xlsx").read_bytes()[:2] == b"PK"
    assert json.loads((out / "review.json").read_text("utf-8"))["by_region"] == rv["by_region"]
    text = backend.run("review", "--plan", record, "--quarter", "2025Q2", "--lang", "zh")
    assert text.returncode == 0 and "西北：客户流失率" in text.stdout
    r = backend.run("review", "--plan", record, "--quarter", "2026Q1")
    assert r.returncode == 2 and "--quarter" in r.stderr and "outside" in r.stderr
    r = backend.run("review", "--plan", record, "--regions", REGIONS, "--quarter", "2025Q2")
    assert r.returncode == 2 and "not with --plan" in r.stderr


def test_replan_is_a_linked_draft_that_keeps_the_spending(backend, record, tmp_path):  # noqa: F811
    plans_before = len(_json(backend.run("plan", "list", "--json")))
    env = {"OPTIMIZER_PASSWORD": PASSWORD}
    user = ["--user", "pia"] if backend.team else []
    # --store before the command's own options works too
    r = cli("replan", "--store", backend.url, *user, "--plan", record, "--after", "2025Q2",
            "--json", env=env)
    out = _json(r)
    new = out["id"]
    assert out["status"] == "draft" and out["of_record"] == record and out["after"] == "2025Q2"
    listed = {p["id"]: p for p in _json(backend.run("plan", "list", "--json"))}
    assert len(listed) == plans_before + 1
    assert (listed[new]["status"], listed[new]["period"]) == ("draft", "2025")
    assert listed[new]["name"] == listed[record]["name"]
    rec, got = _amounts(backend, record), _amounts(backend, new)
    done = _to_date(2)
    for p in POOLS:  # the year's totals are the plan of record's (the scenario sets none)
        assert sum(v for (_, q), v in got.items() if q == p) == pytest.approx(
            sum(v for (_, q), v in rec.items() if q == p), abs=0.01)
    for (region, p), v in got.items():
        assert v >= done[p][region] - 0.005, (region, p)  # spending stays spent
    diff = {(d["region"], d["pool"]): d for d in out["diff"]}
    assert set(diff) == set(rec)
    for k, d in diff.items():
        assert d["of_record"] == pytest.approx(rec[k], abs=0.005)
        assert d["replan"] == pytest.approx(got[k], abs=0.005)
        assert d["change"] == pytest.approx(got[k] - rec[k], abs=0.01)
        assert d["remaining"] == pytest.approx(got[k] - done[k[1]][k[0]], abs=0.01)
    shown = _json(backend.run("plan", "show", new, "--json"))
    assert shown["summary"]["replan"]["of_record"] == record
    events = [e for e in shown["history"] if e["action"] == "replan"]
    assert len(events) == 1 and events[0]["detail"]["of_record"] == record
    # the stored files are those of the file form, with the re-plan columns
    r = backend.run("plan", "show", new, "--out", tmp_path / "files", role="finance")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(
        (tmp_path / "files" / "allocation.csv").read_text("utf-8-sig"))))
    for x in rows:
        assert float(x["budget_of_record"]) == pytest.approx(rec[(x["region"], "budget")])
        assert float(x["budget_remaining"]) == pytest.approx(
            float(x["budget"]) - done["budget"][x["region"]], abs=0.005)
    assert (tmp_path / "files" / "diff.csv").exists()
    # after Q1, 华东 and 华南 hold more people than the plan of record: infeasible, not saved
    r = backend.run("replan", "--plan", record, "--after", "2025Q1")
    assert r.returncode == 3 and "华东 38 people (plan of record 35 people)" in r.stdout
    assert len(_json(backend.run("plan", "list", "--json"))) == plans_before + 1
    if backend.team:
        r = backend.run("replan", "--plan", record, "--after", "2025Q2", role="finance")
        assert r.returncode == 2 and "may not save" in r.stderr
    r = backend.run("replan", "--plan", new, "--after", "2025Q2")  # a draft is not of record
    assert r.returncode == 2 and "not the plan of record" in r.stderr


def test_file_form_and_store_form_give_the_same_replan(backend, record, tmp_path):  # noqa: F811
    r = backend.run("plan", "show", record, "--out", tmp_path / "rec", role="finance")
    assert r.returncode == 0, r.stderr
    r = cli("replan", "--regions", REGIONS, "--scenario", BASE, "--plan-of-record",
            tmp_path / "rec" / "allocation.csv", "--actuals", SAMPLE, "--after", "2025Q2",
            "--out", tmp_path / "file")
    assert r.returncode == 0, r.stderr
    store = backend.run("replan", "--plan", record, "--after", "2025Q2", "--out",
                        tmp_path / "store")
    assert store.returncode == 0, store.stderr
    a = (tmp_path / "file" / "allocation.csv").read_text("utf-8-sig")
    b = (tmp_path / "store" / "allocation.csv").read_text("utf-8-sig")
    assert a == b


def test_a_backup_carries_the_actuals_and_the_links(backend, record, tmp_path):  # noqa: F811
    dump = tmp_path / "backup.jsonl"
    r = backend.run("store", "dump", "--out", dump, role="admin")
    assert r.returncode == 0, r.stderr
    tables = {json.loads(line).get("table") for line in dump.read_text("utf-8").splitlines()}
    assert {"actuals_files", "actuals_versions"} <= tables
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    r = cli("store", "load", dump, "--store", copy)
    assert r.returncode == 0, r.stderr
    login = ["--user", "fay"] if backend.team else []  # the copy keeps the team's users
    listed = _json(cli("actuals", "list", "--plan", record, "--store", copy, *login, "--json",
                       env={"OPTIMIZER_PASSWORD": PASSWORD}))
    assert [(v["quarter"], v["version"]) for v in listed] == [
        (v["quarter"], v["version"]) for v in _versions(backend, record)]

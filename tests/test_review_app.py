"""The Review page through AppTest: pick the plan of record, upload the sample actuals
(imported into the store), the alarms first, re-plan from the actuals; bad uploads and a
store that went away are messages, never tracebacks."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from conftest import INPUTS, REPO
from streamlit.testing.v1 import AppTest

from optimizer.app.review import tr
from optimizer.flow.plan import run_plan
from optimizer.inputs.regions import read_regions
from optimizer.inputs.scenario_read import load_scenario
from optimizer.inputs.scenario_write import scenario_to_toml
from optimizer.store import api, cycle
from optimizer.store.db import open_store

APP = str(REPO / "tests" / "apps" / "review_app.py")
SAMPLE = INPUTS / "actuals_2025_q1_q2.csv"


@pytest.fixture(scope="module")
def solved():
    """The sample plan, solved once for the module."""
    sc = load_scenario(INPUTS / "scenario.toml")
    regions = read_regions(INPUTS / "regions.csv", sc)
    return sc, run_plan(regions, sc, regions_file="regions.csv")


def approved_plan(url: str, solved, period: str = "2025") -> str:  # noqa: ANN001
    """Save the sample plan for `period` and approve it through the library; its id."""
    sc, result = solved
    store = open_store(url)
    me = api.acting_user(store)
    files, summary = api.plan_files_of(result, {})
    out = api.save_plan(store, me, name="年度计划", regions_data=(INPUTS / "regions.csv")
                        .read_bytes(), regions_filename="regions.csv",
                        scenario_toml=scenario_to_toml(sc), result=result, files=files,
                        summary=summary, period=period)
    api.change_status(store, me, out.plan_id, "submit")
    api.change_status(store, me, out.plan_id, "approve")
    store.dispose()
    return out.plan_id


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'plans.db'}"
    monkeypatch.setenv("OPTIMIZER_STORE", url)
    return url


def _app(lang: str = "zh", monkeypatch: pytest.MonkeyPatch | None = None) -> AppTest:
    if monkeypatch is not None:
        monkeypatch.setenv("REVIEW_APP_LANG", lang)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="review_upload").set_value((name, data, "text/csv")).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _texts(elements) -> list[str]:  # noqa: ANN001
    return [e.value for e in elements]


def test_upload_review_and_replan(store_url: str, solved, monkeypatch):
    at = _app("zh", monkeypatch)
    assert tr("no_record", "zh") in _texts(at.info)
    pid = approved_plan(store_url, solved)
    at = _app("zh", monkeypatch)
    assert at.selectbox(key="review_plan").value == pid
    assert tr("no_actuals", "zh") in _texts(at.info)
    _upload(at, "actuals.csv", SAMPLE.read_bytes())
    assert any("2025Q2 第 1 版" in s for s in _texts(at.success))
    assert at.selectbox(key="review_quarter").value == "2025Q2"
    # alarms first: the red one leads, with its reason in words
    errors = _texts(at.error)
    assert errors and errors[0].startswith("红 · 西北：客户流失率 18 % 高于 15 %")
    assert any("东北" in w for w in _texts(at.warning))  # the sample's overspending region
    table = at.dataframe[0].value
    rows = dict(zip(table[tr("region", "zh")], table[tr("status", "zh")], strict=True))
    assert rows["西北"] == "🔴 红" and rows["华东"] == "🟢 绿"
    # a rerun does not import the same upload again
    at.run()
    store = open_store(store_url)
    me = api.acting_user(store)
    assert [v["version"] for v in cycle.actuals_versions(store, me, pid)] == [1, 1]
    at.button(key="review_replan").click().run()
    assert not at.exception, [e.message for e in at.exception]
    drafts = [p for p in api.list_plans(store, me) if p["status"] == "draft"]
    assert len(drafts) == 1
    new = drafts[0]["id"]
    assert cycle.replan_link(store, me, new)["of_record"] == pid
    assert tr("replan_saved", "zh", id=new, n=2, record=pid, after="2025Q2") in _texts(
        at.success)
    # the re-plan against the plan of record: every region keeps what it has spent
    spent: dict[str, float] = {}
    for row in csv.DictReader(io.StringIO(SAMPLE.read_text("utf-8-sig"))):
        spent[row["region"]] = spent.get(row["region"], 0.0) + float(row["budget_spent"])
    stored = api.get_plan(store, me, new).pool("budget")["allocation"]
    assert all(stored[r] >= s - 0.005 for r, s in spent.items())
    diff = [df.value for df in at.dataframe if tr("of_record", "zh") in df.value.columns]
    assert len(diff) == 1 and len(diff[0]) == 14  # seven regions × two pools
    store.dispose()


def test_english_page_and_quarter_choice(store_url: str, solved, monkeypatch):
    pid = approved_plan(store_url, solved)
    store = open_store(store_url)
    cycle.import_actuals(store, api.acting_user(store), pid, SAMPLE.read_bytes(), "a.csv")
    store.dispose()
    at = _app("en", monkeypatch)
    assert at.selectbox(key="review_quarter").options == ["2025Q1", "2025Q2"]
    assert _texts(at.error)[0].startswith(
        "red · 西北: churn 18 % above the 15 % limit for the second quarter running")
    at.selectbox(key="review_quarter").set_value("2025Q1").run()
    assert _texts(at.error)[0] == "red · 西北: churn 17 % above the 15 % limit in 2025Q1"


def test_bad_upload_is_an_inline_error_and_nothing_is_imported(store_url, solved,
                                                               monkeypatch):
    pid = approved_plan(store_url, solved)
    at = _app("en", monkeypatch)
    _upload(at, "bad.csv", "region,quarter,budget_spent\n火星,2025Q1,1\n华东,2025Q1,-3\n"
            .encode())
    shown = " ".join(_texts(at.error))
    assert tr("bad_upload", "en") in shown
    assert "row 2, column 'region'" in shown and "row 3, column 'budget_spent'" in shown
    assert at.file_uploader(key="review_upload").value is not None  # the upload stays
    store = open_store(store_url)
    assert cycle.actuals_versions(store, api.acting_user(store), pid) == []
    store.dispose()


def test_a_store_that_went_away_is_a_message(store_url: str, solved, monkeypatch,
                                             tmp_path: Path):
    approved_plan(store_url, solved)
    at = _app("en", monkeypatch)
    _upload(at, "actuals.csv", SAMPLE.read_bytes())
    for f in tmp_path.glob("plans.db*"):
        f.unlink()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("is gone" in e for e in _texts(at.error))

"""The Plans page through AppTest: save, reload, open, submit, approve; team logins and
server-side role checks; a store that goes away."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from streamlit.testing.v1 import AppTest

from optimizer.store import api
from optimizer.store.db import open_store
from optimizer.words import t

APP = str(REPO / "app.py")
PASSWORD = "correct horse battery"


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'plans.db'}"
    monkeypatch.setenv("OPTIMIZER_STORE", url)
    return url


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _save(at: AppTest, name: str, period: str = "2025") -> str:
    at.text_input(key="plan_name").input(name).run()
    at.text_input(key="plan_period").input(period).run()
    at.button(key="plan_save").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at.session_state["plan_pick"]


def test_save_reload_open_submit_approve(store_url: str):
    at = _app()
    pid = _save(at, "基线")
    assert t("plans_saved", "zh", id=pid, name="基线", version=1) in [s.value for s in at.success]
    at.slider(key="hp_share").set_value(0.7).run()
    second = _save(at, "基线")
    # a new session (a reload, another browser) sees both versions
    at = _app()
    tables = [df.value for df in at.dataframe if t("col_plan_id", "zh") in df.value.columns]
    assert len(tables) == 1
    assert set(tables[0][t("col_plan_id", "zh")]) == {pid, second}
    assert sorted(tables[0][t("col_plan_version", "zh")]) == [1, 2]
    at.selectbox(key="plan_pick").set_value(second).run()
    at.button(key="plan_open").click().run()
    assert at.slider(key="hp_share").value == pytest.approx(0.7)
    at.button(key="plan_submit").click().run()
    at.button(key="plan_approve").click().run()
    store = open_store(store_url)
    me = api.acting_user(store)
    plans = {p["id"]: p for p in api.list_plans(store, me)}
    assert plans[second]["status"] == "approved" and plans[pid]["status"] == "draft"
    events = [e["action"] for e in api.history(store, me, second)]
    assert events[-3:] == ["save", "submit", "approve"]
    # the page draws the history as a timeline: one point per event, in time order
    charts = [c.proto.spec for c in at.get("vega_lite_chart")]
    timeline = [c for c in charts if t("chart_history_time", "zh") in json.loads(c).get(
        "layer", [{}])[0].get("encoding", {}).get("x", {}).get("title", "")]
    assert timeline, "no history timeline on the Plans page"
    history = next(df.value for df in at.dataframe if "action" in df.value.columns)
    assert history["action"].tolist()[-3:] == ["save", "submit", "approve"]
    # what the app stored re-solves from its stored inputs to the same numbers
    stored = api.get_plan(store, me, second)
    again = api.resolve_again(stored)
    for name, pool in again.pools.items():
        assert np.array_equal(stored.pool(name)["allocation"].to_numpy(),
                              pool.allocation.astype(float))
    store.dispose()


def test_two_sessions_saving_the_same_scenario_are_told(store_url: str):
    alice, bob = _app(), _app()
    _save(alice, "共享")
    bob.text_input(key="plan_name").input("共享").run()  # bob's page does not know alice's
    first = alice.session_state["plan_pick"]
    # bob's page was drawn before alice saved: his save is based on nothing
    bob.session_state["plans_seen"] = {}
    bob.button(key="plan_save").click().run()
    conflict = bob.session_state["plans_conflict"]
    assert conflict["theirs"] == first and conflict["version"] == 1
    assert any("共享" in w.value for w in bob.warning)
    bob.button(key="plans_compare_conflict").click().run()
    assert (bob.session_state["cmp_a"], bob.session_state["cmp_b"]) == (first,
                                                                        conflict["mine"])


def test_team_store_needs_a_login_and_checks_roles(store_url: str):
    store = open_store(store_url)
    api.init_store(store, team=True, admin=("ada", PASSWORD))
    admin = api.acting_user(store, "ada", PASSWORD)
    api.create_user(store, admin, "pia", PASSWORD, "planner")
    store.dispose()
    at = _app()
    assert not [b for b in at.button if b.key == "plan_save"]  # nothing before a login
    at.text_input(key="login_user").input("pia").run()
    at.text_input(key="login_password").input("wrong password").run()
    at.button(key="login_button").click().run()
    assert any("wrong user name or password" in e.value for e in at.error)
    at.text_input(key="login_password").input(PASSWORD).run()
    at.button(key="login_button").click().run()
    pid = _save(at, "团队")
    at.button(key="plan_submit").click().run()
    at.button(key="plan_approve").click().run()  # the button is there; the store says no
    assert any("may not approve" in e.value for e in at.error)
    store = open_store(store_url)
    planner = api.acting_user(store, "pia", PASSWORD)
    assert {p["id"]: p for p in api.list_plans(store, planner)}[pid]["status"] == "submitted"
    store.dispose()


def test_store_gone_is_a_message_and_the_typed_name_stays(store_url: str, tmp_path: Path):
    at = _app()
    _save(at, "在")
    (tmp_path / "plans.db").unlink()
    at.text_input(key="plan_name").input("还在")
    at.button(key="plan_save").click().run()
    assert not at.exception
    assert any("is gone" in e.value for e in at.error)
    at.run()  # and on the next rerun too: the message, and the typed name still there
    assert any("is gone" in e.value for e in at.error)
    assert at.text_input(key="plan_name").value == "还在"

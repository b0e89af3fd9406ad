"""The Plans page of the workbench: the plan store in the browser.

Every action calls `optimizer.store.api`, which checks the acting user's role on the
server side; the page only shows what the store returns. Store failures are messages
(`st.error`); typed text stays in its widgets.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from optimizer import InputError, Scenario, scenario_from_text, scenario_to_toml, t
from optimizer.app import charts
from optimizer.store import api
from optimizer.store.auth import Actor
from optimizer.store.db import Store, open_store

ENV_STORE = "OPTIMIZER_STORE"


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    return open_store(url or None)


def get_store() -> Store:
    """The store this server uses ($OPTIMIZER_STORE, else ./data/plans.db), opened once."""
    return _store(os.environ.get(ENV_STORE, ""))


def _problems(e: InputError) -> str:
    return "; ".join(p.message if p.file in ("plan", "permission") else str(p)
                     for p in e.problems)


def current_actor() -> Actor | None:
    """The acting user: the OS user on a local store, the logged-in user on a team store."""
    ss = st.session_state
    if ss.get("store_actor") is not None:
        return ss["store_actor"]
    store = get_store()
    if api.store_mode(store) == "local":
        ss["store_actor"] = api.acting_user(store)
        return ss["store_actor"]
    return None


def _login() -> None:
    ss = st.session_state
    try:
        ss["store_actor"] = api.acting_user(get_store(), ss.get("login_user") or None,
                                            ss.get("login_password") or "")
        ss["login_password"] = ""
        ss["plans_msg"] = None
    except InputError as e:
        ss["plans_msg"] = ("error", "plans_error", {"text": _problems(e)})


def _logout() -> None:
    st.session_state["store_actor"] = None


def plans_frame(plans: list[dict[str, Any]], lang: str) -> pd.DataFrame:
    """The store's plans as the page's table (newest first, labels in `lang`)."""
    cols = ("id", "name", "version", "period", "status", "author", "created_at", "comment")
    keys = ("col_plan_id", "col_plan_name", "col_plan_version", "col_plan_period",
            "col_plan_status", "col_plan_author", "col_plan_created", "col_plan_comment")
    status = {s: t(f"status_{s}", lang) for s in
              ("draft", "submitted", "approved", "superseded", "rejected")}
    frame = pd.DataFrame({t(k, lang): [p[c] if c != "status" else status[p[c]]
                                       for p in plans] for c, k in zip(cols, keys, strict=True)})
    return frame


def plan_label(p: dict[str, Any]) -> str:
    """'基线 v2 · 2025 · k7m2qx3a' (no status: a label that changes resets the picker)."""
    return " · ".join(x for x in (f"{p['name']} v{p['version']}", p["period"] or "", p["id"])
                      if x)


def plans_by_id(lang: str) -> dict[str, dict[str, Any]] | None:
    """Every plan by id (None when no one is logged in or the store cannot be read)."""
    actor = current_actor()
    if actor is None:
        return None
    try:
        return {p["id"]: p for p in api.list_plans(get_store(), actor)}
    except InputError as e:
        st.error(t("plans_error", lang, text=_problems(e)))
        return None


def stored_scenario(plan_id: str) -> Scenario:
    """The scenario of a stored plan."""
    stored = api.get_plan(get_store(), current_actor(), plan_id)
    return scenario_from_text(stored.scenario_toml, f"plan {plan_id}")


def _save(result: Any, load_regions_bytes: Callable[[], tuple[bytes, str]]) -> None:
    """Button callback: store the current plan as a new version of the typed name."""
    ss = st.session_state
    name = str(ss.get("plan_name") or "").strip()
    if not name:
        ss["plans_msg"] = ("warning", "save_empty", {})
        return
    if result is None:
        ss["plans_msg"] = ("warning", "plans_not_solved", {})
        return
    try:
        data, filename = load_regions_bytes()
        files, summary = api.plan_files_of(result, {})
        base = ss.get("plan_base") or {}
        out = api.save_plan(get_store(), current_actor(), name=name, regions_data=data,
                            regions_filename=filename,
                            scenario_toml=scenario_to_toml(result.scenario), result=result,
                            files=files, summary=summary, period=ss.get("plan_period") or None,
                            comment=ss.get("plan_comment") or "",
                            based_on=base.get(name) or _seen_latest(name))
    except InputError as e:
        ss["plans_msg"] = ("error", "plans_error", {"text": _problems(e)})
        return
    ss["plan_base"] = {**base, name: out.version_id}
    ss["plan_pick"] = out.plan_id
    ss["plans_msg"] = ("success", "plans_saved", {"id": out.plan_id, "name": name,
                                                  "version": out.number})
    if out.in_between is not None:
        ib = out.in_between
        ss["plans_conflict"] = {"mine": out.plan_id, "theirs": ib.plan_id, "author": ib.author,
                                "name": name, "version": ib.number, "id": ib.plan_id}


def _seen_latest(name: str) -> str | None:
    """The newest version of `name` the page showed, so a save in between is noticed."""
    return (st.session_state.get("plans_seen") or {}).get(name)


def _open(load_scenario: Callable[[Scenario], None]) -> None:
    ss = st.session_state
    pid = ss.get("plan_pick")
    if not pid:
        return
    try:
        stored = api.get_plan(get_store(), current_actor(), pid)
        load_scenario(scenario_from_text(stored.scenario_toml, f"plan {pid}"))
    except InputError as e:
        ss["plans_msg"] = ("error", "plans_error", {"text": _problems(e)})
        return
    ss["plan_name"] = stored.info["name"]
    ss["plan_period"] = stored.info["period"] or ""
    ss["plan_base"] = {**(ss.get("plan_base") or {}), stored.info["name"]:
                       stored.info["version_id"]}
    ss["plans_msg"] = ("success", "plans_opened", {"id": pid})


def _transition(action: str) -> None:
    ss = st.session_state
    pid = ss.get("plan_pick")
    if not pid:
        return
    try:
        out = api.change_status(get_store(), current_actor(), pid, action,
                                ss.get("plan_action_comment") or "")
    except InputError as e:
        ss["plans_msg"] = ("error", "plans_error", {"text": _problems(e)})
        return
    ss["plan_action_comment"] = ""
    ss["plans_msg"] = ("success", "plans_status_changed", {"id": pid, "status": out["status"]})


def _compare(conflict: dict[str, str]) -> None:
    ss = st.session_state
    ss["cmp_a"], ss["cmp_b"] = conflict["theirs"], conflict["mine"]
    ss["plans_conflict"] = None


def plans_tab(result: Any, load_regions_bytes: Callable[[], tuple[bytes, str]],
              load_scenario: Callable[[Scenario], None], lang: str) -> None:
    """The Plans page: log in (team stores), save, list, open, approve, history."""
    ss = st.session_state
    st.caption(t("plans_help", lang))
    try:
        store = get_store()
        mode = api.store_mode(store)
        actor = current_actor()
    except InputError as e:
        st.error(t("plans_error", lang, text=_problems(e)))
        _inputs(lang)  # what the planner typed stays on the page until the store is back
        return
    if actor is None:
        st.subheader(t("plans_login", lang))
        st.text_input(t("plans_user", lang), key="login_user")
        st.text_input(t("plans_password", lang), key="login_password", type="password")
        st.button(t("plans_login_button", lang), key="login_button", on_click=_login)
        _message(lang)
        return
    st.caption(t("plans_store", lang, store=store.label, mode=t(f"plans_mode_{mode}", lang),
                 user=actor.name))
    if mode == "team":
        st.button(t("plans_logout", lang), key="logout_button", on_click=_logout)
    _inputs(lang)
    st.button(t("plans_save", lang), key="plan_save", on_click=_save,
              args=(result, load_regions_bytes))
    _message(lang)
    conflict = ss.get("plans_conflict")
    if conflict:
        st.warning(t("plans_in_between", lang, **{k: conflict[k] for k in
                                                  ("author", "name", "version", "id")}))
        st.button(t("plans_compare_in_between", lang), key="plans_compare_conflict",
                  on_click=_compare, args=(conflict,))
    plans = plans_by_id(lang)
    if plans is None:
        return
    seen: dict[str, str] = {}
    for p in plans.values():  # newest first: the first seen of a name is its latest version
        seen.setdefault(p["name"], p["version_id"])
    ss["plans_seen"] = seen
    if not plans:
        st.info(t("plans_none", lang))
        return
    st.dataframe(plans_frame(list(plans.values()), lang), hide_index=True, width="stretch",
                 key="plans_table")
    if ss.get("plan_pick") not in plans:
        ss["plan_pick"] = next(iter(plans))
    st.selectbox(t("plans_pick", lang), list(plans), key="plan_pick",
                 format_func=lambda pid: plan_label(plans[pid]))
    st.text_input(t("plans_action_comment", lang), key="plan_action_comment")
    b = st.columns(4)
    b[0].button(t("plans_open", lang), key="plan_open", on_click=_open, args=(load_scenario,))
    for col, action in zip(b[1:], ("submit", "approve", "reject"), strict=True):
        col.button(t(f"plans_{action}", lang), key=f"plan_{action}", on_click=_transition,
                   args=(action,))
    st.subheader(t("plans_history", lang))
    try:
        events = api.history(store, actor, ss["plan_pick"])
    except InputError as e:
        st.error(t("plans_error", lang, text=_problems(e)))
        return
    table = pd.DataFrame([{"time": e["at"], "user": e["actor"], "action": e["action"],
                           "comment": (e["detail"] or {}).get("comment", "")} for e in events],
                         columns=["time", "user", "action", "comment"])
    if len(table):
        st.altair_chart(charts.history_chart(table, lang), width="stretch")
    st.dataframe(table, hide_index=True, width="stretch", key="plans_history")


def _inputs(lang: str) -> None:
    c1, c2, c3 = st.columns([2, 1, 2], vertical_alignment="bottom")
    c1.text_input(t("save_name", lang), key="plan_name")
    c2.text_input(t("plans_period", lang), key="plan_period")
    c3.text_input(t("plans_comment", lang), key="plan_comment")


def _message(lang: str) -> None:
    msg = st.session_state.pop("plans_msg", None)
    if msg:
        kind, key, kw = msg
        getattr(st, kind)(t(key, lang, **kw))

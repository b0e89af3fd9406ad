"""The Review page of the workbench: the quarterly cycle on the plan store.

Pick a period's plan of record, upload the actuals (imported into the store as a new
version of each quarter in the file), see the alarms first, the traffic-light table and
spending against the phased plan, and re-plan the rest of the year from the actuals (saved
as a draft plan linked to the plan of record). Every action goes through
`optimizer.store.cycle`, which checks the acting user's role in the store; failures are
messages (`st.error`), and the uploaded file stays in its widget.
"""

from __future__ import annotations

import hashlib
import logging
import math
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from optimizer import InputError, Status, fmt, t
from optimizer.app import charts
from optimizer.app import viewmodel as vm
from optimizer.app.plans import current_actor, get_store, plan_label
from optimizer.store import api, cycle
from optimizer.words import choose, pool_label

log = logging.getLogger(__name__)

MAX_UPLOAD_MB = 50

# The page's texts, (English, Chinese); the rest of the app's texts live in optimizer.i18n.
LIGHTS = {"red": ("🔴 red", "🔴 红"), "amber": ("🟡 amber", "🟡 黄"),
          "green": ("🟢 green", "🟢 绿")}
INDICATOR_LABELS = {"churn_rate": ("Churn", "客户流失率"),
                    "digital_tool_use": ("Digital tool use", "数字工具使用率"),
                    "response_days": ("Response days", "跨部门响应天数"),
                    "repurchase_rate": ("Repurchase rate", "复购率"),
                    "customer_ltv": ("Customer LTV", "客户终身价值")}


def tr(key: str, lang: str, **kw: object) -> str:
    """The page's text `key` in `lang` (i18n's `rv_` keys), formatted with `kw`."""
    return t(f"rv_{key}", lang, **kw)


def _pick(pair: tuple[str, str], lang: str) -> str:
    return choose(lang, *pair)


def _problems(e: InputError, lang: str) -> str:
    return "; ".join(p.render(lang) if p.file not in ("plan", "permission") else p.message
                     for p in e.problems)


# --------------------------------------------------------------------------- pure views

def _amount(integer: bool, v: Any, lang: str, signed: bool = False) -> str:
    return fmt.fmt_amount(v, lang, people=integer, signed=signed)


def traffic_table(rv: Any, lang: str) -> pd.DataFrame:
    """The review as the page shows it: one row per region, its light and its reasons."""
    tb = rv.table
    out = pd.DataFrame(index=tb.index)
    out[tr("region", lang)] = tb["region"]
    out[tr("status", lang)] = tb["status"].map(lambda s: _pick(LIGHTS[s], lang))
    for p, integer in rv.pools.items():
        label = pool_label(p, lang)
        for key, col, signed in (("plan", "plan", False), ("plan_to_date", "plan_to_date", False),
                                 ("actual", "actual", False), ("variance", "variance", True)):
            out[tr(key, lang, pool=label)] = tb[f"{p}_{col}"].map(
                lambda v, i=integer, s=signed: _amount(i, v, lang, s))
        out[tr("used", lang, pool=label)] = tb[f"{p}_used_pct"].map(fmt.fmt_pct)
    out[tr("revenue", lang)] = tb["revenue_to_date"].map(lambda v: _amount(False, v, lang))
    out[tr("per_person", lang)] = tb["revenue_per_person"].map(lambda v: _amount(False, v, lang))
    out[tr("per_wan", lang)] = tb["revenue_per_wan_spent"].map(
        lambda v: fmt.DASH if pd.isna(v) else f"{v:,.0f}")
    for col, pair in INDICATOR_LABELS.items():
        if col in tb.columns:
            shown = (lambda v: fmt.DASH if pd.isna(v) else f"{v:g}") if col in (
                "response_days", "customer_ltv") else fmt.fmt_pct
            out[_pick(pair, lang)] = tb[col].map(shown)
    out[tr("reasons", lang)] = tb[choose(lang, "alarms_en", "alarms_zh")]
    return out


def spending_long(series: pd.DataFrame, pool: str, region: str, lang: str) -> pd.DataFrame:
    """One pool's cumulative plan and actual per quarter (region "" = all) in long form."""
    s = series[(series["pool"] == pool) & (series["region"] == region)]
    rows = []
    for r in s.itertuples(index=False):
        rows.append({"quarter": r.quarter, "series": tr("series_plan", lang), "amount": r.plan})
        if not (isinstance(r.actual, float) and math.isnan(r.actual)):
            rows.append({"quarter": r.quarter, "series": tr("series_actual", lang),
                         "amount": r.actual})
    return pd.DataFrame(rows, columns=["quarter", "series", "amount"])


def spending_chart(series: pd.DataFrame, pool: str, region: str, lang: str) -> alt.Chart:
    """A line per series: the phased plan (dashed) and the actual to date, by quarter."""
    long = spending_long(series, pool, region, lang)
    plan, actual = tr("series_plan", lang), tr("series_actual", lang)
    title = tr("chart_title", lang, pool=pool_label(pool, lang))
    if region:
        title = f"{title} · {region}"
    return (alt.Chart(long, title=title).mark_line(point=True).encode(
        x=alt.X("quarter:N", title=tr("col_quarter", lang), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("amount:Q", title=tr("col_amount", lang)),
        color=alt.Color("series:N", title=None, scale=alt.Scale(domain=[plan, actual])),
        strokeDash=alt.StrokeDash("series:N", legend=None,
                                  scale=alt.Scale(domain=[plan, actual],
                                                  range=[[6, 4], [1, 0]])),
        tooltip=["quarter", "series", alt.Tooltip("amount:Q", format=",.0f")],
    ).properties(width="container", height=260))


def replan_frame(rp: Any, lang: str) -> pd.DataFrame:
    """The re-plan against the plan of record, one row per region and pool, for the page."""
    from optimizer.cycle.replan import diff_table

    d = diff_table(rp)
    integer = {p: r.integer for p, r in rp.result.pools.items()}
    out = pd.DataFrame(index=d.index)
    out[tr("region", lang)] = d["region"]
    out[tr("pool", lang)] = d["pool"].map(lambda p: vm.pool_title(rp.result.scenario, str(p),
                                                                  lang))
    for key, col, signed in (("of_record", "of_record", False), ("replanned", "replan", False),
                             ("change", "change", True), ("to_date", "to_date", False),
                             ("remaining", "remaining", False)):
        out[tr(key, lang)] = [_amount(integer[p], v, lang, signed)
                              for p, v in zip(d["pool"], d[col], strict=True)]
    out[tr("change", lang) + " %"] = d["change_pct"].map(fmt.fmt_signed_pct)
    return out


# --------------------------------------------------------------------------- actions

def _import(pid: str, upload: Any, lang: str) -> None:
    """Import an upload once (into the plan picked when it was uploaded); a file that was
    not imported shows its problems on every run while it stays in the widget."""
    ss = st.session_state
    done = ss.setdefault("review_imported", {})
    data = upload.getvalue()
    key = f"{getattr(upload, 'file_id', '')}:{hashlib.sha256(data).hexdigest()}"
    if key in done:
        if done[key]["plan"] == pid:
            st.success(done[key]["text"])
        return
    try:
        got = cycle.import_actuals(get_store(), current_actor(), pid, data, upload.name)
    except InputError as e:
        st.error(tr("bad_upload", lang) + "\n\n" + vm.problems_markdown(e.problems, lang))
        return
    quarters = ", ".join(tr("version", lang, quarter=q.quarter, n=q.number) for q in got)
    done[key] = {"plan": pid, "text": tr("imported", lang, file=upload.name,
                                           quarters=quarters)}
    ss.pop("review_replan_state", None)  # a re-plan shown was made from the earlier actuals
    st.success(done[key]["text"])


def _replan(pid: str, after: int) -> None:
    """Button callback: re-plan, save the draft, keep the outcome for the result view."""
    ss = st.session_state
    try:
        out = cycle.replan_plan(get_store(), current_actor(), pid, after)
    except InputError as e:
        ss["review_replan_state"] = {"plan": pid, "error": e}
        return
    except Exception as e:  # a bug or a solver failure: a message, never a traceback
        log.exception("re-plan failed")
        ss["review_replan_state"] = {"plan": pid, "internal": f"{type(e).__name__}: {e}"}
        return
    ss["review_replan_state"] = {"plan": pid, "outcome": out}


def _replan_view(state: dict[str, Any], lang: str) -> None:
    """The re-plan in the usual result view, against the plan of record."""
    if "error" in state:
        st.error(tr("error", lang, text=_problems(state["error"], lang)))
        return
    if "internal" in state:
        st.error(tr("internal", lang, error=state["internal"]))
        return
    out = state["outcome"]
    rp, result = out.replan, out.replan.result
    st.subheader(tr("replan_result", lang))
    if out.saved is None:
        st.error(tr("replan_infeasible", lang, after=rp.label))
        for line in vm.diagnosis_lines(result, lang):
            st.error(line)
    else:
        st.success(tr("replan_saved", lang, id=out.saved.plan_id, n=out.saved.number,
                      record=out.of_record, after=rp.label))
    cols = st.columns(min(len(result.pools), 4))
    for col, fig in zip(cols * len(result.pools), vm.pool_figures(result, lang), strict=False):
        col.metric(fig["label"], fig["value"], delta=fig["delta"])
        col.caption(fig["caption"])
    if result.notes:
        st.info("\n".join(f"- {n(lang)}" for n in result.notes))
    if result.status != Status.OPTIMAL:
        return
    st.markdown("\n".join(f"- {line}" for line in vm.binding_lines(result, lang)))
    with st.container(key="review_replan_table"):
        st.dataframe(replan_frame(rp, lang), hide_index=True, width="stretch")
    with st.container(key="review_replan_allocation"):
        st.dataframe(vm.display_allocation(result, lang), hide_index=True, width="stretch")
    st.caption(tr("replan_caption", lang))
    for p in result.pools:
        st.altair_chart(charts.pool_chart(vm.pool_table(result, p), p, lang,
                                          label=vm.pool_title(result.scenario, p, lang)),
                        width="stretch")


# --------------------------------------------------------------------------- page

def review_page(lang: str) -> None:
    """The Review page: plan of record, upload, alarms, traffic lights, charts, re-plan."""
    ss = st.session_state
    st.caption(tr("help", lang))
    try:
        store = get_store()
        actor = current_actor()
        if actor is None:
            st.info(tr("login", lang))
            return
        plans = api.list_plans(store, actor, status="approved")
    except InputError as e:
        st.error(tr("error", lang, text=_problems(e, lang)))
        return
    if not plans:
        st.info(tr("no_record", lang))
        return
    by_id = {p["id"]: p for p in plans}
    if ss.get("review_plan") not in by_id:
        ss["review_plan"] = plans[0]["id"]
    pid = st.selectbox(tr("pick", lang), list(by_id), key="review_plan",
                       format_func=lambda i: plan_label(by_id[i]))
    upload = st.file_uploader(tr("upload", lang), type=["csv", "txt", "tsv", "xlsx"],
                              key="review_upload", max_upload_size=MAX_UPLOAD_MB)
    if upload is not None:
        _import(pid, upload, lang)
    try:
        versions = cycle.actuals_versions(store, actor, pid)
    except InputError as e:
        st.error(tr("error", lang, text=_problems(e, lang)))
        return
    quarters = sorted({v["quarter"] for v in versions})
    if not quarters:
        st.info(tr("no_actuals", lang))
        return
    if ss.get("review_quarter") not in quarters:
        ss["review_quarter"] = quarters[-1]
    label = st.selectbox(tr("quarter", lang), quarters, key="review_quarter")
    q = int(label[-1])
    try:
        rv = cycle.review_plan(store, actor, pid, q)
    except InputError as e:
        st.error(tr("error", lang, text=_problems(e, lang)))
        return

    st.subheader(tr("alarms", lang))
    with st.container(key="review_alarms"):
        if not rv.alarms:
            st.success(tr("no_alarms", lang, quarter=rv.label))
        for a in rv.alarms:
            icon, word = _pick(LIGHTS[a.level], lang).split(" ", 1)
            (st.error if a.level == "red" else st.warning)(f"{word} · {a.text(lang)}",
                                                           icon=icon)
    counts = {lv: sum(1 for s in rv.status.values() if s == lv) for lv in LIGHTS}
    st.caption(tr("counts", lang, quarter=rv.label, **counts))
    if rv.notes:
        st.info("\n".join(f"- {n(lang)}" for n in rv.notes))

    st.subheader(tr("table", lang))
    with st.container(key="review_table"):
        st.dataframe(traffic_table(rv, lang), hide_index=True, width="stretch")
    from optimizer.cycle.review import review_csv_bytes, review_xlsx_bytes

    d1, d2 = st.columns(2)
    d1.download_button(tr("download_csv", lang), review_csv_bytes(rv), "review.csv",
                       "text/csv", key="review_csv")
    d2.download_button(tr("download_xlsx", lang), review_xlsx_bytes(rv), "review.xlsx",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key="review_xlsx")

    st.subheader(tr("spending", lang))
    region = st.selectbox(tr("region", lang), ["", *rv.regions], key="review_region",
                          format_func=lambda r: r or tr("all_regions", lang))
    for p in rv.pools:
        st.altair_chart(spending_chart(rv.series, p, region, lang), width="stretch")

    st.button(tr("replan", lang), key="review_replan", type="primary", on_click=_replan,
              args=(pid, q), help=tr("replan_help", lang))
    state = ss.get("review_replan_state")
    if state and state.get("plan") == pid:
        _replan_view(state, lang)

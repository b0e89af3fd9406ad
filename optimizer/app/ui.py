"""The planner's workbench: the Streamlit view over the engine.

The view only collects widget values, calls package functions and renders what they
return: `viewmodel` turns widgets into a Scenario and results into tables, `plan`
computes, `charts` draws, `whatif` sweeps and compares, `export` makes the files.
Users see messages (`st.error`), never a traceback; the last valid result stays on
screen while the input has errors, and uploaded or typed data is kept in session state.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from optimizer import (
    InputError,
    PathResult,
    PlanResult,
    Problem,
    Scenario,
    Status,
    fmt,
    load_scenario,
    read_regions,
    regions_from_bytes,
    run_path,
    run_plan,
    scenario_to_toml,
    t,
    validate_regions,
)
from optimizer.app import charts
from optimizer.app import editors as ed
from optimizer.app import plans as ui_plans
from optimizer.app import review as ui_review
from optimizer.app import viewmodel as vm
from optimizer.inputs.scenario import DIMENSIONS, POOLS
from optimizer.inputs.scenario_read import POOL_KINDS, scenario_from_bytes
from optimizer.inputs.template import template_files
from optimizer.report import export
from optimizer.studies import whatif
from optimizer.studies.sensitivity import (
    MODES,
    default_workers,
    run_sensitivity,
    sensitivity_csv_bytes,
)
from optimizer.words import DEFAULT_LANG, LANG_NAMES, LANGS, dimension_label, pool_label

log = logging.getLogger(__name__)

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "inputs"
SAMPLE_REGIONS = SAMPLE_DIR / "regions.csv"
SAMPLES = {"single": "scenario.toml", "groups": "groups.toml", "path": "plan_2024_2026.toml",
           "roles": "roles_2024.toml"}
MAX_UPLOAD_MB = 50
SWEEP_AUTO_MAX_REGIONS = 200  # above this, the weight sweep starts switched off
CURRENT = "__current__"  # the compare selectboxes' entry for the current settings
METRICS_PER_ROW = 4  # with many pools, the share metrics wrap in rows of this many

_HASH = {Scenario: scenario_to_toml}


# --------------------------------------------------------------------------- cached work

@st.cache_data(show_spinner=False)
def _sample(name: str = "single") -> tuple[pd.DataFrame, Scenario]:
    """A bundled sample (the regions table and one of the scenarios), read once per server."""
    scenario = load_scenario(SAMPLE_DIR / SAMPLES.get(name, SAMPLES["single"]))
    return read_regions(SAMPLE_REGIONS, scenario), scenario


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=_HASH)
def _plan(regions: pd.DataFrame, scenario: Scenario, file: str,
          explain: bool = False) -> PlanResult:
    """The plan; `explain` adds the price of each binding rule (extra solves, done after
    the table is on screen)."""
    return run_plan(regions, scenario, file, explain=explain)


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=_HASH)
def _path(regions: pd.DataFrame, scenario: Scenario, file: str) -> PathResult:
    """The multi-year plan of a scenario with [[years]]."""
    return run_path(regions, scenario, file)


@st.cache_data(show_spinner=False, max_entries=8)
def _validate(raw: pd.DataFrame, key: str, file: str, _scenario: Scenario) -> pd.DataFrame:
    """`validate_regions`, computed again only when the table or `key` changes.

    `key` (`editors.validation_key`) holds every part of the scenario that validation
    reads, so that moving a weight slider does not validate 2,000 rows again.
    """
    return validate_regions(raw, _scenario, file)


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=_HASH)
def _sweep(regions: pd.DataFrame, scenario: Scenario, dimension: str,
           values: tuple[float, ...], file: str) -> pd.DataFrame:
    return whatif.weight_sweep(regions, scenario, dimension, values, file)


# --------------------------------------------------------------------------- drawing

def _altair(where: Any, chart: Any, **kwargs: Any) -> None:
    """`where.altair_chart(chart, **kwargs)`, without checking the spec against the
    Vega-Lite schema on every rerun.

    The check costs about as much as the rest of drawing a chart, a dozen times per
    slider move; the chart builders' specs are checked by the tests (tests/test_charts.py
    converts each with validation).
    """
    object.__setattr__(chart, "to_dict", functools.partial(type(chart).to_dict, chart,
                                                           validate=False))
    where.altair_chart(chart, **kwargs)


# --------------------------------------------------------------------------- state

def _ss() -> Any:
    return st.session_state


def _load_data(regions: pd.DataFrame, name: str) -> None:
    """Make `regions` the table the editor starts from."""
    ss = _ss()
    ss["source"] = regions
    ss["source_name"] = name
    ss["sweep_on"] = len(regions) <= SWEEP_AUTO_MAX_REGIONS


def _load_scenario(scenario: Scenario) -> None:
    """Make `scenario` the base and move every widget to it."""
    ss = _ss()
    ss["base_scenario"] = scenario
    ss.update(vm.controls_from_scenario(scenario, ss.get("source")))
    # the years and pools tables start again from the scenario's years and pools
    for key, frame in (("years_editor", ed.years_frame), ("pools_editor", ed.pools_frame)):
        ss.pop(key, None)
        ss.pop(f"{key}_edited", None)
        ss[f"{key}_data"] = frame(scenario)


def _editor_data(key: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The table an editor starts from: what the scenario holds, or what was typed before a
    language switch (which redraws the editor with new headers, as a new widget)."""
    data = _ss().get(f"{key}_data")
    return frame if data is None else data


def _keep_edits() -> None:
    """Language callback: the edited years and pools become the tables the editors start
    from, so that the redrawn editors keep every cell typed (valid or not)."""
    ss = _ss()
    for key in ("years_editor", "pools_editor"):
        edited = ss.get(f"{key}_edited")
        if edited is not None:
            ss[f"{key}_data"] = edited.reset_index(drop=True)
            ss.pop(key, None)


def _init_state() -> None:
    ss = _ss()
    if "base_scenario" in ss:
        return
    ss["lang"] = DEFAULT_LANG
    ss["sample"] = "single"
    ss["last_result"] = None
    ss["startup_error"] = None
    try:
        regions, scenario = _sample()
    except InputError as e:
        ss["startup_error"] = e.problems
        ss["source"] = None
        ss["source_name"] = ""
        ss["sweep_on"] = False
        _load_scenario(Scenario())
        return
    _load_data(regions, "inputs/regions.csv")
    _load_scenario(scenario)


def _reset_sample() -> None:
    """Button and sample-choice callback: load the chosen bundled sample (data and settings)."""
    try:
        regions, scenario = _sample(_ss().get("sample", "single"))
    except InputError as e:
        _ss()["startup_error"] = e.problems
        return
    _load_data(regions, "inputs/regions.csv")
    _load_scenario(scenario)


def _apply_share(share: float) -> None:
    """Button callback: apply the largest feasible high-potential share."""
    _ss()["hp_share"] = float(share)


def _apply_changes(scenario: Scenario | None, changes: dict[str, Any]) -> None:
    """Button callback: load `scenario` with `changes` (e.g. the change limits a path needs;
    an added pool's `<name>_max_change` sets that pool's own limit)."""
    if scenario is not None:
        _load_scenario(vm.apply_limits(scenario, changes))


def _load_saved() -> None:
    """Button callback: move the widgets to stored plan A."""
    ss = _ss()
    pid = ss.get("cmp_a")
    if pid and pid != CURRENT:
        try:
            _load_scenario(ui_plans.stored_scenario(pid))
        except InputError as e:
            ss["save_message"] = ("error", "plans_error",
                                  {"text": "; ".join(p.message for p in e.problems)})


def _regions_bytes(result: PlanResult | None) -> tuple[bytes, str]:
    """The regions table a plan was solved on, as CSV bytes for the store."""
    assert result is not None
    return result.regions.to_csv(index=False).encode("utf-8-sig"), "regions.csv"


def _keep_choices() -> None:
    """Language callback: re-store the choices whose option labels are translated.

    A radio or selectbox sends its *label* back to the server; after a language switch
    the old label matches no option and the widget would fall back to its first option.
    Writing each value back (read with the old labels) keeps the planner's choices.
    """
    ss = _ss()
    for key in list(ss):
        if str(key).startswith(_TRANSLATED_CHOICES):
            ss[key] = ss[key]
    _keep_edits()


_TRANSLATED_CHOICES = ("ind_dir_", "hp_rule", "sweep_dim", "cmp_a", "cmp_b", "sample",
                       "sens_mode", "pool_pick")


# --------------------------------------------------------------------------- sidebar

def _uploads(lang: str) -> None:
    """The two uploaders; a new file is parsed once (no code runs) and loaded if valid."""
    ss = _ss()
    sb = st.sidebar
    sb.subheader(t("sec_data", lang))
    up = sb.file_uploader(t("upload_regions", lang, mb=MAX_UPLOAD_MB),
                          type=["csv", "txt", "tsv", "xlsx"],
                          key="up_regions", max_upload_size=MAX_UPLOAD_MB)
    if up is None:
        ss["reg_upload"] = None
    elif (ss.get("reg_upload") or {}).get("id") != up.file_id:
        state: dict[str, Any] = {"id": up.file_id, "name": up.name, "problems": None}
        # Checked without the high-potential rule: a table without the column is loaded,
        # and the rule switches to the threshold (the planner can switch it back).
        lenient = ss["base_scenario"].with_changes(hp_rule=None)
        try:
            regions = regions_from_bytes(up.getvalue(), up.name, lenient)
        except InputError as e:
            state["problems"] = e.problems
        else:
            _load_data(regions, up.name)
            ss["hp_rule"] = vm.hp_rule_for_table(ss.get("hp_rule"), ss["base_scenario"],
                                                 regions)
        ss["reg_upload"] = state

    sup = sb.file_uploader(t("upload_scenario", lang, mb=MAX_UPLOAD_MB), type=["toml"],
                           key="up_scenario", max_upload_size=MAX_UPLOAD_MB)
    if sup is None:
        ss["scn_upload"] = None
    elif (ss.get("scn_upload") or {}).get("id") != sup.file_id:
        state = {"id": sup.file_id, "name": sup.name, "problems": None}
        try:
            _load_scenario(scenario_from_bytes(sup.getvalue(), sup.name))
        except InputError as e:
            state["problems"] = e.problems
        ss["scn_upload"] = state
    template = template_files(lang)
    for name, data in template.items():
        sb.download_button(t("dl_template", lang, file=name), data, file_name=name,
                           key=f"dl_{name.replace('.', '_')}", on_click="ignore")
    samples = [k for k, f in SAMPLES.items() if (SAMPLE_DIR / f).exists()]
    sb.selectbox(t("sample", lang), samples, format_func=lambda k: t(f"sample_{k}", lang),
                 key="sample", on_change=_reset_sample)
    sb.button(t("reset_sample", lang), key="reset_sample", on_click=_reset_sample)


def _sliders(lang: str) -> dict[str, Any]:
    """Every setting widget; returns their values by key."""
    ss = _ss()
    base: Scenario = ss["base_scenario"]
    sb = st.sidebar
    keys: list[str] = []

    sb.subheader(t("sec_weights", lang), help=t("weights_help", lang))
    for d in DIMENSIONS:
        sb.slider(dimension_label(d, lang), 0.0, 1.0, step=0.01, key=vm.weight_key(d))
        keys.append(vm.weight_key(d))

    with sb.expander(t("sec_indicators", lang)):
        top = vm.indicator_slider_max(base)
        for name, ind in base.indicators.items():
            label = vm.indicator_caption(name, ind, lang)
            st.slider(t("ind_weight", lang, name=label), 0.0, top, step=0.1,
                      key=vm.ind_weight_key(name))
            st.radio(t("ind_direction", lang, name=label), ["higher", "lower"],
                     format_func=lambda v: t(f"dir_{v}", lang), horizontal=True,
                     key=vm.ind_dir_key(name), label_visibility="collapsed")
            keys += [vm.ind_weight_key(name), vm.ind_dir_key(name)]

    sb.subheader(t("sec_hp", lang))
    sb.slider(t("hp_share", lang), 0.0, 1.0, step=0.01, format="percent",
              help=t("hp_share_help", lang), key="hp_share")
    sb.radio(t("hp_rule", lang), ["column", "threshold"],
             format_func=lambda v: t(f"rule_{v}", lang), key="hp_rule")
    sb.slider(t("hp_threshold", lang), 0.0, 1.0, step=0.01, key="hp_threshold",
              disabled=ss.get("hp_rule") != "threshold")
    keys += ["hp_share", "hp_rule", "hp_threshold"]

    sb.subheader(t("sec_totals", lang))
    current = vm.current_totals(ss.get("source"))
    sb.number_input(t("total_headcount", lang), min_value=0, step=1, value=None,
                    placeholder=t("total_placeholder", lang, current=current["headcount"]),
                    key=vm.total_key("headcount"))
    sb.number_input(t("total_budget", lang), min_value=0.0, step=1_000_000.0, format="%.2f",
                    value=None, placeholder=t("total_placeholder", lang,
                                              current=current["budget"]),
                    key=vm.total_key("budget"))
    keys += [vm.total_key(p) for p in POOLS]

    sb.subheader(t("sec_limits", lang))
    for p in POOLS:
        sb.checkbox(t("limit_on", lang, pool=pool_label(p, lang)), key=vm.limit_on_key(p))
        top = vm.limit_slider_max(ss.get(vm.limit_key(p)))
        sb.slider(t("limit_value", lang, pool=pool_label(p, lang)), 0.0, top, step=0.01,
                  format="percent", key=vm.limit_key(p), disabled=not ss.get(vm.limit_on_key(p)))
        keys += [vm.limit_on_key(p), vm.limit_key(p)]

    sb.subheader(t("sec_scoring", lang))
    sb.slider(t("floor", lang), 0.01, 1.0, step=0.01, help=t("floor_help", lang), key="floor")
    keys.append("floor")
    return {k: ss[k] for k in keys if k in ss}


# --------------------------------------------------------------------------- main area

def _show_problems(title_key: str, problems: list[Problem], lang: str) -> None:
    st.error(t(title_key, lang) + "\n\n" + vm.problems_markdown(problems, lang))


def _result_tab(result: PlanResult | None, fresh: bool, lang: str) -> Any:
    """Status, shares, diagnosis or allocation; returns the (empty) container for the
    binding rules, which are filled in once their prices are computed."""
    binding = None
    if result is None:
        st.info(t("no_result", lang))
        return binding
    if not fresh:
        st.warning(t("stale_result", lang))
    if result.scenario.years:
        st.info(t("multi_year_note", lang,
                  span=vm.path_span([y.year for y in result.scenario.years])))
    if result.status == Status.OPTIMAL:
        st.success(t("status_optimal", lang))
    else:
        st.error(t("status_infeasible", lang))

    figures = vm.pool_figures(result, lang)
    cost = vm.people_cost_total(result) if result.status == Status.OPTIMAL else None
    if cost is not None:
        figures.append({"label": t("people_cost_total", lang),
                        "value": fmt.fmt_cny(cost, lang), "delta": None,
                        "caption": t("people_cost_caption", lang)})
    per_row = len(figures) if len(figures) <= 3 else METRICS_PER_ROW
    for start in range(0, len(figures), per_row):
        for col, fig in zip(st.columns(per_row), figures[start:start + per_row], strict=False):
            col.metric(fig["label"], fig["value"], delta=fig["delta"])
            col.caption(fig["caption"])

    if result.status != Status.OPTIMAL:
        st.subheader(t("sec_diagnosis", lang))
        for line in vm.diagnosis_lines(result, lang):
            st.error(line)
        for line in vm.conflict_labels(result, lang):
            st.caption(line)
        share = vm.reachable_share(result)
        if share is None:
            st.info(t("no_max_share", lang))
        else:
            st.write(t("max_share", lang, share=vm.format_share(share)))
            st.button(t("apply_share", lang, share=vm.format_share(share)),
                      key="apply_max_share", type="primary", on_click=_apply_share,
                      args=(share,), disabled=not fresh)
        others = vm.other_relaxations(result)
        if others:
            st.write(t("other_fixes", lang))
        for i, relaxation in enumerate(others):
            st.button(relaxation.text(lang), key=f"apply_relaxation_{i}",
                      on_click=_load_scenario, args=(relaxation.scenario,), disabled=not fresh)
    else:
        st.subheader(t("sec_score", lang))
        with st.container(key="score_lines"):
            st.markdown("\n".join(f"- {line}" for line in vm.score_lines(result, lang)))
        st.subheader(t("sec_binding", lang))
        binding = st.empty()
        binding.caption(t("pricing_rules", lang))
        st.subheader(t("sec_allocation", lang))
        with st.container(key="allocation"):  # the key gives the table a stable CSS class
            st.dataframe(vm.display_allocation(result, lang), hide_index=True,
                         width="stretch")
        if len(result.regions) > vm.TABLE_ROWS:
            st.caption(t("table_first_rows", lang, n=len(result.regions), shown=vm.TABLE_ROWS))
        st.caption(t("allocation_caption", lang))
    if result.notes:
        st.info(t("notes", lang) + "\n\n" + "\n".join(f"- {n(lang)}" for n in result.notes))
    _altair(st, charts.hp_share_chart(vm.hp_shares(result, lang), lang), width="stretch")
    return binding


def _picked_pool(result: PlanResult) -> str:
    """The pool picker's choice, moved to headcount when the plan has no such pool."""
    ss = _ss()
    options = vm.result_pools(result)
    if ss.get("pool_pick") not in options:
        ss["pool_pick"] = options[0]
    return str(ss["pool_pick"])


def _pool_view(result: PlanResult | None, lang: str) -> Any:
    """One pool picked (built-ins included): its figures and people cost, its table and
    chart, and its explanation; returns the container for its binding rules' prices."""
    if result is None:
        return None
    st.subheader(t("sec_pool_view", lang))
    _picked_pool(result)
    pool = st.selectbox(t("pool_pick", lang), vm.result_pools(result),
                        format_func=lambda p: vm.pool_title(result.scenario, p, lang),
                        key="pool_pick", help=t("pool_pick_help", lang))
    label = vm.pool_title(result.scenario, pool, lang)
    res = result.pools[pool]
    if res.status != Status.OPTIMAL or res.allocation is None:
        st.error(t("pv_infeasible", lang, pool=label))
        for line in vm.diagnosis_lines(result, lang, [pool]):
            st.error(line)
        for line in vm.conflict_labels(result, lang, [pool]):
            st.caption(line)
        return None
    with st.container(key="pool_facts"):
        st.markdown(" · ".join(f"{f['label']}{t('sep_colon', lang)}**{f['value']}**"
                               for f in vm.pool_facts(result, pool, lang)))
    with st.container(key="pool_table"):
        st.dataframe(vm.pool_view(result, pool, lang), hide_index=True, width="stretch")
    _altair(st, charts.pool_chart(vm.pool_table(result, pool), pool, lang, label=label),
            width="stretch")
    lines = vm.score_lines(result, lang, [pool])
    if lines:
        with st.container(key="pool_score"):
            st.markdown("\n".join(f"- {line}" for line in lines))
    prices = st.empty()
    prices.caption(t("pricing_rules", lang))
    return prices


def _show_pool_prices(box: Any, explained: PlanResult, lang: str) -> None:
    """The picked pool's binding rules and their effect per region."""
    pool = _ss().get("pool_pick")
    if pool not in explained.pools:
        return
    with box.container(key="pool_binding"):
        st.markdown("\n".join(f"- {line}"
                               for line in vm.binding_lines(explained, lang, [pool])))
        deltas = vm.price_deltas(explained, pool, lang)
        if not deltas.empty:
            _altair(st, charts.price_chart(
                deltas, pool, lang, label=vm.pool_title(explained.scenario, pool, lang),
                kind=vm.pool_kind(explained.scenario, pool)), width="stretch")


def _show_prices(binding: Any, explained: PlanResult, lang: str) -> None:
    """The binding rules in words, their price table and their effect per region."""
    with binding.container():
        st.markdown("\n".join(f"- {line}" for line in vm.binding_lines(explained, lang)))
        table = vm.price_table(explained, lang)
        if table.empty:
            return
        st.markdown(f"**{t('sec_price_table', lang)}**")
        with st.container(key="price_table"):
            st.dataframe(table, hide_index=True, width="stretch")
        st.caption(t("price_caption", lang))
        for p in POOLS:  # the added pools' effects are drawn for the picked pool
            deltas = vm.price_deltas(explained, p, lang)
            if not deltas.empty:
                _altair(st, charts.price_chart(deltas, p, lang), width="stretch")


def _charts_tab(result: PlanResult | None, lang: str) -> None:
    if result is None:
        st.info(t("no_result", lang))
        return
    _altair(st, charts.score_chart(result.scores, result.scenario, lang), width="stretch")
    if result.status == Status.OPTIMAL:
        for p in vm.result_pools(result):
            _altair(st, charts.pool_chart(vm.pool_table(result, p), p, lang,
                                          label=vm.pool_title(result.scenario, p, lang)),
                    width="stretch")
    st.toggle(t("sweep_on", lang), key="sweep_on")
    dim = st.selectbox(t("sweep_dim", lang), list(DIMENSIONS),
                       format_func=lambda d: dimension_label(d, lang), key="sweep_dim")
    if not _ss().get("sweep_on"):
        return
    current = whatif.normalised_weight(result.scenario.weights, dim)
    values = tuple(whatif.sweep_values(current))
    sweep = _sweep(result.regions, result.scenario, dim, values, result.regions_file)
    st.caption(t("sweep_caption", lang))
    bad = sorted(set(sweep.loc[sweep["status"] != "optimal", "weight"]))
    if bad:
        st.warning(t("sweep_infeasible", lang, values=", ".join(vm.format_share(v) for v in bad)))
    for p in [p for p in vm.result_pools(result) if p in set(sweep["pool"])]:
        _altair(st, charts.sweep_chart(sweep, p, dim, current, lang,
                                       label=vm.pool_title(result.scenario, p, lang)),
                width="stretch")


def _compare_tab(current: Scenario | None, regions: pd.DataFrame | None, file: str,
                 lang: str, current_result: PlanResult | None = None) -> None:
    """Plans A and B side by side; `current_result` is the plan of the current settings
    (already solved for the result tab), used for the "current" entries as it is."""
    ss = _ss()
    st.caption(t("cmp_help", lang))
    msg = ss.pop("save_message", None)
    if msg is not None:
        kind, key, kw = msg
        getattr(st, kind)(t(key, lang, **kw))
    # the plans of the store (saved on the Plans page) are what can be compared
    stored = ui_plans.plans_by_id(lang) or {}
    options = [CURRENT, *stored]
    for key in ("cmp_a", "cmp_b"):
        if ss.get(key) not in options:
            ss[key] = CURRENT

    def label(name: str) -> str:
        return t("cmp_current", lang) if name == CURRENT else ui_plans.plan_label(stored[name])

    a_col, b_col = st.columns(2)
    name_a = a_col.selectbox(t("cmp_a", lang), options, format_func=label, key="cmp_a")
    name_b = b_col.selectbox(t("cmp_b", lang), options, format_func=label, key="cmp_b")
    a_col.button(t("load_saved", lang), key="load_saved", on_click=_load_saved,
                 disabled=name_a == CURRENT)
    if regions is None:
        return
    picked = {}
    for name in (name_a, name_b):
        try:
            scenario = current if name == CURRENT else ui_plans.stored_scenario(name)
        except InputError as e:
            st.error(t("plans_error", lang, text="; ".join(p.message for p in e.problems)))
            return
        if scenario is None:
            return
        picked[name] = scenario
    sa, sb_ = picked[name_a], picked[name_b]

    st.subheader(t("cmp_settings", lang))
    diff = whatif.scenario_diff(sa, sb_)
    if diff.empty:
        st.caption(t("cmp_no_diff", lang))
    else:
        shown = diff.astype(str).rename(columns={"setting": t("cmp_setting", lang),
                                                 "a": f"A · {label(name_a)}",
                                                 "b": f"B · {label(name_b)}"})
        st.dataframe(shown, hide_index=True, width="stretch")

    results = {}
    for tag, name, scenario in (("A", name_a, sa), ("B", name_b, sb_)):
        try:
            results[tag] = (current_result if name == CURRENT and current_result is not None
                            else _plan(regions, scenario, file))
        except InputError as e:
            st.error(t("cmp_error", lang, name=label(name),
                       text=vm.problems_markdown(e.problems, lang)))
            return
        for line in vm.diagnosis_lines(results[tag], lang):
            st.warning(t("cmp_infeasible", lang, name=label(name), text=line))
    st.subheader(t("cmp_allocation", lang))
    table = whatif.compare(results["A"], results["B"])
    st.dataframe(vm.display_compare(table, (label(name_a), label(name_b)), lang, sa),
                 hide_index=True, width="stretch")
    if len(table) > vm.TABLE_ROWS:
        st.caption(t("table_first_rows", lang, n=len(table), shown=vm.TABLE_ROWS))
    for p in vm.compare_pools(table, sa):
        _altair(st, charts.compare_chart(table, p, (label(name_a), label(name_b)), lang,
                                         label=vm.pool_title(sa, p, lang)),
                width="stretch")


def _pools_editor(scenario: Scenario | None, lang: str) -> tuple[Scenario | None,
                                                                   list[Problem] | None]:
    """The table of added pools (add, edit, remove rows); returns the scenario with the
    edited pools, or the problems the scenario's validation finds in them.

    The table always starts from the loaded scenario's pools and keeps every edit in the
    session (also while it has errors), until another scenario is loaded.
    """
    ss = _ss()
    base: Scenario = ss["base_scenario"]
    st.subheader(t("sec_pools", lang))
    st.caption(t("pools_caption", lang))
    text = st.column_config.TextColumn
    number = st.column_config.NumberColumn
    config: dict[str, Any] = {
        "name": text(t("pcol_name", lang), help=t("pcol_name_help", lang)),
        "label": text(t("pcol_label", lang), help=t("pcol_label_help", lang)),
        "kind": st.column_config.SelectboxColumn(
            t("pcol_kind", lang), options=list(POOL_KINDS), help=t("pcol_kind_help", lang),
            format_func=lambda k: t(f"pool_kind_{k}", lang) if k in POOL_KINDS else str(k)),
        "total": number(t("pcol_total", lang), help=t("pcol_total_help", lang),
                        format="%,.2f"),
        "current": text(t("pcol_current", lang), help=t("pcol_current_help", lang)),
        "min": text(t("pcol_min", lang), help=t("pcol_bound_help", lang)),
        "max": text(t("pcol_max", lang), help=t("pcol_bound_help", lang)),
        "max_change": number(t("pcol_max_change", lang), help=t("pcol_max_change_help", lang),
                             format="percent"),
        "unit_cost": number(t("pcol_unit_cost", lang), help=t("pcol_unit_cost_help", lang),
                            format="%,.0f"),
        "eligible": text(t("pcol_eligible", lang), help=t("pcol_eligible_help", lang)),
        "eligible_column": text(t("pcol_eligible_column", lang),
                                help=t("pcol_eligible_column_help", lang)),
        "eligible_values": text(t("pcol_eligible_values", lang),
                                help=t("pcol_eligible_values_help", lang)),
        "hp_share": number(t("pcol_hp_share", lang), help=t("pcol_hp_share_help", lang),
                           format="percent"),
    }
    for d in DIMENSIONS:
        config[f"w_{d}"] = number(t("pcol_weight", lang, dim=dimension_label(d, lang)),
                                  help=t("pcol_weight_help", lang))
    with st.container(key="pools_table"):
        edited = st.data_editor(_editor_data("pools_editor", ed.pools_frame(base)),
                                num_rows="dynamic", key="pools_editor", hide_index=True,
                                width="stretch", column_config=config)
    ss["pools_editor_edited"] = edited
    if scenario is None:
        return None, None
    try:
        with_pools = ed.scenario_with_pools(scenario, edited, t("pools_file", lang))
    except InputError as e:
        return None, e.problems
    if with_pools.pools:
        st.caption(t("pools_count", lang, n=len(with_pools.pool_names()),
                     added=t("sep_list", lang).join(
                         p.display() for p in with_pools.pools)))
    else:
        st.caption(t("pools_none", lang))
    return with_pools, None


def _years_editor(scenario: Scenario | None, lang: str) -> tuple[Scenario | None,
                                                                   list[Problem] | None]:
    """The years table of the multi-year tab; returns the scenario with the edited years."""
    ss = _ss()
    base: Scenario = ss["base_scenario"]
    st.caption(t("years_caption", lang))
    data = _editor_data("years_editor", ed.years_frame(base))
    if scenario is not None:  # a pool added in the pools table gets its column here too
        widened = ed.years_with_pools(ss.get("years_editor_edited", data), scenario)
        if widened is not None:
            data = ss["years_editor_data"] = widened
            ss.pop("years_editor", None)  # the wider table is a new editor: start from it
    pools = {p.name: p for p in (scenario or base).pools}
    added = {c: st.column_config.NumberColumn(
        pools[c].display() if c in pools else c, min_value=0,
        format="%d" if c in pools and pools[c].kind == "headcount" else "%,.0f")
        for c in data.columns if c not in ed.YEAR_COLUMNS}
    edited = st.data_editor(
        data, num_rows="dynamic",
        key="years_editor", hide_index=True,
        width="stretch",
        column_config={
            **added,
            "year": st.column_config.NumberColumn(t("axis_year", lang), min_value=1900,
                                                  max_value=3000, step=1, format="%d"),
            "headcount": st.column_config.NumberColumn(t("total_headcount", lang), min_value=0,
                                                       step=1, format="%d"),
            "budget": st.column_config.NumberColumn(t("total_budget", lang), min_value=0.0,
                                                    format="%,.0f"),
            "hp_share": st.column_config.NumberColumn(t("hp_share", lang), min_value=0.0,
                                                      max_value=1.0, format="percent"),
        })
    ss["years_editor_edited"] = edited
    c1, c2 = st.columns(2)
    c1.button(t("start_path", lang), key="start_path", on_click=_apply_changes,
              args=(scenario, {"years": ed.starter_years(dt.date.today().year + 1)}),
              disabled=scenario is None)
    c2.button(t("clear_years", lang), key="clear_years", on_click=_apply_changes,
              args=(scenario, {"years": ()}), disabled=scenario is None or not base.years)
    try:
        years = ed.years_from_editor(edited, t("years_file", lang), scenario)
    except InputError as e:
        return None, e.problems
    return (None if scenario is None else scenario.with_changes(years=years)), None


def _path_tab(path: PathResult | None, scenario: Scenario | None, lang: str) -> None:
    """The multi-year plan: per pool a chart, the share against each year's rule, the table,
    the least change limit that meets every year; a one-click fix when a year breaks."""
    if path is None:
        return
    st.subheader(t("path_title", lang, span=vm.path_span(path.years)))
    if path.status == Status.OPTIMAL:
        st.success(t("path_optimal", lang))
    else:
        st.error(t("path_infeasible", lang))
        fix = vm.required_change_fix(path)
        if fix:
            st.button(vm.fix_text(fix, lang, path.scenario), key="apply_required_change",
                      type="primary", on_click=_apply_changes, args=(scenario, fix))
    for p in vm.result_pools(path):
        pp = path.pools[p]
        label = vm.pool_title(path.scenario, p, lang)
        st.markdown(f"#### {label}")
        if pp.status != Status.OPTIMAL and pp.diagnosis is not None:
            st.error(pp.diagnosis(lang))
        st.markdown("\n".join(f"- {line}" for line in vm.path_pool_lines(path, p, lang)))
        for note in pp.notes:
            st.caption(note(lang))
        if pp.allocation is None:
            continue
        c1, c2 = st.columns([3, 2])
        _altair(c1, charts.path_chart(vm.path_long(path, p, lang), p, lang, label=label),
                width="stretch")
        _altair(c2, charts.path_share_chart(vm.path_shares(path, p, lang), p, lang,
                                            label=label), width="stretch")
        with st.container(key=f"path_table_{p}"):
            st.dataframe(vm.display_path(path, p, lang), hide_index=True, width="stretch")
    if path.status == Status.OPTIMAL:
        c1, c2 = st.columns(2)
        c1.download_button(t("dl_path_csv", lang),
                           functools.partial(export.path_csv_bytes, path, lang),
                           file_name=export.PATH_CSV, mime="text/csv", key="dl_path_csv",
                           on_click="ignore")
        c2.download_button(t("dl_path_xlsx", lang),
                           functools.partial(export.path_xlsx_bytes, path, lang),
                           file_name=export.PATH_XLSX,
                           mime="application/vnd.openxmlformats-officedocument."
                                "spreadsheetml.sheet", key="dl_path_xlsx", on_click="ignore")


def _sensitivity_tab(regions: pd.DataFrame | None, scenario: Scenario | None, lang: str) -> None:
    """Weights drawn around the chosen ones: controls, a run with a progress bar, the bands."""
    ss = _ss()
    st.caption(t("sens_caption", lang))
    c1, c2, c3 = st.columns(3)
    draws = c1.number_input(t("sens_draws", lang), min_value=1, max_value=100_000, value=200,
                            step=50, key="sens_draws")
    seed = c2.number_input(t("sens_seed", lang), min_value=0, value=0, step=1, key="sens_seed")
    mode = c3.radio(t("sens_mode", lang), list(MODES), format_func=lambda m: t(f"mode_{m}", lang),
                    key="sens_mode")
    c1, c2 = st.columns(2)
    spread = c1.slider(t("sens_spread", lang), 0.0, 0.95, value=0.2, step=0.05,
                       format="percent", key="sens_spread", disabled=mode != "range")
    concentration = c2.number_input(t("sens_conc", lang), min_value=1.0, value=200.0,
                                    step=50.0, key="sens_conc", disabled=mode != "dirichlet")
    ready = regions is not None and scenario is not None
    if st.button(t("sens_run", lang), key="sens_run", type="primary", disabled=not ready):
        assert regions is not None and scenario is not None
        bar = st.progress(0.0, text=t("sens_progress", lang, done=0, total=int(draws)))

        def progress(done: int, total: int) -> None:
            bar.progress(vm.progress_value(done, total),
                         text=t("sens_progress", lang, done=done, total=total))

        workers = vm.sensitivity_workers(len(regions), int(draws), default_workers())
        try:
            ss["sens_result"] = run_sensitivity(
                regions, scenario, draws=int(draws), seed=int(seed), mode=str(mode),
                spread=float(spread), concentration=float(concentration), workers=workers,
                progress=progress)
            ss["sens_key"] = vm.run_key(regions, scenario)
        except InputError as e:
            st.error(t("sens_error", lang, text="\n\n" + vm.problems_markdown(e.problems, lang)))
        except Exception as e:  # a bug or a solver failure: a message, never a traceback
            log.exception("run_sensitivity failed")
            st.error(t("err_internal", lang, error=f"{type(e).__name__}: {e}"))
        bar.empty()
    res = ss.get("sens_result")
    if res is None:
        st.info(t("sens_none", lang))
        return
    if not ready or ss.get("sens_key") != vm.run_key(regions, scenario):
        st.warning(t("sens_stale", lang))
    if res.status != Status.OPTIMAL:
        st.warning(t("sens_infeasible", lang))
        return
    st.caption(t("sens_done", lang, draws=res.draws, feasible=res.feasible_draws,
                 seconds=f"{res.seconds:.1f}", workers=res.settings.get("workers", 1)))
    shown = scenario if scenario is not None else Scenario()
    for p in dict.fromkeys(res.table["pool"].astype(str)):
        _altair(st, charts.sensitivity_chart(res.table, p, lang,
                                             label=vm.pool_title(shown, p, lang)),
                width="stretch")
    with st.container(key="sens_table"):
        st.dataframe(vm.display_sensitivity(res.table, lang, shown), hide_index=True,
                     width="stretch")
    st.download_button(t("dl_sens_csv", lang), functools.partial(sensitivity_csv_bytes, res),
                       file_name="sensitivity.csv", mime="text/csv", key="dl_sens_csv",
                       on_click="ignore")


def _export_tab(result: PlanResult | None, lang: str) -> None:
    if result is None:
        st.info(t("no_result", lang))
        return
    toml = scenario_to_toml(result.scenario)
    if result.status == Status.OPTIMAL:
        st.download_button(t("dl_csv", lang), functools.partial(export.allocation_csv_bytes,
                                                                result, lang),
                           file_name="allocation.csv", mime="text/csv", key="dl_csv",
                           on_click="ignore")
        st.download_button(t("dl_xlsx", lang), functools.partial(export.allocation_xlsx_bytes,
                                                                 result, lang),
                           file_name="allocation.xlsx",
                           mime="application/vnd.openxmlformats-officedocument."
                                "spreadsheetml.sheet", key="dl_xlsx", on_click="ignore")
    else:
        st.info(t("export_infeasible", lang))
    st.download_button(t("dl_toml", lang), toml.encode("utf-8"), file_name="scenario.toml",
                       mime="application/toml", key="dl_toml", on_click="ignore")
    st.download_button(t("dl_regions", lang), functools.partial(ed.regions_csv_bytes,
                                                                result.regions),
                       file_name="regions.csv", mime="text/csv", key="dl_regions",
                       on_click="ignore")
    st.caption(t("export_caption", lang))
    if result.scenario.years:
        st.caption(t("export_path_caption", lang))
    st.code("python -m optimizer run --regions regions.csv --scenario scenario.toml --out out",
            language="bash")


# --------------------------------------------------------------------------- page

def main() -> None:
    """Render the page once (Streamlit reruns it on every interaction)."""
    st.set_page_config(page_title="Region optimizer · 区域资源配置", layout="wide")
    _init_state()
    ss = _ss()
    lang = st.sidebar.radio(t("language", DEFAULT_LANG), list(LANGS), format_func=LANG_NAMES.get,
                            horizontal=True, key="lang", on_change=_keep_choices)
    _uploads(lang)
    controls = _sliders(lang)

    st.title(t("app_title", lang))
    st.caption(t("app_caption", lang))
    if ss.get("startup_error"):
        st.error(t("sample_missing", lang,
                   detail=vm.problems_markdown(ss["startup_error"], lang)))
    for state_key, title_key in (("reg_upload", "sec_errors_regions"),
                                 ("scn_upload", "sec_errors_scenario")):
        state = ss.get(state_key)
        if state and state["problems"]:
            _show_problems(title_key, state["problems"], lang)

    scenario: Scenario | None = None
    settings_problem: str | None = None
    if vm.all_weights_zero(controls):
        settings_problem = t("err_weights_zero", lang)
    else:
        scenario = vm.scenario_from_controls(ss["base_scenario"], controls)

    names = ("tab_result", "tab_pools", "tab_charts", "tab_path", "tab_sens", "tab_data",
             "tab_compare", "tab_plans", "rv_tab", "tab_export")
    tabs = dict(zip(names, st.tabs([t(k, lang) for k in names]), strict=True))
    file = ss.get("source_name") or "regions"
    regions: pd.DataFrame | None = None
    data_problems: list[Problem] | None = None
    with tabs["tab_pools"]:  # the pools come first: they are part of the scenario
        scenario, pool_problems = _pools_editor(scenario, lang)
        if pool_problems:
            st.error(t("sec_errors_pools", lang) + "\n\n"
                     + ed.pools_markdown(pool_problems, lang))
        pool_table_problems = st.empty()  # the pools checked against the regions table
    with tabs["tab_path"]:  # the years come next: they are part of the scenario too
        no_years = st.empty()
        with st.expander(t("sec_years", lang), expanded=True):
            with_years, years_problems = _years_editor(scenario, lang)
        if years_problems:
            _show_problems("sec_errors_scenario", years_problems, lang)
        elif with_years is not None:
            scenario = with_years
        if scenario is not None and not scenario.years and not years_problems:
            no_years.info(t("path_none", lang))
    with tabs["tab_data"]:
        if ss.get("source") is not None:
            st.caption(t("data_source", lang, name=file, n=len(ss["source"])))
            st.caption(t("editor_caption", lang))
            edited = st.data_editor(ed.editor_frame(ss["source"]), num_rows="dynamic",
                                    key="editor", width="stretch")
            if scenario is not None:
                try:
                    regions = _validate(ed.editor_to_raw(edited), ed.validation_key(scenario),
                                        file, scenario)
                except InputError as e:
                    data_problems = e.problems
                    _show_problems("sec_errors_regions", e.problems, lang)
                    about_pools = [p for p in e.problems if ed.is_pool_problem(p)]
                    if about_pools:
                        pool_table_problems.error(t("sec_errors_pools_table", lang) + "\n\n"
                                                  + ed.pools_markdown(about_pools, lang))

    # 1. the plan without rule prices: the table is on screen as soon as it is solved
    result: PlanResult | None = None
    run_problems: list[Problem] | None = None
    failure: str | None = None
    if regions is not None and scenario is not None:
        try:
            result = _plan(regions, scenario, file)
        except InputError as e:
            run_problems = e.problems
        except Exception as e:  # a bug or a solver failure: a message, never a traceback
            log.exception("run_plan failed")
            failure = f"{type(e).__name__}: {e}"
    fresh = result is not None
    if fresh:
        ss["last_result"] = result
        ss["last_explained"] = None
    shown = ss.get("last_result")

    with tabs["tab_result"]:
        if settings_problem:
            st.error(settings_problem)
        if pool_problems:
            st.error(t("sec_errors_pools", lang) + "\n\n"
                     + ed.pools_markdown(pool_problems, lang))
        if data_problems:
            _show_problems("sec_errors_regions", data_problems, lang)
        if run_problems:
            _show_problems("sec_errors_settings", run_problems, lang)
        if failure:
            st.error(t("err_internal", lang, error=failure))
        binding = _result_tab(shown, fresh, lang)
        # What follows the table is drawn after it. The pool view, on screen under the
        # table, is emptied until then: never the last weights' figures next to the new
        # table. The other tabs (out of sight next to the table) are redrawn in place, as
        # Streamlit does, fading what is not redrawn yet: emptying them too made the
        # browser slower to show the table (it builds their charts anew).
        pool_box = st.empty()
    with pool_box.container():
        pool_prices = _pool_view(shown, lang)
    with tabs["tab_charts"]:
        _charts_tab(shown, lang)
    with tabs["tab_path"]:
        path: PathResult | None = None
        if regions is not None and scenario is not None and scenario.years:
            try:
                path = _path(regions, scenario, file)
            except InputError as e:
                _show_problems("sec_errors_settings", e.problems, lang)
            except Exception as e:  # a bug or a solver failure: a message, never a traceback
                log.exception("run_path failed")
                st.error(t("err_internal", lang, error=f"{type(e).__name__}: {e}"))
        _path_tab(path, scenario, lang)
    with tabs["tab_sens"]:
        _sensitivity_tab(regions, scenario, lang)
    with tabs["tab_compare"]:
        _compare_tab(scenario, regions, file, lang, result)

    # 2. the same plan with the price of each binding rule, for the words and the exports
    explained = ss.get("last_explained")
    if explained is None and shown is not None and shown.status == Status.OPTIMAL:
        try:
            explained = _plan(shown.regions, shown.scenario, shown.regions_file, True)
        except Exception as e:  # the table stays; only the prices are missing
            log.exception("rule prices failed")
            if binding is not None:
                binding.error(t("err_internal", lang, error=f"{type(e).__name__}: {e}"))
        else:
            ss["last_explained"] = explained
    if binding is not None and explained is not None:
        _show_prices(binding, explained, lang)
    if pool_prices is not None and explained is not None:
        _show_pool_prices(pool_prices, explained, lang)
    with tabs["tab_export"]:
        _export_tab(explained if explained is not None else shown, lang)
    with tabs["tab_plans"]:
        to_save = explained if explained is not None else shown
        ui_plans.plans_tab(to_save, functools.partial(_regions_bytes, to_save), _load_scenario,
                           lang)
    with tabs["rv_tab"]:
        ui_review.review_page(lang)

"""The Streamlit app through its front door: AppTest drives the widgets by key."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import INPUTS, REPO
from streamlit.testing.v1 import AppTest

from optimizer.app import editors as ed
from optimizer.app import viewmodel as vm
from optimizer.inputs.scenario_read import load_scenario
from optimizer.inputs.scenario_write import scenario_to_toml
from optimizer.model.result import Status
from optimizer.report import export
from optimizer.studies.synth import synth_regions
from optimizer.words import t

APP = str(REPO / "app.py")


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _table(at: AppTest, lang: str = "zh") -> pd.DataFrame:
    """The allocation table on the page (found by its proposed-headcount column)."""
    for df in at.dataframe:
        value = df.value
        if t("col_headcount", lang) in value.columns:
            return value
    raise AssertionError("no allocation table on the page")


def _errors(at: AppTest) -> str:
    return "\n".join(e.value for e in at.error)


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


@pytest.fixture(autouse=True)
def _own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test saves into a plan store of its own, never into the checkout's data/."""
    monkeypatch.setenv("OPTIMIZER_STORE", f"sqlite:///{tmp_path / 'plans.db'}")


@pytest.fixture
def at() -> AppTest:
    return _app()


def test_default_run_shows_the_sample_plan(at):
    assert at.session_state["lang"] == "zh"
    assert at.title[0].value == t("app_title", "zh")
    assert [s.value for s in at.success] == [t("status_optimal", "zh")]
    table = _table(at)
    assert list(table["区域"]) == ["华东", "华南", "华北", "华中", "西南", "西北", "东北"]
    assert table["建议人数"].str.endswith(" 人").all()
    # the 60 % rule: both pools reach at least 60 % in high-potential regions
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"人员 · 高潜力份额": "60.2 %", "预算 · 高潜力份额": "60.0 %"}
    assert any("60 %" in m.value for m in at.markdown if m.value.startswith("- 人员"))
    assert not _errors(at)


def test_every_widget_has_a_key(at):
    for kind in ("slider", "radio", "checkbox", "number_input", "button", "selectbox",
                 "text_input", "toggle"):
        for w in getattr(at, kind):
            assert w.key, f"{kind} {w.label!r} has no key"


def test_moving_a_weight_changes_the_table(at):
    before = _table(at)
    at.slider(key="w_market_potential").set_value(0.9).run()
    _ok(at)
    after = _table(at)
    assert not before.equals(after)
    assert after["综合得分"].tolist() != before["综合得分"].tolist()
    assert at.session_state["last_result"].scenario.weights["market_potential"] == 0.9


@pytest.mark.parametrize(("key", "value"), [
    ("hp_share", 0.7), ("floor", 0.5), ("ind_w_market_size", 3.0),
    ("w_customer_value", 0.0), ("hp_threshold", 0.3),
])
def test_each_setting_reaches_the_plan(at, key, value):
    if key == "hp_threshold":
        at.radio(key="hp_rule").set_value("threshold").run()
    before = _table(at)
    at.slider(key=key).set_value(value).run()
    _ok(at)
    assert not _errors(at)
    assert not before.equals(_table(at))


def test_totals_direction_and_limits(at):
    at.number_input(key="total_headcount").set_value(250).run()
    result = at.session_state["last_result"]
    assert result.pools["headcount"].allocation.sum() == 250
    at.radio(key="ind_dir_growth_rate").set_value("lower").run()
    assert at.session_state["last_result"].scenario.indicators["growth_rate"].direction == "lower"
    at.checkbox(key="limit_on_budget").check().run()
    at.slider(key="limit_budget").set_value(1.0).run()
    _ok(at)
    assert at.session_state["last_result"].scenario.budget_max_change == 1.0


def test_language_switch_translates_the_page(at):
    at.radio(key="lang").set_value("en").run()
    _ok(at)
    assert at.title[0].value == "Region resource planner"
    assert [s.value for s in at.success] == [t("status_optimal", "en")]
    table = _table(at, "en")
    assert "Proposed headcount" in table.columns
    assert table["Current budget"].iloc[0] == "CNY 25.20 m"
    assert at.slider(key="w_market_potential").label == "Market potential"
    assert at.tabs[0].label == "Result"
    # settings survive the switch
    assert at.slider(key="w_market_potential").value == 0.4
    at.radio(key="lang").set_value("zh").run()
    assert _table(at)["现有预算"].iloc[0] == "2,520.0 万"


def test_a_bad_upload_shows_row_and_column_and_keeps_the_last_result(at):
    before = _table(at)
    text = (INPUTS / "regions.csv").read_text(encoding="utf-8-sig").splitlines()
    cells = text[3].split(",")
    cells[1] = "lots"  # 华北's market_size: spreadsheet row 4
    text[3] = ",".join(cells)
    data = "\n".join(text).encode("utf-8")
    at.file_uploader(key="up_regions").set_value(("bad.csv", data, "text/csv")).run()
    _ok(at)
    errors = _errors(at)
    assert "bad.csv，第 4 行，列“market_size”" in errors
    assert "lots" in errors
    assert _table(at).equals(before)  # the last valid result stays on screen
    # the app stays usable: a slider still works on the data that was valid
    at.slider(key="hp_share").set_value(0.65).run()
    _ok(at)
    assert not _table(at).equals(before)
    assert "bad.csv" in _errors(at)  # the message stays while the bad file is there


def test_a_file_that_is_not_a_table_is_a_message(at):
    junk = b"PK\x03\x04 not really a workbook"
    at.file_uploader(key="up_regions").set_value(("x.xlsx", junk, "application/zip")).run()
    _ok(at)
    assert "x.xlsx" in _errors(at)
    _table(at)


def test_a_good_upload_replaces_the_data():
    raw = synth_regions(40, seed=5)
    buf = io.BytesIO()
    raw.to_excel(buf, index=False)
    at = _app()
    at.file_uploader(key="up_regions").set_value(("t.xlsx", buf.getvalue(),
                                                  "application/vnd.ms-excel")).run()
    _ok(at)
    assert not _errors(at)
    assert len(_table(at)) == 40
    assert at.session_state["source_name"] == "t.xlsx"


def test_bad_edit_names_the_row_keeps_the_edit_and_the_last_result(at):
    before = _table(at)
    at.session_state["editor"] = {"edited_rows": {2: {"current_headcount": -3}},
                                  "added_rows": [], "deleted_rows": []}
    at.run()
    _ok(at)
    # in the Chinese app the message is Chinese too, with the row and column
    assert "inputs/regions.csv，第 4 行，列“current_headcount”：“-3”不符合要求" in _errors(at)
    assert _table(at).equals(before)
    assert [w.value for w in at.warning] == [t("stale_result", "zh")]
    assert at.session_state["editor"]["edited_rows"] == {2: {"current_headcount": -3}}
    # fixing the cell brings a new plan
    at.session_state["editor"] = {"edited_rows": {2: {"current_headcount": 30}},
                                  "added_rows": [], "deleted_rows": []}
    at.run()
    assert not _errors(at)
    assert "30 人" in _table(at)["现有人数"].tolist()


def test_a_scenario_upload_moves_the_sliders_and_a_bad_one_is_a_message(at):
    s = load_scenario(INPUTS / "scenario.toml").with_changes(hp_share=0.5, floor=0.3)
    at.file_uploader(key="up_scenario").set_value(
        ("s.toml", scenario_to_toml(s).encode(), "application/toml")).run()
    _ok(at)
    assert at.slider(key="hp_share").value == 0.5
    assert at.slider(key="floor").value == 0.3
    assert at.session_state["last_result"].scenario.hp_share == 0.5
    at.file_uploader(key="up_scenario").set_value(
        ("bad.toml", b"[weights]\nmarket_potential = -1\n", "application/toml")).run()
    _ok(at)
    assert "bad.toml，列“weights.market_potential”" in _errors(at)
    assert at.slider(key="hp_share").value == 0.5  # nothing lost
    at.file_uploader(key="up_scenario").set_value(
        ("broken.toml", b"[weights\n", "application/toml")).run()
    assert "broken.toml，第 1 行" in _errors(at)


def test_all_weights_zero_is_a_message(at):
    for d in ("market_potential", "customer_value"):
        at.slider(key=f"w_{d}").set_value(0.0).run()
    before = _table(at)
    at.slider(key="w_internal_capability").set_value(0.0).run()
    _ok(at)
    assert t("err_weights_zero", "zh") in _errors(at)
    assert _table(at).equals(before)


def test_infeasible_shows_the_diagnosis_and_one_click_fixes_it(at):
    for p in ("headcount", "budget"):
        at.checkbox(key=f"limit_on_{p}").check().run()
        at.slider(key=f"limit_{p}").set_value(1.0).run()
    _ok(at)
    assert [e.value for e in at.error if e.value == t("status_infeasible", "zh")]
    result = at.session_state["last_result"]
    assert result.status == Status.INFEASIBLE
    errors = _errors(at)
    assert "预算" in errors and "60 %" in errors
    share = vm.reachable_share(result)
    assert share is not None
    at.button(key="apply_max_share").click().run()
    _ok(at)
    assert at.slider(key="hp_share").value == pytest.approx(share)
    assert [s.value for s in at.success] == [t("status_optimal", "zh")]
    assert at.session_state["last_result"].status == Status.OPTIMAL


def test_save_and_compare_scenarios(at):
    # saved scenarios live in the plan store (the Plans page) and are compared from there
    at.text_input(key="plan_name").input("基准").run()
    at.button(key="plan_save").click().run()
    _ok(at)
    first = at.session_state["plan_pick"]
    at.slider(key="hp_share").set_value(0.7).run()
    at.text_input(key="plan_name").input("70%").run()
    at.button(key="plan_save").click().run()
    second = at.session_state["plan_pick"]
    assert first != second
    at.selectbox(key="cmp_a").set_value(first).run()
    at.selectbox(key="cmp_b").set_value(second).run()
    _ok(at)
    frames = [df.value for df in at.dataframe]
    settings = next(f for f in frames if "设置项" in f.columns)
    assert settings["设置项"].tolist() == ["high_potential.share"]
    diff = next(f for f in frames if "人员（B − A）" in f.columns)
    assert len(diff) == 7
    assert (diff["人员（B − A）"] != "0 人").any()
    # load A back into the sliders
    at.button(key="load_saved").click().run()
    assert at.slider(key="hp_share").value == 0.6


def test_saving_without_a_name_warns(at):
    at.button(key="plan_save").click().run()
    assert [w.value for w in at.warning] == [t("save_empty", "zh")]
    assert at.session_state["plans_seen"] == {}


def test_sweep_toggle_and_dimension(at):
    assert at.toggle(key="sweep_on").value is True  # 7 regions: on by default
    at.selectbox(key="sweep_dim").set_value("customer_value").run()
    _ok(at)
    at.toggle(key="sweep_on").set_value(False).run()
    _ok(at)


def test_exported_scenario_and_regions_give_the_same_table_on_the_cli(at, tmp_path: Path):
    """The TOML and regions the export tab offers, run by the CLI, give the table shown."""
    at.slider(key="w_market_potential").set_value(0.55).run()
    at.slider(key="hp_share").set_value(0.62).run()
    at.number_input(key="total_budget").set_value(120_000_000.0).run()
    at.session_state["editor"] = {"edited_rows": {0: {"current_budget": 26000000.0}},
                                  "added_rows": [], "deleted_rows": []}
    at.run()
    _ok(at)
    assert not _errors(at)
    result = at.session_state["last_result"]
    assert result.status == Status.OPTIMAL
    shown = _table(at)
    # what the download buttons hand out (their bytes are made by these functions)
    (tmp_path / "scenario.toml").write_text(scenario_to_toml(result.scenario), encoding="utf-8")
    (tmp_path / "regions.csv").write_bytes(ed.regions_csv_bytes(result.regions))
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "optimizer", "run", "--regions", str(tmp_path / "regions.csv"),
         "--scenario", str(tmp_path / "scenario.toml"), "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    cli_bytes = (out / "allocation.csv").read_bytes()
    assert cli_bytes == export.allocation_csv_bytes(result)
    cli = pd.read_csv(out / "allocation.csv", encoding="utf-8-sig")
    assert cli["current_budget"].iloc[0] == 26_000_000
    assert vm.display_table(cli, "zh").equals(shown)


def test_language_switch_keeps_every_choice(at):
    at.radio(key="hp_rule").set_value("threshold").run()
    at.selectbox(key="sweep_dim").set_value("customer_value").run()
    at.radio(key="lang").set_value("en").run()
    _ok(at)
    assert at.radio(key="ind_dir_competition_intensity").value == "lower"
    assert at.radio(key="hp_rule").value == "threshold"
    assert at.selectbox(key="sweep_dim").value == "customer_value"
    at.radio(key="lang").set_value("zh").run()
    assert at.radio(key="ind_dir_competition_intensity").value == "lower"
    result = at.session_state["last_result"]
    assert result.scenario.indicators["competition_intensity"].direction == "lower"


def test_a_wider_change_limit_is_one_click_away(at):
    for p in ("headcount", "budget"):
        at.checkbox(key=f"limit_on_{p}").check().run()  # ±30 %: no share solves this
    _ok(at)
    result = at.session_state["last_result"]
    assert result.status == Status.INFEASIBLE
    assert vm.reachable_share(result) is None
    assert t("no_max_share", "zh") in [i.value for i in at.info]
    assert not [b for b in at.button if b.key == "apply_max_share"]
    at.button(key="apply_relaxation_0").click().run()
    _ok(at)
    assert at.session_state["last_result"].status == Status.OPTIMAL
    assert at.slider(key="limit_headcount").value > 1.0  # beyond ±100 %: the slider follows


def test_a_table_without_high_potential_switches_to_the_threshold_rule(at):
    raw = synth_regions(30, seed=2).drop(columns=["high_potential"])
    at.file_uploader(key="up_regions").set_value(
        ("no_hp.csv", raw.to_csv(index=False).encode(), "text/csv")).run()
    _ok(at)
    assert not _errors(at)
    assert at.radio(key="hp_rule").value == "threshold"
    assert len(_table(at)) == 30
    at.radio(key="hp_rule").set_value("column").run()  # a clear message, not a crash
    assert "high_potential" in _errors(at)


# --------------------------------------------------------------------------- issues 4 and 5

def _frame(at: AppTest, column: str) -> pd.DataFrame:
    """The first table on the page that has `column`."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with the column {column!r} on the page")


def test_the_price_of_the_60_percent_rule_is_a_table(at):
    table = _frame(at, t("col_rule", "zh"))
    assert table[t("col_rule", "zh")].tolist() == ["高潜力 ≥ 60 %", "高潜力 ≥ 60 %"]
    assert table[t("col_pool", "zh")].tolist() == ["人员", "预算"]
    # without the rule the high-potential regions would have 51.1 % of each pool
    assert table[t("col_share_without", "zh")].tolist() == ["51.1 %", "51.1 %"]
    assert table[t("col_moves", "zh")].iloc[0].startswith("+")
    assert table[t("col_cost", "zh")].str.endswith(" %").all()
    # the plan against today, in words; whole-person rounding costs next to nothing
    lines = next(m.value for m in at.markdown if t("rounding_cost", "zh", cut="")[:6] in m.value)
    assert "人员：" in lines and "预算：" in lines
    at.radio(key="lang").set_value("en").run()
    _ok(at)
    table = _frame(at, "Rule")
    assert table["Rule"].tolist() == ["High-potential ≥ 60 %"] * 2
    assert "Their share without it" in table.columns
    assert any("never worse" in m.value or "move away" in m.value for m in at.markdown)


def test_group_sample_prices_the_group_rule(at):
    at.selectbox(key="sample").set_value("groups").run()
    _ok(at)
    table = _frame(at, t("col_rule", "zh"))
    assert "分组“West war zone”" in table[t("col_rule", "zh")].tolist()


def test_relaxation_buttons_make_an_infeasible_plan_optimal(at):
    for p in ("headcount", "budget"):
        at.checkbox(key=f"limit_on_{p}").check().run()
    _ok(at)
    result = at.session_state["last_result"]
    assert result.status == Status.INFEASIBLE
    # the diagnosis and the conflicting rules by name
    assert "以下条件无法同时满足" in _errors(at)
    assert any("`change_limit_budget`" in c.value for c in at.caption)
    keys = [b.key for b in at.button if b.key.startswith("apply_relaxation_")]
    assert keys == [f"apply_relaxation_{i}" for i in range(len(result.relaxations))]
    for i, relaxation in enumerate(result.relaxations):
        fresh = _app()
        for p in ("headcount", "budget"):
            fresh.checkbox(key=f"limit_on_{p}").check().run()
        fresh.button(key=f"apply_relaxation_{i}").click().run()
        _ok(fresh)
        after = fresh.session_state["last_result"]
        assert after.status == Status.OPTIMAL, relaxation.kind
        for k, v in relaxation.changes.items():
            assert getattr(after.scenario, k) == pytest.approx(v), (relaxation.kind, k)


def _path_sample() -> AppTest:
    at = _app()
    at.selectbox(key="sample").set_value("path").run()
    _ok(at)
    return at


def test_the_2024_2026_sample_shows_the_path(at):
    at.selectbox(key="sample").set_value("path").run()
    _ok(at)
    assert [y.year for y in at.session_state["base_scenario"].years] == [2024, 2025, 2026]
    assert t("path_optimal", "zh") in [s.value for s in at.success]
    table = _frame(at, "2026")
    assert list(table.columns[-4:]) == ["2024", "2025", "2026", "整个期间变化"]
    assert len(table) == 7
    assert table["2024"].str.endswith(" 人").any()
    text = "\n".join(m.value for m in at.markdown)
    assert "满足各年要求的最小变动限制：±41.67 %" in text
    assert "满足各年要求的最小变动限制：±55.48 %" in text
    # the years editor holds the plan's years
    assert t("multi_year_note", "zh", span="2024–2026") in [i.value for i in at.info]
    at.radio(key="lang").set_value("en").run()
    _ok(at)
    assert "Change over the path" in _frame(at, "2026").columns


def test_apply_the_required_change_on_a_tighter_path():
    at = _path_sample()
    for p in ("headcount", "budget"):
        at.slider(key=f"limit_{p}").set_value(0.3).run()
    _ok(at)
    assert t("path_infeasible", "zh") in _errors(at)
    assert "2024 年无法满足" in _errors(at)
    at.button(key="apply_required_change").click().run()
    _ok(at)
    assert at.slider(key="limit_headcount").value == pytest.approx(0.4167)
    assert at.slider(key="limit_budget").value == pytest.approx(0.5548)
    assert t("path_optimal", "zh") in [s.value for s in at.success]
    assert [y.year for y in at.session_state["base_scenario"].years] == [2024, 2025, 2026]


def test_build_a_path_in_the_years_editor(at):
    assert t("path_none", "zh") in [i.value for i in at.info]
    at.session_state["years_editor"] = {
        "edited_rows": {},
        "added_rows": [{"year": 2025, "headcount": 206, "hp_share": 0.5},
                       {"year": 2026, "headcount": 220, "hp_share": 0.6}],
        "deleted_rows": []}
    at.run()
    _ok(at)
    assert t("path_optimal", "zh") in [s.value for s in at.success]
    table = _frame(at, "2026")
    assert list(table.columns[-3:]) == ["2025", "2026", "整个期间变化"]
    # a bad cell is a message naming the row, and no path
    at.session_state["years_editor"] = {
        "edited_rows": {},
        "added_rows": [{"year": 2025, "hp_share": 1.5}], "deleted_rows": []}
    at.run()
    _ok(at)
    assert "years[1].hp_share" in _errors(at)
    # the start button makes three years from the current settings
    at.session_state["years_editor"] = {"edited_rows": {}, "added_rows": [], "deleted_rows": []}
    at.button(key="start_path").click().run()
    _ok(at)
    assert len(at.session_state["base_scenario"].years) == 3
    at.button(key="clear_years").click().run()
    assert at.session_state["base_scenario"].years == ()


def test_path_downloads_are_the_export_functions():
    at = _path_sample()
    keys = [b.key for b in at.get("download_button")]
    assert "dl_path_csv" in keys and "dl_path_xlsx" in keys


def test_sensitivity_runs_and_shows_the_table(at):
    assert t("sens_none", "zh") in [i.value for i in at.info]
    at.number_input(key="sens_draws").set_value(20).run()
    at.button(key="sens_run").click().run()
    _ok(at)
    res = at.session_state["sens_result"]
    assert res.draws == 20 and res.status == Status.OPTIMAL
    table = _frame(at, t("col_gain_freq", "zh"))
    assert len(table) == 14  # 7 regions × 2 pools
    assert table[t("col_gain_freq", "zh")].str.endswith(" %").all()
    assert (table[t("col_hp_freq", "zh")] == "—").all()  # column rule: the set never moves
    # other settings: the result is marked as computed for them
    at.slider(key="hp_share").set_value(0.65).run()
    assert t("sens_stale", "zh") in [w.value for w in at.warning]
    at.radio(key="sens_mode").set_value("dirichlet").run()
    at.button(key="sens_run").click().run()
    _ok(at)
    assert at.session_state["sens_result"].settings["mode"] == "dirichlet"
    assert t("sens_stale", "zh") not in [w.value for w in at.warning]


def test_files_as_offices_make_them_in_the_app(at):
    # Excel's "Unicode text" (UTF-16, tab-separated .txt) with a title row, uploaded as is
    text = "2024年各区域资源表\n" + (INPUTS / "regions.csv").read_text(encoding="utf-8-sig")
    tsv = "\n".join(line.replace(",", "\t") for line in text.splitlines()) + "\n"
    at.file_uploader(key="up_regions").set_value(
        ("区域.txt", tsv.encode("utf-16"), "text/plain")).run()
    _ok(at)
    assert not _errors(at)
    assert list(_table(at)["区域"])[:2] == ["华东", "华南"]
    # a GB18030 scenario is read too
    toml = (INPUTS / "scenario.toml").read_text(encoding="utf-8")
    at.file_uploader(key="up_scenario").set_value(
        ("方案.toml", toml.encode("gb18030"), "application/toml")).run()
    _ok(at)
    assert not _errors(at)


def test_template_downloads_are_offered_in_the_page_language(at):
    from optimizer.inputs.template import template_files

    names = set(template_files("zh"))
    assert {"regions_template.csv", "regions_template.xlsx"} <= names
    labels = [b.label for b in at.get("download_button")]
    for name in names:
        assert t("dl_template", "zh", file=name) in labels


# --------------------------------------------------------------------------- a slider move's speed

def test_each_formats_every_cell_as_map_does():
    """The once-per-distinct-value formatting gives the cells `Series.map` gives, also
    for -0.0 next to 0.0, NaN, whole numbers and text."""
    floats = pd.Series([0.0, -0.0, float("nan"), 1.5, 1.5, float("nan"), -2.25],
                       index=range(5, 12))
    ints = pd.Series([3, 1, 3, 0, -2])
    words = pd.Series(["a", None, "a"], dtype=object)

    def fmt3(v: object) -> str:
        if pd.isna(v):
            return "—"
        return f"{v:.3f} {type(v).__name__}" if isinstance(v, float) else f"{v!r}"

    for values in (floats, ints, words, floats.iloc[:0]):
        got, want = vm._each(values, fmt3), values.map(fmt3)
        assert got.tolist() == want.tolist()
        assert got.index.equals(want.index)


def test_the_allocation_table_of_many_regions_is_formatted_cell_by_cell_alike():
    from optimizer.flow.plan import run_plan
    from optimizer.inputs.regions import validate_regions
    from optimizer.studies.synth import synth_scenario

    raw = synth_regions(400, seed=3)
    scenario = synth_scenario(raw)
    result = run_plan(validate_regions(raw, scenario, "synth.csv"), scenario, "synth.csv")
    for lang in ("zh", "en"):
        fast = vm.display_allocation(result, lang)
        pools = {p: vm.pool_view(result, p, lang) for p in vm.result_pools(result)}
        slow_each = vm._each
        try:
            vm._each = lambda values, func: values.map(func)
            assert vm.display_allocation(result, lang).equals(fast)
            for p, table in pools.items():
                assert vm.pool_view(result, p, lang).equals(table)
        finally:
            vm._each = slow_each


def test_charts_are_drawn_with_the_spec_the_builders_make(monkeypatch: pytest.MonkeyPatch):
    """The page skips the schema check on each rerun, not the spec: what is sent is the
    chart's checked spec."""
    from optimizer.app import charts, ui
    from optimizer.words import DEFAULT_LANG

    table = pd.DataFrame({"region": ["a", "b"], "high_potential": [True, False],
                          "current_headcount": [1, 2], "headcount": [2, 1],
                          "headcount_change": [1, -1], "headcount_change_pct": [1.0, -0.5],
                          "headcount_target": [1.5, 1.5]})
    checked = charts.pool_chart(table, "headcount", DEFAULT_LANG).to_dict()
    drawn = []

    class Where:
        def altair_chart(self, chart: object, **kwargs: object) -> None:
            drawn.append((chart.to_dict(), kwargs))  # type: ignore[attr-defined]

    ui._altair(Where(), charts.pool_chart(table, "headcount", DEFAULT_LANG), width="stretch")
    assert drawn == [(checked, {"width": "stretch"})]


def test_a_weight_move_on_many_regions_redraws_the_pool_view_under_the_new_table():
    """At 600 regions the pool view and its table follow a slider move: they show the new
    plan, never the last one's."""
    at = _app()
    raw = synth_regions(600, seed=5)
    from optimizer.inputs.regions import validate_regions
    from optimizer.studies.synth import synth_scenario

    scenario = synth_scenario(raw)
    at.session_state["source"] = validate_regions(raw, scenario, "synth.csv")
    at.session_state["source_name"] = "synth.csv"
    at.session_state["base_scenario"] = scenario
    for key, value in vm.controls_from_scenario(scenario, at.session_state["source"]).items():
        at.session_state[key] = value
    at.run()
    _ok(at)
    assert len(_table(at)) == 600
    before = _table(at)
    pool_before = [df.value for df in at.dataframe if t("col_pv_proposed", "zh") in df.value]
    slider = at.slider(key=vm.weight_key("market_potential"))
    slider.set_value(round(min(1.0, slider.value + 0.3), 2)).run()
    _ok(at)
    after = _table(at)
    pool_after = [df.value for df in at.dataframe if t("col_pv_proposed", "zh") in df.value]
    assert not after.equals(before)
    assert len(pool_after) == 1 and not pool_after[0].equals(pool_before[0])
    column = t("col_headcount", "zh")
    assert pool_after[0][t("col_pv_proposed", "zh")].tolist() == after[column].tolist()

"""The Review page in a real Chromium on the real app (`app.py`): a plan approved through
the library, the sample actuals uploaded, 西北 flagged red, the re-plan saved and shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS, INPUTS, idle
from test_browser import _wait_for_table
from test_review_app import approved_plan
from test_review_app import solved as _solved  # noqa: F401 - the solved sample plan

from optimizer.app.review import tr
from optimizer.store import api, cycle
from optimizer.store.db import open_store

pytestmark = pytest.mark.browser


def test_upload_actuals_see_the_red_region_and_replan(server: str, store_url: str,
                                                      _solved, tmp_path: Path):  # noqa: F811
    from playwright.sync_api import sync_playwright

    pid = approved_plan(store_url, _solved)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 4000})
        page.set_default_timeout(60_000)
        page.goto(server)
        _wait_for_table(page)
        page.get_by_role("tab", name=tr("tab", "zh")).click()
        page.locator(".st-key-review_plan").wait_for()
        page.locator(".st-key-review_upload input[type=file]").set_input_files(
            str(INPUTS / "actuals_2025_q1_q2.csv"))
        red = page.locator(".st-key-review_alarms [data-testid=stAlertContentError]")
        red.first.wait_for()
        assert "红 · 西北：客户流失率 18 % 高于 15 %" in red.first.inner_text()
        page.locator(".st-key-review_table").wait_for()
        idle(page)
        page.locator(".st-key-review_replan").get_by_role(
            "button", name=tr("replan", "zh")).click()
        page.get_by_text("重排方案已保存为草稿").wait_for()
        page.locator(".st-key-review_replan_table").wait_for()
        page.screenshot(path=str(tmp_path / "review.png"))
        browser.close()
    store = open_store(store_url)
    me = api.acting_user(store)
    drafts = [p for p in api.list_plans(store, me) if p["status"] == "draft"]
    assert len(drafts) == 1
    assert cycle.replan_link(store, me, drafts[0]["id"])["of_record"] == pid
    assert [v["quarter"] for v in cycle.actuals_versions(store, me, pid)] == ["2025Q1",
                                                                            "2025Q2"]
    store.dispose()

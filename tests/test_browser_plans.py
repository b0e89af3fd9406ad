"""The Plans page in a real Chromium: save, reload the page, the plan is still there, open
it, approve it."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS, idle
from test_browser import _wait_for_table

from optimizer.store import api
from optimizer.store.db import open_store
from optimizer.words import t

pytestmark = pytest.mark.browser


def _plans_tab(page) -> None:  # noqa: ANN001
    page.get_by_role("tab", name=t("tab_plans", "zh")).click()


def test_save_reload_open_approve(server: str, store_url: str, tmp_path: Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 3000})
        page.set_default_timeout(60_000)
        page.goto(server)
        _wait_for_table(page)
        _plans_tab(page)
        page.locator(".st-key-plan_name input").fill("浏览器方案")
        page.locator(".st-key-plan_period input").fill("2030")
        page.locator(".st-key-plan_save button").click()  # the click blurs: values go first
        page.get_by_text("已保存方案").wait_for()
        store = open_store(store_url)
        me = api.acting_user(store)
        plans = api.list_plans(store, me)
        assert [p["name"] for p in plans] == ["浏览器方案"]
        pid = plans[0]["id"]
        page.reload()  # the session is gone; the store is not
        _wait_for_table(page)
        _plans_tab(page)
        # the plan picker shows the saved plan (its label, in text or in the input's value)
        page.wait_for_function("""pid => { const e = document.querySelector('.st-key-plan_pick');
            return !!e && (e.textContent.includes(pid) || Array.from(e.querySelectorAll('input'))
                .some(i => (i.value || '').includes(pid))); }""", arg=pid)
        page.locator(".st-key-plan_open button").click()
        page.get_by_text(t("plans_opened", "zh", id=pid)).wait_for()
        idle(page)
        page.locator(".st-key-plan_submit button").click()
        page.get_by_text(t("plans_status_changed", "zh", id=pid, status="submitted")).wait_for()
        idle(page)
        page.locator(".st-key-plan_approve button").click()
        idle(page)
        errors = page.locator("[data-testid=stAlertContentError]").all_inner_texts()
        assert not errors, errors
        page.get_by_text(t("plans_status_changed", "zh", id=pid, status="approved")).wait_for()
        page.screenshot(path=str(tmp_path / "plans.png"))
        browser.close()
    assert api.list_plans(store, me)[0]["status"] == "approved"
    store.dispose()

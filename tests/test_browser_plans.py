"""The Plans page in a real Chromium: save, reload the page, the plan is still there, open
it, approve it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS, _wait_for_table
from test_browser import server as _server  # noqa: F401 - the streamlit server fixture

from optimizer.i18n import t
from optimizer.store import api
from optimizer.store.db import open_store

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server's plan store: a file of this module (set before the server starts)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'plans.db'}"
    old = os.environ.get("OPTIMIZER_STORE")
    os.environ["OPTIMIZER_STORE"] = url
    yield url
    if old is None:
        os.environ.pop("OPTIMIZER_STORE", None)
    else:
        os.environ["OPTIMIZER_STORE"] = old


@pytest.fixture(scope="module")
def server(store_url: str, _server: str) -> str:  # noqa: F811 - after the store is set
    return _server


def _idle(page) -> None:  # noqa: ANN001
    """Wait until the script run has finished (a click during a rerun can be lost)."""
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')")


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
        _idle(page)
        page.locator(".st-key-plan_submit button").click()
        page.get_by_text(t("plans_status_changed", "zh", id=pid, status="submitted")).wait_for()
        _idle(page)
        page.locator(".st-key-plan_approve button").click()
        _idle(page)
        errors = page.locator("[data-testid=stAlertContentError]").all_inner_texts()
        assert not errors, errors
        page.get_by_text(t("plans_status_changed", "zh", id=pid, status="approved")).wait_for()
        page.screenshot(path=str(tmp_path / "plans.png"))
        browser.close()
    assert api.list_plans(store, me)[0]["status"] == "approved"
    store.dispose()

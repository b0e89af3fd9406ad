"""Added pools in a real Chromium on the real app (`app.py`): a scenario with roles and a
budget line uploaded, the pools table shows them, the pool picker shows one role's
allocation (checked against the independent reference), the TOML download holds them."""

from __future__ import annotations

import math
import time
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS, INPUTS, idle
from reference import ref_optimum, ref_whole_people
from test_browser import _wait_for_table
from test_pools_app import _hp, _own_weights, _sample_table, _weights

from optimizer.inputs.scenario_read import load_scenario, scenario_from_text

pytestmark = pytest.mark.browser


def _grid_texts(page, key: str) -> list[str]:
    return page.evaluate(f"""() => Array.from(document.querySelectorAll(
        '.st-key-{key} [role=gridcell]')).map(e => e.innerText)""")


def _wait_grid(page, key: str, text: str) -> None:
    page.wait_for_function(f"""() => Array.from(document.querySelectorAll(
        '.st-key-{key} [role=gridcell]')).some(e => e.innerText === {text!r})""",
                           timeout=60_000)


def _pick(page, label: str) -> None:
    """Choose `label` in the pool picker (again, if a rerun closed the list meanwhile)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    option = page.get_by_role("option", name=label)
    for _ in range(5):
        idle(page)
        page.locator(".st-key-pool_pick").click()
        try:
            option.wait_for(timeout=10_000)
            option.click(timeout=10_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    raise AssertionError(f"the pool picker never offered {label!r}")


def test_upload_pools_pick_one_and_see_its_allocation(server: str, tmp_path: Path):
    from playwright.sync_api import sync_playwright

    source = (INPUTS / "roles_2024.toml").read_text(encoding="utf-8")
    # the scenario of the test: the roles sample with 16 customer success managers
    text = source.replace('name = "csm"\nlabel = "客户成功经理"\nkind = "headcount"\ntotal = 15',
                          'name = "csm"\nlabel = "客户成功经理"\nkind = "headcount"\ntotal = 16')
    assert text != source
    spec = tomllib.loads(text)
    csm = next(p for p in spec["pools"] if p["name"] == "csm")
    regions = _sample_table()
    weights = _weights(regions, _own_weights(
        {f"w_{d}": w for d, w in csm["weights"].items()}))
    n = len(regions)
    x = ref_optimum(weights, [0.0] * n, [math.inf] * n, _hp(regions), 16, 0.6, True)
    people = ref_whole_people(x, 16, weights, _hp(regions), 0.6)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 4000},
                                      accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(server)
        _wait_for_table(page, "华东")
        page.locator(".st-key-up_scenario input[type=file]").set_input_files(
            files=[{"name": "roles.toml", "mimeType": "application/toml",
                    "buffer": text.encode("utf-8")}])
        # the people cost of the roles appears with the plan of the uploaded pools
        page.get_by_text("全部岗位人力成本合计（每年）").wait_for()
        idle(page)

        # the pool picker: the customer success managers, region by region
        _pick(page, "客户成功经理")
        _wait_grid(page, "pool_table", "华东")
        want = [f"{h} 人" for h in people]
        deadline = time.monotonic() + 60
        while True:  # the grid is drawn again for the picked pool: wait for its cells
            idle(page)
            cells = _grid_texts(page, "pool_table")
            width = len(cells) // n
            rows = [cells[i * width:(i + 1) * width] for i in range(n)]
            # region, high potential, current, proposed, …
            if [r[3] for r in rows if len(r) > 3] == want or time.monotonic() > deadline:
                break
        assert [r[0] for r in rows] == regions["region"].tolist()
        assert [r[3] for r in rows] == want
        facts = page.locator(".st-key-pool_facts").inner_text()
        assert "人力成本合计" in facts and "960.0 万" in facts  # 16 × 0.6 m
        assert page.locator("text=Traceback").count() == 0
        page.screenshot(path=str(tmp_path / "pools-picker.png"))

        # the pools tab: the editor holds the uploaded pools
        page.get_by_role("tab", name="资源池").click()
        _wait_grid(page, "pools_table", "csm")
        names = set(_grid_texts(page, "pools_table"))
        assert {p["name"] for p in spec["pools"]} <= names
        page.screenshot(path=str(tmp_path / "pools-editor.png"))

        # in English (the exports' scripting names), the TOML download holds the pools as
        # uploaded, the allocation download every pool
        page.locator(".st-key-lang").get_by_text("English").click()
        page.get_by_role("heading", name="Region resource planner").wait_for()
        idle(page)
        page.get_by_role("tab", name="Export").click()
        with page.expect_download() as info:
            page.locator(".st-key-dl_toml button").click()
        path = tmp_path / "scenario.toml"
        info.value.save_as(path)
        # the allocation download holds every pool, the people cost included
        with page.expect_download() as info:
            page.locator(".st-key-dl_csv button").click()
        csv_path = tmp_path / "allocation.csv"
        info.value.save_as(csv_path)
        context.close()
        browser.close()
    assert load_scenario(path).pools == scenario_from_text(text).pools
    table = pd.read_csv(csv_path, encoding="utf-8-sig")
    for pool in spec["pools"]:
        assert {f"current_{pool['name']}", pool["name"]} <= set(table.columns)
        assert (f"{pool['name']}_cost" in table.columns) == ("unit_cost" in pool)
    assert table["csm"].tolist() == people
    assert table["csm_cost"].tolist() == [h * 600_000 for h in people]
    downloaded = {p.name: p for p in load_scenario(path).pools}
    assert downloaded["csm"].total == 16
    assert downloaded["expansion_fund"].eligible == ("西南", "西北")
    assert downloaded["director"].unit_cost == 1_000_000

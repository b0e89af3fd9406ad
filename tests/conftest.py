"""Shared fixtures: a small valid regions table as CSV text, and a writer for it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from optimizer.inputs.scenario import DEFAULT_INDICATORS, Scenario

REPO = Path(__file__).resolve().parents[1]
INPUTS = REPO / "inputs"

# region, the nine default indicators, current_headcount, current_budget
COLUMNS: list[str] = ["region", *DEFAULT_INDICATORS, "current_headcount", "current_budget"]
ROWS: list[list[str]] = [
    ["华东", "9500", "0.08", "8.6", "7.2", "0.49", "38", "82", "75", "71", "52", "25200000"],
    ["西南", "4100", "0.28", "4.6", "5.0", "0.38", "30", "58", "48", "63", "12", "3500000"],
    ["东北", "2400", "0.03", "6.2", "5.6", "0.42", "15", "61", "57", "52", "10", "7000000"],
]


def csv_text(rows: list[list[str]] | None = None, columns: list[str] | None = None) -> str:
    """CSV text of a header and rows (default: the three valid rows above)."""
    lines = [columns or COLUMNS, *(ROWS if rows is None else rows)]
    return "".join(",".join(cells) + "\n" for cells in lines)


@pytest.fixture(autouse=True)
def _own_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test a store of its own: nothing a test saves lands in the checkout's data/."""
    if "OPTIMIZER_STORE" not in os.environ:
        db = tmp_path_factory.mktemp("store") / "plans.db"
        monkeypatch.setenv("OPTIMIZER_STORE", f"sqlite:///{db}")


@pytest.fixture
def scenario() -> Scenario:
    """The default scenario: nine indicators, equal weights."""
    return Scenario()


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """write(text, name="regions.csv", bom=True) -> path of a UTF-8 file in tmp_path."""

    def _write(text: str, name: str = "regions.csv", bom: bool = True) -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode("utf-8-sig" if bom else "utf-8"))
        return path

    return _write


# --------------------------------------------------------------------------- the app server
# for the browser tests (tests/test_browser*.py): Debian's Chromium and a real streamlit server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]

def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("OPTIMIZER_SKIP_BROWSER") == "1":
        pytest.skip("OPTIMIZER_SKIP_BROWSER=1 and no Chromium at /usr/bin/chromium")
    pytest.fail("Chromium is missing at /usr/bin/chromium: the browser tests need it "
                "(apt-get install -y chromium). Set OPTIMIZER_SKIP_BROWSER=1 to skip them.",
                pytrace=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The plan store of the module's app server: a file of its own."""
    return f"sqlite:///{tmp_path_factory.mktemp('store') / 'plans.db'}"


def idle(page) -> None:  # noqa: ANN001
    """Wait until the script run has finished (a click or a check during a rerun can miss)."""
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, store_url: str) -> Iterator[str]:
    """A headless `streamlit run app.py` on a free local port; yields its URL."""
    _require_chromium()
    port = _free_port()
    folder = tmp_path_factory.mktemp("server")
    log = folder / "streamlit.log"
    env = {**os.environ, "OPTIMIZER_STORE": store_url}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
             "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--server.address", "127.0.0.1", "--server.port", str(port)],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited ({proc.returncode}):\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().decode().strip() == "ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not answer /_stcore/health:\n{log.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

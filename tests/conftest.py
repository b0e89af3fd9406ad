"""Shared fixtures: a small valid regions table as CSV text, and a writer for it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from optimizer.scenario import DEFAULT_INDICATORS, Scenario

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

"""The regions template (`optimizer template`): headers in the chosen language, one example
row, a sheet explaining the columns; filled in and uploaded unchanged, it validates."""

from __future__ import annotations

import io

import openpyxl
import pytest
from clihelp import cli

from optimizer.inputs.regions import CHINESE_NAMES, read_regions
from optimizer.inputs.scenario import DEFAULT_INDICATORS, Scenario
from optimizer.inputs.template import CSV_NAME, XLSX_NAME, template_files


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_template_validates_unchanged(tmp_path, lang):
    files = template_files(lang)
    assert set(files) == {CSV_NAME, XLSX_NAME}
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        df = read_regions(path, Scenario())
        # the sample's 华东 row (inputs/regions.csv), typed here by hand
        row = df.iloc[0]
        assert (row["region"], row["market_size"], row["growth_rate"]) == ("华东", 9.5e9, 0.08)
        assert (row["current_headcount"], row["current_budget"]) == (52, 25_200_000)
        assert not row["high_potential"] and df["min_budget"].isna().all()


def test_csv_template_has_a_bom_and_chinese_headers():
    data = template_files("zh")[CSV_NAME]
    assert data.startswith(b"\xef\xbb\xbf")
    header = data.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[:3] == ["区域", "市场规模", "增长率"]
    assert template_files("en")[CSV_NAME].decode("utf-8-sig").startswith(
        "region,market_size,growth_rate,")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_xlsx_template_explains_every_column(lang):
    wb = openpyxl.load_workbook(io.BytesIO(template_files(lang)[XLSX_NAME]))
    table, help_sheet = wb.worksheets
    headers = [c.value for c in table[1]]
    explained = [r[0] for r in help_sheet.iter_rows(min_row=2, values_only=True)]
    assert len(explained) == len(headers)
    for name in ["region", *DEFAULT_INDICATORS, "current_headcount", "current_budget"]:
        shown = CHINESE_NAMES[name][0] if lang == "zh" else name
        assert shown in headers
        assert any(e.startswith(shown) for e in explained)
    units = [r[2] for r in help_sheet.iter_rows(min_row=2, values_only=True)]
    assert all(units)


def test_cli_template(tmp_path):
    r = cli("template", "--lang", "zh", "--out", tmp_path / "t")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "t" / CSV_NAME).read_bytes() == template_files("zh")[CSV_NAME]
    r = cli("validate", "--regions", tmp_path / "t" / XLSX_NAME)
    assert r.returncode == 0, r.stderr + r.stdout


def test_cli_template_into_a_file_is_exit_2(tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    r = cli("template", "--out", f, "--lang", "zh")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr

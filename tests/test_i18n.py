"""Both languages have every text, with the same placeholders; the code uses only known keys."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from optimizer.inputs.scenario import DEFAULT_INDICATORS, DIMENSIONS, POOLS
from optimizer.words import LANGS, MESSAGES, has, indicator_label, t

PACKAGE = Path(__file__).resolve().parents[1] / "optimizer"
# Texts that are rightly the same in both languages.
SAME_IN_BOTH = {"language"}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_keys():
    assert set(LANGS) == set(MESSAGES)
    assert set(MESSAGES["zh"]) == set(MESSAGES["en"])


@pytest.mark.parametrize("key", sorted(MESSAGES["en"]))
def test_same_placeholders_and_a_real_translation(key):
    assert _fields(MESSAGES["zh"][key]) == _fields(MESSAGES["en"][key]), key
    if key not in SAME_IN_BOTH:
        assert MESSAGES["zh"][key] != MESSAGES["en"][key], key
    assert MESSAGES["zh"][key].strip() and MESSAGES["en"][key].strip()


def test_keys_used_in_the_code_exist():
    used: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        used |= set(re.findall(r"\bt\(\s*\"([a-z0-9_]+)\"", path.read_text(encoding="utf-8")))
    assert used, "no t(...) calls found"
    assert not sorted(k for k in used if not has(k))


def test_keys_built_from_names_exist():
    built = [f"dim_{d}" for d in DIMENSIONS] + [f"col_{d}" for d in DIMENSIONS]
    built += [f"pool_{p}" for p in POOLS] + [f"ind_{n}" for n in DEFAULT_INDICATORS]
    built += ["dir_higher", "dir_lower", "rule_column", "rule_threshold", "col_score"]
    for p in POOLS:
        built += [f"col_current_{p}", f"col_{p}", f"col_{p}_change", f"col_{p}_change_pct",
                  f"col_{p}_target"]
    assert [k for k in built if not has(k)] == []


def test_t_fills_placeholders_and_rejects_unknown_keys():
    assert t("data_source", "en", name="x.csv", n=7) == "Data: x.csv (7 regions)"
    assert t("data_source", "zh", name="x.csv", n=7) == "数据：x.csv（7 个区域）"
    assert t("app_title", "fr") == t("app_title", "zh")  # unknown language: the default
    with pytest.raises(KeyError):
        t("no_such_key", "en")


def test_indicator_labels():
    assert indicator_label("market_size", "zh") == "市场规模"
    assert indicator_label("market_size", "en") == "Market size"
    assert indicator_label("customer_density", "zh") == "customer_density"


def test_keys_of_the_pools_editor_exist():
    """Every column of the pools editor and every pool kind has a label in both languages."""
    from optimizer.app.editors import POOL_EDITOR_COLUMNS
    from optimizer.inputs.scenario_read import POOL_KINDS

    for kind in POOL_KINDS:
        assert has(f"pool_kind_{kind}")
    for column in POOL_EDITOR_COLUMNS:
        if column.startswith("w_"):
            assert column.removeprefix("w_") in DIMENSIONS
            continue
        assert has(f"pcol_{column}"), column
        for lang in LANGS:
            assert t(f"pcol_{column}", lang)


def test_an_added_pool_is_named_by_its_label():
    from optimizer.words import pool_label

    assert pool_label("headcount", "zh") == "人员"
    assert pool_label("csm", "zh") == "csm"
    assert pool_label("csm", "en", "客户成功经理") == "客户成功经理"

"""Display formats for a Chinese finance reader."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optimizer.fmt import (
    fmt_amount,
    fmt_cny,
    fmt_pct,
    fmt_people,
    fmt_signed_cny,
    fmt_signed_pct,
    fmt_signed_people,
    fmt_signed_pp,
    to_wan,
    to_yi,
)


@pytest.mark.parametrize(("value", "zh", "en"), [
    (123_456_789, "1.23 亿", "CNY 123.46 m"),
    (1e8, "1.00 亿", "CNY 100.00 m"),
    (1.52e9, "15.20 亿", "CNY 1,520.00 m"),
    (12_345_678, "1,234.6 万", "CNY 12.35 m"),
    (1e4, "1.0 万", "CNY 10.0 k"),
    (123_456, "12.3 万", "CNY 123.5 k"),
    (1_234.56, "¥1,234.56", "CNY 1,234.56"),
    (9_999, "¥9,999.00", "CNY 9,999.00"),
    (0, "¥0.00", "CNY 0.00"),
    (0.004, "¥0.00", "CNY 0.00"),
    (-1_234.56, "-¥1,234.56", "-CNY 1,234.56"),
    (-123_456_789, "-1.23 亿", "-CNY 123.46 m"),
    (-0.001, "¥0.00", "CNY 0.00"),  # rounds to zero: no sign
])
def test_fmt_cny(value, zh, en):
    assert fmt_cny(value) == zh
    assert fmt_cny(value, "zh") == zh
    assert fmt_cny(value, "en") == en


@pytest.mark.parametrize(("value", "zh"), [
    (99_999_999, "1.00 亿"),  # would round to "10,000.0 万"
    (99_990_000, "9,999.0 万"),
    (9_999.999, "1.0 万"),  # would round to "¥10,000.00"
])
def test_fmt_cny_moves_to_the_next_unit_when_rounding_reaches_it(value, zh):
    assert fmt_cny(value) == zh


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, float("inf"), pd.NA, "x"])
def test_missing_values_show_a_dash(missing):
    for f in (fmt_cny, fmt_people, fmt_pct, fmt_signed_cny, fmt_signed_pct, fmt_signed_people,
              fmt_signed_pp):
        assert f(missing) == "—"


def test_fmt_cny_accepts_numpy_scalars():
    assert fmt_cny(np.float64(2.5e8)) == "2.50 亿"
    assert fmt_cny(np.int64(50_000), "en") == "CNY 50.0 k"


@pytest.mark.parametrize(("value", "zh", "en"), [
    (1_234, "1,234 人", "1,234 people"),
    (1, "1 人", "1 person"),
    (0, "0 人", "0 people"),
    (12.4, "12.4 人", "12.4 people"),
    (np.int64(206), "206 人", "206 people"),
    (-3, "-3 人", "-3 people"),
])
def test_fmt_people(value, zh, en):
    assert fmt_people(value) == zh
    assert fmt_people(value, "en") == en


@pytest.mark.parametrize(("value", "text"), [
    (0.6, "60.0 %"), (0.0, "0.0 %"), (1, "100.0 %"), (-0.05, "-5.0 %"), (-0.0001, "0.0 %"),
    (0.12345, "12.3 %"),
])
def test_fmt_pct(value, text):
    assert fmt_pct(value) == text


def test_fmt_pct_digits():
    assert fmt_pct(0.12345, digits=2) == "12.35 %"
    assert fmt_pct(0.6, digits=0) == "60 %"


@pytest.mark.parametrize(("value", "text"), [
    (0.05, "+5.0 %"), (-0.05, "-5.0 %"), (0.0, "0.0 %"), (0.00001, "0.0 %"), (-0.3, "-30.0 %"),
])
def test_fmt_signed_pct(value, text):
    assert fmt_signed_pct(value) == text


@pytest.mark.parametrize(("value", "zh", "en"), [
    (12_000, "+1.2 万", "+CNY 12.0 k"),
    (-350, "-¥350.00", "-CNY 350.00"),
    (0, "¥0.00", "CNY 0.00"),
    (-0.001, "¥0.00", "CNY 0.00"),
    (2e8, "+2.00 亿", "+CNY 200.00 m"),
])
def test_fmt_signed_cny(value, zh, en):
    assert fmt_signed_cny(value) == zh
    assert fmt_signed_cny(value, "en") == en


def test_fmt_signed_people_and_pp():
    assert fmt_signed_people(3) == "+3 人"
    assert fmt_signed_people(-1, "en") == "-1 person"
    assert fmt_signed_people(0) == "0 人"
    assert fmt_signed_pp(0.023) == "+2.3 个百分点"
    assert fmt_signed_pp(-0.023, lang="en") == "-2.3 pp"
    assert fmt_signed_pp(0.0, lang="en") == "0.0 pp"


def test_to_wan_and_to_yi():
    assert to_wan(12_345) == pytest.approx(1.2345)
    assert to_yi(1.52e9) == pytest.approx(15.2)
    s = pd.Series([1e4, 1e8])
    assert to_wan(s).tolist() == [1.0, 1e4]
    assert to_yi(np.array([1e8, 5e7])).tolist() == [1.0, 0.5]


# --------------------------------------------------------------------------- fmt_amount

@pytest.mark.parametrize(("value", "zh", "en"), [
    (50, "0.01 万", "50.00 CNY"),
    (0, "0.00 万", "0.00 CNY"),
    (1_234.5, "0.12 万", "1,234.50 CNY"),
    (99_999.99, "10.00 万", "99,999.99 CNY"),
    (1e5, "10.00 万", "0.10 m"),
    (1_234_567, "123.46 万", "1.23 m"),
    (1_234_500, "123.45 万", "1.23 m"),
    (99_999_499, "9,999.95 万", "100.00 m"),
    (1e8, "1.0000 亿", "100.00 m"),
    (123_456_789, "1.2346 亿", "123.46 m"),
    (1.52e9, "15.2000 亿", "1,520.00 m"),
    (-1_234_500, "-123.45 万", "-1.23 m"),
    (-50, "-0.01 万", "-50.00 CNY"),
    (-0.001, "0.00 万", "0.00 CNY"),  # rounds to zero: no sign
])
def test_fmt_amount_precise_money(value, zh, en):
    assert fmt_amount(value, "zh", precise=True) == zh
    assert fmt_amount(value, "en", precise=True) == en


@pytest.mark.parametrize(("value", "zh", "en"), [
    (99_999.999, "10.00 万", "0.10 m"),  # would round to "100,000.00 CNY"
    (-99_999.999, "-10.00 万", "-0.10 m"),
    (99_999_999.999, "1.0000 亿", "100.00 m"),  # would round to "10,000.00 万"
    (99_999_949.999, "9,999.99 万", "100.00 m"),
])
def test_fmt_amount_precise_moves_to_the_next_unit_when_rounding_reaches_it(value, zh, en):
    assert fmt_amount(value, "zh", precise=True) == zh
    assert fmt_amount(value, "en", precise=True) == en


@pytest.mark.parametrize(("value", "zh", "en"), [
    (1, "1 人", "1 person"),
    (1.2, "1 人", "1 person"),
    (0, "0 人", "0 people"),
    (0.4, "0 人", "0 people"),
    (12.6, "13 人", "13 people"),
    (1_234, "1,234 人", "1,234 people"),
    (np.int64(206), "206 人", "206 people"),
    (-1, "-1 人", "-1 person"),
    (-3, "-3 人", "-3 people"),
    (-0.3, "0 人", "0 people"),  # rounds to zero: no sign
])
def test_fmt_amount_precise_people(value, zh, en):
    assert fmt_amount(value, "zh", people=True, precise=True) == zh
    assert fmt_amount(value, "en", people=True, precise=True) == en


@pytest.mark.parametrize("value", [0, 0.004, 1, 12.4, 9_999.999, 1e4, 123_456, 99_999_999,
                                   1.52e9, -350, -1_234.56, -0.001, None, float("nan")])
def test_fmt_amount_table_style_is_fmt_cny_and_fmt_people(value):
    for lang in ("zh", "en"):
        assert fmt_amount(value, lang) == fmt_cny(value, lang)
        assert fmt_amount(value, lang, signed=True) == fmt_signed_cny(value, lang)
        assert fmt_amount(value, lang, people=True) == fmt_people(value, lang)
        assert fmt_amount(value, lang, people=True, signed=True) == fmt_signed_people(value, lang)
    assert fmt_amount(value) == fmt_cny(value)  # zh by default


def test_fmt_amount_signed_precise():
    assert fmt_amount(1_234_500, "zh", signed=True, precise=True) == "+123.45 万"
    assert fmt_amount(-50, "en", signed=True, precise=True) == "-50.00 CNY"
    assert fmt_amount(0.001, "en", signed=True, precise=True) == "0.00 CNY"
    assert fmt_amount(1, "en", people=True, signed=True, precise=True) == "+1 person"
    assert fmt_amount(0.2, "zh", people=True, signed=True, precise=True) == "0 人"


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, float("inf"), pd.NA, "x"])
def test_fmt_amount_missing_values_show_a_dash(missing):
    for people in (False, True):
        for precise in (False, True):
            assert fmt_amount(missing, "en", people=people, precise=precise) == "—"


def test_fmt_limit_writes_a_limit_as_typed():
    from optimizer.fmt import fmt_limit

    assert fmt_limit(1, True) == "1"
    assert fmt_limit(2500, True) == "2,500"
    assert fmt_limit(1.5, False) == "1.5"
    assert fmt_limit(2.0, False) == "2"
    assert fmt_limit(1234.567, False) == "1,234.57"

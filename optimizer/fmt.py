"""Numbers as a Chinese finance reader expects them: 万 and 亿, CNY, people, percentages.

The one formatter of every amount shown to a planner (the web app, the CLI, diagnoses,
relaxations, review alarms); exports keep plain numbers. `fmt_amount` writes an amount of
people or money in one of two styles:

- the table style (default), short for a glance: "1.23 亿", "1,234.5 万", "¥1,234.56";
  "CNY 123.45 m", "CNY 12.3 k", "CNY 1,234.56"; "12.4 人", "1 person";
- the precise style (`precise=True`), more digits for a sentence a finance reader checks
  (diagnoses, relaxations, alarms): "123.45 万", "1.2345 亿"; "1.23 m", "50.00 CNY";
  people always whole: "13 人", "1 person".

`fmt_cny`, `fmt_people` and their signed forms are the table style. An amount moves to the
next unit when its rounding reaches it (99,999.999 is "0.10 m", not "100,000.00 CNY").
Missing values (None, NaN, ±inf) show as an em dash. Negative numbers carry an ASCII
"-" (Streamlit's `st.metric` reads a leading "-" as a decrease); a value that rounds
to zero is shown without a sign.
"""

from __future__ import annotations

import math
from typing import Any

DASH = "—"
WAN = 1e4  # 万
YI = 1e8  # 亿


def to_wan(v: Any) -> Any:
    """Amount in 万 (ten thousands); works on numbers, arrays and Series."""
    return v / WAN


def to_yi(v: Any) -> Any:
    """Amount in 亿 (hundred millions); works on numbers, arrays and Series."""
    return v / YI


def _number(v: Any) -> float | None:
    """`v` as a finite float, None when missing or not finite."""
    if v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _cny_abs(a: float, lang: str, precise: bool = False) -> str:
    """A non-negative amount in the largest unit it reaches (after rounding)."""
    if precise:
        if lang == "zh":
            if a >= YI or round(a / WAN, 2) >= 1e4:
                return f"{a / YI:,.4f} 亿"
            return f"{a / WAN:,.2f} 万"
        if a >= 1e5 or round(a, 2) >= 1e5:
            return f"{a / 1e6:,.2f} m"
        return f"{a:,.2f} CNY"
    if lang == "zh":
        if a >= YI or round(a / WAN, 1) >= 1e4:
            return f"{a / YI:,.2f} 亿"
        if a >= WAN or round(a, 2) >= WAN:
            return f"{a / WAN:,.1f} 万"
        return f"¥{a:,.2f}"
    if a >= 1e6 or round(a / 1e3, 1) >= 1e3:
        return f"CNY {a / 1e6:,.2f} m"
    if a >= WAN or round(a, 2) >= WAN:
        return f"CNY {a / 1e3:,.1f} k"
    return f"CNY {a:,.2f}"


def _people_abs(a: float, lang: str, precise: bool = False) -> str:
    """A non-negative number of people; fractions with one decimal unless `precise`
    (whole people, as a diagnosis counts them)."""
    if precise:
        num = f"{a:,.0f}"
    else:
        whole = abs(a - round(a)) < 1e-9
        num = f"{round(a):,}" if whole else f"{a:,.1f}"
    if lang == "zh":
        return f"{num} 人"
    return f"{num} {'person' if num == '1' else 'people'}"


def _is_zero(text: str) -> bool:
    return not any(ch in "123456789" for ch in text)


def _signed(x: float, text: str, signed: bool) -> str:
    """`text` (the magnitude of `x`) with its sign: "-" when negative, "+" too when `signed`;
    none when it rounds to zero."""
    if _is_zero(text):
        return text
    if x < 0:
        return "-" + text
    return "+" + text if signed else text


def fmt_amount(v: Any, lang: str = "zh", *, people: bool = False, signed: bool = False,
               precise: bool = False) -> str:
    """An amount of people (`people=True`) or of money (CNY), in the table style or, with
    `precise`, in the explanation style (see the module docstring).

    `signed` writes a change: "+" on a positive amount. Missing: "—".
    """
    x = _number(v)
    if x is None:
        return DASH
    a = abs(x)
    text = _people_abs(a, lang, precise) if people else _cny_abs(a, lang, precise)
    return _signed(x, text, signed)


def fmt_cny(v: Any, lang: str = "zh") -> str:
    """An amount of money: "1.23 亿", "1,234.5 万", "¥1,234.56" (zh);
    "CNY 123.45 m", "CNY 12.3 k", "CNY 1,234.56" (en). Missing: "—"."""
    return fmt_amount(v, lang)


def fmt_signed_cny(v: Any, lang: str = "zh") -> str:
    """A change of money with its sign: "+1.2 万", "-¥350.00"; zero has no sign."""
    return fmt_amount(v, lang, signed=True)


def fmt_people(v: Any, lang: str = "zh") -> str:
    """A number of people: "1,234 人" / "1,234 people"; fractions with one decimal."""
    return fmt_amount(v, lang, people=True)


def fmt_signed_people(v: Any, lang: str = "zh") -> str:
    """A change of people with its sign: "+3 人", "-1 person"; zero has no sign."""
    return fmt_amount(v, lang, people=True, signed=True)


def fmt_pct(v: Any, digits: int = 1) -> str:
    """A fraction as a percentage: 0.6 -> "60.0 %"."""
    x = _number(v)
    if x is None:
        return DASH
    text = f"{abs(x) * 100:,.{digits}f} %"
    return "-" + text if x < 0 and not _is_zero(text) else text


def fmt_signed_pct(v: Any, digits: int = 1) -> str:
    """A relative change with its sign: 0.05 -> "+5.0 %"; zero has no sign."""
    x = _number(v)
    if x is None:
        return DASH
    text = f"{abs(x) * 100:,.{digits}f} %"
    if _is_zero(text):
        return text
    return ("-" if x < 0 else "+") + text


def fmt_signed_pp(v: Any, digits: int = 1, lang: str = "zh") -> str:
    """A change of a share in percentage points: 0.023 -> "+2.3 个百分点" / "+2.3 pp"."""
    x = _number(v)
    if x is None:
        return DASH
    unit = "个百分点" if lang == "zh" else "pp"
    num = f"{abs(x) * 100:,.{digits}f}"
    if _is_zero(num):
        return f"{num} {unit}"
    return f"{'-' if x < 0 else '+'}{num} {unit}"


def fmt_limit(v: float, whole: bool) -> str:
    """A limit as the planner typed it in the scenario (a rule's amount, the same in both
    languages): "1", "2,500", "1.5" — whole people without decimals, money to the cent
    without trailing zeros."""
    if whole:
        return f"{v:,.0f}"
    return f"{v:,.2f}".rstrip("0").rstrip(".")

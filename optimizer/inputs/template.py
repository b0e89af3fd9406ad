"""A regions table to start from: the headers in the planner's language and one example row.

`template_files(lang)` returns regions_template.csv (UTF-8 with BOM, so that Excel shows
the Chinese) and regions_template.xlsx (the table, and a second sheet that explains each
column, its unit and its range). Filled in and uploaded unchanged, both validate.
"""

from __future__ import annotations

import csv
import io

from optimizer.inputs.regions import CHINESE_NAMES
from optimizer.words import choose

# The bundled sample's 华东 row (inputs/regions.csv): the example a planner overwrites.
EXAMPLE: dict[str, object] = {
    "region": "华东", "market_size": 9_500_000_000, "growth_rate": 0.08,
    "competition_intensity": 8.6, "customer_ltv": 7_200_000, "repurchase_rate": 0.49,
    "referral_score": 38, "team_capability": 82, "resource_reserve": 75,
    "collaboration_efficiency": 71, "current_headcount": 52, "current_budget": 25_200_000,
    "high_potential": "否", "min_headcount": None, "max_headcount": None, "min_budget": None,
    "max_budget": None,
}

# column -> (meaning, unit, range) in English and Chinese.
_HELP: dict[str, tuple[tuple[str, str, str], tuple[str, str, str]]] = {
    "region": (("unique region name, e.g. 华东", "text", "required, unique, non-empty"),
               ("区域名称，例如 华东", "文本", "必填，唯一，非空")),
    "market_size": (("addressable market (market potential, higher is better)", "CNY",
                     "≥ 0; 2,520万 and 1.2亿 are accepted"),
                    ("可触达市场规模（市场潜力，越高越好）", "元", "≥ 0；可写 2,520万、1.2亿")),
    "growth_rate": (("annual growth (market potential, higher is better)", "fraction",
                     "any sign; 0.08 or 8%"),
                    ("年增长率（市场潜力，越高越好）", "比例", "可为负；0.08 或 8%")),
    "competition_intensity": (("competition (market potential, lower is better)", "any scale",
                               "any number"),
                              ("竞争强度（市场潜力，越低越好）", "任意刻度", "任意数值")),
    "customer_ltv": (("customer lifetime value (customer value, higher is better)", "CNY",
                      "≥ 0"),
                     ("客户终身价值（客户价值，越高越好）", "元", "≥ 0")),
    "repurchase_rate": (("repurchase rate (customer value, higher is better)", "fraction",
                         "0 to 1; 0.42 or 42%"),
                        ("复购率（客户价值，越高越好）", "比例", "0 到 1；0.42 或 42%")),
    "referral_score": (("willingness to refer / NPS (customer value, higher is better)",
                        "any scale", "any number"),
                       ("推荐意愿 / NPS（客户价值，越高越好）", "任意刻度", "任意数值")),
    "team_capability": (("team capability (internal capability, higher is better)", "score",
                         "any number"),
                        ("团队能力（内部能力，越高越好）", "分数", "任意数值")),
    "resource_reserve": (("resource reserve (internal capability, higher is better)", "score",
                          "any number"),
                         ("资源储备（内部能力，越高越好）", "分数", "任意数值")),
    "collaboration_efficiency": (("collaboration efficiency (internal capability, higher is "
                                  "better)", "score", "any number"),
                                 ("协同效率（内部能力，越高越好）", "分数", "任意数值")),
    "current_headcount": (("people in the region today", "people", "whole number ≥ 0"),
                          ("当前人数", "人", "≥ 0 的整数")),
    "current_budget": (("budget of the region today", "CNY", "≥ 0"),
                       ("当前预算", "元", "≥ 0")),
    "high_potential": (("high-potential market (optional)", "yes/no",
                        "true/false, 1/0, yes/no, 是/否; blank = no"),
                       ("是否高潜力市场（可选）", "是/否", "是/否、true/false、1/0；空白 = 否")),
    "min_headcount": (("fewest people (optional bound)", "people", "≥ 0; blank = no bound"),
                      ("最少人数（可选下限）", "人", "≥ 0；空白 = 不限")),
    "max_headcount": (("most people (optional bound)", "people", "≥ 0; blank = no bound"),
                      ("最多人数（可选上限）", "人", "≥ 0；空白 = 不限")),
    "min_budget": (("lowest budget (optional bound)", "CNY", "≥ 0; blank = no bound"),
                   ("最低预算（可选下限）", "元", "≥ 0；空白 = 不限")),
    "max_budget": (("highest budget (optional bound)", "CNY", "≥ 0; blank = no bound"),
                   ("最高预算（可选上限）", "元", "≥ 0；空白 = 不限")),
}
_HELP_HEADERS = {"en": ["column", "meaning", "unit", "range"],
                 "zh": ["列名", "含义", "单位", "取值范围"]}
_SHEETS = {"en": ("regions", "columns"), "zh": ("区域表", "列说明")}
CSV_NAME, XLSX_NAME = "regions_template.csv", "regions_template.xlsx"


def template_headers(lang: str) -> list[str]:
    """The template's column headers: Chinese names under "zh", the contract names else."""
    return [choose(lang, c, CHINESE_NAMES[c][0]) for c in EXAMPLE]


def template_files(lang: str = "en") -> dict[str, bytes]:
    """{file name: bytes} of the CSV (UTF-8 with BOM) and XLSX regions templates."""
    return {CSV_NAME: _csv(lang), XLSX_NAME: _xlsx(lang)}


def _csv(lang: str) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")  # Excel's own line ends
    w.writerow(template_headers(lang))
    w.writerow(["" if v is None else v for v in EXAMPLE.values()])
    return buf.getvalue().encode("utf-8-sig")


def _xlsx(lang: str) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False})
    bold = wb.add_format({"bold": True})
    table_name, help_name = choose(lang, _SHEETS["en"], _SHEETS["zh"])
    ws = wb.add_worksheet(table_name)
    ws.write_row(0, 0, template_headers(lang), bold)
    ws.write_row(1, 0, [v for v in EXAMPLE.values()])
    ws.set_column(0, len(EXAMPLE) - 1, 16)
    ws.freeze_panes(1, 0)
    hs = wb.add_worksheet(help_name)
    hs.write_row(0, 0, choose(lang, _HELP_HEADERS["en"], _HELP_HEADERS["zh"]), bold)
    for i, (name, header) in enumerate(zip(EXAMPLE, template_headers(lang), strict=True),
                                       start=1):
        meaning, unit, span = choose(lang, *_HELP[name])
        hs.write_row(i, 0, [header if header == name else f"{header} ({name})", meaning, unit,
                            span])
    hs.set_column(0, 0, 34)
    hs.set_column(1, 1, 60)
    hs.set_column(2, 3, 30)
    wb.close()
    return buf.getvalue()

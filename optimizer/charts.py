"""Altair charts of a plan, titled and labelled in the page language.

Each builder is pure: DataFrames (and the language) in, an Altair chart out. With
many territories a chart shows the regions that matter most (largest score, largest
change) and says so in its title, so that it stays readable at 2,000 rows.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from optimizer.i18n import dimension_label, pool_label, t
from optimizer.scenario import DIMENSIONS, Scenario

MAX_BARS = 40  # regions shown in a bar chart
MAX_LINES = 12  # regions shown in the sweep chart
_WIDTH = "container"


def _title(text: str, shown: int, total: int, lang: str) -> str:
    return text + (t("chart_top", lang, n=shown, total=total) if shown < total else "")


def _region_order(regions: pd.Series) -> list[str]:
    return regions.astype(str).tolist()


def _region_axis(n: int) -> alt.Axis:
    """Upright labels for a few regions (Chinese names read badly when turned)."""
    return alt.Axis(labelAngle=0 if n <= 12 else -45)


def score_contributions(scores: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Each dimension's part of the composite score: w_d·D[r,d] / Σ w over active dimensions.

    A dimension counts when it has a score (not NaN) and a weight > 0 (MODEL.md); the
    parts of a region add up to its composite score. Columns: region, dimension, part.
    """
    active = [d for d in DIMENSIONS
              if d in scores.columns and scores[d].notna().any() and scenario.weights[d] > 0]
    total = sum(scenario.weights[d] for d in active)
    rows = []
    for d in active:
        part = scores[d].to_numpy(dtype=float) * scenario.weights[d] / total
        rows.append(pd.DataFrame({"region": scores["region"].astype(str).to_numpy(),
                                  "dimension": d, "part": part}))
    if not rows:
        return pd.DataFrame(columns=["region", "dimension", "part"])
    return pd.concat(rows, ignore_index=True)


def score_chart(scores: pd.DataFrame, scenario: Scenario, lang: str,
                max_regions: int = MAX_BARS) -> alt.Chart:
    """Stacked bars: the composite score per region, split by dimension."""
    top = scores.nlargest(max_regions, "score") if len(scores) > max_regions else scores
    parts = score_contributions(top, scenario)
    parts["dimension_label"] = parts["dimension"].map(lambda d: dimension_label(d, lang))
    order = [dimension_label(d, lang) for d in DIMENSIONS]
    title = _title(t("chart_scores", lang), len(top), len(scores), lang)
    return alt.Chart(parts, title=title).mark_bar().encode(
        x=alt.X("region:N", sort=_region_order(top["region"]), title=t("axis_region", lang),
                axis=_region_axis(len(top))),
        y=alt.Y("sum(part):Q", title=t("axis_score", lang), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("dimension_label:N", sort=order, title=t("axis_dimension", lang)),
        order=alt.Order("dimension:N"),
        tooltip=[alt.Tooltip("region:N", title=t("axis_region", lang)),
                 alt.Tooltip("dimension_label:N", title=t("axis_dimension", lang)),
                 alt.Tooltip("part:Q", format=".3f", title=t("axis_score", lang))],
    ).properties(width=_WIDTH, height=320)


def pool_chart(table: pd.DataFrame, pool: str, lang: str,
               max_regions: int = MAX_BARS) -> alt.Chart:
    """Grouped bars per region: current, proposed and score-proportional amounts of `pool`.

    `table` is `export.allocation_table(result)`. With more than `max_regions` rows, the
    regions with the largest absolute change are shown.
    """
    if len(table) > max_regions:
        top = table.loc[table[f"{pool}_change"].abs().nlargest(max_regions).index]
    else:
        top = table
    series = {
        f"current_{pool}": t("kind_current", lang),
        pool: t("kind_proposed", lang),
        f"{pool}_target": t("kind_target", lang),
    }
    long = top.melt(id_vars=["region"], value_vars=list(series), var_name="column",
                    value_name="amount")
    long["series"] = long["column"].map(series)
    order = list(series.values())
    title = _title(t("chart_pool", lang, pool=pool_label(pool, lang)), len(top), len(table), lang)
    return alt.Chart(long, title=title).mark_bar().encode(
        x=alt.X("region:N", sort=_region_order(top["region"]), title=t("axis_region", lang),
                axis=_region_axis(len(top))),
        xOffset=alt.XOffset("series:N", sort=order),
        y=alt.Y("amount:Q", title=t("axis_amount", lang)),
        color=alt.Color("series:N", sort=order, title=t("axis_series", lang)),
        tooltip=[alt.Tooltip("region:N", title=t("axis_region", lang)),
                 alt.Tooltip("series:N", title=t("axis_series", lang)),
                 alt.Tooltip("amount:Q", format=",.0f", title=t("axis_amount", lang))],
    ).properties(width=_WIDTH, height=300)


def hp_share_chart(shares: pd.DataFrame, lang: str) -> alt.LayerChart:
    """Bars of the high-potential share before/after per pool, with a tick at the rule.

    `shares` has columns pool, series, share, required (`viewmodel.hp_shares`).
    """
    data = shares.copy()
    order = [t("kind_current", lang), t("kind_proposed", lang)]
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("pool:N", title=t("axis_pool", lang), axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("series:N", sort=order),
        y=alt.Y("share:Q", title=t("axis_share", lang), axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("series:N", sort=order, title=t("axis_series", lang)),
        tooltip=[alt.Tooltip("pool:N", title=t("axis_pool", lang)),
                 alt.Tooltip("series:N", title=t("axis_series", lang)),
                 alt.Tooltip("share:Q", format=".1%", title=t("axis_share", lang))],
    )
    rule_data = data.drop_duplicates("pool").assign(rule=t("kind_rule", lang))
    rule = alt.Chart(rule_data).mark_tick(color="#d62728", thickness=3, size=60).encode(
        x=alt.X("pool:N"),
        y=alt.Y("required:Q"),
        tooltip=[alt.Tooltip("rule:N", title=t("axis_series", lang)),
                 alt.Tooltip("required:Q", format=".1%", title=t("kind_rule", lang))],
    )
    return alt.layer(bars, rule, title=t("chart_hp", lang)).properties(width=_WIDTH,
                                                                         height=280)


def sweep_chart(sweep: pd.DataFrame, pool: str, dimension: str, current: float, lang: str,
                max_regions: int = MAX_LINES) -> alt.LayerChart:
    """Lines: each region's allocation of `pool` as the weight of `dimension` moves.

    `sweep` is `whatif.weight_sweep(...)`; with many regions the ones whose allocation
    moves most over the sweep are drawn. A vertical rule marks the current weight.
    """
    data = sweep[sweep["pool"] == pool]
    span = data.groupby("region", sort=False)["allocation"].agg(lambda s: s.max() - s.min())
    total = len(span)
    if total > max_regions:
        keep = span.nlargest(max_regions).index
        data = data[data["region"].isin(keep)]
    dim = dimension_label(dimension, lang)
    title = _title(t("chart_sweep", lang, pool=pool_label(pool, lang), dim=dim),
                   min(total, max_regions), total, lang)
    lines = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("weight:Q", title=t("axis_weight", lang, dim=dim), axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("allocation:Q", title=pool_label(pool, lang)),
        color=alt.Color("region:N", title=t("axis_region", lang)),
        tooltip=[alt.Tooltip("region:N", title=t("axis_region", lang)),
                 alt.Tooltip("weight:Q", format=".0%", title=t("axis_weight", lang, dim=dim)),
                 alt.Tooltip("allocation:Q", format=",.0f", title=pool_label(pool, lang))],
    )
    now = alt.Chart(pd.DataFrame({"weight": [float(current)]})).mark_rule(
        strokeDash=[4, 4], color="gray").encode(x="weight:Q")
    return alt.layer(lines, now, title=title).properties(width=_WIDTH, height=300)


def compare_chart(diff: pd.DataFrame, pool: str, names: tuple[str, str], lang: str,
                  max_regions: int = MAX_BARS) -> alt.Chart:
    """Grouped bars per region: `pool` in scenario A and in scenario B.

    `diff` is `whatif.compare(a, b)`; with many regions the largest differences are shown.
    """
    if len(diff) > max_regions:
        top = diff.loc[diff[f"{pool}_diff"].abs().fillna(np.inf).nlargest(max_regions).index]
    else:
        top = diff
    labels = {f"{pool}_a": f"A · {names[0]}", f"{pool}_b": f"B · {names[1]}"}
    if labels[f"{pool}_a"] == labels[f"{pool}_b"]:
        labels = {f"{pool}_a": "A", f"{pool}_b": "B"}
    long = top.melt(id_vars=["region"], value_vars=list(labels), var_name="column",
                    value_name="amount")
    long["series"] = long["column"].map(labels)
    order = list(labels.values())
    title = _title(t("chart_compare", lang, pool=pool_label(pool, lang)), len(top), len(diff),
                   lang)
    return alt.Chart(long, title=title).mark_bar().encode(
        x=alt.X("region:N", sort=_region_order(top["region"]), title=t("axis_region", lang),
                axis=_region_axis(len(top))),
        xOffset=alt.XOffset("series:N", sort=order),
        y=alt.Y("amount:Q", title=t("axis_amount", lang)),
        color=alt.Color("series:N", sort=order, title=t("axis_series", lang)),
        tooltip=[alt.Tooltip("region:N", title=t("axis_region", lang)),
                 alt.Tooltip("series:N", title=t("axis_series", lang)),
                 alt.Tooltip("amount:Q", format=",.0f", title=t("axis_amount", lang))],
    ).properties(width=_WIDTH, height=300)

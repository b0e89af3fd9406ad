"""Altair charts of a plan, titled and labelled in the page language.

Each builder is pure: DataFrames (and the language) in, an Altair chart out. With
many territories a chart shows the regions that matter most (largest score, largest
change) and says so in its title, so that it stays readable at 2,000 rows.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from optimizer import Scenario, t
from optimizer.inputs.scenario import DIMENSIONS
from optimizer.words import dimension_label, pool_label

MAX_BARS = 40  # regions shown in a bar chart
MAX_LINES = 12  # regions shown in the sweep chart
_WIDTH = "container"


def _title(text: str, shown: int, total: int, lang: str) -> str:
    return text + (t("chart_top", lang, n=shown, total=total) if shown < total else "")


def _pool_name(pool: str, lang: str, label: str | None) -> str:
    """A pool's display name: the one given (an added pool's label), else the built-in's."""
    return label or pool_label(pool, lang)


def _region_order(regions: pd.Series) -> list[str]:
    return regions.astype(str).tolist()


def _region_axis(n: int) -> alt.Axis:
    """Upright labels for a few regions (Chinese names read badly when turned)."""
    return alt.Axis(labelAngle=0 if n <= 12 else -45)


def score_contributions(scores: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Each dimension's part of the composite score: w_d·D[r,d] / Σ w over active dimensions.

    A dimension counts when it has a score (not NaN) and a weight > 0 (docs/model.md); the
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
               max_regions: int = MAX_BARS, label: str | None = None) -> alt.Chart:
    """Grouped bars per region: current, proposed and score-proportional amounts of `pool`.

    `table` is `export.allocation_table(result)`. With more than `max_regions` rows, the
    regions with the largest absolute change are shown.
    """
    name = _pool_name(pool, lang, label)
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
    title = _title(t("chart_pool", lang, pool=name), len(top), len(table), lang)
    return _grouped_bars(long, top, order, title, lang)


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
                max_regions: int = MAX_LINES, label: str | None = None) -> alt.LayerChart:
    """Lines: each region's allocation of `pool` as the weight of `dimension` moves.

    `sweep` is `whatif.weight_sweep(...)`; with many regions the ones whose allocation
    moves most over the sweep are drawn. A vertical rule marks the current weight.
    """
    name = _pool_name(pool, lang, label)
    data = sweep[sweep["pool"] == pool]
    by_region = data.groupby("region", sort=False)["allocation"]
    span = by_region.max() - by_region.min()
    total = len(span)
    if total > max_regions:
        keep = span.nlargest(max_regions).index
        data = data[data["region"].isin(keep)]
    dim = dimension_label(dimension, lang)
    title = _title(t("chart_sweep", lang, pool=name, dim=dim),
                   min(total, max_regions), total, lang)
    lines = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("weight:Q", title=t("axis_weight", lang, dim=dim), axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("allocation:Q", title=name),
        color=alt.Color("region:N", title=t("axis_region", lang)),
        tooltip=[alt.Tooltip("region:N", title=t("axis_region", lang)),
                 alt.Tooltip("weight:Q", format=".0%", title=t("axis_weight", lang, dim=dim)),
                 alt.Tooltip("allocation:Q", format=",.0f", title=name)],
    )
    now = alt.Chart(pd.DataFrame({"weight": [float(current)]})).mark_rule(
        strokeDash=[4, 4], color="gray").encode(x="weight:Q")
    return alt.layer(lines, now, title=title).properties(width=_WIDTH, height=300)


def compare_chart(diff: pd.DataFrame, pool: str, names: tuple[str, str], lang: str,
                  max_regions: int = MAX_BARS, label: str | None = None) -> alt.Chart:
    """Grouped bars per region: `pool` in scenario A and in scenario B.

    `diff` is `whatif.compare(a, b)`; with many regions the largest differences are shown.
    """
    name = _pool_name(pool, lang, label)
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
    title = _title(t("chart_compare", lang, pool=name), len(top), len(diff),
                   lang)
    return _grouped_bars(long, top, order, title, lang)


def price_chart(deltas: pd.DataFrame, pool: str, lang: str,
                max_regions: int = MAX_BARS, label: str | None = None,
                kind: str | None = None) -> alt.LayerChart:
    """Diverging bars: each binding rule's effect per region (with the rule minus without).

    `deltas` is `viewmodel.price_deltas(...)` (rule, region, delta); with many regions the
    ones a rule moves most are shown.
    """
    name = _pool_name(pool, lang, label)
    data = deltas.copy()
    span = data["delta"].abs().groupby(data["region"], sort=False).max()  # vectorised
    total = len(span)
    if total > max_regions:
        keep = span.nlargest(max_regions).index
        data = data[data["region"].isin(keep)]
    order = list(dict.fromkeys(data["region"]))
    rules = list(dict.fromkeys(data["rule"]))
    title = _title(t("chart_price", lang, pool=name), min(total, max_regions),
                   total, lang)
    fmt_amount = ",.0f" if (kind or pool) == "budget" else ",.1f"
    bars = alt.Chart(data).mark_bar().encode(
        y=alt.Y("region:N", sort=order, title=t("axis_region", lang)),
        yOffset=alt.YOffset("rule:N", sort=rules),
        x=alt.X("delta:Q", title=t("axis_delta", lang, pool=name)),
        color=alt.Color("rule:N", sort=rules, title=t("axis_rule", lang),
                        legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("rule:N", title=t("axis_rule", lang)),
                 alt.Tooltip("region:N", title=t("axis_region", lang)),
                 alt.Tooltip("delta:Q", format=fmt_amount,
                             title=t("axis_delta", lang, pool=name))],
    )
    # the zero line from the same data (a layer with other data would break the band scale)
    zero = alt.Chart(data).mark_rule(color="gray").encode(x=alt.datum(0))
    # a fixed height per bar (a step of the offset band), whatever the number of regions
    return alt.layer(bars, zero, title=title).properties(width=_WIDTH, height=alt.Step(18))


def path_chart(long: pd.DataFrame, pool: str, lang: str,
               max_regions: int = MAX_LINES, label: str | None = None) -> alt.Chart:
    """Lines: each region's allocation of `pool`, today and in each planned year.

    `long` is `viewmodel.path_long(...)` (region, period, order, amount, group); the
    high-potential regions are drawn solid, the others dashed. With many regions the ones
    that move most over the path are drawn.
    """
    name = _pool_name(pool, lang, label)
    data = long
    by_region = data.groupby("region", sort=False)["amount"]
    span = by_region.max() - by_region.min()
    total = len(span)
    if total > max_regions:
        data = data[data["region"].isin(span.nlargest(max_regions).index)]
    periods = data.sort_values("order")["period"].drop_duplicates().tolist()
    groups = [t("group_hp", lang), t("group_other", lang)]
    title = _title(t("chart_path", lang, pool=name), min(total, max_regions),
                   total, lang)
    title_params = alt.TitleParams(title, subtitle=t("path_dash_note", lang))
    return alt.Chart(data, title=title_params).mark_line(point=True).encode(
        x=alt.X("period:N", sort=periods, title=t("axis_year", lang),
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("amount:Q", title=name),
        color=alt.Color("region:N", title=t("axis_region", lang)),
        strokeDash=alt.StrokeDash("group:N", sort=groups, legend=None,
                                  scale=alt.Scale(domain=groups, range=[[1, 0], [5, 3]])),
        tooltip=[alt.Tooltip("region:N", title=t("axis_region", lang)),
                 alt.Tooltip("period:N", title=t("axis_year", lang)),
                 alt.Tooltip("group:N", title=t("col_high_potential", lang)),
                 alt.Tooltip("amount:Q", format=",.0f", title=name)],
    ).properties(width=_WIDTH, height=320)


def path_share_chart(shares: pd.DataFrame, pool: str, lang: str,
                     label: str | None = None) -> alt.LayerChart:
    """Bars: the high-potential share today and each year; ticks: the share each year needs.

    `shares` is `viewmodel.path_shares(...)` (period, order, share, required).
    """
    name = _pool_name(pool, lang, label)
    periods = shares.sort_values("order")["period"].tolist()
    series = [t("kind_reached", lang), t("kind_rule", lang)]
    bars = alt.Chart(shares.assign(series=series[0])).mark_bar(
        opacity=0.8).encode(
        x=alt.X("period:N", sort=periods, title=t("axis_year", lang),
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("share:Q", title=t("axis_share", lang), axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("series:N", title=t("axis_series", lang),
                        scale=alt.Scale(domain=series, range=["#4c78a8", "#d62728"])),
        tooltip=[alt.Tooltip("period:N", title=t("axis_year", lang)),
                 alt.Tooltip("share:Q", format=".1%", title=t("axis_share", lang))],
    )
    need = shares.dropna(subset=["required"]).assign(series=series[1])
    rule = alt.Chart(need).mark_tick(thickness=3, size=40).encode(
        x=alt.X("period:N", sort=periods),
        y=alt.Y("required:Q"),
        color=alt.Color("series:N"),
        tooltip=[alt.Tooltip("period:N", title=t("axis_year", lang)),
                 alt.Tooltip("required:Q", format=".1%", title=t("kind_rule", lang))],
    )
    title = t("chart_path_share", lang, pool=name)
    return alt.layer(bars, rule, title=title).properties(width=_WIDTH, height=260)


def sensitivity_chart(table: pd.DataFrame, pool: str, lang: str,
                      max_regions: int = MAX_BARS, label: str | None = None) -> alt.LayerChart:
    """Per region: the p10–p90 band of `pool` over the draws, the median and the base plan.

    `table` is `SensitivityResult.table`; with many regions the widest bands are shown.
    """
    name = _pool_name(pool, lang, label)
    data = table[table["pool"] == pool].copy()
    data["region"] = data["region"].astype(str)
    total = len(data)
    if total > max_regions:
        data = data.loc[(data["p90"] - data["p10"]).fillna(-1).nlargest(max_regions).index]
    order = data["region"].tolist()
    title = _title(t("chart_sens", lang, pool=name), len(data), total, lang)
    x = alt.X("region:N", sort=order, title=t("axis_region", lang), axis=_region_axis(len(data)))
    tip = [alt.Tooltip("region:N", title=t("axis_region", lang)),
           alt.Tooltip("p10:Q", format=",.0f", title="p10"),
           alt.Tooltip("median:Q", format=",.0f", title=t("kind_median", lang)),
           alt.Tooltip("p90:Q", format=",.0f", title="p90"),
           alt.Tooltip("base:Q", format=",.0f", title=t("kind_base", lang))]
    band = alt.Chart(data).mark_bar(size=18, opacity=0.35, color="#4c78a8").encode(
        x=x, y=alt.Y("p10:Q", title=name, scale=alt.Scale(zero=False)),
        y2="p90:Q", tooltip=tip)
    points = data.melt(id_vars=["region"], value_vars=["median", "base"], var_name="kind",
                       value_name="amount")
    points["series"] = points["kind"].map({"median": t("kind_median", lang),
                                           "base": t("kind_base", lang)})
    series = [t("kind_median", lang), t("kind_base", lang)]
    marks = alt.Chart(points).mark_point(filled=True, size=70).encode(
        x=x, y=alt.Y("amount:Q"),
        color=alt.Color("series:N", sort=series, title=t("axis_series", lang),
                        scale=alt.Scale(domain=series, range=["#1f3b73", "#d62728"])),
        shape=alt.Shape("series:N", sort=series, scale=alt.Scale(domain=series,
                                                                 range=["circle", "diamond"])),
        tooltip=[alt.Tooltip("region:N", title=t("axis_region", lang)),
                 alt.Tooltip("series:N", title=t("axis_series", lang)),
                 alt.Tooltip("amount:Q", format=",.0f", title=name)],
    )
    return alt.layer(band, marks, title=title).properties(width=_WIDTH, height=300)


def _grouped_bars(long: pd.DataFrame, top: pd.DataFrame, order: list[str], title: object,
                  lang: str) -> alt.Chart:
    """Bars per region, one per series side by side (long: region, series, amount)."""
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


def history_chart(events: pd.DataFrame, lang: str) -> alt.LayerChart:
    """A plan's history as a timeline: one point per event (version saved, submitted,
    approved, …) at its time, labelled with what happened and who did it.

    `events` has columns `time` (ISO text), `user`, `action`, `comment`.
    """
    data = events.assign(when=pd.to_datetime(events["time"], utc=True),
                         label=events["action"] + " · " + events["user"])
    base = alt.Chart(data).encode(
        x=alt.X("when:T", title=t("chart_history_time", lang)),
        y=alt.Y("action:N", title=None, sort=None),
        tooltip=[alt.Tooltip("time:N"), "user:N", "action:N", "comment:N"])
    line = base.mark_rule(color="#bbb").encode(y=alt.value(0), y2=alt.value(0))
    points = base.mark_point(filled=True, size=90)
    text = base.mark_text(align="left", dx=8).encode(text="label:N")
    return alt.layer(line, points, text).properties(
        height=max(80, 34 * data["action"].nunique()), title=t("plans_history", lang))

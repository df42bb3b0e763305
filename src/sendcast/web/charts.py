"""Plotly figures for the web pages, with one colour per series on every chart.

The figures only draw tables the library made (forecast summaries, budget summaries, the
scenario comparison); they compute nothing. :func:`figure_json` turns a figure into JSON that
is safe inside a ``<script type="application/json">`` element.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

# one colour per series, on every chart (colour-blind safe, after Okabe and Ito)
COLOURS = {
    "council": "#0b4f8a",  # the council itself, its forecast and the baseline
    "neighbours": "#e69f00",  # statistical neighbours' median
    "england": "#6b6b6b",  # England
    "published": "#000000",  # published actuals
    "scenario": "#009e73",  # a scenario (and its difference from the baseline)
    "target": "#d55e00",  # Safety Valve target
    "spend": "#882255",
    "income": "#44aa99",
}
BAND_ALPHA = 0.22
MILLION = 1e6


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def _layout(fig: go.Figure, *, title: str, x_title: str, y_title: str, money: bool = False) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        xaxis_title=x_title,
        yaxis_title=y_title,
        template="plotly_white",
        height=360,
        margin={"l": 70, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.22},
        hovermode="x unified",
        font={"family": "Arial, Helvetica, sans-serif", "size": 13},
    )
    fig.update_xaxes(tickformat="d", dtick=1 if not money else None)
    if money:  # money is drawn in £ million (the figures are divided by MILLION)
        fig.update_yaxes(tickprefix="£", ticksuffix="m", tickformat=",.0f")
    else:
        fig.update_yaxes(tickformat=",")
    return fig


def band(
    fig: go.Figure,
    x: Iterable[Any],
    lo: Iterable[Any],
    mid: Iterable[Any],
    hi: Iterable[Any],
    *,
    colour: str,
    name: str,
    band_name: str = "80% of simulated futures",
    dash: str | None = None,
    hover: str = "",
) -> None:
    """Add a shaded 80% band and its median line to ``fig``."""
    xs = list(x)
    fig.add_trace(
        go.Scatter(
            x=xs + xs[::-1],
            y=list(hi) + list(lo)[::-1],
            fill="toself",
            mode="lines",
            line={"width": 0},
            fillcolor=_rgba(colour, BAND_ALPHA),
            name=f"{name}: {band_name}",
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=list(mid),
            mode="lines",
            name=f"{name} (middle estimate)",
            line={"color": colour, "width": 2.5, "dash": dash},
            hovertemplate=hover or None,
        )
    )


def fan_chart(
    forecast: pd.DataFrame, history: pd.DataFrame | None, *, title: str, y_title: str = "EHC plans at January"
) -> go.Figure:
    """Published history and the forecast's median with its 80% band (``p10``-``p90``)."""
    fig = go.Figure()
    f = forecast.sort_values("year")
    band(fig, f["year"], f["p10"], f["p50"], f["p90"], colour=COLOURS["council"], name="Forecast", dash="dash")
    if history is not None and not history.empty:
        h = history.dropna(subset=["value"]).sort_values("year")
        fig.add_trace(
            go.Scatter(
                x=h["year"],
                y=h["value"],
                mode="lines+markers",
                name="Published",
                line={"color": COLOURS["published"], "width": 2},
                marker={"size": 6},
            )
        )
    return _layout(fig, title=title, x_title="January", y_title=y_title)


def comparison_chart(
    df: pd.DataFrame, *, x: str, y: str, who: str, title: str, y_title: str, x_title: str
) -> go.Figure:
    """Council, neighbours' median and England over time (``who`` holds the comparator key)."""
    fig = go.Figure()
    names = {"council": None, "neighbour_median": "Statistical neighbours (median)", "england": "England"}
    colour = {"council": COLOURS["council"], "neighbour_median": COLOURS["neighbours"], "england": COLOURS["england"]}
    for key in ("council", "neighbour_median", "england"):
        g = df[df[who] == key].sort_values(x)
        if g.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=g[x].astype(str),
                y=g[y],
                mode="lines+markers",
                name=names[key] or str(g["label"].iloc[0]),
                line={"color": colour[key], "width": 3 if key == "council" else 2},
            )
        )
    fig = _layout(fig, title=title, x_title=x_title, y_title=y_title)
    # periods in time order whichever series has them (a category axis otherwise orders them by
    # first appearance: 2021, 2023, 2022 when the council skipped a year)
    periods = sorted({str(p) for p in df[x]})
    fig.update_xaxes(type="category", tickformat=None, dtick=None, categoryorder="array", categoryarray=periods)
    return fig


def budget_chart(summary: pd.DataFrame, labels: dict[int, str], *, title: str) -> go.Figure:
    """Spend against income by financial year (middle estimates with 80% bands)."""
    fig = go.Figure()
    for line, key, name in (("spend_total", "spend", "Spend"), ("income_total", "income", "Income")):
        s = summary[summary["line"] == line].sort_values("financial_year")
        x = [labels[int(y)] for y in s["financial_year"]]
        band(fig, x, s["p10"] / MILLION, s["p50"] / MILLION, s["p90"] / MILLION, colour=COLOURS[key], name=name)
    fig = _layout(fig, title=title, x_title="Financial year (April to March)", y_title="£ million a year", money=True)
    fig.update_xaxes(type="category", tickformat=None, dtick=None)
    return fig


def balance_chart(
    summary: pd.DataFrame,
    labels: dict[int, str],
    *,
    title: str,
    published: Sequence[tuple[str, float, str]] = (),
    target: tuple[str, float] | None = None,
) -> go.Figure:
    """The cumulative DSG balance at 31 March with its 80% band, published balances as
    points and the Safety Valve target as a line."""
    fig = go.Figure()
    s = summary[summary["line"] == "cumulative_balance"].sort_values("financial_year")
    x = [labels[int(y)] for y in s["financial_year"]]
    band(
        fig,
        x,
        s["p10"] / MILLION,
        s["p50"] / MILLION,
        s["p90"] / MILLION,
        colour=COLOURS["council"],
        name="Modelled balance",
    )
    if published:
        fig.add_trace(
            go.Scatter(
                x=[p[0] for p in published],
                y=[p[1] / MILLION for p in published],
                mode="markers",
                name="Published balance",
                marker={"color": COLOURS["published"], "size": 10, "symbol": "diamond"},
                text=[p[2] for p in published],
                hovertemplate="%{x}: £%{y:,.1f}m<br>%{text}<extra></extra>",
            )
        )
    if target is not None:
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[target[1] / MILLION] * len(x),
                mode="lines",
                name=f"Safety Valve target ({target[0]})",
                line={"color": COLOURS["target"], "dash": "dot", "width": 2},
            )
        )
    fig = _layout(
        fig,
        title=title,
        x_title="End of financial year (31 March)",
        y_title="£ million (negative = deficit)",
        money=True,
    )
    fig.update_xaxes(
        type="category",
        tickformat=None,
        dtick=None,
        categoryorder="array",
        categoryarray=sorted(set(x) | {p[0] for p in published}),
    )
    fig.add_hline(y=0, line={"color": "#999999", "width": 1})
    return fig


def overlay_chart(
    levels: pd.DataFrame,
    *,
    baseline: str,
    scenario: str,
    x_labels: dict[int, str] | None,
    title: str,
    y_title: str,
    money: bool,
) -> go.Figure:
    """Baseline and scenario overlaid on one chart (middle estimates and 80% bands)."""
    fig = go.Figure()
    for name, key, dash in ((baseline, "council", None), (scenario, "scenario", "dash")):
        s = levels[levels["scenario"] == name].sort_values("year")
        x = [x_labels[int(y)] for y in s["year"]] if x_labels else list(s["year"])
        k = 1 / MILLION if money else 1.0
        band(
            fig,
            x,
            s["p10"] * k,
            s["p50"] * k,
            s["p90"] * k,
            colour=COLOURS[key],
            name=name.capitalize() if name == "baseline" else name,
            dash=dash,
        )
    fig = _layout(fig, title=title, x_title="Financial year" if money else "January", y_title=y_title, money=money)
    if x_labels:
        fig.update_xaxes(type="category", tickformat=None, dtick=None)
    return fig


def difference_chart(
    diff: pd.DataFrame, *, x_labels: dict[int, str] | None, title: str, y_title: str, money: bool
) -> go.Figure:
    """Scenario minus baseline, draw by draw: middle estimate and 80% band."""
    fig = go.Figure()
    s = diff.sort_values("year")
    x = [x_labels[int(y)] for y in s["year"]] if x_labels else list(s["year"])
    k = 1 / MILLION if money else 1.0
    band(fig, x, s["p10"] * k, s["p50"] * k, s["p90"] * k, colour=COLOURS["scenario"], name="Scenario minus baseline")
    fig = _layout(fig, title=title, x_title="Financial year" if money else "January", y_title=y_title, money=money)
    if x_labels:
        fig.update_xaxes(type="category", tickformat=None, dtick=None)
    fig.add_hline(y=0, line={"color": "#999999", "width": 1})
    return fig


def accuracy_chart(acc: pd.DataFrame, *, title: str) -> go.Figure:
    """Typical error (median absolute % error over councils) by years ahead, per measure."""
    fig = go.Figure()
    for name, g in acc.groupby("label", sort=False):
        g = g.sort_values("horizon")
        fig.add_trace(go.Scatter(x=g["horizon"], y=g["mdape"] * 100, mode="lines+markers", name=str(name)))
    fig = _layout(fig, title=title, x_title="Years ahead", y_title="typical error (%)")
    return fig


def figure_json(fig: go.Figure) -> str:
    """The figure as JSON for a ``<script type="application/json">`` element ('<' escaped,
    so no text in a figure can close the element)."""
    text = pio.to_json(fig, validate=False, engine="json")
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")

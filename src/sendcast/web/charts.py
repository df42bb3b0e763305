"""Plotly figures for the web pages, with one colour per series on every chart.

The figures only draw tables the library made (forecast summaries, budget summaries, the
scenario comparison); they compute nothing. A figure is a plain ``{"data", "layout"}``
mapping in plotly.js's schema (building ``plotly.graph_objects`` figures validated and
deep-copied every property: about a third of a council page's first rendering), and
:func:`figure_json` turns it into JSON that is safe inside a ``<script type="application/json">``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

Figure = dict[str, Any]

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
GRID = "#e6e6e6"


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def _values(v: Iterable[Any]) -> list[Any]:
    """Plain JSON values: numbers as floats or ints, NaN as null (a gap in the line)."""
    out: list[Any] = []
    for x in v:
        if hasattr(x, "item"):
            x = x.item()
        if isinstance(x, float) and not math.isfinite(x):
            x = None
        out.append(x)
    return out


def _figure() -> Figure:
    return {"data": [], "layout": {}}


def _scatter(**kw: Any) -> dict[str, Any]:
    for k in ("x", "y"):
        if k in kw:
            kw[k] = _values(kw[k])
    return {"type": "scatter", **kw}


def _layout(
    fig: Figure, *, title: str, x_title: str, y_title: str, money: bool = False, category: bool = False
) -> Figure:
    axis = {"gridcolor": GRID, "zerolinecolor": GRID, "linecolor": "#999999", "automargin": True}
    yaxis: dict[str, Any] = {**axis, "title": {"text": y_title}}
    if money:  # money is drawn in £ million (the figures are divided by MILLION)
        yaxis.update(tickprefix="£", ticksuffix="m", tickformat=",.0f", hoverformat=",.1f")
    else:
        yaxis.update(tickformat=",", hoverformat=",.0f")
    xaxis: dict[str, Any] = {**axis, "title": {"text": x_title}}
    if category:
        xaxis["type"] = "category"
    else:
        xaxis.update(tickformat="d", dtick=1)
    fig["layout"].update(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        xaxis=xaxis,
        yaxis=yaxis,
        paper_bgcolor="white",
        plot_bgcolor="white",
        height=420,
        margin={"l": 70, "r": 20, "t": 50, "b": 30},
        # below the axis title: plotly widens the bottom margin to fit it
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": -0.3, "yanchor": "top"},
        hovermode="x unified",
        font={"family": "Arial, Helvetica, sans-serif", "size": 13, "color": "#0b0c0c"},
    )
    return fig


def _zero_line(fig: Figure) -> None:
    fig["layout"].setdefault("shapes", []).append(
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "yref": "y",
            "y0": 0,
            "y1": 0,
            "line": {"color": "#999999", "width": 1},
        }
    )


def band(
    fig: Figure,
    x: Iterable[Any],
    lo: Iterable[Any],
    mid: Iterable[Any],
    hi: Iterable[Any],
    *,
    colour: str,
    name: str,
    band_name: str = "80% of simulated futures",
    dash: str | None = None,
    scale: float = 1.0,
) -> None:
    """Add a shaded 80% band and its median line to ``fig`` (values multiplied by ``scale``)."""
    xs = list(x)
    lo_, mid_, hi_ = ([None if v is None else v * scale for v in _values(s)] for s in (lo, mid, hi))
    fig["data"].append(
        _scatter(
            x=xs + xs[::-1],
            y=hi_ + lo_[::-1],
            fill="toself",
            mode="lines",
            line={"width": 0},
            fillcolor=_rgba(colour, BAND_ALPHA),
            name=f"{name}: {band_name}",
            hoverinfo="skip",
        )
    )
    line: dict[str, Any] = {"color": colour, "width": 2.5}
    if dash:
        line["dash"] = dash
    fig["data"].append(_scatter(x=xs, y=mid_, mode="lines", name=f"{name} (middle estimate)", line=line))


def fan_chart(
    forecast: pd.DataFrame, history: pd.DataFrame | None, *, title: str, y_title: str = "EHC plans at January"
) -> Figure:
    """Published history and the forecast's median with its 80% band (``p10``-``p90``)."""
    fig = _figure()
    f = forecast.sort_values("year")
    band(fig, f["year"], f["p10"], f["p50"], f["p90"], colour=COLOURS["council"], name="Forecast", dash="dash")
    if history is not None and not history.empty:
        h = history.dropna(subset=["value"]).sort_values("year")
        fig["data"].append(
            _scatter(
                x=h["year"],
                y=h["value"],
                mode="lines+markers",
                name="Published",
                line={"color": COLOURS["published"], "width": 2},
                marker={"size": 6},
            )
        )
    return _layout(fig, title=title, x_title="January", y_title=y_title)


def comparison_chart(df: pd.DataFrame, *, x: str, y: str, who: str, title: str, y_title: str, x_title: str) -> Figure:
    """Council, neighbours' median and England over time (``who`` holds the comparator key)."""
    fig = _figure()
    names = {"council": None, "neighbour_median": "Statistical neighbours (median)", "england": "England"}
    colour = {"council": COLOURS["council"], "neighbour_median": COLOURS["neighbours"], "england": COLOURS["england"]}
    for key in ("council", "neighbour_median", "england"):
        g = df[df[who] == key].sort_values(x)
        if g.empty:
            continue
        fig["data"].append(
            _scatter(
                x=g[x].astype(str),
                y=g[y],
                mode="lines+markers",
                name=names[key] or str(g["label"].iloc[0]),
                line={"color": colour[key], "width": 3 if key == "council" else 2},
            )
        )
    fig = _layout(fig, title=title, x_title=x_title, y_title=y_title, category=True)
    # periods in time order whichever series has them (a category axis otherwise orders them by
    # first appearance: 2021, 2023, 2022 when the council skipped a year)
    fig["layout"]["xaxis"].update(categoryorder="array", categoryarray=sorted({str(p) for p in df[x]}))
    return fig


def budget_chart(summary: pd.DataFrame, labels: dict[int, str], *, title: str) -> Figure:
    """Spend against income by financial year (middle estimates with 80% bands), £ million."""
    fig = _figure()
    for line, key, name in (("spend_total", "spend", "Spend"), ("income_total", "income", "Income")):
        s = summary[summary["line"] == line].sort_values("financial_year")
        x = [labels[int(y)] for y in s["financial_year"]]
        band(fig, x, s["p10"], s["p50"], s["p90"], colour=COLOURS[key], name=name, scale=1 / MILLION)
    return _layout(
        fig,
        title=title,
        x_title="Financial year (April to March)",
        y_title="£ million a year",
        money=True,
        category=True,
    )


def balance_chart(
    summary: pd.DataFrame,
    labels: dict[int, str],
    *,
    title: str,
    published: Sequence[tuple[str, float, str]] = (),
    target: tuple[str, float] | None = None,
) -> Figure:
    """The cumulative DSG balance at 31 March with its 80% band (£ million), published balances
    as points and the Safety Valve target as a line."""
    fig = _figure()
    s = summary[summary["line"] == "cumulative_balance"].sort_values("financial_year")
    x = [labels[int(y)] for y in s["financial_year"]]
    band(fig, x, s["p10"], s["p50"], s["p90"], colour=COLOURS["council"], name="Modelled balance", scale=1 / MILLION)
    if published:
        fig["data"].append(
            _scatter(
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
        fig["data"].append(
            _scatter(
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
        category=True,
    )
    order = sorted(set(x) | {p[0] for p in published}, key=lambda lab: int(lab.split()[-1]))
    fig["layout"]["xaxis"].update(categoryorder="array", categoryarray=order)
    _zero_line(fig)
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
) -> Figure:
    """Baseline and scenario overlaid on one chart (middle estimates and 80% bands)."""
    fig = _figure()
    for name, key, dash in ((baseline, "council", None), (scenario, "scenario", "dash")):
        s = levels[levels["scenario"] == name].sort_values("year")
        x = [x_labels[int(y)] for y in s["year"]] if x_labels else list(s["year"])
        band(
            fig,
            x,
            s["p10"],
            s["p50"],
            s["p90"],
            colour=COLOURS[key],
            name="Baseline" if name == "baseline" else name,
            dash=dash,
            scale=1 / MILLION if money else 1.0,
        )
    return _layout(
        fig,
        title=title,
        x_title="Financial year" if money else "January",
        y_title=y_title,
        money=money,
        category=x_labels is not None,
    )


def difference_chart(
    diff: pd.DataFrame, *, x_labels: dict[int, str] | None, title: str, y_title: str, money: bool
) -> Figure:
    """Scenario minus baseline, draw by draw: middle estimate and 80% band."""
    fig = _figure()
    s = diff.sort_values("year")
    x = [x_labels[int(y)] for y in s["year"]] if x_labels else list(s["year"])
    band(
        fig,
        x,
        s["p10"],
        s["p50"],
        s["p90"],
        colour=COLOURS["scenario"],
        name="Scenario minus baseline",
        scale=1 / MILLION if money else 1.0,
    )
    fig = _layout(
        fig,
        title=title,
        x_title="Financial year" if money else "January",
        y_title=y_title,
        money=money,
        category=x_labels is not None,
    )
    _zero_line(fig)
    return fig


def accuracy_chart(acc: pd.DataFrame, *, title: str) -> Figure:
    """Typical error (median absolute % error over councils) by years ahead, per measure."""
    fig = _figure()
    for name, g in acc.groupby("label", sort=False):
        g = g.sort_values("horizon")
        fig["data"].append(_scatter(x=g["horizon"], y=g["mdape"] * 100, mode="lines+markers", name=str(name)))
    fig = _layout(fig, title=title, x_title="Years ahead", y_title="typical error (%)")
    fig["layout"]["yaxis"].update(hoverformat=",.1f")
    return fig


def figure_json(fig: Figure) -> str:
    """The figure as JSON for a ``<script type="application/json">`` element ('<', '>' and
    '&' escaped, so no text in a figure can close the element)."""
    text = json.dumps(fig, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")

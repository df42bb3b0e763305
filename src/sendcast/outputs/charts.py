"""Plotly charts and self-contained HTML pages (plotly.js inlined once, no network needed)."""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from sendcast import ATTRIBUTION

BAND_COLOUR = "rgba(31, 119, 180, {a})"


def _runs(shown: list[bool]) -> list[tuple[int, int]]:
    """(start, stop) of each run of consecutive True values."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, ok in enumerate([*shown, False]):
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            runs.append((start, i))
            start = None
    return runs


def chart_text(text: object) -> str:
    """Text for a chart title, axis or legend, escaped (plotly renders a subset of HTML in them)."""
    return html.escape(str(text), quote=False)


def fan_chart(
    forecast: pd.DataFrame,
    history: pd.DataFrame | None,
    *,
    title: str,
    y_title: str = "EHC plans at January",
) -> go.Figure:
    """A fan chart: published history as a line, the forecast median with 80% and 90% bands.

    ``forecast`` has year, p5, p10, p50, p90, p95; ``history`` has year, value. A missing value
    (a figure hidden for disclosure) leaves a gap: bands are drawn only over runs of years where
    both edges are shown, and lines break instead of joining across the gap.
    """
    f = forecast.sort_values("year")
    fig = go.Figure()
    years = list(f["year"])
    for lo, hi, alpha, name in (("p5", "p95", 0.15, "90% interval"), ("p10", "p90", 0.3, "80% interval")):
        los, his = list(f[lo]), list(f[hi])
        shown = [not (pd.isna(a) or pd.isna(b)) for a, b in zip(los, his, strict=True)]
        for k, (a, b) in enumerate(_runs(shown)):
            fig.add_trace(
                go.Scatter(
                    x=years[a:b] + years[a:b][::-1],
                    y=his[a:b] + los[a:b][::-1],
                    fill="toself",
                    mode="lines",
                    fillcolor=BAND_COLOUR.format(a=alpha),
                    line={"width": 0},
                    name=name,
                    legendgroup=name,
                    showlegend=k == 0,
                    hoverinfo="skip",
                )
            )
    fig.add_trace(
        go.Scatter(
            x=f["year"],
            y=f["p50"],
            name="forecast (median)",
            line={"color": BAND_COLOUR.format(a=1), "dash": "dash"},
            connectgaps=False,
        )
    )
    if history is not None and not history.empty:
        h = history.sort_values("year")
        fig.add_trace(
            go.Scatter(
                x=h["year"],
                y=h["value"],
                name="published",
                mode="lines+markers",
                line={"color": "black"},
                connectgaps=False,
            )
        )
    fig.update_layout(
        title=chart_text(title),
        xaxis_title="January",
        yaxis_title=chart_text(y_title),
        template="plotly_white",
        height=380,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def line_chart(df: pd.DataFrame, *, x: str, y: str, colour: str, title: str, y_title: str) -> go.Figure:
    """A simple multi-line chart (one line per value of ``colour``)."""
    fig = go.Figure()
    for key, g in df.sort_values(x).groupby(colour, sort=False):
        fig.add_trace(go.Scatter(x=g[x], y=g[y], name=chart_text(key), mode="lines+markers", connectgaps=False))
    fig.update_layout(
        title=chart_text(title),
        yaxis_title=chart_text(y_title),
        template="plotly_white",
        height=360,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def html_page(title: str, sections: Sequence[tuple[str, go.Figure | str]], *, intro: str = "") -> str:
    """A self-contained HTML page: each section a heading and a figure or an HTML fragment."""
    parts: list[str] = []
    first = True
    for heading, body in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        if isinstance(body, go.Figure):
            parts.append(pio.to_html(body, include_plotlyjs="inline" if first else False, full_html=False))
            first = False
        else:
            parts.append(body)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; max-width: 1000px;
  margin: 2em auto; padding: 0 1em; color: #222; }}
h1 {{ font-size: 1.6em; }} h2 {{ font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
td, th {{ border: 1px solid #ddd; padding: 3px 8px; text-align: right; }}
th {{ background: #f4f4f4; }} .note {{ color: #555; font-size: 0.9em; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
{intro}
{"".join(parts)}
<p class="note">{html.escape(ATTRIBUTION)} Produced by sendcast.</p>
</body></html>
"""


def table_html(df: pd.DataFrame, *, float_format: str = "{:,.0f}") -> str:
    """An HTML table of a small DataFrame with thousands separators (every cell escaped)."""
    return df.to_html(index=False, border=0, na_rep="–", float_format=lambda v: float_format.format(v), escape=True)

"""The realism page: each promise's base rate in words, then the distribution of councils'
changes with the promise marked. Reads :class:`sendcast.scenarios.realism.Assessment`; computes
nothing of its own."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from sendcast.outputs.charts import html_page, table_html
from sendcast.scenarios.realism import Assessment, Evidence

OUTCOME_COLOURS = {
    "achieved and held": "#00703c",
    "achieved, reversed": "#f47738",
    "achieved, hold not yet known": "#b1b4b6",
    "met, within chance": "#ffdd00",
    "not met": "#1d70b8",
}
SOURCE = (
    "Source: DfE, Education, health and care plans (SEN2), January caseloads and calendar-year new "
    "plans 2015-2024; ONS mid-year population estimates aged 0-25. Each window is one council and "
    "start year; years are the ends of two-year averages."
)


def distribution_figure(ev: Evidence) -> go.Figure:
    """A histogram of other councils' changes over the promise's window (one count per council
    x start year), stacked by outcome, with the promise marked as a vertical line."""
    w = ev.windows
    scale, unit = (100.0, "%") if ev.how == "ratio" else (1.0, " per 10,000")
    fig = go.Figure()
    for outcome, colour in OUTCOME_COLOURS.items():
        sub = w[w["outcome"] == outcome]
        if sub.empty:
            continue
        fig.add_trace(
            go.Histogram(x=sub["change"] * scale, name=f"{outcome} ({len(sub)})", marker_color=colour, nbinsx=60)
        )
    x = ev.value * scale
    if np.isfinite(x):
        fig.add_vline(x=x, line_dash="dash", line_color="black", annotation_text="the plan")
    fig.update_layout(
        barmode="stack",
        title=ev.test,
        xaxis_title=f"change over the window ({unit.strip()})",
        yaxis_title="council-windows",
        template="plotly_white",
        height=380,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def realism_html(a: Assessment) -> str:
    """A self-contained page: the verdicts in a table, then per promise its words and chart."""
    summary = a.table[["lever", "verdict", "base_rate", "achieved_and_held", "windows"]].copy()
    summary["base_rate"] = [("-" if v != v else f"{v:.1%}") for v in summary["base_rate"]]
    sections: list[tuple[str, go.Figure | str]] = [("Verdicts", table_html(summary))]
    for _lv, ev in a.evidence:
        if ev is None:
            continue
        note = f'<p class="note">{html.escape(SOURCE)}</p>'
        sections.append((f"{ev.subject}: {ev.verdict}", f"<p>{html.escape(ev.text)}</p>{note}"))
        if "change" in ev.windows.columns:
            sections.append((f"How councils' changes were spread ({ev.subject})", distribution_figure(ev)))
    if not a.tracker.empty:
        t = a.tracker.copy()
        for c in ("promised", "actual"):
            t[c] = [("-" if v != v else f"{v:+.1%}") for v in t[c]]
        sections.append(("Promises year by year, against the published record", table_html(t)))
    if a.postmortem:
        sections.append(("What councils under Safety Valve agreements achieved", f"<p>{html.escape(a.postmortem)}</p>"))
    if a.calibration:
        sections.append(("How these verdicts have done", f"<p>{html.escape(a.calibration)}</p>"))
    intro = (
        f"<p><strong>{html.escape(a.summary)}</strong></p>"
        f"<p>How often councils achieved, and held for two years, each promise in "
        f"&ldquo;{html.escape(a.scenario.name)}&rdquo;, judged for {html.escape(a.la_name)}. A base rate, "
        "not an existence proof: every council and start year since 2015 counts once.</p>"
    )
    return html_page(f"Is this plan realistic? {a.scenario.name} for {a.la_name}", sections, intro=intro)

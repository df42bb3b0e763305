"""The outcomes page and tables: one council's spending beside children's outcomes and
experience, its statistical neighbours and England. Reads :mod:`sendcast.outcomes`; computes no
figure of its own. Counts of children or cases pass through :func:`publishable`."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from sendcast.outcomes import SERIES, all_councils, council_outcomes, latest, reading, spend_attainment
from sendcast.outcomes.compute import BY_KEY, ENGLAND, NOT_PUBLISHED, comparison_text, inspection
from sendcast.outputs.charts import html_page, table_html
from sendcast.outputs.disclosure import SUPPRESSED, suppression_mask

COUNCIL_COLOUR = "#1d70b8"
NEIGHBOURS_COLOUR = "#f47738"
ENGLAND_COLOUR = "#505a5f"
GROUP_TITLES = {
    "spending": "Spending and placements",
    "context": "Who has SEN (composition)",
    "outcomes": "Outcomes of pupils with SEN",
    "experience": "Experience: timeliness and disputes",
}
VALUE_COLUMNS = ("value", "neighbours_median", "england")


def publishable(outcomes: pd.DataFrame) -> pd.DataFrame:
    """A copy for text outputs: counts of children or cases (series marked ``count``) of 1-9 shown
    as ``<10`` (:mod:`sendcast.outputs.disclosure`), the reason added; rates and scores unchanged.
    The counts shown here are single published totals, not parts of a shown total, so no
    secondary suppression is needed."""
    out = outcomes.copy()
    counts = out["series"].map(lambda k: BY_KEY[k].count if k in BY_KEY else False).astype(bool)
    for col in VALUE_COLUMNS:
        if col not in out.columns:
            continue
        mask = suppression_mask(out, col) & counts
        vals = pd.Series([None if pd.isna(v) else v for v in out[col]], index=out.index, dtype=object)
        vals[mask] = SUPPRESSED
        out[col] = vals
        if col == "value" and "missing_reason" in out.columns:
            out.loc[mask, "missing_reason"] = "fewer than 10 (suppressed to protect children's identities)"
    return out


def _fmt(v: Any, unit: str) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return "-"
    if isinstance(v, str):
        return v
    if unit == "£ per head":
        return f"£{v:,.0f}"
    if unit in ("plans", "appeals"):
        return f"{v:,.0f}"
    return f"{v:,.1f}" if unit in ("%", "per 10,000") else f"{v:,.2f}"


def latest_table(outcomes: pd.DataFrame) -> pd.DataFrame:
    """The latest year of every series, formatted for people: ``measure, period, council,
    neighbours' median, England, unit, source``."""
    last = publishable(latest(outcomes))
    return pd.DataFrame(
        {
            "measure": last["label"],
            "period": last["period"],
            "council": [
                _fmt(v, u) if v is not None else f"- ({r})"
                for v, u, r in zip(
                    last["value"], last["unit"], last["missing_reason"].fillna("not published"), strict=True
                )
            ],
            "neighbours' median": [_fmt(v, u) for v, u in zip(last["neighbours_median"], last["unit"], strict=True)],
            "England": [_fmt(v, u) for v, u in zip(last["england"], last["unit"], strict=True)],
            "unit": last["unit"],
            "source": [f"{s} ({f})" for s, f in zip(last["source"], last["file"], strict=True)],
        }
    )


def _source_note(fig: go.Figure, text: str) -> go.Figure:
    """The source under a chart, inside the figure so it travels with it."""
    fig.add_annotation(
        text=html.escape(text),
        xref="paper",
        yref="paper",
        x=0,
        y=-0.42,
        showarrow=False,
        font={"size": 10},
        align="left",
    )
    return fig


def trend_figure(outcomes: pd.DataFrame, key: str) -> go.Figure:
    """One series over the years: the council, its neighbours' median and England."""
    s = BY_KEY[key]
    t = outcomes[outcomes["series"] == key].sort_values("year")
    counts = s.count
    fig = go.Figure()
    for col, name, colour in (
        ("value", str(t["la_name"].iloc[0]) if len(t) else "council", COUNCIL_COLOUR),
        ("neighbours_median", "statistical neighbours' median", NEIGHBOURS_COLOUR),
        ("england", "England", ENGLAND_COLOUR),
    ):
        y = pd.to_numeric(t[col], errors="coerce")
        if counts:
            y = y.mask(suppression_mask(t, col))
        if y.notna().any() and not (counts and col == "england"):
            fig.add_trace(go.Scatter(x=t["period"], y=y, name=name, mode="lines+markers", line={"color": colour}))
    fig.update_layout(
        title=s.label,
        yaxis_title=s.unit,
        template="plotly_white",
        height=320,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.25},
    )
    return _source_note(fig, f"Source: {s.source}.")


def scatter_figure(store: Any, la_code: str, x_key: str, y_key: str, year: int) -> go.Figure:
    """Every council's ``x_key`` against ``y_key`` in ``year``, the council and its neighbours marked."""
    t = all_councils(store)
    t = t[(t["year"] == year) & (t["la_code"] != ENGLAND)]
    periods = t.groupby("series")["period"].last().to_dict()
    w = t.pivot_table(index=["la_code", "la_name"], columns="series", values="value", aggfunc="last").reset_index()
    if x_key not in w or y_key not in w:
        return go.Figure()
    w = w.dropna(subset=[x_key, y_key])
    nb = store.table("neighbours_current")
    nbs = set(nb.loc[nb["la_code"] == la_code, "neighbour_la_code"])
    fig = go.Figure()
    for label, sel, colour, size in (
        ("other councils", ~w["la_code"].isin(nbs | {la_code}), "#b1b4b6", 7),
        ("statistical neighbours", w["la_code"].isin(nbs), NEIGHBOURS_COLOUR, 9),
        ("this council", w["la_code"] == la_code, COUNCIL_COLOUR, 13),
    ):
        d = w[sel]
        fig.add_trace(
            go.Scatter(
                x=d[x_key],
                y=d[y_key],
                mode="markers",
                name=label,
                text=d["la_name"],
                marker={"color": colour, "size": size},
            )
        )
    fig.update_layout(
        title=f"{BY_KEY[y_key].label} ({periods.get(y_key, year)}) against {BY_KEY[x_key].label} "
        f"({periods.get(x_key, year)})",
        xaxis_title=BY_KEY[x_key].unit,
        yaxis_title=BY_KEY[y_key].unit,
        template="plotly_white",
        height=420,
        margin={"l": 60, "r": 20, "t": 60, "b": 40},
        legend={"orientation": "h", "y": -0.2},
    )
    return _source_note(fig, f"Sources: {BY_KEY[x_key].source}; {BY_KEY[y_key].source}.")


def sources_html(outcomes: pd.DataFrame) -> str:
    """Every series with its source, the years published and how it is made."""
    rows = []
    for s in SERIES:
        t = outcomes[(outcomes["series"] == s.key) & outcomes["value"].notna()]
        years = f"{t['period'].iloc[0]} to {t['period'].iloc[-1]}" if len(t) else "none published for this council"
        rows.append({"measure": s.label, "years": years, "source": s.source, "how": s.note or "as published"})
    return table_html(pd.DataFrame(rows))


def outcomes_html(store: Any, la_code: str) -> str:
    """The outcomes page for one council: the reading in words, the spending-and-attainment
    comparison, the latest figures with sources, trends against neighbours and England, scatters."""
    o = council_outcomes(store, la_code)
    name = str(o["la_name"].iloc[0])
    code = str(o["la_code"].iloc[0])
    insp = inspection(store, code)
    sections: list[tuple[str, go.Figure | str]] = []
    intro = f"<p>{html.escape(reading(o, name))}</p>"
    if insp:
        intro += (
            f"<p>Latest area SEND inspection: {html.escape(insp['outcome'])} (published {html.escape(insp['date'])}). "
            f"<span class='note'>Source: {html.escape(insp['source'])}.</span></p>"
        )
    sections.append(
        ("Does spending more buy better results?", f"<p>{html.escape(comparison_text(spend_attainment(store)))}</p>")
    )
    sections.append(
        (
            "Spending per head against results across councils",
            scatter_figure(store, code, "hn_outturn_per_head", "ks4_attainment8_ehcp", 2021),
        )
    )
    sections.append(
        (
            "Timeliness against plans per head across councils",
            scatter_figure(store, code, "plans_per_10k", "within_20_weeks", 2023),
        )
    )
    sections.append(("Latest figures", table_html(latest_table(o))))
    for group, title in GROUP_TITLES.items():
        for s in SERIES:
            if s.group == group and o.loc[o["series"] == s.key, "value"].notna().sum() >= 2:
                sections.append((f"{title}: {s.label}", trend_figure(o, s.key)))
    sections.append(
        ("Every series, its source and years", sources_html(o) + f"<p class='note'>{html.escape(NOT_PUBLISHED)}</p>")
    )
    return html_page(f"Outcomes beside spending: {name}", sections, intro=intro)

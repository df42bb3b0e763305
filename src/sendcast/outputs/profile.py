"""A council's SEND profile: published figures by year beside its neighbours and England.

:func:`profile_table` returns one long table (the csv/json output) with the columns
``la_code, la_name, period, period_type, measure, value, unit, source, comparator``:

- ``la_code`` / ``la_name`` are always the profiled council's, so a filter on the council
  returns its whole profile;
- ``comparator`` says whose figure the row holds: ``council`` (the council itself),
  ``neighbour_median`` (median of the values its statistical neighbours published for that
  measure and period, ignoring neighbours with no value) or ``england``;
- ``period`` is ``"2024"`` for a January caseload (``period_type`` ``january``), ``"2023"`` for
  a calendar year of flows (``calendar_year``) and ``"2023-24"`` for an academic year;
- counts of 1 to 9 are suppressed, and so are enough others that none can be recovered by
  subtraction (the seven placement groups add up to the total) (:func:`apply_disclosure`,
  which uses :mod:`sendcast.outputs.disclosure`): the value is missing and the unit says why,
  and rates or shares computed from a hidden count are hidden with it.

Rates per 10,000 aged 0-25 divide a January caseload (or a calendar year's flow) of year Y
by the ONS mid-year Y population aged 0-25 on the same current-council geography (the
convention of :mod:`sendcast.scenarios.realism`); years without a population estimate have
no rate.

:func:`profile_html` turns the table into a self-contained page of charts for councillors.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sendcast.geography import ENGLAND
from sendcast.outputs.charts import html_page, line_chart, table_html
from sendcast.outputs.disclosure import SECONDARY, SUPPRESSED, is_small, plan_relations, suppression_mask
from sendcast.store import Store

COLUMNS = [
    "la_code",
    "la_name",
    "period",
    "period_type",
    "measure",
    "value",
    "unit",
    "source",
    "comparator",
]
COMPARATORS = ("council", "neighbour_median", "england")
COMPARATOR_LABELS = {
    "council": "council",
    "neighbour_median": "statistical neighbours (median)",
    "england": "England",
}
COUNT_UNITS = ("plans", "requests", "assessments")
SUPPRESSED_NOTE = "; fewer than 10, suppressed"
SECONDARY_NOTE = "; suppressed so that a count under 10 cannot be worked out by subtraction"
SMALL_COUNT_LIMIT = 10

PLACEMENTS = {
    "mainstream": "mainstream school",
    "resourced_provision": "resourced provision / SEN unit",
    "state_special": "state special school (maintained, academy, free)",
    "independent_special": "independent or non-maintained special school",
    "ap_pru": "alternative provision / PRU",
    "post16_fe": "post-16 further education",
    "other": "other or none",
}
FLOWS = {
    "requests": ("requests", "requests for an EHC needs assessment"),
    "assessments": ("assessments", "EHC needs assessments"),
    "new_plans": ("plans", "new EHC plans"),
    "ceased_plans": ("plans", "EHC plans ceased"),
}
LAIT = {
    "pct_pupils_ehcp": ("percent", "% of pupils with an EHC plan"),
    "pct_pupils_sen_support": ("percent", "% of pupils on SEN support"),
    "ks4_attainment8_ehcp": ("score", "KS4 Attainment 8, pupils with an EHC plan"),
    "ks4_attainment8_sen_support": ("score", "KS4 Attainment 8, pupils on SEN support"),
}
LABELS: dict[str, str] = {
    "ehcp_total": "EHC plans at January",
    "ehcp_per_10k_0_25": "EHC plans per 10,000 aged 0-25",
    **{m: f"plans in {lab}" for m, lab in PLACEMENTS.items()},
    **{f"{m}_pct": f"% of plans in {lab}" for m, lab in PLACEMENTS.items()},
    **{m: lab for m, (_u, lab) in FLOWS.items()},
    "requests_per_10k_0_25": "requests per 10,000 aged 0-25",
    "new_plans_per_10k_0_25": "new plans per 10,000 aged 0-25",
    "plans_within_20_weeks_pct": "% of new plans issued within 20 weeks",
    "tribunal_appeal_rate": "SEND Tribunal appeal rate (% of appealable decisions)",
    **{m: lab for m, (_u, lab) in LAIT.items()},
}
SOURCE_TITLES = {
    "ehcp-statistics": "DfE, Education, health and care plans (England)",
    "population": "ONS mid-year population estimates, aged 0-25",
    "send-tribunal-appeal-rates": "DfE / MoJ, SEND Tribunal appeal rates",
    "dfe-lait": "DfE, Local authority interactive tool (LAIT)",
}


@dataclass(frozen=True)
class Council:
    """The council being profiled and its statistical neighbours (current codes)."""

    la_code: str
    la_name: str
    neighbours: tuple[str, ...]


def council_info(store: Store, la_code: str) -> Council:
    """The council's name and its statistical neighbours from the store."""
    councils = store.table("councils")
    row = councils[councils["la_code"] == la_code]
    if row.empty:
        raise KeyError(f"{la_code} is not a current council in the store")
    nb = store.table("neighbours_current")
    nb = nb[nb["la_code"] == la_code].sort_values("rank")
    return Council(la_code, str(row["la_name"].iloc[0]), tuple(str(c) for c in nb["neighbour_la_code"]))


# --------------------------------------------------------------------------- suppression


def is_suppressed(unit: pd.Series) -> pd.Series:
    """True where a row's unit marks a hidden figure (a small count, a count hidden so that
    none can be recovered by subtraction, or a rate or share built on either)."""
    u = unit.astype(str)
    return u.str.endswith(SUPPRESSED_NOTE) | u.str.endswith(SECONDARY_NOTE)


# the count each rate or share is built on: hidden with it (rate x population, or share x
# total, gives the count back)
DERIVED_FROM = {
    "ehcp_per_10k_0_25": "ehcp_total",
    **{f"{m}_pct": m for m in PLACEMENTS},
    "requests_per_10k_0_25": "requests",
    "new_plans_per_10k_0_25": "new_plans",
}
# placements add up to all plans, for the council and for England (a neighbour median is
# not a sum of anything)
RELATIONS = plan_relations(("comparator", "period_type", "period"), ages=False, special_school=False)


def apply_disclosure(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (columns :data:`COLUMNS`) as it may be published: counts of 1 to 9 hidden; for
    the council and England, secondary suppression so that no hidden placement count is the
    total minus the others; every rate or share built on a hidden count hidden with it. A
    hidden value is missing and its unit says why (:data:`SUPPRESSED_NOTE`,
    :data:`SECONDARY_NOTE`)."""
    out = table.reset_index(drop=True).copy()
    counts = out["unit"].isin(COUNT_UNITS)
    primary = counts & pd.Series(is_small(out["value"].to_numpy()), index=out.index)
    summed = counts & out["comparator"].isin(["council", "england"])
    hidden = primary.copy()
    if summed.any():
        sub = out[summed]
        hidden.loc[sub.index] = suppression_mask(sub, "value", RELATIONS)
    secondary = hidden & ~primary
    key = ["comparator", "period_type", "period"]
    gone = out.loc[hidden, key + ["measure"]].assign(_hidden=True)
    for derived, base in DERIVED_FROM.items():
        rows = out["measure"] == derived
        if not rows.any():
            continue
        lookup = gone[gone["measure"] == base].drop(columns="measure")
        m = out.loc[rows, key].merge(lookup, on=key, how="left")["_hidden"].eq(True).to_numpy()
        primary.loc[out.index[rows][m]] = True
    out.loc[primary | secondary, "value"] = np.nan
    out.loc[primary, "unit"] = out.loc[primary, "unit"].astype(str) + SUPPRESSED_NOTE
    out.loc[secondary, "unit"] = out.loc[secondary, "unit"].astype(str) + SECONDARY_NOTE
    return out


def _mask_small(values: pd.Series) -> pd.Series:
    """Counts with 1-9 set missing, so that a rate or share built on them is suppressed too."""
    return values.where(~((values > 0) & (values < SMALL_COUNT_LIMIT)))


# --------------------------------------------------------------------------- building


def _wide(long: pd.DataFrame, measures: Iterable[str]) -> pd.DataFrame:
    """A (la_code, year) x measure table of ``measures`` from a long table."""
    sub = long[long["measure"].isin(list(measures))]
    return sub.pivot_table(index=["la_code", "year"], columns="measure", values="value", aggfunc="first")


def _rows(
    wide: pd.DataFrame,
    measure: str,
    period_type: str,
    unit: str,
    source: pd.Series,
    suffix: str = "",
    numerator: str | None = None,
) -> pd.DataFrame:
    """Long rows of one column of ``wide``; ``source`` is indexed like ``wide`` (la_code, year).

    For a rate or share, ``numerator`` names the count it was built on: where that count is
    1 to 9 the row is marked suppressed too (it would give the count away).
    """
    if measure not in wide.columns:
        return pd.DataFrame(columns=["la_code", "year", "measure", "period_type", "value", "unit", "source"])
    s = wide[measure].rename("value").reset_index()
    src = source.reindex(wide.index).fillna("ehcp-statistics").astype(str).to_numpy()
    out = s.assign(measure=measure, period_type=period_type, unit=unit, source=[f"{x}{suffix}" for x in src])
    if numerator is not None:
        small = wide[numerator].reset_index(drop=True)
        small = (small > 0) & (small < SMALL_COUNT_LIMIT)
        out.loc[small.to_numpy(), "unit"] = unit + SUPPRESSED_NOTE
    return out


def _period_label(year: int, period_type: str) -> str:
    if period_type == "academic_year":
        return f"{year}-{(year + 1) % 100:02d}"
    return str(year)


def _figures(store: Store, codes: list[str]) -> pd.DataFrame:
    """Every profile measure for ``codes`` (council, neighbours, England), unsuppressed.

    Columns: la_code, year, measure, period_type, value, unit, source.
    """
    q = store.query
    ph = ",".join("?" for _ in codes)
    series = q(
        f"SELECT la_code, year, period_type, measure, value, source_release FROM series WHERE la_code IN ({ph})",
        codes,
    )
    pop = q(
        f"SELECT la_code, year, sum(population) AS pop FROM population WHERE la_code IN ({ph}) "
        "AND age BETWEEN 0 AND 25 GROUP BY la_code, year",
        codes,
    ).set_index(["la_code", "year"])["pop"]

    def release(measure: str, period_type: str) -> pd.Series:
        """Which release each (la_code, year) figure of ``measure`` came from."""
        r = series[(series["measure"] == measure) & (series["period_type"] == period_type)]
        return r.set_index(["la_code", "year"])["source_release"]

    jan = _wide(series[series["period_type"] == "january"], ["ehcp_total", *PLACEMENTS])
    cal = _wide(series[series["period_type"] == "calendar_year"], [*FLOWS, "plans_within_20_weeks_pct"])
    parts: list[pd.DataFrame] = []
    with_pop = "; ons mid-year population"

    src_jan = release("ehcp_total", "january")
    parts.append(_rows(jan, "ehcp_total", "january", "plans", src_jan))
    if "ehcp_total" in jan.columns:
        jan["ehcp_per_10k_0_25"] = _mask_small(jan["ehcp_total"]) / pop.reindex(jan.index) * 1e4
        parts.append(
            _rows(
                jan,
                "ehcp_per_10k_0_25",
                "january",
                "plans per 10,000 aged 0-25",
                src_jan,
                with_pop,
                "ehcp_total",
            )
        )
    for m in PLACEMENTS:
        if m not in jan.columns:
            continue
        src = release(m, "january")
        parts.append(_rows(jan, m, "january", "plans", src))
        jan[f"{m}_pct"] = _mask_small(jan[m]) / jan["ehcp_total"] * 100
        parts.append(_rows(jan, f"{m}_pct", "january", "percent of plans", src, numerator=m))

    for m, (unit, _lab) in FLOWS.items():
        parts.append(_rows(cal, m, "calendar_year", unit, release(m, "calendar_year")))
    for m in ("requests", "new_plans"):
        if m in cal.columns:
            cal[f"{m}_per_10k_0_25"] = _mask_small(cal[m]) / pop.reindex(cal.index) * 1e4
            parts.append(
                _rows(
                    cal,
                    f"{m}_per_10k_0_25",
                    "calendar_year",
                    f"{FLOWS[m][0]} per 10,000 aged 0-25",
                    release(m, "calendar_year"),
                    with_pop,
                    numerator=m,
                )
            )
    parts.append(
        _rows(
            cal,
            "plans_within_20_weeks_pct",
            "calendar_year",
            "percent",
            release("plans_within_20_weeks_pct", "calendar_year"),
        )
    )

    obs = q(
        "SELECT la_code, year, period_type, measure, value, unit, source, release "
        "FROM observations "
        f"WHERE la_code IN ({ph}) AND breakdown = 'total' AND ("
        "(source = 'send-tribunal-appeal-rates' AND measure = 'tribunal_appeal_rate') OR "
        f"(source = 'dfe-lait' AND measure IN ({','.join('?' for _ in LAIT)})))",
        [*codes, *LAIT],
    )
    if not obs.empty:
        obs = obs.drop_duplicates(["la_code", "year", "period_type", "measure"], keep="last")
        obs["source"] = obs["source"].astype(str) + ":" + obs["release"].astype(str)
        obs["unit"] = obs["measure"].map({m: u for m, (u, _l) in LAIT.items()}).fillna(obs["unit"])
        parts.append(obs.drop(columns="release"))

    out = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    out["year"] = out["year"].astype(int)
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype(float)
    return out


def profile_table(store: Store, la_code: str) -> pd.DataFrame:
    """The council's profile as a long table (columns :data:`COLUMNS`), small counts suppressed.

    One row per measure, period and comparator (council, neighbour median, England).
    """
    c = council_info(store, la_code)
    codes = sorted({la_code, ENGLAND, *c.neighbours})
    figs = _figures(store, codes)
    key = ["year", "period_type", "measure"]
    meta = figs.drop_duplicates(key + ["la_code"])
    council = meta[meta["la_code"] == la_code].assign(comparator="council")
    england = meta[meta["la_code"] == ENGLAND].assign(comparator="england")
    nb = meta[meta["la_code"].isin(c.neighbours)]
    # the median of the neighbours that published a figure (missing ones are skipped)
    med = (
        nb.groupby(key, as_index=False)
        .agg(value=("value", "median"), unit=("unit", "first"), source=("source", "first"))
        .assign(comparator="neighbour_median")
    )
    med["source"] = med["source"].astype(str) + "; median of statistical neighbours"
    out = pd.concat([council, med, england], ignore_index=True)
    out["la_code"] = la_code
    out["la_name"] = c.la_name
    out["period"] = [_period_label(int(y), str(p)) for y, p in zip(out["year"], out["period_type"], strict=True)]
    order = {m: i for i, m in enumerate(LABELS)}
    out["_m"] = out["measure"].map(order).fillna(len(order))
    out["_c"] = out["comparator"].map({k: i for i, k in enumerate(COMPARATORS)})
    out = out.sort_values(["_m", "_c", "year"], kind="stable")
    out = apply_disclosure(out[COLUMNS])
    # a figure nobody published (or a rate without a population) is left out rather than shown blank
    return out[out["value"].notna() | is_suppressed(out["unit"])].reset_index(drop=True)


def council_figures(store: Store, codes: list[str]) -> pd.DataFrame:
    """Every profile measure of each council in ``codes`` as its own profile shows it (the
    ``council`` rows of :func:`profile_table`, :func:`apply_disclosure` applied council by
    council), e.g. for a map of all councils. Columns :data:`COLUMNS` and ``year``."""
    figs = _figures(store, codes).drop_duplicates(["la_code", "year", "period_type", "measure"])
    if figs.empty:
        return pd.DataFrame(columns=[*COLUMNS, "year"])
    figs = figs.assign(
        la_name="",
        comparator="council",
        period=[_period_label(int(y), str(p)) for y, p in zip(figs["year"], figs["period_type"], strict=True)],
    )
    parts = [apply_disclosure(g[[*COLUMNS, "year"]]) for _, g in figs.groupby("la_code", sort=True)]
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- display


def format_value(value: float, unit: str) -> str:
    """A figure as text: ``<10`` for a count of 1 to 9, ``c`` for a count hidden so that one
    cannot be worked out by subtraction or a rate or share built on a hidden count, ``-`` when
    missing."""
    if unit.endswith(SECONDARY_NOTE):
        return SECONDARY
    if unit.endswith(SUPPRESSED_NOTE):
        return SUPPRESSED if unit.removesuffix(SUPPRESSED_NOTE) in COUNT_UNITS else SECONDARY
    if value is None or pd.isna(value):
        return "-"
    if unit in COUNT_UNITS:
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def profile_wide(profile: pd.DataFrame, period_type: str, last: int = 6) -> pd.DataFrame:
    """Display table for one period type: measure x comparator by the ``last`` periods, as text."""
    sub = profile[profile["period_type"] == period_type]
    if sub.empty:
        return pd.DataFrame()
    periods = sorted(sub["period"].unique())[-last:]
    sub = sub[sub["period"].isin(periods)]
    rows: list[dict[str, object]] = []
    short = {"council": "council", "neighbour_median": "neighbours", "england": "England"}
    for (measure, comp), g in sub.groupby(["measure", "comparator"], sort=False):
        cells = {p: format_value(v, u) for p, v, u in zip(g["period"], g["value"], g["unit"], strict=True)}
        rows.append(
            {
                # the measure is named once, on its first row, to keep the table narrow
                "measure": LABELS.get(str(measure), str(measure)) if not rows or rows[-1]["_m"] != measure else "",
                "figure for": short[str(comp)],
                **{p: cells.get(p, "-") for p in periods},
                "_m": measure,
            }
        )
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows).drop(columns="_m")
    return pd.DataFrame(rows)


def _value(profile: pd.DataFrame, measure: str, comparator: str, period: str) -> float:
    v = profile.loc[
        (profile["measure"] == measure) & (profile["comparator"] == comparator) & (profile["period"] == period),
        "value",
    ]
    return float(v.iloc[0]) if len(v) else float("nan")


def summary_text(profile: pd.DataFrame) -> str:
    """A plain-language paragraph on the latest January caseload, its growth and its comparators."""
    name = str(profile["la_name"].iloc[0])
    own = profile[(profile["measure"] == "ehcp_total") & (profile["comparator"] == "council")].dropna(subset=["value"])
    if own.empty:
        return f"No published EHC plan figures for {name}."
    latest = own.sort_values("period").iloc[-1]
    period = str(latest["period"])
    prev = str(int(period) - 1)
    total = float(latest["value"])
    text = f"{name} had {total:,.0f} EHC plans in January {period}"
    rate = _value(profile, "ehcp_per_10k_0_25", "council", period)
    if not np.isnan(rate):
        text += f", {rate:,.0f} per 10,000 children and young people aged 0-25"
    before = _value(profile, "ehcp_total", "council", prev)
    if not np.isnan(before) and before > 0:
        change = (total / before - 1) * 100
        text += f", {'up' if change >= 0 else 'down'} {abs(change):.1f}% in a year"
    text += "."
    nb_rate = _value(profile, "ehcp_per_10k_0_25", "neighbour_median", period)
    en_rate = _value(profile, "ehcp_per_10k_0_25", "england", period)
    if not np.isnan(nb_rate) and not np.isnan(en_rate):
        text += (
            f" Its statistical neighbours' median was {nb_rate:,.0f} per 10,000 and England's "
            f"{en_rate:,.0f} per 10,000."
        )
    nb_prev = _value(profile, "ehcp_total", "neighbour_median", prev)
    nb_now = _value(profile, "ehcp_total", "neighbour_median", period)
    en_prev = _value(profile, "ehcp_total", "england", prev)
    en_now = _value(profile, "ehcp_total", "england", period)
    if min(nb_prev, nb_now, en_prev, en_now) > 0:
        text += (
            f" Over the same year the neighbours' median number of plans changed by "
            f"{(nb_now / nb_prev - 1) * 100:+.1f}% and England's by "
            f"{(en_now / en_prev - 1) * 100:+.1f}%."
        )
    indep = _value(profile, "independent_special_pct", "council", period)
    indep_en = _value(profile, "independent_special_pct", "england", period)
    if not np.isnan(indep) and not np.isnan(indep_en):
        text += (
            f" {indep:.1f}% of its plans were in independent or non-maintained special schools "
            f"(England {indep_en:.1f}%)."
        )
    return text


def _comparison_chart(profile: pd.DataFrame, measure: str, y_title: str):  # type: ignore[no-untyped-def]
    sub = profile[profile["measure"] == measure].copy()
    sub["who"] = sub["comparator"].map(COMPARATOR_LABELS)
    sub.loc[sub["comparator"] == "council", "who"] = str(profile["la_name"].iloc[0])
    return line_chart(
        sub,
        x="period",
        y="value",
        colour="who",
        title=LABELS.get(measure, measure),
        y_title=y_title,
    )


def _council_chart(profile: pd.DataFrame, measures: Iterable[str], title: str, y_title: str):  # type: ignore[no-untyped-def]
    sub = profile[profile["measure"].isin(list(measures)) & (profile["comparator"] == "council")].copy()
    sub["what"] = sub["measure"].map(lambda m: LABELS.get(str(m), str(m)))
    return line_chart(sub, x="period", y="value", colour="what", title=title, y_title=y_title)


def _latest_table(profile: pd.DataFrame) -> str:
    """HTML table: each measure's latest period, council beside neighbour median and England."""
    rows = []
    for measure, g in profile.groupby("measure", sort=False):
        have = g[(g["comparator"] == "council") & (g["value"].notna() | is_suppressed(g["unit"]))]
        if have.empty:
            continue
        period = str(sorted(have["period"])[-1])
        cells = {"measure": LABELS.get(str(measure), str(measure)), "period": period}
        for comp in COMPARATORS:
            r = g[(g["comparator"] == comp) & (g["period"] == period)]
            cells[COMPARATOR_LABELS[comp]] = (
                format_value(float(r["value"].iloc[0]), str(r["unit"].iloc[0])) if len(r) else "-"
            )
        rows.append(cells)
    return table_html(pd.DataFrame(rows))


def profile_html(store: Store, la_code: str, profile: pd.DataFrame | None = None) -> str:
    """A self-contained HTML page of the profile: summary, charts and a latest-figures table."""
    p = profile if profile is not None else profile_table(store, la_code)
    c = council_info(store, la_code)
    councils = store.table("councils")
    names = councils.set_index("la_code")["la_name"]
    nb_names = ", ".join(str(names.get(n, n)) for n in c.neighbours)
    intro = (
        f"<p>{html.escape(summary_text(p))}</p>"
        f"<p class='note'>Statistical neighbours (DfE children's services statistical neighbour "
        f"benchmarking tool): {html.escape(nb_names)}. Neighbour figures are the median of the "
        "neighbours "
        "that published a figure. Counts of 1 to 9 are shown as &lt;10; c marks a count hidden so "
        "that a small one cannot be worked out by subtraction from the total, and a rate or share "
        "built on a hidden count. Caseloads are at January; "
        "requests, assessments and new or ceased plans are calendar years; pupil percentages and "
        "Attainment 8 are academic years.</p>"
        "<p class='note'>How accurate is a forecast for this council? Run "
        f"<code>sendcast forecast {html.escape(c.la_name)} --format html --out FILE</code>: "
        "its report "
        "shows how far past forecasts of this kind were from what was later published.</p>"
    )
    placement_pct = [f"{m}_pct" for m in PLACEMENTS]
    sections: list[tuple[str, object]] = [
        (
            "EHC plans per 10,000 aged 0-25",
            _comparison_chart(p, "ehcp_per_10k_0_25", "plans per 10,000"),
        ),
        (
            "EHC plans at January",
            _comparison_chart(p[p["comparator"] == "council"], "ehcp_total", "plans"),
        ),
        (
            "Where children and young people with plans are placed",
            _council_chart(p, placement_pct, "Placement mix (% of plans)", "% of plans"),
        ),
        (
            "Independent and non-maintained special schools",
            _comparison_chart(p, "independent_special_pct", "% of plans"),
        ),
        (
            "Requests, assessments, new and ceased plans",
            _council_chart(p, FLOWS, "Calendar-year flows", "number"),
        ),
        (
            "New plans per 10,000 aged 0-25",
            _comparison_chart(p, "new_plans_per_10k_0_25", "new plans per 10,000"),
        ),
        (
            "Timeliness: new plans issued within 20 weeks",
            _comparison_chart(p, "plans_within_20_weeks_pct", "% within 20 weeks"),
        ),
        (
            "SEND Tribunal appeals",
            _comparison_chart(p, "tribunal_appeal_rate", "% of appealable decisions"),
        ),
        ("Pupils with an EHC plan", _comparison_chart(p, "pct_pupils_ehcp", "% of pupils")),
        ("Pupils on SEN support", _comparison_chart(p, "pct_pupils_sen_support", "% of pupils")),
        (
            "KS4 Attainment 8: pupils with an EHC plan",
            _comparison_chart(p, "ks4_attainment8_ehcp", "score"),
        ),
        (
            "KS4 Attainment 8: pupils on SEN support",
            _comparison_chart(p, "ks4_attainment8_sen_support", "score"),
        ),
        ("Latest figures", _latest_table(p)),
        (
            "Sources",
            "<ul>" + "".join(f"<li>{html.escape(t)}</li>" for t in SOURCE_TITLES.values()) + "</ul>",
        ),
    ]
    return html_page(f"{c.la_name} ({c.la_code}): SEND profile", sections, intro=intro)  # type: ignore[arg-type]


def council_list(store: Store) -> pd.DataFrame:
    """The current councils: ONS code, DfE code, name, region and predecessors."""
    c = store.table("councils")
    out = c[["la_code", "old_la_code", "la_name", "region_name", "predecessors"]].rename(
        columns={"la_code": "ons_code", "old_la_code": "dfe_code", "region_name": "region"}
    )
    out["predecessors"] = out["predecessors"].fillna("")
    return out.sort_values("la_name").reset_index(drop=True)

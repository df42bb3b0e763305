"""Spending, outcomes and experience series per council and year, from the store.

Every series is a published figure (one measure and breakdown of one publication) or a ratio of
published figures with the formula in its :class:`OutcomeSeries`; every row keeps its period
label, its file and, where missing, the publisher's reason (never 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

ENGLAND = "E92000001"
Group = Literal["spending", "outcomes", "experience", "context"]

LAIT = "DfE, Local Authority Interactive Tool (LAIT), April 2026"
DASHBOARD = "DfE, Local Area SEND and AP inclusion dashboard (prepared data, February 2024)"
TRIBUNALS = "MoJ/DfE, SEND Tribunal appeal rates 2014-2024"
SEN2 = "DfE, Education, health and care plans (SEN2), 2025 and 2022 releases"
ONS = "ONS mid-year population estimates"
DSG = "ESFA, Dedicated schools grant allocations 2019-20 to 2023-24"
BENCH = "DfE, High needs benchmarking tool 2021-22 (section 251 outturn)"
OFSTED = "Ofsted/CQC, area SEND inspections (SEND and AP inclusion dashboard)"

S251_HIGH_NEEDS_LINES = (
    "place_funding_total",
    "topup_maintained_total",
    "topup_nmss_independent_total",
    "alternative_provision_services",
    "hospital_education_services",
    "sen_support_inclusion_services",
    "therapies_health_services",
)


@dataclass(frozen=True)
class OutcomeSeries:
    """One series: ``key``, ``label`` (plain English), ``group``, ``unit``, ``source`` (publication),
    and where it comes from: ``source_id`` + ``measure`` + ``breakdown`` for a published figure;
    ``derived`` names a formula in :func:`_derived` (stated in ``note``). ``better``: which way is
    better for children ("higher", "lower", "" when it is not an outcome)."""

    key: str
    label: str
    group: Group
    unit: str
    source: str
    source_id: str | None = None
    measure: str | None = None
    breakdown: str | None = None
    derived: str | None = None
    better: str = ""
    note: str = ""
    count: bool = False  # a count of children or cases: shown through the disclosure rule


SERIES: tuple[OutcomeSeries, ...] = (
    # spending
    OutcomeSeries(
        "hn_outturn_per_head",
        "High-needs spending per head aged 2-18",
        "spending",
        "£ per head",
        f"{BENCH}; population 2-18 from the same file",
        derived="hn_outturn_per_head",
        note="s251 outturn: place funding + top-ups (maintained, independent and non-maintained) + AP, "
        "hospital education, SEN support and therapy services, divided by the population aged 2-18",
    ),
    OutcomeSeries(
        "hnb_per_head",
        "High needs block allocation per head aged 0-17",
        "spending",
        "£ per head",
        f"{DSG}; DfE population aged 0-17 (mid-year)",
        derived="hnb_per_head",
        note="allocation before deductions for academies and high-needs places, over the mid-year population",
    ),
    OutcomeSeries(
        "specialist_spend_per_head",
        "Specialist placement spending per head aged 2-18",
        "spending",
        "£ per head",
        DASHBOARD,
        "send-ap-dashboard",
        "specialist_spend_per_head",
        "total",
    ),
    OutcomeSeries(
        "independent_spend_per_head",
        "Independent and non-maintained specialist spending per head aged 2-18",
        "spending",
        "£ per head",
        DASHBOARD,
        "send-ap-dashboard",
        "specialist_spend_per_head",
        "independent_non_maintained",
    ),
    OutcomeSeries(
        "independent_share",
        "Share of EHC plans in independent special schools",
        "spending",
        "%",
        SEN2,
        derived="independent_share",
        note="plans in independent special schools / all plans, January",
    ),
    OutcomeSeries(
        "plans_per_10k",
        "EHC plans per 10,000 aged 0-25",
        "spending",
        "per 10,000",
        f"{SEN2}; {ONS}",
        derived="plans_per_10k",
        note="plans at January / mid-year population aged 0-25 x 10,000",
    ),
    OutcomeSeries("ehcp_total", "EHC plans at January", "spending", "plans", SEN2, derived="ehcp_total", count=True),
    OutcomeSeries(
        "dsg_balance_pct",
        "DSG cumulative deficit as % of DSG income (positive = deficit)",
        "spending",
        "%",
        DASHBOARD,
        "send-ap-dashboard",
        "dsg_cumulative_balance_pct_income",
        "total",
        better="lower",
    ),
    # context (composition)
    OutcomeSeries(
        "pct_pupils_ehcp", "Pupils with an EHC plan (all schools)", "context", "%", LAIT, "dfe-lait", "pct_pupils_ehcp"
    ),
    OutcomeSeries(
        "pct_pupils_sen_support",
        "Pupils with SEN support (all schools)",
        "context",
        "%",
        LAIT,
        "dfe-lait",
        "pct_pupils_sen_support",
    ),
    # outcomes
    OutcomeSeries(
        "ks2_rwm_ehcp",
        "KS2: pupils with an EHC plan meeting the expected standard in reading, writing and maths",
        "outcomes",
        "%",
        DASHBOARD,
        "send-ap-dashboard",
        "dashboard_ks2_rwm_expected_pct",
        "ehc_plan",
        better="higher",
    ),
    OutcomeSeries(
        "ks2_rwm_sen_support",
        "KS2: pupils with SEN support meeting the expected standard in reading, writing and maths",
        "outcomes",
        "%",
        DASHBOARD,
        "send-ap-dashboard",
        "dashboard_ks2_rwm_expected_pct",
        "sen_support",
        better="higher",
    ),
    OutcomeSeries(
        "ks2_reading_progress_ehcp",
        "KS2 reading progress: pupils with an EHC plan",
        "outcomes",
        "score",
        LAIT,
        "dfe-lait",
        "lait_ks2_sen_reading_progress",
        better="higher",
    ),
    OutcomeSeries(
        "ks2_maths_progress_ehcp",
        "KS2 maths progress: pupils with an EHC plan",
        "outcomes",
        "score",
        LAIT,
        "dfe-lait",
        "lait_ks2_sen_maths_progress",
        better="higher",
    ),
    OutcomeSeries(
        "ks2_reading_progress_sen_support",
        "KS2 reading progress: pupils with SEN support",
        "outcomes",
        "score",
        LAIT,
        "dfe-lait",
        "lait_ks2_sensupport_reading_progress",
        better="higher",
    ),
    OutcomeSeries(
        "ks2_maths_progress_sen_support",
        "KS2 maths progress: pupils with SEN support",
        "outcomes",
        "score",
        LAIT,
        "dfe-lait",
        "lait_ks2_sensupport_maths_progress",
        better="higher",
    ),
    OutcomeSeries(
        "ks4_attainment8_ehcp",
        "KS4 Attainment 8: pupils with an EHC plan",
        "outcomes",
        "score",
        LAIT,
        "dfe-lait",
        "ks4_attainment8_ehcp",
        better="higher",
    ),
    OutcomeSeries(
        "ks4_attainment8_sen_support",
        "KS4 Attainment 8: pupils with SEN support",
        "outcomes",
        "score",
        LAIT,
        "dfe-lait",
        "ks4_attainment8_sen_support",
        better="higher",
    ),
    OutcomeSeries(
        "ks4_progress8_ehcp",
        "KS4 Progress 8: pupils with an EHC plan",
        "outcomes",
        "score",
        LAIT,
        "dfe-lait",
        "ks4_progress8_ehcp",
        better="higher",
    ),
    OutcomeSeries(
        "ks4_progress8_sen_support",
        "KS4 Progress 8: pupils with SEN support",
        "outcomes",
        "score",
        LAIT,
        "dfe-lait",
        "ks4_progress8_sen_support",
        better="higher",
    ),
    OutcomeSeries(
        "post16_ehcp",
        "After KS4: pupils with an EHC plan staying in education, employment or training",
        "outcomes",
        "%",
        LAIT,
        "dfe-lait",
        "lait_sus_ed_overall_sen_stat_inc_spec",
        better="higher",
    ),
    OutcomeSeries(
        "post16_sen_support",
        "After KS4: pupils with SEN support staying in education, employment or training",
        "outcomes",
        "%",
        LAIT,
        "dfe-lait",
        "lait_sus_ed_overall_sen_no_stat_inc_spec",
        better="higher",
    ),
    OutcomeSeries(
        "age19_l3_ehcp",
        "19-year-olds with an EHC plan qualified to level 3",
        "outcomes",
        "%",
        LAIT,
        "dfe-lait",
        "lait_age19_sen_s_l3",
        better="higher",
    ),
    OutcomeSeries(
        "age19_l3_sen_support",
        "19-year-olds with SEN support qualified to level 3",
        "outcomes",
        "%",
        LAIT,
        "dfe-lait",
        "lait_age19_senwo_s_l3",
        better="higher",
    ),
    # experience
    OutcomeSeries(
        "within_20_weeks",
        "New EHC plans issued within 20 weeks (including exceptions)",
        "experience",
        "%",
        LAIT,
        "dfe-lait",
        "plans_within_20_weeks_pct",
        better="higher",
    ),
    OutcomeSeries(
        "tribunal_appeal_rate",
        "SEND Tribunal appeals as % of appealable decisions",
        "experience",
        "%",
        TRIBUNALS,
        "send-tribunal-appeal-rates",
        "tribunal_appeal_rate",
        better="lower",
    ),
    OutcomeSeries(
        "tribunal_appeals",
        "SEND Tribunal appeals registered",
        "experience",
        "appeals",
        TRIBUNALS,
        "send-tribunal-appeal-rates",
        "tribunal_appeals",
        count=True,
    ),
)
BY_KEY = {s.key: s for s in SERIES}
NOT_PUBLISHED = (
    "Not in the published data sendcast holds: the share of tribunal appeals decided against the council "
    "(MoJ publishes it nationally, not by council, in the files here); absence and exclusions of pupils "
    "with SEN by council (the dashboard's absence table is not yet in the store); high-needs outturn "
    "after 2021-22 (s251 outturn files not held)."
)


def _published(store: Any) -> pd.DataFrame:
    """Rows of every published series (all councils and England)."""
    pub = [s for s in SERIES if s.measure]
    measures = sorted({s.measure for s in pub if s.measure})
    obs = store.observations(measure=measures)
    out = []
    for s in pub:
        o = obs[(obs["measure"] == s.measure) & (obs["source"] == s.source_id)]
        if s.breakdown:
            o = o[o["breakdown"] == s.breakdown]
        out.append(o.assign(series=s.key))
    cols = ["la_code", "la_name", "series", "year", "period", "value", "missing_reason", "file"]
    return pd.concat(out, ignore_index=True)[cols]


def _england_ratio(num: pd.DataFrame, den: pd.DataFrame, series: str) -> pd.DataFrame:
    """England's value of a per-head ratio as the sum over councils with both figures."""
    councils = ("E06", "E08", "E09", "E10")
    n = num[num["la_code"].astype(str).str[:3].isin(councils)].groupby(["la_code", "year"])["value"].sum(min_count=1)
    d = den[den["la_code"].astype(str).str[:3].isin(councils)].groupby(["la_code", "year"])["value"].last()
    both = pd.concat([n.rename("n"), d.rename("d")], axis=1).dropna()
    e = both.groupby(level="year").sum()
    period = num.groupby("year")["period"].last()
    return pd.DataFrame(
        {
            "la_code": ENGLAND,
            "la_name": "England",
            "series": series,
            "year": e.index,
            "period": period.reindex(e.index).to_numpy(),
            "value": (e["n"] / e["d"]).to_numpy(),
            "missing_reason": None,
            "file": str(num["file"].iloc[0]) + " (sum over councils)",
        }
    )


def _derived(store: Any) -> pd.DataFrame:
    """Rows of the derived series (formulas in :data:`SERIES` notes)."""
    from sendcast.scenarios.realism import council_metrics

    rows: list[pd.DataFrame] = []
    # s251 high-needs outturn per head 2-18 (2021-22)
    o = store.observations(measure="s251_outturn", breakdown=list(S251_HIGH_NEEDS_LINES))
    pop = store.observations(measure="population_2_18", source="high-needs-benchmarking")
    if len(o) and len(pop):
        spend = o.groupby(["la_code", "year"]).agg(
            value=("value", lambda v: v.sum(min_count=len(S251_HIGH_NEEDS_LINES))),
            la_name=("la_name", "last"),
            period=("period", "last"),
            file=("file", "last"),
        )
        p = pop.groupby(["la_code", "year"])["value"].last()
        spend["value"] = spend["value"] / p.reindex(spend.index)
        spend = spend.reset_index().assign(series="hn_outturn_per_head", missing_reason=None)
        rows.append(spend)
        rows.append(_england_ratio(o, pop, "hn_outturn_per_head"))
    # England's specialist spend per head (the dashboard publishes councils only)
    tot = store.observations(measure="specialist_spend_total", source="send-ap-dashboard")
    p218 = store.observations(measure="population_2_18", source="send-ap-dashboard")
    for key, breakdown in (
        ("specialist_spend_per_head", "total"),
        ("independent_spend_per_head", "independent_non_maintained"),
    ):
        part = tot[tot["breakdown"] == breakdown]
        if len(part) and len(p218):
            rows.append(_england_ratio(part, p218, key))
    # high needs block per head 0-17
    hnb = store.observations(measure="high_needs_block", breakdown="before_deductions")
    p017 = store.observations(measure="population_0_17")
    if len(hnb) and len(p017):
        p = p017.groupby(["la_code", "year"])["value"].last()
        h = hnb.set_index(["la_code", "year"])
        v = h["value"] / p.reindex(h.index)
        rows.append(
            h.assign(value=v)
            .reset_index()[["la_code", "la_name", "year", "period", "value", "file"]]
            .assign(series="hnb_per_head", missing_reason=None)
        )
    m = council_metrics(store.table("series"), store.table("population"), since=2010)
    m["period"] = "January " + m["year"].astype(str)
    m["file"] = "series.parquet (harmonised SEN2)"
    eng = m.groupby("year")[["ehcp_total", "independent_special", "pop_0_25"]].sum(min_count=1).reset_index()
    eng = eng.assign(
        la_code=ENGLAND, la_name="England", period="January " + eng["year"].astype(str), file=m["file"].iloc[0]
    )
    for frame in (m, eng):
        f = frame.assign(
            plans_per_10k=frame["ehcp_total"] / frame["pop_0_25"] * 1e4,
            independent_share_pct=frame["independent_special"] / frame["ehcp_total"] * 100,
        )
        for key, col in (
            ("plans_per_10k", "plans_per_10k"),
            ("independent_share", "independent_share_pct"),
            ("ehcp_total", "ehcp_total"),
        ):
            rows.append(
                f[["la_code", "la_name", "year", "period", "file"]].assign(
                    series=key, value=f[col].to_numpy(), missing_reason=None
                )
            )
    cols = ["la_code", "la_name", "series", "year", "period", "value", "missing_reason", "file"]
    out = pd.concat(rows, ignore_index=True)[cols]
    return out[out["value"].notna() | out["missing_reason"].notna()]


@lru_cache(maxsize=2)
def _all(path: str) -> pd.DataFrame:
    from sendcast.store import Store

    store = Store(__import__("pathlib").Path(path))
    t = pd.concat([_published(store), _derived(store)], ignore_index=True)
    t = t[t["la_code"].astype(str).str[:3].isin(["E06", "E08", "E09", "E10", "E92"])]
    return t.sort_values(["series", "la_code", "year"]).reset_index(drop=True)


def all_councils(store: Any) -> pd.DataFrame:
    """Every series for every council (and England, ``E92000001``) and year: ``la_code, la_name,
    series, year, period, value, missing_reason, file`` (cached per store)."""
    return _all(str(store.path)).copy()


def council_outcomes(store: Any, la_code: str) -> pd.DataFrame:
    """One council's series (code or name), tidy: ``series, label, group, unit, year, period,
    value, missing_reason, neighbours_median, neighbours_n, england, source, file, note``.

    ``neighbours_median``: the median over the council's statistical neighbours (DfE, 2025 model)
    with a value that year; ``england``: the published England figure (or, for derived series, the
    same ratio over England's totals) where there is one. Rows are every year published."""
    from sendcast.geography import resolve

    code = str(resolve(la_code, store.table("councils"))["la_code"])
    t = all_councils(store)
    nb = store.table("neighbours_current")
    nbs = list(nb.loc[nb["la_code"] == code, "neighbour_la_code"])
    own = t[t["la_code"] == code]
    n = t[t["la_code"].isin(nbs)].groupby(["series", "year"])["value"].agg(["median", "count"])
    e = t[t["la_code"] == ENGLAND].groupby(["series", "year"])["value"].last()
    own = own.set_index(["series", "year"])
    own["neighbours_median"] = n["median"].reindex(own.index)
    own["neighbours_n"] = n["count"].reindex(own.index)
    own["england"] = e.reindex(own.index)
    own = own.reset_index()
    meta = pd.DataFrame(
        [
            {"series": s.key, "label": s.label, "group": s.group, "unit": s.unit, "source": s.source, "note": s.note}
            for s in SERIES
        ]
    )
    out = own.merge(meta, on="series", how="left")
    order = {s.key: i for i, s in enumerate(SERIES)}
    out = out.sort_values(["series", "year"], key=lambda c: c.map(order) if c.name == "series" else c)
    cols = [
        "series",
        "label",
        "group",
        "unit",
        "la_code",
        "la_name",
        "year",
        "period",
        "value",
        "missing_reason",
        "neighbours_median",
        "neighbours_n",
        "england",
        "source",
        "file",
        "note",
    ]
    return out[cols].reset_index(drop=True)


def latest(outcomes: pd.DataFrame) -> pd.DataFrame:
    """The latest year of each series with a value (or, if none has one, the latest row)."""
    has = outcomes[outcomes["value"].notna()]
    last = has.groupby("series").tail(1)
    missing = outcomes[~outcomes["series"].isin(last["series"])].groupby("series").tail(1)
    order = {s.key: i for i, s in enumerate(SERIES)}
    return pd.concat([last, missing]).sort_values("series", key=lambda c: c.map(order)).reset_index(drop=True)


def inspection(store: Any, la_code: str) -> dict[str, str]:
    """The council's latest area SEND inspection: ``outcome``, ``date``, ``source`` (or empty)."""
    t = store.table("area_send_inspections")
    r = t[t["la_code"] == la_code]
    if r.empty:
        return {}
    row = r.iloc[-1]
    date = row["new_publication_date"] or row["previous_publication_date"] or ""
    return {"outcome": str(row["summary_outcome"]), "date": str(date), "source": OFSTED}


# --------------------------------------------------------------------------- spending and attainment


def _wide_year(t: pd.DataFrame, series: str, year: int) -> pd.Series:
    s = t[(t["series"] == series) & (t["year"] == year) & (t["la_code"] != ENGLAND)]
    return s.set_index("la_code")["value"].dropna()


@dataclass
class Comparison:
    """One spending measure against one outcome across councils: ``n`` councils, Spearman ``rho``
    and its p-value, and ``rho_given_ehcp`` (the partial rank correlation allowing for the share of
    pupils with an EHC plan, a composition effect)."""

    spending: str
    outcome: str
    year: int
    n: int
    rho: float
    p: float
    rho_given_ehcp: float


def _partial_rank(x: pd.Series, y: pd.Series, z: pd.Series) -> float:
    """Spearman partial correlation of x and y given z (correlation of rank residuals)."""
    rx, ry, rz = x.rank(), y.rank(), z.rank()

    def resid(a: pd.Series) -> np.ndarray:
        b = np.polyfit(rz, a, 1)
        return np.asarray(a - np.polyval(b, rz))

    return float(np.corrcoef(resid(rx), resid(ry))[0, 1])


def spend_attainment(store: Any, year: int = 2021) -> list[Comparison]:
    """Spending per head against KS4 and KS2 results of pupils with SEN across councils, in
    ``year`` (2021: financial year 2021-22 spending, the last high-needs outturn held, against the
    2021-22 academic year's results)."""
    t = all_councils(store)
    ehcp_share = _wide_year(t, "pct_pupils_ehcp", year)
    out = []
    for sp in ("hn_outturn_per_head", "specialist_spend_per_head"):
        x = _wide_year(t, sp, year)
        for oc in ("ks4_attainment8_ehcp", "ks4_attainment8_sen_support", "ks4_progress8_ehcp", "ks2_rwm_ehcp"):
            y = _wide_year(t, oc, year)
            idx = x.index.intersection(y.index).intersection(ehcp_share.index)
            if len(idx) < 10:
                continue
            res = spearmanr(x[idx], y[idx])
            out.append(
                Comparison(
                    sp,
                    oc,
                    year,
                    len(idx),
                    float(res.statistic),
                    float(res.pvalue),
                    _partial_rank(x[idx], y[idx], ehcp_share[idx]),
                )
            )
    return out


def comparison_text(comps: list[Comparison]) -> str:
    """The spending-and-attainment comparison in words, with where it agrees with the LGA reading."""
    if not comps:
        return "Too few councils have both spending and attainment published to compare."
    parts = []
    for c in comps:
        strength = "no clear" if abs(c.rho) < 0.2 else ("a weak" if abs(c.rho) < 0.4 else "a moderate")
        direction = "" if abs(c.rho) < 0.2 else (" positive" if c.rho > 0 else " negative")
        parts.append(
            f"{BY_KEY[c.spending].label} against {BY_KEY[c.outcome].label} ({c.n} councils, "
            f"{c.year}-{(c.year + 1) % 100:02d}): {strength}{direction} association (rank correlation "
            f"{c.rho:+.2f}; {c.rho_given_ehcp:+.2f} allowing for the share of pupils with an EHC plan)."
        )
    weak = sum(abs(c.rho) < 0.2 for c in comps)
    pos = sum(c.rho >= 0.2 for c in comps)
    neg = sum(c.rho <= -0.2 for c in comps)
    verdict = (
        f"In {weak} of {len(comps)} comparisons there is no clear association"
        + (f"; in {pos} a weak or moderate positive one (more spending, slightly better results)" if pos else "")
        + (f"; in {neg} a negative one" if neg else "")
        + ". So sendcast agrees that spending more per head does not, on these published measures, buy visibly "
        "better results for pupils with SEN"
        + (", but differs from a flat 'no link': where there is an association it runs the hopeful way" if pos else "")
    )
    return (
        " ".join(parts)
        + f" {verdict}. What this can and cannot show: it is an association across councils in one year, "
        "not the effect of spending; councils that spend more tend to have more pupils with plans and more "
        "specialist placements, so the pupils behind each council's figure differ (a composition effect), "
        "and results of small groups move a lot from year to year. The LGA-commissioned analysis itself is "
        "not in sendcast's data: its exact spending measure, years and method could not be checked, so this "
        "is the comparison it describes rebuilt from public figures, not a replication."
    )


def reading(outcomes: pd.DataFrame, la_name: str) -> str:
    """A plain-language reading of one council's latest figures against neighbours and England."""
    last = latest(outcomes).set_index("series")
    parts = []

    def say(key: str) -> None:
        if key not in last.index or pd.isna(last.at[key, "value"]):
            return
        r = last.loc[key]
        s = BY_KEY[key]
        fmt = "{:,.0f}" if s.unit in ("£ per head", "plans", "appeals") else "{:,.1f}"
        unit = "" if s.unit in ("score",) else (" " + s.unit if s.unit not in ("%", "£ per head") else s.unit)
        if s.unit == "£ per head":
            show = lambda v: "£" + fmt.format(v) + " per head"  # noqa: E731
        else:
            show = lambda v: fmt.format(v) + unit  # noqa: E731
        text = f"{s.label}: {show(r['value'])} in {r['period']}"
        comp = []
        if pd.notna(r["neighbours_median"]):
            comp.append(f"statistical neighbours' median {show(r['neighbours_median'])}")
        if pd.notna(r["england"]):
            comp.append(f"England {show(r['england'])}")
        if comp:
            text += " (" + "; ".join(comp) + ")"
        parts.append(text + ".")

    for key in (
        "hn_outturn_per_head",
        "specialist_spend_per_head",
        "independent_share",
        "plans_per_10k",
        "ks4_attainment8_ehcp",
        "ks4_progress8_ehcp",
        "ks2_rwm_ehcp",
        "within_20_weeks",
        "tribunal_appeal_rate",
    ):
        say(key)
    return (
        f"{la_name}: " + " ".join(parts) + " These figures sit side by side; they do not show that spending "
        "caused any result. Attainment of pupils with EHC plans depends on who has a plan: a council that "
        "gives plans to more children with less complex needs will tend to show higher results for that "
        "group without any child doing better."
    )

"""Backtest reports: accuracy by horizon, calibration in plain words, the worst-forecast councils."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from sendcast.evaluate.backtest import metrics
from sendcast.evaluate.calibration import calibration_check
from sendcast.model.forecast import ENGLAND
from sendcast.model.structure import GROUPS
from sendcast.outputs.charts import html_page, table_html


def calibration_words(coverage80: float, n: int) -> str:
    """Say in plain words whether 80% intervals held about 80% of outcomes."""
    if n == 0 or not np.isfinite(coverage80):
        return "no outcomes to check"
    pct = f"{coverage80:.0%}"
    if coverage80 < 0.70:
        return f"too narrow: only {pct} of outcomes fell inside the 80% band, so the bands overstate certainty"
    if coverage80 < 0.75:
        return f"a little narrow: {pct} of outcomes fell inside the 80% band"
    if coverage80 <= 0.85:
        return f"well calibrated: {pct} of outcomes fell inside the 80% band"
    if coverage80 <= 0.90:
        return f"a little wide: {pct} of outcomes fell inside the 80% band"
    return f"too wide: {pct} of outcomes fell inside the 80% band, so the bands understate what is known"


GATED_FROM = 2019  # the origins the forecasting acceptance is scored on (after the 2014 reforms had worked through)
NAIVE = ("last_value", "drift", "avg_growth_3y")  # the naive baselines of the forecast's target


def headline(scores: pd.DataFrame, measure: str = "ehcp_total", horizons: tuple[int, ...] = (1, 3)) -> pd.DataFrame:
    """MdAPE and 80% coverage per model and horizon for one measure, with the improvement of
    sendcast's MdAPE over the best baseline at each horizon, and over the best of the naive
    ones (:data:`NAIVE`: last value, last year's growth, 3-year average growth)."""
    s = scores[scores["measure"] == measure]
    if "la_code" in s.columns:
        s = s[s["la_code"] != ENGLAND[0]]  # England is reported on its own
    m = metrics(s[s["model"] != "sendcast_insample"])
    m = m[m["horizon"].isin(horizons)]
    rows = []
    for h, g in m.groupby("horizon"):
        base = g[~g["model"].isin(["sendcast", "cohort"])]  # the cohort model is a component, not a baseline
        best = base.loc[base["mdape"].idxmin()] if not base.empty else None
        naive = g[g["model"].isin(NAIVE)]
        best_naive = naive.loc[naive["mdape"].idxmin()] if not naive.empty else None
        for _, r in g.iterrows():
            rows.append(
                {
                    "horizon": h,
                    "model": r["model"],
                    "n": int(r["n"]),
                    "mdape": r["mdape"],
                    "mape": r["mape"],
                    "coverage80": r["coverage80"],
                    "bias_pct": r["bias_pct"],
                    "crps": r["crps"],
                    "best_baseline": best["model"] if best is not None else None,
                    "improvement_vs_best_baseline": (1 - r["mdape"] / best["mdape"])
                    if best is not None and r["model"] == "sendcast"
                    else np.nan,
                    "best_naive": best_naive["model"] if best_naive is not None else None,
                    "improvement_vs_best_naive": (1 - r["mdape"] / best_naive["mdape"])
                    if best_naive is not None and r["model"] == "sendcast"
                    else np.nan,
                }
            )
    return pd.DataFrame(rows)


def honest_vs_in_sample(scores: pd.DataFrame, measure: str = "ehcp_total") -> pd.DataFrame:
    """Per origin and horizon: the published forecast's MdAPE and 80% coverage when its weights and
    spreads are learned only from earlier origins (``sendcast``, prequential) and when they are
    learned from every origin's outcomes (``sendcast_insample``): the cost of choosing with hindsight."""
    s = scores[(scores["measure"] == measure) & (scores["la_code"] != ENGLAND[0])]
    s = s[s["model"].isin(["sendcast", "sendcast_insample"])]
    if s.empty:
        return pd.DataFrame()
    g = s.groupby(["origin", "horizon", "model"]).agg(mdape=("ape", "median"), coverage80=("in80", "mean"))
    out = pd.DataFrame(g.unstack("model"))
    out.columns = [f"{c[0]}_{'honest' if c[1] == 'sendcast' else 'in_sample'}" for c in out.columns]
    return out.reset_index()


def england_known(scores: pd.DataFrame, measure: str = "ehcp_total") -> pd.DataFrame:
    """Per model and horizon: the councils' MdAPE as scored, and as it would have been had
    England's outcome been known in advance (each origin's council medians scaled by one
    factor so that they add up to the councils' published sum). What is left is each
    council's own error, which no national forecast can remove."""
    s = scores[(scores["measure"] == measure) & (scores["la_code"] != ENGLAND[0])]
    s = s[s["actual"] > 0]
    if s.empty:
        return pd.DataFrame(columns=["model", "horizon", "mdape", "mdape_england_known"])
    g = s.groupby(["model", "origin", "horizon"])
    factor = g["actual"].transform("sum") / g["p50"].transform("sum")
    known = (s["p50"] * factor - s["actual"]).abs() / s["actual"]
    out = (
        s.assign(known=known)
        .groupby(["model", "horizon"])
        .agg(mdape=("ape", "median"), mdape_england_known=("known", "median"))
        .reset_index()
    )
    return out


def england_coverage(scores: pd.DataFrame, measure: str = "ehcp_total", model: str = "sendcast") -> pd.DataFrame:
    """England's own forecast (the sum of councils' draws) at each origin and horizon: the
    published outcome, the 80% band and whether the outcome fell inside it."""
    e = scores[(scores["la_code"] == ENGLAND[0]) & (scores["measure"] == measure) & (scores["model"] == model)]
    return e[["origin", "horizon", "year", "actual", "p10", "p50", "p90", "in80"]].reset_index(drop=True)


def likely_reason(row: pd.Series, series: pd.DataFrame | None) -> str:
    """A plausible reason a council was forecast badly, from its own published flows."""
    if series is None:
        return ""
    s = series[(series["la_code"] == row["la_code"])]
    np_ = (
        s[(s["measure"] == "new_plans") & (s["period_type"] == "calendar_year")].set_index("year")["value"].sort_index()
    )
    tot = s[(s["measure"] == "ehcp_total") & (s["period_type"] == "january")].set_index("year")["value"].sort_index()
    reasons = []
    o, y = int(row["origin"]), int(row["year"])
    window = np_.loc[o - 1 : y - 1]
    if len(window) >= 2:
        ch = window.pct_change().dropna()
        if (ch.abs() > 0.35).any():
            yr = int(ch.abs().idxmax())
            reasons.append(f"new plans changed by {ch.loc[yr]:+.0%} in {yr} (a backlog cleared or built up)")
    if o in tot.index and (o - 1) in tot.index and y in tot.index:
        before = tot.loc[o] / tot.loc[o - 1] - 1
        after = (tot.loc[y] / tot.loc[o]) ** (1 / max(y - o, 1)) - 1
        if abs(after - before) > 0.06:
            reasons.append(f"growth moved from {before:+.0%} a year before the origin to {after:+.0%} after it")
    return "; ".join(reasons) or "no single cause visible in the published flows"


def settings_table(settings: Mapping[int, Mapping[str, float]]) -> pd.DataFrame:
    """The cohort model's settings chosen at each origin (one row per origin)."""
    rows = [{"origin": o, **{k: round(float(v), 3) for k, v in s.items()}} for o, s in sorted(settings.items())]
    return pd.DataFrame(rows)


def html_report(
    scores: pd.DataFrame,
    series: pd.DataFrame | None = None,
    settings: Mapping[int, Mapping[str, float]] | None = None,
    null_coverage: pd.DataFrame | None = None,
) -> str:
    """A self-contained page: headline accuracy, accuracy by horizon, coverage, worst councils,
    (``settings``) the cohort model's settings chosen at each origin and (``null_coverage``,
    from :func:`sendcast.evaluate.calibration.coverage_if_calibrated`) whether each coverage
    is consistent with a correct 80% band."""
    sections: list[tuple[str, object]] = []
    all_scores = scores
    scores = scores[scores["la_code"] != ENGLAND[0]]
    for measure in ("ehcp_total", "special_school", "independent_special", "mainstream", "post16_fe"):
        if measure not in set(scores["measure"]):
            continue
        hl = headline(scores, measure, horizons=tuple(sorted(scores["horizon"].unique())))
        if hl.empty:
            continue
        sm = hl[hl["model"] == "sendcast"]
        words = "; ".join(
            f"{int(r['horizon'])} year{'s' if r['horizon'] > 1 else ''} ahead: {calibration_words(r['coverage80'], r['n'])}"  # noqa: E501
            for _, r in sm.iterrows()
        )
        show = hl.copy()
        for c in ("mdape", "mape", "coverage80", "bias_pct", "improvement_vs_best_baseline"):
            show[c] = show[c].map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
        show["crps"] = show["crps"].map(lambda v: f"{v:,.1f}")
        sections.append(
            (f"{measure}: accuracy by horizon", f"<p>sendcast's intervals are {words}.</p>" + table_html(show))
        )
    scores = all_scores
    hv = honest_vs_in_sample(scores)
    if not hv.empty:
        show = hv.copy()
        for c in show.columns:
            if c.startswith(("mdape", "coverage")):
                show[c] = show[c].map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
        sections.append(
            (
                "Honest and in-sample scores by origin (ehcp_total)",
                "<p>honest: weights and bands learned only from forecasts whose outcomes were published "
                "before the origin (what a user had then); in_sample: the same forecasts with weights and "
                "bands learned from every origin's outcomes. The difference is the cost of choosing with "
                "hindsight.</p>" + table_html(show),
            )
        )
    if settings:
        sections.append(
            (
                "Cohort-model settings chosen at each origin",
                "<p>Each chosen on the origin's own published history only (sendcast.model.selection): "
                "the candidate that forecast what it governs best, one to three years ahead, from every "
                "earlier January (max_mover_rate scored in children moved); common_shock_share and "
                "incidence_shock_persistence are estimated. Where the history was too short to "
                "compare candidates the value in forecast_settings.yaml is shown.</p>"
                + table_html(settings_table(settings)),
            )
        )
    if null_coverage is not None and not null_coverage.empty:
        chk = calibration_check(null_coverage, scores)
        chk = chk[chk["measure"].isin(("ehcp_total", "special_school", *GROUPS))]
        if not chk.empty:
            show = chk.copy()
            show["coverage80"] = show["coverage80"].map(lambda v: f"{v:.1%}")
            show["a right band would hold"] = [
                f"{a:.1%} to {b:.1%}" for a, b in zip(chk["calibrated_p5"], chk["calibrated_p95"], strict=True)
            ]
            show = show.drop(columns=["calibrated_p5", "calibrated_p95", "first_origin"])
            counts = chk["verdict"].value_counts()
            sections.append(
                (
                    "Are the 80% bands right? (sendcast, councils)",
                    "<p>A correct 80% band does not hold exactly 80% of outcomes here: councils share "
                    "England's year, long horizons rest on one or two origins, and small counts are whole "
                    "numbers. 'A right band would hold' is the 5th to 95th percentile of the share held "
                    "when one of the forecast's own joint draws stands in for the outcome "
                    "(sendcast.evaluate.calibration); outside it, the band is too wide or too narrow. "
                    f"Origins whose bands were learned from earlier ones: {', '.join(map(str, sorted(null_coverage['origin'].unique())))}. "  # noqa: E501
                    f"Consistent: {int(counts.get('consistent', 0))} of {len(chk)}; too wide: "
                    f"{int(counts.get('too wide', 0))}; too narrow: {int(counts.get('too narrow', 0))}.</p>"
                    + table_html(show),
                )
            )
    gated = scores[scores["origin"] >= GATED_FROM]
    gated = gated if not gated.empty else scores
    ek = england_known(gated)
    ek = ek[ek["model"].isin(("sendcast", "pooled_growth", "cohort", "avg_growth_3y"))]
    if not ek.empty:
        show = ek.copy()
        for c in ("mdape", "mdape_england_known"):
            show[c] = show[c].map(lambda v: f"{v:.2%}")
        sections.append(
            (
                "If England's outcome had been known (ehcp_total)",
                f"<p>Origins {int(gated['origin'].min())} on: each origin's council medians scaled by one "
                "factor so that they add up to the published sum of councils. The error left is each "
                "council's own, which no national forecast removes.</p>" + table_html(show),
            )
        )
    en = england_coverage(scores)
    if not en.empty:
        share = float(en["in80"].mean())
        show = en.copy()
        for c in ("actual", "p10", "p50", "p90"):
            show[c] = show[c].map(lambda v: f"{v:,.0f}")
        method = en[en["origin"] >= GATED_FROM]
        words = (
            f"England's 80% band held England's outcome in {int(en['in80'].sum())} of {len(en)} forecasts ({share:.0%})"
        )
        if 0 < len(method) < len(en):
            words = (
                f"England's 80% band held England's outcome in {int(method['in80'].sum())} of {len(method)} forecasts "
                f"made from January {GATED_FROM} on (the method as it runs today, learning from earlier origins), "
                f"and in {int(en['in80'].sum())} of {len(en)} counting every origin scored"
            )
        sections.append(
            (
                "England's own band (ehcp_total)",
                f"<p>{words}; outcomes from one origin are not independent.</p>" + table_html(show),
            )
        )
    scores = scores[scores["la_code"] != ENGLAND[0]]
    m = metrics(scores[scores["measure"] == "ehcp_total"])
    fig = go.Figure()
    for model, g in m.groupby("model"):
        fig.add_trace(go.Scatter(x=g["horizon"], y=g["coverage80"], name=str(model), mode="lines+markers"))
    fig.add_hrect(y0=0.75, y1=0.85, fillcolor="green", opacity=0.1, line_width=0)
    fig.update_layout(
        title="Share of outcomes inside the 80% interval (ehcp_total); green = 75-85%",
        xaxis_title="years ahead",
        yaxis_title="coverage",
        template="plotly_white",
        height=380,
    )
    sections.append(("Calibration", fig))
    fig2 = go.Figure()
    for model, g in m.groupby("model"):
        fig2.add_trace(go.Scatter(x=g["horizon"], y=g["mdape"], name=str(model), mode="lines+markers"))
    fig2.update_layout(
        title="Median absolute percentage error (ehcp_total)",
        xaxis_title="years ahead",
        yaxis_title="MdAPE",
        yaxis_tickformat=".0%",
        template="plotly_white",
        height=380,
    )
    sections.append(("Accuracy by horizon", fig2))
    sc = scores[(scores["model"] == "sendcast") & (scores["measure"] == "ehcp_total")]
    if not sc.empty:
        worst = sc.sort_values("ape", ascending=False).head(12).copy()
        worst["likely reason"] = [likely_reason(r, series) for _, r in worst.iterrows()]
        worst["ape"] = worst["ape"].map(lambda v: f"{v:.1%}")
        cols = ["la_name", "origin", "horizon", "actual", "p50", "p10", "p90", "ape", "likely reason"]
        sections.append(("Councils forecast worst (ehcp_total) and why that is plausible", table_html(worst[cols])))
    origins = sorted(scores["origin"].unique())
    intro = (
        f"<p>Rolling-origin backtest: origins January {origins[0]}-{origins[-1]}, each model fitted only on data "
        "published before its origin, scored against the published outcome. MdAPE = median absolute percentage "
        "error over councils and origins; coverage = share of outcomes inside the 80% interval.</p>"
    )
    return html_page("How accurate are sendcast's forecasts?", sections, intro=intro)  # type: ignore[arg-type]


def accuracy_by_council(scores: pd.DataFrame) -> pd.DataFrame:
    """Per council, England and 'ALL' (every council pooled), measure and horizon: n, MAPE,
    MdAPE and 80% coverage of the published forecast (``sendcast``), for the 'how accurate is
    this?' notes shown beside each forecast.

    Each figure comes twice, by ``scope``: ``"method"``, forecasts made from January
    :data:`GATED_FROM` on, the first origin at which the published method had earlier outcomes
    to learn its weights and bands from (before that the forecast was the cohort model alone, so
    those origins do not describe the method users get today), and ``"all"``, every origin
    scored. ``first_origin`` and ``last_origin`` name the origins behind each row."""
    sc = scores[scores["model"] == "sendcast"]
    stats = dict(
        n=("ape", "size"),
        mape=("ape", "mean"),
        mdape=("ape", "median"),
        coverage80=("in80", "mean"),
        first_origin=("origin", "min"),
        last_origin=("origin", "max"),
    )
    parts = []
    for scope, s in (("method", sc[sc["origin"] >= GATED_FROM]), ("all", sc)):
        if s.empty:
            continue
        per = s.groupby(["la_code", "la_name", "measure", "horizon"]).agg(**stats).reset_index()
        allc = s[s["la_code"] != ENGLAND[0]].groupby(["measure", "horizon"]).agg(**stats).reset_index()
        allc["la_code"] = "ALL"
        allc["la_name"] = "all councils"
        both = pd.concat([per, allc[per.columns]], ignore_index=True)
        both["scope"] = scope
        parts.append(both)
    return pd.concat(parts, ignore_index=True)


def accuracy_frame(acc: pd.DataFrame, la_code: str, measure: str = "ehcp_total", scope: str = "method") -> pd.DataFrame:
    """The rows of :func:`accuracy_by_council`'s table for one council (or 'ALL') and measure.
    ``scope="method"``: those of forecasts made by the method as it runs today where the
    backtest has them, else every origin scored (a backtest run on early origins only, or a
    table written before scopes existed); ``scope="all"``: every origin scored."""
    rows = acc[(acc["la_code"] == la_code) & (acc["measure"] == measure)]
    if "scope" in rows.columns:
        method_rows = rows[rows["scope"] == "method"]
        rows = method_rows if scope == "method" and not method_rows.empty else rows[rows["scope"] == "all"]
    return rows


def accuracy_rows(
    acc: pd.DataFrame, la_code: str, measure: str = "ehcp_total", scope: str = "method"
) -> dict[int, pd.Series]:
    """:func:`accuracy_frame`'s rows by horizon."""
    return {int(r["horizon"]): r for _, r in accuracy_frame(acc, la_code, measure, scope).iterrows()}


def scopes(scores: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The backtest's scores as they are reported: (label, scores) for the origins from
    :data:`GATED_FROM` (the method as it runs today, learning from earlier origins) where the
    backtest also has earlier ones, then for every origin scored."""
    out = [("all origins scored", scores)]
    if scores["origin"].min() < GATED_FROM <= scores["origin"].max():
        method = scores[scores["origin"] >= GATED_FROM]
        out.insert(0, (f"origins from January {GATED_FROM} (the method as it runs today)", method))
    return out


def origins_words(row: pd.Series) -> str:
    """'made each January from 2019 to 2023' (or 'made in January 2019') for a row of
    :func:`accuracy_by_council`'s table; '' for a table that does not say."""
    if "first_origin" not in row.index or pd.isna(row["first_origin"]):
        return ""
    a, b = int(row["first_origin"]), int(row["last_origin"])
    return f"made in January {a}" if a == b else f"made each January from {a} to {b}"


def forecasts_words(row: pd.Series) -> str:
    """'the 5 forecasts made each January from 2019 to 2023', 'the forecast made in January 2019'
    or '3 past forecasts': the forecasts behind one council's row of :func:`accuracy_by_council`."""
    n, when = int(row["n"]), origins_words(row)
    if not when:
        return f"{n} past forecast{'s' if n != 1 else ''}"
    return f"the forecast {when}" if n == 1 else f"the {n} forecasts {when}"

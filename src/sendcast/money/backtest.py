"""The money back-cast: 2020-21 and 2021-22 for every council, scored against published balances.

Each council starts at its published cumulative DSG balance at 31 March 2020 and is modelled
by :func:`sendcast.money.budget.compute_budget` (the same function the forecasts use) on the
published January caseloads and the published high needs block allocations, with unit costs
and cost growth from outturn up to 2019-20 only (what a forecaster had in spring 2020: the
specialist spend series 2018-19 and 2019-20). No forecast is involved.

One look-ahead is unavoidable with the store's data and is stated: the s251 lines other than
the specialist top-ups exist only for 2021-22, so the mainstream, post-16, early-years and
non-placement lines are that year's outturn (for the 2021-22 score, that year's own), moved back
to 2020-21 per plan with ``costs/inflation.yaml`` and, for the non-placement lines, with the
block (``costs/non_placement_growth.yaml``). The unmodelled line and the residual spread use only
gaps of years before the year scored (``calibration/balance_residual.yaml``,
:func:`residual_persistence`).

Scores (per council and year, in-year balance as a share of the council's high needs block
after deductions): median absolute error, median bias (modelled - published), the share of
published in-year balances inside the modelled 80% band, and whether the sign of the two-year
change in the cumulative balance is right. Councils with a Safety Valve agreement made in
2020-21 or 2021-22 (the store's list) received DfE payments the store does not hold: they are
scored apart and left out of the gates. Spend is checked against the specialist spend lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sendcast.money.balances import ENGLAND_CODE, Opening, opening_balance
from sendcast.money.budget import BudgetInputError, BudgetResult, MoneyInputs, compute_budget
from sendcast.money.unit_costs import SERIES_LINES, SPECIALIST, s251_lines, specialist_series
from sendcast.parameters import financial_year_label

START_YEAR = 2019  # opening balance at 31 March 2020 (end of 2019-20)
YEARS = (2020, 2021)  # 2020-21 and 2021-22 scored
GATES = {
    "median_abs_error_pct": 3.0,
    "median_bias_pct": 1.0,
    "coverage_low": 70.0,
    "coverage_high": 90.0,
    "sign_right_pct": 80.0,
    "england_gap_pct": 15.0,
}
COLUMNS = [
    "la_code",
    "la_name",
    "financial_year",
    "group",
    "high_needs_block",
    "modelled_in_year_p50",
    "modelled_in_year_p10",
    "modelled_in_year_p90",
    "published_in_year",
    "error_pct_hnb",
    "inside_80",
    "modelled_cumulative_p50",
    "published_cumulative",
    "modelled_specialist_spend",
    "published_specialist_spend",
    "spend_error_pct",
]


@dataclass
class MoneyBacktest:
    """Per council and year (``rows``, :data:`COLUMNS`), per council (``councils``: two-year
    change and its sign), England's modelled vs published balances, and the summary scores."""

    rows: pd.DataFrame
    councils: pd.DataFrame
    england: pd.DataFrame
    scores: pd.DataFrame

    def headline_text(self) -> str:
        s = self.scores.set_index("group")
        lines = ["Money back-cast 2020-21 and 2021-22 from the published March 2020 balances:"]
        for g in s.index:
            r = s.loc[g]
            lines.append(
                f"- {g} ({int(r['councils'])} councils): median |in-year error| {r['median_abs_error_pct']:.2f}% of "
                f"the high needs block, median bias {r['median_bias_pct']:+.2f}%, 80% band coverage "
                f"{r['coverage_pct']:.0f}%, sign of the two-year change right {r['sign_right_pct']:.1f}%, "
                f"median |specialist spend error| {r['median_abs_spend_error_pct']:.1f}%"
            )
        for _, e in self.england.iterrows():
            lines.append(
                f"- England at {e['as_at']}: modelled £{e['modelled_p50'] / 1e9:,.2f}bn (80%: "
                f"£{e['modelled_p10'] / 1e9:,.2f}bn to £{e['modelled_p90'] / 1e9:,.2f}bn) vs published "
                f"£{e['published'] / 1e9:,.2f}bn ({e['gap_pct']:+.1f}%)"
            )
        return "\n".join(lines)


def _sv_groups(inputs: MoneyInputs) -> dict[str, str]:
    sv = inputs.safety_valve
    if sv.empty:
        return {}
    early = sv[sv["agreement_financial_year"].astype(int) <= max(YEARS)]
    return {str(c): str(p) for c, p in zip(early["la_code"], early["agreement_period"], strict=True)}


def _specialist_published(inputs: MoneyInputs, code: str, year: int) -> float:
    ser = specialist_series(inputs.observations, code)
    if ser.empty or year not in ser.index:
        return float("nan")
    return float(ser.loc[year].sum(min_count=2))


def _series_ratio(inputs: MoneyInputs, code: str, group: str) -> float:
    """The 2021-22 ratio of a group's s251 lines to the series' lines (to put modelled spend on
    the series' definition: state top-ups incl. AP, without place funding)."""
    lines = s251_lines(inputs.observations, code)
    ser = float(lines.reindex(SERIES_LINES[group]).sum())
    own = float(
        lines.reindex(
            ["place_special", "topup_maintained_special"]
            if group == "state_special"
            else ["topup_nmss_independent_special"]
        ).sum()
    )
    return own / ser if ser else float("nan")


def _run(
    inputs: MoneyInputs, code: str, start: Opening, last: int, draws: int, seed: int, uncertainty: bool
) -> BudgetResult:
    return compute_budget(
        code,
        inputs,
        n_draws=draws,
        seed=seed,
        first_year=start.financial_year + 1,
        last_year=last,
        opening=start,
        through_year=start.financial_year,
        uncertainty=uncertainty,
    )


def run_backtest(inputs: MoneyInputs, *, draws: int = 200, seed: int = 1, uncertainty: bool = True) -> MoneyBacktest:
    """Return the :class:`MoneyBacktest` of every council with published balances at 31 March
    2020, 2021 and 2022 and a high needs block (councils missing one are skipped).

    Each year is scored as a forecaster would have made it at the start of that year: 2020-21
    from the March 2020 balance with outturn to 2019-20; 2021-22 from the March 2021 balance with
    outturn to 2020-21 (and the 2020-21 gap, ``spend:unmodelled``). The two-year change (its
    sign) and England's balances come from a two-year run from March 2020."""
    sv = _sv_groups(inputs)
    bal = inputs.balances
    names = dict(zip(inputs.councils["la_code"].astype(str), inputs.councils["la_name"].astype(str), strict=True))
    rows = []
    council_rows = []
    cum_by_council: dict[str, pd.DataFrame] = {}
    for code in sorted(set(inputs.councils["la_code"].astype(str))):
        b = bal[(bal["la_code"] == code)].set_index("financial_year")
        if not {START_YEAR, *YEARS} <= set(b.index):
            continue
        openings = {y: opening_balance(bal, code, y) for y in YEARS}
        if any(o is None or o.financial_year != y - 1 for y, o in openings.items()):
            continue
        try:
            one_year = {y: _run(inputs, code, openings[y], y, draws, seed, uncertainty) for y in YEARS}  # type: ignore[arg-type]
            two_year = _run(inputs, code, openings[YEARS[0]], max(YEARS), draws, seed, uncertainty)  # type: ignore[arg-type]
        except BudgetInputError:
            continue
        group = f"Safety Valve ({sv[code]})" if code in sv else "other councils"
        cum = two_year.line("cumulative_balance").pivot(index="draw", columns="financial_year", values="value")
        cum_by_council[code] = cum
        rs, ri = _series_ratio(inputs, code, "state_special"), _series_ratio(inputs, code, "independent_special")
        for y in YEARS:
            r = one_year[y]
            v = r.line("in_year_balance").query("financial_year == @y")["value"].to_numpy()
            hnb = float(r.line("income:high_needs_block").query("financial_year == @y")["value"].mean())
            st = float(r.line("spend:state_special").query("financial_year == @y")["value"].mean())
            ind = float(r.line("spend:independent_special").query("financial_year == @y")["value"].mean())
            p10, p50, p90 = np.quantile(v, [0.1, 0.5, 0.9])
            pub = float(b["in_year_balance"].astype(float)[y])
            mod_spec = st / rs + ind / ri if rs and ri else float("nan")
            pub_spec = _specialist_published(inputs, code, y)
            c1 = r.line("cumulative_balance").query("financial_year == @y")["value"]
            rows.append(
                {
                    "la_code": code,
                    "la_name": names.get(code, code),
                    "financial_year": financial_year_label(y),
                    "group": group,
                    "high_needs_block": hnb,
                    "modelled_in_year_p50": p50,
                    "modelled_in_year_p10": p10,
                    "modelled_in_year_p90": p90,
                    "published_in_year": pub,
                    "error_pct_hnb": (p50 - pub) / hnb * 100,
                    "inside_80": bool(p10 <= pub <= p90),
                    "modelled_cumulative_p50": float(c1.median()),
                    "published_cumulative": float(b["cumulative_balance"].astype(float)[y]),
                    "modelled_specialist_spend": mod_spec,
                    "published_specialist_spend": pub_spec,
                    "spend_error_pct": (mod_spec - pub_spec) / pub_spec * 100 if pub_spec else float("nan"),
                }
            )
        start = openings[YEARS[0]]
        assert start is not None
        mod_change = float(np.median(cum[max(YEARS)])) - start.value
        pub_change = float(b["cumulative_balance"].astype(float)[max(YEARS)]) - start.value
        council_rows.append(
            {
                "la_code": code,
                "la_name": names.get(code, code),
                "group": group,
                "modelled_two_year_change": mod_change,
                "published_two_year_change": pub_change,
                "sign_right": bool(np.sign(mod_change) == np.sign(pub_change)),
            }
        )
    table = pd.DataFrame(rows, columns=COLUMNS)
    councils = pd.DataFrame(council_rows)
    return MoneyBacktest(
        rows=table,
        councils=councils,
        england=_england(inputs, cum_by_council),
        scores=_scores(table, councils),
    )


def backcast_gaps(inputs: MoneyInputs) -> pd.DataFrame:
    """Return ``la_code, financial_year, gap``: each council outside the Safety Valve programme
    modelled one year at a time as the back-cast does (from the balance before the year, outturn
    to the year before), with the money spreads off and no unmodelled line; gap = (modelled -
    published in-year balance) / block."""
    sv = _sv_groups(inputs)
    bal = inputs.balances
    rows = []
    for code in sorted(set(inputs.councils["la_code"].astype(str)) - set(sv)):
        b = bal[bal["la_code"] == code].set_index("financial_year")
        for y in YEARS:
            o = opening_balance(bal, code, y)
            if o is None or o.financial_year != y - 1 or y not in b.index:
                continue
            try:
                r = compute_budget(
                    code,
                    inputs,
                    n_draws=1,
                    first_year=y,
                    last_year=y,
                    opening=o,
                    through_year=y - 1,
                    uncertainty=False,
                    calibrate=False,
                )
            except BudgetInputError:
                continue
            iy = float(r.line("in_year_balance")["value"].iloc[-1])
            hnb = float(r.line("income:high_needs_block")["value"].iloc[-1])
            rows.append((code, y, (iy - float(b["in_year_balance"].astype(float)[y])) / hnb))
    return pd.DataFrame(rows, columns=["la_code", "financial_year", "gap"])


def residual_persistence(inputs: MoneyInputs) -> dict[str, float]:
    """Return what ``calibration/balance_residual.yaml`` and the residual spread of
    ``calibration/money_uncertainty.yaml`` are measured from (:func:`backcast_gaps`): ``slope``
    and ``corr``, the least-squares slope and correlation of the 2021-22 gaps on the 2020-21
    gaps; ``robust_sd_first``, 1.4826 x MAD of the 2020-21 gaps (the first year, with no earlier
    gap to learn from); ``councils`` with both years."""
    g = backcast_gaps(inputs)
    wide = g.pivot(index="la_code", columns="financial_year", values="gap")
    both = wide.reindex(columns=list(YEARS)).dropna()
    x, y2 = both[YEARS[0]].to_numpy(), both[YEARS[1]].to_numpy()
    first = g.loc[g["financial_year"] == YEARS[0], "gap"].to_numpy()
    return {
        "slope": float(np.polyfit(x, y2, 1)[0]) if len(both) > 2 else float("nan"),
        "corr": float(np.corrcoef(x, y2)[0, 1]) if len(both) > 2 else float("nan"),
        "robust_sd_first": float(1.4826 * np.median(np.abs(first - np.median(first)))) if len(first) else float("nan"),
        "councils": float(len(both)),
    }


def _england(inputs: MoneyInputs, cum: dict[str, pd.DataFrame]) -> pd.DataFrame:
    if not cum:
        return pd.DataFrame()
    total = sum(cum.values())
    assert isinstance(total, pd.DataFrame)
    nat = inputs.balances[inputs.balances["la_code"] == ENGLAND_CODE].set_index("financial_year")
    out = []
    for y in YEARS:
        v = total[y].to_numpy()
        pub = float(nat["cumulative_balance"].astype(float)[y]) if y in nat.index else float("nan")
        p10, p50, p90 = np.quantile(v, [0.1, 0.5, 0.9])
        out.append(
            {
                "as_at": f"31 March {y + 1}",
                "councils": len(cum),
                "modelled_p50": p50,
                "modelled_p10": p10,
                "modelled_p90": p90,
                "published": pub,
                "gap_pct": (p50 - pub) / abs(pub) * 100,
            }
        )
    return pd.DataFrame(out)


def _scores(table: pd.DataFrame, councils: pd.DataFrame) -> pd.DataFrame:
    out = []
    groups = ["other councils"] + sorted(g for g in set(table["group"]) if g != "other councils")
    for g in groups:
        t = table[table["group"] == g] if g != "Safety Valve (all)" else table
        c = councils[councils["group"] == g]
        out.append(
            {
                "group": g,
                "councils": int(t["la_code"].nunique()),
                "median_abs_error_pct": float(t["error_pct_hnb"].abs().median()),
                "median_bias_pct": float(t["error_pct_hnb"].median()),
                "coverage_pct": float(t["inside_80"].mean() * 100),
                "sign_right_pct": float(c["sign_right"].mean() * 100) if len(c) else float("nan"),
                "median_abs_spend_error_pct": float(t["spend_error_pct"].abs().median()),
                "median_spend_bias_pct": float(t["spend_error_pct"].median()),
                "error_robust_sd_pct": float(
                    1.4826 * (t["error_pct_hnb"] - t["error_pct_hnb"].median()).abs().median()
                ),
            }
        )
    return pd.DataFrame(out)


def write_backtest(bt: MoneyBacktest, folder: Path | str) -> list[Path]:
    """Write ``backtest.csv`` (per council and year), ``councils.csv``, ``scores.csv`` and
    ``report.html`` (a page of charts) into ``folder``; return the paths."""
    from sendcast.outputs.io import write_atomic, write_frame

    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    paths = [
        write_frame(bt.rows, d / "backtest.csv", "csv"),
        write_frame(bt.councils, d / "councils.csv", "csv"),
        write_frame(bt.scores, d / "scores.csv", "csv"),
        write_frame(bt.england, d / "england.csv", "csv"),
    ]
    paths.append(write_atomic(d / "report.html", report_html(bt)))
    return paths


def report_html(bt: MoneyBacktest) -> str:
    """A page: the scores in words, modelled vs published in-year balances (% of the block),
    the error distribution by year, and the worst councils with a likely reason."""
    import plotly.graph_objects as go
    from plotly.io import to_html

    t = bt.rows
    scatter = go.Figure()
    for g, sub in t.groupby("group"):
        scatter.add_trace(
            go.Scatter(
                x=sub["published_in_year"] / sub["high_needs_block"] * 100,
                y=sub["modelled_in_year_p50"] / sub["high_needs_block"] * 100,
                mode="markers",
                name=str(g),
                text=sub["la_name"] + " " + sub["financial_year"],
            )
        )
    scatter.add_trace(go.Scatter(x=[-40, 20], y=[-40, 20], mode="lines", name="modelled = published"))
    scatter.update_layout(
        title="In-year DSG balance, modelled (median) against published, % of the high needs block",
        xaxis_title="published in-year balance (% of block)",
        yaxis_title="modelled (% of block)",
    )
    hist = go.Figure()
    for y, sub in t[t["group"] == "other councils"].groupby("financial_year"):
        hist.add_trace(go.Histogram(x=sub["error_pct_hnb"], name=str(y), opacity=0.6, nbinsx=40))
    hist.update_layout(barmode="overlay", title="Error of the in-year balance (modelled - published), % of block")
    worst = t.assign(abs_err=t["error_pct_hnb"].abs()).sort_values("abs_err", ascending=False).head(15)
    worst = worst.assign(likely_reason=worst.apply(likely_reason, axis=1))
    cols = ["la_name", "financial_year", "group", "error_pct_hnb", "spend_error_pct", "likely_reason"]
    html = (
        "<html><head><meta charset='utf-8'><title>Money back-cast</title></head><body>"
        "<h1>Money back-cast: 2020-21 and 2021-22</h1>"
        f"<pre>{bt.headline_text()}</pre>"
        + to_html(scatter, include_plotlyjs=True, full_html=False)
        + to_html(hist, include_plotlyjs=False, full_html=False)
        + "<h2>Worst councils</h2>"
        + worst[cols].to_html(index=False, float_format=lambda v: f"{v:,.1f}")
        + "<p>Source: DfE SEND and AP inclusion dashboard (DSG balance % of income, specialist spend), ESFA DSG "
        "allocations, high needs benchmarking tool 2021-22, DfE SEN2. Contains public sector information licensed "
        "under the Open Government Licence v3.0.</p></body></html>"
    )
    return html


def likely_reason(row: pd.Series) -> str:
    """A likely reason for a large error, from what the row shows."""
    if str(row["group"]).startswith("Safety Valve"):
        return "Safety Valve payments received in these years are not in the store"
    se = row.get("spend_error_pct", np.nan)
    if pd.notna(se) and abs(se) > 15:
        way = "over" if se > 0 else "under"
        return f"specialist spend {way}-estimated by {abs(se):.0f}% (SEN2 placements vs commissioned places)"
    if row["error_pct_hnb"] > 0:
        return "spend outside the modelled lines or an in-year pressure the lines do not show (e.g. other DSG blocks)"
    return "other DSG blocks' surpluses or a transfer from the schools block offset high-needs spend"


__all__ = [
    "GATES",
    "SPECIALIST",
    "MoneyBacktest",
    "backcast_gaps",
    "residual_persistence",
    "run_backtest",
    "write_backtest",
]

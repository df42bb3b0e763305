"""What happened to the plans that were made: Safety Valve post-mortems, a promise tracker and a
backtest of the realism check.

- :func:`safety_valve_postmortem`: each council that signed a DfE Safety Valve agreement (the
  store's ``safety_valve_agreements``, a partial hand-transcribed list) beside the councils that
  did not, over the same years: EHC plan growth before and after signing, the independent
  special share, the DSG balance as a share of income (published for March 2020-2022 only).
- :func:`promise_tracker`: a scenario's demand promises year by year against the council's
  published record (e.g. Norfolk's Local First Inclusion), "not yet published" where the data
  stop.
- :func:`realism_backtest`: plans written from each council's state at past origins, judged by
  the base-rate method of :mod:`sendcast.scenarios.realism` on the windows published by then
  (a time split: no later data), then checked against what the council went on to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sendcast.scenarios import realism
from sendcast.scenarios.realism import classify, council_metrics, promise_for, verdict_for, window_changes
from sendcast.scenarios.schema import IncidenceLever, PlacementShiftLever, Scenario

SV_SOURCE = (
    "DfE, Dedicated schools grant: very high deficit intervention (safety valve agreements), "
    "hand-transcribed partial list (32 councils; 6 of the 20 agreements of 2022-23 missing)"
)


def _cell(df: pd.DataFrame, row: Any, col: Any) -> float:
    """``df.at[row, col]`` as a float (NaN where the row or column is absent)."""
    if row not in df.index or col not in df.columns:
        return float("nan")
    v: Any = df.at[row, col]
    return float(v)


def _council_codes(metrics: pd.DataFrame) -> set[str]:
    return set(metrics["la_code"].astype(str))


def safety_valve_councils(store: Any) -> pd.DataFrame:
    """Return ``la_code, la_name, agreement_year, agreement_period, first_january`` from the store
    (``agreement_year`` is the financial year's first calendar year; ``first_january`` the January
    inside that financial year, the first caseload count after signing)."""
    sv = store.table("safety_valve_agreements")
    out = sv[["la_code", "la_name", "agreement_financial_year", "agreement_period"]].rename(
        columns={"agreement_financial_year": "agreement_year"}
    )
    out["agreement_year"] = out["agreement_year"].astype(int)
    out["first_january"] = out["agreement_year"] + 1
    return out.reset_index(drop=True)


def _cagr(wide: pd.DataFrame, code: str, y0: int, y1: int) -> float:
    if code not in wide.index or y0 not in wide.columns or y1 not in wide.columns or y1 <= y0:
        return float("nan")
    a, b = _cell(wide, code, y0), _cell(wide, code, y1)
    if not (np.isfinite(a) and np.isfinite(b)) or a <= 0:
        return float("nan")
    return float((b / a) ** (1 / (y1 - y0)) - 1)


def _at(wide: pd.DataFrame, code: str, y: int) -> float:
    if code not in wide.index or y not in wide.columns:
        return float("nan")
    return _cell(wide, code, y)


@dataclass
class Postmortem:
    """``councils``: one row per signing council; ``cohorts``: one row per agreement year with the
    non-signers' medians over the same years; ``text``: the reading in words."""

    councils: pd.DataFrame
    cohorts: pd.DataFrame
    text: str


def safety_valve_postmortem(
    metrics: pd.DataFrame, agreements: pd.DataFrame, balance: pd.DataFrame | None = None, *, before: int = 3
) -> Postmortem:
    """Compare each signing council with the councils that never signed, over the same years.

    For an agreement in financial year Y (first January ``b = Y + 1``): EHC plan growth a year
    (compound) over Januaries ``b - before .. b`` ("before") and ``b .. latest`` ("after", up to
    3 years); the independent special share at ``b`` and at the latest January (points); the DSG
    balance as % of income (``balance``: ``la_code, year, value`` with deficit positive, financial
    years) at the year before signing and the latest. The non-signers' medians are taken over the
    same years for each cohort, so national trends cancel in the difference.
    """
    tot = realism._wide(metrics, "ehcp_total")
    share = realism._wide(metrics, "independent_share")
    last = int(tot.columns.max())
    codes = _council_codes(metrics)
    signed = agreements[agreements["la_code"].isin(codes)]
    others = sorted(codes - set(agreements["la_code"]))
    bal = (
        balance.pivot_table(index="la_code", columns="year", values="value", aggfunc="last")
        if balance is not None and len(balance)
        else pd.DataFrame()
    )
    rows = []
    for r in signed.to_dict("records"):
        b = int(r["first_january"])
        after_end = min(last, b + 3)
        rows.append(
            {
                "la_code": str(r["la_code"]),
                "la_name": r["la_name"],
                "agreement": r["agreement_period"],
                "first_january": b,
                "growth_before": _cagr(tot, str(r["la_code"]), b - before, b),
                "growth_after": _cagr(tot, str(r["la_code"]), b, after_end),
                "after_years": f"{b}-{after_end}" if after_end > b else "",
                "independent_share_at_signing": _at(share, str(r["la_code"]), b),
                "independent_share_latest": _at(share, str(r["la_code"]), last),
                "deficit_pct_before": _at(bal, str(r["la_code"]), b - 2) if len(bal) else float("nan"),
                "deficit_pct_latest": _at(bal, str(r["la_code"]), int(bal.columns.max())) if len(bal) else float("nan"),
            }
        )
    councils = pd.DataFrame(rows)
    cohorts = []
    for period, g in councils.groupby("agreement", sort=True):
        b = int(g["first_january"].iloc[0])
        after_end = min(last, b + 3)
        o_before = [_cagr(tot, c, b - before, b) for c in others]
        o_after = [_cagr(tot, c, b, after_end) for c in others]
        o_share0 = [_at(share, c, b) for c in others]
        o_share1 = [_at(share, c, last) for c in others]
        cohorts.append(
            {
                "agreement": period,
                "councils": len(g),
                "years_after": f"{b}-{after_end}" if after_end > b else "none published yet",
                "growth_before": g["growth_before"].median(),
                "others_growth_before": np.nanmedian(o_before),
                "growth_after": g["growth_after"].median() if after_end > b else np.nan,
                "others_growth_after": np.nanmedian(o_after) if after_end > b else np.nan,
                "slower_than_others_median": int((g["growth_after"] < np.nanmedian(o_after)).sum())
                if after_end > b
                else 0,
                "independent_share_change": (
                    g["independent_share_latest"] - g["independent_share_at_signing"]
                ).median(),
                "others_independent_share_change": float(np.nanmedian(np.array(o_share1) - np.array(o_share0))),
            }
        )
    cohorts_df = pd.DataFrame(cohorts)
    return Postmortem(councils, cohorts_df, postmortem_text(cohorts_df, last))


def postmortem_text(cohorts: pd.DataFrame, last: int) -> str:
    """The post-mortem in words: per cohort with published years after signing."""
    parts = []
    for r in cohorts.to_dict("records"):
        if not np.isfinite(r["growth_after"]):
            parts.append(
                f"{r['agreement']} ({r['councils']} councils): no January after signing is published yet "
                f"(the caseload record ends January {last})."
            )
            continue
        parts.append(
            f"{r['agreement']} ({r['councils']} councils): EHC plans grew a median {r['growth_after']:.1%} a year "
            f"after signing ({r['years_after']}) against {r['others_growth_after']:.1%} for councils that never "
            f"signed, over the same years; {r['slower_than_others_median']} of {r['councils']} grew more slowly than "
            f"that median. Before signing they grew {r['growth_before']:.1%} a year (non-signers "
            f"{r['others_growth_before']:.1%}). The share of plans in independent special schools moved "
            f"{r['independent_share_change'] * 100:+.1f} points by January {last} "
            f"(non-signers {r['others_independent_share_change'] * 100:+.1f})."
        )
    return " ".join(parts) + (
        " This is what councils in this position achieved; it is an association over few councils and years"
        " (the agreements were made with councils whose deficits were already highest), not an estimate of"
        f" what the agreements caused. Source: {SV_SOURCE}; DfE SEN2 caseloads."
    )


# --------------------------------------------------------------------------- promise tracker


def promise_tracker(
    scenario: Scenario, metrics: pd.DataFrame, la_code: str, *, through: int | None = None, before: int = 4
) -> pd.DataFrame:
    """Return one row per demand measure the scenario promises to move and per year, from the
    year before its levers start to ``through`` (default: when the last reaches full effect),
    with ``before`` earlier years for the run-up: ``measure, levers, year_type, year, promised,
    actual, status``. Caseload shares are at January: a lever in force in year y first shows at
    January y + 1, so the base year is the January the levers start.

    ``promised``: the change promised by that year against the year before the first lever
    starts, read as the council's measure relative to England: the levers' sizes times their
    :meth:`~sendcast.scenarios.schema.LeverBase.strength` that year, added for shifts out of
    independent special schools, multiplied for incidence (a -15% lever ramped over 3 years from
    2024 promises -5% in 2024, -10% in 2025, -15% from 2026). ``actual``: the council's measure
    that year against that base year, relative to England's (both two-year averages ending that
    year, :data:`sendcast.scenarios.realism.SUSTAINED`); missing with status "not yet published"
    where the data stop.
    """
    groups: dict[str, list[Any]] = {}
    for lv in scenario.levers:
        p = promise_for(lv)
        if p is not None and isinstance(lv, IncidenceLever | PlacementShiftLever):
            groups.setdefault(p.column, []).append(lv)
    rows = []
    for column, levers in groups.items():
        m = realism.MEASURES[column]
        # two-year averages (realism.SUSTAINED), as the realism check judges changes: a single
        # year's backlog or catch-up is not read as the programme working or failing
        val, _, _ = realism._ends(metrics, m, realism.SUSTAINED)
        eng = realism.england_series(metrics, column, smooth=realism.SUSTAINED)
        # a lever in force in year y moves that calendar year's flows, so a caseload share first
        # shows it at January y + 1; new plans are counted by calendar year
        lag = 1 if m.den == "ehcp_total" else 0
        base = min(lv.start for lv in levers) - 1 + lag
        end = through or max(lv.start + max(lv.ramp, 1) - 1 for lv in levers) + lag
        for y in range(base - before, end + 1):
            if column == "independent_share":
                promised = -sum(lv.share_percent / 100 * lv.strength(y - lag) for lv in levers)
            else:
                promised = float(np.prod([1 + lv.change_percent / 100 * lv.strength(y) for lv in levers]) - 1)
            actual = float("nan")
            v1, v0 = _cell(val, la_code, y), _cell(val, la_code, base)
            e1, e0 = float(eng.get(y, np.nan)), float(eng.get(base, np.nan))
            if np.isfinite(v1) and np.isfinite(v0) and v0 > 0 and e0 > 0 and e1 > 0:
                actual = (v1 / v0) / (e1 / e0) - 1
            if y < base:
                status, promised = "before the programme", float("nan")
            elif y == base:
                status = "baseline year"
            elif not np.isfinite(actual):
                status = "not yet published"
            else:
                status = "on track" if actual <= promised + 1e-12 else "off track"
            rows.append(
                {
                    "measure": f"{m.name}, relative to England",
                    "levers": "; ".join(lv.describe() for lv in levers),
                    "year_type": "January" if lag else "calendar year",
                    "year": y,
                    "promised": promised,
                    "actual": actual,
                    "status": status,
                }
            )
    return pd.DataFrame(rows, columns=["measure", "levers", "year_type", "year", "promised", "actual", "status"])


def recent_record(metrics: pd.DataFrame, la_code: str, years: int = 6) -> pd.DataFrame:
    """The council's last ``years`` published years beside England: EHC plans and growth, new plans
    per 10,000 aged 0-25, the independent special share (tidy: ``year, measure, council, england``)."""
    rows = []
    tot = realism._wide(metrics, "ehcp_total")
    eng_tot = tot.sum()
    for col in ("new_plans_per_10k", "independent_share"):
        val, _, _ = realism._ends(metrics, realism.MEASURES[col], 1)
        eng = realism.england_series(metrics, col)
        for y in [int(c) for c in val.columns][-years:]:
            rows.append(
                {
                    "year": int(y),
                    "measure": realism.MEASURES[col].name,
                    "council": _cell(val, la_code, y),
                    "england": float(eng.get(y, np.nan)),
                }
            )
    for y in [int(c) for c in tot.columns][-years:]:
        prev = y - 1
        g = _cell(tot, la_code, y) / _cell(tot, la_code, prev) - 1
        ge = float(eng_tot[y] / eng_tot[prev] - 1) if prev in tot.columns else np.nan
        rows.append({"year": int(y), "measure": "EHC plan growth on the year", "council": g, "england": ge})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- backtest


@dataclass(frozen=True)
class PlanKind:
    """A plan a council might have written at an origin: the measure, window, and how the
    promised change follows from the council's state (see :func:`plans_at`)."""

    name: str
    column: str
    relative_to_england: bool
    flows: bool  # calendar-year flows: at January t the latest published year is t - 1


PLAN_KINDS = (
    PlanKind("EHC plans growing no faster than the council's high needs block", "ehcp_total", False, False),
    PlanKind("new plans per 10,000 back to England's rate", "new_plans_per_10k", True, True),
    PlanKind("independent special share back to England's", "independent_share", True, False),
)


def funding_growth(store: Any) -> pd.Series:
    """Each council's high needs block allocation (before deductions) growth a year, compound,
    over the financial years published (2019-20 to 2023-24 in the shipped data)."""
    o = store.observations(measure="high_needs_block", breakdown="before_deductions")
    w = o.pivot_table(index="la_code", columns="year", values="value", aggfunc="sum")
    y0, y1 = int(w.columns.min()), int(w.columns.max())
    return ((w[y1] / w[y0]) ** (1 / (y1 - y0)) - 1).dropna()


def plans_at(
    kind: PlanKind, windows: pd.DataFrame, metrics: pd.DataFrame, start: int, growth: pd.Series | None
) -> pd.DataFrame:
    """Return ``la_code, promise`` for the councils that would write ``kind`` at a window starting
    in ``start``: for growth, ``(1 + f)^k - 1`` with the council's funding growth ``f`` (every
    council); for a rate or share above England's, the change relative to England that brings it
    back to England's level (``E / x - 1``; councils at or below England write no plan)."""
    w = windows[windows["start"] == start]
    if kind.column == "ehcp_total":
        if growth is None:
            return pd.DataFrame(columns=["la_code", "promise"])
        k = int((w["end"] - w["start"]).iloc[0]) if len(w) else 0
        g = growth.reindex(w["la_code"]).to_numpy()
        return pd.DataFrame({"la_code": w["la_code"].to_numpy(), "promise": (1 + g) ** k - 1}).dropna()
    eng = realism.england_series(metrics, kind.column, smooth=realism.SUSTAINED)
    e0 = float(eng.get(start, np.nan))
    out = pd.DataFrame({"la_code": w["la_code"].to_numpy(), "promise": e0 / w["v0"].to_numpy() - 1})
    return out[out["promise"] < 0].dropna()


def realism_backtest(
    metrics: pd.DataFrame,
    *,
    growth: pd.Series | None = None,
    window: int = 2,
    hold: int = 1,
    safety_valve: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Backtest the realism verdicts on plans written at past origins; return ``(plans, summary)``.

    At each origin every council writes the plans of :data:`PLAN_KINDS` from its state then
    (:func:`plans_at`); each plan is judged by the base rate over *other* councils' windows whose
    hold year was published by the origin (a time split), with the verdict thresholds of
    :mod:`sendcast.scenarios.realism`; then the council's own window says whether it was
    achieved (beyond chance) and held ``hold`` years on. ``window`` and ``hold`` are shorter than
    the realism check's (3 and 2) because the published record since 2015 is too short to judge
    and then check three-year windows without using later data.

    ``plans``: one row per plan (``kind, la_code, la_name, origin, start, promise, base_rate,
    verdict, outcome, achieved, safety_valve``); ``summary``: per plan kind and verdict the
    number of plans, how many were achieved and held, and the share (plus "all kinds").
    """
    rows = []
    sv_codes = set(safety_valve["la_code"]) if safety_valve is not None else set()
    for kind in PLAN_KINDS:
        w = window_changes(metrics, kind.column, window=window, hold=hold, relative_to_england=kind.relative_to_england)
        if w.empty:
            continue
        how: realism.How = "ratio"
        starts = sorted(int(s) for s in w.loc[w["change_held"].notna(), "start"].unique())
        for start in starts:
            origin = start + 1 if kind.flows else start  # flows of year t are published the next year
            # windows whose hold year was published by the origin: January caseloads of ``start``
            # at origin ``start``; calendar flows of ``start`` at ``start + 1``
            pool_all = w[w["held_year"] <= start]
            if pool_all.empty:
                continue
            plans = plans_at(kind, w, metrics, start, growth)
            if plans.empty:
                continue
            own = w[w["start"] == start].set_index("la_code")
            # every plan against every pool window at once: achieved (beyond chance) and held
            pool_all = classify(pool_all, 0.0, how=how, lower_is_better=True)  # chance_p needs no promise
            known = pool_all["held_known"].to_numpy()
            promise = plans["promise"].to_numpy()[:, None]
            # as in realism.classify: the chance test applies to promises stricter than England's change
            strict = promise < pool_all["null"].to_numpy()[None, :] - 1e-12
            beyond = (pool_all["chance_p"].to_numpy() < realism.CHANCE_LEVEL)[None, :] | ~strict
            hit = beyond & known[None, :] & (pool_all["change"].to_numpy()[None, :] <= promise + 1e-12)
            hit &= pool_all["change_held"].to_numpy()[None, :] <= promise + 1e-12
            same = pool_all["la_code"].to_numpy()[None, :] == plans["la_code"].to_numpy()[:, None]
            held = (hit & ~same).sum(axis=1)
            n = (known[None, :] & ~same).sum(axis=1)
            mine = own.loc[plans["la_code"]].reset_index()
            outcomes = classify(mine, plans["promise"].to_numpy(), how=how, lower_is_better=True)["outcome"]
            for i, r in enumerate(plans.to_dict("records")):
                outcome = str(outcomes.iloc[i])
                rows.append(
                    {
                        "kind": kind.name,
                        "la_code": r["la_code"],
                        "la_name": str(own.loc[r["la_code"], "la_name"]),
                        "origin": origin,
                        "start": start,
                        "promise": float(r["promise"]),
                        "pool_windows": int(n[i]),
                        "base_rate": held[i] / n[i] if n[i] else np.nan,
                        "verdict": verdict_for(int(held[i]), int(n[i])),
                        "outcome": outcome,
                        "achieved": outcome == "achieved and held",
                        "safety_valve": r["la_code"] in sv_codes,
                    }
                )
    plans_df = pd.DataFrame(rows)
    return plans_df, backtest_summary(plans_df)


VERDICT_ORDER = ("within experience", "ambitious", "unprecedented")


def backtest_summary(plans: pd.DataFrame) -> pd.DataFrame:
    """Per plan kind (and "all kinds", and the Safety Valve councils' plans at every origin, a
    check that the verdicts hold for councils in that position) and verdict: ``plans,
    achieved_and_held, share_achieved``."""
    if plans.empty:
        return pd.DataFrame(columns=["kind", "verdict", "plans", "achieved_and_held", "share_achieved"])
    out = []
    groups: list[tuple[Any, pd.DataFrame]] = [*plans.groupby("kind", sort=False), ("all kinds", plans)]
    if "safety_valve" in plans.columns and plans["safety_valve"].any():
        groups.append(("Safety Valve councils, all kinds", plans[plans["safety_valve"]]))
    for kind, g in groups:
        for v in VERDICT_ORDER:
            s = g[g["verdict"] == v]
            out.append(
                {
                    "kind": kind,
                    "verdict": v,
                    "plans": len(s),
                    "achieved_and_held": int(s["achieved"].sum()),
                    "share_achieved": float(s["achieved"].mean()) if len(s) else np.nan,
                }
            )
    return pd.DataFrame(out)


def backtest_text(summary: pd.DataFrame) -> str:
    """The backtest's headline in words (all kinds)."""
    a = summary[summary["kind"] == "all kinds"].set_index("verdict")
    parts = []
    for v in VERDICT_ORDER:
        if v in a.index and _cell(a, v, "plans") > 0:
            parts.append(
                f"of {_cell(a, v, 'plans'):,.0f} plans judged {v}, {_cell(a, v, 'achieved_and_held'):,.0f} "
                f"({_cell(a, v, 'share_achieved'):.0%}) were then achieved and held"
            )
    if not parts:
        return ""
    sv = summary[summary["kind"] == "Safety Valve councils, all kinds"].set_index("verdict")
    sv_parts = [
        f"{_cell(sv, v, 'achieved_and_held'):,.0f} of {_cell(sv, v, 'plans'):,.0f} judged {v}"
        for v in VERDICT_ORDER
        if v in sv.index and _cell(sv, v, "plans") > 0
    ]
    if sv_parts:
        parts.append("for the Safety Valve councils alone: " + ", ".join(sv_parts))
    return (
        "Backtest of the realism check (plans written from councils' state at past origins, judged on "
        "the record published by then): " + "; ".join(parts) + "."
    )


def metrics_from_store(store: Any) -> pd.DataFrame:
    """The realism metrics of every council from a store's ``series`` and ``population``."""
    return council_metrics(store.table("series"), store.table("population"))

"""The high-needs budget and the DSG balance, per Monte Carlo draw of the placement forecast.

Input: placement draws (``la_code, year, draw, placement, plans``; ``year`` = the January
counted) for one council, the store's tidy observations, the parameter tree and, optionally,
a Safety Valve agreement. Output: a :class:`BudgetResult` holding every line per draw and
financial year (``financial_year`` = the April the year starts), summarised by
:func:`summarise` as mean, p10, p50, p90.

**January caseloads -> financial years.** Placements mostly start and end with the academic
year (September), so the January Y count stands for September Y-1 to August Y and the January
Y+1 count for September Y to August Y+1. Financial year Y (April Y to March Y+1) has 5 months
(April-August) of the first and 7 months (September-March) of the second::

    plans(FY Y) = 5/12 x plans(January Y) + 7/12 x plans(January Y+1)

so a financial year needs both Januaries; the last January in the draws starts no year.

**Spend** = plans(FY) x unit cost (calibrated, :mod:`sendcast.money.unit_costs`, inflated from
its price year with ``costs/inflation.yaml``), by placement group, plus non-placement lines
(SEN support and inclusion, AP services, hospital education, therapies) held flat in real
terms at the council's s251 outturn (or national £ per plan x the council's plans in the first
year). SEN transport is not in the high needs block and is not included.

**Income** = high needs block (DSG allocation rows, ``before_deductions`` by default, then
``funding/high_needs_block/growth.yaml``) + block transfer (agreement % x schools block before
recoupment, grown with ``funding/schools_block/growth.yaml``) + council contributions + Safety
Valve payments (agreement).

**Balance** (negative = deficit): ``in_year_balance = income_total - spend_total``;
``cumulative_balance(Y) = opening balance + sum of in-year balances to Y``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sendcast.money.agreements import Agreement
from sendcast.money.unit_costs import (
    NON_PLACEMENT_LINES,
    _council_rows,
    _trace,
    calibrate_non_placement,
    calibrate_unit_costs,
    inflation_index,
)
from sendcast.parameters import (
    PLACEMENT_GROUPS,
    Parameter,
    financial_year_label,
    require,
)

FY_WEIGHTS: tuple[float, float] = (5 / 12, 7 / 12)  # (January Y, January Y+1) -> FY Y
DRAW_COLUMNS = ["la_code", "year", "draw", "placement", "plans"]
LINE_COLUMNS = ["financial_year", "draw", "line", "value"]
NOTE_TRANSPORT = "SEN transport is not included: it is paid from the council's general fund, not the high needs block."


@dataclass
class BudgetResult:
    """A council's budget forecast.

    ``lines``: long table ``financial_year, draw, line, value`` (£, or plans for ``plans:*``);
    ``unit_costs`` and ``non_placement``: the calibration used; ``income``: the deterministic
    income by year with its basis and trace; ``parameters``: every parameter file used;
    ``notes``: what is included or left out; ``opening_balance`` at the end of the year before
    the first financial year, with ``opening_source``.
    """

    la_code: str
    la_name: str
    lines: pd.DataFrame
    unit_costs: pd.DataFrame
    non_placement: pd.DataFrame
    income: pd.DataFrame
    parameters: list[Parameter]
    opening_balance: float
    opening_source: str
    agreement: Agreement | None = None
    notes: list[str] = field(default_factory=list)

    def line(self, name: str) -> pd.DataFrame:
        """Return ``draw, financial_year, value`` for one line."""
        sel = self.lines[self.lines["line"] == name]
        return sel[["draw", "financial_year", "value"]].reset_index(drop=True)


def caseload_by_financial_year(draws: pd.DataFrame, weights: tuple[float, float] = FY_WEIGHTS) -> pd.DataFrame:
    """Return plans per financial year: index (draw, financial_year), a column per group.

    ``plans(FY Y) = weights[0] x January Y + weights[1] x January Y+1`` (default 5/12, 7/12;
    see the module docstring). Groups absent from the draws count 0. Raises ValueError on an
    unknown placement group, a missing column, or negative plans.
    """
    missing = [c for c in DRAW_COLUMNS if c not in draws.columns]
    if missing:
        raise ValueError(f"placement draws lack column(s) {missing}")
    unknown = sorted(set(draws["placement"]) - set(PLACEMENT_GROUPS))
    if unknown:
        raise ValueError(f"unknown placement group(s) {unknown}; expected {PLACEMENT_GROUPS}")
    if (draws["plans"] < 0).any():
        raise ValueError("placement draws have negative plans")
    wide = draws.pivot_table(
        index=["draw", "year"], columns="placement", values="plans", aggfunc="sum", fill_value=0
    ).reindex(columns=list(PLACEMENT_GROUPS), fill_value=0)
    wide = wide.astype(float)
    nxt = wide.copy()
    nxt.index = pd.MultiIndex.from_arrays(
        [wide.index.get_level_values("draw"), wide.index.get_level_values("year") - 1],
        names=["draw", "year"],
    )
    fy = (weights[0] * wide + weights[1] * nxt).dropna(how="any")
    fy.index = fy.index.set_names(["draw", "financial_year"])
    fy.columns.name = None
    return fy.sort_index()


def _allocation(
    observations: pd.DataFrame,
    la_code: str,
    measure: str,
    stage: str,
    years: list[int],
    growth: Parameter,
) -> pd.DataFrame:
    """Return ``financial_year, value, basis, trace`` for an allocation: published rows where
    present, else the last published year grown by ``growth`` (prod of (1 + g_t))."""
    rows = _council_rows(observations, la_code)
    if len(rows):
        rows = rows[
            (rows["measure"] == measure)
            & (rows["breakdown"] == stage)
            & (rows["period_type"] == "financial_year")
            & rows["value"].notna()
        ]
    out = []
    if len(rows) == 0:
        return pd.DataFrame({"financial_year": years, "value": np.nan, "basis": "absent", "trace": ""})
    by_year = rows.groupby("year")["value"].sum()
    last = int(by_year.index.max())
    for y in years:
        if y in by_year.index:
            r = rows[rows["year"] == y]
            out.append((y, float(by_year[y]), "published", _trace(r)))
        elif y > last:
            rates = [growth.value_for_financial_year(t) for t in range(last + 1, y + 1)]
            g = float(np.prod([1 + r for r in rates]))
            out.append(
                (
                    y,
                    float(by_year[last]) * g,
                    f"{financial_year_label(last)} x growth",
                    f"{growth.name}.yaml; " + _trace(rows[rows["year"] == last]),
                )
            )
        else:
            out.append((y, np.nan, "absent", ""))
    return pd.DataFrame(out, columns=["financial_year", "value", "basis", "trace"])


def compute_budget(
    draws: pd.DataFrame,
    observations: pd.DataFrame,
    params: dict[str, Parameter],
    *,
    agreement: Agreement | None = None,
    opening_balance: float | None = None,
    opening_source: str | None = None,
    first_year: int | None = None,
    hnb_stage: str = "before_deductions",
    la_name: str | None = None,
    unit_costs: pd.DataFrame | None = None,
    non_placement: pd.DataFrame | None = None,
) -> BudgetResult:
    """Return the :class:`BudgetResult` for one council's placement draws.

    The opening balance is the agreement's (its date fixes the first year), else
    ``opening_balance`` (default 0, said in the notes). Vectorised over draws (no loop over
    draws). Raises ValueError when the draws hold more than one council or no financial year,
    or when there are no high needs block rows for the council.
    """
    codes = draws["la_code"].astype(str).unique()
    if len(codes) != 1:
        raise ValueError(f"budget is for one council; draws hold {len(codes)} codes")
    la_code = str(codes[0])
    if la_name is None:
        la_name = str(draws["la_name"].iloc[0]) if "la_name" in draws.columns else la_code
    notes = [
        "January caseloads -> financial year Y: 5/12 x January Y + 7/12 x January Y+1.",
        NOTE_TRANSPORT,
        f"High needs block income: DSG allocation {hnb_stage.replace('_', ' ')}.",
    ]
    data_code = agreement.old_la_code if agreement and agreement.old_la_code else la_code
    uc = unit_costs if unit_costs is not None else calibrate_unit_costs(observations, data_code, params)
    npl = non_placement if non_placement is not None else calibrate_non_placement(observations, data_code, params, uc)
    plans = caseload_by_financial_year(draws)
    if agreement is not None:
        first_year = agreement.opening_financial_year if first_year is None else first_year
        opening = agreement.opening_balance.value
        src = agreement.opening_balance.source
        opening_source = f"{agreement.file}: opening_balance ({src.title})"
    else:
        opening = 0.0 if opening_balance is None else opening_balance
        if opening_balance is None:
            notes.append("No opening balance given: cumulative balance starts at 0.")
        opening_source = opening_source or "given by the user"
    if first_year is not None:
        plans = plans[plans.index.get_level_values("financial_year") >= first_year]
    years = sorted(set(plans.index.get_level_values("financial_year")))
    if not years:
        raise ValueError("no financial year has both Januaries in the draws")
    if agreement is not None and first_year is not None and years[0] > first_year:
        # the draws start after the opening balance's year: start from the council's latest
        # published cumulative balance before the first modelled year, if the file has it
        prior = {pb.financial_year: pb for pb in agreement.published_balances if pb.cumulative_balance is not None}
        pb = prior.get(years[0] - 1)
        if pb is None:
            raise ValueError(
                f"{agreement.file}: the budget starts in {financial_year_label(years[0])} but the opening "
                f"balance is for the start of {financial_year_label(first_year)}: add published_balances "
                f"with the cumulative balance for {financial_year_label(years[0] - 1)}, or forecast from "
                "an earlier origin"
            )
        opening = float(pb.cumulative_balance)  # type: ignore[arg-type]
        opening_source = (
            f"{agreement.file}: published_balances {financial_year_label(pb.financial_year)} ({pb.source.title})"
        )
        notes.append(
            "Opening balance: the published cumulative balance at the end of "
            f"{financial_year_label(pb.financial_year)}."
        )

    price_fy = int(uc["financial_year"].iloc[0])
    index = pd.Series({y: inflation_index(params, price_fy, y) for y in years})
    fy_of_row = plans.index.get_level_values("financial_year")
    costs = uc.set_index("placement")["unit_cost"].reindex(list(PLACEMENT_GROUPS)).to_numpy()
    spend = plans * costs[None, :] * index.reindex(fy_of_row).to_numpy()[:, None]

    out = pd.DataFrame(index=plans.index)
    for g in PLACEMENT_GROUPS:
        out[f"plans:{g}"] = plans[g]
        out[f"spend:{g}"] = spend[g]
    base_plans = float(plans[fy_of_row == years[0]].to_numpy().sum(axis=1).mean())
    for _, r in npl.iterrows():
        amount = r["amount"] if not pd.isna(r["amount"]) else r["per_plan"] * base_plans
        out[f"spend:{r['line']}"] = amount * index.reindex(fy_of_row).to_numpy()
    if npl["amount"].isna().any():
        notes.append(
            "Non-placement line(s) without council data use national £ per plan x mean plans "
            f"in {financial_year_label(years[0])}."
        )
    spend_cols = [f"spend:{g}" for g in PLACEMENT_GROUPS] + [f"spend:{ln}" for ln in NON_PLACEMENT_LINES]
    out["spend_total"] = out[spend_cols].sum(axis=1)

    hnb_param = require(params, "funding/high_needs_block/growth")
    sb_param = require(params, "funding/schools_block/growth")
    hnb = _allocation(observations, data_code, "high_needs_block", hnb_stage, years, hnb_param)
    if hnb["value"].isna().any():
        raise ValueError(
            f"no high needs block ({hnb_stage}) rows for council {data_code} for "
            f"{[financial_year_label(y) for y in hnb.loc[hnb['value'].isna(), 'financial_year']]}"
        )
    hnb["line"] = "income:high_needs_block"
    income = [hnb]
    transfer_pct = agreement.by_year("block_transfer") if agreement else {}
    sb = _allocation(observations, data_code, "schools_block", "before_recoupment", years, sb_param)
    bt = sb.copy()
    bt["value"] = [transfer_pct.get(y, 0.0) / 100 * v for y, v in zip(sb.financial_year, sb.value, strict=True)]
    if transfer_pct and sb["value"].isna().any():
        notes.append("Block transfer left out for years without a schools block figure.")
    bt["value"] = bt["value"].fillna(0.0)
    bt["basis"] = [
        f"{transfer_pct.get(y, 0.0)}% x schools block ({b})" for y, b in zip(sb.financial_year, sb.basis, strict=True)
    ]
    bt["line"] = "income:block_transfer"
    income.append(bt)
    for which, line in (
        ("council_contributions", "income:council_contribution"),
        ("safety_valve_payments", "income:safety_valve"),
    ):
        amounts = agreement.by_year(which) if agreement else {}
        income.append(
            pd.DataFrame(
                {
                    "financial_year": years,
                    "value": [amounts.get(y, 0.0) for y in years],
                    "basis": "agreement" if agreement else "none",
                    "trace": f"{agreement.file}: {which}" if agreement else "",
                    "line": line,
                }
            )
        )
    income_df = pd.concat(income, ignore_index=True)
    inc_wide = income_df.pivot(index="financial_year", columns="line", values="value")
    for line in inc_wide.columns:
        out[line] = inc_wide[line].reindex(fy_of_row).to_numpy()
    inc_cols = list(inc_wide.columns)
    out["income_total"] = out[inc_cols].sum(axis=1)
    out["in_year_balance_before_agreement"] = out["income:high_needs_block"] - out["spend_total"]
    out["in_year_balance"] = out["income_total"] - out["spend_total"]
    out = out.sort_index()
    out["cumulative_balance"] = opening + out.groupby(level="draw")["in_year_balance"].cumsum()

    long = out.reset_index().melt(id_vars=["draw", "financial_year"], var_name="line", value_name="value")
    used = [p for k, p in sorted(params.items()) if k.startswith(("costs/", "funding/", "calib"))]
    return BudgetResult(
        la_code=la_code,
        la_name=la_name,
        lines=long[LINE_COLUMNS],
        unit_costs=uc,
        non_placement=npl,
        income=income_df,
        parameters=used,
        opening_balance=opening,
        opening_source=opening_source,
        agreement=agreement,
        notes=notes,
    )


def summarise(result: BudgetResult) -> pd.DataFrame:
    """Return ``financial_year, line, mean, p10, p50, p90`` over draws for every line."""
    g = result.lines.groupby(["financial_year", "line"], sort=False)["value"]
    s = g.agg(
        mean="mean",
        p10=lambda v: v.quantile(0.1),
        p50="median",
        p90=lambda v: v.quantile(0.9),
    )
    return s.reset_index()


def backcast(
    result: BudgetResult,
    *,
    financial_year: int,
    published_in_year: float,
    published_source: str,
) -> pd.DataFrame:
    """Return the modelled in-year balance for a past year beside the published one.

    Rows ``item, value, note``: modelled in-year balance (p50, p10, p90, with and without the
    agreement's income), the published figure, the gap (modelled p50 - published), and the
    known reasons the two differ. The gap is reported, not tuned away.
    """
    yr = result.lines[result.lines["financial_year"] == financial_year]
    if yr.empty:
        raise ValueError(f"{financial_year_label(financial_year)} is not in the budget result")

    def q(line: str, p: float) -> float:
        return float(yr.loc[yr["line"] == line, "value"].quantile(p))

    p50 = q("in_year_balance", 0.5)
    rows = [
        ("modelled in-year balance p50", p50, "income incl. agreement, less spend"),
        ("modelled in-year balance p10", q("in_year_balance", 0.1), ""),
        ("modelled in-year balance p90", q("in_year_balance", 0.9), ""),
        (
            "modelled in-year balance before agreement p50",
            q("in_year_balance_before_agreement", 0.5),
            "high needs block less spend only",
        ),
        ("published in-year balance", published_in_year, published_source),
        ("gap (modelled p50 - published)", p50 - published_in_year, "not tuned away"),
    ]
    reasons = [
        "unit costs are 2021-22 s251 outturn per January 2021 placement, inflated by one rate",
        "placements are the model's January counts, not the council's commissioned places",
        "non-placement lines held flat in real terms at 2021-22",
        "high needs block after 2023-24 uses the growth parameter, not the published allocation",
        "post-16 FE places funded direct by ESFA (deducted from the block) are not in spend",
        "published in-year figure may net off (or not) council/DfE contributions differently",
        "SEN transport is outside the high needs block in both figures",
    ]
    rows += [("known difference", np.nan, r) for r in reasons]
    return pd.DataFrame(rows, columns=["item", "value", "note"])

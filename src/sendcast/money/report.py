"""Budget outputs: a tidy table (csv/json), a DSG deficit management plan workbook, a web page.

Reports read a :class:`~sendcast.money.budget.BudgetResult`; they never re-run the model. All
files are written atomically (temporary file in the same folder, then ``os.replace``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from sendcast.money.budget import BudgetResult, summarise
from sendcast.outputs.io import write_atomic_with
from sendcast.parameters import PLACEMENT_GROUPS, financial_year_label

TABLE_COLUMNS = ["la_code", "la_name", "financial_year", "line", "mean", "p10", "p50", "p90", "year_type"]
VALUE_COLUMNS = ["mean", "p10", "p50", "p90"]
PLAN_LINES = tuple(f"plans:{g}" for g in PLACEMENT_GROUPS)


def protect_plans(table: pd.DataFrame) -> pd.DataFrame:
    """Return ``table`` with the plan counts (``plans:*`` lines) passed through the disclosure
    rule (:func:`sendcast.outputs.disclosure.protect`: 1-9 shown as ``<10``; the placement
    groups add up within a council and year, so a lone small group is protected from
    subtraction too). Money lines are not counts and pass unchanged."""
    from sendcast.outputs.disclosure import Additive, protect

    is_plan = table["line"].isin(PLAN_LINES)
    if not is_plan.any():
        return table
    rel = Additive("line", PLAN_LINES, None, ("la_code", "financial_year"))
    plans = protect(table[is_plan], VALUE_COLUMNS, [rel], decimals=0)
    out = table.astype({c: object for c in VALUE_COLUMNS})
    out.loc[is_plan, VALUE_COLUMNS] = plans[VALUE_COLUMNS].to_numpy()
    return out


def budget_table(result: BudgetResult, *, protected: bool = True) -> pd.DataFrame:
    """Return ``la_code, la_name, financial_year, line, mean, p10, p50, p90, year_type``.

    ``financial_year`` is the label (``2023-24``); ``year_type`` is ``published`` (the opening
    balance), ``back-cast`` (published caseloads) or ``forecast``. Plan counts go through
    :func:`protect_plans` unless ``protected`` is False (library use only).
    """
    s = summarise(result)
    s.insert(0, "la_name", result.la_name)
    s.insert(0, "la_code", result.la_code)
    s["year_type"] = s["financial_year"].map(result.year_type)
    s["financial_year"] = s["financial_year"].map(financial_year_label)
    s = s[TABLE_COLUMNS].reset_index(drop=True)
    return protect_plans(s) if protected else s


def write_csv(result: BudgetResult, path: Path | str, run: Any = None) -> Path:
    """Write :func:`budget_table` as CSV; return the path."""
    from sendcast.outputs.io import escape_text_cells

    table = escape_text_cells(budget_table(result))
    return write_atomic_with(path, lambda p: table.to_csv(p, index=False))


def write_json(result: BudgetResult, path: Path | str, run: Any = None) -> Path:
    """Write :func:`budget_table` as JSON records; return the path."""
    table = budget_table(result)
    return write_atomic_with(path, lambda p: table.to_json(p, orient="records", indent=1))


def assumptions_table(result: BudgetResult) -> pd.DataFrame:
    """Return every parameter value used: ``parameter, key, from, value, unit, price_year,
    source, url_or_document, reference``, plus the opening balance."""
    rows = []
    for p in result.parameters:
        entries = p.dated or []
        for v in entries:
            src = p.source_for(v)
            rows.append(
                {
                    "parameter": f"{p.name}.yaml",
                    "key": "values",
                    "from": v.start.isoformat(),
                    "value": v.value,
                    "unit": p.unit,
                    "price_year": p.price_year or p.period,
                    "source": src.title,
                    "url_or_document": src.url or src.document,
                    "reference": src.reference or src.table or "",
                }
            )
    rows.append(
        {
            "parameter": result.opening_source,
            "key": "opening_balance",
            "from": "",
            "value": result.opening.value,
            "unit": "gbp",
            "price_year": "cash",
            "source": result.opening_source,
            "url_or_document": "",
            "reference": "",
        }
    )
    return pd.DataFrame(rows)


GROUP_LABELS = {
    "mainstream": "Mainstream schools and academies",
    "resourced_provision": "Resourced provision and SEN units",
    "state_special": "State special schools and academies",
    "independent_special": "Independent and non-maintained special schools",
    "ap_pru": "Alternative provision and pupil referral units",
    "post16_fe": "Post-16 and further education",
    "other": "Other (early years, elective home education, awaiting provision)",
}
OTHER_LABELS = {
    "spend:alternative_provision": "Alternative provision places, top-ups and services",
    "spend:sen_support_inclusion_services": "SEN support and inclusion services",
    "spend:hospital_education_services": "Hospital education services",
    "spend:therapies_health_services": "Therapies and other health-related services",
    "spend:topup_income": "Top-up income netted off (from other councils)",
    "spend:unmodelled": "Unmodelled spend (calibrated to published balances)",
    "spend:residual": "Year-to-year variation (mean zero)",
    "spend:programme_running_costs": "Programme running costs (scenario)",
    "spend_total": "Total high-needs spend",
    "income:high_needs_block": "High needs block (after deductions for ESFA-paid places)",
    "income:block_transfer": "Transfer from the schools block",
    "income:council_contribution": "Council contribution",
    "income:safety_valve": "DfE Safety Valve payment",
    "income:extra_high_needs": "Extra high-needs funding (scenario)",
    "income_total": "Total income",
    "in_year_balance_before_agreement": "In-year balance before agreement income",
    "in_year_balance": "In-year balance",
    "cumulative_balance": "Cumulative DSG balance at 31 March",
}


def line_label(line: str) -> str:
    """A readable label for a budget line (no codes on screen)."""
    if line.startswith("plans:"):
        return f"{GROUP_LABELS.get(line[6:], line[6:])}: EHC plans (financial-year average)"
    if line.startswith("spend:") and line[6:] in GROUP_LABELS:
        return f"{GROUP_LABELS[line[6:]]}: spend"
    return OTHER_LABELS.get(line, line)


def _plan_sheet(result: BudgetResult) -> pd.DataFrame:
    """Lines as rows (readable labels, DSG management plan order), financial years as columns
    (means; plan counts protected; £ rounded to the pound), then the cumulative balance's band."""
    t = budget_table(result)  # plan counts already protected
    wide = t.pivot(index="line", columns="financial_year", values="mean")
    order = (
        [f"plans:{g}" for g in PLACEMENT_GROUPS]
        + [f"spend:{g}" for g in PLACEMENT_GROUPS]
        + [ln for ln in OTHER_LABELS if ln.startswith("spend:")]
        + ["spend_total"]
        + [ln for ln in OTHER_LABELS if ln.startswith("income:")]
        + ["income_total", "in_year_balance_before_agreement", "in_year_balance", "cumulative_balance"]
    )
    wide = wide.reindex([ln for ln in order if ln in wide.index])
    band = t[t["line"] == "cumulative_balance"].set_index("financial_year")
    extra = pd.DataFrame(
        [band["p10"], band["p50"], band["p90"]],
        index=["cumulative_balance_p10", "cumulative_balance_p50", "cumulative_balance_p90"],
    )
    wide = pd.concat([wide, extra.reindex(columns=wide.columns)])
    labels = [line_label(ln) for ln in wide.index[:-3]] + [
        "Cumulative balance: low (10th percentile)",
        "Cumulative balance: median",
        "Cumulative balance: high (90th percentile)",
    ]
    wide.index = pd.Index(labels, name="line")
    kinds = t.drop_duplicates("financial_year").set_index("financial_year")["year_type"]
    wide.columns = [f"{c} ({kinds.get(c, '')})" for c in wide.columns]
    return wide.map(lambda v: round(float(v)) if isinstance(v, int | float) and pd.notna(v) else v)


def summary_rows(result: BudgetResult, run: Any = None) -> list[tuple[str, object]]:
    """The first sheet: the answer in words, the opening balance, the target and its
    probability, the back-cast beside published balances."""
    rows: list[tuple[str, object]] = [
        (f"{result.la_name} ({result.la_code}): high-needs budget and DSG balance", ""),
        (headline(result), ""),
        ("Opening balance (£)", round(result.opening.value)),
        ("Opening balance: as at", result.opening.as_at),
        ("Opening balance: source", result.opening.derivation),
        ("Negative balance", "deficit"),
    ]
    if run is not None and getattr(run, "assessment", None) is not None:
        a = run.assessment
        rows += [
            (
                "Target",
                f"cumulative balance at least £{a.target.cumulative_balance_at_least:,.0f} at 31 March "
                f"{a.target.financial_year + 1}",
            ),
            ("Probability of meeting the target", round(a.probability_meeting_target, 2)),
        ]
    if run is not None and getattr(run, "checks", None) is not None and len(run.checks):
        for _, c in run.checks.iterrows():
            rows += [
                (f"Back-cast to {c['as_at']} from {c['start']} (£, median)", round(c["modelled_p50"])),
                (f"Back-cast to {c['as_at']}: 80% range (£)", f"{c['modelled_p10']:,.0f} to {c['modelled_p90']:,.0f}"),
                (f"Published at {c['as_at']} (£)", round(c["published"])),
                (f"Gap (modelled - published) at {c['as_at']} (£)", round(c["gap"])),
            ]
    rows.append(("Notes", " ".join(result.notes)))
    return rows


# the workbook's detail sheets state the unit of every numeric column in its header, so that a
# reader (or a disclosure check) can tell counts of children from money, shares and rates
UNIT_COST_HEADERS = {
    "unit_cost": "unit_cost (£ per plan a year)",
    "council_value": "council_value (£ per plan a year)",
    "council_plans": "council_plans (plans)",
    "national_value": "national_value (£ per plan a year)",
    "weight": "weight (share on the council's own cost)",
    "growth": "growth (fraction a year)",
    "council_growth": "council_growth (fraction a year)",
    "national_growth": "national_growth (fraction a year)",
    "growth_weight": "growth_weight (share on the council's own growth)",
}
NON_PLACEMENT_HEADERS = {"amount": "amount (£)", "national_amount": "national_amount (£)"}
INCOME_HEADERS = {"value": "value (£)"}


def _line_unit(line: str) -> str:
    """The unit of a budget line's values: ``plans`` (a count of children) or ``£``."""
    return "plans" if line in PLAN_LINES else "£"


def _unit_cost_sheet(result: BudgetResult) -> pd.DataFrame:
    """The unit costs with units in the headers; the plans behind each cost are counts of
    children: 1-9 shown as ``<10``, and (the groups add up to the council's published plans in
    the year) a lone small group protected from subtraction too."""
    from sendcast.outputs.disclosure import Additive, protect

    if result.costs is None:
        return pd.DataFrame()
    costs = result.costs.unit_costs
    if "council_plans" in costs:
        rel = Additive("placement", tuple(PLACEMENT_GROUPS), None, ("la_code", "financial_year"))
        costs = protect(costs, ["council_plans"], [rel], decimals=1)
    return costs.rename(columns=UNIT_COST_HEADERS)


def write_xlsx(result: BudgetResult, path: Path | str, run: Any = None) -> Path:
    """Write a workbook laid out like a DSG deficit management plan; return the path.

    Sheets: ``Summary`` (the answer, opening balance, target and probability, back-cast beside
    published balances), ``Plan`` (lines in the order of the DfE's DSG management plan
    template: placements by type with numbers and costs, other spend, income lines, in-year and
    cumulative balance with its band; £ rounded and formatted), ``Ranges`` (mean, p10, p50,
    p90), ``Unit costs``, ``Non-placement``, ``Income``, ``Assumptions`` (every parameter with
    its source) and ``Notes``. The detail sheets state the unit of every numeric column in its
    header (``council_plans (plans)``, ``weight (share ...)``, ``amount (£)``) or, in ``Ranges``,
    in a ``unit`` column (``plans`` or ``£``); every plan count passes the disclosure rule.
    """
    from openpyxl.styles import Font

    from sendcast.outputs.io import escape_text_cells

    # text that a spreadsheet would run as a formula (a source title "=...") is escaped
    plan = escape_text_cells(_plan_sheet(result))
    summary = escape_text_cells(pd.DataFrame(summary_rows(result, run), columns=["item", "value"]))
    ranges = budget_table(result)
    ranges.insert(TABLE_COLUMNS.index("mean"), "unit", ranges["line"].map(_line_unit))
    sheets = {
        "Ranges": ranges,
        "Unit costs": _unit_cost_sheet(result),
        "Non-placement": result.costs.non_placement.rename(columns=NON_PLACEMENT_HEADERS)
        if result.costs is not None
        else pd.DataFrame(),
        "Income": result.income.assign(financial_year=result.income["financial_year"].map(financial_year_label)).rename(
            columns=INCOME_HEADERS
        )
        if len(result.income)
        else result.income,
        "Assumptions": assumptions_table(result),
        "Notes": pd.DataFrame({"note": result.notes}),
    }

    def write(p: Path) -> None:
        with pd.ExcelWriter(p, engine="openpyxl") as xw:
            summary.to_excel(xw, sheet_name="Summary", index=False)
            ws = xw.sheets["Summary"]
            ws.column_dimensions["A"].width = 70
            ws.column_dimensions["B"].width = 40
            ws["A2"].font = Font(bold=True)
            for row in ws.iter_rows(min_row=2, min_col=2, max_col=2):
                for cell in row:
                    if isinstance(cell.value, int | float):
                        cell.number_format = "#,##0;[Red]-#,##0"
            plan.to_excel(xw, sheet_name="Plan", startrow=2, index_label="line")
            ws = xw.sheets["Plan"]
            ws["A1"] = f"{result.la_name} ({result.la_code}): high needs budget and DSG balance (£; mean of draws)"
            ws["A1"].font = Font(bold=True)
            ws["A2"] = f"Opening balance {result.opening.describe()}. Negative balance = deficit."
            ws.column_dimensions["A"].width = 70
            for row in ws.iter_rows(min_row=4, min_col=2):
                for cell in row:
                    if isinstance(cell.value, int | float):
                        cell.number_format = "#,##0;[Red]-#,##0"
            for name, df in sheets.items():
                escape_text_cells(df).to_excel(xw, sheet_name=name, index=False)

    return write_atomic_with(path, write)


def write_html(result: BudgetResult, path: Path | str, run: Any = None) -> Path:
    """Write a self-contained web page (plotly inlined): the answer in a sentence, a fan chart
    of the cumulative DSG balance (80% band, median) with the published balances and the
    agreement's target, spend by placement group, the back-cast beside published figures and
    the notes; return the path."""
    import html as html_lib

    import plotly.graph_objects as go
    from plotly.io import to_html

    s = summarise(result)
    cum = s[s["line"] == "cumulative_balance"].sort_values("financial_year")
    x = [f"31 March {int(y) + 1}" for y in cum["financial_year"]]
    fan = go.Figure()
    fan.add_trace(
        go.Scatter(x=x, y=cum["p90"] / 1e6, line={"width": 0}, name="high (90th percentile)", showlegend=False)
    )
    fan.add_trace(
        go.Scatter(
            x=x,
            y=cum["p10"] / 1e6,
            fill="tonexty",
            line={"width": 0},
            name="80% range",
            fillcolor="rgba(31,119,180,0.25)",
        )
    )
    fan.add_trace(go.Scatter(x=x, y=cum["p50"] / 1e6, name="modelled median", line={"color": "#1f77b4"}))
    if run is not None and getattr(run, "checks", None) is not None and len(run.checks):
        c = run.checks
        fan.add_trace(
            go.Scatter(
                x=list(c["as_at"]),
                y=list(c["published"] / 1e6),
                mode="markers",
                name="published",
                marker={"color": "black", "size": 9},
            )
        )
    a = getattr(run, "assessment", None) if run is not None else None
    if a is not None:
        fan.add_hline(
            y=a.target.cumulative_balance_at_least / 1e6,
            line_dash="dash",
            annotation_text=f"target by 31 March {a.target.financial_year + 1}",
        )
    fan.update_layout(
        title="Cumulative DSG balance at 31 March (£ million; negative = deficit)", yaxis_title="£ million"
    )
    spend = go.Figure()
    xs = [f"{financial_year_label(int(y))}" for y in sorted(set(s["financial_year"])) if int(y) in result.year_type]
    for g in PLACEMENT_GROUPS:
        r = s[s["line"] == f"spend:{g}"].sort_values("financial_year")
        spend.add_trace(
            go.Bar(
                x=[financial_year_label(int(y)) for y in r["financial_year"]], y=r["mean"] / 1e6, name=GROUP_LABELS[g]
            )
        )
    spend.update_layout(
        barmode="stack", title="Spend by placement group (£ million, mean of draws)", xaxis={"categoryarray": xs}
    )
    notes = "".join(f"<li>{html_lib.escape(n)}</li>" for n in result.notes)
    extra = ""
    if a is not None:
        extra += f"<p>Probability of meeting the agreement's target: {a.probability_meeting_target:.2f}.</p>"
    if run is not None and getattr(run, "checks", None) is not None and len(run.checks):
        c = run.checks[["as_at", "modelled_p50", "modelled_p10", "modelled_p90", "published", "gap"]].copy()
        for col in ("modelled_p50", "modelled_p10", "modelled_p90", "published", "gap"):
            c[col] = c[col] / 1e6
        c.columns = ["as at", "modelled median (£m)", "low (£m)", "high (£m)", "published (£m)", "gap (£m)"]
        extra += "<h2>Back-cast beside the published balance</h2>" + c.to_html(
            index=False, float_format=lambda v: f"{v:,.1f}"
        )
    page = (
        f"<html><head><meta charset='utf-8'><title>{html_lib.escape(result.la_name)} high needs budget</title>"
        f"</head><body><h1>{html_lib.escape(result.la_name)}: high needs budget and DSG balance</h1>"
        f"<p>{html_lib.escape(headline(result))}</p>"
        + extra
        + to_html(fan, include_plotlyjs=True, full_html=False)
        + to_html(spend, include_plotlyjs=False, full_html=False)
        + f"<h2>Notes</h2><ul>{notes}</ul>"
        "<p>Sources: DfE SEND and AP inclusion dashboard (DSG balances, specialist spend), ESFA DSG allocations, "
        "high needs benchmarking tool 2021-22, DfE SEN2. Contains public sector information licensed under the Open "
        "Government Licence v3.0.</p></body></html>"
    )

    def write(p: Path) -> None:
        p.write_text(page, encoding="utf-8")

    return write_atomic_with(path, write)


KEY_LINES = ["spend_total", "income_total", "in_year_balance", "cumulative_balance"]


def headline(result: BudgetResult) -> str:
    """One sentence: the cumulative balance's 80% range at the end of the last forecast year."""
    s = summarise(result)
    cum = s[s["line"] == "cumulative_balance"].sort_values("financial_year")
    last = cum.iloc[-1]
    fy = int(last["financial_year"])

    def m(v: float) -> str:
        return f"{'-' if v < 0 else ''}£{abs(v) / 1e6:,.1f}m"

    return (
        f"{result.la_name}'s cumulative DSG balance at 31 March {fy + 1} is likely (80%) to be between "
        f"{m(last['p10'])} and {m(last['p90'])} (median {m(last['p50'])}; negative = deficit), starting from "
        f"{m(result.opening.value)} at {result.opening.as_at}."
    )


def text_summary(run: Any) -> str:
    """The budget as text: the headline, the key lines by year (£m), the agreement's target
    probability, back-casts beside published balances, and England's published figures."""
    result = run.result
    t = budget_table(result)
    t = t[t["line"].isin(KEY_LINES)].copy()
    for c in VALUE_COLUMNS:
        t[c] = pd.to_numeric(t[c]) / 1e6
    parts = [headline(result), "", "£ million (negative = deficit):"]
    parts.append(
        t.drop(columns=["la_code", "la_name"]).to_string(index=False, float_format=lambda v: f"{v:,.1f}", na_rep="")
    )
    if run.assessment is not None:
        a = run.assessment
        parts.append(
            f"\nprobability of meeting the target (cumulative balance >= £{a.target.cumulative_balance_at_least:,.0f} "
            f"at 31 March {a.target.financial_year + 1}): {a.probability_meeting_target:.2f}"
        )
    if run.checks is not None and len(run.checks):
        parts.append("\nback-cast from the store's latest published balance, beside the published figure (£m):")
        c = run.checks.copy()
        for col in ("modelled_p50", "modelled_p10", "modelled_p90", "published", "gap"):
            c[col] = c[col] / 1e6
        parts.append(
            c[["as_at", "modelled_p50", "modelled_p10", "modelled_p90", "published", "gap", "gap_pct"]].to_string(
                index=False, float_format=lambda v: f"{v:,.1f}"
            )
        )
    if run.national is not None and len(run.national):
        n = run.national.copy()
        n["as_at"] = n["financial_year"].map(lambda y: f"31 March {int(y) + 1}")
        n["published_gbp_m"] = n["cumulative_balance"] / 1e6
        parts.append("\npublished England net cumulative DSG balance (£m):")
        parts.append(n[["as_at", "published_gbp_m"]].to_string(index=False, float_format=lambda v: f"{v:,.1f}"))
    check = getattr(run, "basis_check", None)
    if check is not None and len(check):
        parts.append("\nthe income basis, national check (£m):")
        c = check.assign(gbp_m=check["gbp"] / 1e6)[["financial_year", "item", "gbp_m"]]
        parts.append(c.to_string(index=False, float_format=lambda v: f"{v:,.1f}"))
    return "\n".join(parts)

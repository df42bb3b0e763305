"""Server-rendered pages: England, a council, Scenarios, Accuracy.

Each page states its answer in words first, then charts, then tables (which work without
JavaScript); the numbers come from :mod:`sendcast.web.services` and are only formatted here.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
from collections.abc import Callable
from concurrent.futures import Future
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload

from sendcast.evaluate.report import accuracy_frame, accuracy_rows, forecasts_words, origins_words
from sendcast.outputs.disclosure import SUPPRESSED, is_small
from sendcast.web import charts, fmt, hexmap
from sendcast.web.services import MAX_UPLOAD_BYTES, Services, WebInputError, scenario_yaml

router = APIRouter(include_in_schema=False)

MEASURES: dict[str, dict[str, str]] = {
    "ehcp_per_10k_0_25": {"label": "EHC plans per 10,000 aged 0-25", "unit": "per 10,000", "fmt": "{:,.0f}"},
    "growth": {"label": "Growth in EHC plans over the latest year", "unit": "%", "fmt": "{:+.1f}%"},
    "independent_special_pct": {
        "label": "Share of plans in independent or non-maintained special schools",
        "unit": "%",
        "fmt": "{:.1f}%",
    },
    "plans_within_20_weeks_pct": {"label": "New plans issued within 20 weeks", "unit": "%", "fmt": "{:.0f}%"},
    "tribunal_appeal_rate": {
        "label": "SEND Tribunal appeal rate (% of appealable decisions)",
        "unit": "%",
        "fmt": "{:.1f}%",
    },
    "dsg_balance_pct": {
        "label": "Cumulative DSG balance as % of DSG income (negative = deficit)",
        "unit": "%",
        "fmt": "{:+.1f}%",
    },
    "forecast_growth": {
        "label": "Forecast growth in EHC plans over five years (median)",
        "unit": "%",
        "fmt": "{:+.0f}%",
    },
}
SOURCES = {
    "ehcp_per_10k_0_25": "DfE, Education, health and care plans; ONS mid-year population estimates",
    "growth": "DfE, Education, health and care plans",
    "independent_special_pct": "DfE, Education, health and care plans",
    "plans_within_20_weeks_pct": "DfE, Education, health and care plans",
    "tribunal_appeal_rate": "DfE / MoJ, SEND Tribunal appeal rates",
    "dsg_balance_pct": "DfE, Local area SEND and AP dashboard (DSG cumulative balance as % of income)",
    "forecast_growth": "sendcast forecast of every council from the published history",
}
FAN_MEASURES = ("ehcp_total", "special_school", "independent_special", "mainstream", "post16_fe")
PROFILE_CHARTS = (
    ("ehcp_per_10k_0_25", "EHC plans per 10,000 aged 0-25", "plans per 10,000", "January"),
    (
        "independent_special_pct",
        "Share of plans in independent or non-maintained special schools",
        "% of plans",
        "January",
    ),
    ("plans_within_20_weeks_pct", "New plans issued within 20 weeks", "% of new plans", "Calendar year"),
    ("tribunal_appeal_rate", "SEND Tribunal appeal rate", "% of appealable decisions", "Calendar year"),
)
GROUP_LABELS = {
    "mainstream": "mainstream schools",
    "resourced_provision": "resourced provision and SEN units",
    "state_special": "state special schools",
    "independent_special": "independent and non-maintained special schools",
    "ap_pru": "alternative provision and PRUs",
    "post16_fe": "post-16 further education",
    "other": "other settings or none",
}
# the scenario form: each lever kind's fields (name, label, type, default); types: num, int,
# group, text, ages, at
LEVER_FORMS: dict[str, dict[str, Any]] = {
    "incidence": {
        "title": "New-plan rate",
        "help": "Change in the rate of new EHC plans (% of the modelled rate).",
        "fields": [("change_percent", "Change (%)", "num", -10), ("ages", "Ages", "ages", (0, 25))],
    },
    "placement_shift": {
        "title": "Shift between placements",
        "help": "A share of new placements in one setting made in another instead.",
        "fields": [
            ("from", "From", "group", "independent_special"),
            ("to", "To", "group", "state_special"),
            ("share_percent", "Share moved (%)", "num", 20),
            ("at", "When", "at", None),
        ],
    },
    "new_places": {
        "title": "New places",
        "help": "New places opening in a setting; plans beyond its capacity go to the setting named last.",
        "fields": [
            ("group", "Setting", "group", "state_special"),
            ("places", "Places", "int", 100),
            ("spill_to", "Beyond capacity, plans go to", "group", "independent_special"),
        ],
    },
    "ceasing": {
        "title": "Plans ceasing",
        "help": "Change in the yearly chance of a plan ceasing, by age (e.g. 16-19).",
        "fields": [("change_percent", "Change (%)", "num", 10), ("ages", "Ages", "ages", (16, 19))],
    },
    "unit_cost": {
        "title": "Cost per plan",
        "help": "Change in the cost per plan in one setting (%).",
        "fields": [("group", "Setting", "group", "independent_special"), ("change_percent", "Change (%)", "num", -5)],
    },
    "running_cost": {
        "title": "Programme running costs",
        "help": "The programme's own cost, £ a year, charged to the high needs block.",
        "fields": [("gbp_per_year", "£ a year", "num", 1_000_000)],
    },
    "capital": {
        "title": "Capital",
        "help": "Capital spend, shown beside the DSG balance, not in it.",
        "fields": [("gbp", "£ in total", "num", 10_000_000)],
    },
    "funding": {
        "title": "Funding",
        "help": "More of the schools block moved to high needs (percentage points) "
        "and extra high-needs income (£ a year).",
        "fields": [
            ("block_transfer_percent", "Block transfer (points)", "num", 0.5),
            ("extra_high_needs_gbp", "Extra income (£ a year)", "num", 0),
        ],
    },
}
MONEY_KINDS = {"unit_cost", "running_cost", "capital", "funding"}
MAX_LEVERS = 40
PAGE_WAIT_S = 1.5  # a page that takes longer shows a progress page
MAX_FORM_DRAWS = 2000
MAX_FORM_HORIZON = 12


def _svc(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def _render(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(request, template, ctx, status_code=status)  # type: ignore


async def _cached(
    request: Request, key: tuple[Any, ...], template: str, build: Callable[[], dict[str, Any]]
) -> HTMLResponse:
    """The page rendered once per key and kept (its inputs are cached library results); a
    kept page is answered on the event loop, a new one is built in a worker thread."""
    svc = _svc(request)
    body = svc.view_peek(key)
    if body is None:
        body = await run_in_threadpool(svc.view, key, _page_renderer(request, template, build))
    return HTMLResponse(body)


def _page_renderer(request: Request, template: str, build: Callable[[], dict[str, Any]]) -> Callable[[], str]:
    svc = _svc(request)

    def render() -> str:
        ctx = {"councils": svc.councils(), "data": svc.data_date(), "request": request, **build()}
        return str(request.app.state.templates.env.get_template(template).render(ctx))

    return render


def _nan(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


# ---------------------------------------------------------------------------------- England


@router.get("/", response_class=HTMLResponse)
async def england(
    request: Request,
    measure: Annotated[str, Query(max_length=40)] = "ehcp_per_10k_0_25",
    sort: Annotated[str, Query(max_length=40)] = "la_name",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
) -> HTMLResponse:
    svc = _svc(request)
    if measure not in MEASURES:
        raise WebInputError(f"measure: choose one of {', '.join(MEASURES)}")
    if measure == "forecast_growth":
        svc.start_map_forecast()
    if measure == "forecast_growth" and svc.map_forecast_growth() is None:
        # a page that refreshes itself while the forecast runs: not cached
        ctx = await run_in_threadpool(lambda: _england_ctx(svc, svc.england_figures(), measure, sort, order))
        return _render(request, "england.html", **ctx)
    return await _cached(
        request,
        ("england", measure, sort, order),
        "england.html",
        lambda: _england_ctx(svc, svc.england_figures(), measure, sort, order),
    )


def _england_ctx(svc: Services, figs: pd.DataFrame, measure: str, sort: str, order: str) -> dict[str, Any]:
    have = measure in figs.columns
    spec = MEASURES[measure]
    values = figs[measure].astype(float) if have else pd.Series(float("nan"), index=figs.index)
    suppressed = figs[f"{measure}_suppressed"].fillna(False).astype(bool) if have else values.isna()
    valid = values.where(~suppressed)
    edges = hexmap.bins([float(v) for v in valid if not _nan(v)])
    cells, width, height = hexmap.svg_cells(list(figs["la_code"]))
    by_code = figs.set_index("la_code")

    def show(code: str, col: str) -> str:
        if col not in by_code.columns:
            return "-"
        v = by_code.at[code, col]
        if bool(by_code.get(f"{col}_suppressed", pd.Series(False, index=by_code.index)).get(code, False)):
            # the profile's marker (outputs.profile.format_value): <10 for a count of 1-9, else c
            return str(by_code.at[code, f"{col}_marker"]) if f"{col}_marker" in by_code.columns else "c"
        if _nan(v):
            return "-"
        if col == "ehcp_total":
            return fmt.count(float(v))  # type: ignore[arg-type]
        return str(MEASURES[col]["fmt"]).format(float(v))  # type: ignore[arg-type]

    for c in cells:
        code = str(c["code"])
        v = valid.get(figs.index[figs["la_code"] == code][0])
        c["fill"] = hexmap.colour(None if v is None or _nan(v) else float(v), edges)
        c["name"] = str(by_code.at[code, "la_name"])
        c["shown"] = show(code, measure)
    columns = ["la_name", "region", "ehcp_total", *[m for m in MEASURES if m in figs.columns]]
    if sort not in columns:
        sort = "la_name"
    tab = figs.copy()
    key = tab[sort] if sort in ("la_name", "region") else tab[sort].astype(float)
    tab = tab.assign(_k=key).sort_values("_k", ascending=order == "asc", na_position="last", kind="stable")
    rows = [
        {
            "code": r["la_code"],
            "name": r["la_name"],
            "region": r["region"],
            "cells": [show(r["la_code"], col) for col in columns[2:]],
        }
        for _, r in tab.iterrows()
    ]
    headers = [("la_name", "Council"), ("region", "Region"), ("ehcp_total", "EHC plans")] + [
        (m, MEASURES[m]["label"]) for m in columns[3:]
    ]
    ranked = valid.dropna()
    summary = ""
    if len(ranked):
        hi = figs.loc[ranked.idxmax()]
        lo = figs.loc[ranked.idxmin()]
        med = float(ranked.median())
        summary = (
            f"{spec['label']}: the middle council stands at {spec['fmt'].format(med)}; the highest is "
            f"{hi['la_name']} ({spec['fmt'].format(float(ranked.max()))}) and the lowest {lo['la_name']} "
            f"({spec['fmt'].format(float(ranked.min()))}). {len(ranked)} of {len(figs)} councils have a figure."
        )
    period = (
        str(figs[f"{measure}_period"].dropna().iloc[0])
        if f"{measure}_period" in figs.columns and figs[f"{measure}_period"].notna().any()
        else ""
    )
    done, total = svc.map_progress
    return dict(
        title="SEND in England, council by council",
        measure=measure,
        spec=spec,
        measures=MEASURES,
        cells=cells,
        width=width,
        height=height,
        legend=hexmap.legend(edges, spec["fmt"]),
        no_data=hexmap.NO_DATA,
        rows=rows,
        headers=headers,
        sort=sort,
        order=order,
        summary=summary,
        period=period,
        source=SOURCES[measure],
        pending=measure == "forecast_growth" and not have,
        progress=(done, total),
        map_error=svc.map_forecast_error(),
    )


# ---------------------------------------------------------------------------------- council


def _fy_labels(years: Any) -> dict[int, str]:
    return {int(y): fmt.fy(int(y)) for y in years}


def _march_labels(years: Any) -> dict[int, str]:
    return {int(y): f"Mar {int(y) + 1}" for y in years}


@router.get("/council/{code}", response_class=HTMLResponse)
async def council(request: Request, code: str) -> HTMLResponse:
    svc = _svc(request)
    la_code, la_name = svc.resolve(code)
    if la_code != code:
        return RedirectResponse(f"/council/{la_code}", status_code=307)  # type: ignore[return-value]
    key = ("council", la_code)
    body = svc.view_peek(key)
    if body is None:
        # a council seen for the first time is forecast and costed first (seconds): the page
        # is built in the background and a self-refreshing progress page shown meanwhile
        fut: Future[Any] = svc.view_in_background(
            key, _page_renderer(request, "council.html", lambda: _council_ctx(svc, la_code, la_name))
        )
        try:
            body = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(fut)), timeout=PAGE_WAIT_S)
        except TimeoutError:
            return _render(
                request,
                "building.html",
                title=f"Preparing {la_name}'s page",
                la_code=la_code,
                text=f"sendcast is simulating {svc.page_draws} futures of {la_name}'s EHC plans and costing them. "
                "This takes a few seconds the first time; the page refreshes by itself.",
            )
    return HTMLResponse(body)


def _council_ctx(svc: Services, la_code: str, la_name: str) -> dict[str, Any]:
    prof = svc.profile(la_code)
    table = prof["table"]
    labels = svc.profile_labels()
    profile_charts = []
    for measure, title, y_title, x_title in PROFILE_CHARTS:
        sub = table[table["measure"] == measure].copy()
        if sub.empty:
            continue
        sub["value"] = sub["value"].where(~svc.profile_suppressed(sub["unit"]))
        sub["label"] = la_name
        fig = charts.comparison_chart(
            sub, x="period", y="value", who="comparator", title=title, y_title=y_title, x_title=x_title
        )
        profile_charts.append({"id": f"profile-{measure}", "json": charts.figure_json(fig), "title": title})
    latest = _latest_rows(svc, table, labels)

    res = svc.page_forecast(la_code)
    s = res.summary[res.summary["la_code"] == la_code]
    hist = svc.forecast_history(la_code)
    flabels = svc.forecast_labels()
    protected = fmt.protect_forecast(s, columns=("p10", "p50", "p90"))
    fans = []
    for m in FAN_MEASURES:
        fm = s[s["measure"] == m]
        if fm.empty:
            continue
        # a value shown as "<10" in the table is not drawn either
        fm = fm.assign(**{c: fm[c].where(protected.loc[fm.index, c] != SUPPRESSED) for c in ("p10", "p50", "p90")})
        hm = hist[hist["measure"] == m]
        hm = hm.assign(value=hm["value"].where(~is_small(hm["value"].to_numpy())))
        title = flabels.get(m, m)
        fig = charts.fan_chart(fm, hm[hm["year"] >= res.origin - 8], title=title)
        rows = [
            {
                "year": int(r["year"]),
                "p10": fmt.shown(protected.at[i, "p10"]),
                "p50": fmt.shown(protected.at[i, "p50"]),
                "p90": fmt.shown(protected.at[i, "p90"]),
            }
            for i, r in fm.iterrows()
        ]
        fans.append({"id": f"fan-{m}", "title": title, "json": charts.figure_json(fig), "rows": rows})
    tot = s[s["measure"] == "ehcp_total"].sort_values("year")
    last = tot.iloc[-1]
    first = tot.iloc[0]
    forecast_words = (
        f"Plans are forecast to be between {fmt.shown(protected.at[last.name, 'p10'])} and "
        f"{fmt.shown(protected.at[last.name, 'p90'])} in January {int(last['year'])} (middle estimate "
        f"{fmt.shown(protected.at[last.name, 'p50'])}), from {fmt.count(float(first['p50']))} published in January "
        f"{int(first['year'])}."
    )
    accuracy = svc.accuracy_note(res, la_code).removeprefix("How accurate is this? ")

    budget_ctx: dict[str, Any] = {}
    try:
        budget_ctx = _budget_view(svc, la_code, la_name)
    except WebInputError as e:
        budget_ctx = {"error": str(e)}
    first_sentence = prof["summary"]
    return dict(
        title=f"{la_name}: EHC plans, forecast and high-needs budget",
        la_code=la_code,
        la_name=la_name,
        summary=first_sentence,
        forecast_words=forecast_words,
        accuracy=accuracy,
        profile_charts=profile_charts,
        latest=latest,
        fans=fans,
        budget=budget_ctx,
        neighbours=svc.neighbours(la_code),
        origin=res.origin,
        draws=res.draws,
        wide={k: v for k, v in prof["wide"].items() if not v.empty},
    )


def _latest_rows(svc: Services, table: pd.DataFrame, labels: dict[str, str]) -> list[dict[str, str]]:
    """Each measure's latest period: council, neighbours' median and England, as text."""
    rows = []
    for measure, g in table.groupby("measure", sort=False):
        own = g[g["comparator"] == "council"]
        if own.empty:
            continue
        period = str(sorted(own["period"])[-1])
        cells = {"measure": labels.get(str(measure), str(measure)), "period": period}
        for comp in ("council", "neighbour_median", "england"):
            r = g[(g["comparator"] == comp) & (g["period"] == period)]
            cells[comp] = svc.format_profile_value(float(r["value"].iloc[0]), str(r["unit"].iloc[0])) if len(r) else "-"
        rows.append(cells)
    return rows


def _budget_view(svc: Services, la_code: str, la_name: str) -> dict[str, Any]:
    b = svc.budget(la_code)
    summ, res, agr, a = b["summary"], b["result"], b["agreement"], b["assessment"]
    years = sorted(int(y) for y in summ["financial_year"].unique())
    fy_lab = _fy_labels(years)
    mar_lab = _march_labels(years)
    published: list[tuple[str, float, str]] = []
    target = None
    if agr is not None:
        for pb in agr.published_balances:
            if pb.cumulative_balance is not None:
                published.append((f"Mar {pb.financial_year + 1}", float(pb.cumulative_balance), pb.source.title))
        ob = agr.opening_balance
        published.append((f"Mar {ob.as_at.year}", float(ob.value), ob.source.title))
        target = (fmt.fy(agr.target.financial_year), float(agr.target.cumulative_balance_at_least))
    spend_fig = charts.budget_chart(summ, fy_lab, title="High-needs spend against income, £ a year")
    bal_fig = charts.balance_chart(
        summ, mar_lab, title="Cumulative DSG balance at 31 March", published=published, target=target
    )
    cum = summ[summ["line"] == "cumulative_balance"].set_index("financial_year")
    last = years[-1]
    words = [
        f"By {fmt.march(last)} {la_name}'s cumulative dedicated schools grant (DSG) balance is modelled at "
        f"{fmt.balance(cum.at[last, 'p50'])} (80% of simulated futures between {fmt.balance(cum.at[last, 'p10'])} "
        f"and {fmt.balance(cum.at[last, 'p90'])})."
    ]
    if agr is not None and a is not None:
        words.append(
            f"Its Safety Valve agreement ({agr.file.split('/')[-1]}) asks for a balance of at least "
            f"{fmt.money(agr.target.cumulative_balance_at_least)} by {fmt.march(agr.target.financial_year)}: "
            f"the chance of meeting it is {fmt.probability(a.probability_meeting_target)}."
        )
    else:
        words.append(
            "No Safety Valve agreement file is on record for this council, so the balance starts from "
            f"{fmt.money(res.opening_balance)} (the change from today, not the published deficit) and there is "
            "no target to test."
        )
    rows = []
    for y in years:
        r = {
            line: summ[(summ["line"] == line) & (summ["financial_year"] == y)]
            for line in ("spend_total", "income_total", "in_year_balance", "cumulative_balance")
        }
        rows.append(
            {
                "year": fmt.fy(y),
                **{k: fmt.money(float(v["p50"].iloc[0])) if len(v) else "-" for k, v in r.items()},
                "band": (
                    f"{fmt.money(float(r['cumulative_balance']['p10'].iloc[0]))} to "
                    f"{fmt.money(float(r['cumulative_balance']['p90'].iloc[0]))}"
                ),
            }
        )
    return {
        "words": " ".join(words),
        "spend_json": charts.figure_json(spend_fig),
        "balance_json": charts.figure_json(bal_fig),
        "rows": rows,
        "notes": list(res.notes),
        "opening": res.opening_source,
        "published": [(p[0], fmt.balance(p[1]), p[2]) for p in published],
    }


# ---------------------------------------------------------------------------------- scenarios


def _blank_scenario() -> dict[str, Any]:
    return {"name": "My scenario", "description": "Levers set in the sendcast web form.", "levers": []}


def _form_levers(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The scenario's levers as form rows, then one unticked row of each kind to add."""
    out = []
    for lv in data.get("levers", []):
        out.append({"include": True, **lv})
    origin = data.get("origin") or 2025
    for kind, spec in LEVER_FORMS.items():
        row: dict[str, Any] = {"include": False, "kind": kind, "start": origin}
        for name, _label, typ, default in spec["fields"]:
            if typ == "at":
                row["at"] = ["entry", "transfer"]
            elif default is not None:
                row[name] = list(default) if isinstance(default, tuple) else default
        out.append(row)
    return out


def _scenario_form(
    request: Request,
    data: dict[str, Any],
    *,
    la_code: str,
    error: str | None = None,
    message: str | None = None,
    status: int = 200,
    settings: dict[str, Any] | None = None,
    example: str | None = None,
) -> HTMLResponse:
    svc = _svc(request)
    first, last = svc.origins()
    st = {"horizon": 6, "draws": 500, "seed": 1, "origin": ""} | (settings or {})
    return _render(
        request,
        "scenarios.html",
        status=status,
        title="Scenarios: what if the council changed course?",
        scenario=data,
        levers=_form_levers(data),
        lever_forms=LEVER_FORMS,
        groups=GROUP_LABELS,
        la_code=la_code,
        examples=svc.example_names(),
        error=error,
        message=message,
        settings=st,
        first=first,
        last=last,
        sources_json=json.dumps(data.get("sources", [])),
        agreement=svc.agreements().get(la_code),
        max_draws=MAX_FORM_DRAWS,
        max_horizon=MAX_FORM_HORIZON,
        example=example,
    )


@router.get("/scenarios", response_class=HTMLResponse)
def scenarios(
    request: Request,
    la: Annotated[str, Query(max_length=100)] = "Norfolk",
    example: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    svc = _svc(request)
    la_code, _ = svc.resolve(la)
    data = svc.load_example(example) if example else _blank_scenario()
    msg = f"Loaded the example '{data['name']}'." if example else None
    return _scenario_form(request, data, la_code=la_code, message=msg, example=example)


def _num(form: dict[str, str], key: str, label: str, integer: bool = False) -> float | int | None:
    raw = form.get(key, "").strip().replace(",", "").replace("£", "")
    if raw == "":
        return None
    try:
        v = float(raw)
    except ValueError:
        raise WebInputError(f"{label}: {raw[:40]!r} is not a number") from None
    if not math.isfinite(v):
        raise WebInputError(f"{label}: {raw[:40]!r} is not a number")
    if integer:
        if v != int(v):
            raise WebInputError(f"{label}: {raw[:40]!r} must be a whole number")
        return int(v)
    return v


def form_to_scenario(form: dict[str, str]) -> dict[str, Any]:
    """A scenario mapping (YAML schema) from the form's fields; the schema validates it after."""
    data: dict[str, Any] = {
        "name": form.get("name", "").strip()[:200],
        "description": form.get("description", "").strip()[:2000],
    }
    try:
        sources = json.loads(form.get("sources_json") or "[]")
    except ValueError:
        sources = []
    if isinstance(sources, list):
        data["sources"] = sources[:20]
    levers: list[dict[str, Any]] = []
    for i in range(MAX_LEVERS + len(LEVER_FORMS)):
        p = f"lv{i}."
        kind = form.get(p + "kind")
        if kind is None:
            continue
        if form.get(p + "include") != "on":
            continue
        if kind not in LEVER_FORMS:
            raise WebInputError(f"lever {i + 1}: unknown kind {kind[:40]!r}")
        name = f"lever {len(levers) + 1} ({LEVER_FORMS[kind]['title']})"
        lv: dict[str, Any] = {"kind": kind}
        for key in ("id", "label", "note"):
            if form.get(p + key, "").strip():
                lv[key] = form[p + key].strip()[:300]
        for key in ("start", "end"):
            v = _num(form, p + key, f"{name}: {key}", integer=True)
            if v is not None:
                lv[key] = v
        if kind not in ("new_places", "capital", "running_cost"):
            v = _num(form, p + "ramp", f"{name}: years to full effect", integer=True)
            if v is not None:
                lv["ramp"] = v
        for fname, label, typ, _default in LEVER_FORMS[kind]["fields"]:
            if typ == "ages":
                lo = _num(form, p + "age_from", f"{name}: ages from", integer=True)
                hi = _num(form, p + "age_to", f"{name}: ages to", integer=True)
                if lo is not None or hi is not None:
                    lv["ages"] = [lo if lo is not None else 0, hi if hi is not None else 25]
            elif typ == "at":
                lv["at"] = [m for m in ("entry", "transfer") if form.get(p + f"at_{m}") == "on"]
            elif typ == "group":
                lv[fname] = form.get(p + fname, "")
            else:
                v = _num(form, p + fname, f"{name}: {label}", integer=typ == "int")
                if v is not None:
                    lv[fname] = v
        if kind == "new_places" and form.get(p + "existing_places", "").strip():
            lv["existing_places"] = _num(form, p + "existing_places", f"{name}: existing places", integer=True)
        levers.append(lv)
        if len(levers) > MAX_LEVERS:
            raise WebInputError(f"at most {MAX_LEVERS} levers")
    data["levers"] = levers
    return data


def _settings(form: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, lo, hi, default in (
        ("horizon", 1, MAX_FORM_HORIZON, 6),
        ("draws", 10, MAX_FORM_DRAWS, 500),
        ("seed", 0, 2**32 - 1, 1),
    ):
        v = _num(form, key, key, integer=True)
        v = default if v is None else v
        if not lo <= v <= hi:
            raise WebInputError(f"{key}: must be between {lo:,} and {hi:,} (got {v:,})")
        out[key] = v
    o = _num(form, "origin", "origin", integer=True)
    out["origin"] = o
    return out


@router.post("/scenarios/run", response_class=HTMLResponse)
async def scenarios_run(request: Request) -> Response:
    svc = _svc(request)
    form = {k: str(v) for k, v in (await request.form(max_fields=2000)).items()}
    la_code, _ = await run_in_threadpool(svc.resolve, form.get("la", "Norfolk"))
    try:
        data = form_to_scenario(form)
        settings = _settings(form)
        job = await run_in_threadpool(svc.start_scenario_job, la_code, data, **settings)
    except WebInputError as e:
        try:
            data = form_to_scenario(form)
        except WebInputError:
            data = _blank_scenario()
        return _scenario_form(
            request,
            data,
            la_code=la_code,
            error=str(e),
            status=400,
            settings={k: form.get(k, "") for k in ("horizon", "draws", "seed", "origin")},
        )
    return RedirectResponse(f"/scenarios/job/{job.id}", status_code=303)


@router.post("/scenarios/upload", response_class=HTMLResponse)
async def scenarios_upload(request: Request) -> Response:
    svc = _svc(request)
    form = await request.form(max_files=1, max_fields=10)
    la_code, _ = await run_in_threadpool(svc.resolve, str(form.get("la", "Norfolk")))
    upload = form.get("file")
    if not isinstance(upload, StarletteUpload):
        return _scenario_form(
            request, _blank_scenario(), la_code=la_code, error="choose a YAML file to upload", status=400
        )
    payload = await upload.read(MAX_UPLOAD_BYTES + 1)
    name = str(getattr(upload, "filename", "") or "upload.yaml")
    try:
        data = await run_in_threadpool(svc.parse_upload, name, payload)
    except WebInputError as e:
        return _scenario_form(request, _blank_scenario(), la_code=la_code, error=str(e), status=400)
    return _scenario_form(request, data, la_code=la_code, message=f"Loaded '{data['name']}' from {name[:100]}.")


def _job_or_404(svc: Services, job_id: str) -> Any:
    from starlette.exceptions import HTTPException

    job = svc.job(job_id[:64])
    if job is None:
        raise HTTPException(404)
    return job


@router.get("/scenarios/job/{job_id}", response_class=HTMLResponse)
def scenario_job(request: Request, job_id: str) -> HTMLResponse:
    svc = _svc(request)
    job = _job_or_404(svc, job_id)
    if not job.done:
        return _render(request, "progress.html", title=f"Running the scenario for {job.la_name}", job=job)
    if job.error:
        return _render(
            request, "error.html", status=400, title="The scenario could not be run", text=job.error, extra={}
        )
    return _render(request, "scenario_result.html", **_result_view(job.result), job=job)


def _result_view(out: Any) -> dict[str, Any]:
    cmp = out.comparison
    t = cmp.table
    name = out.scenario_name
    lvl = t[t["kind"] == "level"]
    diff = t[(t["kind"] == "difference") & (t["scenario"] == name)]
    panels = []
    for measure, title, y_title, money in (
        ("ehcp_total", "EHC plans at January", "EHC plans", False),
        ("spend_total", "High-needs spend, £ a year", "£ million a year", True),
        ("cumulative_balance", "Cumulative DSG balance at 31 March", "£ million (negative = deficit)", True),
    ):
        lm = lvl[lvl["measure"] == measure]
        if lm.empty:
            continue
        years = sorted(int(y) for y in lm["year"].unique())
        labels = (_march_labels(years) if measure == "cumulative_balance" else _fy_labels(years)) if money else None
        ov = charts.overlay_chart(
            lm, baseline="baseline", scenario=name, x_labels=labels, title=title, y_title=y_title, money=money
        )
        dm = diff[diff["measure"] == measure]
        df = charts.difference_chart(
            dm, x_labels=labels, title=f"Scenario minus baseline: {title}", y_title=y_title, money=money
        )
        show = fmt.money if money else (lambda v: f"{v:+,.0f}")
        rows = []
        for y in years:
            b = lm[(lm["scenario"] == "baseline") & (lm["year"] == y)]
            s = lm[(lm["scenario"] == name) & (lm["year"] == y)]
            d = dm[dm["year"] == y]
            cell = fmt.money if money else (lambda v: fmt.count(v))
            rows.append(
                {
                    "year": labels[y] if labels else str(y),
                    "baseline": cell(float(b["p50"].iloc[0])) if len(b) else "-",
                    "scenario": cell(float(s["p50"].iloc[0])) if len(s) else "-",
                    "difference": show(float(d["p50"].iloc[0])) if len(d) else "-",
                    "band": f"{show(float(d['p10'].iloc[0]))} to {show(float(d['p90'].iloc[0]))}" if len(d) else "-",
                }
            )
        panels.append(
            {
                "id": measure,
                "title": title,
                "overlay": charts.figure_json(ov),
                "difference": charts.figure_json(df),
                "rows": rows,
            }
        )
    words = []
    tot = diff[diff["measure"] == "ehcp_total"].sort_values("year")
    if len(tot):
        r = tot.iloc[-1]
        words.append(
            f"By January {int(r['year'])} the scenario has {abs(r['p50']):,.0f} {'fewer' if r['p50'] < 0 else 'more'} "
            f"EHC plans than the baseline (middle estimate; 80% of simulated futures between {r['p10']:+,.0f} and "
            f"{r['p90']:+,.0f})."
        )
    sav = cmp.savings
    savings = []
    if not sav.empty:
        s = sav.iloc[0]
        words.append(
            f"Net savings after the programme's own costs over {s['years']}: {fmt.money(s['net_savings_mean'])} on "
            f"average (80% between {fmt.money(s['net_savings_p10'])} and {fmt.money(s['net_savings_p90'])}); the "
            f"chance of any net saving is {fmt.probability(s['probability_net_saving'])}."
        )
        savings = [
            ("Gross savings in spend (average)", fmt.money(s["gross_savings_mean"])),
            ("Programme running costs", fmt.money(s["programme_costs"])),
            ("Net savings (average)", fmt.money(s["net_savings_mean"])),
            ("Net savings, 80% range", f"{fmt.money(s['net_savings_p10'])} to {fmt.money(s['net_savings_p90'])}"),
            ("Chance of a net saving", fmt.probability(s["probability_net_saving"])),
            ("Capital (not in the DSG balance)", fmt.money(s["capital_not_in_dsg"])),
        ]
    target = []
    if out.agreement_file and not cmp.target.empty:
        for _, r in cmp.target.iterrows():
            target.append((str(r["scenario"]), fmt.probability(r["probability_meeting_target"])))
        words.append("Chance of meeting the Safety Valve target: " + "; ".join(f"{n} {p}" for n, p in target) + ".")
    verdicts = out.realism.to_dict(orient="records")
    judged = [v for v in verdicts if v["verdict"] != "not assessed"]
    if judged:
        counts: dict[str, int] = {}
        for v in judged:
            counts[v["verdict"]] = counts.get(v["verdict"], 0) + 1
        words.append(
            "Realism of the levers against what councils have achieved: "
            + ", ".join(f"{n} {k}" for k, n in counts.items())
            + "."
        )
    return {
        "title": f"{name}: {out.la_name} against the baseline",
        "out": out,
        "la_code": out.la_code,
        "words": " ".join(words),
        "panels": panels,
        "savings": savings,
        "target": target,
        "verdicts": verdicts,
    }


@router.get("/scenarios/job/{job_id}/scenario.yaml")
def scenario_download(request: Request, job_id: str) -> Response:
    job = _job_or_404(_svc(request), job_id)
    if job.result is None:
        raise WebInputError("the run has not finished")
    text = scenario_yaml(job.result.scenario_data)
    return Response(
        text, media_type="application/yaml", headers={"Content-Disposition": 'attachment; filename="scenario.yaml"'}
    )


@router.get("/scenarios/job/{job_id}/results.{ext}")
def results_download(request: Request, job_id: str, ext: str) -> Response:
    job = _job_or_404(_svc(request), job_id)
    if job.result is None:
        raise WebInputError("the run has not finished")
    if ext not in ("csv", "xlsx"):
        raise WebInputError("results come as .csv or .xlsx")
    out = job.result
    from sendcast.outputs.io import escape_text_cells

    table = fmt.protect_comparison(out.comparison.table)
    table.insert(0, "la_code", out.la_code)
    # a scenario's name and labels come from the uploaded file: never a live formula
    table = escape_text_cells(table)
    if ext == "csv":
        return Response(
            table.to_csv(index=False),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="scenario-results.csv"'},
        )
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        table.to_excel(xw, sheet_name="comparison", index=False)
        escape_text_cells(out.comparison.savings).to_excel(xw, sheet_name="net savings", index=False)
        escape_text_cells(out.comparison.target).to_excel(xw, sheet_name="target", index=False)
        escape_text_cells(out.realism).to_excel(xw, sheet_name="realism", index=False)
    return Response(
        buf.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="scenario-results.xlsx"'},
    )


# ---------------------------------------------------------------------------------- accuracy

ACC_MEASURES = ("ehcp_total", "special_school", "independent_special", "mainstream", "post16_fe", "age_16_19")


@router.get("/accuracy", response_class=HTMLResponse)
async def accuracy(request: Request, la: Annotated[str | None, Query(max_length=100)] = None) -> HTMLResponse:
    svc = _svc(request)
    acc = svc.accuracy()
    if acc is None:
        return _render(request, "accuracy.html", title="How accurate are sendcast's forecasts?", missing=True)
    la_code = la_name = None
    if la:
        la_code, la_name = await run_in_threadpool(svc.resolve, la)
    return await _cached(
        request, ("accuracy", la_code), "accuracy.html", lambda: _accuracy_ctx(svc, acc, la_code, la_name)
    )


def _accuracy_ctx(svc: Services, acc: pd.DataFrame, la_code: str | None, la_name: str | None) -> dict[str, Any]:
    labels = svc.forecast_labels()
    words = []
    tot = accuracy_rows(acc, "ALL")
    everything = accuracy_rows(acc, "ALL", scope="all")
    for h in (1, 3):
        if h in tot:
            r = tot[h]
            words.append(
                f"{h} year{'s' if h > 1 else ''} ahead, the typical council's forecast of all EHC plans was "
                f"{r['mdape']:.1%} away from what was later published, and {r['coverage80']:.0%} of outcomes fell "
                f"inside the forecast's 80% range ({int(r['n']):,} council forecasts "
                f"{origins_words(r) or 'in the backtest'})."
            )
    if 1 in tot and 1 in everything and int(everything[1]["n"]) > int(tot[1]["n"]):
        e, r = everything[1], tot[1]
        words.append(
            f"Those are the forecasts sendcast makes today: from January {int(r['first_origin'])} on it learns how to "
            "combine its methods and how wide to draw its ranges from its own earlier forecasts. Counting "
            f"the forecasts {origins_words(e)} too, in the years just after the 2014 reforms when it had nothing "
            f"to learn from yet, one year ahead was {e['mdape']:.1%} away and {e['coverage80']:.0%} of outcomes fell "
            "inside the 80% range."
        )
    council_words = []
    if la_code:
        own = accuracy_rows(acc, la_code)
        for h in (1, 3):
            if h in own:
                r = own[h]
                n = int(r["n"])
                council_words.append(
                    f"{h} year{'s' if h > 1 else ''} ahead, forecasts for {la_name} were off by {r['mape']:.1%} on "
                    f"average over {forecasts_words(r)}, and "
                    f"{int(round(r['coverage80'] * n))} of {n} outcome{'s' if n != 1 else ''} fell inside the 80% "
                    "range."
                )
        if not council_words:
            council_words.append(f"No backtest covers {la_name}.")
    allc = pd.concat([accuracy_frame(acc, "ALL", m) for m in ACC_MEASURES], ignore_index=True)
    sub = allc.copy()
    sub["label"] = sub["measure"].map(labels).fillna(sub["measure"])
    fig = charts.accuracy_chart(sub, title="Typical error by years ahead, all councils")
    rows = []
    for m in ACC_MEASURES:
        g = allc[allc["measure"] == m].set_index("horizon")
        rows.append(
            {
                "label": labels.get(m, m),
                "cells": [
                    (f"{g.at[h, 'mdape']:.1%}", f"{g.at[h, 'coverage80']:.0%}") if h in g.index else ("-", "-")
                    for h in range(1, 6)
                ],
            }
        )
    table_origins = (origins_words(tot[1]) if 1 in tot else "") or "in the backtest"
    cal = svc.calibration()
    cal_rows = []
    cal_origins = ""
    cal_first = 0
    if cal is not None and not cal.empty:
        verdicts = {"consistent": "about right", "too wide": "too wide", "too narrow": "too narrow"}
        for m in ACC_MEASURES:
            g = cal[cal["measure"] == m].set_index("horizon")
            if g.empty:
                continue
            cal_rows.append(
                {
                    "label": labels.get(m, m),
                    "cells": [
                        (
                            f"{g.at[h, 'coverage80']:.0%}",
                            f"{g.at[h, 'calibrated_p5']:.0%}-{g.at[h, 'calibrated_p95']:.0%}",
                            verdicts.get(str(g.at[h, "verdict"]), str(g.at[h, "verdict"])),
                        )
                        if h in g.index
                        else ("-", "-", "")
                        for h in range(1, 6)
                    ],
                }
            )
        n_o = int(cal["origins"].max())
        cal_origins = f"{n_o} past January{'s' if n_o != 1 else ''}"
        cal_first = int(cal["first_origin"].min())
    return dict(
        title="How accurate are sendcast's forecasts?",
        missing=False,
        cal_rows=cal_rows,
        cal_origins=cal_origins,
        cal_first=cal_first,
        words=words,
        council_words=council_words,
        la_code=la_code,
        la_name=la_name,
        chart_json=charts.figure_json(fig),
        rows=rows,
        table_origins=table_origins,
    )


@router.get("/healthz")
def healthz(request: Request) -> dict[str, str]:
    """Liveness, and whether the start-up work (every council's forecast, scenario fits) runs."""
    return {"status": "ok", "background": _svc(request).background}


@router.get("/find")
def find(request: Request, code: Annotated[str, Query(max_length=100)]) -> RedirectResponse:
    la_code, _ = _svc(request).resolve(code)
    return RedirectResponse(f"/council/{la_code}", status_code=303)

"""The JSON API under ``/api/`` (OpenAPI at ``/api/openapi.json``, readable at ``/api/docs``).

Every count of 1-9 is sent as the string ``"<10"`` (:mod:`sendcast.outputs.disclosure`);
every request parameter is bounded; an unknown council is a 404 with the closest names.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import pandas as pd
import yaml
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from sendcast.web import fmt
from sendcast.web.services import MAX_UPLOAD_BYTES, SEED, Services, WebInputError

router = APIRouter(prefix="/api", tags=["api"])

MAX_API_HORIZON = 15
MAX_API_DRAWS = 2000
MAX_SCENARIO_HORIZON = 12
Origin = Annotated[int | None, Query(ge=2000, le=2060, description="Forecast from January ORIGIN (default: latest).")]
Horizon = Annotated[int, Query(ge=1, le=MAX_API_HORIZON, description="Years ahead (1-15).")]
Draws = Annotated[int, Query(ge=10, le=MAX_API_DRAWS, description="Simulated futures (10-2000).")]
Seed = Annotated[int, Query(ge=0, le=2**32 - 1, description="Random seed: same seed, same draws.")]
YAML_BODY = {
    "requestBody": {
        "required": True,
        "description": "A scenario in the YAML schema `sendcast scenario run` reads (JSON is accepted too), "
        "at most 1 MB.",
        "content": {"application/yaml": {"schema": {"type": "string"}}},
    }
}


def _svc(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def _clean(v: Any) -> Any:
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if hasattr(v, "item"):
        return _clean(v.item())
    return v


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (NaN -> null)."""
    return [{str(k): _clean(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def _council(request: Request, code: str) -> tuple[str, str]:
    return _svc(request).resolve(code)


@router.get("/councils", summary="Every current council")
def councils(request: Request) -> dict[str, Any]:
    """The 153 current councils: ONS code, DfE code, name, region and predecessors."""
    df = _svc(request).councils()
    return {"councils": records(df), "count": len(df), "data": _svc(request).data_date()}


@router.get("/councils/{code}/profile", summary="A council's SEND profile")
def profile(request: Request, code: str) -> dict[str, Any]:
    """The CLI profile's table for the council (name or code), beside its statistical
    neighbours' median and England. Suppressed counts have ``value`` null and ``shown`` "<10"."""
    svc = _svc(request)
    la_code, la_name = _council(request, code)
    p = svc.profile(la_code)
    t = p["table"].copy()
    t["shown"] = [svc.format_profile_value(v, u) for v, u in zip(t["value"], t["unit"], strict=True)]
    t["label"] = t["measure"].map(svc.profile_labels()).fillna(t["measure"])
    return {
        "la_code": la_code,
        "la_name": la_name,
        "summary": p["summary"],
        "rows": records(t),
        "data": svc.data_date(),
    }


@router.get("/councils/{code}/forecast", summary="A council's EHC plan forecast")
async def forecast(
    request: Request, code: str, origin: Origin = None, horizon: Horizon = 5, draws: Draws = 500, seed: Seed = SEED
) -> Response:
    """Mean and percentiles (p5 ... p95) of EHC plans by January, by placement and age group,
    from ``sendcast.model.api.forecast``; counts of 1-9 are "<10"."""
    svc = _svc(request)
    la_code, la_name = _council(request, code)

    def build() -> dict[str, Any]:
        res = svc.forecast(la_code, origin=origin, horizon=horizon, draws=draws, seed=seed)
        summary = fmt.protect_forecast(res.summary, decimals=1)
        labels = svc.forecast_labels()
        summary["label"] = summary["measure"].map(labels).fillna(summary["measure"])
        return {
            "la_code": la_code,
            "la_name": la_name,
            "origin": res.origin,
            "horizon": res.horizon,
            "draws": res.draws,
            "seed": res.seed,
            "accuracy": svc.accuracy_note(res, la_code),
            "rows": records(summary),
            "columns": {"p10": "10th percentile of simulated futures", "p50": "median", "p90": "90th percentile"},
        }

    key = ("api-forecast", la_code, origin, horizon, draws, seed)
    body = svc.view_peek(key)
    if body is None:
        body = await run_in_threadpool(svc.view, key, lambda: json.dumps(build(), allow_nan=False).encode())
    return Response(body, media_type="application/json")


@router.get("/councils/{code}/budget", summary="A council's high-needs budget and DSG balance")
def budget(request: Request, code: str) -> dict[str, Any]:
    """Spend, income and the DSG balance by financial year (mean, p10, p50, p90 in £), as
    ``sendcast budget`` computes them, with the Safety Valve target's probability when an
    agreement is on file."""
    svc = _svc(request)
    la_code, la_name = _council(request, code)
    b = svc.budget(la_code)
    res = b["result"]
    out: dict[str, Any] = {
        "la_code": la_code,
        "la_name": la_name,
        "draws": svc.page_draws,
        "opening_balance": res.opening_balance,
        "opening_source": res.opening_source,
        "rows": records(b["summary"][~b["summary"]["line"].str.startswith("plans:")]),
        "notes": list(res.notes),
        "agreement": None,
    }
    agr, a = b["agreement"], b["assessment"]
    if agr is not None and a is not None:
        out["agreement"] = {
            "file": agr.file.split("/")[-1],
            "target_financial_year": fmt.fy(agr.target.financial_year),
            "target_cumulative_balance_at_least": agr.target.cumulative_balance_at_least,
            "probability_meeting_target": _clean(a.probability_meeting_target),
            "published_balances": [pb.model_dump(mode="json") for pb in agr.published_balances],
        }
    return out


async def _scenario_body(request: Request) -> dict[str, Any]:
    """The request body parsed as YAML (the CLI's reader: ``yaml.safe_load``), at most 1 MB."""
    raw = await request.body()
    if len(raw) > MAX_UPLOAD_BYTES:
        raise WebInputError(f"request: (file): {len(raw)} bytes, over the {MAX_UPLOAD_BYTES} limit")
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise WebInputError(f"request: (file): not valid YAML: {str(e)[:200]}") from None
    if not isinstance(data, dict):
        raise WebInputError(f"request: (file): expected a mapping, got {type(data).__name__}")
    return data


@router.post("/scenarios/run", summary="Run a scenario beside the baseline", openapi_extra=YAML_BODY)
async def run_scenario(
    request: Request,
    la: Annotated[str, Query(max_length=100, description="Council name or code.")] = "Norfolk",
    origin: Origin = None,
    horizon: Annotated[int, Query(ge=1, le=MAX_SCENARIO_HORIZON)] = 6,
    draws: Draws = 500,
    seed: Seed = 1,
) -> dict[str, Any]:
    """Simulate the scenario and the baseline on the same draws; return the comparison
    (levels and draw-by-draw differences), net savings, the probability of meeting the
    council's Safety Valve target (when an agreement is on file) and each lever's realism
    verdict."""
    svc = _svc(request)
    data = await _scenario_body(request)
    la_code, _ = await run_in_threadpool(_council, request, la)
    out = await run_in_threadpool(
        svc.run_scenario, la_code, data, origin=origin, horizon=horizon, draws=draws, seed=seed, source="request"
    )
    cmp = out.comparison
    table = fmt.protect_comparison(cmp.table)
    return {
        "la_code": out.la_code,
        "la_name": out.la_name,
        "origin": out.origin,
        "horizon": out.horizon,
        "draws": out.draws,
        "seed": out.seed,
        "scenario": out.scenario_name,
        "agreement": out.agreement_file,
        "comparison": records(table),
        "savings": records(cmp.savings),
        "target": records(cmp.target),
        "realism": records(out.realism),
    }


@router.post("/scenarios/realism", summary="Judge a scenario's levers against history", openapi_extra=YAML_BODY)
async def realism(
    request: Request,
    la: Annotated[str, Query(max_length=100, description="Council name or code.")] = "Norfolk",
) -> dict[str, Any]:
    """Each lever set against what councils achieved since 2015: unprecedented, ambitious or
    within experience, with the evidence (``sendcast scenario realism``)."""
    svc = _svc(request)
    data = await _scenario_body(request)
    la_code, la_name = await run_in_threadpool(_council, request, la)
    sc = svc.validate_scenario(data, source="request")
    table = await run_in_threadpool(svc.realism, la_code, sc)
    return {"la_code": la_code, "la_name": la_name, "scenario": sc.name, "realism": records(table)}


@router.get("/docs", include_in_schema=False, response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    """The OpenAPI description as a page (no CDN: Swagger UI is not used)."""
    spec = request.app.openapi()
    return request.app.state.templates.TemplateResponse(request, "api_docs.html", {"spec": spec, "title": "JSON API"})

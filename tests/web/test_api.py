"""The JSON API: every endpoint, good and bad input (FastAPI's TestClient, few draws)."""

from __future__ import annotations

import yaml

from sendcast.web.services import scenario_yaml

NORFOLK = "E10000020"
SMALL_SCENARIO = {
    "name": "Fewer new plans",
    "description": "New plans 10% below trend from 2025.",
    "levers": [{"kind": "incidence", "change_percent": -10, "start": 2025}],
}


def test_councils_lists_every_current_council(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/councils")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 153 == len(body["councils"])
    norfolk = [c for c in body["councils"] if c["ons_code"] == NORFOLK][0]
    assert norfolk["dfe_code"] == "926" and norfolk["region"] == "East of England"


def test_profile_by_name_has_comparators_and_suppression(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/councils/norfolk/profile")
    assert r.status_code == 200
    body = r.json()
    assert body["la_code"] == NORFOLK and body["summary"].startswith("Norfolk had")
    comps = {row["comparator"] for row in body["rows"]}
    assert comps == {"council", "neighbour_median", "england"}
    # a suppressed count is never sent as a number
    for row in body["rows"]:
        if row["shown"] == "<10":
            assert row["value"] is None


def test_unknown_council_is_404_with_closest_matches(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/api/councils/Narfolk/profile", "/api/councils/Narfolk/forecast", "/api/councils/Narfolk/budget"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "Norfolk" in r.json()["closest"]
        assert "Traceback" not in r.text


def test_forecast_is_bounded(client) -> None:  # type: ignore[no-untyped-def]
    for query, word in (
        ("horizon=0", "horizon"),
        ("horizon=99", "horizon"),
        ("draws=5", "draws"),
        ("draws=1000000", "draws"),
        ("seed=-1", "seed"),
        ("origin=1900", "origin"),
    ):
        r = client.get(f"/api/councils/{NORFOLK}/forecast?{query}")
        assert r.status_code == 422, query
        assert r.json()["error"].startswith(word), r.json()
    r = client.get(f"/api/councils/{NORFOLK}/forecast?origin=2005")  # in range for the API, outside the data
    assert r.status_code == 400 and "origin 2005 is outside the data" in r.json()["error"]


def test_forecast_matches_the_library_and_hides_small_counts(client, services) -> None:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/councils/{NORFOLK}/forecast?horizon=2&draws=40&seed=7")
    assert r.status_code == 200
    body = r.json()
    assert (body["horizon"], body["draws"], body["seed"]) == (2, 40, 7)
    lib = services.forecast(NORFOLK, origin=None, horizon=2, draws=40, seed=7).summary
    want = lib[(lib["measure"] == "ehcp_total")].set_index("year")["p50"].round(1)
    got = {row["year"]: row["p50"] for row in body["rows"] if row["measure"] == "ehcp_total"}
    assert got == want.to_dict()
    assert body["accuracy"].startswith("How accurate is this?")
    for row in body["rows"]:
        for c in ("p10", "p50", "p90"):
            v = row[c]
            assert v == "<10" or v is None or v == 0 or v >= 9.5, row


def test_budget_has_balance_and_norfolk_target(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/councils/{NORFOLK}/budget")
    assert r.status_code == 200
    body = r.json()
    lines = {row["line"] for row in body["rows"]}
    assert {"spend_total", "income_total", "cumulative_balance"} <= lines
    assert not any(line.startswith("plans:") for line in lines)
    agr = body["agreement"]
    assert agr["target_financial_year"] == "2028-29"
    assert 0.0 <= agr["probability_meeting_target"] <= 1.0


def test_scenario_run_and_realism(client) -> None:  # type: ignore[no-untyped-def]
    text = scenario_yaml(SMALL_SCENARIO)
    r = client.post(
        f"/api/scenarios/run?la={NORFOLK}&draws=40&horizon=3",
        content=text,
        headers={"content-type": "application/yaml"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scenario"] == "Fewer new plans" and body["agreement"] == "agreement.yaml"
    diffs = [row for row in body["comparison"] if row["kind"] == "difference" and row["measure"] == "ehcp_total"]
    # same draws, fewer new plans: never more plans than the baseline
    assert diffs and all(row["p50"] <= 0 for row in diffs)
    assert body["realism"][0]["verdict"] in ("unprecedented", "ambitious", "within experience")
    r = client.post(f"/api/scenarios/realism?la={NORFOLK}", content=text)
    assert r.status_code == 200 and r.json()["realism"][0]["kind"] == "incidence"
    # JSON is YAML too
    r = client.post(f"/api/scenarios/realism?la={NORFOLK}", json=SMALL_SCENARIO)
    assert r.status_code == 200


def test_scenario_bad_input(client) -> None:  # type: ignore[no-untyped-def]
    for body, want in (
        (b"- not\n- a mapping\n", "request: (file): expected a mapping, got list"),
        (b"name: [unclosed\n", "request: (file): not valid YAML"),
        (
            yaml.safe_dump({**SMALL_SCENARIO, "levers": [{"kind": "magic", "start": 2025}]}).encode(),
            "request: levers.0.kind: unknown lever 'magic'",
        ),
        (yaml.safe_dump({**SMALL_SCENARIO, "base": "/etc/passwd"}).encode(), "request: base: not accepted"),
        (
            yaml.safe_dump(
                {
                    **SMALL_SCENARIO,
                    "levers": [{"kind": "need_new_plans", "need": "SEMH", "change_percent": -10, "start": 2025}],
                }
            ).encode(),
            "request: lever",
        ),
    ):
        for path in ("/api/scenarios/run?draws=20", "/api/scenarios/realism"):
            r = client.post(path, content=body, headers={"content-type": "application/yaml"})
            assert r.status_code == 400, (path, r.text)
            assert r.json()["error"].startswith(want), r.json()
    r = client.post("/api/scenarios/run?draws=5000", content=scenario_yaml(SMALL_SCENARIO))
    assert r.status_code == 422 and r.json()["error"].startswith("draws")
    r = client.post("/api/scenarios/run?la=Narfolk", content=scenario_yaml(SMALL_SCENARIO))
    assert r.status_code == 404


def test_a_50_mb_upload_is_refused_before_it_is_read(client) -> None:  # type: ignore[no-untyped-def]
    big = b"#" * 50_000_000
    r = client.post("/api/scenarios/run", content=big, headers={"content-type": "application/yaml"})
    assert r.status_code == 413 and "too large" in r.json()["error"]
    r = client.post("/scenarios/upload", files={"file": ("big.yaml", big, "application/yaml")})
    assert r.status_code == 413 and "too large" in r.text


def test_openapi_and_docs_page(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/api/openapi.json").json()
    for path in (
        "/api/councils",
        "/api/councils/{code}/profile",
        "/api/councils/{code}/forecast",
        "/api/councils/{code}/budget",
        "/api/scenarios/run",
        "/api/scenarios/realism",
    ):
        assert path in spec["paths"], path
    page = client.get("/api/docs")
    assert page.status_code == 200 and "/api/councils/{code}/forecast" in page.text
    assert "cdn" not in page.text.lower()


def test_security_headers_on_every_response(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/api/councils", "/api/councils/Narfolk/profile", "/", "/nowhere"):
        r = client.get(path)
        assert "default-src 'self'" in r.headers["content-security-policy"]
        assert "script-src 'self';" in r.headers["content-security-policy"]  # no inline scripts
        assert r.headers["x-content-type-options"] == "nosniff"


def test_the_adapter_forecast_is_the_library_forecast(services) -> None:  # type: ignore[no-untyped-def]
    """The web shares one fit of every council between councils; the figures must be those of
    ``sendcast.model.api.forecast`` (which refits on each call), draw for draw."""
    import pandas as pd

    from sendcast.model.api import forecast

    lib = forecast(NORFOLK, horizon=2, draws=30, seed=5, store=services.store).summary
    ours = services.forecast(NORFOLK, origin=None, horizon=2, draws=30, seed=5).summary
    pd.testing.assert_frame_equal(lib.reset_index(drop=True), ours.reset_index(drop=True))


def test_the_budget_is_the_cli_budget(client, services) -> None:  # type: ignore[no-untyped-def]
    """The council page's DSG balance is ``sendcast budget Norfolk --agreement
    examples/norfolk/agreement.yaml`` with the same draws and seed: the 31 March 2025 balance
    (financial year 2024-25) and the target's probability agree to the pound."""
    import json

    import pytest
    from typer.testing import CliRunner

    from sendcast.cli import app
    from sendcast.web.services import EXAMPLES_DIR, PAGE_HORIZON, SEED

    args = ["budget", "Norfolk", "--agreement", str(EXAMPLES_DIR / "norfolk" / "agreement.yaml")]
    args += ["--draws", str(services.page_draws), "--seed", str(SEED), "--horizon", str(PAGE_HORIZON)]
    r = CliRunner().invoke(app, [*args, "--format", "json"])
    assert r.exit_code == 0, r.output
    cli = {(d["financial_year"], d["line"]): d for d in json.loads(r.stdout)}
    body = client.get(f"/api/councils/{NORFOLK}/budget").json()
    web = {(d["financial_year"], d["line"]): d for d in body["rows"]}
    march_2025 = web[(2024, "cumulative_balance")]
    cli_2025 = cli[("2024-25", "cumulative_balance")]
    for q in ("mean", "p10", "p50", "p90"):
        assert march_2025[q] == pytest.approx(cli_2025[q], abs=1), q  # the CLI's JSON keeps 10 digits
    assert march_2025["p50"] < 0  # Norfolk's deficit, not a balance starting from £0
    # every year and line of the CLI's table is the web's, figure for figure
    for (fy, line), row in web.items():
        label = f"{fy}-{(fy + 1) % 100:02d}"
        assert cli[(label, line)]["p50"] == pytest.approx(row["p50"], abs=1), (fy, line)
    text = CliRunner().invoke(app, args).stdout
    p = body["agreement"]["probability_meeting_target"]
    assert f"at 31 March 2029): {p:.2f}" in text

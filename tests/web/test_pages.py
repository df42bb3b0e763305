"""The pages without a browser: words first, escaping, errors, the form round trip, tokens."""

from __future__ import annotations

import re
import time
from html import unescape

import yaml
from fastapi.testclient import TestClient

from sendcast.scenarios.schema import load_scenario
from sendcast.web import hexmap
from sendcast.web.app import create_app

NORFOLK = "E10000020"


def test_every_current_council_has_one_hexagon(services) -> None:  # type: ignore[no-untyped-def]
    codes = set(services.councils()["ons_code"])
    lay = hexmap.layout()
    assert codes <= set(lay), codes - set(lay)
    assert len({(h.q, h.r) for h in lay.values()}) == len(lay)
    # the four councils the published layout lacks sit beside (or on) their predecessor's place
    assert (lay["E06000064"].q, lay["E06000064"].r) == (6, 14)  # Cumbria's hexagon
    assert (lay["E06000061"].q, lay["E06000061"].r) == (7, 6)  # Northamptonshire's hexagon


def test_england_page_has_map_table_and_words(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/")
    assert r.status_code == 200
    html = r.text
    assert html.count('class="hex"') == 153
    assert "the middle council stands at" in html
    assert html.index('class="summary"') < html.index("<svg")  # words before the map
    assert "ap_pru" not in html and "p10" not in html
    r = client.get("/?measure=growth&sort=growth&order=desc")
    assert r.status_code == 200 and 'aria-sort="descending"' in r.text
    r = client.get("/?measure=nonsense")
    assert r.status_code == 400 and "measure: choose one of" in r.text


def test_council_page_sections_and_plain_labels(client) -> None:  # type: ignore[no-untyped-def]
    html = _page(client, f"/council/{NORFOLK}")
    for part in ('id="profile"', 'id="forecast"', 'id="budget"', "How accurate is this?", "Safety Valve"):
        assert part in html, part
    assert html.index('class="summary"') < html.index('id="profile"')
    assert "ap_pru" not in html and ">p10<" not in html and ">p50<" not in html
    r = client.get("/council/norfolk", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == f"/council/{NORFOLK}"
    r = client.get("/council/Narfolk")
    assert r.status_code == 404 and "Closest" in r.text and "Traceback" not in r.text


def _page(client, url: str) -> str:  # type: ignore[no-untyped-def]
    """A page that may first answer 'preparing' (refreshing itself) until it is built."""
    for _ in range(600):
        r = client.get(url)
        assert r.status_code == 200, r.text
        if 'id="building"' not in r.text:
            return r.text  # type: ignore[no-any-return]
        assert '<meta http-equiv="refresh"' in r.text and "refreshes by itself" in r.text
        time.sleep(0.2)
    raise AssertionError(f"{url} was not built")


def test_accuracy_page_words_first(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/accuracy?la=Norfolk")
    assert r.status_code == 200
    text = unescape(r.text)
    assert "1 year ahead, the typical council's forecast" in text
    assert "forecasts for Norfolk were off by" in text
    # the figures are today's method's (forecasts from January 2019), and the origins are named;
    # the earlier, transition-era origins are given beside them, not mixed in
    assert "(765 council forecasts made each January from 2019 to 2023)" in text
    assert "over the 5 forecasts made each January from 2019 to 2023" in text
    assert "Counting the forecasts made each January from 2015 to 2023 too" in text
    assert "All councils, forecasts made each January from 2019 to 2023" in text
    assert ".parquet" not in text  # the chart's source in words, not a file path
    assert "MdAPE" not in r.text and "CRPS" not in r.text
    # whether the ranges were right, against what a right range would hold (shipped with the backtest)
    assert "Were the 80% ranges right?" in text and 'id="calibration-table"' in r.text
    assert "(right: " in text and "about right" in text


def _wait(client, url: str) -> str:  # type: ignore[no-untyped-def]
    for _ in range(240):
        r = client.get(url)
        if "Running:" not in r.text:
            return r.text  # type: ignore[no-any-return]
        assert '<meta http-equiv="refresh"' in r.text
        time.sleep(0.25)
    raise AssertionError("scenario did not finish")


def test_form_run_downloads_and_upload_round_trip(client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    form = {
        "la": NORFOLK,
        "name": "=Test <script>alert(1)</script>",  # a formula and markup: text in every download
        "description": "hand-made",
        "sources_json": "[]",
        "lv0.kind": "incidence",
        "lv0.include": "on",
        "lv0.change_percent": "-20",
        "lv0.age_from": "0",
        "lv0.age_to": "15",
        "lv0.start": "2025",
        "lv0.ramp": "2",
        "lv1.kind": "placement_shift",
        "lv1.include": "on",
        "lv1.from": "independent_special",
        "lv1.to": "state_special",
        "lv1.share_percent": "30",
        "lv1.at_entry": "on",
        "lv1.start": "2025",
        "lv2.kind": "capital",
        "lv2.gbp": "5000000",
        "lv2.start": "2025",  # not ticked: left out
        "horizon": "4",
        "draws": "40",
        "seed": "3",
        "origin": "",
    }
    r = client.post("/scenarios/run", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    html = _wait(client, url)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "fewer EHC plans than the baseline" in html
    assert 'id="realism-table"' in html
    assert any(f'class="verdict {v}"' in html for v in ("unprecedented", "ambitious", "within-experience"))
    text = client.get(url + "/scenario.yaml").text
    path = tmp_path / "s.yaml"
    path.write_text(text)
    sc = load_scenario(path)  # the CLI's loader reads the download
    assert [lv.kind for lv in sc.levers] == ["incidence", "placement_shift"]
    assert sc.levers[0].ages == (0, 15)
    csv = client.get(url + "/results.csv")
    assert csv.status_code == 200 and csv.text.startswith("la_code,scenario,kind,measure,year")
    xlsx = client.get(url + "/results.xlsx")
    assert xlsx.content[:2] == b"PK"
    import io

    import openpyxl

    cells = [c.value for ws in openpyxl.load_workbook(io.BytesIO(xlsx.content)) for row in ws.iter_rows() for c in row]
    texts = [v for v in cells if isinstance(v, str)] + csv.text.replace('"', "").split(",")
    assert not [v for v in texts if v.startswith(("=", "+", "@"))], "a live formula in the downloads"
    up = client.post("/scenarios/upload", data={"la": NORFOLK}, files={"file": ("mine.yaml", text, "text/yaml")})
    assert up.status_code == 200 and "Loaded &#39;=Test &lt;script&gt;" in up.text
    assert 'value="-20.0"' in up.text or 'value="-20"' in up.text


def test_bad_form_and_bad_upload_show_the_error(client) -> None:  # type: ignore[no-untyped-def]
    form = {
        "la": NORFOLK,
        "name": "x",
        "description": "y",
        "lv0.kind": "incidence",
        "lv0.include": "on",
        "lv0.change_percent": "lots",
        "lv0.start": "2025",
        "draws": "40",
        "horizon": "3",
        "seed": "1",
    }
    r = client.post("/scenarios/run", data=form)
    assert r.status_code == 400 and "lever 1 (New-plan rate): Change (%): &#39;lots&#39; is not a number" in r.text
    form["lv0.change_percent"] = "-150"
    r = client.post("/scenarios/run", data=form)
    assert r.status_code == 400 and "form: levers.0.change_percent:" in r.text
    form["lv0.change_percent"] = "-5"
    form["draws"] = "999999"
    r = client.post("/scenarios/run", data=form)
    assert r.status_code == 400 and "draws: must be between 10 and 2,000" in r.text
    for payload, want in (
        (b"just a string\n", "bad.yaml: (file): expected a mapping, got str"),
        (
            b"name: x\ndescription: y\nlevers: [{kind: incidence, start: 2025, change_percent: 900}]\n",
            "bad.yaml: levers.0.change_percent:",
        ),
        (b"name: x\ndescription: y\nbase: ../../etc/passwd\n", "bad.yaml: base: an uploaded scenario may only"),
        (b"\xff\xfe\x00", "bad.yaml: (file): not UTF-8 text"),
    ):
        r = client.post("/scenarios/upload", data={"la": NORFOLK}, files={"file": ("bad.yaml", payload, "text/yaml")})
        assert r.status_code == 400, payload
        assert want in r.text.replace("&#39;", "'"), (want, re.findall(r"form-error.*?</p>", r.text, re.S))


def test_examples_load_into_the_form(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/scenarios?la=Norfolk&example=norfolk/local_first_inclusion")
    assert r.status_code == 200 and "15 school and community support teams" in r.text
    r = client.get("/scenarios?example=nope")
    assert r.status_code == 400


def test_token_needed_when_set(services) -> None:  # type: ignore[no-untyped-def]
    token = "a-long-enough-test-token"
    with TestClient(create_app(services, token=token)) as c:
        assert c.get("/api/councils").status_code == 401
        assert c.get("/", headers={"Authorization": "Bearer wrong-token-wrong"}).status_code == 401
        assert c.get("/api/councils", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        r = c.get(f"/accuracy?token={token}", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/accuracy" and "sendcast_token" in r.cookies
        assert c.get("/accuracy").status_code == 200  # the cookie carries it now


def test_serve_refuses_an_open_host_without_token(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from sendcast.cli import app
    from sendcast.cli_parts.serve import is_loopback

    monkeypatch.delenv("SENDCAST_TOKEN", raising=False)
    r = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])
    assert r.exit_code == 2 and "--token" in r.output
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    r = CliRunner().invoke(app, ["serve", "--token", "short"])
    assert r.exit_code == 2


def test_scenario_yaml_is_valid_yaml_mapping() -> None:
    from sendcast.web.services import scenario_yaml

    data = {"name": "n", "description": "d", "levers": [{"kind": "incidence", "change_percent": -1, "start": 2025}]}
    assert yaml.safe_load(scenario_yaml(data)) == data


def test_forecast_growth_map_shows_progress_then_the_figures(services, client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sendcast.web.services as services_module

    monkeypatch.setattr(services_module, "WARM_HORIZONS", ())  # the scenario fits are not needed here
    r = client.get("/?measure=forecast_growth")
    assert r.status_code == 200
    if services.map_forecast_growth() is None:
        assert "Forecasting every council" in r.text and '<meta http-equiv="refresh"' in r.text
    assert services.background_idle.wait(timeout=120)
    r = client.get("/?measure=forecast_growth")
    assert "Forecasting every council" not in r.text
    assert "Forecast growth in EHC plans over five years (median)" in r.text
    assert "the middle council stands at" in r.text
    assert client.get("/healthz").json()["background"] == "idle"


def test_comparison_chart_periods_in_time_order() -> None:
    import json

    import pandas as pd

    from sendcast.web.charts import comparison_chart, figure_json

    # the council skipped 2022; its neighbours did not: the axis must still read 2021, 2022, 2023
    df = pd.DataFrame(
        {
            "period": ["2021", "2023", "2021", "2022", "2023"],
            "value": [50.0, 40.0, 60.0, 55.0, 58.0],
            "comparator": ["council", "council", "neighbour_median", "neighbour_median", "neighbour_median"],
            "label": "Somewhere",
        }
    )
    fig = json.loads(
        figure_json(comparison_chart(df, x="period", y="value", who="comparator", title="t", y_title="y", x_title="x"))
    )
    assert fig["layout"]["xaxis"]["categoryarray"] == ["2021", "2022", "2023"]


def test_cross_site_posts_and_foreign_hosts_are_refused(services, client) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/scenarios/upload", headers={"Origin": "http://evil.example"}, files={"file": ("a.yaml", b"x")})
    assert r.status_code == 403 and "another site" in r.text
    r = client.post("/api/scenarios/realism", headers={"Origin": "http://evil.example"}, content=b"name: x")
    assert r.status_code == 403
    # same origin is fine (the browser sends it with every form)
    r = client.post("/api/scenarios/realism", headers={"Origin": "http://testserver"}, content=b"- a list")
    assert r.status_code == 400
    with TestClient(create_app(services, allowed_hosts=["127.0.0.1", "localhost"]), base_url="http://127.0.0.1") as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/healthz", headers={"Host": "rebound.example"}).status_code == 400


def test_an_upload_over_1_mb_is_refused_with_its_name(client) -> None:  # type: ignore[no-untyped-def]
    payload = b"# padding\n" * 150_000  # 1.5 MB: under the request limit, over the scenario file limit
    r = client.post("/scenarios/upload", data={"la": NORFOLK}, files={"file": ("big.yaml", payload, "text/yaml")})
    assert r.status_code == 400 and "big.yaml: (file): the file is over the 1,000,000-byte limit" in r.text


def test_the_map_shows_each_council_as_its_profile_publishes_it(services, client) -> None:  # type: ignore[no-untyped-def]
    """The map's figures pass through the profile's disclosure: no count of 1 to 9 is shown,
    a hidden figure carries the profile's marker, and every council's figure is the one its
    own profile shows."""
    from sendcast.outputs.profile import format_value
    from sendcast.web.services import MAP_FIGURES

    figs = services.england_figures().set_index("la_code")
    shown = figs["ehcp_total"][~figs["ehcp_total_suppressed"]].dropna()
    assert not ((shown > 0) & (shown < 10)).any()
    for measure, _ in MAP_FIGURES:
        hidden = figs[figs[f"{measure}_suppressed"]]
        assert hidden[measure].isna().all(), measure
        assert set(hidden[f"{measure}_marker"]) <= {"<10", "c"}, measure
    # the latest January's total and rate for a few councils, small and large, against their profiles
    for code in ("E06000053", "E09000001", "E10000020", "E06000017"):
        t = services.profile(code)["table"]
        for measure in ("ehcp_total", "ehcp_per_10k_0_25"):
            rows = t[(t["measure"] == measure) & (t["comparator"] == "council") & (t["period_type"] == "january")]
            if rows.empty:
                continue
            r = rows.sort_values("period").iloc[-1]
            if bool(figs.at[code, f"{measure}_suppressed"]):
                assert figs.at[code, f"{measure}_marker"] == format_value(r["value"], r["unit"])
            else:
                assert figs.at[code, measure] == r["value"], (code, measure)
    import re

    html = client.get("/").text  # the table beside the map: EHC plans is its first figure column
    plans = re.findall(r'</th><td>[^<]*</td><td class="num">([^<]*)</td>', html)
    assert len(plans) == 153
    assert not [x for x in plans if x.replace(",", "").isdigit() and 1 <= int(x.replace(",", "")) <= 9]

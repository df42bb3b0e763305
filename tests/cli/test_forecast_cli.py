"""`sendcast forecast` on the embedded store: formats, and one-line errors for bad requests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sendcast.cli import app

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("embedded_store")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["forecast", "Narfok"], "closest: Norfolk"),
        (["forecast", "Norfolk", "--origin", "1999"], "origin 1999 is outside the data"),
        (["forecast", "Norfolk", "--horizon", "0"], "horizon must be between 1 and 30"),
        (["forecast", "Norfolk", "--horizon", "100"], "horizon must be between 1 and 30"),
        (["forecast", "Norfolk", "--draws", "0"], "draws must be between 1"),
        (["forecast", "Norfolk", "--format", "pdf"], "unknown format"),
    ],
)
def test_bad_requests_get_a_one_line_error(args: list[str], message: str) -> None:
    r = runner.invoke(app, args)
    assert r.exit_code == 2
    assert message in r.output
    assert "Traceback" not in r.output
    assert len([line for line in r.output.splitlines() if line.strip()]) == 1


def test_csv_has_the_agreed_columns_and_metadata(tmp_path: Path) -> None:
    out = tmp_path / "norfolk.csv"
    r = runner.invoke(app, ["forecast", "926", "--draws", "50", "--horizon", "2", "--format", "csv", "--out", str(out)])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out)
    assert list(df.columns) == ["la_code", "la_name", "year", "measure", "mean", "p5", "p10", "p50", "p90", "p95"]
    assert set(df["la_code"]) == {"E10000020"}
    assert {"ehcp_total", "special_school", "independent_special", "age_16_19"} <= set(df["measure"])
    # the origin row is the published January 2024 caseload
    origin = df[(df["measure"] == "ehcp_total") & (df["year"] == 2024)]
    assert origin["p50"].iloc[0] == 10736
    assert (tmp_path / "norfolk.csv.meta.json").is_file()


def test_origin_in_the_past_forecasts_from_that_january(tmp_path: Path) -> None:
    out = tmp_path / "f.parquet"
    r = runner.invoke(
        app,
        [
            "forecast",
            "Norfolk",
            "--origin",
            "2020",
            "--horizon",
            "3",
            "--draws",
            "50",
            "--format",
            "parquet",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    df = pd.read_parquet(out)
    assert sorted(df["year"].unique()) == [2020, 2021, 2022, 2023]
    row = df[(df["measure"] == "ehcp_total") & (df["year"] == 2020)]
    assert row["mean"].iloc[0] == 6689  # published January 2020


def test_html_is_a_self_contained_page(tmp_path: Path) -> None:
    out = tmp_path / "f.html"
    r = runner.invoke(app, ["forecast", "Norfolk", "--draws", "50", "--format", "html", "--out", str(out)])
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert text.startswith("<!doctype html>") and "How accurate is this?" in text
    assert '<script src="http' not in text  # plotly.js is inlined, no network needed


def test_format_follows_the_out_extension(tmp_path: Path) -> None:
    # the README's main command: `sendcast forecast --all --out out/forecast.csv` writes CSV
    out = tmp_path / "f.csv"
    r = runner.invoke(app, ["forecast", "Norfolk", "--draws", "20", "--horizon", "1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert list(pd.read_csv(out).columns)[:4] == ["la_code", "la_name", "year", "measure"]


def test_an_empty_setting_stays_near_empty() -> None:
    # Hartlepool has no plans in AP/PRU at January 2024: no draw should conjure dozens there
    from sendcast.model.api import forecast

    s = forecast("Hartlepool", horizon=2, draws=200, seed=1).summary
    ap = s[(s["measure"] == "ap_pru") & (s["year"] == 2025)]
    assert ap["p90"].iloc[0] <= 15

"""Outputs (csv/xlsx/html) and the ``budget`` CLI command with fake model and store."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import typer
from money_fixtures import synthetic_draws, synthetic_observations
from typer.testing import CliRunner

from sendcast.cli_parts.budget import register
from sendcast.money.budget import compute_budget
from sendcast.money.report import TABLE_COLUMNS, budget_table, write_csv, write_html, write_xlsx

NORFOLK = Path(__file__).resolve().parents[2] / "examples" / "norfolk" / "agreement.yaml"


@pytest.fixture()
def result(params: dict):  # type: ignore[no-untyped-def]
    return compute_budget(synthetic_draws([2023, 2024, 2025], 6), synthetic_observations(), params)


def test_table_columns(result) -> None:  # type: ignore[no-untyped-def]
    t = budget_table(result)
    assert list(t.columns) == TABLE_COLUMNS
    assert set(t["financial_year"]) == {"2023-24", "2024-25"}


def test_writers(result, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    c = write_csv(result, tmp_path / "b.csv")
    assert list(pd.read_csv(c).columns) == TABLE_COLUMNS
    x = write_xlsx(result, tmp_path / "b.xlsx")
    wb = openpyxl.load_workbook(x)
    assert wb.sheetnames[0] == "Plan" and "Assumptions" in wb.sheetnames
    assum = pd.read_excel(x, sheet_name="Assumptions")
    assert assum["source"].notna().all()
    assert "costs/placements/independent_special.yaml" in set(assum["parameter"])
    h = write_html(result, tmp_path / "b.html")
    assert "plotly" in h.read_text()[:5_000_000]
    assert not list(tmp_path.glob(".*.tmp"))


def test_cli_with_fakes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    api = types.ModuleType("sendcast.model.api")
    api.placement_draws = lambda la, *, origin, horizon, draws, seed: synthetic_draws(  # type: ignore[attr-defined]
        list(range(2023, 2023 + horizon + 1)), draws, seed
    )
    store = types.ModuleType("sendcast.store")
    store.open_store = lambda: types.SimpleNamespace(observations=lambda **_: synthetic_observations())  # type: ignore[attr-defined]
    api.published_placement_draws = lambda code, years, draws: synthetic_draws(years, draws, 0)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sendcast.model.api", api)
    monkeypatch.setitem(sys.modules, "sendcast.store", store)
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    runner = CliRunner()
    out = tmp_path / "n.csv"
    r = runner.invoke(
        app,
        [
            "budget",
            "Norfolk",
            "--agreement",
            str(NORFOLK),
            "--horizon",
            "3",
            "--draws",
            "5",
            "--format",
            "csv",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "probability of meeting the target" in r.output
    assert list(pd.read_csv(out).columns) == TABLE_COLUMNS
    bad = tmp_path / "bad.yaml"
    bad.write_text("- 1")
    r = runner.invoke(app, ["budget", "Norfolk", "--agreement", str(bad)])
    assert r.exit_code == 2 and "bad.yaml" in r.output

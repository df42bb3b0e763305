"""Budget outputs (csv/xlsx/html), plan counts protected, and the ``budget`` command's refusals."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from money_fixtures import synthetic_draws, synthetic_inputs
from typer.testing import CliRunner

from sendcast.cli import app
from sendcast.money.budget import compute_budget
from sendcast.money.report import TABLE_COLUMNS, budget_table, write_csv, write_html, write_xlsx

NORFOLK = Path(__file__).resolve().parents[2] / "examples" / "norfolk" / "agreement.yaml"


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    return compute_budget("E10000020", synthetic_inputs(), draws=synthetic_draws([2023, 2024, 2025], 6), seed=1)


def test_table_is_long_from_the_opening_balance_on(result) -> None:  # type: ignore[no-untyped-def]
    t = budget_table(result)
    assert list(t.columns) == TABLE_COLUMNS
    assert set(t["financial_year"]) == {"2021-22", "2022-23", "2023-24", "2024-25"}
    assert set(t["year_type"]) == {"published", "back-cast", "forecast"}
    opening = t[t.year_type == "published"]
    assert opening["line"].tolist() == ["cumulative_balance"]


def test_small_plan_counts_are_protected() -> None:
    inp = synthetic_inputs()
    inp.januaries.loc[inp.januaries.placement == "ap_pru", "plans"] = 4.0  # type: ignore[attr-defined]
    r = compute_budget("E10000020", inp, first_year=2020, last_year=2021, n_draws=2)
    t = budget_table(r)
    ap = t[t.line == "plans:ap_pru"]
    assert (ap["mean"] == "<10").all()
    # a lone small group could be recovered from the total by subtraction: a second is hidden
    plans = t[t.line.str.startswith("plans:")]
    per_year = plans.groupby("financial_year")["mean"].apply(lambda s: s.isin(["<10", "c"]).sum())
    assert (per_year >= 2).all()


def test_writers(result, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    c = write_csv(result, tmp_path / "b.csv")
    assert list(pd.read_csv(c).columns) == TABLE_COLUMNS
    x = write_xlsx(result, tmp_path / "b.xlsx")
    wb = openpyxl.load_workbook(x)
    assert wb.sheetnames[:2] == ["Summary", "Plan"] and "Assumptions" in wb.sheetnames
    assum = pd.read_excel(x, sheet_name="Assumptions")
    assert assum["source"].notna().all()
    h = write_html(result, tmp_path / "b.html")
    assert "plotly" in h.read_text()[:5_000_000]
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["budget", "Norfolk", "--horizon", "0"], "horizon must be between"),
        (["budget", "Isles of Scilly"], "no high needs block allocation"),
        (["budget", "City of London"], "no high needs block allocation"),
        (["budget", "Norfolk", "--out", "x.xlsx", "--format", "csv"], "is a xlsx file but --format is csv"),
        (["budget", "Norfolk", "--out", "x.docx"], "extension .docx"),
        (["budget", "Norfolk", "--format", "xlsx"], "needs --out"),
        (["budget", "Suffolk", "--agreement", str(NORFOLK)], "agreement is for Norfolk (E10000020), not Suffolk"),
        (["budget", "Nowhere"], "Nowhere"),
    ],
)
def test_bad_requests_are_one_line_exit_2(args: list[str], message: str) -> None:
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert "Traceback" not in r.output


def test_stdout_json_is_data_only() -> None:
    import json

    r = CliRunner().invoke(app, ["budget", "Norfolk", "--format", "json", "--draws", "5", "--horizon", "1"])
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert {d["line"] for d in data} >= {"spend_total", "income_total", "in_year_balance", "cumulative_balance"}


def test_bad_balances_csv_is_refused_before_anything_runs(tmp_path: Path) -> None:
    p = tmp_path / "b.csv"
    p.write_text("la_code,financial_year,cumulative_balance,in_year_balance,source\nE10000020,2023-24,nan,,x\n")
    r = CliRunner().invoke(app, ["budget", "Norfolk", "--balances", str(p)])
    assert r.exit_code == 2 and "b.csv: row 2: cumulative_balance" in r.output


def test_text_from_files_is_escaped_in_the_page_and_the_workbook(result, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A council name, a note or a --params source title is text, never markup or a formula."""
    import dataclasses

    title = '=HYPERLINK("http://example.org","click")'
    params = [p.model_copy(update={"source": p.source.model_copy(update={"title": title})}) for p in result.parameters]
    hostile = dataclasses.replace(
        result,
        la_name="<script>alert(1)</script>",
        notes=["<img src=x onerror=alert(2)>", "=1+1"],
        parameters=params,
    )
    page = write_html(hostile, tmp_path / "b.html").read_text()
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)" in page and "&lt;img src=x" in page
    book = openpyxl.load_workbook(write_xlsx(hostile, tmp_path / "b.xlsx"))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # no cell runs as a formula
    assert any(str(c.value).endswith(title) for row in book["Assumptions"].iter_rows() for c in row)

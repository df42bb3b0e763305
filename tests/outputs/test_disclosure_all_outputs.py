"""Every output format of every command, for the three smallest councils (Isles of Scilly, City
of London, Rutland): no count of 1 to 9 in any file written or table printed.

One helper (:func:`tests.outputs.scan.small_count_cells`) scans whatever a command wrote, so a
command or format added later is covered by adding a line to :data:`RUNS`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from scan import count_cells, sheets, small_count_cells  # noqa: E402

from sendcast.cli import app  # noqa: E402

pytestmark = pytest.mark.usefixtures("embedded_store")
REPO = Path(__file__).resolve().parents[2]
SMALLEST = ("Isles of Scilly", "City of London", "Rutland")
SCENARIO = str(REPO / "examples" / "norfolk" / "scenarios" / "local_first_inclusion.yaml")
AGREEMENT = str(REPO / "examples" / "norfolk" / "agreement.yaml")
SMALL_RUN = ["--draws", "20", "--horizon", "2"]
# each run fits every council again (about 3 s of CPU): the money commands, 13 formats x 3
# councils, are marked slow
MONEY = [pytest.mark.slow]
BUDGET = [pytest.mark.slow]

# (command words with {la} for the council, formats, marks); a format of "table" is printed
RUNS = [
    pytest.param(["forecast", "{la}", *SMALL_RUN], ("table", "csv", "json", "parquet", "html"), id="forecast"),
    pytest.param(["profile", "{la}"], ("table", "csv", "json", "html"), id="profile"),
    pytest.param(["budget", "{la}", *SMALL_RUN], ("table", "csv", "json", "html", "xlsx"), id="budget", marks=BUDGET),
    pytest.param(
        ["scenario", "run", SCENARIO, "--la", "{la}", *SMALL_RUN],
        ("table", "csv", "json", "html"),
        id="scenario-run",
        marks=MONEY,
    ),
    pytest.param(
        ["scenario", "compare", SCENARIO, SCENARIO, "--la", "{la}", *SMALL_RUN],
        ("table", "csv", "json", "html"),
        id="scenario-compare",
        marks=MONEY,
    ),
]


def _run(words: list[str], la: str, fmt: str, out: Path) -> tuple[int, str, list[Path]]:
    args = [w.replace("{la}", la) for w in words] + ["--format", fmt]
    if fmt != "table":
        args += ["--out", str(out)]
    r = CliRunner().invoke(app, args)
    written = sorted(p for p in out.parent.iterdir() if not p.name.endswith(".meta.json"))
    return r.exit_code, r.output, written


@pytest.mark.parametrize("la", SMALLEST)
@pytest.mark.parametrize(("words", "formats"), RUNS)
def test_no_small_count_in_any_output(words: list[str], formats: tuple[str, ...], la: str, tmp_path: Path) -> None:
    problems: list[str] = []
    for fmt in formats:
        folder = tmp_path / fmt
        folder.mkdir()
        code, output, written = _run(words, la, fmt, folder / f"out.{fmt}")
        assert "Traceback" not in output
        if code == 2 and len(output.strip().splitlines()) == 1:
            continue  # a one-line refusal ("no high-needs data for ...") shows no count
        assert code == 0, output
        if fmt == "table":
            problems += small_count_cells(f"{words[0]} table", text=output)
        for path in written:
            problems += small_count_cells(path)
    assert problems == [], "\n".join(problems[:20])


def test_scanner_reads_every_count_of_the_budget_workbook_and_nothing_else(tmp_path: Path) -> None:
    """The workbook states units in its headers: the scanner takes as counts every plan number
    (the Plan sheet's and the Ranges sheet's plan lines, the plans behind each unit cost) and
    none of the money, shares, weights or growth rates beside them."""
    out = tmp_path / "b.xlsx"
    r = CliRunner().invoke(app, ["budget", "Rutland", *SMALL_RUN, "--out", str(out)])
    assert r.exit_code == 0, r.output
    book = sheets(out)

    def scanned(name: str) -> set[tuple[object, object]]:
        return {(i, c) for i, c, _ in count_cells(book[name])}

    def numeric(df: object, rows: object, cols: list[str]) -> set[tuple[object, object]]:
        import pandas as pd

        assert isinstance(df, pd.DataFrame)
        sub = df.loc[rows, cols]  # type: ignore[index]
        return {(i, c) for i in sub.index for c in cols if isinstance(sub.at[i, c], int | float)}

    units = book["Unit costs"]
    plans_col = "council_plans (plans)"
    assert plans_col in units.columns
    assert scanned("Unit costs") == numeric(units, units.index, [plans_col])
    not_counts = [c for c in units.columns if "(share" in c or "(fraction" in c or "(£" in c]
    assert len(not_counts) == 8  # unit cost, council/national values, 2 weights, 3 growth rates
    plan = book["Plan"]
    plan_rows = plan.index[plan["line"].str.contains("EHC plans", na=False)]
    assert len(plan_rows) == 7
    years = [c for c in plan.columns if c != "line"]
    assert scanned("Plan") == numeric(plan, plan_rows, years) and scanned("Plan")
    ranges = book["Ranges"]
    plan_lines = ranges.index[ranges["line"].str.startswith("plans:")]
    assert scanned("Ranges") == numeric(ranges, plan_lines, ["mean", "p10", "p50", "p90"])
    for name in ("Summary", "Non-placement", "Income", "Assumptions", "Notes"):
        assert scanned(name) == set(), name

"""Text tables never cut a number (at 80 columns or when redirected), and every string written
into HTML is escaped."""

from __future__ import annotations

import io
import re

import pandas as pd
from rich.console import Console

from sendcast.outputs.charts import fan_chart, html_page, line_chart, table_html
from sendcast.outputs.tables import print_wide

WIDE = pd.DataFrame(
    {
        "measure": ["All EHC plans", "Independent and non-maintained special schools"],
        **{str(y): ["576,474 (570,120-583,900)", "<10 (0-<10)"] for y in range(2024, 2031)},
    }
)


def _printed(terminal: bool, width: int = 80) -> str:
    buf = io.StringIO()
    print_wide(WIDE, "England: EHC plans", console=Console(file=buf, width=width, force_terminal=terminal))
    return re.sub(r"\x1b\[[0-9;]*m", "", buf.getvalue())  # colour codes are not characters on screen


def test_numbers_are_never_cut_in_an_80_column_terminal() -> None:
    text = _printed(terminal=True)
    assert "…" not in text
    assert text.count("576,474 (570,120-583,900)") == 7  # every year, whole, on one line
    # the label wraps instead, and the years are split over tables that fit
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "(1 of " in text and "non-maintained" in text


def test_redirected_output_is_printed_at_full_width() -> None:
    text = _printed(terminal=False)
    assert "…" not in text
    assert text.count("576,474 (570,120-583,900)") == 7
    assert "(1 of" not in text  # one table
    assert "Independent and non-maintained special schools" in text  # the label whole


def test_markup_in_cells_is_printed_as_written() -> None:
    buf = io.StringIO()
    df = pd.DataFrame({"measure": ["[bold]x[/bold] [c]"], "2024": ["5"]})
    print_wide(df, "[red]t", console=Console(file=buf, width=80))
    assert "[bold]x[/bold] [c]" in buf.getvalue() and "[red]t" in buf.getvalue()


EVIL = '<script>alert("x")</script>'


def test_every_string_in_html_is_escaped() -> None:
    df = pd.DataFrame(
        {"year": [2024, 2025], "p5": [1.0, 2.0], "p10": [1, 2], "p50": [3, 4], "p90": [5, 6], "p95": [7, 8]}
    )
    page = html_page(
        EVIL,
        [
            (EVIL, fan_chart(df, None, title=EVIL, y_title=EVIL)),
            (
                EVIL,
                line_chart(
                    pd.DataFrame({"x": [1], "y": [2], "k": [EVIL]}), x="x", y="y", colour="k", title=EVIL, y_title=EVIL
                ),
            ),
            ("table", table_html(pd.DataFrame({EVIL: [EVIL]}))),
        ],
    )
    assert EVIL not in page
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page


def test_a_rich_table_built_elsewhere_keeps_its_numbers() -> None:
    from rich.table import Table

    from sendcast.outputs.tables import print_table

    t = Table("source", "release", "period type", "first", "last", "rows")
    t.add_row("send-tribunal-appeal-rates", "2024", "calendar_year", "2014", "2024", "3,240,123")
    buf = io.StringIO()
    print_table(t, Console(file=buf, width=50, force_terminal=True))
    assert "3,240,123" in buf.getvalue() and "…" not in buf.getvalue()

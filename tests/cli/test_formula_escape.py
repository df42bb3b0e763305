"""A text cell that a spreadsheet would run (a scenario named ``=HYPERLINK(...)``) is written
to CSV escaped, by every CSV writer of the CLI."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sendcast.cli_parts.scenario import _emit
from sendcast.outputs.io import frame_bytes

TABLE = pd.DataFrame(
    {"scenario": ['=HYPERLINK("http://x","click")', "@SUM(A1)", "baseline"], "measure": "ehcp_total", "mean": -3.5}
)


def test_scenario_csv_escapes_formulas(tmp_path: Path) -> None:
    out = tmp_path / "cmp.csv"
    _emit(TABLE, "csv", out)
    cells = pd.read_csv(out)["scenario"].tolist()
    assert cells == ['\'=HYPERLINK("http://x","click")', "'@SUM(A1)", "baseline"]
    assert pd.read_csv(out)["mean"].tolist() == [-3.5] * 3  # numbers stay numbers


def test_frame_csv_escapes_formulas() -> None:
    import io

    cells = pd.read_csv(io.BytesIO(frame_bytes(TABLE, "csv")))["scenario"].tolist()
    assert [c[:2] for c in cells] == ["'=", "'@", "ba"]

"""Hand-checkable tests of the shared importer machinery."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from sendcast.ingest.common import (
    IngestError,
    finish,
    parse_cell,
    read_published_csv,
)
from sendcast.ingest.sen2 import melt_wide


@pytest.mark.parametrize(
    ("raw", "value", "reason"),
    [
        ("1,234", 1234.0, None),
        (" 12.5 ", 12.5, None),
        ("57.9%", 57.9, None),
        ("x", math.nan, "not available"),
        ("c", math.nan, "confidential (suppressed)"),
        ("..", math.nan, "not available"),
        ("~", math.nan, "suppressed (small number)"),
        ("low", math.nan, "fewer than 0.5 (rounded)"),
        ("", math.nan, "blank in source"),
        ("z", math.nan, "not applicable"),
    ],
)
def test_parse_cell_markers_are_missing_never_zero(raw: str, value: float, reason: str | None) -> None:
    cell = parse_cell(raw, file="f.csv", line=3, field="ehcplans")
    if math.isnan(value):
        assert math.isnan(cell.value)
    else:
        assert cell.value == value
    assert cell.missing_reason == reason


def test_unknown_marker_names_file_line_field() -> None:
    with pytest.raises(IngestError, match=r"f\.csv, line 7, field 'ehcplans'"):
        parse_cell("banana", file="f.csv", line=7, field="ehcplans")


def test_truncated_csv_names_line(tmp_path: Path) -> None:
    p = tmp_path / "caseload.csv"
    p.write_text("\ufefftime_period,la_name,ehcplans\n2024,Norfolk,10736\n2024,Suffolk\n")
    with pytest.raises(IngestError, match=r"caseload\.csv, line 3"):
        read_published_csv(p, required=["time_period", "ehcplans"])


def test_missing_column_is_named(tmp_path: Path) -> None:
    p = tmp_path / "caseload.csv"
    p.write_text("time_period,la_name,ehc_plans_renamed\n2024,Norfolk,10736\n")
    with pytest.raises(IngestError, match="missing column.*ehcplans"):
        read_published_csv(p, required=["time_period", "ehcplans"])


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "caseload.csv"
    p.write_text("")
    with pytest.raises(IngestError, match="empty"):
        read_published_csv(p, required=["time_period"])


CASELOAD = {"ehcplans": ("ehcp_caseload", "total", "total", "plans")}


def _tiny(lines: list[int], years: list[int]) -> pd.DataFrame:
    """Norfolk's published caseload on ``lines`` of caseload.csv: 10736, then suppressed."""
    return pd.DataFrame(
        {
            "la_code": ["E10000020"] * len(lines),
            "old_la_code": ["926"] * len(lines),
            "la_name": ["Norfolk"] * len(lines),
            "geographic_level": ["la"] * len(lines),
            "period_type": ["january"] * len(lines),
            "year": years,
            "period": [f"{y}-01" for y in years],
            "ehcplans": ["10736", "c"][: len(lines)],
            "_line": lines,
        }
    )


def test_melt_and_finish_round_trip() -> None:
    tidy = melt_wide(_tiny([2, 3], [2024, 2023]), file="caseload.csv", spec=CASELOAD)
    out = finish(tidy, source="ehcp-statistics", release="2025", file="caseload.csv")
    assert out.loc[0, "value"] == 10736.0
    assert math.isnan(out.loc[1, "value"]) and out.loc[1, "missing_reason"].startswith("confidential")
    assert list(out["line"]) == [2, 3]


def test_duplicated_period_is_an_error() -> None:
    tidy = melt_wide(_tiny([2, 3], [2024, 2024]), file="caseload.csv", spec=CASELOAD)
    with pytest.raises(IngestError, match="duplicated period"):
        finish(tidy, source="ehcp-statistics", release="2025", file="caseload.csv")

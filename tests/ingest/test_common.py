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


# --------------------------------------------------------------------------- issue 11: ranges


def _tidy(value: float, *, unit: str = "plans", measure: str = "ehcp_caseload") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "la_code": "E10000020",
                "la_name": "Norfolk",
                "geographic_level": "la",
                "measure": measure,
                "breakdown_topic": "total",
                "breakdown": "total",
                "period_type": "january",
                "year": 2024,
                "period": "2024-01",
                "value": value,
                "missing_reason": None,
                "unit": unit,
                "line": 5,
            }
        ]
    )


@pytest.mark.parametrize(
    ("value", "unit", "why"),
    [
        (-3.0, "plans", "is negative"),
        (12.5, "plans", "is not a whole number"),
        (1e300, "plans", "beyond any plausible value"),
        (math.inf, "plans", "not a finite number"),
        (2e8, "persons", "above any English count"),
        (-1.0, "persons", "is negative"),
        (math.inf, "gbp", "not a finite number"),
        (1e15, "gbp", "beyond any plausible value"),
        (0.5, "requests", "is not a whole number"),
    ],
)
def test_impossible_values_are_refused_with_line_and_field(value: float, unit: str, why: str) -> None:
    with pytest.raises(IngestError, match=why) as exc:
        finish(_tidy(value, unit=unit), source="s", release="1", file="f.csv")
    assert exc.value.line == 5 and exc.value.field == "ehcp_caseload" and "f.csv" in str(exc.value)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(
    ("value", "unit", "measure"),
    [
        (0.0, "plans", "ehcp_caseload"),
        (576474.0, "plans", "ehcp_caseload"),
        (-182432.62, "gbp", "s251_outturn"),  # money can be negative (a net line)
        (-21.7, "score", "progress_8"),
        (4642.07, "persons", "population_projection"),  # ONS projections have decimals
        (57.9, "percent", "ehcp_caseload_pct"),
    ],
)
def test_possible_values_pass(value: float, unit: str, measure: str) -> None:
    out = finish(_tidy(value, unit=unit, measure=measure), source="s", release="1", file="f.csv")
    assert out["value"].iloc[0] == value


@pytest.mark.parametrize(("raw", "unit"), [("45%", "plans"), ("£12", "plans"), ("£3", "persons"), ("7%", "gbp")])
def test_signs_that_contradict_the_unit_are_refused(raw: str, unit: str) -> None:
    with pytest.raises(IngestError, match="sign but the column holds"):
        parse_cell(raw, file="f.csv", line=4, field="ehcplans", unit=unit)
    df = pd.DataFrame({"ehcplans": ["10", raw], "_line": [2, 4]})
    from sendcast.ingest.sen2 import parse_values

    with pytest.raises(IngestError, match=r"line 4, field 'ehcplans'"):
        parse_values(df["ehcplans"], file="f.csv", lines=df["_line"], field="ehcplans", unit=unit)


def test_signs_matching_the_unit_pass() -> None:
    assert parse_cell("45%", file="f.csv", line=4, field="p", unit="percent").value == 45.0
    assert parse_cell("£1,200", file="f.csv", line=4, field="p", unit="gbp").value == 1200.0


def test_header_longer_than_the_csv_field_limit_is_one_line(tmp_path: Path) -> None:
    p = tmp_path / "caseload.csv"
    p.write_text('"' + "a" * 140_000 + '",ehcplans\n1,2\n')
    with pytest.raises(IngestError, match=r"caseload\.csv, line 1: malformed CSV header"):
        read_published_csv(p, required=["ehcplans"])


def test_utf16_file_is_named(tmp_path: Path) -> None:
    p = tmp_path / "caseload.csv"
    p.write_text("time_period,ehcplans\n2024,1\n", encoding="utf-16")
    with pytest.raises(IngestError, match=r"caseload\.csv, line 1: file is UTF-16"):
        read_published_csv(p, required=["ehcplans"])


def test_period_label_must_match_its_year() -> None:
    bad = _tidy(10.0).assign(period="2023-01")  # January 2024 labelled as January 2023
    with pytest.raises(IngestError, match="period '2023-01' does not match january 2024") as exc:
        finish(bad, source="s", release="1", file="f.csv")
    assert exc.value.line == 5 and exc.value.field == "period"

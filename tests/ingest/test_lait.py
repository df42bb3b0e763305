"""Tests for the LAIT SEND/attainment/finance importer."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from ingest_fixtures import FIXTURES, copy_fixture, rewrite

from sendcast.ingest import lait
from sendcast.ingest.common import IngestError


@pytest.mark.parametrize(
    ("label", "year_type", "expected"),
    [
        ("2024-25 (OT)", "Financial Year", ("financial_year", 2024, "2024-25")),
        ("2024", "Academic Year", ("academic_year", 2023, "2023-24")),
        ("2023/24", "Academic Year", ("academic_year", 2023, "2023-24")),
        ("2023", "Calendar Year", ("calendar_year", 2023, "2023")),
        ("2024", "Annual - January", ("january", 2024, "2024-01")),
        ("2024", "Financial Year", ("financial_year", 2023, "2023-24")),
    ],
)
def test_year_labels(label: str, year_type: str, expected: tuple[str, int, str]) -> None:
    assert lait.parse_year(label, year_type, file=Path("f.csv"), line=2) == expected


def test_fixture_lait() -> None:
    res = lait.load(FIXTURES / "dfe-lait")
    o = res.observations
    nf = o[o["la_code"] == "E10000020"].set_index("measure")
    assert nf.loc["pct_pupils_ehcp", "value"] == 5.6
    assert nf.loc["s251_sen_unit_cost", "unit"] == "gbp_per_week"
    assert pd.isna(nf.loc["plans_within_20_weeks_pct", "value"])  # 'x' kept as missing, not 0
    assert nf.loc["plans_within_20_weeks_pct", "missing_reason"] == "not available"
    london = o[o["la_code"] == "E13000001"].iloc[0]
    assert london["geographic_level"] == "regional" and pd.isna(london["value"])
    assert set(res.tables["lait_measures"]["measure_code"]) == {
        "SEN_TotStat",
        "SENFinance",
        "SEN_EHC_All_20wks",
    }


def test_real_lait(raw_dir: Path) -> None:
    res = lait.load(raw_dir / "dfe-lait")
    o = res.observations
    assert len(res.tables["lait_measures"]) == 87
    for m in [
        "pct_pupils_ehcp",
        "pct_pupils_sen_support",
        "ks4_attainment8_ehcp",
        "ks4_attainment8_sen_support",
        "ks4_attainment8_no_sen",
        "ks4_progress8_ehcp",
        "ks4_progress8_sen_support",
        "ks4_progress8_no_sen",
        "s251_sen_unit_cost",
    ]:
        assert m in set(o["measure"]), m
    assert not o["la_code"].str.startswith("DFE_").any()
    nf = o[(o["la_code"] == "E10000020")]
    cost = nf[(nf["measure"] == "s251_sen_unit_cost") & (nf["year"] == 2024)].iloc[0]
    assert (cost["period_type"], cost["period"], cost["value"]) == (
        "financial_year",
        "2024-25",
        150.0,
    )
    ehcp = nf[(nf["measure"] == "pct_pupils_ehcp") & (nf["period"] == "2023-24")].iloc[0]
    assert ehcp["value"] == 5.6
    assert (o["la_code"] == "E92000001").any()


@pytest.mark.parametrize(
    ("old", "new", "field", "line"),
    [
        ("East of England,5.6", "East of England,5,6x", None, 2),  # extra field -> malformed row
        ("Norfolk,926.0,East of England,150", "Norfolk,926.0,East of England,lots", "value", 5),
        ("SEN_TotStat,2024,Norfolk", "SEN_TotStat,24,Norfolk", "year_label", 2),
        ("SENFinance,2024-25 (OT),Norfolk", "SENFinanceX,2024-25 (OT),Norfolk", "measure_code", 5),
        ("measure_code,year_label", "code,year_label", "measure_code", 1),
    ],
)
def test_malformed_lait(tmp_path: Path, old: str, new: str, field: str | None, line: int) -> None:
    folder = copy_fixture("dfe-lait", tmp_path)
    rewrite(folder / lait.FILE, old, new)
    with pytest.raises(IngestError) as exc:
        lait.load(folder)
    assert (exc.value.field, exc.value.line) == (field, line)
    assert lait.FILE in str(exc.value)

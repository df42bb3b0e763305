"""SEND and AP inclusion dashboard importer: synthetic tables and the real prepared CSVs."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sendcast.ingest import dashboard
from sendcast.ingest.common import IngestError

FIXTURES = Path(__file__).parent / "fixtures" / "finance"
PCT = "DSG cumulative balance as a % of the total income"
DEFICIT = (
    f"time_period,geographic_level,region_name,la_name,deficit,{PCT},financial_year\n"
    "202122,National,England,,2.26,-2.26,2021-22\n"
    "202122,Regional,East of England,,1.5,-1.5,2021-22\n"
    "202122,Local authority,East of England,Norfolk,7.76,-7.76,2021-22\n"
    "202122,Local authority,North West,Bury,-0.5,0.5,2021-22\n"
)
SPEND = (
    "la_name,category,year,Spend per head,pop_est,total_spend,region\n"
    "Norfolk,State,2021-22,100.0,1000,100000,East of England\n"
    "Norfolk,Independent or non-maintained,2021-22,50.0,1000,50000,East of England\n"
    "Norfolk,Total,2021-22,150.0,1000,150000,East of England\n"
    "Bury,Total,2021-22,,,,North West\n"
)
KS2 = (
    "time_period,geographic_level,region_name,la_name,characteristic,"
    "pt_rwm_met_expected_standard,t_rwm_met_expected_standard,t_rwm_eligible_pupils,"
    "Percent meeting expected standard,academic_year\n"
    "202223,Local authority,North West,Bury,EHC plan,c,c,c,,2022/23\n"
    "202223,Regional,Inner London,,EHC plan,9,10,100,10,2022/23\n"
)


def release(tmp_path: Path, files: dict[str, str]) -> Path:
    shutil.copytree(FIXTURES / "la-lookups", tmp_path / "la-lookups")
    folder = tmp_path / "send-ap-inclusion-dashboard"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_synthetic_deficit_sign_spend_and_suppression(tmp_path: Path) -> None:
    folder = release(tmp_path, {"dsg_deficit.csv": DEFICIT, "specialist_spend.csv": SPEND, "ks2_attainment.csv": KS2})
    assert dashboard.detect(folder)
    o = dashboard.load(folder).observations
    d = o[o["measure"] == "dsg_cumulative_balance_pct_income"].set_index("la_name")
    assert d.loc["Norfolk", "value"] == 7.76  # positive = deficit
    assert d.loc["Bury", "value"] == -0.5  # a surplus
    assert d.loc["England", "la_code"] == "E92000001"
    assert d.loc["East of England", "la_code"] == "E12000006"
    assert (d["year"] == 2021).all() and (d["period"] == "2021-22").all()
    s = o[o["measure"] == "specialist_spend_total"].set_index(["la_name", "breakdown"])["value"]
    # state 100,000 + independent 50,000 = total 150,000
    assert s[("Norfolk", "state")] + s[("Norfolk", "independent_non_maintained")] == 150_000
    pop = o[o["measure"] == "population_2_18"]
    assert len(pop[pop["la_name"] == "Norfolk"]) == 1  # repeated on 3 rows, kept once
    bury = o[(o["la_name"] == "Bury") & (o["measure"] == "dashboard_ks2_rwm_expected_pct")]
    assert math.isnan(bury["value"].iloc[0])
    assert bury["missing_reason"].iloc[0] == "confidential (suppressed)"
    assert "Inner London" not in set(o["la_name"])


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        (DEFICIT.replace("Bury", "Gotham"), 5, "la_name"),
        (DEFICIT.replace("7.76,-7.76", "7.76,-1.00"), 4, "deficit"),  # sign convention broken
        (DEFICIT.replace("1.5,-1.5", "lots,-1.5"), 3, "deficit"),
        (DEFICIT.replace(f",deficit,{PCT}", f",deficit_pct,{PCT}"), 1, "deficit"),
        (DEFICIT.replace("Local authority,North West", "Ward,North West"), 5, "geographic_level"),
        (DEFICIT.rsplit(",", 3)[0], 5, None),  # truncated last line
    ],
)
def test_malformed_deficit(tmp_path: Path, text: str, line: int, field: str | None) -> None:
    folder = release(tmp_path, {"dsg_deficit.csv": text, "specialist_spend.csv": SPEND})
    with pytest.raises(IngestError) as exc:
        dashboard.load(folder)
    assert exc.value.file.endswith("dsg_deficit.csv")
    assert (exc.value.line, exc.value.field) == (line, field)


def test_empty_file(tmp_path: Path) -> None:
    folder = release(tmp_path, {"dsg_deficit.csv": "", "specialist_spend.csv": SPEND})
    with pytest.raises(IngestError, match="empty"):
        dashboard.load(folder)


# ---- real files ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(raw_dir: Path) -> dashboard.ImportResult:
    return dashboard.load(raw_dir / "send-ap-inclusion-dashboard")


def _one(o: pd.DataFrame, **where: object) -> pd.Series:
    sel = o
    for k, v in where.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, where
    return sel.iloc[0]


def test_real_norfolk_figures(real: dashboard.ImportResult) -> None:
    o = real.observations
    # independent/NMSS top-up outturn 2021-22 = the benchmarking figure 41,452,473
    row = _one(
        o, la_code="E10000020", measure="specialist_spend_total", breakdown="independent_non_maintained", year=2021
    )
    assert row["value"] == 41_452_473
    row = _one(o, la_code="E10000020", measure="dsg_cumulative_balance_pct_income", year=2021)
    assert row["value"] == 7.76 and row["unit"] == "percent"


def test_real_every_file_and_table(real: dashboard.ImportResult) -> None:
    o = real.observations
    assert set(o["file"]) == set(dashboard.OBSERVATION_FILES)
    assert not o.groupby("file")["value"].apply(lambda v: v.isna().all()).any()
    assert (o.loc[o["value"].isna(), "missing_reason"].notna()).all()
    t = real.tables["area_send_inspections"]
    assert len(t) == 153 and t["la_code"].str.match(r"^E\d{8}$").all()
    age = o[(o["measure"] == "dashboard_ehcp_caseload") & (o["la_code"] == "E92000001") & (o["year"] == 2023)]
    assert set(age["breakdown"]) == {"under_5", "5_10", "11_15", "16_19", "20_25"}

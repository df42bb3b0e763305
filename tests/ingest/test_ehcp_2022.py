"""EHCP 2022 (aggregate SEN2) importer."""

from __future__ import annotations

from pathlib import Path

import pytest

from sendcast.ingest import ehcp_2022
from sendcast.ingest.common import IngestError

HEAD = (
    "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,"
    "old_la_code,new_la_code,la_name,characteristic_age,Total_st,Total_st_pc,Total_ehc,Total_ehc_pc,"
    "Total_all,Total_all_pc\n"
)
ROWS = [
    "2010,Calendar year,Local authority,E92000001,England,E12000006,East of England,926,E10000020,Norfolk,"
    "Total,4877,100,z,z,4877,100\n",
    "2010,Calendar year,Local authority,E92000001,England,E12000006,East of England,926,E10000020,Norfolk,"
    "Under 5,140,2.87,z,z,140,2.87\n",
]


def test_synthetic_age_caseload(tmp_path: Path) -> None:
    p = tmp_path / "sen2_age_caseload.csv"
    p.write_text(HEAD + "".join(ROWS))
    obs, _ = ehcp_2022.load_file(p)
    tot = obs[(obs["measure"] == "ehcp_caseload") & (obs["breakdown_topic"] == "total")]
    assert tot["value"].tolist() == [4877.0] and tot["period"].iloc[0] == "2010-01"
    band = obs[(obs["breakdown_topic"] == "age_band") & (obs["measure"] == "ehcp_caseload")]
    assert band["breakdown"].tolist() == ["under_5"]
    ehc = obs[obs["breakdown_topic"] == "plan_type"]
    assert ehc["value"].isna().any() and "not applicable" in set(ehc["missing_reason"])


def test_unknown_age_group(tmp_path: Path) -> None:
    p = tmp_path / "sen2_age_caseload.csv"
    p.write_text(HEAD + ROWS[0] + ROWS[1].replace("Under 5", "Age 0 to 4"))
    with pytest.raises(IngestError) as exc:
        ehcp_2022.load_file(p)
    assert exc.value.line == 3 and exc.value.field == "characteristic_age"


def test_real_release(raw_dir: Path) -> None:
    res = ehcp_2022.load(raw_dir / "ehcp-statistics-2022")
    obs = res.observations
    tot = obs[(obs["measure"] == "ehcp_caseload") & (obs["breakdown_topic"] == "total")]
    v = tot.set_index(["la_code", "year"])["value"]
    assert v[("E10000020", 2010)] == 4877  # Norfolk January 2010 (statements + plans)
    assert v[("E10000020", 2022)] == 8671
    req = obs[(obs["measure"] == "requests") & (obs["la_code"] == "E92000001")]
    assert req.set_index("year")["value"][2021] == 93302
    est = obs[obs["breakdown_topic"] == "establishment"]
    assert "special_independent|special_school" in set(est["breakdown"])

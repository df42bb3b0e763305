"""Harmonised EHCP series and reconciliation: hand-checked synthetic cases and the real releases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sendcast.harmonise.ehcp import ESTABLISHMENT_GROUPS, GROUPS, HarmoniseError, ehcp_series, reconcile


def obs_row(
    measure: str,
    topic: str,
    bd: str,
    value: float,
    *,
    year: int = 2024,
    release: str = "2025",
    la: str = "E10000020",
    level: str = "la",
    reason: str | None = None,
) -> dict[str, object]:
    return {
        "la_code": la,
        "la_name": "X",
        "geographic_level": level,
        "measure": measure,
        "breakdown_topic": topic,
        "breakdown": bd,
        "period_type": "january",
        "year": year,
        "value": value,
        "missing_reason": reason,
        "unit": "plans",
        "source": "ehcp-statistics",
        "release": release,
    }


def test_placement_groups_partition_total() -> None:
    # 100 plans: 40 mainstream (30 LA + 10 academy), 5 RP, 20 state special, 10 independent,
    # 5 AP, 15 FE -> other = 100 - 95 = 5
    rows = [obs_row("ehcp_caseload", "total", "total", 100)]
    for col, v in [
        ("mainstream_la_maintained", 30),
        ("mainstream_academy", 10),
        ("mainstream_free_school", 0),
        ("mainstream_independent", 0),
        ("mainstream_academy_resourced_provision", 5),
        ("special_la_maintained", 20),
        ("special_academy_free", 0),
        ("special_independent", 10),
        ("special_non_maintained", 0),
        ("ap_pru_total", 5),
        ("fe_total", 15),
    ]:
        rows.append(obs_row("ehcp_caseload", "placement", col, v))
    s = ehcp_series(pd.DataFrame(rows)).set_index("measure")["value"]
    assert s["mainstream"] == 40 and s["resourced_provision"] == 5 and s["other"] == 5
    assert s["state_special"] == 20 and s["independent_special"] == 10 and s["post16_fe"] == 15


def test_suppressed_component_is_nan_not_zero() -> None:
    rows = [
        obs_row("ehcp_caseload", "total", "total", 100),
        obs_row("ehcp_caseload", "placement", "special_independent", np.nan, reason="not available"),
        obs_row("ehcp_caseload", "placement", "special_non_maintained", 3),
    ]
    s = ehcp_series(pd.DataFrame(rows)).set_index("measure")["value"]
    assert np.isnan(s["independent_special"]) and np.isnan(s["other"])


def test_establishment_groups_2022() -> None:
    # 2010: 50 LA mainstream + 5 SEN unit + 30 LA special + 'z' free school (not applicable = 0)
    rows = [obs_row("ehcp_caseload", "total", "total", 90, year=2010, release="2022")]
    for bd, v, r in [
        ("mainstream_la_maintained|mainstream_school", 50, None),
        ("mainstream_la_maintained_sen_unit|mainstream_school", 5, None),
        ("special_la_maintained|special_school", 30, None),
        ("special_free_school|special_school", np.nan, "not applicable"),
        ("total|special_school", 30, None),
    ]:
        rows.append(obs_row("ehcp_caseload", "establishment", bd, v, year=2010, release="2022", reason=r))
    s = ehcp_series(pd.DataFrame(rows)).set_index("measure")["value"]
    assert s["mainstream"] == 50 and s["resourced_provision"] == 5 and s["state_special"] == 30
    assert s["post16_fe"] == 0 and s["other"] == 5  # 90 - 85


def test_unknown_establishment_type_fails() -> None:
    rows = [
        obs_row("ehcp_caseload", "total", "total", 9, year=2010, release="2022"),
        obs_row("ehcp_caseload", "establishment", "space_school|other", 9, year=2010, release="2022"),
    ]
    with pytest.raises(HarmoniseError, match="space_school"):
        ehcp_series(pd.DataFrame(rows))


def test_age_bands_from_single_ages() -> None:
    # under_3 (2) + 3 (1) + 4 (4) = 7 in age_0_4
    rows = [obs_row("ehcp_caseload", "total", "total", 10)]
    rows += [obs_row("ehcp_caseload", "age", a, v) for a, v in [("under_3", 2), ("3", 1), ("4", 4), ("5", 3)]]
    s = ehcp_series(pd.DataFrame(rows)).set_index("measure")["value"]
    assert s["age_0_4"] == 7 and s["age_5_10"] == 3 and s["age_3"] == 1


def test_reconcile_reports_difference() -> None:
    rows = [
        obs_row("ehcp_caseload", "total", "total", 100, la="E92000001", level="national"),
        obs_row("ehcp_caseload", "total", "total", 60, la="E1"),
        obs_row("ehcp_caseload", "total", "total", 38, la="E2"),
    ]
    r = reconcile(pd.DataFrame(rows))
    assert r["difference"].tolist() == [-2.0]


@pytest.fixture(scope="module")
def real(raw_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sendcast.ingest import ehcp_2022, ehcp_2025, tribunals
    from sendcast.ingest.common import KEY_COLUMNS

    a = ehcp_2022.load(raw_dir / "ehcp-statistics-2022")
    b = ehcp_2025.load(raw_dir / "ehcp-statistics-2025-partial")
    c = tribunals.load(raw_dir / "ehcp-statistics-2025-partial")
    obs = pd.concat([a.observations, b.observations, c.observations], ignore_index=True)
    keys = [k for k in KEY_COLUMNS if k != "la_name"]
    obs = obs.sort_values("release", kind="stable").drop_duplicates(keys, keep="last")
    lr = pd.concat([a.tables["la_region"], b.tables["la_region"]], ignore_index=True)
    return obs, lr


def test_real_series(real: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    obs, _ = real
    est = obs[obs["breakdown_topic"] == "establishment"]["breakdown"].str.split("|").str[0]
    assert set(est) - {"total"} <= set(ESTABLISHMENT_GROUPS)  # coverage of the mapping
    s = ehcp_series(obs)
    nor = s[s["la_code"] == "E10000020"].pivot_table(index="year", columns="measure", values="value")
    assert nor.loc[2010, "ehcp_total"] == 4877 and nor.loc[2024, "ehcp_total"] == 10736
    groups = list(GROUPS)
    assert (nor.loc[2010:2024, groups].sum(axis=1) == nor.loc[2010:2024, "ehcp_total"]).all()
    assert (nor.loc[2010:2024, groups] >= 0).all().all()
    assert nor.loc[2023, "tribunal_appeal_rate"] == 3.2


def test_real_reconcile(real: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    obs, lr = real
    r = reconcile(obs, lr)
    case = r[(r["measure"] == "ehcp_caseload")]
    assert (case["difference"].abs() <= 0).all()  # caseload adds up exactly, nationally and by region
    full = r[(r["las_missing"] == 0) & r["published"].notna()]
    rel = full["difference"].abs() / full["published"].clip(lower=1)
    assert (rel < 0.02).mean() > 0.95  # small differences, reported per measure/year

"""Synthetic observations and placement draws for the money tests (no real data needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sendcast.ingest.common import OBSERVATION_COLUMNS
from sendcast.parameters import PLACEMENT_GROUPS

BENCH_FILE = "high_needs_benchmarking_2021-22_by_la.csv"

# Norfolk's 2021-22 s251 outturn (£) and January 2021 EHCP placements, as in the benchmarking
# data; used only as realistic synthetic input.
NORFOLK_OUTTURN = {
    "place_funding_total": 13225501.0,
    "place_early_years": 0.0,
    "place_primary": 1270000.0,
    "place_secondary": 0.0,
    "place_special": 13225501.0,
    "place_pru_ap": 0.0,
    "place_post_school": 0.0,
    "topup_maintained_early_years": 0.0,
    "topup_maintained_primary": 10667295.0,
    "topup_maintained_secondary": 6678816.0,
    "topup_maintained_special": 24462383.0,
    "topup_maintained_pru_ap": 5489851.0,
    "topup_maintained_post_school": 3956013.0,
    "topup_nmss_independent_early_years": 0.0,
    "topup_nmss_independent_primary": 0.0,
    "topup_nmss_independent_secondary": 0.0,
    "topup_nmss_independent_special": 41452473.0,
    "topup_nmss_independent_pru_ap": 0.0,
    "topup_nmss_independent_post_school": 0.0,
    "sen_support_inclusion_services": 5682543.0,
    "alternative_provision_services": 2246298.0,
    "hospital_education_services": 25000.0,
    "therapies_health_services": 350526.0,
}
NORFOLK_PLACED = {
    "mainstream": 2131.0,
    "resourced_provision_sen_unit": 130.0,
    "maintained_special": 1667.0,
    "nmss_independent": 782.0,
    "hospital_ap": 201.0,
    "post16": 2159.0,
    "other": 683.0,
}


def obs_row(
    measure: str,
    topic: str,
    breakdown: str,
    period_type: str,
    year: int,
    value: float,
    unit: str = "gbp",
    source: str = "test",
    line: int = 2,
    la_code: str = "E10000020",
    old: str = "926",
) -> dict[str, object]:
    """One tidy observation row for the test council."""
    return {
        "la_code": la_code,
        "old_la_code": old,
        "la_name": "Norfolk",
        "geographic_level": "la",
        "measure": measure,
        "breakdown_topic": topic,
        "breakdown": breakdown,
        "period_type": period_type,
        "year": year,
        "period": str(year),
        "value": value,
        "missing_reason": None,
        "unit": unit,
        "source": source,
        "release": "test",
        "file": BENCH_FILE,
        "line": line,
    }


def synthetic_observations(hnb: dict[int, float] | None = None, drop_lines: tuple[str, ...] = ()) -> pd.DataFrame:
    """Tidy observations: Norfolk-like s251 outturn, placements, HNB and schools block."""
    rows = [
        obs_row("s251_outturn", "line", k, "financial_year", 2021, v, line=18)
        for k, v in NORFOLK_OUTTURN.items()
        if k not in drop_lines
    ]
    rows += [
        obs_row("ehcp_placed", "placement", k, "january", 2021, v, unit="plans", line=18)
        for k, v in NORFOLK_PLACED.items()
    ]
    hnb = hnb if hnb is not None else {2022: 120587891.0, 2023: 135212119.0}
    rows += [
        obs_row(
            "high_needs_block",
            "stage",
            "before_deductions",
            "financial_year",
            y,
            v,
            source="dsg-allocations",
            line=100 + y - 2019,
        )
        for y, v in hnb.items()
    ]
    rows += [
        obs_row(
            "schools_block",
            "stage",
            "before_recoupment",
            "financial_year",
            2023,
            601033127.0,
            source="dsg-allocations",
            line=700,
        )
    ]
    return pd.DataFrame(rows, columns=OBSERVATION_COLUMNS)


def synthetic_draws(
    years: list[int], n_draws: int = 4, seed: int = 1, base: dict[str, float] | None = None, growth: float = 0.05
) -> pd.DataFrame:
    """Placement draws: base plans per group growing by ``growth`` a year, with noise."""
    rng = np.random.default_rng(seed)
    base = base or {
        "mainstream": 2500,
        "resourced_provision": 150,
        "state_special": 1900,
        "independent_special": 900,
        "ap_pru": 200,
        "post16_fe": 2400,
        "other": 700,
    }
    recs = []
    for d in range(n_draws):
        for i, y in enumerate(years):
            for g in PLACEMENT_GROUPS:
                plans = base[g] * (1 + growth) ** i * rng.uniform(0.95, 1.05)
                recs.append(("E10000020", "Norfolk", y, d, g, plans))
    return pd.DataFrame(recs, columns=["la_code", "la_name", "year", "draw", "placement", "plans"])

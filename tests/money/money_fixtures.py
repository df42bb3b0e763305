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


# Synthetic specialist spend series (state, independent/non-maintained top-ups), 2018-19 to
# 2021-22; 2021-22 equals the s251 lines above (state = topup_maintained_special +
# topup_maintained_pru_ap = 29,952,234; independent = topup_nmss_independent_special).
SPECIALIST = {
    "state": {2018: 21226420.0, 2019: 22932710.0, 2020: 24463110.0, 2021: 29952234.0},
    "independent_non_maintained": {2018: 25603530.0, 2019: 30515300.0, 2020: 33988020.0, 2021: 41452473.0},
}
# January caseloads by placement group (the forecast's series), 2018-2023.
JANUARIES = {
    "mainstream": [2009, 2172, 2068, 2561, 2585, 2838],
    "resourced_provision": [109, 92, 108, 130, 147, 214],
    "state_special": [1411, 1529, 1596, 1676, 1828, 1907],
    "independent_special": [253, 314, 320, 352, 666, 706],
    "ap_pru": [110, 141, 155, 192, 178, 180],
    "post16_fe": [1176, 1379, 1932, 2159, 2412, 1678],
    "other": [434, 525, 510, 683, 855, 1212],
}
HNB_AFTER = {2019: 70128410.0, 2020: 81360950.0, 2021: 91204080.0, 2022: 106135400.0, 2023: 118884300.0}
TOTAL_DSG = {2019: 609654411.0, 2020: 646044145.0, 2021: 696652547.0, 2022: 737777622.0, 2023: 787655151.0}
DEFICIT_PCT = {2019: 3.23, 2020: 4.91, 2021: 7.76}  # published 'deficit' (positive = deficit)


def synthetic_money_observations(la_code: str = "E10000020") -> pd.DataFrame:
    """Finance rows for one council: s251 2021-22, specialist series, HNB after deductions,
    schools block, total DSG and the DSG balance % (positive = deficit)."""
    obs = synthetic_observations()
    rows = obs.to_dict("records")
    for topic, series in SPECIALIST.items():
        rows += [
            obs_row("specialist_spend_total", "provider", topic, "financial_year", y, v, source="send-ap-dashboard")
            for y, v in series.items()
        ]
    rows += [
        obs_row("high_needs_block", "stage", "after_deductions", "financial_year", y, v, source="dsg-allocations")
        for y, v in HNB_AFTER.items()
    ]
    rows += [
        obs_row("total_dsg", "stage", "before_recoupment", "financial_year", y, v, source="dsg-allocations")
        for y, v in TOTAL_DSG.items()
    ]
    rows += [
        obs_row("dsg_cumulative_balance_pct_income", "total", "total", "financial_year", y, v, unit="percent")
        for y, v in DEFICIT_PCT.items()
    ]
    out = pd.DataFrame(rows, columns=OBSERVATION_COLUMNS)
    out["la_code"] = la_code
    return out


def synthetic_series(la_code: str = "E10000020") -> pd.DataFrame:
    """The model series' January placement rows for one council, 2018-2023."""
    recs = [
        (la_code, "Norfolk", 2018 + i, "january", g, float(v), "test", "published")
        for g, vals in JANUARIES.items()
        for i, v in enumerate(vals)
    ]
    return pd.DataFrame(
        recs, columns=["la_code", "la_name", "year", "period_type", "measure", "value", "source_release", "continuity"]
    )


def synthetic_inputs(la_code: str = "E10000020", balances: pd.DataFrame | None = None) -> object:
    """:class:`sendcast.money.budget.MoneyInputs` built from the synthetic tables above."""
    from sendcast.money.balances import combine, dsg_balances
    from sendcast.money.budget import MoneyInputs
    from sendcast.money.unit_costs import fy_plans
    from sendcast.parameters import load_parameters

    obs = synthetic_money_observations(la_code)
    series = synthetic_series(la_code)
    jan = series.rename(columns={"measure": "placement", "value": "plans"})[["la_code", "year", "placement", "plans"]]
    councils = pd.DataFrame({"la_code": [la_code], "old_la_code": ["926"], "la_name": ["Norfolk"]})
    bal = dsg_balances(obs)
    if balances is not None:
        bal = combine(bal, balances)
    return MoneyInputs(
        observations=obs,
        januaries=jan,
        plans=fy_plans(series),
        balances=bal,
        councils=councils,
        safety_valve=pd.DataFrame({"la_code": [la_code], "agreement_period": ["2022-23"]}),
        params=load_parameters(),
    )

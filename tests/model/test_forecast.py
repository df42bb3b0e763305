"""Forecast runs on synthetic councils: reproducibility, shape, sanity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sendcast.model.forecast import MEASURES, run_forecast
from sendcast.model.history import histories_from_tables, project_population
from sendcast.model.stockflow import ipf
from sendcast.model.structure import GROUPS
from sendcast.model.synthetic import synthetic_histories, synthetic_tables


@pytest.fixture(scope="module")
def histories() -> dict:
    return synthetic_histories(5)


def test_same_seed_same_output_different_seed_differs(histories: dict) -> None:
    a = run_forecast(histories, horizon=3, draws=200, seed=7).summary
    b = run_forecast(histories, horizon=3, draws=200, seed=7).summary
    c = run_forecast(histories, horizon=3, draws=200, seed=8).summary
    pd.testing.assert_frame_equal(a, b)
    assert not a["mean"].equals(c["mean"])


def test_one_council_gets_the_same_draws_alone_or_with_others(histories: dict) -> None:
    code = sorted(histories)[1]
    alone = run_forecast(histories, horizon=2, draws=100, seed=3, la_codes=[code]).summary
    together = run_forecast(histories, horizon=2, draws=100, seed=3).summary
    pd.testing.assert_frame_equal(
        alone.reset_index(drop=True), together[together["la_code"] == code].reset_index(drop=True)
    )


def test_summary_shape_england_and_quantile_order(histories: dict) -> None:
    s = run_forecast(histories, horizon=4, draws=300, seed=1).summary
    assert set(MEASURES) <= set(s["measure"])
    assert "E92000001" in set(s["la_code"])
    assert (s["p5"] <= s["p10"]).all() and (s["p10"] <= s["p50"]).all()
    assert (s["p50"] <= s["p90"]).all() and (s["p90"] <= s["p95"]).all()
    # placement groups and age bands each add up to the total, draw by draw -> in the mean too
    for code, g in s[s["year"] == s["year"].max()].groupby("la_code"):
        m = g.set_index("measure")["mean"]
        groups = list(GROUPS)
        assert np.isclose(m[groups].sum(), m["ehcp_total"]), code
        bands = ["age_0_4", "age_5_10", "age_11_15", "age_16_19", "age_20_25"]
        assert np.isclose(m[bands].sum(), m["ehcp_total"]), code
        assert np.isclose(m["special_school"], m["state_special"] + m["independent_special"])
    eng = s[(s["la_code"] == "E92000001") & (s["measure"] == "ehcp_total")]
    councils = s[(s["la_code"] != "E92000001") & (s["measure"] == "ehcp_total")]
    assert np.isclose(eng["mean"].sum(), councils["mean"].sum())


def test_origin_year_is_the_published_stock(histories: dict) -> None:
    s = run_forecast(histories, horizon=1, draws=50, seed=1).summary
    for code, h in histories.items():
        row = s[(s["la_code"] == code) & (s["measure"] == "ehcp_total") & (s["year"] == h.origin)]
        assert row["mean"].iloc[0] == h.total[-1]
        assert row["p5"].iloc[0] == row["p95"].iloc[0]


def test_growing_council_forecast_keeps_growing(histories: dict) -> None:
    s = run_forecast(histories, horizon=5, draws=200, seed=1).summary
    for code in histories:
        t = s[(s["la_code"] == code) & (s["measure"] == "ehcp_total")].sort_values("year")["p50"].to_numpy()
        assert t[-1] > t[0]


def test_tables_round_trip_to_histories(histories: dict) -> None:
    series, pop = synthetic_tables(histories)
    back = histories_from_tables(series, pop, 2024)
    code = sorted(histories)[0]
    assert np.allclose(back[code].total, histories[code].total)
    assert np.allclose(back[code].new_plans[:-1], histories[code].new_plans[:-1])
    # the origin's flows (calendar 2024) are not known at January 2024: cut off
    assert np.isnan(back[code].new_plans[-1])


def test_ipf_matches_both_margins() -> None:
    prior = np.array([[1.0, 1.0], [1.0, 0.0]])
    # row 2 cannot use column 2, so its 30 all go to column 1; row 1 takes 30 + 40
    m = ipf(prior, np.array([70.0, 30.0]), np.array([60.0, 40.0]))
    assert np.allclose(m, [[30, 40], [30, 0]])


def test_cohort_population_projection_hand_case() -> None:
    # constant population 100 per age: ratios 1, births 100 -> stays 100 at every age
    years = np.array([2020, 2021, 2022])
    pop = np.full((3, 26), 100.0)
    y, p = project_population(years, pop, 2025)
    assert list(y) == [2020, 2021, 2022, 2023, 2024, 2025]
    assert np.allclose(p, 100.0)


def test_cohort_projection_by_hand_and_level_break_skipped() -> None:
    # 2018 -> 2019: every cohort x1.02; 2020 -> 2021 (Census 2021 rebasing) x0.90 must be
    # ignored; 2019 -> 2020 x1.02. Three ages shown: [100, 100, 100] in 2018.
    years = np.array([2018, 2019, 2020, 2021])
    base = np.full(26, 100.0)
    p2019 = np.concatenate([[100.0], base[:-1] * 1.02])
    p2020 = np.concatenate([[100.0], p2019[:-1] * 1.02])
    p2021 = np.concatenate([[100.0], p2020[:-1] * 0.90])
    y, p = project_population(years, np.vstack([base, p2019, p2020, p2021]), 2022)
    # births: mean of the last three years' age 0 = 100; age 1 in 2022 = 100 (age 0, 2021) x 1.02
    assert p[-1][0] == 100.0
    assert p[-1][1] == 100.0 * 1.02
    # age 5 in 2022 = age 4 in 2021 x 1.02 (the 0.90 rebasing pair is not used)
    assert np.isclose(p[-1][5], p2021[4] * 1.02)

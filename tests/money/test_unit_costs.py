"""Unit costs: financial-year plans, growth from the spend series, pooling, every s251 line mapped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from money_fixtures import SPECIALIST, synthetic_money_observations, synthetic_series

from sendcast.money.unit_costs import calibrate_costs, fy_plans, log_growth, s251_lines


def test_fy_plans_weights_two_januaries() -> None:
    p = fy_plans(synthetic_series()).set_index(["financial_year", "placement"])["plans"]
    # FY 2021-22 independent special = 5/12 x 352 + 7/12 x 666 = 146.67 + 388.5 = 535.17
    assert p[(2021, "independent_special")] == pytest.approx(5 / 12 * 352 + 7 / 12 * 666)
    assert 2023 not in p.index.get_level_values(0)  # needs January 2024


def test_log_growth() -> None:
    s = pd.Series([100.0, 110.0, 121.0], index=[2018, 2019, 2020])
    g, n = log_growth(s)
    assert g == pytest.approx(0.10) and n == 2
    assert np.isnan(log_growth(s.iloc[:1])[0])


def test_independent_unit_cost_is_series_over_fy_plans(params: dict) -> None:
    obs = synthetic_money_observations()
    cm = calibrate_costs(obs, fy_plans(synthetic_series()), "E10000020", params)
    uc = cm.unit_costs.set_index("placement")
    # 41,452,473 / 535.17 = 77,457 per plan (one council = England: weight irrelevant)
    assert uc.loc["independent_special", "unit_cost"] == pytest.approx(
        SPECIALIST["independent_non_maintained"][2021] / (5 / 12 * 352 + 7 / 12 * 666)
    )
    # a back-cast from 2019-20 only sees outturn to 2019-20
    back = calibrate_costs(obs, fy_plans(synthetic_series()), "E10000020", params, through_year=2019)
    assert back.base_year == 2019
    assert "look-ahead" in back.unit_costs.set_index("placement").loc["mainstream", "note"]


def test_every_store_s251_line_is_mapped(params: dict) -> None:
    from sendcast.store import open_store

    obs = open_store().observations(source=["high-needs-benchmarking"])
    lines = set(s251_lines(obs, "E92000001").index)
    mapping = params["costs/s251_line_map"].values
    assert lines and lines <= set(mapping)

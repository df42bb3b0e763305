"""Council calibration of unit costs (synthetic Norfolk-like observations)."""

from __future__ import annotations

import pytest
from money_fixtures import NORFOLK_OUTTURN, NORFOLK_PLACED, synthetic_observations

from sendcast.money.unit_costs import (
    calibrate_non_placement,
    calibrate_unit_costs,
    inflation_index,
    national_unit_cost,
)
from sendcast.parameters import PLACEMENT_GROUPS


def test_independent_special_pooled(params: dict) -> None:
    uc = calibrate_unit_costs(synthetic_observations(), "926", params).set_index("placement")
    row = uc.loc["independent_special"]
    # council: 41,452,473 / 782 = 53,008.3; w = 782 / (782 + 50) = 0.93990
    council = NORFOLK_OUTTURN["topup_nmss_independent_special"] / NORFOLK_PLACED["nmss_independent"]
    assert row["council_value"] == pytest.approx(council)
    assert row["weight"] == pytest.approx(782 / 832)
    expected = row["weight"] * council + (1 - row["weight"]) * row["national_value"]
    assert row["unit_cost"] == pytest.approx(expected)
    assert row["basis"] == "council+national"
    assert "high_needs_benchmarking" in row["trace"]
    assert list(uc.index) == list(PLACEMENT_GROUPS)


def test_mainstream_resourced_split(params: dict) -> None:
    uc = calibrate_unit_costs(synthetic_observations(), "E10000020", params).set_index("placement")
    # S = 1,270,000 + 10,667,295 + 6,678,816 = 18,616,111; (S - 130 x 6,000) / 2,261 = 7,888.6
    assert uc.loc["mainstream", "council_value"] == pytest.approx(7888.59, abs=0.01)
    assert uc.loc["resourced_provision", "council_value"] == pytest.approx(7888.59 + 6000, abs=0.01)


def test_absent_line_falls_back_to_national(params: dict) -> None:
    obs = synthetic_observations(drop_lines=("topup_maintained_special",))
    uc = calibrate_unit_costs(obs, "926", params).set_index("placement")
    row = uc.loc["state_special"]
    assert row["basis"] == "national"
    assert "topup_maintained_special" in row["note"]
    assert row["unit_cost"] == pytest.approx(row["national_value"])
    assert uc.loc["ap_pru", "basis"] == "national"


def test_no_data_at_all(params: dict) -> None:
    uc = calibrate_unit_costs(synthetic_observations().iloc[:0], "926", params)
    assert (uc["basis"] == "national").all()
    npl = calibrate_non_placement(synthetic_observations().iloc[:0], "926", params, uc)
    assert npl["amount"].isna().all() and (npl["per_plan"] > 0).all()


def test_inflation_and_national(params: dict) -> None:
    # 2021-22 -> 2023-24 at 4.3% a year: 1.043^2 = 1.087849
    assert inflation_index(params, 2021, 2023) == pytest.approx(1.043**2)
    assert inflation_index(params, 2023, 2021) == pytest.approx(1 / 1.043**2)
    # independent special 2024-25 value is 64,000 in its own year
    assert national_unit_cost(params, "independent_special", 2024)[0] == pytest.approx(64000)


def test_non_placement_ap_attribution(params: dict) -> None:
    obs = synthetic_observations()
    uc = calibrate_unit_costs(obs, "926", params)
    npl = calibrate_non_placement(obs, "926", params, uc).set_index("line")
    ap_cost = uc.set_index("placement").loc["ap_pru", "unit_cost"]
    # 2,246,298 + max(5,489,851 - 201 x ap_cost, 0)
    expected = 2246298 + max(5489851 - 201 * ap_cost, 0)
    assert npl.loc["alternative_provision_services", "amount"] == pytest.approx(expected)
    assert npl.loc["sen_support_inclusion_services", "amount"] == pytest.approx(5682543)

"""The one DSG-balance function on synthetic Norfolk-like inputs (arithmetic checkable by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from money_fixtures import HNB_AFTER, NORFOLK_OUTTURN, TOTAL_DSG, synthetic_draws, synthetic_inputs

from sendcast.money.balances import Opening
from sendcast.money.budget import BudgetInputError, compute_budget, dsg_balance, summarise
from sendcast.parameters import require

CODE = "E10000020"


def _mean(result, line: str) -> pd.Series:  # type: ignore[no-untyped-def]
    return result.line(line).groupby("financial_year")["value"].mean()


def council_paid_spend() -> float:
    """Every mapped s251 line of the fixture (totals are checks, not spend)."""
    return sum(v for k, v in NORFOLK_OUTTURN.items() if not k.endswith("_total"))


def test_calibration_year_gives_back_the_outturn_and_basis_is_after_deductions() -> None:
    # One council = England, so pooling leaves its own unit costs; in 2021-22 (the s251 year)
    # plans x unit cost + non-placement lines = the s251 lines it came from: 115,506,699.
    inp = synthetic_inputs()
    r = compute_budget(CODE, inp, first_year=2021, last_year=2021, n_draws=3, uncertainty=False, calibrate=False)
    spend = _mean(r, "spend_total")[2021]
    assert spend == pytest.approx(council_paid_spend(), rel=1e-9)
    assert council_paid_spend() == pytest.approx(115_506_699)
    # income = high needs block AFTER deductions (ESFA-paid places are not the council's cash)
    assert _mean(r, "income:high_needs_block")[2021] == HNB_AFTER[2021]
    # opening: -4.91% x 646,044,145 = -31,720,767.5 at 31 March 2021, then + in-year
    assert r.opening.value == pytest.approx(-0.0491 * TOTAL_DSG[2020])
    in_year = HNB_AFTER[2021] - council_paid_spend()
    assert _mean(r, "in_year_balance")[2021] == pytest.approx(in_year)
    assert _mean(r, "cumulative_balance")[2021] == pytest.approx(-0.0491 * TOTAL_DSG[2020] + in_year)
    assert r.year_type == {2020: "published", 2021: "back-cast"}


def test_forecast_years_follow_the_published_balance_and_are_flagged() -> None:
    inp = synthetic_inputs()
    draws = synthetic_draws([2023, 2024, 2025], 5)
    r = compute_budget(CODE, inp, draws=draws, seed=1)
    # the latest published balance at or before the first forecast year (2023-24) is March 2022
    assert r.opening.financial_year == 2021
    assert r.year_type[2021] == "published" and r.year_type[2022] == "back-cast"
    assert r.year_type[2023] == "forecast" and r.year_type[2024] == "forecast"
    # 2022-23 = 5/12 x published January 2022 (666) + 7/12 x the draw's January 2023 (the origin)
    plans = r.line("plans:independent_special")
    p22 = plans[plans.financial_year == 2022].set_index("draw")["value"]
    jan23 = draws[(draws.year == 2023) & (draws.placement == "independent_special")].set_index("draw")["plans"]
    assert p22.to_numpy() == pytest.approx((5 / 12 * 666 + 7 / 12 * jan23).to_numpy())
    assert any("Safety Valve" in n for n in r.notes)


def test_cumulative_is_opening_plus_running_sum_per_draw() -> None:
    idx = pd.MultiIndex.from_product([range(2), [2023, 2024]], names=["draw", "financial_year"])
    wide = pd.DataFrame(
        {"spend:a": [10.0, 20.0, 30.0, 40.0], "income:high_needs_block": [15.0, 15.0, 15.0, 15.0]}, index=idx
    )
    out = dsg_balance(wide, np.array([-100.0, -50.0]))
    # draw 0: -100 + 5 = -95, -95 - 5 = -100; draw 1: -50 - 15 = -65, -65 - 25 = -90
    assert out["cumulative_balance"].tolist() == [-95.0, -100.0, -65.0, -90.0]


def test_same_seed_same_money_draws_and_bands_are_not_zero_width() -> None:
    inp = synthetic_inputs()
    a = compute_budget(CODE, inp, first_year=2020, last_year=2021, n_draws=200, seed=4)
    b = compute_budget(CODE, inp, first_year=2020, last_year=2021, n_draws=200, seed=4)
    c = compute_budget(CODE, inp, first_year=2020, last_year=2021, n_draws=200, seed=5)
    pd.testing.assert_frame_equal(a.lines, b.lines)
    assert not np.allclose(a.lines["value"], c.lines["value"])
    s = summarise(a)
    cum = s[(s.line == "cumulative_balance") & (s.financial_year == 2021)].iloc[0]
    assert cum.p90 - cum.p10 > 1e6  # published caseloads, but money is uncertain


def test_refusals_are_one_line() -> None:
    inp = synthetic_inputs()
    with pytest.raises(BudgetInputError, match="no published DSG balance at or before 31 March 2019"):
        compute_budget(CODE, inp, first_year=2019, last_year=2020, n_draws=2)
    op = Opening(2023, -1.0, 0.0, "user", "test")
    with pytest.raises(BudgetInputError, match="no published January 2025 caseload|no published January 2024 caseload"):
        compute_budget(CODE, inp, first_year=2024, last_year=2024, n_draws=2, opening=op)


def test_unmodelled_line_carries_the_past_gap() -> None:
    # March 2021 opening; the one published in-year balance before it (2020-21) is compared with
    # the same model run on 2020-21: share = w x (modelled - published) / block 2020-21, w the
    # calibration/balance_residual.yaml value for 2021-22 (the first modelled year)
    inp = synthetic_inputs()
    plain = compute_budget(CODE, inp, first_year=2020, last_year=2020, n_draws=1, uncertainty=False, calibrate=False)
    gap = (_mean(plain, "in_year_balance")[2020] - (-0.0491 * TOTAL_DSG[2020] + 0.0323 * TOTAL_DSG[2019])) / HNB_AFTER[
        2020
    ]
    r = compute_budget(CODE, inp, first_year=2021, last_year=2021, n_draws=2, uncertainty=False)
    w = require(inp.params, "calibration/balance_residual").value_for_financial_year(2021)
    assert _mean(r, "spend:unmodelled")[2021] == pytest.approx(w * gap * HNB_AFTER[2021])
    assert any("Unmodelled spend" in n for n in r.notes)


def test_non_placement_lines_move_with_the_block() -> None:
    # costs/non_placement_growth.yaml basis high_needs_block: a non-placement line in year Y is
    # its 2021-22 outturn x block(Y) / block(2021-22), whatever the base year of the costs
    inp = synthetic_inputs()
    op = Opening(2020, -1.0, 0.0, "user", "test")
    r = compute_budget(CODE, inp, first_year=2021, last_year=2022, n_draws=1, opening=op, uncertainty=False)
    sss = _mean(r, "spend:sen_support_inclusion_services")
    assert sss[2022] / sss[2021] == pytest.approx(HNB_AFTER[2022] / HNB_AFTER[2021])
    back = compute_budget(CODE, inp, first_year=2020, last_year=2021, n_draws=1, through_year=2019, uncertainty=False)
    b = _mean(back, "spend:sen_support_inclusion_services")
    assert b[2020] / b[2021] == pytest.approx(HNB_AFTER[2020] / HNB_AFTER[2021])
    assert b[2021] == pytest.approx(sss[2021])  # the 2021-22 outturn, whichever base year

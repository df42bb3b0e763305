"""The scenario commands' baseline is the budget `sendcast budget` shows (one balance, one
forecast): the same council, draws and seed give the same cumulative balance, year by year."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sendcast.money import service
from sendcast.scenarios.compare import add_budget, context_from_store, simulate
from sendcast.scenarios.schema import BASELINE, load_scenario

REPO = Path(__file__).resolve().parents[2]
DRAWS, SEED, HORIZON = 60, 11, 6


@pytest.mark.usefixtures("embedded_store")
def test_scenario_baseline_balance_is_the_budget_balance() -> None:
    inputs = service.inputs()
    agreement = service.agreement(REPO / "examples" / "norfolk" / "agreement.yaml")
    budget = service.budget("Norfolk", inputs, agreement=agreement, horizon=HORIZON, draws=DRAWS, seed=SEED)
    ctx = context_from_store("Norfolk", origin=None, horizon=HORIZON, draws=DRAWS)
    run = add_budget(
        simulate(ctx, BASELINE, draws=DRAWS, seed=SEED), inputs, la_code=ctx.la_code, seed=SEED, agreement=agreement
    )
    assert run.budget is not None
    a = budget.result.line("cumulative_balance").sort_values(["financial_year", "draw"])["value"].to_numpy()
    b = run.budget.line("cumulative_balance").sort_values(["financial_year", "draw"])["value"].to_numpy()
    np.testing.assert_array_equal(a, b)


@pytest.mark.usefixtures("embedded_store")
def test_a_scenario_moves_the_published_baseline_by_its_cohort_effect() -> None:
    # with levers, levels = published + (cohort with levers - cohort without), floored at 0:
    # the difference from the baseline is the cohort model's, draw by draw
    ctx = context_from_store("Norfolk", origin=None, horizon=HORIZON, draws=DRAWS)
    lfi = load_scenario(REPO / "examples" / "norfolk" / "scenarios" / "local_first_inclusion.yaml")
    base = simulate(ctx, BASELINE, draws=DRAWS, seed=SEED)
    run = simulate(ctx, lfi, draws=DRAWS, seed=SEED)
    cohort_effect = run.forecast.draw_values[ctx.la_code] - base.forecast.draw_values[ctx.la_code]
    expected = np.maximum(base.values + cohort_effect, 0.0)
    np.testing.assert_array_equal(run.values, expected)
    assert (run.values >= 0).all()

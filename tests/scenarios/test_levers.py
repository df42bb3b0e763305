"""Levers on the model's rates: hand-checked effects and the zero-lever identity."""

from __future__ import annotations

import numpy as np

from sendcast.model.forecast import MEASURES
from sendcast.model.step import StepInputs
from sendcast.model.structure import G
from sendcast.scenarios.compare import Context, simulate
from sendcast.scenarios.levers import ScenarioLevers, shift_mix, trim_to_capacity
from sendcast.scenarios.schema import BASELINE, Scenario, scenario_from_dict


def scenario(*levers: dict) -> Scenario:
    return scenario_from_dict({"name": "t", "description": "test", "levers": list(levers)})


ZERO = scenario(
    {"kind": "incidence", "change_percent": 0, "start": 2023},
    {"kind": "ceasing", "change_percent": 0, "start": 2023},
    {
        "kind": "placement_shift",
        "from": "independent_special",
        "to": "state_special",
        "share_percent": 0,
        "start": 2023,
    },
    {
        "kind": "new_places",
        "group": "state_special",
        "places": 0,
        "spill_to": "independent_special",
        "start": 2024,
    },
    {"kind": "unit_cost", "group": "mainstream", "change_percent": 0, "start": 2023},
)


def test_zero_levers_reproduce_the_baseline_draw_for_draw(ctx: Context) -> None:
    a = simulate(ctx, BASELINE, draws=200, seed=11)
    b = simulate(ctx, ZERO, draws=200, seed=11)
    assert np.array_equal(a.values, b.values)
    assert a.placement_draws.equals(b.placement_draws)


def test_zero_lever_returns_the_same_arrays() -> None:
    inp = StepInputs(
        hazard=np.full((2, 26), 0.1),
        joiners=np.full((2, 26), 3.0),
        joiner_mix=np.full((5, 7), 1 / 7),
        transfer_mix=np.full((5, 7), 1 / 7),
        persistence={5: 0.9},
        mover_rate=np.zeros(7),
        mover_ages=np.ones((26, 7), bool),
    )

    class Fit:
        origin, la_code = 2023, "X"

    out = ScenarioLevers(ZERO).apply(inp, year=2023, fit=Fit(), stock=np.zeros((2, 26, 7), np.int64))
    assert out is inp


def test_ten_percent_cut_from_year_three_cuts_expected_joiners_by_exactly_ten_percent(
    ctx: Context,
) -> None:
    # origin 2023: years of flows 2023, 2024, 2025 (= year 3), ...
    cut = scenario({"kind": "incidence", "change_percent": -10, "start": ctx.origin + 2})
    base = simulate(ctx, BASELINE, draws=100, seed=5)
    run = simulate(ctx, cut, draws=100, seed=5)
    ratio = {y: run.new_plans[y] / base.new_plans[y] for y in base.new_plans}
    assert ratio[ctx.origin] == 1.0 and ratio[ctx.origin + 1] == 1.0
    for y in range(ctx.origin + 2, ctx.origin + ctx.horizon):
        assert abs(ratio[y] - 0.9) < 1e-12
    # the caseload is untouched until January of year 3 + 1
    i = MEASURES.index("ehcp_total")
    assert np.array_equal(run.values[:, :3, i], base.values[:, :3, i])


def test_incidence_by_age_and_ramp_on_step_inputs() -> None:
    # joiners 10 at every age; -20% at ages 0-4, ramp 2 from 2024: 2024 -> -10%, 2025 -> -20%
    lv = scenario({"kind": "incidence", "change_percent": -20, "ages": [0, 4], "start": 2024, "ramp": 2})
    inp = StepInputs(
        hazard=np.zeros((1, 26)),
        joiners=np.full((1, 26), 10.0),
        joiner_mix=np.full((5, 7), 1 / 7),
        transfer_mix=np.full((5, 7), 1 / 7),
        persistence={},
        mover_rate=np.zeros(7),
        mover_ages=np.ones((26, 7), bool),
    )

    class Fit:
        origin, la_code = 2024, "X"

    hook = ScenarioLevers(lv)
    s = np.zeros((1, 26, 7), np.int64)
    y1 = hook.apply(inp, year=2024, fit=Fit(), stock=s)
    y2 = hook.apply(inp, year=2025, fit=Fit(), stock=s)
    assert np.allclose(y1.joiners[0, :5], 9.0) and np.allclose(y1.joiners[0, 5:], 10.0)
    assert np.allclose(y2.joiners[0, :5], 8.0)
    assert np.allclose(inp.joiners, 10.0)  # the input is not modified


def test_ceasing_lever_raises_hazard_at_ages_and_caps_at_one() -> None:
    lv = scenario({"kind": "ceasing", "change_percent": 50, "ages": [16, 19], "start": 2024})
    hz = np.full((1, 26), 0.1)
    hz[0, 19] = 0.8
    inp = StepInputs(
        hazard=hz,
        joiners=np.zeros((1, 26)),
        joiner_mix=np.full((5, 7), 1 / 7),
        transfer_mix=np.full((5, 7), 1 / 7),
        persistence={},
        mover_rate=np.zeros(7),
        mover_ages=np.ones((26, 7), bool),
    )

    class Fit:
        origin, la_code = 2024, "X"

    out = ScenarioLevers(lv).apply(inp, year=2024, fit=Fit(), stock=np.zeros((1, 26, 7), np.int64))
    # 0.1 x 1.5 = 0.15 at 16-18; 0.8 x 1.5 = 1.2 -> capped at 1; other ages unchanged
    assert np.allclose(out.hazard[0, 16:19], 0.15) and out.hazard[0, 19] == 1.0
    assert np.allclose(out.hazard[0, :16], 0.1)


def test_shift_mix_by_hand() -> None:
    # row [0.5, 0.1, 0.4]: move 20% of column 0 (0.1) to column 2 -> [0.4, 0.1, 0.5]
    out = shift_mix(np.array([[0.5, 0.1, 0.4]]), 0, 2, 0.2)
    assert np.allclose(out, [[0.4, 0.1, 0.5]])


def test_trim_to_capacity_by_hand() -> None:
    # 110 plans at two ages (60, 50), capacity 100: excess 10, exact shares (5.45, 4.55),
    # floors (5, 4), the one left to the larger fraction (the second age) -> (5, 5) moved
    stock = np.zeros((1, 26, 7), np.int64)
    stock[0, 7, G["state_special"]] = 60
    stock[0, 8, G["state_special"]] = 50
    out = trim_to_capacity(stock, G["state_special"], G["independent_special"], np.array([100]))
    assert out[0, 7, G["state_special"]] == 55 and out[0, 8, G["state_special"]] == 45
    assert out[0, 7, G["independent_special"]] == 5 and out[0, 8, G["independent_special"]] == 5
    assert out.sum() == stock.sum()
    # under capacity: the same array back
    assert trim_to_capacity(stock, G["state_special"], 3, np.array([200])) is stock


def test_hundred_new_places_cap_the_groups_growth_at_hundred(ctx: Context) -> None:
    cap = scenario(
        {
            "kind": "new_places",
            "group": "state_special",
            "places": 100,
            "spill_to": "independent_special",
            "start": ctx.origin,
        }
    )
    base = simulate(ctx, BASELINE, draws=200, seed=2)
    run = simulate(ctx, cap, draws=200, seed=2)
    i = MEASURES.index("state_special")
    start = run.values[:, 0, i]
    assert (run.values[:, 1:, i] <= start[:, None] + 100).all()
    assert (base.values[:, -1, i] > start + 100).mean() > 0.9  # the cap binds in the baseline
    # and the spill goes to independent special schools
    j = MEASURES.index("independent_special")
    assert run.values[:, -1, j].mean() > base.values[:, -1, j].mean()
    # no negative counts anywhere
    assert (run.values >= 0).all()


def test_placement_shift_lowers_independent_and_raises_state_special(ctx: Context) -> None:
    sh = scenario(
        {
            "kind": "placement_shift",
            "from": "independent_special",
            "to": "state_special",
            "share_percent": 50,
            "start": ctx.origin,
        }
    )
    base = simulate(ctx, BASELINE, draws=200, seed=4)
    run = simulate(ctx, sh, draws=200, seed=4)
    i, j = MEASURES.index("independent_special"), MEASURES.index("state_special")
    assert run.values[:, -1, i].mean() < base.values[:, -1, i].mean()
    assert run.values[:, -1, j].mean() > base.values[:, -1, j].mean()

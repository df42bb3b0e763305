"""The cohort step: hand-checked arithmetic and property tests (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sendcast.model.step import StepInputs, advance, step
from sendcast.model.structure import N_AGES, N_BANDS, N_GROUPS, G


def _inputs(hazard: float, joiners_at: dict[int, float], d: int = 1) -> StepInputs:
    mix = np.zeros((N_BANDS, N_GROUPS))
    mix[:, G["mainstream"]] = 1.0
    j = np.zeros((d, N_AGES))
    for a, v in joiners_at.items():
        j[:, a] = v
    return StepInputs(
        hazard=np.full((d, N_AGES), hazard),
        joiners=j,
        joiner_mix=mix,
        transfer_mix=mix,
        persistence={5: 0.8, 11: 0.7, 16: 0.45, 19: 0.4},
        mover_rate=np.zeros(N_GROUPS),
        mover_ages=np.zeros((N_AGES, N_GROUPS), dtype=bool),
    )


def test_hundred_plans_ten_percent_leave_twenty_join() -> None:
    # 100 plans at age 8 in mainstream; 10% leave -> 90 reach age 9; 20 join at age 9 -> 110.
    stock = np.zeros((1, N_AGES, N_GROUPS))
    stock[0, 8, G["mainstream"]] = 100
    new, flows = step(stock, _inputs(0.10, {9: 20.0}), rng=None)
    assert new[0, 9, G["mainstream"]] == 110.0
    assert flows.leavers[0, 8, G["mainstream"]] == 10.0
    assert new.sum() == 110.0


def test_age_25_leaves_by_ageing_out() -> None:
    # 50 plans at 25, no ceasing: all 50 leave because the range ends at 25.
    stock = np.zeros((1, N_AGES, N_GROUPS))
    stock[0, 25, G["other"]] = 50
    new, flows = step(stock, _inputs(0.0, {}), rng=None)
    assert new.sum() == 0.0
    assert flows.leavers[0, 25, G["other"]] == 50.0


def test_phase_transfer_moves_the_non_persistent_share() -> None:
    # 100 in state special at 10 -> at 11, 70% stay; 30 are placed by the transfer mix (all mainstream).
    stock = np.zeros((1, N_AGES, N_GROUPS))
    stock[0, 10, G["state_special"]] = 100
    new, _ = step(stock, _inputs(0.0, {}), rng=None)
    assert np.isclose(new[0, 11, G["state_special"]], 70.0)
    assert np.isclose(new[0, 11, G["mainstream"]], 30.0)


stocks = st.integers(min_value=0, max_value=400)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    scale=stocks,
    hazard=st.floats(0.0, 1.0),
    join=st.floats(0.0, 200.0),
    rate=st.floats(-0.5, 0.5),
)
def test_no_negative_counts_and_flows_balance(seed: int, scale: int, hazard: float, join: float, rate: float) -> None:
    rng = np.random.default_rng(seed)
    d = 5
    stock = rng.integers(0, scale + 1, size=(d, N_AGES, N_GROUPS)).astype(np.int64)
    inp = _inputs(hazard, {a: join for a in range(N_AGES)}, d=d)
    inp.joiner_mix = rng.dirichlet(np.ones(N_GROUPS), size=N_BANDS)
    inp.transfer_mix = rng.dirichlet(np.ones(N_GROUPS), size=N_BANDS)
    inp.mover_rate = np.full(N_GROUPS, rate)
    inp.mover_ages = np.ones((N_AGES, N_GROUPS), dtype=bool)
    new, f = step(stock, inp, rng)
    assert (new >= 0).all()
    for arr in (f.leavers, f.movers_in, f.movers_out, f.joiners):
        assert (arr >= 0).all()
    # stock(t+1)[a+1, p] = stock(t)[a, p] - leavers[a, p] + movers_in - movers_out + joiners
    expected = np.zeros_like(stock)
    expected[:, 1:, :] = stock[:, :-1, :] - f.leavers[:, :-1, :]
    expected += f.movers_in - f.movers_out + f.joiners
    assert (new == expected).all()
    # everyone at 25 leaves; the total balances: new = old - leavers + joiners
    assert (new.sum((1, 2)) == stock.sum((1, 2)) - f.leavers.sum((1, 2)) + f.joiners.sum((1, 2))).all()


@settings(max_examples=25, deadline=None)
@given(pop=st.floats(1.0, 1e5), extra=st.floats(0.0, 1e5))
def test_bigger_population_never_lowers_joiners(pop: float, extra: float) -> None:
    from sendcast.model.structure import new_plan_age_shape

    stock = np.zeros((1, N_AGES, N_GROUPS))
    rate = 0.001
    small = step(stock, _inputs(0.0, dict(enumerate(rate * pop * new_plan_age_shape()))), None)[1]
    big = step(stock, _inputs(0.0, dict(enumerate(rate * (pop + extra) * new_plan_age_shape()))), None)[1]
    assert (big.joiners >= small.joiners - 1e-9).all()


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), rate=st.floats(-0.5, 0.5))
def test_fast_path_gives_the_same_stock_as_step(seed: int, rate: float) -> None:
    # advance() skips the flow bookkeeping only: same draws in the same order, same stock
    rng = np.random.default_rng(seed)
    stock = rng.integers(0, 50, size=(4, N_AGES, N_GROUPS)).astype(np.int64)
    inp = _inputs(0.1, {a: 3.0 for a in range(N_AGES)}, d=4)
    inp.joiner_mix = rng.dirichlet(np.ones(N_GROUPS), size=N_BANDS)
    inp.transfer_mix = rng.dirichlet(np.ones(N_GROUPS), size=N_BANDS)
    inp.mover_rate = np.full(N_GROUPS, rate)
    inp.mover_ages = np.ones((N_AGES, N_GROUPS), dtype=bool)
    slow, _ = step(stock, inp, np.random.default_rng(seed + 1))
    fast = advance(stock, inp, np.random.default_rng(seed + 1))
    assert np.array_equal(slow, fast)

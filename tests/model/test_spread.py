"""Hand-checked cases for the forecast's spread calibration and the council's age pattern of ceasing."""

from __future__ import annotations

import numpy as np
import pytest

from sendcast.model.history import CouncilHistory
from sendcast.model.stockflow import (
    FEEDS_BAND,
    _age_profile_factors,
    _draw_mover_rates,
    _exit_age_multipliers,
    spread_settings,
)
from sendcast.model.structure import AGE_BANDS, BAND_OF_AGE, GROUPS, N_AGES, N_GROUPS, ModelParameterError

SPECIAL = GROUPS.index("state_special")
MAINSTREAM = GROUPS.index("mainstream")


def _stock() -> np.ndarray:
    """Ages 2-19 are where mainstream and state special are both open: 18 ages x 50 mainstream
    = 900 mainstream plans, 18 x 5 = 90 special school plans."""
    s = np.zeros((N_AGES, N_GROUPS))
    s[2:20, MAINSTREAM] = 50
    s[2:20, SPECIAL] = 5
    return s


def test_mover_draws_are_symmetric_in_plans() -> None:
    # mean rate 0, sd 0.01 of 900 mainstream plans = 9 plans a year either way. A draw of -9
    # plans is a rate of -9 / 90 = -0.1 of the special school's own plans; drawn as a rate it
    # would have been -0.01 x 90 = 0.9 plans.
    rate = np.zeros(N_GROUPS)
    sd = np.zeros(N_GROUPS)
    sd[SPECIAL] = 0.01
    out = _draw_mover_rates(_stock(), rate, sd, 20000, np.random.default_rng(1))
    r = out[:, SPECIAL]
    plans = np.where(r >= 0, r * 900, r * 90)
    assert plans.mean() == pytest.approx(0, abs=0.2)
    assert plans.std() == pytest.approx(9, rel=0.03)
    assert np.mean(np.abs(plans[plans < 0])) == pytest.approx(np.mean(plans[plans > 0]), rel=0.05)
    assert (out[:, MAINSTREAM] == 0).all()


def test_mover_draws_keep_a_negative_mean_in_the_settings_own_plans() -> None:
    # mean rate -0.1 of 90 special school plans = 9 plans out a year; no spread: every draw -0.1
    rate = np.zeros(N_GROUPS)
    rate[SPECIAL] = -0.1
    out = _draw_mover_rates(_stock(), rate, np.zeros(N_GROUPS), 5, np.random.default_rng(1))
    assert out[:, SPECIAL] == pytest.approx(np.full(5, -0.1))


def test_age_profile_factors_keep_the_weighted_total() -> None:
    weights = np.arange(1, N_AGES + 1, dtype=float)
    sd = np.array([0.3, 0.0, 0.0, 0.6, 0.0])
    f = _age_profile_factors(sd, weights, 1000, np.random.default_rng(2), 1.0)
    assert f is not None and f.shape == (1000, N_AGES)
    assert (f * weights).sum(1) == pytest.approx(np.full(1000, weights.sum()))
    # within a band every age gets the same factor
    for b in range(len(sd)):
        fb = f[:, BAND_OF_AGE == b]
        assert np.allclose(fb, fb[:, :1])
    assert _age_profile_factors(np.zeros(5), weights, 10, np.random.default_rng(2), 1.0) is None


def test_exit_age_multiplier_hand_case() -> None:
    # 100 plans at every age in January 2020; hazard 0.1 at every age, exit scale 1: 10 leave
    # from each age 0-24 (all 100 at 25 age out), nobody joins. Expected January 2021: 0 at age
    # 0, 90 at ages 1-25. Published: 10 fewer at ages 16-19 (87.5 each), so the ages feeding
    # that band (15-18, 4 x 10 = 40 expected leavers) lost 50: m = (40 + 10) / 40 = 1.25.
    # Every other band is as expected: m = 1.
    a0 = np.full(N_AGES, 100.0)
    a1 = np.r_[0.0, np.full(N_AGES - 1, 90.0)]
    a1[16:20] -= 2.5
    h = CouncilHistory(
        la_code="E0",
        la_name="Hand",
        years=np.array([2020, 2021]),
        total=np.array([a0.sum(), a1.sum()]),
        placement=np.full((2, N_GROUPS), np.nan),
        age_bands=np.full((2, len(AGE_BANDS)), np.nan),
        single_age=np.vstack([a0, a1]),
        new_plans=np.array([0.0, np.nan]),
        new_plans_bands=np.full((2, len(AGE_BANDS)), np.nan),
        pop_years=np.array([2019]),
        pop=np.ones((1, N_AGES)),
    )
    logm = _exit_age_multipliers(h, np.array([1.0, np.nan]), np.full(N_AGES, 0.1), {0: np.zeros(N_AGES)}, 3)
    assert np.exp(logm) == pytest.approx([1.0, 1.0, 1.0, 1.25, 1.0])
    assert list(FEEDS_BAND[15:19]) == [3, 3, 3, 3]


def test_younger_moves_a_share_of_each_age_down_one_year() -> None:
    from sendcast.model.stockflow import younger

    assert younger(np.array([0.0, 10.0, 20.0]), 0.25) == pytest.approx([2.5, 12.5, 15.0])
    assert younger(np.array([4.0, 0.0]), 0.5) == pytest.approx([2.0, 0.0])  # nobody younger than 0
    c = np.arange(26, dtype=float)  # nothing at age 0: the total is kept
    assert younger(c, 0.3).sum() == pytest.approx(c.sum())


def test_spread_settings_shipped_values_and_unknown_names(monkeypatch: pytest.MonkeyPatch) -> None:
    s = spread_settings()
    assert s["placement_sd_scale"].shape == (N_GROUPS,)
    assert s["joiner_age_sd"].shape == s["exit_age_sd"].shape == (len(AGE_BANDS),)
    assert (s["placement_sd_scale"] > 0).all()

    import sendcast.model.stockflow as sf

    def fake(name: str) -> dict[str, object]:
        return {"values": {"placement_sd_scale": {"special": 1.0}}}

    monkeypatch.setattr(sf, "load_parameter", fake)
    sf.spread_settings.cache_clear()
    try:
        with pytest.raises(ModelParameterError, match="placement_sd_scale.*special"):
            sf.spread_settings()
    finally:
        monkeypatch.undo()
        sf.spread_settings.cache_clear()


def test_antithetic_normals_mirror_in_pairs() -> None:
    from sendcast.model.stockflow import antithetic_normal

    z = antithetic_normal(np.random.default_rng(3), (7, 4))
    assert z.shape == (7, 4)
    # draws 0-2 are mirrored by draws 3-5; the odd seventh is a free draw
    assert np.array_equal(z[3:6], -z[:3])
    assert not np.array_equal(z[6], -z[2])
    big = antithetic_normal(np.random.default_rng(3), (20000, 1))
    assert big.mean() == pytest.approx(0.0, abs=1e-12)  # exactly balanced pairs
    assert big.std() == pytest.approx(1.0, rel=0.03)

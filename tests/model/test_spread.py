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
    age_profile_products,
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
    f = _age_profile_factors(sd, weights, 1000, np.random.default_rng(2))
    assert f is not None and f.shape == (1000, N_AGES)
    assert (f * weights).sum(1) == pytest.approx(np.full(1000, weights.sum()))
    # within a band every age gets the same factor
    for b in range(len(sd)):
        fb = f[:, BAND_OF_AGE == b]
        assert np.allclose(fb, fb[:, :1])
    assert _age_profile_factors(np.zeros(5), weights, 10, np.random.default_rng(2)) is None


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


@pytest.mark.parametrize(
    ("line", "replacement", "message"),
    [
        ("  min_sd_exit: 0.05", "  min_sd_exit: 0.05\n  interval_scale: 1.5", "interval_scale: no longer a setting"),
        (
            "  min_sd_exit: 0.05",
            "  min_sd_exit: 0.05\n  placement_sd_scale: {ap_pru: 1.5}",
            "placement_sd_scale: no longer",
        ),
        ("  min_sd_exit: 0.05", "  min_sd_exit: 0.05\n  drift_windw: 3", "drift_windw: unknown setting"),
        ("  min_sd_exit: 0.05", "  min_sd_exit: high", "min_sd_exit: 'high' is not a number"),
        ("  min_sd_exit: 0.05", "  min_sd_exit: true", "min_sd_exit: True is not a number"),
    ],
)
def test_a_setting_of_an_earlier_release_or_a_typo_is_refused_naming_the_key(
    edited_parameter, line: str, replacement: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    # a spread multiplier set in-sample in an earlier release would otherwise be read by
    # nothing and silently ignored; a misspelt setting likewise
    from sendcast.model.stockflow import settings

    f = edited_parameter("forecast_settings", line, replacement)
    with pytest.raises(ModelParameterError, match=message) as err:
        settings()
    assert str(f) in str(err.value)


def _bands_history(shares: list[list[float]], plans: float = 1000.0) -> CouncilHistory:
    """A council whose new plans by age band in each year have the given shares (no ages
    published, so nothing on ceasing can be measured)."""
    y = len(shares)
    return CouncilHistory(
        la_code="E0",
        la_name="Hand",
        years=np.arange(2015, 2015 + y),
        total=np.full(y, 5000.0),
        placement=np.full((y, N_GROUPS), np.nan),
        age_bands=np.full((y, len(AGE_BANDS)), np.nan),
        single_age=np.full((y, N_AGES), np.nan),
        new_plans=np.full(y, plans),
        new_plans_bands=np.array(shares) * plans,
        pop_years=np.array([2014]),
        pop=np.ones((1, N_AGES)),
    )


def test_age_profile_products_keep_what_two_later_years_share() -> None:
    # Years 1-3: shares 0.2/0.3/0.3/0.2/0 of 1000 new plans. Years 4-5: 0.3/0.3/0.2/0.2/0,
    # a lasting shift. Pairs (year k+1, year k+2) against the years up to k:
    #   k=1 (years 2, 3 vs year 1): no departure, product 0 in every band;
    #   k=2 (years 3, 4 vs years 1-2): year 3 departs by 0, product 0;
    #   k=3 (years 4, 5 vs years 1-3): both depart by log(0.3/0.2) at 0-4 and log(0.2/0.3)
    #   at 11-15: product log(1.5)^2 = 0.1644 in both; 5-10 and 16-19 0; 20-25 (no plans) NaN.
    base, shifted = [0.2, 0.3, 0.3, 0.2, 0.0], [0.3, 0.3, 0.2, 0.2, 0.0]
    h = _bands_history([base, base, base, shifted, shifted])
    joiners, exits = age_profile_products(h, np.ones(N_AGES), 0.0)
    assert exits.shape == (0, 5)
    assert joiners.shape == (3, 5)
    assert joiners[:2, :4] == pytest.approx(np.zeros((2, 4)))
    assert joiners[2, :4] == pytest.approx([np.log(1.5) ** 2, 0.0, np.log(1.5) ** 2, 0.0])
    assert np.isnan(joiners[:, 4]).all()


def test_a_one_year_blip_leaves_no_lasting_spread() -> None:
    # year 4 departs (0.3 at 0-4), year 5 is back to the old profile: the pair (4, 5) against
    # years 1-3 multiplies log(1.5) by 0 -> 0. A year's own noise does not persist.
    base, blip = [0.2, 0.3, 0.3, 0.2, 0.0], [0.3, 0.3, 0.2, 0.2, 0.0]
    joiners, _ = age_profile_products(_bands_history([base, base, base, blip, base]), np.ones(N_AGES), 0.0)
    assert joiners[2, :4] == pytest.approx(np.zeros(4))


def test_age_profile_spread_is_the_root_of_the_mean_product() -> None:
    from sendcast.model.selection import age_profile_spread

    # 150 pairs with product 0.04 at every band -> sd 0.2; a negative mean (the two years'
    # departures point opposite ways) -> 0; under min_comparisons (100) pairs measured -> 0
    rows = np.full((150, 5), 0.04)
    rows[:, 1] = -0.01
    rows[60:, 2] = np.nan  # only 60 pairs at 11-15
    sd = age_profile_spread([rows[:75], rows[75:]])
    assert sd == pytest.approx([0.2, 0.0, 0.0, 0.2, 0.2])
    assert age_profile_spread([]) == pytest.approx(np.zeros(5))


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

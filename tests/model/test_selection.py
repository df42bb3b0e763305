"""Settings chosen at each origin on its own data (sendcast.model.selection), on series whose
right answer can be worked out by hand."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from sendcast.model import selection
from sendcast.model.history import CouncilHistory
from sendcast.model.stockflow import fit_all, settings
from sendcast.model.structure import MAINSTREAM_INDEX
from sendcast.model.synthetic import synthetic_histories

YEARS = 12
COUNCILS = 40


def _flat(value: float) -> list[np.ndarray]:
    return [np.full(YEARS, value) for _ in range(COUNCILS)]


def _movements(rates: list[np.ndarray], into: float = 0.8, own: float = 0.05) -> selection.Movements:
    """Councils' movement ``rates`` (years, 7) with every setting drawing on the same plans every
    year: mainstream's ``into`` and its own ``own`` (shares of the plans a year on); the
    children moved are the rate times the plans it is drawn from."""
    rate = np.array(rates, dtype=float)
    base = np.zeros((*rate.shape[:2], 2, 7))
    base[..., 0, :], base[..., 1, :] = into, own
    base[..., MAINSTREAM_INDEX] = 0.0
    moved = rate * np.where(rate >= 0, into, own)
    return selection.Movements(rate, moved, base)


def _choose(rho: list[np.ndarray], lam: list[np.ndarray], movers: list[np.ndarray] | None = None) -> dict:
    if movers is None:
        movers = [np.zeros((YEARS, 7)) for _ in range(COUNCILS)]
    return selection.choose(rho, lam, _movements(movers), settings(), lambda k: (1.0, 1.0))


def test_exit_rates_that_differ_between_councils_but_not_over_time_trust_the_council() -> None:
    # council i leaves at 5% + i x 0.1% every year: its own rate is exact, the median council's
    # is wrong by up to 2 points, so the largest weight on the council's own rate wins
    lam = [np.full(YEARS, 0.05 + 0.001 * i) for i in range(COUNCILS)]
    out = _choose(_flat(0.01), lam)
    assert out["exit_own_weight"] == max(selection.candidates()["exit_own_weight"])


def test_exit_rates_that_are_noise_around_one_value_trust_the_median_council() -> None:
    # every council's yearly rate is 6% times independent noise: a council's own past says
    # nothing about its next year, the median over councils is the best guess
    rng = np.random.default_rng(1)
    lam = [0.06 * np.exp(rng.normal(0, 0.2, YEARS)) for _ in range(COUNCILS)]
    out = _choose(_flat(0.01), lam)
    spec = selection.candidates()
    assert out["exit_own_weight"] == min(spec["exit_own_weight"])
    assert out["exit_window"] == max(spec["exit_window"])  # the longest average is the least noisy


def test_a_movement_rate_that_changed_once_is_followed_by_the_shortest_window() -> None:
    # every council's movement into special schools steps from 1% to 3% of mainstream plans
    # halfway and stays: after the step the last year alone is exact
    mv = np.zeros((YEARS, 7))
    mv[:, 2] = np.where(np.arange(YEARS) < YEARS // 2, 0.01, 0.03)
    out = _choose(_flat(0.01), _flat(0.06), [mv.copy() for _ in range(COUNCILS)])
    assert out["mover_window"] == min(selection.candidates()["mover_window"])


def test_movement_spikes_that_do_not_last_are_capped_and_a_lasting_high_rate_is_not() -> None:
    # every council moves 2% of mainstream plans into special schools a year, and in about one
    # year in four (at random) half of its mainstream plans are recoded into them, once: a
    # forecast that lets a spike through carries it into the years after, where it does not
    # happen again, so the smallest cap (still above 2%) is closest in children
    rng = np.random.default_rng(4)
    spiky = []
    for _ in range(COUNCILS):
        mv = np.zeros((YEARS, 7))
        mv[:, 2] = np.where(rng.uniform(size=YEARS) < 0.25, 0.5, 0.02)
        spiky.append(mv)
    caps = selection.candidates()["max_mover_rate"]
    assert _choose(_flat(0.01), _flat(0.06), spiky)["max_mover_rate"] == min(caps)
    # a setting that takes 60% of mainstream plans every year (a newly coded setting filling):
    # only a cap above 0.6 forecasts it, and the smallest such cap is chosen
    lasting = [np.zeros((YEARS, 7)) for _ in range(COUNCILS)]
    for mv in lasting:
        mv[:, 3] = 0.6
    assert _choose(_flat(0.01), _flat(0.06), lasting)["max_mover_rate"] == min(c for c in caps if c >= 0.6)


def test_too_short_a_history_keeps_the_file_values() -> None:
    short = [np.full(4, 0.01) for _ in range(COUNCILS)]
    movers = _movements([np.zeros((4, 7))] * COUNCILS)
    out = selection.choose(short, short, movers, settings(), lambda k: (1.0, 1.0))
    for key in ("drift_window", "level_smoothing", "exit_window", "exit_own_weight", "mover_window", "max_mover_rate"):
        assert out[key] == settings()[key]


def test_common_shock_share_by_hand() -> None:
    rng = np.random.default_rng(2)
    year_effects = rng.normal(0, 0.1, YEARS)
    shared = [np.exp(np.cumsum(year_effects) + 0.01 * i) for i in range(COUNCILS)]  # only year effects
    assert selection.common_shock_share(np.log(np.array(shared))) == 1.0
    own = [np.exp(np.cumsum(rng.normal(0, 0.1, YEARS))) for _ in range(COUNCILS)]  # only own shocks
    assert selection.common_shock_share(np.log(np.array(own))) < 0.15


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.8, 1.0])
def test_shock_persistence_is_recovered_from_councils_that_follow_it(phi: float) -> None:
    # 1,000 councils' log incidence: each its own trend plus shocks that persist with
    # coefficient phi (a stationary AR(1); phi = 1 a random walk), 9 Januaries: phi comes back
    # within 0.1 (with England's 150 councils the estimate's own error is about 0.1 at phi 0.5)
    rng = np.random.default_rng(5)
    e = rng.normal(0, 0.1, (1000, 9))
    u = np.empty_like(e)
    u[:, 0] = e[:, 0] / np.sqrt(1 - phi**2) if phi < 1 else 0.0
    for t in range(1, 9):
        u[:, t] = phi * u[:, t - 1] + e[:, t]
    trend = rng.normal(0.05, 0.03, (1000, 1)) * np.arange(9)
    assert selection.shock_persistence(np.log(0.01) + trend + u) == pytest.approx(phi, abs=0.1)


def test_settings_at_an_origin_do_not_depend_on_later_years() -> None:
    # the store's tables for 12 councils to 2024, and the same tables with every count after
    # January 2020 tripled: cut at 2020 (as the backtest and the published forecast cut them),
    # the settings chosen there are the same
    from sendcast.model.history import histories_from_tables
    from sendcast.model.synthetic import synthetic_tables

    series, population = synthetic_tables(synthetic_histories(12, origin=2024, seed=3))
    later = series.copy()
    after = (later["year"] > 2020) | ((later["period_type"] == "calendar_year") & (later["year"] >= 2020))
    later.loc[after, "value"] *= 3.0
    a = fit_all(histories_from_tables(series, population, 2020), 3)
    b = fit_all(histories_from_tables(later, population, 2020), 3)
    c = fit_all(histories_from_tables(later, population, 2024), 3)
    first = next(iter(a.values())).fit_report["settings"]
    assert first == next(iter(b.values())).fit_report["settings"]
    assert first != next(iter(c.values())).fit_report["settings"]  # at 2024 the later years count


def test_joiner_offset_with_the_smallest_median_error_is_chosen() -> None:
    offsets = [0.0, 0.25, 0.5]
    # per council (years, offsets): 0.25 has the smallest mean (0.02 against 0.0275 and 0.05)
    errors = [np.array([[0.03, 0.02, 0.05]] * 60), np.array([[0.03, 0.01, 0.04], [0.02, 0.03, 0.06]] * 30)]
    assert selection.choose_candidate(offsets, errors, 0.5) == 0.25
    assert selection.choose_candidate(offsets, [e[:10] for e in errors], 0.5) == 0.5  # 20 years: too few


def _aged_council(origin: int, seed: int, offset: float, bend: np.ndarray | None) -> tuple[CouncilHistory, np.ndarray]:
    """A synthetic council whose plans by single age each January are exactly last January's
    less leavers (5% times the national age shape of ceasing, bent by ``bend`` per band with
    the same total exits) aged on a year, plus the year's new plans spread by the model's
    incidence shape with ``offset`` counted a year younger. Returns it and the national
    population its shape was made with."""
    from sendcast.model.stockflow import FEEDS_BAND, _incidence_shape, _keep_exits, age_distribution
    from sendcast.model.structure import BAND_OF_AGE, ceasing_hazard_shape

    h = next(iter(synthetic_histories(1, origin=origin, seed=seed).values()))
    national = h.pop[-1]
    g = _incidence_shape(h, national, offset)
    hz = ceasing_hazard_shape()
    a = age_distribution(h, 0)
    assert a is not None
    lam = 0.05
    for i in range(len(h.years) - 1):
        shape = hz if bend is None else _keep_exits(hz * bend[FEEDS_BAND], hz, a, lam)[0]
        leave = a * np.clip(lam * shape, 0, 1)
        aged = np.zeros_like(a)
        aged[1:] = (a - leave)[:-1]
        w = h.pop[int(np.clip(h.years[i] - h.pop_years[0], 0, len(h.pop) - 1))] * g
        nxt = aged + h.new_plans[i] * w / w.sum()
        h.single_age[i] = a
        h.total[i + 1] = nxt.sum()
        h.age_bands[i + 1] = np.bincount(BAND_OF_AGE, weights=nxt, minlength=5)
        h.single_age[i + 1] = nxt
        a = nxt
    return h, national


def test_joiner_offset_errors_are_zero_for_the_offset_the_plans_followed() -> None:
    # new plans placed by the model's shape with a quarter counted a year younger: that offset
    # has no error, the others some
    from sendcast.model.stockflow import joiner_offset_errors

    h, national = _aged_council(2016, 4, 0.25, None)
    err = joiner_offset_errors(h, national, [0.0, 0.25, 0.5])
    assert len(err) == len(h.years) - 1
    assert np.allclose(err[:, 1], 0.0, atol=1e-9)
    assert (err[:, 0] > 1e-6).all() and (err[:, 2] > 1e-6).all()


@pytest.mark.usefixtures("embedded_store")
def test_shipped_past_forecasts_were_made_with_this_model_and_data() -> None:
    # the package ships the cohort model's past points (sendcast backtest --save-accuracy);
    # made under other settings or data they would be recomputed on a user's first forecast
    import json

    from sendcast.model import api
    from sendcast.model.prequential import SHIPPED, fingerprint

    data = api.model_data()
    meta = json.loads(SHIPPED.with_suffix(".json").read_text())
    assert meta["fingerprint"] == fingerprint(data.series, data.population), (
        "run `sendcast backtest --origins 2015-2023 --horizons 1-5 --draws 1000 --save-accuracy`"
    )


def test_a_note_in_a_settings_file_does_not_change_what_past_forecasts_depend_on(
    edited_parameter: Callable[[str, str, str], Path],
) -> None:
    import pandas as pd

    from sendcast.model import prequential

    series, population = pd.DataFrame({"a": [1.0]}), pd.DataFrame({"b": [2.0]})
    before = prequential.fingerprint(series, population)
    edited_parameter("forecast_settings", "Model settings, not published figures", "Model settings (not figures)")
    assert prequential.fingerprint(series, population) == before
    edited_parameter("forecast_settings", "drift_window: [2, 3, 4, 5]", "drift_window: [2, 3, 4]")
    assert prequential.fingerprint(series, population) != before


def test_exit_age_weight_errors_are_zero_for_a_council_that_follows_its_own_pattern() -> None:
    # leavers each year follow the national age shape bent by fixed band multipliers (more
    # leaving at 15 -> 16, fewer at 19 -> 20): measured on the earlier years, the pattern
    # predicts the next year exactly with the full weight on it, and worse with less
    from sendcast.model.stockflow import exit_age_weight_errors

    h, national = _aged_council(2018, 5, 0.125, np.array([1.0, 1.0, 1.6, 0.7, 1.0]))
    err = exit_age_weight_errors(h, national, [0.0, 0.5, 1.0], 0.125)
    assert len(err) == len(h.years) - 2  # every year with an earlier one to measure on
    assert np.allclose(err[:, 2], 0.0, atol=1e-6)
    assert (err[:, 0] > err[:, 1]).all() and (err[:, 1] > err[:, 2]).all()


@pytest.mark.parametrize(
    ("line", "replacement", "says"),
    [
        ("drift_window: [2, 3, 4, 5]", "drift_window: [true, 3]", "list of numbers"),
        ("drift_window: [2, 3, 4, 5]", "drift_window: [0, 3]", "whole years"),
        ("mover_window: [1, 2, 3, 4]", "mover_window: [2.5]", "whole years"),
        ("level_smoothing: [0.25, 0.5, 0.75, 1.0]", "level_smoothing: [1.5]", "0-1"),
        ("min_comparisons: 100", "min_comparisons: .nan", "whole number"),
    ],
)
def test_a_bad_candidate_list_is_refused_naming_the_key(
    edited_parameter: Callable[[str, str, str], Path], line: str, replacement: str, says: str
) -> None:
    from sendcast.model import structure

    edited_parameter("forecast_settings", line, replacement)
    with pytest.raises(structure.ModelParameterError, match=f"select.*{says}"):
        selection.candidates()

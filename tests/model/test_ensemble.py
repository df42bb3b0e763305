"""The published forecast's combination, calibration and reconciliation, checked by hand."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from sendcast.model.ensemble import (
    BAND_IDX,
    COMPONENTS,
    GROUP_IDX,
    INDEPENDENT,
    MEASURES,
    SPECIAL_IDX,
    STATE,
    TOTAL,
    OriginPoints,
    combine,
    learn,
    national_path,
    reconcile,
    reconcile_keeping_spreads,
    weight_grid,
)


def test_weight_grid_sums_to_one() -> None:
    g = weight_grid(3, 0.5)
    # (1,0,0) (0.5,0.5,0) (0.5,0,0.5) (0,1,0) (0,0.5,0.5) (0,0,1)
    assert g.shape == (6, 3)
    assert np.allclose(g.sum(1), 1.0)


def test_combine_is_a_geometric_mean_of_one_plus_plans() -> None:
    # exp(0.5 log 11 + 0.5 log 101) - 1 = sqrt(11 x 101) - 1 = 32.33
    assert combine(np.array([10.0, 100.0]), np.array([0.5, 0.5])) == pytest.approx(np.sqrt(11 * 101) - 1)
    # a missing component drops out and the other takes its weight
    assert combine(np.array([10.0, np.nan]), np.array([0.5, 0.5])) == pytest.approx(10.0)


def test_reconcile_by_hand() -> None:
    # 4 draws, 1 year: the total is 100 in every draw (no variance), mainstream varies
    # (50, 60, 40, 50) and the six other groups are 10 each: the sums are 110, 120, 100, 110, so
    # the gaps (-10, -20, 0, -10) all go to mainstream -> 40 in every draw; nothing else moves.
    y = np.zeros((4, 1, len(MEASURES)))
    y[:, 0, TOTAL] = 100.0
    y[:, 0, GROUP_IDX] = 10.0
    y[:, 0, GROUP_IDX[0]] = [50.0, 60.0, 40.0, 50.0]
    y[:, 0, SPECIAL_IDX] = 20.0  # = state-funded 10 + independent 10
    y[:, 0, BAND_IDX] = 20.0  # already adds up
    r = reconcile(y)
    assert np.allclose(r[:, 0, TOTAL], 100.0)
    assert np.allclose(r[:, 0, GROUP_IDX[0]], 40.0)
    assert np.allclose(r[:, 0, GROUP_IDX[1:]], 10.0)
    assert np.allclose(r[:, 0, BAND_IDX], 20.0)
    assert np.allclose(r[..., SPECIAL_IDX], r[..., STATE] + r[..., INDEPENDENT])


def test_all_special_schools_is_reconciled_as_one_part_then_split() -> None:
    # 4 draws: total 100, mainstream 50, four groups 5 each, all special schools 30 (steady);
    # state-funded steady at 20, independent (4, 14, 8, 12). The total's parts add up (50 + 20 +
    # 30), so nothing moves at the first level; all special schools is held at 30 and its gap
    # (6, -4, 2, -2) goes to independent, the one that varies -> 10 in every draw.
    y = np.zeros((4, 1, len(MEASURES)))
    y[:, 0, TOTAL] = 100.0
    y[:, 0, GROUP_IDX] = 5.0
    y[:, 0, GROUP_IDX[0]] = 50.0
    y[:, 0, SPECIAL_IDX] = 30.0
    y[:, 0, STATE] = 20.0
    y[:, 0, INDEPENDENT] = [4.0, 14.0, 8.0, 12.0]
    y[:, 0, BAND_IDX] = 20.0
    r = reconcile(y)
    assert np.allclose(r[:, 0, SPECIAL_IDX], 30.0)
    assert np.allclose(r[:, 0, STATE], 20.0)
    assert np.allclose(r[:, 0, INDEPENDENT], 10.0)
    assert np.allclose(r[:, 0, GROUP_IDX[0]], 50.0)


def test_reconciled_draws_add_up_and_stay_non_negative() -> None:
    rng = np.random.default_rng(1)
    y = rng.gamma(2.0, 50.0, size=(300, 3, len(MEASURES)))
    r = reconcile(y)
    assert (r >= 0).all()
    assert np.allclose(r[..., GROUP_IDX].sum(-1), r[..., TOTAL])
    assert np.allclose(r[..., BAND_IDX].sum(-1), r[..., TOTAL])
    assert np.allclose(r[..., SPECIAL_IDX], r[..., STATE] + r[..., INDEPENDENT])


def _two_parts(d: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """A total fixed at 100 split into mainstream and resourced provision, 50 each at the centre,
    each with its own independent remainder (sd 0.1 in log(1 + plans)); every other part 0."""
    rng = np.random.default_rng(2)
    centre = np.zeros((1, 1, len(MEASURES)))
    centre[..., TOTAL] = np.log1p(100.0)
    centre[..., GROUP_IDX[:2]] = np.log1p(50.0)
    centre[..., BAND_IDX[0]] = np.log1p(100.0)
    local = np.zeros((d, 1, len(MEASURES)))
    local[..., GROUP_IDX[:2]] = rng.normal(0.0, 0.1, size=(d, 1, 2))
    return centre, local


def test_reconciliation_keeps_the_parts_calibrated_spread() -> None:
    # a fixed total of two equal parts A and B: reconciling alone gives A' = A + (100 - A - B)/2
    # = 50 + (A - B)/2, whose spread is 1/sqrt(2) of A's (half the variance); rescaling the
    # remainders (by sqrt 2) gives A' the spread A was calibrated to, and the parts still add up
    centre, local = _two_parts()
    a = np.expm1(centre + local)[:, 0, GROUP_IDX[0]]
    width = float(np.subtract(*np.quantile(np.log1p(a), [0.9, 0.1])))
    plain = reconcile(np.expm1(centre + local))[:, 0, GROUP_IDX[0]]
    kept = reconcile_keeping_spreads(centre, local)
    w_plain = float(np.subtract(*np.quantile(np.log1p(plain), [0.9, 0.1])))
    w_kept = float(np.subtract(*np.quantile(np.log1p(kept[:, 0, GROUP_IDX[0]]), [0.9, 0.1])))
    assert w_plain / width == pytest.approx(1 / np.sqrt(2), rel=0.03)
    assert w_kept / width == pytest.approx(1.0, rel=0.03)
    assert np.allclose(kept[..., GROUP_IDX].sum(-1), 100.0)
    assert np.allclose(kept[..., TOTAL], 100.0)
    assert np.allclose(kept[..., SPECIAL_IDX], kept[..., STATE] + kept[..., INDEPENDENT])
    # no rescaling asked for: plain reconciliation
    assert np.allclose(reconcile_keeping_spreads(centre, local, iterations=0), reconcile(np.expm1(centre + local)))


def test_national_paths_of_measures_share_one_standard_path() -> None:
    sd = np.array([[0.01, 0.05], [0.02, 0.10]])  # (H, M): the second measure 5 times the first
    z = national_path(3, 20_000, sd)
    assert z.shape == (20_000, 2, 2)
    assert np.allclose(z.std(0), sd, rtol=0.03)
    assert np.allclose(z[..., 1], 5 * z[..., 0])
    # a measure's path is the one-measure path scaled
    assert np.allclose(z[..., 0], national_path(3, 20_000, sd[:, 0]))


def test_national_path_has_the_stated_spread() -> None:
    sd = np.array([0.01, 0.02, 0.04])
    z = national_path(3, 40_000, sd)
    assert np.allclose(z.std(0), sd, rtol=0.03)
    # antithetic: the second half mirrors the first
    assert np.allclose(z[:20_000], -z[20_000:])
    assert np.array_equal(z, national_path(3, 40_000, sd))


def _points(origin: int, n: int, rng: np.random.Generator) -> OriginPoints:
    pts = rng.uniform(900, 1100, size=(n, len(COMPONENTS), 3, len(MEASURES)))
    return OriginPoints(origin, [f"E0{i:07d}" for i in range(n)], pts, pts[:, 0, 0, :].copy())


def _actuals(n: int, years: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {f"E0{i:07d}": rng.uniform(900, 1100, size=(len(years), len(MEASURES))) for i in range(n)}


def test_learning_uses_only_outcomes_published_by_the_origin() -> None:
    rng = np.random.default_rng(0)
    years = np.arange(2015, 2025)
    past = [_points(o, 30, rng) for o in (2018, 2019, 2020)]
    actuals = _actuals(30, years, rng)
    a = learn(2021, past, actuals, years, 3)
    late = {c: v.copy() for c, v in actuals.items()}
    for v in late.values():
        v[years > 2021] *= 3.0  # outcomes published after January 2021 are scrambled
    b = learn(2021, past, late, years, 3)
    assert np.array_equal(a.weights, b.weights)
    assert np.array_equal(a.local_quantiles, b.local_quantiles)
    assert np.array_equal(a.national_sd, b.national_sd)
    # the converse: the outcome of January 2021 is learned from
    early = {c: v.copy() for c, v in actuals.items()}
    for v in early.values():
        v[years == 2021] *= 1.5
    c = learn(2021, past, early, years, 3)
    assert not np.array_equal(a.local_quantiles, c.local_quantiles)


def test_stacking_finds_the_component_that_was_right() -> None:
    rng = np.random.default_rng(2)
    years = np.arange(2015, 2025)
    past = [_points(o, 40, rng) for o in (2018, 2019)]
    actuals = _actuals(40, years, rng)
    for p in past:  # the outcome one year on was exactly the pooled-growth forecast
        for i, c in enumerate(p.la_codes):
            actuals[c][np.searchsorted(years, p.origin + 1)] = p.points[i, 1, 0, :]
    cal = learn(2020, past, actuals, years, 1)
    assert np.allclose(cal.weights[0, :, 1], 1.0)
    assert cal.n_train[0, 0] == 80


def test_forecasts_before_the_transition_ended_are_not_learned_from() -> None:
    rng = np.random.default_rng(3)
    years = np.arange(2012, 2025)
    past = [_points(o, 30, rng) for o in (2015, 2016)]
    cal = learn(2018, past, _actuals(30, years, rng), years, 2)
    assert cal.n_train.sum() == 0


def _indicator_councils(n: int = 40, slope: float = 0.5) -> dict:
    """Councils whose next-year log growth is 0.05 + ``slope`` x (requests per plan - 0.3)."""
    from sendcast.model.synthetic import synthetic_history

    rng = np.random.default_rng(3)
    out = {}
    for k in range(n):
        h = synthetic_history(f"E0699{k:04d}", origin=2024, seed=k)
        y = len(h.years)
        rate = rng.uniform(0.2, 0.4, y)  # requests in calendar year t-1 per plan in January t
        total = np.empty(y)
        total[0] = 1000.0 + 100 * k
        for i in range(1, y):
            total[i] = total[i - 1] * np.exp(0.05 + slope * (rate[i - 1] - 0.3))
        h.total = total
        h.requests = np.append(rate[1:] * total[1:], np.nan)  # calendar t-1's requests over January t's plans
        h.within_20_weeks = rng.uniform(40, 90, y)
        out[h.la_code] = h
    return out


def test_indicator_regression_recovers_how_requests_lead_growth() -> None:
    from sendcast.model.ensemble import indicator_deviation, indicator_features

    hs = _indicator_councils()
    codes = sorted(hs)
    dev = indicator_deviation(hs, codes, 2)
    rate = np.array([indicator_features(hs[c], 2024)[0] for c in codes])
    # one year ahead: the deviation from the median council is slope x the requests rate's
    assert np.allclose(dev[:, 0], 0.5 * (rate - np.median(rate)), atol=1e-6)
    # and with no link between requests and growth, none is found
    flat = _indicator_councils(slope=0.0)
    assert np.abs(indicator_deviation(flat, codes, 1)).max() < 1e-6


def test_indicator_rules_use_nothing_after_the_origin() -> None:
    from sendcast.model.ensemble import indicator_deviation

    def cut(hs: dict, origin: int) -> dict:
        out = {}
        for c, h in hs.items():
            n = int(origin - h.years[0]) + 1
            per_year = {
                k: v[:n].copy() for k, v in h.__dict__.items() if isinstance(v, np.ndarray) and len(v) == len(h.years)
            }
            out[c] = type(h)(**{**h.__dict__, **per_year, "pop_years": h.pop_years, "pop": h.pop})
        return out

    hs = _indicator_councils()
    codes = sorted(hs)
    base = indicator_deviation(cut(hs, 2020), codes, 3)
    assert np.isfinite(base).all()
    # flows of calendar 2020 (published after January 2020) are not read ...
    late = cut(hs, 2020)
    for h in late.values():
        h.requests[-1] *= 3
        h.within_20_weeks[-1] = 0.0
    assert np.allclose(base, indicator_deviation(late, codes, 3))
    # ... while the outcomes to January 2020 are learned from
    moved = cut(hs, 2020)
    for k, h in enumerate(moved.values()):
        h.total[-1] *= 1.0 + 0.01 * (k % 7)
    assert not np.allclose(base, indicator_deviation(moved, codes, 3))


def test_each_measure_has_its_own_national_spread() -> None:
    # every council's outcome one year on is its forecast, except that plans in total came in
    # 10% above it everywhere: the total's national error is log 1.1 at each past origin, the
    # placement groups' is 0, so the total's national sd (those errors with the random-walk prior
    # counting as one origin) is larger than any group's (zeros and the prior)
    rng = np.random.default_rng(4)
    years = np.arange(2015, 2025)
    past = [_points(o, 30, rng) for o in (2018, 2019, 2020)]
    actuals = _actuals(30, years, rng)
    for p in past:
        p.points[:] = p.points[:, :1]  # every component the same: the combined point is it, whatever the weights
        for i, c in enumerate(p.la_codes):
            row = p.points[i, 0, 0, :].copy()
            row[TOTAL] *= 1.1
            actuals[c][np.searchsorted(years, p.origin + 1)] = row
    cal = learn(2021, past, actuals, years, 1)
    assert cal.national_sd.shape == (3, len(MEASURES))  # the past points' three years ahead
    # a group: three errors of 0 and the prior's variance rw, counted as one origin: sqrt(rw / 4)
    group = cal.national_sd[0, GROUP_IDX[0]]
    assert np.allclose(cal.national_sd[0, GROUP_IDX], group)
    rw = 4 * group**2
    # the total: three errors of log 1.1 and the same prior: sqrt((3 log(1.1)^2 + rw) / 4)
    assert cal.national_sd[0, TOTAL] == pytest.approx(np.sqrt((3 * np.log(1.1) ** 2 + rw) / 4))
    assert cal.national_sd[0, TOTAL] > 3 * group


@pytest.mark.parametrize(
    ("line", "replacement", "key"),
    [
        ("spread_matching_iterations: 6", "spread_matching_iterations: 2.5", "values.spread_matching_iterations"),
        ("spread_matching_iterations: 6", "spread_matching_iterations: -1", "values.spread_matching_iterations"),
        ("weight_step: 0.1", "weight_step: tenth", "values.weight_step"),
        ("weight_step: 0.1", "weight_step: .nan", "values.weight_step"),
    ],
)
def test_a_bad_method_constant_is_refused_naming_file_and_key(
    edited_parameter: Callable[[str, str, str], Path], line: str, replacement: str, key: str
) -> None:
    from sendcast.model import ensemble, structure

    edited_parameter("ensemble", line, replacement)
    with pytest.raises(structure.ModelParameterError, match=f"ensemble.yaml: {key}"):
        ensemble.method()

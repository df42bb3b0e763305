"""Backtest scoring checked by hand on a tiny fixture: three councils, four years."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sendcast.evaluate.backtest import crps_from_draws, metrics, score
from sendcast.model.forecast import MEASURES
from sendcast.model.history import CouncilHistory
from sendcast.model.structure import N_AGES, N_BANDS, N_GROUPS

YEARS = np.array([2020, 2021, 2022, 2023])


def _hist(code: str, totals: list[float]) -> CouncilHistory:
    n = len(totals)
    return CouncilHistory(
        la_code=code,
        la_name=code,
        years=YEARS[:n],
        total=np.array(totals, float),
        placement=np.full((n, N_GROUPS), np.nan),
        age_bands=np.full((n, N_BANDS), np.nan),
        single_age=np.full((n, N_AGES), np.nan),
        new_plans=np.full(n, np.nan),
        new_plans_bands=np.full((n, N_BANDS), np.nan),
        pop_years=np.array([2019]),
        pop=np.ones((1, N_AGES)),
    )


def _draws(values_at_h1: np.ndarray, origin_value: float) -> np.ndarray:
    d = len(values_at_h1)
    arr = np.full((d, 2, len(MEASURES)), np.nan)
    arr[:, 0, 0] = origin_value
    arr[:, 1, 0] = values_at_h1
    return arr


@pytest.fixture
def scored():
    # Origin January 2022; outcome January 2023 (horizon 1). Histories to 2022 (three years).
    hist = {
        "A": _hist("A", [80, 90, 100]),  # one-year changes 10, 10 -> MASE scale 10
        "B": _hist("B", [100, 100, 100]),  # changes 0, 0 -> scale 0 -> MASE undefined (NaN)
        "C": _hist("C", [150, 180, 200]),  # changes 30, 20 -> scale 25
    }
    actual = {c: np.full((4, len(MEASURES)), np.nan) for c in hist}
    actual["A"][:, 0] = [80, 90, 100, 100]
    actual["B"][:, 0] = [100, 100, 100, 100]
    actual["C"][:, 0] = [150, 180, 200, 250]
    draws = {
        "A": _draws(np.full(101, 110.0), 100),  # always 110; outcome 100
        "B": _draws(np.linspace(90, 110, 101), 100),  # 90..110 evenly; outcome 100
        "C": _draws(np.full(101, 200.0), 200),  # always 200; outcome 250
    }
    return score("m", 2022, draws, hist, actual, YEARS, horizons=[1], measures=["ehcp_total"])


def test_errors_by_hand(scored) -> None:
    s = scored.set_index("la_code")
    # A: median 110 - 100 = +10 -> APE 10%; C: 200 - 250 = -50 -> APE 20%; B: median 100 -> 0
    assert s.loc["A", "error"] == 10 and s.loc["A", "ape"] == pytest.approx(0.10)
    assert s.loc["B", "ape"] == pytest.approx(0.0)
    assert s.loc["C", "error"] == -50 and s.loc["C", "ape"] == pytest.approx(0.20)
    # MASE scaled errors: A 10/10 = 1; C 50/25 = 2; B undefined (no change in history)
    assert s.loc["A", "scaled_error"] == pytest.approx(1.0)
    assert s.loc["C", "scaled_error"] == pytest.approx(2.0)
    assert np.isnan(s.loc["B", "scaled_error"])
    # 80% interval: A is [110, 110] (misses 100), B is [92, 108] (holds 100), C [200, 200] misses
    assert list(s["in80"]) == [False, True, False]
    # B's 80% band 92..108 is 16% of the outcome 100 wide
    assert s.loc["B", "width80"] == pytest.approx(0.16)


def test_metrics_by_hand(scored) -> None:
    m = metrics(scored).iloc[0]
    assert m["n"] == 3
    assert m["mdape"] == pytest.approx(0.10)  # median of 0.10, 0, 0.20
    assert m["mape"] == pytest.approx(0.10)  # (0.10 + 0 + 0.20) / 3
    assert m["bias"] == pytest.approx((10 + 0 - 50) / 3)
    assert m["coverage80"] == pytest.approx(1 / 3)
    assert m["mase"] == pytest.approx(1.5)  # mean of 1 and 2 (B undefined, left out)


def test_crps_of_a_point_forecast_is_the_absolute_error() -> None:
    assert crps_from_draws(np.full((50, 1), 110.0), np.array([100.0]))[0] == pytest.approx(10.0)


def test_crps_two_point_sample_by_hand() -> None:
    # sample {0, 2}, outcome 1: E|X-y| = 1, E|X-X'| = (0 + 2 + 2 + 0)/4 = 1 -> CRPS = 1 - 0.5 = 0.5
    assert crps_from_draws(np.array([[0.0], [2.0]]), np.array([1.0]))[0] == pytest.approx(0.5)


def test_headline_improvement_over_best_and_best_naive_baseline() -> None:
    from sendcast.evaluate.report import headline

    # one horizon, two councils per model; MdAPE = mean of the two APEs:
    # sendcast (0.02 + 0.04) / 2 = 0.03; pooled_growth 0.035; avg_growth_3y 0.04;
    # drift 0.05; last_value 0.10. Best baseline: pooled_growth, 1 - 0.03/0.035 = 1/7;
    # best naive: avg_growth_3y, 1 - 0.03/0.04 = 0.25.
    apes = {
        "sendcast": (0.02, 0.04),
        "pooled_growth": (0.03, 0.04),
        "avg_growth_3y": (0.03, 0.05),
        "drift": (0.05, 0.05),
        "last_value": (0.10, 0.10),
    }
    rows = [
        {
            "model": m,
            "measure": "ehcp_total",
            "horizon": 1,
            "ape": a,
            "error": -a * 100,
            "actual": 100.0,
            "scaled_error": a,
            "in50": True,
            "in80": True,
            "in90": True,
            "width80": 0.1,
            "crps": 1.0,
        }
        for m, pair in apes.items()
        for a in pair
    ]
    hl = headline(pd.DataFrame(rows), horizons=(1,))
    sc = hl[hl["model"] == "sendcast"].iloc[0]
    assert sc["mdape"] == pytest.approx(0.03)
    assert sc["best_baseline"] == "pooled_growth"
    assert sc["improvement_vs_best_baseline"] == pytest.approx(1 / 7)
    assert sc["best_naive"] == "avg_growth_3y"
    assert sc["improvement_vs_best_naive"] == pytest.approx(0.25)

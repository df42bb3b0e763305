"""What a correctly calibrated 80% band would hold, checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sendcast.evaluate.calibration import calibration_check, coverage_if_calibrated
from sendcast.model.forecast import MEASURES

TOTAL = MEASURES.index("ehcp_total")


def _draws(values: np.ndarray) -> np.ndarray:
    """Draws (D, 2, M) whose year-1 total is ``values`` (year 0 and other measures 0)."""
    out = np.zeros((len(values), 2, len(MEASURES)))
    out[:, 1, TOTAL] = values
    return out


def _scored(codes: list[str], p10: float, p90: float, origin: int = 2020) -> pd.DataFrame:
    return pd.DataFrame(
        {"la_code": codes, "measure": "ehcp_total", "horizon": 1, "origin": origin, "p10": p10, "p90": p90}
    )


def test_councils_that_move_together_hold_all_or_nothing() -> None:
    # 20 councils with the same 10 draws 0..9 and the band 1..8: a pseudo-outcome (the same draw
    # number for every council) is held by every council (draws 1..8, 8 in 10) or by none (0, 9)
    codes = [f"E{i:08d}" for i in range(20)]
    draws = {c: _draws(np.arange(10.0)) for c in codes}
    null = coverage_if_calibrated(draws, _scored(codes, 1.0, 8.0), origin=2020, seed=1, replicates=2000)
    assert set(null["coverage"].unique()) <= {0.0, 1.0}
    assert abs(null["coverage"].mean() - 0.8) < 0.03
    assert (null["n"] == 20).all()


def test_independent_councils_hold_about_eighty_percent_each_time() -> None:
    # 400 councils, each with its own shuffle of the draws 0..9: each replicate's share held is
    # a mean of 400 independent 8-in-10 events, so 0.8 give or take 2 points (sd 0.02)
    rng = np.random.default_rng(5)
    codes = [f"E{i:08d}" for i in range(400)]
    draws = {c: _draws(rng.permutation(10).astype(float)) for c in codes}
    null = coverage_if_calibrated(draws, _scored(codes, 1.0, 8.0), origin=2020, seed=1, replicates=500)
    assert abs(null["coverage"].mean() - 0.8) < 0.01
    assert null["coverage"].between(0.7, 0.9).all()


def test_verdicts_compare_the_observed_share_with_the_calibrated_range() -> None:
    # the calibrated share is 0.7, 0.8 or 0.9 (a third each) at one origin: 5th-95th 0.7-0.9
    null = pd.DataFrame(
        {
            "origin": 2020,
            "measure": "ehcp_total",
            "horizon": 1,
            "n": 10,
            "replicate": range(300),
            "coverage": np.tile([0.7, 0.8, 0.9], 100),
        }
    )

    def scores(held: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "model": "sendcast",
                "la_code": [f"E{i:08d}" for i in range(10)],
                "origin": 2020,
                "measure": "ehcp_total",
                "horizon": 1,
                "in80": [True] * held + [False] * (10 - held),
            }
        )

    for held, verdict in ((10, "too wide"), (9, "consistent"), (7, "consistent"), (6, "too narrow")):
        chk = calibration_check(null, scores(held))
        assert chk.loc[0, "verdict"] == verdict, held
        assert chk.loc[0, "calibrated_p5"] == 0.7 and chk.loc[0, "calibrated_p95"] == 0.9
        assert chk.loc[0, "coverage80"] == held / 10


def test_england_known_in_advance_leaves_each_councils_own_error() -> None:
    from sendcast.evaluate.report import england_known

    # two councils forecast 100 and 200, outcomes 120 and 240: both 1/6 below (MdAPE 16.7%);
    # scaled by England's 360 / 300 = 1.2 both are exact. A third pair: 100 and 100 against 110
    # and 90 (England exact): 10% each, whichever way
    rows = [
        ("sendcast", 2020, 1, "A", 100.0, 120.0),
        ("sendcast", 2020, 1, "B", 200.0, 240.0),
        ("sendcast", 2021, 1, "A", 100.0, 110.0),
        ("sendcast", 2021, 1, "B", 100.0, 90.0),
    ]
    s = pd.DataFrame(rows, columns=["model", "origin", "horizon", "la_code", "p50", "actual"])
    s["measure"] = "ehcp_total"
    s["ape"] = (s["p50"] - s["actual"]).abs() / s["actual"]
    t = england_known(s).iloc[0]
    # as scored: 1/6, 1/6, 1/11, 1/9 -> median of (0.0909, 0.1111, 0.1667, 0.1667) = 0.1389
    assert t["mdape"] == pytest.approx((1 / 9 + 1 / 6) / 2)
    # England known: 0, 0, 1/11, 1/9 -> median (0 + 1/11) / 2
    assert t["mdape_england_known"] == pytest.approx((0 + 1 / 11) / 2)

"""The backtest's scores, computed a council at a time, are the per-forecast scores exactly:
the reference below is the per-forecast loop the backtest used before (one quantile, mean and
CRPS call per council, measure and horizon), run on real histories and on random draws with
gaps, float32 and integer draws, missing outcomes and horizons beyond the draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sendcast.evaluate.backtest import SCORE_COLUMNS, crps_from_draws, score
from sendcast.model import api
from sendcast.model.ensemble import history_measures
from sendcast.model.forecast import MEASURES


def per_forecast_score(model, origin, draws, histories, actuals, actual_years, horizons, measures=None):  # type: ignore[no-untyped-def]
    """The backtest's scoring before it was vectorised (one forecast at a time)."""
    rows: list[dict[str, object]] = []
    mids = [MEASURES.index(m) for m in (measures or MEASURES)]
    for code, arr in draws.items():
        if code not in actuals or code not in histories:
            continue
        hist = history_measures(histories[code])
        for m in mids:
            past = hist[:, m]
            diffs = np.abs(np.diff(past))
            diffs = diffs[np.isfinite(diffs)]
            scale = float(diffs.mean()) if len(diffs) else np.nan
            for h in horizons:
                year = origin + h
                if h >= arr.shape[1] or year not in actual_years:
                    continue
                a = actuals[code][int(np.searchsorted(actual_years, year)), m]
                sample = arr[:, h, m]
                if not np.isfinite(a) or not np.isfinite(sample).all():
                    continue
                q = np.quantile(sample, [0.05, 0.10, 0.25, 0.5, 0.75, 0.90, 0.95])
                err = q[3] - a
                rows.append(
                    {
                        "model": model,
                        "origin": origin,
                        "horizon": h,
                        "year": year,
                        "la_code": code,
                        "la_name": histories[code].la_name,
                        "measure": MEASURES[m],
                        "actual": a,
                        "mean": float(sample.mean()),
                        "p5": q[0],
                        "p10": q[1],
                        "p25": q[2],
                        "p50": q[3],
                        "p75": q[4],
                        "p90": q[5],
                        "p95": q[6],
                        "error": err,
                        "ape": abs(err) / a if a > 0 else np.nan,
                        "in50": bool(q[2] <= a <= q[4]),
                        "in80": bool(q[1] <= a <= q[5]),
                        "in90": bool(q[0] <= a <= q[6]),
                        "width80": (q[5] - q[1]) / a if a > 0 else np.nan,
                        "scaled_error": abs(err) / scale if scale and np.isfinite(scale) and scale > 0 else np.nan,
                        "crps": float(crps_from_draws(sample[:, None], np.array([a]))[0]),
                    }
                )
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


@pytest.fixture(scope="module")
def inputs():  # type: ignore[no-untyped-def]
    data = api.model_data()
    origin = data.last_origin - 3
    hist = api.histories(data, origin)
    full = api.histories(data, data.last_origin)
    actuals = {c: history_measures(h) for c, h in full.items()}
    years = np.asarray(next(iter(full.values())).years)
    return origin, hist, actuals, years


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_vectorised_scores_equal_per_forecast_scores(inputs, dtype) -> None:  # type: ignore[no-untyped-def]
    origin, hist, actuals, years = inputs
    rng = np.random.default_rng(3)
    codes = sorted(hist)[:25]
    draws = {}
    for i, c in enumerate(codes):
        base = np.nan_to_num(history_measures(hist[c])[-1], nan=50.0)
        arr = base[None, None, :] * rng.lognormal(0, 0.1, size=(301, 5 if i % 4 else 3, len(MEASURES)))
        if i % 5 == 1 and dtype is not np.int64:
            arr[rng.integers(0, 301), 2, 3] = np.nan  # a non-finite draw: that forecast is not scored
        draws[c] = np.round(arr).astype(dtype) if dtype is np.int64 else arr.astype(dtype)
    draws["E99999999"] = next(iter(draws.values()))  # not a council in the histories: skipped
    act = {c: a.copy() for c, a in actuals.items()}
    act[codes[2]][-1, :4] = np.nan  # unpublished outcomes
    for horizons, measures in [([1, 2, 3, 4, 5, 6], None), ([3, 1], ["ehcp_total", "mainstream"])]:
        new = score("m", origin, draws, hist, act, years, horizons, measures)
        ref = per_forecast_score("m", origin, draws, hist, act, years, horizons, measures)
        assert len(new) > 50
        pd.testing.assert_frame_equal(new, ref, check_exact=True)


def test_no_scores_is_an_empty_table(inputs) -> None:  # type: ignore[no-untyped-def]
    origin, hist, actuals, years = inputs
    out = score("m", origin, {}, hist, actuals, years, [1])
    pd.testing.assert_frame_equal(out, per_forecast_score("m", origin, {}, hist, actuals, years, [1]))

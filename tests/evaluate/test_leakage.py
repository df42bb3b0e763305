"""No leakage: changing any data after an origin does not change that origin's forecast."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sendcast.evaluate.backtest import backtest
from sendcast.model.forecast import run_forecast
from sendcast.model.history import histories_from_tables
from sendcast.model.synthetic import synthetic_histories, synthetic_tables


def _tables():
    return synthetic_tables(synthetic_histories(5, origin=2024))


def test_changing_data_after_the_origin_changes_nothing() -> None:
    series, pop = _tables()
    origin = 2019
    base = run_forecast(histories_from_tables(series, pop, origin), horizon=3, draws=100, seed=5).summary
    tampered = series.copy()
    # caseloads after January 2019 and flows from calendar 2019 on are scrambled
    late = ((tampered["period_type"] == "january") & (tampered["year"] > origin)) | (
        (tampered["period_type"] == "calendar_year") & (tampered["year"] >= origin)
    )
    tampered.loc[late, "value"] = tampered.loc[late, "value"] * 3 + 17
    pop2 = pop.copy()
    pop2.loc[pop2["year"] > origin - 2, "population"] *= 5
    again = run_forecast(histories_from_tables(tampered, pop2, origin), horizon=3, draws=100, seed=5).summary
    pd.testing.assert_frame_equal(base, again)


def test_changing_data_before_the_origin_does_change_it() -> None:
    # the converse, so the test above cannot pass by ignoring data altogether
    series, pop = _tables()
    origin = 2019
    base = run_forecast(histories_from_tables(series, pop, origin), horizon=3, draws=100, seed=5).summary
    s2 = series.copy()
    early = (s2["period_type"] == "calendar_year") & (s2["year"] == origin - 1) & (s2["measure"] == "new_plans")
    s2.loc[early, "value"] *= 1.5
    again = run_forecast(histories_from_tables(s2, pop, origin), horizon=3, draws=100, seed=5).summary
    assert not np.allclose(base["mean"], again["mean"])


def test_backtest_runs_all_models_and_scores_each_horizon() -> None:
    series, pop = _tables()
    scores = backtest(
        series,
        pop,
        origins=[2018, 2019],
        horizons=[1, 3],
        draws=50,
        models=["sendcast", "last_value", "drift", "avg_growth_3y", "pooled_growth"],
        measures=["ehcp_total"],
    )
    assert set(scores["model"]) == {"sendcast", "last_value", "drift", "avg_growth_3y", "pooled_growth"}
    assert set(scores["horizon"]) == {1, 3}
    # 5 councils x 2 origins x 2 horizons per model
    assert (scores.groupby("model").size() == 20).all()
    assert scores["ape"].notna().all()


def test_published_forecast_ignores_outcomes_after_its_origin() -> None:
    # the published forecast at 2020 learns from origins 2018-2019 and outcomes to January 2020:
    # scrambling every caseload and flow after that leaves its forecasts (not its scores) unchanged
    series, pop = _tables()
    run = dict(origins=[2020], horizons=[1, 2], draws=40, models=["sendcast"], measures=["ehcp_total"])
    base = backtest(series, pop, **run)  # type: ignore[arg-type]
    tampered = series.copy()
    late = ((tampered["period_type"] == "january") & (tampered["year"] > 2020)) | (
        (tampered["period_type"] == "calendar_year") & (tampered["year"] >= 2020)
    )
    tampered.loc[late, "value"] = tampered.loc[late, "value"] * 2 + 5
    again = backtest(tampered, pop, **run)  # type: ignore[arg-type]
    cols = ["la_code", "horizon", "p10", "p50", "p90"]
    pd.testing.assert_frame_equal(base[cols], again[cols])
    assert not np.allclose(base["actual"], again["actual"])

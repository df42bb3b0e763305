"""The money back-cast and England's draw-by-draw sum on synthetic inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from money_fixtures import synthetic_inputs

from sendcast.money.backtest import run_backtest, write_backtest
from sendcast.money.budget import compute_budget, sum_results


def test_backcast_scores_each_year_from_the_balance_before_it(tmp_path: Path) -> None:
    inp = synthetic_inputs()
    inp.safety_valve = inp.safety_valve.iloc[0:0]  # type: ignore[attr-defined]
    bt = run_backtest(inp, draws=50, seed=1)
    rows = bt.rows.set_index("financial_year")
    assert list(rows.index) == ["2020-21", "2021-22"]
    # error = (modelled median - published) / block x 100, published = change between 31 Marches
    r = rows.loc["2021-22"]
    assert r.error_pct_hnb == pytest.approx((r.modelled_in_year_p50 - r.published_in_year) / r.high_needs_block * 100)
    assert r.published_in_year == pytest.approx(r.published_cumulative - rows.loc["2020-21", "published_cumulative"])
    assert bt.scores.iloc[0]["group"] == "other councils" and bt.scores.iloc[0]["councils"] == 1
    paths = write_backtest(bt, tmp_path / "bt")
    assert {p.name for p in paths} == {"backtest.csv", "councils.csv", "scores.csv", "england.csv", "report.html"}


def test_safety_valve_councils_are_scored_apart() -> None:
    inp = synthetic_inputs()
    inp.safety_valve = inp.safety_valve.assign(agreement_financial_year=2021, agreement_period="2021-22")  # type: ignore[attr-defined]
    bt = run_backtest(inp, draws=20, seed=1)
    assert set(bt.rows["group"]) == {"Safety Valve (2021-22)"}


def test_england_is_the_draw_by_draw_sum() -> None:
    a = compute_budget("E10000020", synthetic_inputs(), first_year=2020, last_year=2021, n_draws=30, seed=1)
    b = compute_budget("E10000020", synthetic_inputs(), first_year=2020, last_year=2021, n_draws=30, seed=2)
    tot = sum_results([a, b])
    for line in ("cumulative_balance", "spend_total"):
        x = tot.line(line).set_index(["draw", "financial_year"])["value"]
        y = (
            a.line(line).set_index(["draw", "financial_year"])["value"]
            + b.line(line).set_index(["draw", "financial_year"])["value"]
        )
        assert np.allclose(x.sort_index(), y.sort_index())


def test_residual_persistence_measures_the_backcast_gaps() -> None:
    from sendcast.money.backtest import backcast_gaps, residual_persistence

    inp = synthetic_inputs()
    inp.safety_valve = inp.safety_valve.iloc[0:0]  # type: ignore[attr-defined]
    got = residual_persistence(inp)
    assert got["councils"] == 1 and np.isnan(got["slope"])  # one council: no slope
    assert got["robust_sd_first"] == 0.0
    # the 2020-21 gap is the back-cast's 2020-21 error with the spreads off (no gap before it)
    bt = run_backtest(inp, draws=1, seed=1, uncertainty=False)
    first = bt.rows.set_index("financial_year").loc["2020-21", "error_pct_hnb"]
    gaps = backcast_gaps(inp).set_index("financial_year")["gap"]
    assert gaps[2020] * 100 == pytest.approx(first)
    assert set(gaps.index) == {2020, 2021}

"""The speed-ups (in-process caches, reused baseline draws, vectorised summaries) change no
number: each cached or vectorised path is compared, draw by draw and exactly, with the same
values computed by the un-cached path (fresh loads, fresh fits, the original per-group code).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sendcast.model import api
from sendcast.model.forecast import run_forecast
from sendcast.model.stockflow import fit_all
from sendcast.money import service
from sendcast.money.budget import BudgetResult, compute_budget, load_inputs, summarise
from sendcast.parameters import load_parameters

COUNCIL = "E10000020"  # Norfolk
DRAWS, HORIZON, SEED = 200, 6, 7


@pytest.fixture(scope="module")
def data() -> api.ModelData:
    return api.model_data()


@pytest.fixture(scope="module")
def origin(data: api.ModelData) -> int:
    return api.check_request(data, None, HORIZON, DRAWS)


@pytest.fixture(scope="module")
def fresh_inputs() -> object:
    """Money inputs loaded from scratch (no cache shared with the service)."""
    return load_inputs(params=load_parameters())


def uncached_draws(data: api.ModelData, origin: int, seed: int) -> pd.DataFrame:
    hist = api._histories(data, origin, None)
    fits = fit_all(hist, HORIZON, neighbours=data.neighbours)
    res = run_forecast(hist, horizon=HORIZON, draws=DRAWS, seed=seed, la_codes=[COUNCIL], keep_draws=True, fits=fits)
    assert res.placement_draws is not None
    return res.placement_draws


def test_cached_fits_give_the_same_draws(data: api.ModelData, origin: int) -> None:
    reference = uncached_draws(data, origin, SEED)
    api.placement_draws(COUNCIL, horizon=HORIZON, draws=DRAWS, seed=SEED + 1)  # warm the caches
    cached = api.placement_draws(COUNCIL, horizon=HORIZON, draws=DRAWS, seed=SEED)
    assert ("fits", origin, HORIZON) in data.cache
    pd.testing.assert_frame_equal(cached, reference, check_exact=True)


def test_cached_money_gives_the_same_lines(data: api.ModelData, origin: int, fresh_inputs: object) -> None:
    draws = uncached_draws(data, origin, SEED)
    reference = compute_budget(COUNCIL, fresh_inputs, draws=draws, seed=SEED)  # type: ignore[arg-type]
    inputs = service.inputs()
    compute_budget(COUNCIL, inputs, draws=draws, seed=SEED + 1)  # fills the cost / unmodelled caches
    assert any(k[0] == "costs" for k in inputs.cache)
    again = compute_budget(COUNCIL, inputs, draws=draws, seed=SEED)
    pd.testing.assert_frame_equal(again.lines, reference.lines, check_exact=True)
    assert service.inputs() is inputs  # not reloaded


def original_summarise(result: BudgetResult) -> pd.DataFrame:
    """The per-group pandas code summarise() replaced."""
    g = result.lines.groupby(["financial_year", "line"], sort=False)["value"]
    s = g.agg(mean="mean", p10=lambda v: v.quantile(0.1), p50="median", p90=lambda v: v.quantile(0.9))
    return s.reset_index()


def test_vectorised_summary_is_the_per_group_one(data: api.ModelData, origin: int, fresh_inputs: object) -> None:
    b = compute_budget(COUNCIL, fresh_inputs, draws=uncached_draws(data, origin, SEED), seed=SEED)  # type: ignore[arg-type]
    lines = b.lines.copy()
    lines.loc[lines.index[:5], "value"] = np.nan  # missing values are skipped, as Series.quantile does
    b.lines = lines
    pd.testing.assert_frame_equal(summarise(b), original_summarise(b), check_exact=True)


def test_published_draws_are_the_concatenated_copies(data: api.ModelData) -> None:
    years = [2019, 2020]
    s = data.series
    rows = s[
        (s["la_code"] == COUNCIL)
        & (s["period_type"] == "january")
        & s["year"].isin(years)
        & s["measure"].isin(["mainstream", "state_special"])
    ]
    assert len(rows)
    got = api.published_placement_draws(COUNCIL, years, 3)
    base = rows.rename(columns={"measure": "placement", "value": "plans"})[
        ["la_code", "la_name", "year", "placement", "plans"]
    ]
    base = base.assign(plans=base["plans"].fillna(0.0))
    ref = pd.concat([base.assign(draw=d) for d in range(3)], ignore_index=True)
    ref = ref[["la_code", "la_name", "year", "draw", "placement", "plans"]]
    got = got[got["placement"].isin(["mainstream", "state_special"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, ref, check_exact=True)

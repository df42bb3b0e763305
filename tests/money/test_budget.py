"""The budget and DSG balance per draw; properties with hypothesis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from money_fixtures import synthetic_draws, synthetic_observations

from sendcast.money.agreements import assess_agreement, load_agreement
from sendcast.money.budget import backcast, compute_budget, summarise
from sendcast.parameters import PLACEMENT_GROUPS

REPO = Path(__file__).resolve().parents[2]
NORFOLK = REPO / "examples" / "norfolk" / "agreement.yaml"


def test_balance_identities(params: dict) -> None:
    r = compute_budget(
        synthetic_draws([2023, 2024, 2025, 2026], 5), synthetic_observations(), params, opening_balance=-1e6
    )
    w = r.lines.pivot_table(index=["draw", "financial_year"], columns="line", values="value")
    spend = w[[c for c in w.columns if c.startswith("spend:")]].sum(axis=1)
    assert np.allclose(w["spend_total"], spend)
    assert np.allclose(w["in_year_balance"], w["income_total"] - w["spend_total"])
    cum = -1e6 + w["in_year_balance"].groupby(level="draw").cumsum()
    assert np.allclose(w["cumulative_balance"], cum)
    assert sorted(w.index.get_level_values("financial_year").unique()) == [2023, 2024, 2025]
    # HNB 2023-24 is published; 2024-25 = 135,212,119 x 1.03 (growth floor)
    hnb = w["income:high_needs_block"].groupby(level="financial_year").first()
    assert hnb[2023] == pytest.approx(135212119)
    assert hnb[2024] == pytest.approx(135212119 * 1.03)
    assert any("transport" in n for n in r.notes)


def test_spend_is_plans_times_inflated_cost(params: dict) -> None:
    draws = synthetic_draws([2023, 2024], 1)
    r = compute_budget(draws, synthetic_observations(), params)
    uc = r.unit_costs.set_index("placement")["unit_cost"]
    w = r.lines.pivot_table(index="line", values="value")["value"]
    # price year 2021-22 -> 2023-24: x 1.043^2
    for g in PLACEMENT_GROUPS:
        assert w[f"spend:{g}"] == pytest.approx(w[f"plans:{g}"] * uc[g] * 1.043**2)


def test_norfolk_agreement(params: dict) -> None:
    agr = load_agreement(NORFOLK)
    draws = synthetic_draws(list(range(2023, 2031)), 20)
    r = compute_budget(draws, synthetic_observations(), params, agreement=agr)
    w = r.lines.pivot_table(index=["draw", "financial_year"], columns="line", values="value")
    first = w.xs(2023, level="financial_year")
    # block transfer 2023-24 = 1.5% x 601,033,127 = 9,015,497
    assert first["income:block_transfer"].iloc[0] == pytest.approx(0.015 * 601033127)
    assert first["income:safety_valve"].iloc[0] == 8400000
    assert first["income:council_contribution"].iloc[0] == 5500000
    assert np.allclose(first["cumulative_balance"], -38.4e6 + first["in_year_balance"])
    a = assess_agreement(r.line("cumulative_balance"), agr)
    assert 0 <= a.probability_meeting_target <= 1
    assert a.peak_year["probability"].sum() == pytest.approx(1)
    assert list(a.override_balances["as_at"]) == ["March 2026", "March 2028"]
    bc = backcast(r, financial_year=2023, published_in_year=-43.1e6, published_source="NCC")
    gap = bc.set_index("item").loc["gap (modelled p50 - published)", "value"]
    p50 = bc.set_index("item").loc["modelled in-year balance p50", "value"]
    assert gap == pytest.approx(p50 + 43.1e6)


def test_summary_quantiles(params: dict) -> None:
    r = compute_budget(synthetic_draws([2023, 2024], 40), synthetic_observations(), params)
    s = summarise(r).set_index(["financial_year", "line"]).loc[(2023, "spend_total")]
    assert s["p10"] <= s["p50"] <= s["p90"]


def test_errors(params: dict) -> None:
    d = synthetic_draws([2023, 2024], 1)
    with pytest.raises(ValueError, match="unknown placement"):
        compute_budget(d.assign(placement="boarding"), synthetic_observations(), params)
    with pytest.raises(ValueError, match="high needs block"):
        compute_budget(d, synthetic_observations(hnb={}), params)
    with pytest.raises(ValueError, match="both Januaries"):
        compute_budget(d[d.year == 2023], synthetic_observations(), params)


plans_st = st.lists(st.floats(0, 5000, allow_nan=False), min_size=14, max_size=14)


def _draws(values: list[float]) -> pd.DataFrame:
    recs = [("E10000020", 2023 + i // 7, 0, PLACEMENT_GROUPS[i % 7], v) for i, v in enumerate(values)]
    return pd.DataFrame(recs, columns=["la_code", "year", "draw", "placement", "plans"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=plans_st, extra=st.floats(0, 1000), idx=st.integers(0, 13))
def test_spend_never_negative_and_monotone(params: dict, values: list[float], extra: float, idx: int) -> None:
    obs = synthetic_observations()
    base = compute_budget(_draws(values), obs, params)
    more = list(values)
    more[idx] += extra
    bigger = compute_budget(_draws(more), obs, params)
    b = base.lines.set_index(["financial_year", "draw", "line"])["value"]
    g = bigger.lines.set_index(["financial_year", "draw", "line"])["value"]
    spend = [ln for ln in b.index.get_level_values("line").unique() if ln.startswith("spend")]
    assert (b.loc[:, :, spend] >= 0).all()
    assert (g.loc[:, :, spend] >= b.loc[:, :, spend] - 1e-6).all()

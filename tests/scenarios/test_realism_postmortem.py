"""Safety Valve post-mortems, the promise tracker and the realism backtest (arithmetic in comments)."""

from __future__ import annotations

import pandas as pd
import pytest

from sendcast.scenarios import postmortem as pm
from sendcast.scenarios.realism import council_metrics
from sendcast.scenarios.schema import scenario_from_dict
from sendcast.store import Store

YEARS = list(range(2015, 2025))


def _metrics(totals: dict[str, list[float]], new: dict[str, list[float]] | None = None) -> pd.DataFrame:
    rows = []
    for c, vals in totals.items():
        for y, v in zip(YEARS, vals, strict=True):
            rows.append((c, f"Council {c}", y, "january", "ehcp_total", v))
            rows.append((c, f"Council {c}", y, "january", "independent_special", v / 10))
            if new is not None:
                rows.append((c, f"Council {c}", y, "calendar_year", "new_plans", new[c][y - 2015]))
    series = pd.DataFrame(rows, columns=["la_code", "la_name", "year", "period_type", "measure", "value"])
    pop = pd.DataFrame(
        [(c, y, 10, 100_000.0) for c in totals for y in YEARS], columns=["la_code", "year", "age", "population"]
    )
    return council_metrics(series, pop)


def test_safety_valve_postmortem_by_hand() -> None:
    # S signs in 2020-21 (first January 2021): 1000 plans in 2018, 1331 in 2021 (10% a year),
    # then flat to 2024 (0%). Non-signers N1 and N2 grow 5% and 15% a year throughout: median
    # 10% before and after. S grew more slowly than the non-signers' median after signing.
    s = [1000 * 1.1 ** max(0, min(y, 2021) - 2018) for y in YEARS]
    n1 = [1000 * 1.05 ** (y - 2015) for y in YEARS]
    n2 = [1000 * 1.15 ** (y - 2015) for y in YEARS]
    m = _metrics({"S": s, "N1": n1, "N2": n2})
    agreements = pd.DataFrame(
        {"la_code": ["S"], "la_name": ["Council S"], "agreement_year": [2020], "agreement_period": ["2020-21"]}
    ).assign(first_january=2021)
    p = pm.safety_valve_postmortem(m, agreements)
    row = p.councils.iloc[0]
    assert row["growth_before"] == pytest.approx(0.10)  # (1331 / 1000) ** (1/3) - 1
    assert row["growth_after"] == pytest.approx(0.0)
    c = p.cohorts.iloc[0]
    assert c["others_growth_after"] == pytest.approx(0.10)  # median of 5% and 15%
    assert c["slower_than_others_median"] == 1
    assert "grew a median 0.0% a year after signing (2021-2024) against 10.0%" in p.text


def test_promise_tracker_ramp_and_unpublished_years() -> None:
    # A: new plans 100 a year to 2020, 80 in 2021; B: 100 every year. Two-year averages per
    # 10,000 (100,000 aged 0-25 each): A 2020 (100 + 100) / 2 -> 10, 2021 (100 + 80) / 2 -> 9;
    # England 2020 20 / 2 = 10 ... ratio of sums: 2021 (180 + 200) / (2 x 200,000) -> 9.5.
    # A relative to England, 2021 against 2020: (9 / 10) / (9.5 / 10) - 1 = -5.26%
    nan = float("nan")
    new = {"A": [100.0] * 6 + [80.0] + [nan] * 3, "B": [100.0] * 7 + [nan] * 3}
    m = _metrics({"A": [1000.0] * 10, "B": [1000.0] * 10}, new)
    sc = scenario_from_dict(
        {
            "name": "x",
            "description": "x",
            "levers": [{"kind": "incidence", "change_percent": -15, "start": 2021, "ramp": 3}],
        }
    )
    t = pm.promise_tracker(sc, m, "A").set_index("year")
    assert t.loc[2020, "status"] == "baseline year"
    assert t.loc[2019, "status"] == "before the programme"
    # promised: a third of -15% in 2021 (strength 1/3), two thirds in 2022, all from 2023
    assert t.loc[2021, "promised"] == pytest.approx(-0.05)
    assert t.loc[2023, "promised"] == pytest.approx(-0.15)
    assert t.loc[2021, "actual"] == pytest.approx(0.9 / 0.95 - 1)
    assert t.loc[2021, "status"] == "on track"  # -5.26% <= -5%
    assert t.loc[2022, "status"] == "not yet published"


def test_backtest_on_the_published_record(embedded_store: Store) -> None:
    m = pm.metrics_from_store(embedded_store)
    sv = pm.safety_valve_councils(embedded_store)
    plans, summary = pm.realism_backtest(m, growth=pm.funding_growth(embedded_store), safety_valve=sv)
    assert len(plans) > 500 and plans["safety_valve"].any()
    # a time split: every plan is judged only on windows whose hold year was published by then
    first = plans[plans["start"] == plans["start"].min()]
    assert (first["pool_windows"] < plans["pool_windows"].max()).all()
    a = summary[summary["kind"] == "all kinds"].set_index("verdict")
    assert a["plans"].sum() == len(plans)
    # the verdicts sort plans by how often they came true
    assert a.at["within experience", "share_achieved"] > a.at["ambitious", "share_achieved"]
    assert a.at["ambitious", "share_achieved"] >= a.at["unprecedented", "share_achieved"]
    assert pm.backtest_text(summary).startswith("Backtest of the realism check")

"""Realism base rates by hand on four made-up councils (arithmetic in the comments)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

import sendcast.scenarios.realism as realism
from sendcast.scenarios.realism import (
    assess_lever,
    assess_path,
    assess_scenario,
    base_rate,
    classify,
    council_metrics,
    joint_evidence,
    judge,
    name_list,
    verdict_for,
    window_changes,
)
from sendcast.scenarios.schema import scenario_from_dict

YEARS = [2015, 2016, 2017, 2018]
# new plans in calendar 2015-2018; 100,000 aged 0-25 in every council and year, so new plans
# per 10,000 = new plans / 10
NEW = {
    "A": [1000, 800, 800, 800],  # falls 20% in 2016 and stays down
    "B": [1000, 800, 1000, 1000],  # falls 20% in 2016, back in 2017
    "C": [1000, 1000, 1000, 1000],  # flat
    "D": [20, 16, 16, 16],  # small: falls 20%, but that is ordinary chance variation for 20 plans
    "E": [1000, 1404, 1204, 1204],  # rises as the others fall, so England is flat at 4,020 a year
}
TOTAL = {c: [5000.0] * 4 for c in NEW}
INDEP = {"A": [500, 400, 400, 400]}  # the others 500 of 5,000 every year


def _series(new: dict[str, list[int]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    for c, vals in new.items():
        for i, y in enumerate(YEARS):
            rows.append((c, f"Council {c}", y, "calendar_year", "new_plans", vals[i]))
            rows.append((c, f"Council {c}", y, "january", "ehcp_total", TOTAL.get(c, [5000.0] * 4)[i]))
            rows.append((c, f"Council {c}", y, "january", "independent_special", INDEP.get(c, [500] * 4)[i]))
    series = pd.DataFrame(rows, columns=["la_code", "la_name", "year", "period_type", "measure", "value"])
    pop = pd.DataFrame(
        [(c, y, 10, 100_000.0) for c in new for y in YEARS], columns=["la_code", "year", "age", "population"]
    )
    return series, pop


@pytest.fixture(scope="module")
def metrics() -> pd.DataFrame:
    return council_metrics(*_series(NEW))


def test_metrics_by_hand(metrics: pd.DataFrame) -> None:
    a = metrics[metrics.la_code == "A"].set_index("year")
    assert a.loc[2016, "new_plans_per_10k"] == pytest.approx(80.0)  # 800 / 100,000 x 10,000
    # exits 2015: 5000 + 1000 - 5000 = 1000 -> exit rate 0.2; flows = 1000 new + 1000 exits
    assert a.loc[2015, "exit_rate"] == pytest.approx(0.2)
    assert a.loc[2015, "flows"] == pytest.approx(2000)
    assert a.loc[2016, "independent_share"] == pytest.approx(0.08)


def test_base_rate_by_hand(metrics: pd.DataFrame) -> None:
    # single-year ends, 1-year windows, hold 1 year; England is flat, so changes relative to it are
    # the councils' own: windows start 2015, 2016, 2017; the 2017 ones end 2018 and would be held in
    # 2019 (not published), so 5 councils x 2 start years = 10 windows have a known outcome.
    w = window_changes(metrics, "new_plans_per_10k", window=1, smooth=1, hold=1)
    assert len(w) == 15 and w["change_held"].notna().sum() == 10
    a15 = w[(w.la_code == "A") & (w.start == 2015)].iloc[0]
    assert a15["change"] == pytest.approx(-0.2)  # 80 / 100 - 1
    assert a15["change_held"] == pytest.approx(-0.2)  # 2017: 80 / 100 - 1
    assert a15["sd"] == pytest.approx(math.sqrt(1 / 1000 + 1 / 800))  # Poisson: var(log) = 1/count
    c = classify(w, -0.15, how="ratio", lower_is_better=True)
    out = c.set_index(["la_code", "start"])["outcome"]
    # A 2015: -20% <= -15%; chance: z = log(0.8) / 0.0474 = -4.7 -> p ~ 1e-6; 2017 still -20%
    assert out[("A", 2015)] == "achieved and held"
    # B 2015: -20%, beyond chance, but 2017 is back to 100: 0% > -15% -> reversed
    assert out[("B", 2015)] == "achieved, reversed"
    # D 2015: -20% on 20 plans: sd = sqrt(1/20 + 1/16) = 0.335, z = -0.223 / 0.335 = -0.67,
    # p = 0.25 > 0.05 -> within chance, not counted
    assert out[("D", 2015)] == "met, within chance"
    assert c.set_index(["la_code", "start"]).loc[("D", 2015), "chance_p"] == pytest.approx(
        norm.cdf(math.log(0.8) / math.sqrt(1 / 20 + 1 / 16))
    )
    assert out[("C", 2015)] == "not met" and out[("B", 2016)] == "not met"  # B 2016: +25%
    assert out[("E", 2016)] == "not met"  # 1204 / 1404 - 1 = -14.2%, short of -15%
    r = base_rate(c)
    # 10 known windows; met 3 (A, B, D 2015); achieved 2 (A, B); held 1 (A) -> 1/10 = 10%
    assert (r.windows, r.met, r.achieved, r.held, r.reversed, r.within_chance) == (10, 3, 2, 1, 1, 1)
    assert r.share == pytest.approx(0.10)
    assert r.recent == 0  # the 2017 windows are flat
    assert verdict_for(r.held, r.windows) == "within experience"  # 10% is not fewer than 10%


def test_judge_leaves_the_council_out_and_names_years(metrics: pd.DataFrame) -> None:
    w = window_changes(metrics, "new_plans_per_10k", window=1, smooth=1, hold=1)
    # for A: pool B, C, D, E -> 8 known windows, none achieved and held -> unprecedented
    ev_a = judge("cut", "a 15% fall", -0.15, w, la_code="A", neighbours={"A": ["B", "C"]})
    assert (ev_a.rate.windows, ev_a.rate.held) == (8, 0) and ev_a.verdict == "unprecedented"
    assert "Council A's own record: best change -20% (2015-2016); achieved and held in 1 of 2 windows" in ev_a.text
    assert ev_a.neighbours_total == 2 and ev_a.neighbours_held == 0
    # for C: pool A, B, D, E -> 1 of 8 = 12.5% -> within experience, naming A and the years
    ev_c = judge("cut", "a 15% fall", -0.15, w, la_code="C")
    assert ev_c.rate.held == 1 and ev_c.rate.windows == 8 and ev_c.verdict == "within experience"
    assert ev_c.achieved == ["Council A (2015-2016)"]
    assert "achieved and held 1 year later in 1 of 8 council-windows starting 2015-2016 (12%" in ev_c.text
    assert "of the 2 real achievements, 1 (50%) reversed" in ev_c.text
    # a 25% fall: nobody -> unprecedented
    assert judge("cut", "a 25% fall", -0.25, w, la_code="C").verdict == "unprecedented"


def test_relative_to_england_by_hand() -> None:
    # X flat at 100 per 10k, Y doubles: England (ratio of sums) 100 -> 150, +50%.
    # X relative to England: 1 / 1.5 - 1 = -33.3%; Y: 2 / 1.5 - 1 = +33.3%
    new = {"X": [1000, 1000, 1000, 1000], "Y": [1000, 2000, 2000, 2000]}
    m = council_metrics(*_series(new))
    w = window_changes(m, "new_plans_per_10k", window=1, smooth=1, hold=1).set_index(["la_code", "start"])
    assert w.loc[("X", 2015), "change"] == pytest.approx(1 / 1.5 - 1)
    assert w.loc[("Y", 2015), "change"] == pytest.approx(2 / 1.5 - 1)


def test_one_year_dip_is_averaged_and_reverses() -> None:
    # Council X: new plans 1000, 1000, 600, 1000, 1000 (a one-year dip). Two-year averages:
    # 2016 1000, 2017 800, 2018 800, 2019 1000. Window 2016 -> 2017: -20%; held 2 years on,
    # 2019: 0% -> reversed. Single years would see -40% (2016 -> 2017).
    years = [2015, 2016, 2017, 2018, 2019]
    m = pd.DataFrame(
        {
            "la_code": "X",
            "la_name": "X",
            "year": years,
            "new_plans": [1000.0, 1000, 600, 1000, 1000],
            "pop_0_25": 100_000.0,
            "flows": 0.0,
        }
    )
    two = window_changes(m, "new_plans_per_10k", window=1, relative_to_england=False).set_index("start")
    one = window_changes(m, "new_plans_per_10k", window=1, smooth=1, relative_to_england=False).set_index("start")
    assert one.loc[2016, "change"] == pytest.approx(-0.4)
    assert two.loc[2016, "change"] == pytest.approx(-0.2)
    assert two.loc[2016, "change_held"] == pytest.approx(0.0)  # (1000 + 1000) / 2 against 1000
    assert 2015 not in two.index  # a two-year average ending 2015 needs 2014 (before SINCE)
    # X is all of "England" here, so judge it against no change (null 0) rather than itself
    two = two.assign(null=0.0)
    assert classify(two, -0.15, how="ratio", lower_is_better=True).loc[2016, "outcome"] == "achieved, reversed"


def test_levers_and_the_plan_as_a_whole(metrics: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(realism, "SUSTAINED", 1)
    monkeypatch.setattr(realism, "HOLD", 1)
    monkeypatch.setattr(realism, "MIN_YEARS_INCIDENCE", 1)
    monkeypatch.setattr(realism, "MIN_YEARS_PLACEMENT_SHIFT", 1)
    sc = scenario_from_dict(
        {
            "name": "x",
            "description": "x",
            "levers": [
                {"kind": "incidence", "change_percent": -15, "start": 2025, "ramp": 1},
                {
                    "kind": "placement_shift",
                    "from": "independent_special",
                    "to": "state_special",
                    "share_percent": 10,
                    "start": 2025,
                },
                {
                    "kind": "placement_shift",
                    "from": "independent_special",
                    "to": "resourced_provision",
                    "share_percent": 10,
                    "start": 2025,
                },
                {"kind": "running_cost", "gbp_per_year": 5e6, "start": 2025},
            ],
        }
    )
    t = assess_scenario(sc, metrics, la_code="C")
    assert list(t["kind"]) == ["incidence", "placement_shift", "placement_shift", "running_cost", "combined", "plan"]
    assert t.loc[3, "verdict"] == "not assessed"
    # independent share relative to England: England 2500/25000 = 10% -> 2400/25000 = 9.6%;
    # A: 10% -> 8% = -20%, against England's -4%: 0.8 / 0.96 - 1 = -16.7% (binomial sd of the
    # log: sqrt(0.9/500 + 0.92/400) = 0.064, z = log(0.833) / 0.064 = -2.85: beyond chance), still
    # -16.7% in 2017; B, D, E: 1 / 0.96 - 1 = +4.2%. Pool without C: 8 known windows.
    # A 10% fall alone: A (2015) -> 1 of 8; a 20% fall together (10% + 10%): nobody
    assert t.loc[4, "verdict"] == "unprecedented"
    assert t.loc[1, "achieved_and_held"] == 1 and t.loc[1, "windows"] == 8
    assert t.loc[0, "achieved_and_held"] == 1  # the new-plans cut: A 2015 (-20%, England flat)
    # the plan as a whole: only A cut new plans 15%, and A's share fell 16.7%, not 20%: nobody did both
    assert t.loc[5, "verdict"] == "unprecedented"


def test_joint_evidence_needs_both_in_the_same_window(metrics: pd.DataFrame) -> None:
    w = window_changes(metrics, "new_plans_per_10k", window=1, smooth=1, hold=1)
    cut = judge("cut", "a 15% fall", -0.15, w)  # held by A 2015 only
    wi = window_changes(metrics, "independent_share", window=1, smooth=1, hold=1)
    shift = judge("shift", "a 10% fall", -0.10, wi)  # A 2015: -16.7% relative to England, held 2017
    ev = joint_evidence([cut, shift])
    assert ev is not None and ev.rate.held == 1 and ev.rate.windows == 10
    assert ev.achieved == ["Council A (2015-2016)"]
    assert "both achieved and held by the same council from the same start in 1 of 10" in ev.text


def test_growth_path(metrics: pd.DataFrame) -> None:
    # every council holds 5,000 plans: 0% growth. A path growing 4% a year for 2 years is met by
    # all (0% <= 8.16%), and beyond chance: sd = sqrt(flows) / 5000 with flows ~ 2 x 1000 a year
    path = {2016: 100.0, 2017: 104.0, 2018: 108.16}
    ev = assess_path(path, {y: 10.0 for y in path}, {}, metrics)[0]
    assert ev.test == "holding EHCP growth to 4.0% a year on average for 2 years"
    assert ev.value == pytest.approx(0.0816)


def test_verdict_thresholds() -> None:
    assert verdict_for(19, 456) == "ambitious"  # 4.2% of windows
    assert verdict_for(0, 456) == "unprecedented"
    assert verdict_for(46, 456) == "within experience"  # 10.1%
    assert verdict_for(0, 0) == "not assessed"


def test_names_are_never_cut() -> None:
    names = ["Bristol, City of (2016-2019)", "Kent (2017-2020)", "Herefordshire, County of (2016-2019)"]
    assert name_list(names, 2) == "Bristol, City of (2016-2019); Kent (2017-2020); and 1 more council"
    assert name_list(names) == "; ".join(names)


def test_new_places_lever(metrics: pd.DataFrame) -> None:
    lv = scenario_from_dict(
        {
            "name": "x",
            "description": "x",
            "levers": [
                {"kind": "new_places", "group": "state_special", "places": 100, "start": 2025, "spill_to": "mainstream"}
            ],
        }
    ).levers[0]
    # no state special counts in the fixture: nothing to judge against
    ev = assess_lever(lv, metrics, pop_0_25=100_000)
    assert ev is not None and ev.verdict == "not assessed"
    assert "100 state special places (10.0 per 10,000 aged 0-25)" in ev.test


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(-0.6, 0.6),  # change
            st.floats(-0.6, 0.6),  # change two years on
            st.floats(0.005, 0.5),  # chance sd
            st.floats(-0.2, 0.2),  # England's change (the null)
        ),
        min_size=1,
        max_size=40,
    ),
    st.floats(-0.5, 0.3),
    st.floats(0.0, 0.3),
)
def test_a_stricter_promise_never_has_a_higher_base_rate(
    rows: list[tuple[float, float, float, float]], promise: float, tighter: float
) -> None:
    w = pd.DataFrame(rows, columns=["change", "change_held", "sd", "null"]).assign(
        la_code=[f"C{i}" for i in range(len(rows))], start=2016, end=2019, held_year=2021
    )
    easy = base_rate(classify(w, promise, how="ratio", lower_is_better=True))
    hard = base_rate(classify(w, promise - tighter, how="ratio", lower_is_better=True))
    assert hard.held <= easy.held <= easy.achieved <= easy.met <= easy.windows
    assert easy.held + easy.reversed == easy.achieved


def test_an_incidence_lever_on_some_ages_uses_those_age_bands() -> None:
    # new plans aged 0-4, 5-10, 11-15 and 16-19 with their populations: the 0-15 lever is judged
    # on 0-4 + 5-10 + 11-15 (new plans per 10,000 aged 0-15); without the bands, on all ages
    years = [2015, 2016]
    m = pd.DataFrame(
        {
            "la_code": "X",
            "la_name": "X",
            "year": years,
            "new_plans": [100.0, 100.0],
            "pop_0_25": 50_000.0,
            "flows": 0.0,
            "new_plans_age_0_4": [10.0, 10.0],
            "new_plans_age_5_10": [30.0, 30.0],
            "new_plans_age_11_15": [20.0, 20.0],
            "pop_0_4": 5_000.0,
            "pop_5_10": 6_000.0,
            "pop_11_15": 5_000.0,
        }
    )
    lv = scenario_from_dict(
        {
            "name": "x",
            "description": "x",
            "levers": [{"kind": "incidence", "change_percent": -10, "start": 2025, "ages": [0, 15]}],
        }
    ).levers[0]
    ev = assess_lever(lv, m)
    assert ev is not None and ev.test.startswith("new plans per 10,000 aged 0-15 falling 10%")
    # 2015 value: (10 + 30 + 20) / (5,000 + 6,000 + 5,000) x 10,000 = 37.5
    val, _, _ = realism._ends(m, realism.MEASURES["new_plans_0_15_per_10k"], 1)
    assert val.loc["X", 2015] == pytest.approx(37.5)
    ev_all = assess_lever(lv, m.drop(columns=["new_plans_age_11_15"]))
    assert ev_all is not None and ev_all.test.startswith("new plans per 10,000 aged 0-25 falling 10%")

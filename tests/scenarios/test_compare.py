"""Money, comparison on the same draws, and goal-seek, on synthetic councils."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sendcast.money.agreements import load_agreement
from sendcast.scenarios.compare import Context, compare, comparison_html, simulate, simulation_key
from sendcast.scenarios.goalseek import goal_seek, make_lever
from sendcast.scenarios.schema import BASELINE, scenario_from_dict

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "money"))
from money_fixtures import synthetic_inputs  # noqa: E402

AGREEMENT = Path(__file__).resolve().parents[2] / "examples" / "norfolk" / "agreement.yaml"


@pytest.fixture(scope="module")
def money() -> dict:
    return {"inputs": synthetic_inputs(), "agreement": load_agreement(AGREEMENT)}


def money_only(**lever: object) -> object:
    return scenario_from_dict({"name": "m", "description": "money", "levers": [lever]})


def level(cmp, scenario: str, measure: str) -> pd.Series:
    t = cmp.table
    sel = t[(t.scenario == scenario) & (t.kind == "level") & (t.measure == measure)]
    return sel.set_index("year")["mean"]


def test_running_costs_add_exactly_to_spend_and_deficit(ctx: Context, money: dict) -> None:
    # £5.5m a year 2023-24 to 2025-26 and nothing else: spend +5.5m in those years, the
    # cumulative balance 5.5m, 11m, 16.5m, 16.5m ... lower, in every draw
    sc = money_only(kind="running_cost", gbp_per_year=5_500_000, start=2023, end=2025)
    cmp = compare(ctx, [BASELINE, sc], draws=50, seed=1, **money)
    d = cmp.table[(cmp.table.kind == "difference") & (cmp.table.measure == "cumulative_balance")]
    d = d.set_index("year")
    assert np.allclose(d.loc[[2023, 2024, 2025, 2026], "p10"], [-5.5e6, -11e6, -16.5e6, -16.5e6])
    assert np.allclose(d["p10"], d["p90"])  # no demand lever: the same in every draw
    s = cmp.savings.iloc[0]
    assert s.programme_costs == pytest.approx(16.5e6) and s.net_savings_mean == pytest.approx(-16.5e6)


def test_unit_cost_and_funding_levers(ctx: Context, money: dict) -> None:
    uc = money_only(kind="unit_cost", group="independent_special", change_percent=-10, start=2024)
    fund = money_only(kind="funding", extra_high_needs_gbp=1_000_000, start=2025)
    cmp = compare(ctx, [BASELINE, uc, fund], draws=40, seed=3, **money)
    b, u = cmp.runs[0].budget, cmp.runs[1].budget
    bl = b.line("spend:independent_special").set_index(["draw", "financial_year"])["value"]
    ul = u.line("spend:independent_special").set_index(["draw", "financial_year"])["value"]
    ratio = (ul / bl).groupby(level="financial_year").mean()
    assert ratio[2023] == pytest.approx(1.0) and ratio[2024] == pytest.approx(0.9)
    f = cmp.runs[2].budget
    extra = f.line("income:extra_high_needs").groupby("financial_year")["value"].mean()
    assert extra[2024] == 0 and extra[2025] == 1_000_000

    # the cumulative balance is 1m higher in 2025-26 and 2m higher in 2026-27, every draw
    def cum(r: object) -> pd.Series:
        lines = r.budget.line("cumulative_balance")  # type: ignore[attr-defined]
        return lines.set_index(["draw", "financial_year"])["value"]

    diff = (cum(cmp.runs[2]) - cum(cmp.runs[0])).groupby(level="financial_year")
    assert diff.min()[2026] == pytest.approx(2e6) and diff.max()[2026] == pytest.approx(2e6)


def test_comparison_uses_the_same_draws_and_writes_html(ctx: Context, money: dict) -> None:
    cut = scenario_from_dict(
        {
            "name": "cut",
            "description": "x",
            "levers": [{"kind": "incidence", "change_percent": -20, "start": 2023}],
        }
    )
    cmp = compare(ctx, [BASELINE, cut], draws=200, seed=9, **money)
    d = cmp.table[(cmp.table.kind == "difference") & (cmp.table.measure == "ehcp_total")]
    d = d.set_index("year")
    assert (d.loc[2023, ["p10", "p90"]] == 0).all()  # January 2023 is published: no difference
    assert d.loc[2029, "p90"] < 0  # fewer plans in (nearly) every draw, not just on average
    assert set(cmp.target["scenario"]) == {"baseline", "cut"}
    html = comparison_html(cmp)
    assert "<html" in html and "cumulative DSG balance" in html


def test_goal_seek_finds_a_value_that_meets_the_probability(ctx: Context, money: dict) -> None:
    res = goal_seek(
        ctx,
        lever="incidence",
        target_year=2029,
        probability=0.5,
        draws=100,
        seed=1,
        iterations=6,
        **money,
    )
    assert res.target_year == "2028-29"
    if res.value is not None and res.value > 0:
        assert res.probability >= 0.5
        below = res.trials[res.trials.value < res.value]
        # every smaller size tried fell short
        assert (below.probability < 0.5).all()
    with pytest.raises(ValueError, match="beyond the forecast"):
        goal_seek(ctx, lever="incidence", target_year=2040, probability=0.5, draws=10, **money)


def test_norfolk_examples_run_end_to_end(ctx: Context, money: dict) -> None:
    from sendcast.scenarios.schema import load_scenario

    folder = AGREEMENT.parent / "scenarios"
    scs = [load_scenario(folder / f"{n}.yaml") for n in ("baseline", "local_first_inclusion", "realistic")]
    cmp = compare(ctx, scs, draws=100, seed=1, **money)
    assert len(cmp.savings) == 2 and (cmp.savings["capital_not_in_dsg"] == 120e6).all()
    plans = {s.name: level(cmp, s.name, "ehcp_total").iloc[-1] for s in scs}
    assert plans["Local First Inclusion (as promised)"] < plans["Baseline"]


def test_published_counts_and_small_differences_are_protected_money_is_not() -> None:
    from sendcast.scenarios.compare import protect_counts

    t = pd.DataFrame(
        {
            "scenario": ["b", "b", "s"],
            "kind": ["level", "level", "difference"],
            "measure": ["independent_special", "spend_total", "independent_special"],
            "year": [2025, 2025, 2025],
            "mean": [4.2, 7.0, -3.0],
            "p10": [3.0, 5.0, -4.0],
            "p50": [4.0, 7.0, -3.0],
            "p90": [12.0, 9.0, -1.0],
        }
    )
    p = protect_counts(t)
    assert p.loc[0, ["mean", "p10", "p50"]].tolist() == ["<10", "<10", "<10"] and p.loc[0, "p90"] == 12
    assert p.loc[1, "mean"] == 7.0  # £ unchanged
    # a difference of 1-9 plans either way is as small a group as a count of 1-9
    assert p.loc[2, ["mean", "p10", "p50", "p90"]].tolist() == ["<10", "<10", "<10", "<10"]


def test_scenarios_that_cannot_change_the_draws_reuse_them(ctx: Context, money: dict) -> None:
    # a money-only scenario and a zero incidence lever draw exactly what the baseline draws,
    # so they share its simulated table; a real incidence cut and another seed do not
    money_sc = money_only(kind="running_cost", gbp_per_year=1_000_000, start=2024)
    zero = BASELINE.with_levers([make_lever("incidence", 0.0, start=2024)], name="zero")
    cut = BASELINE.with_levers([make_lever("incidence", 10.0, start=2024)], name="cut")
    steps: list[str] = []
    cmp = compare(ctx, [BASELINE, money_sc, zero, cut], draws=30, seed=11, progress=steps.append, **money)
    base, m, z, c = (r.placement_draws for r in cmp.runs)
    assert m is base and z is base and c is not base
    assert not c["plans"].equals(base["plans"])
    assert simulation_key(BASELINE, draws=30, seed=11) == simulation_key(zero, draws=30, seed=11)
    assert simulation_key(BASELINE, draws=30, seed=11) != simulation_key(BASELINE, draws=30, seed=12)
    assert simulation_key(BASELINE, draws=30, seed=11) != simulation_key(cut, draws=30, seed=11)
    assert len(steps) == 2 * 4 + 1  # simulate and money per scenario, then the comparison
    # the reused draws are what a context that never ran the baseline simulates for `zero`
    fresh = Context(ctx.la_code, ctx.la_name, ctx.origin, ctx.horizon, ctx.fits, ctx.histories)
    pd.testing.assert_frame_equal(simulate(fresh, zero, draws=30, seed=11).placement_draws, base, check_exact=True)

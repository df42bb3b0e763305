"""The budget and scenarios on a council's own SEN2 return (``--sen2 STORE``): the by-need
forecast's placement draws costed by the one balance function, need and transition levers,
refusals, and disclosure control in what is written."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sendcast.cli import app
from sendcast.personlevel.api import forecast_by_need
from sendcast.personlevel.levers import compare, joiners_expected
from sendcast.personlevel.model import NI
from sendcast.scenarios.schema import NeedNewPlansLever, Scenario, TransitionLever

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "outputs"))
from scan import small_count_cells  # noqa: E402

runner = CliRunner()
NORFOLK = "E10000020"
SEN2_SCENARIO = Path(__file__).resolve().parents[2] / "examples" / "sen2" / "semh_early_help.yaml"
pytestmark = pytest.mark.usefixtures("embedded_store")


def _one_line_refusal(res) -> str:  # type: ignore[no-untyped-def]
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    lines = [ln for ln in res.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, res.output
    return lines[0]


def test_budget_costs_the_need_forecast_through_compute_budget(norfolk_sen2):
    from sendcast.money import service
    from sendcast.money.budget import compute_budget

    _, store = norfolk_sen2
    res = forecast_by_need(store, horizon=3, draws=40, seed=5)
    pdraws = res.placement_draws()
    inputs = service.inputs()
    run = service.budget("Norfolk", inputs, seed=5, placement_draws=pdraws, forecast_note=res.source_note())
    direct = compute_budget(NORFOLK, inputs, draws=pdraws, seed=5, la_name="Norfolk")
    pd.testing.assert_frame_equal(run.result.lines, direct.lines)
    assert run.result.notes[0] == res.source_note() and "own SEN2" in run.result.notes[0]
    # the balance adds up draw by draw: in-year = income - spend; cumulative = previous + in-year
    wide = run.result.lines.pivot_table(index=["draw", "financial_year"], columns="line", values="value")
    w = wide.dropna(subset=["in_year_balance"])
    assert np.allclose(w["in_year_balance"], w["income_total"] - w["spend_total"])
    cum = wide["cumulative_balance"].unstack("financial_year")
    iny = wide["in_year_balance"].unstack("financial_year")
    years = [y for y in cum.columns if y - 1 in cum.columns and y in iny.columns]
    assert years
    for y in years:
        assert np.allclose(cum[y], cum[y - 1] + iny[y])
    # the forecast years cost the SEN2 forecast, not the published one: its caseload is the return's
    first = pdraws[pdraws["year"] == res.origin].groupby("draw")["plans"].sum()
    assert (first == res.model.stock.sum()).all()


def test_budget_cli_shows_the_library_balance_and_says_where_the_forecast_comes_from(norfolk_outputs):
    from sendcast.money import service

    _, store, out = norfolk_outputs
    res = forecast_by_need(store, horizon=3, draws=40, seed=5)
    run = service.budget("Norfolk", service.inputs(), seed=5, placement_draws=res.placement_draws())
    cum = run.result.line("cumulative_balance")
    last = int(cum["financial_year"].max())
    table = pd.read_csv(out / "budget.csv")
    shown = table[(table["line"] == "cumulative_balance")].iloc[-1]
    assert float(shown["p50"]) == pytest.approx(cum[cum["financial_year"] == last]["value"].median(), abs=1)
    meta = json.loads((out / "budget.csv.meta.json").read_text())
    assert meta["settings"]["sen2_store"] == str(store) and "own SEN2" in meta["forecast_source"]
    for name in ("budget.html", "budget.txt", "scenario.html", "scenario.txt"):
        assert "own SEN2 person-level returns" in (out / name).read_text(), name
    meta = json.loads((out / "scenario.csv.meta.json").read_text())
    assert "own SEN2" in meta["settings"]["forecast_source"]


def test_nothing_written_shows_a_count_of_1_to_9(norfolk_outputs):
    _, _, out = norfolk_outputs
    problems: list[str] = []
    for p in sorted(out.iterdir()):
        # the budget workbook's Unit costs sheet is a known false alarm of the scanner (its
        # weights and growth rates; tests/outputs/test_disclosure_all_outputs.py)
        if p.suffix in (".csv", ".json", ".html") and not p.name.endswith(".meta.json"):
            problems += small_count_cells(p)
    assert problems == [], "\n".join(problems[:10])


def test_scenario_outputs_show_plans_by_need_protected(norfolk_outputs):
    from sendcast.outputs.disclosure import SUPPRESSED

    _, _, out = norfolk_outputs
    t = pd.read_csv(out / "scenario.csv", dtype=str)
    need = t[t["measure"].str.startswith("need:")]
    assert set(need["measure"]) == {f"need:{c}" for c in ("SPLD", "MLD", "SLD", "PMLD", "SEMH", "SLCN", "HI", "VI",
                                                            "MSI", "PD", "ASD", "DS", "OTH")}  # fmt: skip
    assert set(need["kind"]) == {"level", "difference"}
    for col in ("mean", "p10", "p50", "p90"):
        v = pd.to_numeric(need[col].where(need[col] != SUPPRESSED), errors="coerce").dropna()
        assert not ((v.abs() > 0) & (v.abs() < 9.5)).any(), col
    assert (need["p50"] == SUPPRESSED).any()  # this small council has needs of 1-9 plans
    # the printed table shows the need the scenario's levers name
    assert "need:SEMH" in (out / "scenario.txt").read_text()


def test_another_councils_store_is_refused(norfolk_sen2, tmp_path):
    _, store = norfolk_sen2
    for args in (["budget", "Suffolk", "--sen2", str(store)],
                 ["scenario", "run", str(SEN2_SCENARIO), "--la", "Suffolk", "--sen2", str(store)],
                 ["scenario", "goal-seek", "--la", "Suffolk", "--sen2", str(store)]):  # fmt: skip
        line = _one_line_refusal(runner.invoke(app, args))
        assert "Norfolk" in line and "Suffolk" in line, line
    line = _one_line_refusal(runner.invoke(app, ["budget", "Norfolk", "--sen2", str(store), "--origin", "2023"]))
    assert "January 2025" in line
    # a store of a council that is not in the data store (the fictional 990)
    fake = tmp_path / "store990"
    fake.mkdir()
    for f in store.iterdir():
        (fake / f.name).write_bytes(f.read_bytes())
    manifest = json.loads((fake / "manifest.json").read_text())
    (fake / "manifest.json").write_text(json.dumps({**manifest, "lea": "990"}))
    line = _one_line_refusal(runner.invoke(app, ["budget", "--sen2", str(fake)]))
    assert "LA 990" in line


def test_need_levers_need_the_sen2_return(norfolk_sen2, tmp_path):
    _, store = norfolk_sen2
    line = _one_line_refusal(runner.invoke(app, ["scenario", "run", str(SEN2_SCENARIO), "--la", "Norfolk"]))
    assert "need_new_plans" in line and "--sen2" in line
    line = _one_line_refusal(runner.invoke(app, ["scenario", "goal-seek", "--la", "Norfolk", "--lever",
                                                 "need_new_plans", "--need", "SEMH"]))  # fmt: skip
    assert "--sen2" in line
    shift = Path(__file__).resolve().parents[2] / "examples" / "norfolk" / "scenarios" / "local_first_inclusion.yaml"
    line = _one_line_refusal(runner.invoke(app, ["scenario", "run", str(shift), "--la", "Norfolk", "--sen2",
                                                 str(store)]))  # fmt: skip
    assert "placement_shift" in line
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndescription: x\nlevers:\n  - {kind: need_new_plans, need: AUTISM, change_percent: -5, "
                   "start: 2025}\n")  # fmt: skip
    line = _one_line_refusal(runner.invoke(app, ["scenario", "run", str(bad), "--la", "Norfolk", "--sen2", str(store)]))
    assert "bad.yaml" in line and "levers.0.need" in line and "AUTISM" in line and "SEMH" in line
    early = tmp_path / "early.yaml"
    early.write_text("name: x\ndescription: x\norigin: 2023\nlevers:\n  - {kind: need_new_plans, need: SEMH, "
                     "change_percent: -5, start: 2025}\n")  # fmt: skip
    args = ["scenario", "run", str(early), "--la", "Norfolk", "--sen2", str(store)]
    line = _one_line_refusal(runner.invoke(app, args))
    assert "early.yaml" in line and "origin" in line and "January 2025" in line


def _scenario(*levers) -> Scenario:  # type: ignore[no-untyped-def]
    return Scenario(name="s", description="s", levers=list(levers))


def test_halving_a_needs_new_plans_removes_half_of_them(norfolk_sen2):
    """By hand: the first year's joiners with a need are E = exp(intercept + slope) x the need's
    share of joiners; halving them leaves about E / 2 fewer plans with that need next January
    (the need with the most joiners in this small council, so E / 2 stands out of the noise)."""
    from sendcast.personlevel.api import need_scenarios
    from sendcast.personlevel.codes import NEEDS

    _, store = norfolk_sen2
    model = need_scenarios(store, council="Norfolk", horizon=2, seed=5).model
    all_needs = joiners_expected(model)
    need = NEEDS[int(np.argmax(all_needs))]
    expected = all_needs[NI[need]]
    assert expected > 10
    lever = NeedNewPlansLever(kind="need_new_plans", need=need, change_percent=-50, start=model.origin)
    res = compare(model, [lever], horizon=1, draws=600, seed=3)
    row = res[res["primary_need"] == need].iloc[0]
    assert row["difference"] == pytest.approx(-0.5 * expected, rel=0.25)
    others = res[~res["primary_need"].isin([need, "total"])]
    assert (others["difference"].abs() < 0.1 * others["baseline"] + 2).all()
    # through the scenario path: the total falls by the same amount
    from sendcast.model.forecast import MEASURES
    from sendcast.scenarios.compare import context_from_sen2, simulate

    ctx = context_from_sen2(store, council="Norfolk", horizon=1, seed=5)
    base = simulate(ctx, _scenario(), draws=600, seed=3).values[:, 1, MEASURES.index("ehcp_total")]
    cut = simulate(ctx, _scenario(lever), draws=600, seed=3).values[:, 1, MEASURES.index("ehcp_total")]
    assert (cut - base).mean() == pytest.approx(-0.5 * expected, rel=0.25)


def test_a_lever_starting_later_leaves_the_first_year_unchanged(norfolk_sen2):
    from sendcast.scenarios.compare import context_from_sen2, simulate

    _, store = norfolk_sen2
    ctx = context_from_sen2(store, council="Norfolk", horizon=3, seed=5)
    lever = NeedNewPlansLever(kind="need_new_plans", need="ASD", change_percent=-100, start=ctx.origin + 1)
    base = simulate(ctx, _scenario(), draws=100, seed=2).values
    late = simulate(ctx, _scenario(lever), draws=100, seed=2).values
    assert np.array_equal(base[:, :2], late[:, :2])  # the origin and the year before the lever: same draws
    assert late[:, 3, 0].mean() < base[:, 3, 0].mean()


def test_fewer_moves_into_independent_special_at_the_transfers(norfolk_sen2):
    from sendcast.personlevel.api import need_scenarios

    _, store = norfolk_sen2
    model = need_scenarios(store, council="Norfolk", horizon=3, seed=5).model
    lever = TransitionLever.model_validate({"kind": "transition", "to": "independent_special", "at": "phase_transfer",
                                            "change_percent": -100, "start": model.origin})  # fmt: skip
    res = compare(model, [lever], horizon=3, draws=300, seed=4, by=("placement_group",))
    ind = res[res["placement_group"] == "independent_special"]
    assert (ind["difference"] < 0).all()
    tot = res[res["placement_group"] == "total"]
    assert (tot["difference"].abs() < 0.03 * tot["baseline"]).all()  # moves, not new or ended plans

"""The speed-ups (in-process caches, reused baseline draws, vectorised summaries) change no
number: each cached or vectorised path is compared, draw by draw and exactly, with the same
values computed by the un-cached path (fresh loads, fresh fits, the original per-group code).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sendcast.model import api
from sendcast.model.forecast import MEASURES, council_rng, national_shocks, run_forecast
from sendcast.model.step import StepInputs, advance, step
from sendcast.model.stockflow import fit_all, mover_ages, simulate_council
from sendcast.model.structure import N_AGES, N_GROUPS
from sendcast.money import service
from sendcast.money.budget import BudgetResult, _draws_by_year, compute_budget, load_inputs, summarise
from sendcast.parameters import PLACEMENT_GROUPS, load_parameters
from sendcast.scenarios.compare import (
    DEMAND_MEASURES,
    MONEY_LINES,
    Context,
    ScenarioRun,
    add_budget,
    compare,
    compare_runs,
    context_from_histories,
    context_from_store,
    simulate,
)
from sendcast.scenarios.goalseek import goal_seek, make_lever, probability_balanced
from sendcast.scenarios.schema import BASELINE, Scenario, load_scenario
from sendcast.store import open_store

COUNCIL = "E10000020"  # Norfolk
DRAWS, HORIZON, SEED = 200, 6, 7
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "norfolk" / "scenarios"


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
    """The published forecast's placement draws with fits made afresh (no cache)."""
    hist = api._histories(data, origin, None)
    fits = fit_all(hist, HORIZON, neighbours=data.neighbours)
    res = api.published_forecast(data, hist, origin, HORIZON, DRAWS, seed, [COUNCIL], True, fits=fits)
    assert res.placement_draws is not None
    return res.placement_draws


def fresh_published(data: api.ModelData, origin: int, hist: dict, fits: dict):  # type: ignore[no-untyped-def,type-arg]
    """The published forecast's (D, T, M) draws from fresh fits: what a store context layers
    scenarios on (see compare._on_published)."""

    def published(n_draws: int, seed: int) -> np.ndarray:
        res = api.published_forecast(data, hist, origin, HORIZON, n_draws, seed, [COUNCIL], True, fits=fits)
        return res.draw_values[COUNCIL]

    return published


def test_cached_fits_give_the_same_draws(data: api.ModelData, origin: int) -> None:
    reference = uncached_draws(data, origin, SEED)
    api.placement_draws(COUNCIL, horizon=HORIZON, draws=DRAWS, seed=SEED + 1)  # warm the caches
    cached = api.placement_draws(COUNCIL, horizon=HORIZON, draws=DRAWS, seed=SEED)
    assert ("fits", origin, HORIZON) in data.cache
    pd.testing.assert_frame_equal(cached, reference, check_exact=True)
    cached["plans"] = -1  # a caller changing its copy does not change what is kept
    repeat = api.placement_draws(COUNCIL, horizon=HORIZON, draws=DRAWS, seed=SEED)  # the kept draws
    pd.testing.assert_frame_equal(repeat, reference, check_exact=True)


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
    pd.testing.assert_frame_equal(summarise(b), original_summarise(b), check_exact=True)  # kept summary
    b.lines = lines.assign(value=lines["value"] * 2.0)  # a new table: summarised afresh
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


def test_plans_by_year_is_the_pivot_table(data: api.ModelData, origin: int) -> None:
    draws = uncached_draws(data, origin, SEED).sample(frac=1.0, random_state=1)  # any row order
    piv = draws.pivot_table(
        index=["draw", "year"], columns="placement", values="plans", aggfunc="sum", fill_value=0
    ).reindex(columns=list(PLACEMENT_GROUPS), fill_value=0)
    at = _draws_by_year(draws)
    for y in sorted(set(draws["year"])) + [origin + HORIZON + 1]:
        ref = piv.xs(y, level="year").sort_index().to_numpy(dtype=float) if y in set(draws["year"]) else None
        got = at(y)
        if ref is None:
            assert got.shape == (0, len(PLACEMENT_GROUPS))
        else:
            np.testing.assert_array_equal(got, ref)


def reference_table(runs: list[ScenarioRun], years: list[int]) -> pd.DataFrame:
    """The comparison table computed cell by cell: one column of draws at a time."""

    def q(v: np.ndarray) -> dict[str, float]:
        return {
            "mean": float(v.mean()),
            "p10": float(np.quantile(v, 0.1)),
            "p50": float(np.quantile(v, 0.5)),
            "p90": float(np.quantile(v, 0.9)),
        }

    def wide(run: ScenarioRun, line: str) -> pd.DataFrame:
        assert run.budget is not None
        return run.budget.line(line).pivot(index="draw", columns="financial_year", values="value")

    ref, rows = runs[0], []
    for run in runs:
        name = run.scenario.name
        for m in DEMAND_MEASURES:
            mi = MEASURES.index(m)
            for t, y in enumerate(years):
                v = run.values[:, t, mi]
                rows.append({"scenario": name, "kind": "level", "measure": m, "year": y, **q(v)})
                if run is not ref:
                    d = v - ref.values[:, t, mi]
                    rows.append({"scenario": name, "kind": "difference", "measure": m, "year": y, **q(d)})
        assert run.budget is not None and ref.budget is not None
        lines = set(run.budget.lines["line"])
        for line in MONEY_LINES:
            if line not in lines:
                continue
            w = wide(run, line)
            rw = wide(ref, line) if line in set(ref.budget.lines["line"]) else None
            for fy in w.columns:
                v = w[fy].to_numpy()
                rows.append({"scenario": name, "kind": "level", "measure": line, "year": int(fy), **q(v)})
                if run is not ref:
                    b = rw[fy].to_numpy() if rw is not None and fy in rw.columns else 0.0
                    rows.append({"scenario": name, "kind": "difference", "measure": line, "year": int(fy), **q(v - b)})
    return pd.DataFrame(rows, columns=["scenario", "kind", "measure", "year", "mean", "p10", "p50", "p90"])


@pytest.fixture(scope="module")
def scenarios() -> list[Scenario]:
    return [load_scenario(EXAMPLES / "baseline.yaml"), load_scenario(EXAMPLES / "local_first_inclusion.yaml")]


def test_compare_is_the_fresh_cell_by_cell_comparison(
    data: api.ModelData, origin: int, fresh_inputs: object, scenarios: list[Scenario]
) -> None:
    ctx = context_from_store(COUNCIL, origin=origin, horizon=HORIZON, draws=DRAWS)
    # reference: fresh fits, every scenario simulated and budgeted from scratch, fresh money inputs
    hist = api._histories(data, origin, None)
    fresh = context_from_histories(hist, COUNCIL, horizon=HORIZON, neighbours=data.neighbours)
    fresh.published = fresh_published(data, origin, hist, fresh.fits)
    runs = [
        add_budget(simulate(fresh, s, draws=DRAWS, seed=SEED), fresh_inputs, la_code=COUNCIL, seed=SEED)  # type: ignore[arg-type]
        for s in scenarios
    ]
    got = compare(ctx, scenarios, draws=DRAWS, seed=SEED, inputs=service.inputs())
    again = compare(ctx, scenarios, draws=DRAWS, seed=SEED, inputs=service.inputs())  # draws reused
    years = list(range(origin, origin + HORIZON + 1))
    ref = reference_table(runs, years)
    pd.testing.assert_frame_equal(got.table, ref, check_exact=True)
    pd.testing.assert_frame_equal(again.table, ref, check_exact=True)
    for a, b in zip(got.runs, runs, strict=True):
        pd.testing.assert_frame_equal(a.placement_draws, b.placement_draws, check_exact=True)
    assert got.savings.equals(compare_runs(fresh, runs).savings)


def test_goal_seek_trials_are_fresh_simulations(data: api.ModelData, origin: int, fresh_inputs: object) -> None:
    draws, fy = 100, origin + HORIZON - 1
    hist = api._histories(data, origin, None)
    fits = fit_all(hist, HORIZON, neighbours=data.neighbours)

    def fresh_probability(size: float, floor: float) -> float:
        # a new context (no kept runs) on freshly computed fits
        fresh = Context(
            COUNCIL, fits[COUNCIL].la_name, origin, HORIZON, fits, hist, fresh_published(data, origin, hist, fits)
        )
        sc = BASELINE.with_levers([make_lever("incidence", size, start=origin)], name="fresh")
        return probability_balanced(
            fresh, sc, draws=draws, seed=SEED, financial_year=fy, at_least=floor, inputs=fresh_inputs, agreement=None
        )  # type: ignore[arg-type]

    # a floor the baseline reaches in about 30% of draws, so the search bisects
    base = Context(
        COUNCIL, fits[COUNCIL].la_name, origin, HORIZON, fits, hist, fresh_published(data, origin, hist, fits)
    )
    run = add_budget(simulate(base, BASELINE, draws=draws, seed=SEED), fresh_inputs, la_code=COUNCIL, seed=SEED)  # type: ignore[arg-type]
    assert run.budget is not None
    cum = run.budget.line("cumulative_balance")
    floor = float(np.quantile(cum[cum["financial_year"] == fy]["value"], 0.7))
    ctx = context_from_store(COUNCIL, origin=origin, horizon=HORIZON, draws=draws)
    res = goal_seek(
        ctx,
        lever="incidence",
        target_year=fy + 1,
        probability=0.5,
        inputs=service.inputs(),
        draws=draws,
        seed=SEED,
        iterations=3,
        at_least=floor,
    )
    assert len(res.trials) == 5  # 0%, 100%, then three halvings
    for size, p in res.trials.itertuples(index=False):
        assert p == fresh_probability(size, floor)


# --------------------------------------------------------------------------- issue 16: simulation


def random_inputs(rng: np.random.Generator, d: int, per_draw_movers: bool) -> tuple[np.ndarray, StepInputs]:
    """A stock with empty cells and step inputs with zero, negative, above-1 and missing rates."""
    stock = rng.poisson(rng.choice([0.0, 0.5, 8.0, 120.0], size=(1, N_AGES, N_GROUPS)), size=(d, N_AGES, N_GROUPS))
    hazard = rng.uniform(-0.05, 0.3, size=(d, N_AGES))
    hazard[:, 3] = 1.4  # capped at 1
    hazard[0, 4] = np.nan  # skipped, as a zero chance is
    joiners = rng.uniform(0, 30, size=(d, N_AGES)) * (rng.uniform(size=N_AGES) > 0.3)
    mix = rng.uniform(size=(5, N_GROUPS)) * (rng.uniform(size=(5, N_GROUPS)) > 0.2)
    mix[:, 0] += 0.1
    shape = (d, N_GROUPS) if per_draw_movers else (N_GROUPS,)
    movers = rng.normal(0, 0.05, size=shape) * (rng.uniform(size=shape) > 0.3)
    movers[..., 2] = 1.5 if per_draw_movers else -1.5  # moves every plan it can
    return stock.astype(np.int64), StepInputs(
        hazard=hazard,
        joiners=joiners,
        joiner_mix=mix,
        transfer_mix=mix[::-1].copy(),
        persistence={5: 0.8, 11: 0.0, 16: 1.0, 19: 0.35},
        mover_rate=movers,
        mover_ages=mover_ages(),
    )


@pytest.mark.parametrize("case", range(6))
def test_fast_advance_draws_what_the_step_draws(case: int) -> None:
    """advance() makes the same random calls on the same values as step(): the same new stock,
    and the generators are left in the same state (the next year's draws are the same too)."""
    stock, inp = random_inputs(np.random.default_rng(case), 37 + case, per_draw_movers=case % 2 == 0)
    a, b = np.random.default_rng(100 + case), np.random.default_rng(100 + case)
    for _ in range(3):
        fast = advance(stock, inp, a)
        slow, _ = step(stock, inp, b)
        np.testing.assert_array_equal(fast, slow)
        assert fast.dtype == slow.dtype
        stock = fast
    assert a.random() == b.random()
    expected = stock.astype(float)  # in expectation (rng=None): the step itself
    np.testing.assert_array_equal(advance(expected, inp, None), step(expected, inp, None)[0])


def test_cohort_draws_do_not_depend_on_the_summaries(data: api.ModelData, origin: int) -> None:
    hist = api.histories(data, origin)
    fits = api.council_fits(data, origin, HORIZON)
    codes = sorted(fits)[:3]
    kw = dict(horizon=HORIZON, draws=DRAWS, seed=SEED, la_codes=codes, keep_draws=True, fits=fits, workers=1)
    with_summaries = run_forecast(hist, **kw)  # type: ignore[arg-type]
    without = run_forecast(hist, summaries=False, **kw)  # type: ignore[arg-type]
    assert without.summary.empty and len(with_summaries.summary)
    for c in codes:
        np.testing.assert_array_equal(without.draw_values[c], with_summaries.draw_values[c])


def test_fits_kept_on_disk_give_the_same_draws(
    data: api.ModelData, origin: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("SENDCAST_NO_DISK_CACHE", raising=False)
    store = open_store()
    first = api._load.__wrapped__(str(store.path), api.store_fingerprint(store))  # a fresh ModelData
    written = api.council_fits(first, origin, HORIZON)
    files = sorted(p.name for p in (tmp_path / "sendcast").glob("*.pkl"))
    assert any(f.startswith(f"fits-{origin}-{HORIZON}-") for f in files)
    assert any(f.startswith(f"histories-{origin}-") for f in files)

    def no_fit(*args: object, **kwargs: object) -> None:
        raise AssertionError("fitted again instead of reading the disk cache")

    monkeypatch.setattr(api, "fit_all", no_fit)
    second = api._load.__wrapped__(str(store.path), api.store_fingerprint(store))
    read = api.council_fits(second, origin, HORIZON)
    fresh = fit_all(api._histories(data, origin, None), HORIZON, neighbours=data.neighbours)
    assert sorted(read) == sorted(fresh) == sorted(written)
    shocks = national_shocks(SEED, DRAWS, HORIZON)
    for c in sorted(fresh)[:: max(1, len(fresh) // 5)]:
        got = simulate_council(read[c], HORIZON, DRAWS, council_rng(SEED, c), shocks)
        np.testing.assert_array_equal(got, simulate_council(fresh[c], HORIZON, DRAWS, council_rng(SEED, c), shocks))
    monkeypatch.setenv("SENDCAST_NO_DISK_CACHE", "1")  # the switch: fitted afresh (here: refused)
    third = api._load.__wrapped__(str(store.path), api.store_fingerprint(store))
    with pytest.raises(AssertionError, match="fitted again"):
        api.council_fits(third, origin, HORIZON)


def test_kept_calibration_is_the_fresh_one(data: api.ModelData, origin: int) -> None:
    """The calibration kept per origin and horizon is what :func:`calibrate` learns afresh, and
    the published draws made with it are those made without it."""
    from sendcast.model.prequential import calibrate, published_draws

    api.placement_draws(COUNCIL, horizon=HORIZON, draws=DRAWS, seed=SEED)  # keeps it
    hist = api.histories(data, origin)
    keys = [k for k in data.cache if k[0] == "calibration" and k[1] == origin]
    assert keys, "no calibration kept"
    kept: Any = data.cache[keys[0]]
    past = data.cache[("past_points", origin)]
    fresh = calibrate(origin, past, hist, keys[0][2])
    np.testing.assert_array_equal(kept.weights, fresh.weights)
    np.testing.assert_array_equal(kept.local_quantiles, fresh.local_quantiles)
    np.testing.assert_array_equal(kept.national_sd, fresh.national_sd)
    h = keys[0][2]
    fits = fit_all(hist, h, neighbours=data.neighbours)
    res = run_forecast(hist, horizon=h, draws=DRAWS, seed=SEED, la_codes=[COUNCIL],
                           neighbours=data.neighbours, keep_draws=True, include_england=False, fits=fits)  # fmt: skip
    a, _ = published_draws(hist, res.draw_values, past, horizon=h, seed=SEED, la_codes=[COUNCIL])
    b, _ = published_draws(hist, res.draw_values, past, horizon=h, seed=SEED, la_codes=[COUNCIL],
                           calibration=kept)  # fmt: skip
    np.testing.assert_array_equal(a[COUNCIL], b[COUNCIL])


def simulate_with_step(fit: Any, horizon: int, draws: int, rng: np.random.Generator, shocks: np.ndarray,
                       levers: Any = None) -> np.ndarray:  # fmt: skip
    """simulate_council as it was before issue 16's second pass: the inputs rebuilt every year,
    each year drawn by step() itself (the reference), copied into the output."""
    from sendcast.model.stockflow import _round_preserving, sample_paths
    from sendcast.model.structure import phase_transfer_persistence

    paths = sample_paths(fit, horizon, draws, rng, shocks)
    stock = np.repeat(_round_preserving(fit.stock0)[None], draws, axis=0).astype(np.int64)
    out = np.empty((draws, horizon + 1, N_AGES, N_GROUPS), dtype=np.int64)
    out[:, 0] = stock
    hz, g, persistence, mask = fit.hazard_shape, fit.incidence_shape, phase_transfer_persistence(), mover_ages()
    for k in range(horizon):
        year = fit.origin + k
        joiners = np.exp(paths.log_rho[:, k])[:, None] * (fit.pop_at(year) * g)[None, :]
        if paths.joiner_age is not None:
            joiners = joiners * paths.joiner_age
        hz_d = hz[None, :] if paths.exit_age is None else hz[None, :] * paths.exit_age
        hazard = np.clip(np.exp(paths.log_lambda[:, k])[:, None] * hz_d, 0, 1)
        inp = StepInputs(hazard=hazard, joiners=joiners, joiner_mix=fit.joiner_mix, transfer_mix=fit.joiner_mix,
                         persistence=persistence, mover_rate=paths.mover_rate, mover_ages=mask)  # fmt: skip
        if levers is not None:
            inp = levers.apply(inp, year=year, fit=fit, stock=stock)
        stock, _ = step(stock, inp, rng)
        if levers is not None:
            stock = levers.after_step(stock, year=year, fit=fit, rng=rng)
        out[:, k + 1] = stock
    return out


@pytest.mark.parametrize("scenario", [None, "local_first_inclusion.yaml"])
def test_simulation_fast_path_is_the_step_by_step_simulation(data: api.ModelData, origin: int,
                                                             scenario: str | None) -> None:  # fmt: skip
    """simulate_council (advance() writing into the output, its year-invariant part prepared once
    per run, remade when a scenario's levers replace a mix) draws what step() draws year by year."""
    from sendcast.scenarios.levers import levers_for

    fits = api.council_fits(data, origin, HORIZON)
    shocks = national_shocks(SEED, DRAWS, HORIZON)
    codes = [COUNCIL] if scenario else [COUNCIL, *sorted(fits)[:: max(1, len(fits) // 6)]]
    for c in codes:

        def levers() -> Any:
            return levers_for(load_scenario(EXAMPLES / scenario)) if scenario else None

        a, b = council_rng(SEED, c), council_rng(SEED, c)
        got = simulate_council(fits[c], HORIZON, DRAWS, a, shocks, levers=levers())
        ref = simulate_with_step(fits[c], HORIZON, DRAWS, b, shocks, levers=levers())
        np.testing.assert_array_equal(got, ref)
        assert got.dtype == ref.dtype and a.random() == b.random()


def test_prepared_inputs_are_remade_for_other_inputs() -> None:
    """advance() with a Prepared made for other inputs (another mix, other mover rates or draws)
    prepares afresh; with ``out`` it writes the new stock there, a view of a bigger array."""
    from sendcast.model.step import prepare

    stock, inp = random_inputs(np.random.default_rng(11), 40, per_draw_movers=True)
    _, other = random_inputs(np.random.default_rng(12), 40, per_draw_movers=True)
    stale = prepare(other, 40)
    assert not stale.fits(inp, 40) and stale.fits(other, 40) and not stale.fits(other, 41)
    big = np.zeros((40, 3, N_AGES, N_GROUPS), dtype=np.int64)
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    got = advance(stock, inp, a, prepared=stale, out=big[:, 1])
    assert got.base is big or np.shares_memory(got, big)
    np.testing.assert_array_equal(big[:, 1], step(stock, inp, b)[0])
    assert a.random() == b.random()
    negative = stock.copy()
    negative[0, 3, 1] = -2  # not plans: the step itself
    np.testing.assert_array_equal(advance(negative, inp, np.random.default_rng(6)),
                                  step(negative, inp, np.random.default_rng(6))[0])  # fmt: skip


def test_published_in_the_workers_is_published_after_them(data: api.ModelData, origin: int) -> None:
    """The published forecast's per-council part run in two worker processes (a Publisher) gives
    the draws, summaries (in the same row order, England included) and placement draws of the
    same part run in the main process after a cohort run."""
    from sendcast.model.prequential import Publisher, calibrate, publish

    hist = api.histories(data, origin)
    fits = api.council_fits(data, origin, HORIZON)
    past = data.cache.get(("past_points", origin))
    if past is None:
        api.placement_draws(COUNCIL, horizon=HORIZON, draws=DRAWS, seed=SEED)  # keeps the past points
        past = data.cache[("past_points", origin)]
    cal = calibrate(origin, past, hist, HORIZON)
    codes = sorted(fits)[:: max(1, len(fits) // 7)][::-1]  # not in sorted order
    kw: dict[str, Any] = dict(horizon=HORIZON, draws=DRAWS, seed=SEED, la_codes=codes, keep_draws=True,
                              include_england=False, keep_placements=False, fits=fits)  # fmt: skip
    cohort = run_forecast(hist, workers=1, summaries=False, **kw)
    ref = publish(cohort, hist, past, la_codes=codes, include_england=True, keep_draws=True, calibration=cal)
    pub = Publisher(hist, cal, HORIZON, SEED, codes)
    run = run_forecast(hist, workers=2, publisher=pub, **kw)
    assert run.summary.empty and sorted(run.council_summaries) == sorted(codes)
    got = publish(run, hist, past, la_codes=codes, include_england=True, keep_draws=True, calibration=cal,
                  published=True)  # fmt: skip
    pd.testing.assert_frame_equal(got.summary, ref.summary, check_exact=True)
    assert list(got.draw_values) == list(ref.draw_values)
    for c, v in ref.draw_values.items():
        np.testing.assert_array_equal(got.draw_values[c], v)
    assert got.placement_draws is not None and ref.placement_draws is not None
    pd.testing.assert_frame_equal(got.placement_draws, ref.placement_draws, check_exact=True)
    with pytest.raises(ValueError, match="publisher"):
        run_forecast(hist, workers=1, publisher=pub, **{**kw, "include_england": True})

"""Run scenarios on the same draws, turn them into money, and compare them with the baseline.

Every scenario of a comparison is simulated from the same council fit with the same seed, so
the incidence and exit-rate paths (drawn before any lever acts) are the same draw for draw;
differences are then computed draw by draw (``scenario - baseline`` per draw, then
summarised), which removes most of the Monte Carlo noise from the difference.

Money: placement draws -> :func:`sendcast.money.budget.compute_budget` (the one function that
computes the DSG balance, the same one ``sendcast budget`` calls), with the scenario's money
levers (:func:`money_levers`: unit-cost changes, the programme's running costs, extra funding)
applied inside it before the totals; capital is reported beside the balance, not in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sendcast.model.forecast import MEASURES, ForecastResult, placement_table, run_forecast
from sendcast.model.history import CouncilHistory
from sendcast.model.stockflow import CouncilFit, fit_all
from sendcast.money.agreements import Agreement, probability_of_target
from sendcast.money.budget import BudgetResult, MoneyInputs, cached_allocation, compute_budget
from sendcast.parameters import financial_year_label, require
from sendcast.scenarios.levers import ScenarioLevers
from sendcast.scenarios.schema import (
    CapitalLever,
    FundingLever,
    RunningCostLever,
    Scenario,
    UnitCostLever,
)

DEMAND_MEASURES = ("ehcp_total", "independent_special", "state_special", "resourced_provision")
NEED_PREFIX = "need:"  # measures of plans by primary need (``need:SEMH``), on a SEN2 context only
MONEY_LINES = (
    "spend_total",
    "spend:programme_running_costs",
    "income_total",
    "in_year_balance",
    "cumulative_balance",
)
RUNNING_LINE = "spend:programme_running_costs"
EXTRA_LINE = "income:extra_high_needs"
MAX_KEPT_RUNS = 4


@dataclass
class Context:
    """A council fitted at an origin, ready to simulate scenarios on."""

    la_code: str
    la_name: str
    origin: int
    horizon: int
    fits: dict[str, CouncilFit]
    histories: dict[str, CouncilHistory]
    # the published forecast's (D, T, M) draws for the council, by (draws, seed): when set, a
    # scenario's levels are the published forecast plus the scenario's effect on the cohort
    # model draw by draw, so the baseline is the forecast `sendcast forecast`/`budget` show
    published: Callable[[int, int], np.ndarray] | None = field(default=None, repr=False)
    published_values: dict[tuple[int, int], np.ndarray] = field(default_factory=dict, init=False, repr=False)
    # the need model fitted to the council's own SEN2 return (sendcast.personlevel.api.NeedScenarios):
    # when set, every scenario is simulated on it instead of the published forecast
    need: Any = field(default=None, repr=False)
    # simulations already run on this context, by what changes the draws (see simulation_key)
    runs: dict[tuple[object, ...], ScenarioRun] = field(default_factory=dict, init=False, repr=False)


@dataclass
class ScenarioRun:
    """One scenario simulated: ``values`` (D, T, M) in :data:`MEASURES` order, the placement
    draws table, and the expected new plans per simulated year (mean over draws)."""

    scenario: Scenario
    forecast: ForecastResult
    values: np.ndarray
    placement_draws: pd.DataFrame
    new_plans: dict[int, float]
    budget: BudgetResult | None = None
    capital: pd.DataFrame | None = None
    # (D, T, need) plans by primary need (NEEDS order): runs on the council's SEN2 need model only
    need_values: np.ndarray | None = None


def context_from_histories(
    histories: dict[str, CouncilHistory],
    la_code: str,
    *,
    horizon: int,
    neighbours: dict[str, list[str]] | None = None,
) -> Context:
    """Return a :class:`Context`: every council fitted (pooling needs them all), one chosen."""
    fits = fit_all(histories, horizon, neighbours=neighbours)
    if la_code not in fits:
        raise ValueError(f"{la_code}: not enough history to fit")
    f = fits[la_code]
    return Context(
        la_code=la_code,
        la_name=f.la_name,
        origin=f.origin,
        horizon=horizon,
        fits=fits,
        histories=histories,
    )


def context_from_store(council: str, *, origin: int | None, horizon: int, store: Any = None, draws: int = 1) -> Context:
    """Return a :class:`Context` for a council in the store (name or code)."""
    from sendcast.model import api

    data = api.model_data(store)
    o = api.check_request(data, origin, horizon, draws)
    hist = api.histories(data, o)
    code, _ = api.resolve_council(council, data)
    if code not in hist:
        raise api.ForecastInputError(f"{council}: not enough published history from {o}")
    fits = api.council_fits(data, o, horizon)  # fitted once per origin and horizon in this process
    if code not in fits:
        raise api.ForecastInputError(f"{council}: not enough published history to fit from {o}")
    f = fits[code]

    def published(n_draws: int, seed: int) -> np.ndarray:
        res = api.forecast(code, origin=o, horizon=horizon, draws=n_draws, seed=seed, keep_draws=True, store=store)
        return res.draw_values[code]

    return Context(
        la_code=code,
        la_name=f.la_name,
        origin=f.origin,
        horizon=horizon,
        fits=fits,
        histories=hist,
        published=published,
    )


def context_from_sen2(sen2_store: Any, *, council: str | None, horizon: int, seed: int, origin: int | None = None,
                      store: Any = None) -> Context:  # fmt: skip
    """Return a :class:`Context` on the need model fitted to a council's own SEN2 store
    (:func:`sendcast.personlevel.api.need_scenarios`): scenarios on it may hold need and
    transition levers. ``council`` (if given) must be the store's own; ``origin`` (if given)
    its last census year. Raises ``Sen2CouncilError``, ``Sen2InputError`` or ``ValueError``
    (one line)."""
    from sendcast.personlevel.api import need_scenarios

    need = need_scenarios(sen2_store, council=council, horizon=horizon, seed=seed, origin=origin, store=store)
    return Context(la_code=need.la_code, la_name=need.la_name, origin=need.origin, horizon=horizon, fits={},
                   histories={}, need=need)  # fmt: skip


def check_need_levers(scenarios: list[Scenario], *, sen2: bool, hint: str = "give --sen2 STORE") -> None:
    """Refuse (ValueError, one line) a need or transition lever without the council's SEN2
    return (the message ends with ``hint``: how to give one), and a lever the need model cannot
    apply with it."""
    for sc in scenarios:
        if sen2:
            from sendcast.personlevel.levers import check_levers

            try:
                check_levers(sc.levers)
            except ValueError as e:
                raise ValueError(f"{sc.file or sc.name}: {e}") from None
            continue
        for lv in sc.need_levers:
            if not lv.is_zero:
                raise ValueError(
                    f"{sc.file or sc.name}: lever {lv.describe()!r} ({lv.kind}) acts on a primary need or a "
                    f"transition, which only the council's own SEN2 return can model: {hint}"
                )


def _simulate_need(ctx: Context, scenario: Scenario, *, draws: int, seed: int) -> ScenarioRun:
    """The scenario on the context's need model (same seed, same bootstrap draws as the baseline)."""
    from sendcast.model.forecast import summarise
    from sendcast.personlevel.levers import need_levers_in

    levers = need_levers_in(scenario.levers)
    key = ("need", int(draws), int(seed), tuple(lv.model_dump_json() for lv in levers))
    done = ctx.runs.get(key)
    if done is None:
        values, pdraws, needs = ctx.need.simulate(levers, draws=draws, seed=seed)
        years = np.arange(ctx.origin, ctx.origin + values.shape[1])
        res = ForecastResult(origin=ctx.origin, horizon=ctx.horizon, draws=draws, seed=seed,
                             summary=summarise(values, ctx.la_code, ctx.la_name, years), fits={},
                             draw_values={ctx.la_code: values}, placement_draws=pdraws)  # fmt: skip
        done = ScenarioRun(scenario=scenario, forecast=res, values=values, placement_draws=pdraws, new_plans={},
                           need_values=needs)  # fmt: skip
        while len(ctx.runs) >= MAX_KEPT_RUNS:
            ctx.runs.pop(next(reversed(ctx.runs)))
        ctx.runs[key] = done
    return ScenarioRun(scenario=scenario, forecast=done.forecast, values=done.values,
                       placement_draws=done.placement_draws, new_plans={}, need_values=done.need_values)  # fmt: skip


def simulate(ctx: Context, scenario: Scenario, *, draws: int, seed: int) -> ScenarioRun:
    """Return the :class:`ScenarioRun` of ``scenario`` for the context's council.

    The levers hook is always passed (a zero scenario leaves every array bit-identical), so
    the expected new plans are recorded for the baseline too.

    The draws depend only on the scenario's model levers in force (:func:`simulation_key`), so
    a scenario whose model levers match one already simulated on this context (the baseline,
    a money-only variant, a goal-seek trial of size 0) reuses its draws instead of
    simulating again: the same arrays the simulation would return.

    On a context from the council's SEN2 return (:func:`context_from_sen2`) the scenario runs
    on the need model (:mod:`sendcast.personlevel.levers` says which levers it takes); a need
    or transition lever on any other context is refused (:func:`check_need_levers`).
    """
    check_need_levers([scenario], sen2=ctx.need is not None)
    if ctx.need is not None:
        return _simulate_need(ctx, scenario, draws=draws, seed=seed)
    key = simulation_key(scenario, draws=draws, seed=seed)
    done = ctx.runs.get(key)
    if done is None:
        hook = ScenarioLevers(scenario)
        res = run_forecast(
            ctx.histories,
            horizon=ctx.horizon,
            draws=draws,
            seed=seed,
            la_codes=[ctx.la_code],
            keep_draws=True,
            levers=hook,
            fits=ctx.fits,
        )
        assert res.placement_draws is not None
        values = res.draw_values[ctx.la_code]
        pdraws = res.placement_draws
        if ctx.published is not None:
            values, pdraws = _on_published(ctx, scenario, values, draws=draws, seed=seed)
        done = ScenarioRun(
            scenario=scenario,
            forecast=res,
            values=values,
            placement_draws=pdraws,
            new_plans={y: v for (c, y), v in hook.new_plans.items() if c == ctx.la_code},
        )
        while len(ctx.runs) >= MAX_KEPT_RUNS:  # goal-seek trials are used once: keep the first few
            ctx.runs.pop(next(reversed(ctx.runs)))
        ctx.runs[key] = done
    return ScenarioRun(
        scenario=scenario,
        forecast=done.forecast,
        values=done.values,
        placement_draws=done.placement_draws,
        new_plans=dict(done.new_plans),
    )


def _on_published(
    ctx: Context, scenario: Scenario, cohort: np.ndarray, *, draws: int, seed: int
) -> tuple[np.ndarray, pd.DataFrame]:
    """The scenario's (D, T, M) draws on the published forecast: published + (cohort model with
    the scenario's levers - cohort model without them), draw by draw on the same seed, floored
    at zero; and its placement-draws table. A scenario with no model levers is the published
    forecast exactly, so the baseline's balance is the one `sendcast budget` shows."""
    assert ctx.published is not None
    key = (int(draws), int(seed))
    if key not in ctx.published_values:
        ctx.published_values[key] = ctx.published(draws, seed)
    pub = ctx.published_values[key]
    zero = Scenario(name="baseline", description="no change: the published forecast")
    if simulation_key(scenario, draws=draws, seed=seed) == simulation_key(zero, draws=draws, seed=seed):
        values = pub
    else:
        # the cohort model's own draws without levers (the run's forecast keeps them)
        base = simulate(ctx, zero, draws=draws, seed=seed).forecast.draw_values[ctx.la_code]
        values = np.maximum(pub + (cohort - base), 0.0)
    years = np.arange(ctx.origin, ctx.origin + values.shape[1])
    return values, placement_table(values, ctx.la_code, ctx.la_name, years)


def simulation_key(scenario: Scenario, *, draws: int, seed: int) -> tuple[object, ...]:
    """What a scenario's simulated draws depend on, beyond the context: draws, seed and the
    model levers :class:`~sendcast.scenarios.levers.ScenarioLevers` applies (the non-zero
    incidence, ceasing, placement-shift and new-places levers, in order, every field). Zero
    levers and money levers leave the draws bit-identical, so they are not part of the key."""
    hook = ScenarioLevers(scenario)
    model = [*hook.incidence, *hook.ceasing, *hook.shifts, *hook.places]
    return (int(draws), int(seed), tuple(lv.model_dump_json() for lv in model))


def money_levers(
    scenario: Scenario,
    inputs: MoneyInputs,
    la_code: str,
) -> Callable[[pd.DataFrame], pd.DataFrame] | None:
    """Return the scenario's money levers as an ``adjust`` for
    :func:`sendcast.money.budget.compute_budget` (None when none is in force).

    On the line table (index draw, financial_year), before the totals:

    - unit_cost: ``spend:<group> x (1 + change_percent/100 x strength(FY))``;
    - running_cost: a line ``spend:programme_running_costs`` = ``gbp_per_year x strength``
      (cash, not inflated), counted in ``spend_total``;
    - funding: ``block_transfer_percent x strength / 100 x schools block`` added to
      ``income:block_transfer``; ``extra_high_needs_gbp x strength`` as
      ``income:extra_high_needs``.

    Capital levers are not in the DSG balance (see :func:`capital_table`).
    """
    active = [lv for lv in scenario.money_levers if not lv.is_zero and not isinstance(lv, CapitalLever)]
    if not active:
        return None

    def adjust(wide: pd.DataFrame) -> pd.DataFrame:
        fy = wide.index.get_level_values("financial_year").to_numpy()
        years = sorted(set(int(y) for y in fy))
        for lv in active:
            s = np.array([lv.strength(int(y)) for y in fy])
            if isinstance(lv, UnitCostLever):
                col = f"spend:{lv.group}"
                wide[col] = wide[col] * (1.0 + lv.change_percent / 100.0 * s)
            elif isinstance(lv, RunningCostLever):
                prev = wide[RUNNING_LINE] if RUNNING_LINE in wide.columns else 0.0
                wide[RUNNING_LINE] = prev + lv.gbp_per_year * s
            elif isinstance(lv, FundingLever):
                if lv.block_transfer_percent:
                    sb = cached_allocation(
                        inputs,
                        la_code,
                        "schools_block",
                        "before_recoupment",
                        years,
                        require(inputs.params, "funding/schools_block/growth"),
                    )
                    sb_by = sb.set_index("financial_year")["value"].fillna(0.0)
                    add = lv.block_transfer_percent / 100.0 * s * sb_by.reindex(fy).to_numpy()
                    prev = wide["income:block_transfer"] if "income:block_transfer" in wide.columns else 0.0
                    wide["income:block_transfer"] = prev + add
                if lv.extra_high_needs_gbp:
                    prev = wide[EXTRA_LINE] if EXTRA_LINE in wide.columns else 0.0
                    wide[EXTRA_LINE] = prev + lv.extra_high_needs_gbp * s
        return wide

    return adjust


def capital_table(scenario: Scenario) -> pd.DataFrame:
    """Return capital by financial year (``financial_year, label, gbp``): each capital lever's
    total spread evenly over ``start``..``end`` (``end`` absent: all in ``start``)."""
    rows: dict[int, float] = {}
    for lv in scenario.levers:
        if isinstance(lv, CapitalLever) and not lv.is_zero:
            end = lv.end if lv.end is not None else lv.start
            n = end - lv.start + 1
            for y in range(lv.start, end + 1):
                rows[y] = rows.get(y, 0.0) + lv.gbp / n
    return pd.DataFrame(
        {
            "financial_year": list(rows),
            "label": [financial_year_label(y) for y in rows],
            "gbp": list(rows.values()),
        }
    )


def add_budget(
    run: ScenarioRun,
    inputs: MoneyInputs,
    *,
    la_code: str,
    seed: int,
    agreement: Agreement | None = None,
) -> ScenarioRun:
    """Return ``run`` with its budget (:func:`sendcast.money.budget.compute_budget` on the
    run's placement draws, the scenario's money levers applied) and capital table filled in."""
    run.budget = compute_budget(
        la_code,
        inputs,
        draws=run.placement_draws,
        seed=seed,
        agreement=agreement,
        adjust=money_levers(run.scenario, inputs, la_code),
    )
    active = [lv for lv in run.scenario.money_levers if not lv.is_zero and not isinstance(lv, CapitalLever)]
    if active:
        run.budget.notes.append(
            f"Scenario '{run.scenario.name}' money levers applied: " + "; ".join(lv.describe() for lv in active) + "."
        )
    run.capital = capital_table(run.scenario)
    return run


def _q_columns(m: np.ndarray) -> np.ndarray:
    """(K, 4) mean, p10, p50, p90 over draws of each column of ``m`` (D, K), as ``v.mean()``
    and ``np.quantile(v, q)`` give them for each column ``v`` (made contiguous first, so each
    mean adds the draws in the same order)."""
    cols = np.ascontiguousarray(np.asarray(m, dtype=float).T)  # (K, D)
    out = np.empty((cols.shape[0], 4))
    out[:, 0] = [c.mean() for c in cols]
    out[:, 1:] = np.quantile(cols, [0.1, 0.5, 0.9], axis=1).T
    return out


def _money_wides(run: ScenarioRun, lines: list[str]) -> dict[str, pd.DataFrame]:
    """``{line: draw x financial_year}`` for those of ``lines`` the budget has (each with its
    own years), from one pivot of the line table."""
    assert run.budget is not None
    t = run.budget.lines
    sel = t[t["line"].isin(lines)]
    wide = sel.pivot(index=["line", "draw"], columns="financial_year", values="value")
    years = sel.groupby("line", observed=True)["financial_year"].unique()
    out: dict[str, pd.DataFrame] = {}
    for line in lines:
        if line in years.index:
            w = pd.DataFrame(wide.xs(line, level="line")[sorted(years[line])])
            w.columns.name = "financial_year"
            out[line] = w
    return out


def _rows(scenario: str, kind: str, measure: str, years: list[int], stats: np.ndarray) -> list[dict[str, Any]]:
    return [
        {
            "scenario": scenario,
            "kind": kind,
            "measure": measure,
            "year": int(y),
            "mean": float(st[0]),
            "p10": float(st[1]),
            "p50": float(st[2]),
            "p90": float(st[3]),
        }
        for y, st in zip(years, stats, strict=True)
    ]


@dataclass
class Comparison:
    """Scenarios side by side. ``table``: ``scenario, kind (level|difference), measure, year,
    mean, p10, p50, p90`` (demand by January, money by financial year); differences are
    ``scenario - baseline`` draw by draw (on a SEN2 context also ``need:<code>``, the plans by
    primary need). ``target``: probability of meeting the agreement
    target per scenario. ``savings``: net savings after the programme's own costs."""

    context: Context
    runs: list[ScenarioRun]
    table: pd.DataFrame
    target: pd.DataFrame
    savings: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def compare_runs(ctx: Context, runs: list[ScenarioRun], *, agreement: Agreement | None = None) -> Comparison:
    """Return the :class:`Comparison` of ``runs`` (the first is the reference, usually the
    baseline); money rows only where the runs have budgets."""
    years = [int(y) for y in range(ctx.origin, ctx.origin + ctx.horizon + 1)]
    ref = runs[0]
    wanted = [*MONEY_LINES]
    wides = {id(r): _money_wides(r, wanted) for r in runs if r.budget is not None}
    ref_w = wides.get(id(ref), {})
    rows: list[dict[str, Any]] = []
    for run in runs:
        name = run.scenario.name
        for m in DEMAND_MEASURES:
            v = run.values[:, :, MEASURES.index(m)]  # (D, T)
            level = _rows(name, "level", m, years, _q_columns(v))
            if run is ref:
                rows += level
                continue
            diff = _rows(name, "difference", m, years, _q_columns(v - ref.values[:, :, MEASURES.index(m)]))
            rows += [r for pair in zip(level, diff, strict=True) for r in pair]
        if run.need_values is not None:  # on the council's SEN2 return: plans by primary need too
            from sendcast.personlevel.codes import NEEDS

            for i, code in enumerate(NEEDS):
                v = run.need_values[:, :, i]
                level = _rows(name, "level", f"{NEED_PREFIX}{code}", years, _q_columns(v))
                if run is ref or ref.need_values is None:
                    rows += level
                    continue
                diff = _rows(name, "difference", f"{NEED_PREFIX}{code}", years,
                             _q_columns(v - ref.need_values[:, :, i]))  # fmt: skip
                rows += [r for pair in zip(level, diff, strict=True) for r in pair]
        if run.budget is None:
            continue
        own = wides[id(run)]
        for line in MONEY_LINES:
            if line not in own:
                continue
            w = own[line]
            fys = [int(fy) for fy in w.columns]
            vals = w.to_numpy(dtype=float)
            level = _rows(name, "level", line, fys, _q_columns(vals))
            if run is ref:
                rows += level
                continue
            rw = ref_w.get(line)
            base = np.column_stack(
                [rw[fy].to_numpy() if rw is not None and fy in rw.columns else np.zeros(len(vals)) for fy in w.columns]
            )
            diff = _rows(name, "difference", line, fys, _q_columns(vals - base))
            rows += [r for pair in zip(level, diff, strict=True) for r in pair]
    table = pd.DataFrame(rows, columns=["scenario", "kind", "measure", "year", "mean", "p10", "p50", "p90"])
    target_rows = []
    savings_rows = []
    for run in runs:
        if run.budget is None:
            continue
        cum = run.budget.line("cumulative_balance")
        p = probability_of_target(cum, agreement.target) if agreement else float("nan")
        target_rows.append(
            {
                "scenario": run.scenario.name,
                "target_year": (financial_year_label(agreement.target.financial_year) if agreement else None),
                "probability_meeting_target": p,
            }
        )
        if run is ref or ref.budget is None:
            continue
        own = wides[id(run)]
        spend = own["spend_total"]
        base_spend = ref_w["spend_total"]
        running = own[RUNNING_LINE] if RUNNING_LINE in own else spend * 0.0
        gross = (base_spend - (spend - running)).sum(axis=1).to_numpy()
        costs = running.sum(axis=1).to_numpy()
        net = gross - costs
        cap = float(run.capital["gbp"].sum()) if run.capital is not None else 0.0
        savings_rows.append(
            {
                "scenario": run.scenario.name,
                "years": (
                    f"{financial_year_label(int(spend.columns.min()))} to "
                    f"{financial_year_label(int(spend.columns.max()))}"
                ),
                "gross_savings_mean": float(gross.mean()),
                "programme_costs": float(costs.mean()),
                "net_savings_mean": float(net.mean()),
                "net_savings_p10": float(np.quantile(net, 0.1)),
                "net_savings_p90": float(np.quantile(net, 0.9)),
                "probability_net_saving": float((net > 0).mean()),
                "capital_not_in_dsg": cap,
            }
        )
    return Comparison(
        context=ctx,
        runs=runs,
        table=table,
        target=pd.DataFrame(target_rows),
        savings=pd.DataFrame(savings_rows),
        notes=[ctx.need.source_note()] if ctx.need is not None else [],
    )


def protect_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Return the comparison table for publication: the demand levels (counts of plans, by
    primary need too on a SEN2 context) go
    through :func:`sendcast.outputs.disclosure.protect` (1-9 shown as ``<10``); differences in
    plans between scenarios are rounded to whole plans and shown as ``<10`` when fewer than 10
    either way (a difference of 1-9 plans is as small a group as a count of 1-9); money rows
    pass unchanged."""
    from sendcast.outputs.disclosure import SMALL_MAX, SUPPRESSED, protect

    cols = ["mean", "p10", "p50", "p90"]
    demand = table["measure"].isin(DEMAND_MEASURES) | table["measure"].astype(str).str.startswith(NEED_PREFIX)
    is_count = (table["kind"] == "level") & demand
    is_diff = (table["kind"] == "difference") & demand
    if not (is_count.any() or is_diff.any()):
        return table
    out = table.astype({c: object for c in cols})
    if is_count.any():
        out.loc[is_count, cols] = protect(table[is_count], cols, decimals=0)[cols].to_numpy()
    for c in cols:
        v = pd.to_numeric(table.loc[is_diff, c], errors="coerce").astype(float)
        small = (v.abs() > 0) & (v.abs() < SMALL_MAX + 0.5)
        out.loc[is_diff, c] = [
            SUPPRESSED if s else (None if pd.isna(x) else float(np.round(x))) for x, s in zip(v, small, strict=True)
        ]
    return out


def compare(
    ctx: Context,
    scenarios: list[Scenario],
    *,
    draws: int,
    seed: int,
    inputs: MoneyInputs | None = None,
    agreement: Agreement | None = None,
    progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Simulate each scenario on the same draws and return the :class:`Comparison`; the first
    scenario is the reference. Money is added when ``inputs`` (:func:`load_inputs`) are given.
    ``progress(text)`` is called before each step (``2 x scenarios + 1`` calls with money,
    ``scenarios + 1`` without)."""
    say = progress or (lambda _text: None)
    runs = []
    for s in scenarios:
        say(f"simulating {s.name}")
        runs.append(simulate(ctx, s, draws=draws, seed=seed))
    if inputs is not None:
        for r in runs:
            say(f"money for {r.scenario.name}")
            add_budget(r, inputs, la_code=ctx.la_code, seed=seed, agreement=agreement)
    say("comparing draw by draw")
    return compare_runs(ctx, runs, agreement=agreement)


def comparison_html(cmp: Comparison, history: pd.DataFrame | None = None) -> str:
    """Return a self-contained HTML page: fan charts of plans and the cumulative DSG balance
    for each scenario, and the tables of differences, savings and target probabilities."""
    from sendcast.outputs.charts import fan_chart, html_page, table_html
    from sendcast.outputs.disclosure import protect_numeric

    sections: list[tuple[str, Any]] = []
    t = cmp.table
    for run in cmp.runs:
        name = run.scenario.name
        lvl = t[(t["scenario"] == name) & (t["kind"] == "level")]
        # plans of 1-9 are not drawn (missing, with the reason in the 'suppressed' column)
        d = protect_numeric(lvl[lvl["measure"] == "ehcp_total"], ["mean", "p10", "p50", "p90"])
        # fan_chart wants p5/p95: use p10/p90 for both bands (80% interval shown twice)
        fc = d.assign(p5=d["p10"], p95=d["p90"])
        sections.append((f"{name}: EHC plans", fan_chart(fc, history, title=f"{name}: EHC plans")))
        cum = lvl[lvl["measure"] == "cumulative_balance"]
        if not cum.empty:
            fc = cum.assign(p5=cum["p10"], p95=cum["p90"])
            sections.append(
                (
                    f"{name}: cumulative DSG balance",
                    fan_chart(
                        fc,
                        None,
                        title=f"{name}: cumulative DSG balance (£)",
                        y_title="£ at 31 March (negative = deficit)",
                    ),
                )
            )
    shown = protect_counts(t)
    diff = shown[shown["kind"] == "difference"]
    if not diff.empty:
        sections.append(("Differences from the reference, draw by draw", table_html(diff)))
    if not cmp.savings.empty:
        sections.append(
            (
                "Net savings after the programme's own costs",
                table_html(cmp.savings, float_format="{:,.2f}"),
            )
        )
    if not cmp.target.empty:
        sections.append(
            (
                "Probability of meeting the Safety Valve target",
                table_html(cmp.target, float_format="{:.2f}"),
            )
        )
    intro = (
        "<p>Scenarios simulated on the same draws (same seed); differences are computed "
        "draw by draw. Money years are financial years labelled by the April they start; "
        "capital is shown beside the DSG balance, not in it.</p>"
    )
    if cmp.notes:
        import html as html_lib

        intro += "".join(f"<p>{html_lib.escape(n)}</p>" for n in cmp.notes)
    return html_page(f"{cmp.context.la_name}: scenarios compared", sections, intro=intro)

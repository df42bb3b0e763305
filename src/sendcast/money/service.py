"""What the ``budget`` command (and the scenario commands' money) run: resolve the council,
forecast its placements, call :func:`sendcast.money.budget.compute_budget`, check the result
against published balances. Front-ends format what this returns; they never re-add a total.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sendcast.money.agreements import Agreement, AgreementAssessment, assess_agreement, load_agreement
from sendcast.money.balances import opening_balance
from sendcast.money.budget import (
    HNB_STAGE,
    BudgetInputError,
    BudgetResult,
    MoneyInputs,
    compute_budget,
    load_inputs,
    national_check,
    sum_results,
)
from sendcast.parameters import financial_year_label, load_parameters

ENGLAND = ("E92000001", "England")


_INPUTS: dict[tuple[object, ...], MoneyInputs] = {}


def _file_state(path: Path) -> tuple[str, int, int]:
    try:
        st = path.stat()
    except OSError:
        return str(path), 0, 0
    return str(path.resolve()), st.st_mtime_ns, st.st_size


def inputs_key(params: Path | None = None, balances: Path | None = None) -> tuple[object, ...]:
    """What the money inputs depend on: the store's manifest, every parameter file and the
    balances CSV (path, modification time, size of each), so an edited file is a new key."""
    from sendcast.model.api import store_fingerprint
    from sendcast.parameters import PARAMETERS_DIR, iter_parameter_files
    from sendcast.store import open_store

    root = Path(params) if params is not None else PARAMETERS_DIR
    files = tuple(_file_state(f) for f in iter_parameter_files(root)) if root.is_dir() else (str(root),)
    return store_fingerprint(open_store()), files, _file_state(balances) if balances else None


def inputs(params: Path | None = None, balances: Path | None = None) -> MoneyInputs:
    """Return the money inputs from the embedded store, a parameter folder and a balances CSV.

    Loaded once per process for the same files (:func:`inputs_key`); the tables are shared by
    every budget run afterwards, so treat them as read-only."""
    key = inputs_key(params, balances)
    if key not in _INPUTS:
        loaded = load_inputs(params=load_parameters(params), balances_csv=str(balances) if balances else None)
        _INPUTS.clear()  # one set of inputs at a time: they hold the store's finance tables
        _INPUTS[key] = loaded
    return _INPUTS[key]


def agreement(path: Path) -> Agreement:
    """Return the validated agreement in ``path`` (ParameterError naming file and key)."""
    return load_agreement(path)


@dataclass
class BudgetRun:
    """A budget and what is reported beside it: the agreement assessment, the back-cast of
    the years between the store's latest balance and the agreement's published balances."""

    result: BudgetResult
    assessment: AgreementAssessment | None = None
    checks: pd.DataFrame = field(default_factory=pd.DataFrame)
    national: pd.DataFrame = field(default_factory=pd.DataFrame)
    basis_check: pd.DataFrame = field(default_factory=pd.DataFrame)


def has_high_needs_block(inputs: MoneyInputs, la_code: str) -> bool:
    o = inputs.observations
    rows = o[(o["la_code"] == la_code) & (o["measure"] == "high_needs_block") & (o["breakdown"] == HNB_STAGE)]
    return bool(rows["value"].notna().any())


def resolve(la: str) -> tuple[str, str]:
    """Return (la_code, la_name) for a council name or code, or England."""
    from sendcast.model import api

    return api.resolve_council(la, api.model_data())


def budget(
    la: str,
    inputs: MoneyInputs,
    *,
    agreement: Agreement | None = None,
    origin: int | None = None,
    horizon: int = 6,
    draws: int = 500,
    seed: int = 1,
    progress: Callable[[str], None] | None = None,
    placement_draws: pd.DataFrame | None = None,
    forecast_note: str | None = None,
) -> BudgetRun:
    """Return the :class:`BudgetRun` for a council (or England: all councils summed draw by
    draw). Raises BudgetInputError / ForecastInputError / UnknownCouncilError (one line).
    ``progress(text)`` is called before each step of a council's run (three calls).

    ``placement_draws``: plans by placement to cost instead of the published forecast's, in
    the shape of :func:`sendcast.model.api.placement_draws` and for this council (e.g. the
    forecast from the council's own SEN2 return,
    :meth:`sendcast.personlevel.api.NeedForecast.placement_draws`); ``forecast_note`` says
    where they come from, first among the result's notes."""
    from sendcast.model import api

    say = progress or (lambda _text: None)

    code, name = resolve(la)
    if code == ENGLAND[0]:
        if placement_draws is not None:
            raise BudgetInputError("placement draws given for England: they are for one council")
        if agreement is not None:
            raise BudgetInputError(f"{agreement.file}: an agreement is for one council, not England")
        return england(inputs, origin=origin, horizon=horizon, draws=draws, seed=seed)
    if not has_high_needs_block(inputs, code):
        raise BudgetInputError(
            f"{name}: the store has no high needs block allocation for this council (DSG allocation tables), "
            "so its high-needs budget cannot be modelled"
        )
    if agreement is not None and agreement.la_code != code:
        raise BudgetInputError(
            f"{agreement.file}: the agreement is for {agreement.council} ({agreement.la_code}), not {name} ({code})"
        )
    if placement_draws is None:
        say(f"forecasting {name}'s placements ({draws:,} draws)")
        pdraws = api.placement_draws(code, origin=origin, horizon=horizon, draws=draws, seed=seed)
    else:
        say(f"{name}'s placements: the draws given ({int(placement_draws['draw'].nunique()):,})")
        pdraws = placement_draws
    say("spend, income and the DSG balance")
    result = compute_budget(code, inputs, draws=pdraws, seed=seed, agreement=agreement, la_name=name)
    if forecast_note:
        result.notes.insert(0, forecast_note)
    run = BudgetRun(result=result)
    say("checks against published balances")
    if agreement is not None:
        run.assessment = assess_agreement(result.line("cumulative_balance"), agreement)
        run.checks = published_checks(code, inputs, agreement, draws=draws, seed=seed)
    return run


def published_checks(code: str, inputs: MoneyInputs, agreement: Agreement, *, draws: int, seed: int) -> pd.DataFrame:
    """Return the back-cast from the store's latest published balance to each later balance the
    agreement publishes (published caseloads, the agreement's payments), beside the published
    figure: ``financial_year, as_at, start, modelled_p50, modelled_p10, modelled_p90, published,
    gap, gap_pct``."""
    rows = []
    for pb in agreement.published_balances:
        if pb.cumulative_balance is None:
            continue
        start = opening_balance(inputs.balances, code, pb.financial_year)
        if start is None or start.financial_year >= pb.financial_year:
            continue
        bc = compute_budget(
            code,
            inputs,
            n_draws=draws,
            seed=seed,
            agreement=agreement,
            first_year=start.financial_year + 1,
            last_year=pb.financial_year,
            opening=start,
        )
        cum = bc.line("cumulative_balance")
        v = cum[cum["financial_year"] == pb.financial_year]["value"].to_numpy()
        p10, p50, p90 = np.quantile(v, [0.1, 0.5, 0.9])
        pub = float(pb.cumulative_balance)
        rows.append(
            {
                "financial_year": financial_year_label(pb.financial_year),
                "as_at": f"31 March {pb.financial_year + 1}",
                "start": start.describe(),
                "modelled_p50": p50,
                "modelled_p10": p10,
                "modelled_p90": p90,
                "published": pub,
                "gap": p50 - pub,
                "gap_pct": (p50 - pub) / abs(pub) * 100 if pub else float("nan"),
                "source": pb.source.title,
            }
        )
    return pd.DataFrame(rows)


def _all_results(
    inputs: MoneyInputs, *, origin: int | None, horizon: int, draws: int, seed: int
) -> tuple[list[BudgetResult], list[str]]:
    from sendcast.model import api

    res = api.forecast(all_councils=True, origin=origin, horizon=horizon, draws=draws, seed=seed, keep_draws=True)
    assert res.placement_draws is not None
    pd_all = res.placement_draws
    results, skipped = [], []
    for code, g in pd_all.groupby("la_code", sort=True):
        code = str(code)
        if not has_high_needs_block(inputs, code):
            skipped.append(f"{g['la_name'].iloc[0] if 'la_name' in g else code}: no high needs block allocation")
            continue
        try:
            results.append(compute_budget(code, inputs, draws=g, seed=seed))
        except BudgetInputError as e:
            skipped.append(str(e))
    return results, skipped


def england(inputs: MoneyInputs, *, origin: int | None, horizon: int, draws: int, seed: int) -> BudgetRun:
    """Return England's budget: every council with a published balance, summed draw by draw,
    beside the published national balances."""
    results, skipped = _all_results(inputs, origin=origin, horizon=horizon, draws=draws, seed=seed)
    total = sum_results(results)
    total.notes += [f"Left out: {s}" for s in skipped]
    b = inputs.balances
    latest = int(b[b["la_code"] == ENGLAND[0]]["financial_year"].max())
    councils = b[(b["la_code"] != ENGLAND[0]) & (b["financial_year"] == latest)]["cumulative_balance"]
    cum = total.line("cumulative_balance")
    march_2024 = cum[cum["financial_year"] == 2023]["value"]
    deficits = -float(councils[councils < 0].sum()) / 1e9
    surpluses = float(councils[councils > 0].sum()) / 1e9
    if len(march_2024):
        total.notes.append(
            f"England's modelled net cumulative DSG balance at 31 March 2024 is -£{-march_2024.median() / 1e9:,.2f}bn; "
            "the public debate quotes over £3bn of council DSG deficits in 2024. The gap: this figure nets "
            f"surpluses off deficits (at 31 March {latest + 1} councils' deficits were "
            f"£{deficits:,.2f}bn and surpluses £{surpluses:,.2f}bn); "
            "it holds no Safety Valve payments; and no balance after March 2022 is in the store, so 2022-23 and "
            "2023-24 are back-cast, which understated Norfolk's 2023-24 deficit (see its check against the published "
            "figure)."
        )
    nat = b[b["la_code"] == ENGLAND[0]][["financial_year", "cumulative_balance", "derivation"]].copy()
    return BudgetRun(result=total, national=nat, basis_check=national_check(inputs))


def all_councils(inputs: MoneyInputs, *, origin: int | None, horizon: int, draws: int, seed: int) -> pd.DataFrame:
    """Return one row per council: the balance at the latest published date, the modelled
    balance now (the origin's financial year) and three years on, the chance of a deficit."""
    results, _ = _all_results(inputs, origin=origin, horizon=horizon, draws=draws, seed=seed)
    rows = []
    for r in results:
        cum = r.line("cumulative_balance")
        fc = [y for y, t in r.year_type.items() if t == "forecast"]
        now = min(fc)
        later = min(now + 3, max(fc))
        a = cum[cum["financial_year"] == now]["value"]
        b = cum[cum["financial_year"] == later]["value"]
        rows.append(
            {
                "la_code": r.la_code,
                "la_name": r.la_name,
                "published_balance": r.opening.value,
                "published_as_at": r.opening.as_at,
                "as_at_now": f"31 March {now + 1}",
                "balance_now_p50": float(a.median()),
                "as_at_later": f"31 March {later + 1}",
                "balance_later_p50": float(b.median()),
                "balance_later_p10": float(b.quantile(0.1)),
                "balance_later_p90": float(b.quantile(0.9)),
                "probability_deficit_later": float((b < 0).mean()),
            }
        )
    return pd.DataFrame(rows)

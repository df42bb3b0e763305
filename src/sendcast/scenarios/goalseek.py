"""Goal-seek: how big must a lever be to balance the budget by a date with a given probability?

"What cut in new plans (or shift out of independent special schools) leaves the cumulative DSG
balance at or above the target at 31 March 2029 with 50% probability?" Bisection over the
lever's size, each trial simulated on the same draws (same seed), so the probability rises
(almost) monotonically with the lever and the answer is not noise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from sendcast.money.agreements import Agreement
from sendcast.money.budget import MoneyInputs
from sendcast.parameters import financial_year_label
from sendcast.scenarios.compare import Context, add_budget, simulate
from sendcast.scenarios.schema import (
    BASELINE,
    IncidenceLever,
    NeedNewPlansLever,
    PlacementShiftLever,
    Scenario,
)

LeverName = Literal["incidence", "independent_shift", "need_new_plans"]
UPPER = {"incidence": 100.0, "independent_shift": 100.0, "need_new_plans": 100.0}


def make_lever(which: LeverName, size: float, *, start: int, ramp: int = 0, to_group: str = "state_special",
               need: str | None = None) -> Any:  # fmt: skip
    """Return the lever of ``size`` %: an incidence cut of ``size`` % (all ages), a shift of
    ``size`` % of new placements from independent special to ``to_group``, or a cut of
    ``size`` % in new plans with primary need ``need`` (the SEN2 need model only)."""
    if which == "need_new_plans":
        if need is None:
            raise ValueError("a need_new_plans lever needs a primary need")
        return NeedNewPlansLever(kind="need_new_plans", id="goal_seek", label=f"{need} new plans -{size:.1f}%",
                                 need=need, change_percent=-size, start=start, ramp=ramp)  # fmt: skip
    if which == "incidence":
        return IncidenceLever(
            kind="incidence",
            id="goal_seek",
            label=f"new plans -{size:.1f}%",
            change_percent=-size,
            start=start,
            ramp=ramp,
        )
    if which == "independent_shift":
        return PlacementShiftLever.model_validate(
            {
                "kind": "placement_shift",
                "id": "goal_seek",
                "label": f"{size:.1f}% of independent placements to {to_group}",
                "from": "independent_special",
                "to": to_group,
                "share_percent": size,
                "start": start,
                "ramp": ramp,
            }
        )
    raise ValueError(f"unknown lever {which!r}: incidence or independent_shift")


@dataclass
class GoalSeekResult:
    """The answer: ``value`` (% size of the lever; None when even the largest size does not
    reach the probability), the probability there, the trials (``value, probability``) and
    the target (financial year label and balance)."""

    lever: str
    value: float | None
    probability: float
    wanted_probability: float
    target_year: str
    target_balance: float
    trials: pd.DataFrame
    scenario: Scenario | None


def probability_balanced(
    ctx: Context,
    scenario: Scenario,
    *,
    draws: int,
    seed: int,
    financial_year: int,
    at_least: float,
    inputs: MoneyInputs,
    agreement: Agreement | None,
) -> float:
    """Return the share of draws whose cumulative DSG balance at the end of ``financial_year``
    is at least ``at_least``; NaN when the year is outside the forecast."""
    run = add_budget(
        simulate(ctx, scenario, draws=draws, seed=seed), inputs, la_code=ctx.la_code, seed=seed, agreement=agreement
    )
    assert run.budget is not None
    cum = run.budget.line("cumulative_balance")
    at = cum[cum["financial_year"] == financial_year]["value"].to_numpy()
    return float((at >= at_least).mean()) if at.size else float("nan")


def goal_seek(
    ctx: Context,
    *,
    lever: LeverName,
    target_year: int,
    probability: float,
    inputs: MoneyInputs,
    agreement: Agreement | None = None,
    base: Scenario = BASELINE,
    draws: int = 500,
    seed: int = 1,
    start: int | None = None,
    ramp: int = 0,
    at_least: float | None = None,
    iterations: int = 10,
    progress: Callable[[float, float], None] | None = None,
    need: str | None = None,
) -> GoalSeekResult:
    """Return the smallest lever size (%) giving at least ``probability`` of a cumulative DSG
    balance >= ``at_least`` (default: the agreement's target, else 0) at 31 March
    ``target_year`` (financial year ``target_year - 1``).

    Bisection on [0, 100] for ``iterations`` steps (precision 100 / 2^iterations). The lever
    starts in ``start`` (default: the origin year) on top of ``base``; ``need`` is the primary
    need of a ``need_new_plans`` lever.
    """
    if not 0 < probability < 1:
        raise ValueError(f"probability must be between 0 and 1 (got {probability})")
    fy = target_year - 1
    if fy + 1 > ctx.origin + ctx.horizon:
        raise ValueError(
            f"March {target_year} is beyond the forecast (origin {ctx.origin}, "
            f"horizon {ctx.horizon}): raise the horizon to {target_year - ctx.origin}"
        )
    floor = at_least if at_least is not None else (agreement.target.cumulative_balance_at_least if agreement else 0.0)
    first = start if start is not None else ctx.origin
    trials: list[tuple[float, float]] = []

    def p_at(size: float) -> float:
        trial = make_lever(lever, size, start=first, ramp=ramp, need=need)
        sc = base.with_levers([trial], name=f"{base.name} + goal-seek")
        p = probability_balanced(
            ctx,
            sc,
            draws=draws,
            seed=seed,
            financial_year=fy,
            at_least=floor,
            inputs=inputs,
            agreement=agreement,
        )
        trials.append((size, p))
        if progress:
            progress(size, p)
        return p

    lo, hi = 0.0, UPPER[lever]
    p_lo = p_at(lo)
    value: float | None
    if p_lo >= probability:
        value, p_val = 0.0, p_lo
    else:
        p_hi = p_at(hi)
        if p_hi < probability:
            value, p_val = None, p_hi
        else:
            for _ in range(iterations):
                mid = (lo + hi) / 2
                p_mid = p_at(mid)
                if p_mid >= probability:
                    hi, p_hi = mid, p_mid
                else:
                    lo = mid
            value, p_val = hi, p_hi
    sc = None
    if value is not None:
        best = make_lever(lever, value, start=first, ramp=ramp, need=need)
        sc = base.with_levers([best], name=f"{base.name} + goal-seek")
    return GoalSeekResult(
        lever=lever,
        value=value,
        probability=p_val,
        wanted_probability=probability,
        target_year=financial_year_label(fy),
        target_balance=floor,
        trials=pd.DataFrame(trials, columns=["value", "probability"]),
        scenario=sc,
    )

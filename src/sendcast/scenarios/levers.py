"""Scenario levers applied to the model's rates, year by year (the model's ``levers`` hook).

:func:`sendcast.model.stockflow.simulate_council` calls, for each simulated calendar year,
``inp = levers.apply(inp, year=..., fit=..., stock=...)`` before the step and
``stock = levers.after_step(stock, year=..., fit=..., rng=...)`` after it. This module maps
each lever onto :class:`~sendcast.model.step.StepInputs`:

- ``incidence``: ``joiners[:, ages] *= 1 + change_percent/100 x strength(year)``;
- ``ceasing``: ``hazard[:, ages] *= 1 + change_percent/100 x strength`` (capped at 1);
- ``placement_shift``: in ``joiner_mix`` (entry) and/or ``transfer_mix`` (phase transfer),
  ``share x strength`` of the ``from`` column is moved to the ``to`` column, every age band;
- ``new_places``: after the step, plans in ``group`` above its capacity (plans at January of
  the opening year, or ``existing_places``, plus places opened so far) move to ``spill_to``,
  taken from each age in proportion to the group's plans there (largest remainder, no random
  numbers).

A lever that is zero, or not in force in a year, leaves the arrays bit-identical and draws no
random numbers, so a scenario of zero levers reproduces the baseline draw for draw.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from sendcast.model.step import StepInputs
from sendcast.model.structure import G
from sendcast.scenarios.schema import (
    CeasingLever,
    IncidenceLever,
    NewPlacesLever,
    PlacementShiftLever,
    Scenario,
)


def shift_mix(mix: np.ndarray, src: int, dst: int, share: float) -> np.ndarray:
    """Return a copy of a (bands, groups) placement mix with ``share`` of column ``src`` moved
    to column ``dst`` (row sums unchanged). E.g. [0.5, 0.1, 0.4] moving 20% of column 0 to
    column 2 -> [0.4, 0.1, 0.5]."""
    out = mix.copy()
    moved = out[:, src] * share
    out[:, src] -= moved
    out[:, dst] += moved
    return out


def trim_to_capacity(stock: np.ndarray, group: int, spill: int, capacity: np.ndarray) -> np.ndarray:
    """Return ``stock`` (D, 26, 7, int) with plans in ``group`` above ``capacity`` (D,) moved
    to ``spill``, taken from each age in proportion to the group's plans at that age.

    Deterministic: the excess e is split as floor(e x n_a / N) with the remainder going to the
    ages with the largest fractional parts (ties to the younger age). E.g. 110 plans at ages
    (60, 50), capacity 100: excess 10 -> 6 and 5 by share, floor 5 and 4, one more to the age
    with the larger remainder (5.45 vs 4.55 -> the second) -> (5, 5)... see the tests.
    """
    n = stock[:, :, group]
    total = n.sum(1)
    excess = np.clip(total - capacity, 0, None).astype(np.int64)
    if not (excess > 0).any():
        return stock
    out = stock.copy()
    rows = np.nonzero(excess)[0]
    for d in rows:
        nd = n[d].astype(np.float64)
        e = int(excess[d])
        exact = e * nd / nd.sum()
        take = np.floor(exact).astype(np.int64)
        short = e - int(take.sum())
        if short > 0:
            frac = exact - take
            order = np.lexsort((np.arange(len(frac)), -frac))
            take[order[:short]] += 1
        take = np.minimum(take, n[d])
        out[d, :, group] -= take
        out[d, :, spill] += take
    return out


@dataclasses.dataclass
class _CouncilState:
    capacity: dict[int, np.ndarray]  # group -> (D,) capacity in force


class ScenarioLevers:
    """The object passed as ``levers=`` to the model: applies a :class:`Scenario`'s model
    levers. It also records the expected new plans per simulated year (``new_plans``:
    {(la_code, year): mean over draws}) for the realism check."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.incidence = [lv for lv in scenario.levers if isinstance(lv, IncidenceLever) and not lv.is_zero]
        self.ceasing = [lv for lv in scenario.levers if isinstance(lv, CeasingLever) and not lv.is_zero]
        self.shifts = [lv for lv in scenario.levers if isinstance(lv, PlacementShiftLever) and not lv.is_zero]
        self.places = [lv for lv in scenario.levers if isinstance(lv, NewPlacesLever) and not lv.is_zero]
        self.new_plans: dict[tuple[str, int], float] = {}
        self._state: dict[str, _CouncilState] = {}

    def apply(self, inp: StepInputs, *, year: int, fit: Any, stock: np.ndarray) -> StepInputs:
        """Return a copy of ``inp`` with the levers in force in ``year`` applied (the same
        arrays when none is in force)."""
        if year == fit.origin:
            self._state[fit.la_code] = _CouncilState(capacity={})
        self._open_places(year, fit, stock)
        changes: dict[str, Any] = {}
        joiners = inp.joiners
        for lv in self.incidence:
            s = lv.strength(year)
            if s > 0:
                lo, hi = lv.ages
                joiners = joiners.copy() if joiners is inp.joiners else joiners
                joiners[:, lo : hi + 1] *= 1.0 + lv.change_percent / 100.0 * s
        if joiners is not inp.joiners:
            changes["joiners"] = joiners
        hazard = inp.hazard
        for cl in self.ceasing:
            s = cl.strength(year)
            if s > 0:
                lo, hi = cl.ages
                hazard = hazard.copy() if hazard is inp.hazard else hazard
                hazard[:, lo : hi + 1] = np.clip(
                    hazard[:, lo : hi + 1] * (1.0 + cl.change_percent / 100.0 * s), 0.0, 1.0
                )
        if hazard is not inp.hazard:
            changes["hazard"] = hazard
        jmix, tmix = inp.joiner_mix, inp.transfer_mix
        for sh in self.shifts:
            s = sh.strength(year)
            if s > 0:
                share = sh.share_percent / 100.0 * s
                src, dst = G[sh.from_group], G[sh.to_group]
                if "entry" in sh.at:
                    jmix = shift_mix(jmix, src, dst, share)
                if "transfer" in sh.at:
                    tmix = shift_mix(tmix, src, dst, share)
        if jmix is not inp.joiner_mix:
            changes["joiner_mix"] = jmix
        if tmix is not inp.transfer_mix:
            changes["transfer_mix"] = tmix
        self.new_plans[(fit.la_code, year)] = float(np.clip(joiners, 0, None).sum(1).mean())
        return dataclasses.replace(inp, **changes) if changes else inp

    def _open_places(self, year: int, fit: Any, stock: np.ndarray) -> None:
        state = self._state.setdefault(fit.la_code, _CouncilState(capacity={}))
        for lv in self.places:
            # places opened before the forecast origin are already in the published counts
            if lv.start != year or lv.start < fit.origin:
                continue
            g = G[lv.group]
            if g not in state.capacity:
                if lv.existing_places is not None:
                    base = np.full(stock.shape[0], lv.existing_places, dtype=np.int64)
                else:
                    base = stock[:, :, g].sum(1).astype(np.int64)
                state.capacity[g] = base
            state.capacity[g] = state.capacity[g] + lv.places

    def after_step(self, stock: np.ndarray, *, year: int, fit: Any, rng: np.random.Generator | None) -> np.ndarray:
        """Return ``stock`` with plans above each capacity in force moved to the spill group
        (the same array when no capacity binds). Uses no random numbers."""
        state = self._state.get(fit.la_code)
        if state is None or not state.capacity:
            return stock
        spill_of = {G[lv.group]: G[lv.spill_to] for lv in self.places}
        for g, cap in state.capacity.items():
            stock = trim_to_capacity(stock, g, spill_of[g], cap)
        return stock

    def capacity(self, la_code: str) -> dict[str, np.ndarray]:
        """Return the capacities in force at the end of the last run for a council."""
        st = self._state.get(la_code)
        inv = {v: k for k, v in G.items()}
        return {inv[g]: c for g, c in st.capacity.items()} if st else {}


def levers_for(scenario: Scenario | None) -> ScenarioLevers | None:
    """Return the model hook for ``scenario``, or None when it has no model lever that is
    non-zero (then the model runs exactly as the baseline)."""
    if scenario is None:
        return None
    hook = ScenarioLevers(scenario)
    if not (hook.incidence or hook.ceasing or hook.shifts or hook.places):
        return None
    return hook

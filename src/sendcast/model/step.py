"""One year of the stock-flow (cohort) model: ``stock(t) -> stock(t+1)`` with named flows.

The state is the number of plans at January by single year of age (0-25) and placement group
(7 groups, :data:`sendcast.model.structure.GROUPS`), for ``D`` Monte Carlo draws at once:
an array of shape ``(D, 26, 7)``.

In the twelve months to the next January:

1. **leavers**: each plan ceases with a probability that depends on age (and draw);
2. **ageing**: every remaining plan is one year older; plans at 25 leave (end of the 0-25 range);
3. **phase-transfer movers**: at ages 5, 11, 16 and 19 a share keeps its placement group and
   the rest are placed like the council's placements for the new phase;
4. **net movers**: within the ages both are open, a yearly net flow between mainstream and
   each other group (estimated from the council's history);
5. **joiners**: new plans by age (population x incidence), placed like the phase's placements.

The same code runs either stochastically (binomial / multinomial / Poisson draws from a seeded
``numpy.random.Generator``) or in expectation (``rng=None``), which the estimation uses to
calibrate movers and to report the in-sample fit. Flows are returned so that the accounting
``stock(t+1)[a+1, p] = stock(t)[a, p] - leavers + movers_in - movers_out + joiners`` can be
checked (the property tests do).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sendcast.model.structure import BAND_OF_AGE, N_AGES, N_GROUPS, G

TRANSFER_AGES = (5, 11, 16, 19)
MAINSTREAM = G["mainstream"]


@dataclass
class StepInputs:
    """Rates for one simulated year (arrays broadcast over draws ``D``).

    hazard:      (D, 26) yearly chance of ceasing by age at January (age 25 ignored: ages out)
    joiners:     (D, 26) expected new plans by age at the following January
    joiner_mix:  (5, 7) placement distribution of joiners by published age band
    transfer_mix:(5, 7) placement distribution of those who move at a phase transfer, by band
    persistence: {age: share keeping placement} at the phase-transfer ages
    mover_rate:  (7,) or (D, 7) yearly net mover rate between mainstream and each group: > 0 moves that
                 share of mainstream plans into the group, < 0 moves that share of the group's
                 plans into mainstream
    mover_ages:  (26, 7) bool, ages at which mainstream <-> group moves happen
    """

    hazard: np.ndarray
    joiners: np.ndarray
    joiner_mix: np.ndarray
    transfer_mix: np.ndarray
    persistence: dict[int, float]
    mover_rate: np.ndarray
    mover_ages: np.ndarray


@dataclass
class Flows:
    """The named flows of one step, each (D, 26, 7) indexed by age at the *start* of the year
    for leavers and by age at the *end* of the year for movers and joiners."""

    leavers: np.ndarray
    movers_in: np.ndarray
    movers_out: np.ndarray
    joiners: np.ndarray


def _binomial(rng: np.random.Generator | None, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    if rng is None:
        return n * p
    # sample only the cells that hold plans: many age x placement cells are structurally empty
    out = np.zeros(n.shape, dtype=n.dtype)
    live = (n > 0) & (p > 0)
    out[live] = rng.binomial(n[live].astype(np.int64, copy=False), np.clip(p[live], 0.0, 1.0))
    return out


def _multinomial(rng: np.random.Generator | None, n: np.ndarray, pvals: np.ndarray) -> np.ndarray:
    """Split counts ``n`` (shape S) over categories with probabilities ``pvals`` (S' x K)."""
    pvals = np.clip(pvals, 0.0, None)
    pvals = pvals / np.where(pvals.sum(-1, keepdims=True) > 0, pvals.sum(-1, keepdims=True), 1.0)
    if rng is None:
        return n[..., None] * pvals
    return rng.multinomial(n.astype(np.int64), pvals).astype(n.dtype)


def step(stock: np.ndarray, inp: StepInputs, rng: np.random.Generator | None) -> tuple[np.ndarray, Flows]:
    """Advance ``stock`` (D, 26, 7) by one year; return the new stock and the flows.

    With ``rng`` the flows are random draws (integers); with ``rng=None`` they are their
    expected values (floats).
    """
    new, flows = _step(stock, inp, rng, track=True)
    assert flows is not None
    return new, flows


def _step(
    stock: np.ndarray, inp: StepInputs, rng: np.random.Generator | None, *, track: bool
) -> tuple[np.ndarray, Flows | None]:
    d = stock.shape[0]
    # 1. leavers, by age at the start of the year (nobody 'ceases' at 25: they age out below)
    hazard = np.array(inp.hazard, dtype=float, copy=True)
    hazard[:, N_AGES - 1] = 0.0
    p_leave = np.broadcast_to(hazard[:, :, None], stock.shape)
    leavers = _binomial(rng, stock, p_leave)
    survivors = stock - leavers
    # 2. ageing: survivors at 25 leave by reaching the end of the range
    aged = np.zeros_like(stock)
    aged[:, 1:, :] = survivors[:, :-1, :]
    leavers[:, N_AGES - 1, :] += survivors[:, N_AGES - 1, :]
    movers_in = np.zeros_like(stock) if track else np.empty((0,) + stock.shape[1:], stock.dtype)
    movers_out = np.zeros_like(stock) if track else np.empty((0,) + stock.shape[1:], stock.dtype)
    # 3. phase-transfer movers
    for age, keep in inp.persistence.items():
        n = aged[:, age, :]
        moving = n - _binomial(rng, n, np.full(n.shape, keep))
        pool = moving.sum(-1)
        placed = _multinomial(rng, pool, np.broadcast_to(inp.transfer_mix[BAND_OF_AGE[age]], (d, N_GROUPS)))
        if track:
            movers_out[:, age, :] += moving
            movers_in[:, age, :] += placed
        aged[:, age, :] += placed - moving
    # 4. net movers between mainstream and each other group
    rates = np.broadcast_to(np.asarray(inp.mover_rate, dtype=float), (d, N_GROUPS))
    for g in range(N_GROUPS):
        r = rates[:, g]
        if g == MAINSTREAM or not r.any():
            continue
        ages = inp.mover_ages[:, g]
        # per draw: a positive rate moves that share of mainstream plans into the group, a
        # negative rate that share of the group's plans into mainstream (one binomial call:
        # each draw's source is chosen by the sign of its rate)
        into = (r > 0)[:, None]
        n = np.where(into, aged[:, ages, MAINSTREAM], aged[:, ages, g])
        moved = _binomial(rng, n, np.broadcast_to(np.clip(np.abs(r), 0.0, 1.0)[:, None], n.shape))
        signed = np.where(into, moved, -moved)  # + : mainstream -> g ; - : g -> mainstream
        aged[:, ages, MAINSTREAM] -= signed
        aged[:, ages, g] += signed
        if not track:
            continue
        out_ms, out_g = np.where(into, moved, 0), np.where(into, 0, moved)
        movers_out[:, ages, MAINSTREAM] += out_ms
        movers_in[:, ages, g] += out_ms
        movers_out[:, ages, g] += out_g
        movers_in[:, ages, MAINSTREAM] += out_g
    # 5. joiners by age at the end of the year, placed like their phase
    # Poisson joiners split multinomially over placements are independent Poissons per
    # placement (Poisson thinning), which is much cheaper to draw.
    mix = inp.joiner_mix / inp.joiner_mix.sum(-1, keepdims=True)
    mean = np.clip(inp.joiners, 0.0, None)[:, :, None] * mix[BAND_OF_AGE][None, :, :]
    if rng is None:
        joiners = mean
    else:
        joiners = np.zeros(stock.shape, dtype=stock.dtype)
        live = np.broadcast_to(mean.sum(0) > 0, mean.shape)
        joiners[live] = rng.poisson(mean[live])
    new = aged + joiners
    if not track:
        return new, None
    return new, Flows(leavers=leavers, movers_in=movers_in, movers_out=movers_out, joiners=joiners)


def advance(stock: np.ndarray, inp: StepInputs, rng: np.random.Generator | None) -> np.ndarray:
    """:func:`step` without keeping the flows (the simulation's fast path): the same random
    calls in the same order on the same values, so the same new stock draw for draw
    (``tests/model/test_step_fast.py``), with fewer temporary arrays: only the cells that hold
    plans are indexed, the transfer and joiner mixes are normalised once, not per draw."""
    if rng is None:
        return _step(stock, inp, rng, track=False)[0]
    d = stock.shape[0]
    # 1. leavers (nobody 'ceases' at 25: they age out below)
    hazard = np.array(np.broadcast_to(inp.hazard, (d, N_AGES)), dtype=float, copy=True)
    hazard[:, N_AGES - 1] = 0.0
    np.clip(hazard, 0.0, 1.0, out=hazard)
    live = stock > 0
    live &= (hazard > 0)[:, :, None]
    survivors = stock.copy()
    if live.any():
        p = np.broadcast_to(hazard[:, :, None], stock.shape)[live]
        survivors[live] -= rng.binomial(stock[live].astype(np.int64, copy=False), p).astype(stock.dtype, copy=False)
    # 2. ageing: survivors at 25 leave by reaching the end of the range
    aged = np.empty(stock.shape, dtype=stock.dtype)  # C order: the joiners are added through a flat view
    aged[:, 0, :] = 0
    aged[:, 1:, :] = survivors[:, :-1, :]
    # 3. phase-transfer movers (each draw's pool placed like the phase: one row of probabilities)
    for age, keep in inp.persistence.items():
        n = aged[:, age, :]
        kept = n.copy()
        if keep > 0:
            sel = n > 0
            if sel.any():
                kept[sel] = rng.binomial(n[sel].astype(np.int64, copy=False), min(max(keep, 0.0), 1.0))
        else:
            kept[:] = 0
        pool = (n - kept).sum(-1)
        pv = np.clip(np.asarray(inp.transfer_mix[BAND_OF_AGE[age]], dtype=float), 0.0, None)
        tot = pv.sum(-1)
        pv = pv / (tot if tot > 0 else 1.0)
        placed = rng.multinomial(pool.astype(np.int64), pv).astype(stock.dtype, copy=False)
        aged[:, age, :] = kept + placed
    # 4. net movers between mainstream and each other group
    rates = np.broadcast_to(np.asarray(inp.mover_rate, dtype=float), (d, N_GROUPS))
    for g in range(N_GROUPS):
        r = rates[:, g]
        if g == MAINSTREAM or not r.any():
            continue
        ages = inp.mover_ages[:, g]
        into = (r > 0)[:, None]
        n = np.where(into, aged[:, ages, MAINSTREAM], aged[:, ages, g])
        pr = np.clip(np.abs(r), 0.0, 1.0)
        sel = (n > 0) & (pr > 0)[:, None]
        moved = np.zeros_like(n)
        if sel.any():
            moved[sel] = rng.binomial(n[sel].astype(np.int64, copy=False), np.broadcast_to(pr[:, None], n.shape)[sel])
        signed = np.where(into, moved, -moved)
        aged[:, ages, MAINSTREAM] -= signed
        aged[:, ages, g] += signed
    # 5. joiners, Poisson per placement (see _step); only cells with a joiner in some draw
    mix = inp.joiner_mix / inp.joiner_mix.sum(-1, keepdims=True)
    cell_mix = mix[BAND_OF_AGE]  # (26, 7)
    j = np.clip(np.broadcast_to(inp.joiners, (d, N_AGES)), 0.0, None)
    mean = j[:, :, None] * cell_mix[None, :, :]
    live_cells = np.flatnonzero(mean.sum(0) > 0)
    if len(live_cells):
        flat = aged.reshape(d, N_AGES * N_GROUPS)
        lam = mean.reshape(d, N_AGES * N_GROUPS)[:, live_cells]
        flat[:, live_cells] += rng.poisson(lam).astype(stock.dtype, copy=False)
    return aged

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


@dataclass
class Prepared:
    """What :func:`advance` derives from the inputs that stay the same from year to year in a
    run (the phase-transfer shares and mix, the net mover rates and ages, the joiner mix), made
    once per run instead of once per year (:func:`prepare`). It keeps the objects it was made
    from and is used only for inputs holding those same objects (:meth:`fits`); they must not
    be changed in place (a scenario's levers replace them, see ``scenarios.levers``)."""

    draws: int
    sources: tuple[object, ...]  # persistence, transfer_mix, mover_rate, mover_ages, joiner_mix
    transfers: list[tuple[int, float | None, np.ndarray]]  # age, share kept (None: none), mix row
    movers: list[tuple[int, slice | np.ndarray, np.ndarray, np.ndarray, np.ndarray]]  # group, ages, into, out of, p
    joiner_cells: tuple[np.ndarray, np.ndarray]  # (age, group) of the cells with a joiner share above 0
    joiner_share: np.ndarray  # their shares (the joiner mix of the age's band, normalised)

    def fits(self, inp: StepInputs, draws: int) -> bool:
        return draws == self.draws and all(a is b for a, b in zip(_sources(inp), self.sources, strict=True))


def _sources(inp: StepInputs) -> tuple[object, ...]:
    return (inp.persistence, inp.transfer_mix, inp.mover_rate, inp.mover_ages, inp.joiner_mix)


def _ages_index(mask: np.ndarray) -> slice | np.ndarray:
    """A column of ``mover_ages`` as an index selecting the same ages in the same order: a
    slice when the ages are consecutive (a view, no gather), else the mask itself."""
    if mask.dtype != bool:
        return mask
    idx = np.flatnonzero(mask)
    if len(idx) and idx[-1] - idx[0] + 1 == len(idx):
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return mask


def prepare(inp: StepInputs, draws: int) -> Prepared:
    """The year-invariant part of :func:`advance` for ``inp`` and ``draws`` draws (the same
    arithmetic as the per-year code it replaces, so the same values bit for bit)."""
    transfers: list[tuple[int, float | None, np.ndarray]] = []
    for age, keep in inp.persistence.items():
        pv = np.clip(np.asarray(inp.transfer_mix[BAND_OF_AGE[age]], dtype=float), 0.0, None)
        tot = pv.sum(-1)
        pv = pv / (tot if tot > 0 else 1.0)
        transfers.append((age, min(max(keep, 0.0), 1.0) if keep > 0 else None, pv))
    movers: list[tuple[int, slice | np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    rates = np.broadcast_to(np.asarray(inp.mover_rate, dtype=float), (draws, N_GROUPS))
    for g in range(N_GROUPS):
        r = rates[:, g]
        if g == MAINSTREAM or not r.any():
            continue
        pr = np.clip(np.abs(r), 0.0, 1.0)
        # a cell with no chance (0 or missing) draws nothing: numpy's binomial returns 0 for
        # p = 0 without consuming random numbers, as it does for n = 0
        p = np.where(pr > 0, pr, 0.0)[:, None]
        into = (r > 0)[:, None]
        movers.append((g, _ages_index(inp.mover_ages[:, g]), into, ~into, p))
    mix = inp.joiner_mix / inp.joiner_mix.sum(-1, keepdims=True)
    cell_mix = mix[BAND_OF_AGE]
    ages, groups = np.nonzero(cell_mix > 0)
    return Prepared(draws, _sources(inp), transfers, movers, (ages, groups), cell_mix[ages, groups])


def advance(
    stock: np.ndarray,
    inp: StepInputs,
    rng: np.random.Generator | None,
    *,
    prepared: Prepared | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`step` without keeping the flows (the simulation's fast path): the same random
    calls in the same order on the same values, so the same new stock draw for draw
    (``tests/test_speed_identical.py``), with fewer temporary arrays.

    numpy's binomial returns 0 without consuming random numbers where n = 0 or p = 0 (and its
    Poisson where the mean is 0), so drawing whole arrays, empty cells included, draws what
    :func:`step` draws on the cells that hold plans, in the same (C) order, without gathering
    them. ``prepared``: :func:`prepare` for these inputs' year-invariant parts (made here when
    None or made for other inputs). ``out``: a (D, 26, 7) integer array to write the new
    stock into (e.g. a year of the simulation's output), else a new array.
    """
    if rng is None or stock.dtype != np.int64 or (stock < 0).any():
        # in expectation, or counts that are not plans (not whole, or negative): the step itself
        new = _step(stock, inp, rng, track=False)[0]
        if out is None:
            return new
        out[...] = new
        return out
    d = stock.shape[0]
    prep = prepared if prepared is not None and prepared.fits(inp, d) else prepare(inp, d)
    # 1. leavers (nobody 'ceases' at 25: they age out below); a missing chance draws nothing
    hazard = np.array(np.broadcast_to(inp.hazard, (d, N_AGES)), dtype=float, copy=True)
    hazard[:, N_AGES - 1] = 0.0
    np.clip(hazard, 0.0, 1.0, out=hazard)
    hazard[~(hazard > 0)] = 0.0
    leavers = rng.binomial(stock, hazard[:, :, None])
    # 2. ageing: survivors at 25 leave by reaching the end of the range
    aged = out if out is not None else np.empty(stock.shape, dtype=stock.dtype)
    aged[:, 0, :] = 0
    np.subtract(stock[:, :-1, :], leavers[:, :-1, :], out=aged[:, 1:, :])
    # 3. phase-transfer movers (each draw's pool placed like the phase: one row of probabilities)
    for age, keep, pv in prep.transfers:
        n = aged[:, age, :]
        kept = rng.binomial(n, keep) if keep is not None else np.zeros_like(n)
        pool = (n - kept).sum(-1)
        placed = rng.multinomial(pool, pv)
        np.add(kept, placed, out=n)
    # 4. net movers between mainstream and each other group (per draw, into the group where its
    # rate is positive, out of it where negative)
    for g, ages, into, out_of, p in prep.movers:
        ms, grp = aged[:, ages, MAINSTREAM], aged[:, ages, g]
        signed = rng.binomial(np.where(into, ms, grp), p)
        np.negative(signed, out=signed, where=out_of)  # + : mainstream -> g ; - : g -> mainstream
        if isinstance(ages, slice):  # views: changed in place
            ms -= signed
            grp += signed
        else:
            aged[:, ages, MAINSTREAM] -= signed
            aged[:, ages, g] += signed
    # 5. joiners, Poisson per placement (see _step); only cells with a joiner in some draw. A
    # cell whose share is not above 0 has none (its means are 0, negative or missing), so the
    # means are computed for the others only: the same products as step()'s, and the same test
    # (a sum of means that are not negative is above 0 where one of them is).
    j = np.clip(np.broadcast_to(inp.joiners, (d, N_AGES)), 0.0, None)
    j_age, j_group = prep.joiner_cells
    lam = j[:, j_age] * prep.joiner_share[None, :]
    live = lam.sum(0) > 0
    if not live.all():
        j_age, j_group, lam = j_age[live], j_group[live], lam[:, live]
    if len(j_age):
        aged[:, j_age, j_group] += rng.poisson(lam)
    return aged

"""Known transition rates for synthetic councils, and the dynamics that use them.

A synthetic return (:mod:`sendcast.personlevel.synth`) is simulated from the rates in
:class:`TruthRates`, so a test can check that the estimates of
:mod:`sendcast.personlevel.model` recover them. These rates describe a *fictional* council:
they are plausible (ceasing rises after 16, moves concentrate at the phase transfers, autism
and SEMH lead joiners from age 5) but they are not estimates for any real council and are never
used to forecast one; real forecasts use rates estimated from the council's own return.

The state of a plan at a census date is (age at the 31 August before it, placement group,
primary need). A year's step, census to census:

1. age rises by one; a plan reaching age 25 ceases (reached maximum age);
2. otherwise it ceases with probability ``cease[band(age), group] * need_mult[need]``;
3. a continuing plan moves placement group by ``move[class(NCY), group, need, :]``, where the
   class marks the phase transfers (starting school, NCY 0; secondary, NCY 7; post-16, NCY 12);
4. its primary need changes with probability ``need_change[need]``, to ``need_dest`` (not itself);
5. joiners (new plans) arrive: ``Poisson(joiners0 * (1 + growth) ** t)``, age from the
   published shape of new plans by age, need given the age band, placement given band and need.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from sendcast.model.structure import AGE_BANDS, GROUPS, N_GROUPS, new_plan_age_shape
from sendcast.personlevel.codes import NEEDS

N_NEEDS = len(NEEDS)
NI = {n: i for i, n in enumerate(NEEDS)}
GI = {g: i for i, g in enumerate(GROUPS)}
MAX_AGE = 25  # a plan ceases in the academic year the young person reaches 25
AGES = np.arange(MAX_AGE + 1)
BAND = np.array([next(i for i, (lo, hi) in enumerate(AGE_BANDS.values()) if lo <= a <= hi) for a in AGES])
N_BANDS = len(AGE_BANDS)
TRANSFER_CLASSES = ("none", "school_entry", "secondary", "post16")
TRANSFER_NCY = {0: 1, 7: 2, 12: 3}


def transfer_class(age: np.ndarray) -> np.ndarray:
    """Index into :data:`TRANSFER_CLASSES` for ages at 31 August (NCY = age - 4)."""
    ncy = np.asarray(age) - 4
    out = np.zeros(ncy.shape, dtype=np.int64)
    for n, c in TRANSFER_NCY.items():
        out[ncy == n] = c
    return out


def _vec(d: Mapping[str, float], keys: tuple[str, ...], default: float = 0.0) -> np.ndarray:
    return np.array([d.get(k, default) for k in keys], dtype=float)


def _norm(v: np.ndarray) -> np.ndarray:
    return v / v.sum(axis=-1, keepdims=True)


# joiners' primary need by age band (0-4, 5-10, 11-15, 16-19, 20-25)
_JOIN_NEED = [
    {"SLCN": 34, "ASD": 26, "PD": 8, "SLD": 6, "PMLD": 4, "DS": 4, "HI": 3, "VI": 2, "MSI": 1, "OTH": 5, "SEMH": 3,
     "MLD": 2, "SPLD": 2},
    {"ASD": 38, "SEMH": 18, "SLCN": 16, "MLD": 7, "SLD": 5, "SPLD": 4, "PD": 3, "HI": 2, "VI": 1, "MSI": 1, "PMLD": 1,
     "DS": 1, "OTH": 3},
    {"SEMH": 30, "ASD": 33, "MLD": 8, "SPLD": 8, "SLCN": 6, "SLD": 3, "PD": 3, "HI": 2, "VI": 1, "MSI": 1, "PMLD": 1,
     "DS": 1, "OTH": 3},
    {"SEMH": 26, "ASD": 30, "MLD": 12, "SPLD": 10, "SLCN": 5, "SLD": 4, "PD": 4, "HI": 2, "VI": 2, "MSI": 1, "PMLD": 1,
     "DS": 1, "OTH": 2},
    {"SEMH": 26, "ASD": 30, "MLD": 12, "SPLD": 10, "SLCN": 5, "SLD": 4, "PD": 4, "HI": 2, "VI": 2, "MSI": 1, "PMLD": 1,
     "DS": 1, "OTH": 2},
]  # fmt: skip
# joiners' placement group by age band, before the need adjustment
_JOIN_GROUP = [
    {"mainstream": 45, "resourced_provision": 4, "state_special": 12, "independent_special": 1, "other": 38},
    {"mainstream": 62, "resourced_provision": 9, "state_special": 18, "independent_special": 4, "ap_pru": 3,
     "other": 4},
    {"mainstream": 58, "resourced_provision": 8, "state_special": 17, "independent_special": 7, "ap_pru": 6,
     "other": 4},
    {"mainstream": 15, "state_special": 10, "independent_special": 5, "post16_fe": 55, "other": 15},
    {"state_special": 2, "independent_special": 5, "post16_fe": 63, "other": 30},
]  # fmt: skip
# movers' destinations outside the phase transfers: origin -> destination weights
_MOVE_DEST = {
    "mainstream": {"resourced_provision": 20, "state_special": 45, "independent_special": 15, "ap_pru": 15, "other": 5},
    "resourced_provision": {"mainstream": 30, "state_special": 50, "independent_special": 20},
    "state_special": {"independent_special": 50, "mainstream": 20, "other": 30},
    "independent_special": {"state_special": 60, "other": 40},
    "ap_pru": {"mainstream": 40, "state_special": 20, "independent_special": 20, "other": 20},
    "post16_fe": {"other": 70, "state_special": 10, "independent_special": 20},
    "other": {"mainstream": 40, "state_special": 30, "independent_special": 10, "post16_fe": 20},
}  # fmt: skip
_MOVE_RATE = {"mainstream": 0.06, "resourced_provision": 0.05, "state_special": 0.03, "independent_special": 0.04,
              "ap_pru": 0.25, "post16_fe": 0.08, "other": 0.30}  # fmt: skip
# at a phase transfer: origin -> destination weights (including staying)
_TRANSFER = {
    "school_entry": {
        "other": {"mainstream": 60, "state_special": 25, "resourced_provision": 10, "independent_special": 5},
        "mainstream": {"mainstream": 85, "resourced_provision": 6, "state_special": 9},
    },
    "secondary": {
        "mainstream": {"mainstream": 80, "resourced_provision": 5, "state_special": 8, "independent_special": 4,
                       "ap_pru": 3},
        "resourced_provision": {"resourced_provision": 50, "mainstream": 30, "state_special": 15,
                                "independent_special": 5},
        "state_special": {"state_special": 90, "independent_special": 10},
    },
    "post16": {
        "mainstream": {"post16_fe": 55, "mainstream": 35, "other": 10},
        "resourced_provision": {"post16_fe": 50, "resourced_provision": 30, "state_special": 20},
        "state_special": {"state_special": 70, "post16_fe": 20, "independent_special": 10},
        "independent_special": {"independent_special": 60, "post16_fe": 30, "other": 10},
        "ap_pru": {"post16_fe": 50, "other": 50},
        "other": {"post16_fe": 40, "other": 60},
    },
}  # fmt: skip


def _need_adjust(weights: np.ndarray, need: str) -> np.ndarray:
    """Placement weights (..., group) adjusted for a primary need (and renormalised)."""
    w = weights.copy()
    if need in ("SLD", "PMLD", "MSI", "DS"):
        w[..., GI["state_special"]] *= 2.5
        w[..., GI["mainstream"]] *= 0.5
    if need in ("ASD", "SEMH"):
        w[..., GI["independent_special"]] *= 1.6
    if need == "SEMH":
        w[..., GI["ap_pru"]] *= 2.0
    if need in ("SPLD", "SLCN", "HI", "VI"):
        w[..., GI["mainstream"]] *= 1.3
    return _norm(w)


def _allowed(age: int) -> np.ndarray:
    """Placement groups open at an age at 31 August (FE colleges from 16)."""
    ok = np.ones(N_GROUPS, dtype=bool)
    if age < 16:
        ok[GI["post16_fe"]] = False
    return ok


@dataclass(frozen=True)
class TruthRates:
    """The known rates of a synthetic council (see the module docstring for the dynamics)."""

    joiners_per_plan: float = 0.14  # first year's joiners as a share of the first caseload
    growth: float = 0.07  # yearly growth of joiners
    # near England's published ceasing rates by age band (ceased in 2023 over January 2024 plans)
    cease_band: tuple[float, ...] = (0.02, 0.022, 0.025, 0.12, 0.35)
    cease_group: dict[str, float] = field(default_factory=lambda: {
        "mainstream": 1.1, "resourced_provision": 0.9, "state_special": 0.6, "independent_special": 0.8,
        "ap_pru": 1.2, "post16_fe": 1.0, "other": 1.4})  # fmt: skip
    cease_need: dict[str, float] = field(default_factory=lambda: {
        "SPLD": 1.4, "MLD": 1.0, "SLD": 0.6, "PMLD": 0.4, "SEMH": 1.0, "SLCN": 1.5, "HI": 0.9, "VI": 0.9,
        "MSI": 0.7, "PD": 0.9, "ASD": 0.8, "DS": 0.5, "OTH": 1.2})  # fmt: skip
    need_change: float = 0.03
    need_dest: dict[str, float] = field(default_factory=lambda: {"ASD": 40, "SEMH": 35, "SLCN": 10, "MLD": 8, "OTH": 7})

    def cease(self) -> np.ndarray:
        """Probability of ceasing in the year, (age at the next August, group, need)."""
        c = np.array(self.cease_band)[BAND][:, None, None] * _vec(self.cease_group, GROUPS)[None, :, None]
        c = np.minimum(c * _vec(self.cease_need, NEEDS)[None, None, :], 0.9)
        c[MAX_AGE] = 1.0
        return c

    def move(self) -> np.ndarray:
        """Destination group probabilities, (transfer class, origin group, need, destination group)."""
        out = np.zeros((len(TRANSFER_CLASSES), N_GROUPS, N_NEEDS, N_GROUPS))
        for gi, g in enumerate(GROUPS):
            base = np.zeros(N_GROUPS)
            base[gi] = 1 - _MOVE_RATE[g]
            base += _MOVE_RATE[g] * _norm(_vec(_MOVE_DEST[g], GROUPS))
            for ci, cls in enumerate(TRANSFER_CLASSES):
                w = _vec(_TRANSFER[cls][g], GROUPS) if cls != "none" and g in _TRANSFER[cls] else base
                for ni, n in enumerate(NEEDS):
                    moved = w.copy()
                    moved[gi] = 0.0
                    if moved.sum() > 0:
                        moved = _need_adjust(moved, n) * moved.sum() / w.sum()
                    out[ci, gi, ni] = moved
                    out[ci, gi, ni, gi] = w[gi] / w.sum()
        return out

    def need_change_probs(self) -> tuple[np.ndarray, np.ndarray]:
        """(probability a primary need changes in a year by need, destination weights (from, to))."""
        q = np.full(N_NEEDS, self.need_change)
        q[[NI["DS"], NI["PMLD"]]] = 0.0  # a diagnosis that does not change
        dest = np.tile(_vec(self.need_dest, NEEDS), (N_NEEDS, 1))
        np.fill_diagonal(dest, 0.0)
        return q, _norm(dest)

    def join_age(self) -> np.ndarray:
        shape = new_plan_age_shape().copy()
        # plans start from age 2 here, so a request never predates the child's birth
        shape[:2] = 0.0
        shape[MAX_AGE] = 0.0
        return shape / shape.sum()

    def join_need(self) -> np.ndarray:
        """Joiners' need by age band, (band, need)."""
        return _norm(np.array([_vec(d, NEEDS) for d in _JOIN_NEED]))

    def join_group(self) -> np.ndarray:
        """Joiners' placement by age band and need, (band, need, group)."""
        out = np.zeros((N_BANDS, N_NEEDS, N_GROUPS))
        for b, d in enumerate(_JOIN_GROUP):
            for ni, n in enumerate(NEEDS):
                out[b, ni] = _need_adjust(_vec(d, GROUPS), n)
        return out


def categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of ``probs`` (n, k): the index of the category."""
    if len(probs) == 0:
        return np.zeros(0, dtype=np.int64)
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None] * cum[:, -1:]
    return np.minimum((u > cum).sum(axis=1), probs.shape[1] - 1)


def restrict_to_age(probs: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Zero the groups closed at each row's age (FE before 16) and renormalise (rows, groups)."""
    p = probs.copy()
    young = np.asarray(age) < 16
    moved = p[young, GI["post16_fe"]]
    p[young, GI["post16_fe"]] = 0.0
    p[young, GI["other"]] += moved
    return p


@dataclass
class YearStep:
    """What happened to each plan active at a census by the next census (arrays by plan)."""

    ceased: np.ndarray  # bool
    age: np.ndarray  # age at the next 31 August
    group: np.ndarray  # group at the next census (unchanged if ceased)
    need: np.ndarray


def step_plans(
    rates: TruthRates, age: np.ndarray, group: np.ndarray, need: np.ndarray, rng: np.random.Generator
) -> YearStep:
    """One census-to-census step for plans in states (age, group, need) (see the module docstring)."""
    a1 = age + 1
    cease = rates.cease()[np.minimum(a1, MAX_AGE), group, need]
    ceased = (a1 >= MAX_AGE) | (rng.random(len(age)) < cease)
    probs = rates.move()[transfer_class(a1), group, need]
    probs = restrict_to_age(probs, a1)
    new_group = np.where(ceased, group, categorical(rng, probs))
    q, dest = rates.need_change_probs()
    change = ~ceased & (rng.random(len(age)) < q[need])
    new_need = need.copy()
    new_need[change] = categorical(rng, dest[need[change]])
    return YearStep(ceased=ceased, age=a1, group=new_group, need=new_need)


def draw_joiners(rates: TruthRates, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(age at the next 31 August, group, need) of ``n`` new plans."""
    age = rng.choice(len(AGES), size=n, p=rates.join_age())
    need = categorical(rng, rates.join_need()[BAND[age]])
    group = categorical(rng, restrict_to_age(rates.join_group()[BAND[age], need], age))
    return age, group, need

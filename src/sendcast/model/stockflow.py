"""The sendcast stock-flow model: estimate rates from a council's history, simulate futures.

Estimation (per council, at an origin, from :class:`~sendcast.model.history.CouncilHistory`):

- **exits**: implied exits in calendar year t are ``E(t) = S(t) + N(t) - S(t+1)`` (plans at
  January t, new plans in t, plans at January t+1); the exit-rate scale ``lambda(t)`` makes the
  age hazard shape (``ceasing_hazard_shape.yaml``) times the stock by age give ``E(t)``.
- **incidence**: ``rho(t) = N(t) / sum_a pop_a(t) g_a``, with ``g`` the incidence shape by age
  (national new-plan age shape over national population, adjusted to the council's own new
  plans by age band). Log incidence follows a damped local trend whose growth is the council's
  recent growth shrunk toward the national median by how noisy the council's own history is
  (empirical Bayes partial pooling: James-Stein style weights ``tau^2 / (tau^2 + se^2)``).
- **placements**: the joint age x placement table at each January is fitted to the published
  margins by iterative proportional fitting; net movers between mainstream and each group are
  the average unexplained change over recent years.

Uncertainty (per draw): the incidence trend's growth is drawn from its sampling distribution;
each year's incidence and exit rate get shocks with the sd seen in the council's history
(shrunk toward the pooled sd), part of the incidence shock common to all councils; the
counts themselves are binomial / multinomial / Poisson. Draws are seeded and reproducible.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from sendcast.model import structure
from sendcast.model.history import CouncilHistory, project_population
from sendcast.model.step import TRANSFER_AGES, Prepared, StepInputs, advance, prepare, step
from sendcast.model.structure import (
    BAND_OF_AGE,
    GROUPS,
    MAINSTREAM_INDEX,
    N_AGES,
    N_BANDS,
    N_GROUPS,
    ModelParameterError,
    ceasing_hazard_shape,
    load_parameter,
    new_plan_age_shape,
    phase_transfer_persistence,
    placement_prior,
    within_band_profile,
)

SETTINGS = frozenset(
    {
        "drift_window", "level_smoothing", "growth_anchor", "exit_window", "exit_own_weight",
        "exit_age_own_weight", "joiner_age_offset", "mover_window", "placement_anchor", "exit_age_window",
        "max_mover_rate", "incidence_shock_persistence", "common_shock_share", "min_sd_incidence", "min_sd_exit",
        "drift_own_weight_max",
    }
)  # fmt: skip
# settings of earlier releases, set by backtests on the origins they were scored on: now
# estimated at each origin or gone (forecast_settings.yaml's note says which and why)
REMOVED_SETTINGS = {
    "placement_sd_scale": "removed: the spread of placement movements is estimated",
    "joiner_age_sd": "estimated at each origin (selection.age_profile_spread)",
    "exit_age_sd": "estimated at each origin (selection.age_profile_spread)",
    "max_mover_sd": "removed: the spread of placement movements is estimated",
    "group_growth_sd": "removed: the spread of placement movements is always estimated from growth",
    "interval_scale": "removed: the published bands are learned from past errors",
    "mover_sd_scale": "removed: the spread of placement movements is estimated",
}


@cache
def settings() -> dict[str, float]:
    """Scalar forecast settings from ``parameters/model/forecast_settings.yaml``: each a known
    setting (:data:`SETTINGS`) and a finite number, else the file and key are named (a setting
    of an earlier release, :data:`REMOVED_SETTINGS`, says where it went)."""
    path = structure.PARAM_DIR / "forecast_settings.yaml"
    out: dict[str, float] = {}
    for k, v in load_parameter("forecast_settings")["values"].items():
        if k in REMOVED_SETTINGS:
            raise ModelParameterError(f"{path}: values.{k}: no longer a setting ({REMOVED_SETTINGS[k]}); delete it")
        if k not in SETTINGS:
            raise ModelParameterError(f"{path}: values.{k}: unknown setting (known: {', '.join(sorted(SETTINGS))})")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
            raise ModelParameterError(f"{path}: values.{k}: {v!r} is not a number")
        out[str(k)] = float(v)
    return out


def ipf(prior: np.ndarray, rows: np.ndarray, cols: np.ndarray, iters: int = 60) -> np.ndarray:
    """Iterative proportional fitting: scale ``prior`` (A x P) to row sums ``rows`` and column
    sums ``cols`` (Deming & Stephan 1940). Rows/cols are rescaled to the same total first."""
    rows = np.clip(np.nan_to_num(rows), 0, None)
    cols = np.clip(np.nan_to_num(cols), 0, None)
    total = rows.sum()
    if total <= 0:
        return np.zeros_like(prior)
    cols = cols * (total / cols.sum()) if cols.sum() > 0 else prior.sum(0) / prior.sum() * total
    m = prior.astype(float).copy() + 1e-12 * (prior > 0)
    for _ in range(iters):
        rs = m.sum(1)
        m *= np.where(rs > 0, rows / np.where(rs > 0, rs, 1), 0)[:, None]
        cs = m.sum(0)
        m *= np.where(cs > 0, cols / np.where(cs > 0, cs, 1), 0)[None, :]
    return m


def age_distribution(h: CouncilHistory, i: int) -> np.ndarray | None:
    """Plans by single age at year index ``i``: published single ages, else bands spread by the
    national within-band profile, else the nearest earlier year's shape; scaled to the total."""
    total = h.total[i]
    if np.isnan(total):
        return None
    sa = h.single_age[i]
    if np.isfinite(sa).sum() >= 20:
        v = np.nan_to_num(sa)
        return v / v.sum() * total if v.sum() > 0 else None
    b = h.age_bands[i].copy()
    if np.isnan(b[-1]) and np.isfinite(b[:-1]).all() and abs(b[:-1].sum() - total) <= 0.01 * total + 1:
        b[-1] = 0.0  # before 2015 statements stopped at 19: the 20-25 band is 'not applicable'
    if np.isfinite(b).all() and b.sum() > 0:
        v = b[BAND_OF_AGE] * within_band_profile()
        return v / v.sum() * total
    for j in range(i - 1, -1, -1):
        prev = age_distribution(h, j)
        if prev is not None and prev.sum() > 0:
            return prev / prev.sum() * total
    return None


def placement_totals(h: CouncilHistory, i: int) -> np.ndarray | None:
    """Plans by placement group at year index ``i``; a suppressed group takes its last known
    share; 'other' absorbs any rounding so the groups sum to the total."""
    total = h.total[i]
    if np.isnan(total):
        return None
    p = h.placement[i].copy()
    if np.isnan(p).any():
        for j in range(i - 1, -1, -1):
            q = h.placement[j]
            if np.isfinite(q).all() and np.isfinite(h.total[j]) and h.total[j] > 0:
                fill = q / h.total[j] * total
                p = np.where(np.isnan(p), fill, p)
                break
    if np.isnan(p).any():
        return None
    other = GROUPS.index("other")
    rest = total - (p.sum() - p[other])
    p[other] = max(rest, 0.0)
    return p


def joint_stock(h: CouncilHistory, i: int) -> np.ndarray | None:
    """Age x placement table at year index ``i`` fitted to both published margins."""
    ages = age_distribution(h, i)
    plc = placement_totals(h, i)
    if ages is None:
        return None
    if plc is None:
        plc = placement_prior().sum(0)
    return ipf(placement_prior(), ages, plc)


def mover_ages() -> np.ndarray:
    """(26, 7) mask: ages at which mainstream and each group are both open."""
    pr = placement_prior() > 0
    return pr & pr[:, [MAINSTREAM_INDEX]]


@dataclass
class CouncilFit:
    """Rates estimated for one council at one origin (deterministic parts and their spreads)."""

    la_code: str
    la_name: str
    origin: int
    stock0: np.ndarray  # (26, 7) at January origin
    log_rho_level: float
    drift: float
    drift_se: float
    sd_rho: float
    log_lambda: float
    log_lambda_se: float
    sd_lambda: float
    incidence_shape: np.ndarray  # (26,) g_a
    pop_years: np.ndarray
    pop: np.ndarray  # (P, 26) through origin + horizon
    joiner_mix: np.ndarray  # (5, 7)
    mover_rate: np.ndarray  # (7,)
    mover_sd: np.ndarray  # (7,)
    history_rho: np.ndarray
    history_lambda: np.ndarray
    hazard_shape: np.ndarray  # (26,) ceasing hazard by age, times exp(log_lambda) = the rate
    fit_report: dict[str, Any]
    drift_centre: float = 0.0  # the median council's incidence growth at this origin
    damping_national: float = 1.0  # share of the national growth kept each further year (estimated)
    damping_local: float = 0.0  # share of the council's own deviation kept each further year (estimated)
    common_shock_share: float = 0.5  # share of incidence shock variance common to all councils (estimated)
    shock_persistence: float = 0.4  # share of a year's incidence shock still there the next year (estimated)
    # sd of each draw's log factor on new plans and on ceasing by age band (estimated; 0: none)
    joiner_age_sd: np.ndarray = field(default_factory=lambda: np.zeros(N_BANDS))
    exit_age_sd: np.ndarray = field(default_factory=lambda: np.zeros(N_BANDS))

    def pop_at(self, year: int) -> np.ndarray:
        return _population_at(self.pop_years, self.pop)(year)


def _band_mix(stock: np.ndarray) -> np.ndarray:
    mix = np.zeros((N_BANDS, N_GROUPS))
    for b in range(N_BANDS):
        s = stock[BAND_OF_AGE == b].sum(0)
        mix[b] = s / s.sum() if s.sum() > 0 else placement_prior()[BAND_OF_AGE == b].sum(0)
    return mix


def _incidence_shape(h: CouncilHistory, national_pop: np.ndarray, offset: float | None = None) -> np.ndarray:
    """g_a: national new-plan age shape over national population, adjusted so that the
    council's recent new plans by age band (last 3 published years) are matched in share."""
    g = new_plan_age_shape() / np.where(national_pop > 0, national_pop, 1)
    g = g / g.sum()
    nb = h.new_plans_bands.copy()
    nb[:, -1] = np.where(np.isnan(nb[:, -1]) & np.isfinite(nb[:, :-1]).all(1), 0.0, nb[:, -1])
    ok = np.isfinite(nb).all(1) & (nb.sum(1) > 0)
    if ok.sum() >= 1:
        recent = nb[ok][-3:].sum(0)
        pop = h.pop[-1]
        implied = np.bincount(BAND_OF_AGE, weights=g * pop, minlength=N_BANDS)
        share_obs = recent / recent.sum()
        share_imp = implied / implied.sum()
        adj = np.where(share_imp > 0, share_obs / np.where(share_imp > 0, share_imp, 1), 1.0)
        # shrink the band adjustment toward 1 (few plans in the older bands are noisy)
        w = recent / (recent + 50.0)
        adj = 1 + w * (adj - 1)
        g = g * adj[BAND_OF_AGE]
    # age when the plan started -> age in the January caseload: a share of each age's joiners
    # is counted a year younger (see joiner_age_offset in forecast_settings.yaml)
    s = float(settings().get("joiner_age_offset", 0.0)) if offset is None else float(offset)
    if s > 0:
        pop = np.where(h.pop[-1] > 0, h.pop[-1], 1.0)
        g = younger(g * pop, s) / pop
    return g


def younger(counts: np.ndarray, share: float) -> np.ndarray:
    """Move ``share`` of each age's count to the age below: counts by the age a plan started
    -> by the age the January caseload counts. E.g. [0, 10, 20] with 0.25 -> [2.5, 12.5, 15].
    Age 0's moved share drops out (the shape is a relative one: incidence is re-estimated on
    it, so the council's total joiners do not change)."""
    out = (1 - share) * counts.astype(float)
    out[:-1] += share * counts[1:]
    return out


def has_ages(h: CouncilHistory, i: int) -> bool:
    """Whether ages were published for year index ``i`` (bands or single ages)."""
    return bool(np.isfinite(h.age_bands[i]).all() or np.isfinite(h.single_age[i]).sum() >= 20)


# age at January whose next January falls in each published band: leavers at these ages are
# the ones missing from that band a year on
FEEDS_BAND = BAND_OF_AGE[np.minimum(np.arange(N_AGES) + 1, N_AGES - 1)]


def _exit_age_year(
    h: CouncilHistory, lam: np.ndarray, hz: np.ndarray, joiners_by_age: dict[int, np.ndarray], i: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """One year's log multipliers of the ceasing hazard by the band leavers would have aged
    into (5,), and the leavers the model expected there (5,), from year index ``i`` to ``i + 1``;
    None where ages or the exit rate are not published at both ends.

    The model's one-year expectation (national age shape of ceasing scaled to the council's
    exits) is compared with the published plans by age band a year on; the shortfall in a band
    is read as that many more leavers from the ages feeding it: ``m_b = (L_b - r_b) / L_b``,
    clipped to [1/4, 4] (1 where fewer than one leaver was expected)."""
    if not (np.isfinite(lam[i]) and has_ages(h, i) and has_ages(h, i + 1) and i in joiners_by_age):
        return None
    a0 = age_distribution(h, i)
    a1 = age_distribution(h, i + 1)
    if a0 is None or a1 is None:
        return None
    leave = a0 * np.clip(lam[i] * hz, 0, 1)
    leave[N_AGES - 1] = 0.0
    aged = np.zeros(N_AGES)
    aged[1:] = (a0 - leave)[:-1]
    pred = aged + joiners_by_age[i]
    r = np.bincount(BAND_OF_AGE, weights=a1 - pred, minlength=N_BANDS)
    lb = np.bincount(FEEDS_BAND[: N_AGES - 1], weights=leave[: N_AGES - 1], minlength=N_BANDS)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(lb > 1.0, (lb - r) / lb, 1.0)
    return np.log(np.clip(m, 0.25, 4.0)), lb


def _exit_age_multipliers(
    h: CouncilHistory,
    lam: np.ndarray,
    hz: np.ndarray,
    joiners_by_age: dict[int, np.ndarray],
    window: int,
    end: int | None = None,
) -> np.ndarray:
    """Log multipliers of the ceasing hazard by the band leavers would have aged into (5,): the
    mean of :func:`_exit_age_year` over the last ``window`` years with published ages at both
    ends (0 where nothing could be measured). ``end``: the years before year index ``end`` only
    (default: to the origin)."""
    stop = len(h.years) - 1 if end is None else int(end)
    logs = [y[0] for i in range(max(0, stop - window), stop) if (y := _exit_age_year(h, lam, hz, joiners_by_age, i))]
    return np.mean(logs, axis=0) if logs else np.zeros(N_BANDS)


def age_profile_products(
    h: CouncilHistory, national_pop: np.ndarray, joiner_age_offset: float, exit_age_own_weight: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """For estimating how uncertain a council's age profile is when carried forward
    (:func:`sendcast.model.selection.age_profile_spread`): for each pair of consecutive years
    t, t + 1, the product of their deviations from the profile of the years before t, by age
    band (pairs, 5; NaN where not measured). Returns (new plans, ceasing).

    The forecast carries the profile of recent years forward (the share of new plans by age
    band over the last 3 years, :func:`_incidence_shape`; the mean log multiplier of the
    hazard of ceasing, :func:`_exit_age_multipliers`) and each draw scales it by one factor per
    band for the whole horizon, so the factor's variance is that of the part of a deviation
    that persists: what two later years share. Their product has that expectation; a year's
    own noise, sampling noise included, is independent between the years and drops out.
    New plans: ``log(share in year t / share over up to 3 years before t)``, bands expecting
    at least 10 plans. Ceasing: :func:`_exit_age_year`'s log multiplier less the part of the
    mean of up to ``exit_age_window`` years before t that the forecast keeps
    (``exit_age_own_weight``, chosen at the origin), bands expecting at least 10 leavers."""
    nb = h.new_plans_bands.copy()
    nb[:, -1] = np.where(np.isnan(nb[:, -1]) & np.isfinite(nb[:, :-1]).all(1), 0.0, nb[:, -1])
    ok = np.flatnonzero(np.isfinite(nb).all(1) & (nb.sum(1) > 0))
    joiners_out = []
    for k in range(1, len(ok) - 1):
        before = nb[ok[max(0, k - 3) : k]].sum(0)
        p = before / before.sum()
        devs = []
        for now in (nb[ok[k]], nb[ok[k + 1]]):
            good = (now.sum() * p >= 10.0) & (now > 0) & (before > 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                devs.append(np.where(good, np.log(now / now.sum() / p), np.nan))
        joiners_out.append(devs[0] * devs[1])
    pop_at = _population_at(h.pop_years, h.pop)
    hz = ceasing_hazard_shape()
    _, lam, joiners = _rates(h, pop_at, _incidence_shape(h, national_pop, joiner_age_offset), hz)
    window = int(settings()["exit_age_window"])
    years = [(i, y) for i in range(len(h.years) - 1) if (y := _exit_age_year(h, lam, hz, joiners, i))]
    exits_out = []
    for k in range(1, len(years) - 1):
        earlier = [y for i, y in years[:k] if i >= years[k][0] - window]
        if not earlier:
            continue
        m_before = exit_age_own_weight * np.mean([y[0] for y in earlier], axis=0)
        l_before = np.sum([y[1] for y in earlier], axis=0)
        pair = (years[k][1], years[k + 1][1])
        devs = [np.where((lb >= 10.0) & (l_before >= 10.0), m - m_before, np.nan) for m, lb in pair]
        exits_out.append(devs[0] * devs[1])
    return np.array(joiners_out).reshape(-1, N_BANDS), np.array(exits_out).reshape(-1, N_BANDS)


MOVER_HISTORY = 8  # transitions of placement movements measured (the selection's longest window + 4)


def _rates(
    h: CouncilHistory, pop_at: Callable[[int], np.ndarray], g: np.ndarray, hz: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]:
    """Incidence ``rho`` and exit-rate scale ``lambda`` by year (NaN where not measured) and
    the new plans of each year spread by age (incidence shape ``g``, hazard shape ``hz``)."""
    years = h.years
    rho = np.full(len(years), np.nan)
    lam = np.full(len(years), np.nan)
    joiners_by_age: dict[int, np.ndarray] = {}
    for i, y in enumerate(years[:-1]):
        n = h.new_plans[i]
        if np.isfinite(n) and n > 0:
            rho[i] = n / float((pop_at(int(y)) * g).sum())
            joiners_by_age[i] = n * pop_at(int(y)) * g / float((pop_at(int(y)) * g).sum())
        s0, s1 = h.total[i], h.total[i + 1]
        if np.isfinite(n) and np.isfinite(s0) and np.isfinite(s1):
            ages = age_distribution(h, i)
            if ages is not None:
                exits = s0 + n - s1 - ages[N_AGES - 1]
                exposure = float((ages[: N_AGES - 1] * hz[: N_AGES - 1]).sum())
                if exits > 0 and exposure > 0:
                    lam[i] = exits / exposure
    return rho, lam, joiners_by_age


def _population_at(pop_years: np.ndarray, pop: np.ndarray) -> Callable[[int], np.ndarray]:
    """Population by age (26,) in a year: the nearest year with an estimate or projection."""

    def pop_at(y: int) -> np.ndarray:
        return np.asarray(pop[int(np.clip(y - pop_years[0], 0, len(pop_years) - 1))])

    return pop_at


def _years_with_ages(
    h: CouncilHistory, lam: np.ndarray, first: int = 0
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(i, plans by age at January i, at January i + 1) for each year index from ``first`` with
    the exit rate measured and plans by age published at both ends."""
    for i in range(first, len(h.years) - 1):
        if not (np.isfinite(lam[i]) and has_ages(h, i) and has_ages(h, i + 1)):
            continue
        a0, a1 = age_distribution(h, i), age_distribution(h, i + 1)
        if a0 is not None and a1 is not None and a1.sum() > 0:
            yield i, a0, a1


def _band_error(a0: np.ndarray, a1: np.ndarray, lam: float, hazard: np.ndarray, joiners: np.ndarray) -> float:
    """Error of the plans by age band a year on (a share of the plans): ``a0`` less leavers at
    ``lam x hazard`` aged on a year, plus ``joiners``, against the published ``a1``."""
    leave = a0 * np.clip(lam * hazard, 0, 1)
    aged = np.zeros(N_AGES)
    aged[1:] = (a0 - leave)[:-1]
    pred = np.bincount(BAND_OF_AGE, weights=aged + joiners, minlength=N_BANDS)
    return float(np.abs(pred - np.bincount(BAND_OF_AGE, weights=a1, minlength=N_BANDS)).sum() / a1.sum())


def joiner_offset_errors(h: CouncilHistory, national_pop: np.ndarray, offsets: Sequence[float]) -> np.ndarray:
    """For each year with plans by age published at both ends, the error of the plans by age
    band a year on (as a share of the plans) when each of ``offsets`` of joiners is counted a
    year younger: (years, offsets). The leavers are the national age shape of ceasing scaled
    to the year's exits, as the fit starts from."""
    pop_at = _population_at(h.pop_years, h.pop)
    hz = ceasing_hazard_shape()
    shapes = [_incidence_shape(h, national_pop, float(s)) for s in offsets]
    _, lam, _ = _rates(h, pop_at, shapes[0], hz)
    rows = []
    for i, a0, a1 in _years_with_ages(h, lam):
        n = h.new_plans[i]
        if not np.isfinite(n):
            continue
        weights = [pop_at(int(h.years[i])) * g for g in shapes]
        rows.append([_band_error(a0, a1, float(lam[i]), hz, n * w / w.sum()) for w in weights])
    return np.array(rows).reshape(-1, len(offsets))


def exit_age_weight_errors(
    h: CouncilHistory, national_pop: np.ndarray, weights: Sequence[float], joiner_age_offset: float
) -> np.ndarray:
    """For each year with plans by age published at both ends and an earlier such year, the
    error of the plans by age band a year on (as a share of the plans) when the national age
    shape of ceasing is bent toward the council's own pattern, as measured on the earlier years
    only, by each of ``weights`` (:func:`_exit_age_multipliers`): (years, weights)."""
    pop_at = _population_at(h.pop_years, h.pop)
    hz = ceasing_hazard_shape()
    window = int(settings()["exit_age_window"])
    _, lam, joiners = _rates(h, pop_at, _incidence_shape(h, national_pop, joiner_age_offset), hz)
    rows = []
    for i, a0, a1 in _years_with_ages(h, lam, first=1):
        if i not in joiners:
            continue
        m = _exit_age_multipliers(h, lam, hz, joiners, window, end=i)
        if not np.any(m):
            continue  # nothing measured before this year: every weight gives the same
        bent = [_keep_exits(hz * np.exp(float(w) * m)[FEEDS_BAND], hz, a0, float(lam[i]))[0] for w in weights]
        rows.append([_band_error(a0, a1, float(lam[i]), b, joiners[i]) for b in bent])
    return np.array(rows).reshape(-1, len(weights))


def measure(
    h: CouncilHistory,
    national_pop: np.ndarray,
    horizon: int,
    joiner_age_offset: float | None = None,
    exit_age_own_weight: float | None = None,
) -> dict[str, Any] | None:
    """A council's rates by year to the origin, before any setting chosen at the origin
    (:mod:`sendcast.model.selection`) is applied: incidence ``rho``, exit rate ``lambda``, the
    net movement rates of the last :data:`MOVER_HISTORY` transitions, and the stock at the
    origin, with ``joiner_age_offset`` (default: the file's) of joiners counted a year younger.
    None if the history is too thin."""
    cfg = settings()
    years = h.years
    oi = len(years) - 1
    if np.isnan(h.total[oi]):
        return None
    stock0 = joint_stock(h, oi)
    if stock0 is None:
        return None
    pop_years, pop = project_population(h.pop_years, h.pop, int(years[-1]) + horizon)
    pop_at = _population_at(pop_years, pop)

    g = _incidence_shape(h, national_pop, joiner_age_offset)
    hz = ceasing_hazard_shape()
    rho, lam, joiners_by_age = _rates(h, pop_at, g, hz)
    if np.isfinite(rho).sum() < 2:
        return None
    # the council's own age pattern of ceasing: the national shape bent toward what its
    # recent plans by age imply (shrunk halfway), keeping the same total exits at the origin
    wa = float(cfg.get("exit_age_own_weight", 0.0)) if exit_age_own_weight is None else float(exit_age_own_weight)
    if wa > 0:
        m = np.exp(wa * _exit_age_multipliers(h, lam, hz, joiners_by_age, int(cfg["exit_age_window"])))
        last = lam[np.isfinite(lam)]
        scale_l = float(last[-1]) if len(last) else 1.0
        hz = _keep_exits(hz * m[FEEDS_BAND], hz, stock0.sum(1), scale_l)[0]

    # placement movers: the unexplained change of each recent transition
    movers = np.full((len(years), N_GROUPS), np.nan)
    # the same movements in plans and the plans each rate is a share of (mainstream's at the
    # ages both are open for a move in, the setting's own for a move out), both as a share of
    # the plans a year on: what the selection scores a movement forecast on (in children)
    moved = np.full((len(years), N_GROUPS), np.nan)
    bases = np.full((len(years), 2, N_GROUPS), np.nan)
    mask = mover_ages()
    persistence = phase_transfer_persistence()
    for i in range(max(0, oi - MOVER_HISTORY), oi):
        y = int(years[i])
        j0 = joint_stock(h, i)
        p1 = placement_totals(h, i + 1)
        if j0 is None or p1 is None or not np.isfinite(lam[i]) or not np.isfinite(h.new_plans[i]):
            continue
        mix = _band_mix(j0)
        inp = StepInputs(
            hazard=(lam[i] * hz)[None, :],
            joiners=(h.new_plans[i] * (pop_at(y) * g) / float((pop_at(y) * g).sum()))[None, :],
            joiner_mix=mix,
            transfer_mix=mix,
            persistence=persistence,
            mover_rate=np.zeros(N_GROUPS),
            mover_ages=mask,
        )
        pred, _ = step(j0[None].astype(float), inp, None)
        movers[i] = _rates_from_residuals(pred[0], p1 - pred[0].sum(0), mask)
        if p1.sum() > 0:
            moved[i] = (p1 - pred[0].sum(0)) / p1.sum()
            bases[i] = _mover_bases(pred[0], mask) / p1.sum()
    return {
        "stock0": stock0,
        "g": g,
        "pop_years": pop_years,
        "pop": pop,
        "joiner_mix": _band_mix(stock0),
        "rho": rho,
        "lambda": lam,
        "movers": movers,
        "moved": moved,
        "mover_bases": bases,
        "hz": hz,
    }


def estimate(
    h: CouncilHistory, national_pop: np.ndarray, horizon: int, cfg: dict[str, float] | None = None,
    measured: dict[str, Any] | None = None,
) -> dict[str, Any] | None:  # fmt: skip
    """First-stage estimates for one council (before pooling) under the settings ``cfg``
    (default: the file's; :func:`fit_all` passes those chosen at the origin). None if the
    history is too thin."""
    cfg = cfg or settings()
    e = measured if measured is not None else measure(h, national_pop, horizon)
    if e is None:
        return None
    rho, lam = e["rho"], e["lambda"]
    lr = np.log(rho[np.isfinite(rho)])
    k = int(cfg["drift_window"])
    recent = lr[-(k + 1) :]
    diffs = np.diff(recent)
    drift = float(np.mean(diffs)) if len(diffs) else 0.0
    sd = float(np.std(diffs, ddof=1)) if len(diffs) >= 2 else np.nan
    level = float(cfg["level_smoothing"] * lr[-1] + (1 - cfg["level_smoothing"]) * (lr[-2] + drift))
    ll = np.log(lam[np.isfinite(lam) & (lam > 0)])
    kw = int(cfg["exit_window"])
    if len(ll) == 0:
        log_lambda, sd_l = np.nan, np.nan
    else:
        log_lambda = float(np.mean(ll[-kw:]))
        sd_l = float(np.std(ll[-(kw + 2) :], ddof=1)) if len(ll) >= 3 else np.nan
    # placement movers: average unexplained change over the last ``mover_window`` transitions
    oi = len(h.years) - 1
    recent_mv = e["movers"][max(0, oi - int(cfg["mover_window"])) : oi]
    mv_rates = [np.clip(r, -cfg["max_mover_rate"], cfg["max_mover_rate"]) for r in recent_mv if np.isfinite(r).all()]
    mv = np.mean(mv_rates, axis=0) if mv_rates else np.zeros(N_GROUPS)
    return {
        **e,
        "level": level,
        "drift": drift,
        "drift_n": len(diffs),
        "sd_rho": sd,
        "log_lambda": log_lambda,
        "sd_lambda": sd_l,
        "mover_rate": mv,
    }


def _mover_bases(stock: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(2, 7): the plans a movement rate is a share of, for each group: mainstream's at the
    ages both are open (a move into the group, row 0) and the group's own there (a move out,
    row 1). Mainstream's own column is 0."""
    out = np.zeros((2, N_GROUPS))
    for gi in range(N_GROUPS):
        if gi != MAINSTREAM_INDEX:
            out[:, gi] = stock[mask[:, gi], MAINSTREAM_INDEX].sum(), stock[mask[:, gi], gi].sum()
    return out


def _rates_from_residuals(pred: np.ndarray, resid: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Net mover rates that would close ``resid`` (plans by group, target - predicted): a
    positive residual is a share of mainstream plans (at the ages both are open) moving into
    the group, a negative one a share of the group's plans moving to mainstream."""
    bases = _mover_bases(pred, mask)
    base = np.where(resid >= 0, bases[0], bases[1])
    rate = np.where(base > 0, resid / np.where(base > 0, base, 1.0), 0.0)
    rate[MAINSTREAM_INDEX] = 0.0
    return rate


def _group_growth(h: CouncilHistory, years: int = 3) -> np.ndarray:
    """Average yearly log growth of each placement group over the last ``years`` years."""
    p = h.placement[-(years + 1) :]
    with np.errstate(divide="ignore", invalid="ignore"):
        lg = np.log(np.where(p > 0, p, np.nan))
    d = np.diff(lg, axis=0)
    out = np.full(N_GROUPS, np.nan)
    ok = np.isfinite(d).all(0)
    out[ok] = d[:, ok].mean(0)
    return out


def _group_growth_sd(h: CouncilHistory, years: int = 6) -> np.ndarray:
    """Standard deviation of each placement group's yearly log growth over recent years."""
    p = h.placement[-(years + 1) :]
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.diff(np.log(np.where(p > 0, p, np.nan)), axis=0)
    out = np.full(N_GROUPS, np.nan)
    for gi in range(N_GROUPS):
        v = d[:, gi][np.isfinite(d[:, gi])]
        if len(v) >= 3:
            out[gi] = float(np.std(v - v.mean(), ddof=1))
    return out


def _anchor_movers(
    e: dict[str, Any],
    fit_level: float,
    drift: float,
    log_lambda: float,
    origin: int,
    h: CouncilHistory,
    target_growth: np.ndarray,
) -> np.ndarray | None:
    """Mover rates at which the expected placements one year on grow at ``target_growth`` (log,
    per group), scaled to the model's expected total."""
    s0 = e["stock0"]
    plc = s0.sum(0)
    hz = e["hz"]
    idx = int(np.clip(origin - e["pop_years"][0], 0, len(e["pop_years"]) - 1))
    pop = e["pop"][idx]
    inp = StepInputs(
        hazard=np.clip(np.exp(log_lambda) * hz, 0, 1)[None, :],
        joiners=(np.exp(fit_level + drift) * pop * e["g"])[None, :],
        joiner_mix=e["joiner_mix"],
        transfer_mix=e["joiner_mix"],
        persistence=phase_transfer_persistence(),
        mover_rate=np.zeros(N_GROUPS),
        mover_ages=mover_ages(),
    )
    pred, _ = step(s0[None].astype(float), inp, None)
    pred0 = pred[0]
    g = np.where(np.isfinite(target_growth), target_growth, 0.0)
    target = plc * np.exp(g)
    if target.sum() <= 0:
        return None
    target = target * pred0.sum() / target.sum()
    return _rates_from_residuals(pred0, target - pred0.sum(0), mover_ages())


def _recent_growth(h: CouncilHistory, years: int = 3) -> float:
    """Average yearly log growth of plans at January over the last ``years`` years."""
    t = h.total[-(years + 1) :]
    if len(t) < 2 or not np.isfinite(t).all() or (t <= 0).any():
        return np.nan
    return float(np.mean(np.diff(np.log(t))))


def _anchor_level(e: dict[str, Any], log_lambda: float, growth: float, origin: int) -> float:
    """Log incidence level at which the expected plans one year on grow by ``growth`` (log):
    joiners = S0 * exp(growth) - S0 + expected exits, divided by population x incidence shape."""
    s0 = e["stock0"].sum(1)
    hz = e["hz"]
    exits = float((s0[: N_AGES - 1] * np.clip(np.exp(log_lambda) * hz[: N_AGES - 1], 0, 1)).sum() + s0[N_AGES - 1])
    total = float(s0.sum())
    joiners = total * np.exp(growth) - total + exits
    idx = int(np.clip(origin - e["pop_years"][0], 0, len(e["pop_years"]) - 1))
    denom = float((e["pop"][idx] * e["g"]).sum())
    if joiners <= 0 or denom <= 0:
        return np.nan
    return float(np.log(joiners / denom))


def _pooled(values: list[float], ses: list[float]) -> tuple[float, float]:
    """Pooled centre (median) and between-council variance tau^2 (method of moments, >= 0)."""
    v = np.array(values, dtype=float)
    s = np.array(ses, dtype=float)
    ok = np.isfinite(v) & np.isfinite(s)
    if ok.sum() < 3:
        return (float(np.nanmedian(v)) if np.isfinite(v).any() else 0.0), 0.0
    centre = float(np.median(v[ok]))
    tau2 = max(float(np.var(v[ok], ddof=1) - np.mean(s[ok] ** 2)), 1e-6)
    return centre, tau2


def growth_persistence(rhos: list[np.ndarray], window: int) -> tuple[float, float]:
    """How much of recent incidence growth carries into the next year, estimated on every
    council's history to the origin (replaces a tuned damping).

    For each council and year t with ``window`` earlier growths: ``m`` = their mean, ``n`` = the
    next year's growth. Per year, ``M`` and ``N`` are the medians over councils. National:
    ``sum M N / sum M^2`` (regression through the origin of the median council's next growth on
    its recent mean); local: the pooled slope of ``n - N`` on ``m - M`` (how much of a council's
    own deviation persists). Both clipped to [0, 1] (1 without enough data nationally, 0 locally).
    """
    rows: list[tuple[int, float, float]] = []
    for rho in rhos:
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.diff(np.log(rho))
        for t in range(window, len(d)):
            win, nxt = d[t - window : t], d[t]
            if np.isfinite(win).all() and np.isfinite(nxt):
                rows.append((t, float(win.mean()), float(nxt)))
    if len(rows) < 20:
        return 1.0, 0.0
    r = np.array(rows)
    nn = nd = ln = ld = 0.0
    for t in np.unique(r[:, 0]):
        s = r[r[:, 0] == t]
        mm, nm = float(np.median(s[:, 1])), float(np.median(s[:, 2]))
        nn, nd = nn + mm * nm, nd + mm * mm
        ln += float(((s[:, 1] - mm) * (s[:, 2] - nm)).sum())
        ld += float(((s[:, 1] - mm) ** 2).sum())
    nat = float(np.clip(nn / nd, 0, 1)) if nd > 0 else 1.0
    loc = float(np.clip(ln / ld, 0, 1)) if ld > 0 else 0.0
    return nat, loc


def fit_all(
    histories: dict[str, CouncilHistory], horizon: int, *, neighbours: dict[str, list[str]] | None = None
) -> dict[str, CouncilFit]:
    """Fit every council at a common origin, pooling trends and spreads across councils.

    Growth in incidence for each council is shrunk toward a prior centre: the median of its
    statistical neighbours' growth where ``neighbours`` are given (else the national median),
    by the weight ``tau^2 / (tau^2 + se^2)``, where ``se`` is the standard error of the
    council's own mean growth and ``tau^2`` the spread of true growth between councils.
    """
    national_pop = np.sum([h.pop[-1] for h in histories.values()], axis=0)
    offset, bend = chosen_age_settings(histories, national_pop)
    measured = {c: measure(h, national_pop, horizon, offset, bend) for c, h in histories.items()}
    measured_ok = {c: m for c, m in measured.items() if m is not None}
    if not measured_ok:
        return {}
    cfg, chosen = chosen_settings(measured_ok)
    cfg["joiner_age_offset"] = chosen["joiner_age_offset"] = offset
    cfg["exit_age_own_weight"] = chosen["exit_age_own_weight"] = bend
    joiner_age_sd, exit_age_sd = estimated_age_spread(histories, national_pop, offset, bend)
    first = {c: estimate(histories[c], national_pop, horizon, cfg, m) for c, m in measured_ok.items()}
    est = {c: e for c, e in first.items() if e is not None}
    sd_pool = float(np.nanmedian([e["sd_rho"] for e in est.values()]))
    sd_pool = max(sd_pool if np.isfinite(sd_pool) else 0.1, cfg["min_sd_incidence"])
    sdl_pool = float(np.nanmedian([e["sd_lambda"] for e in est.values()]))
    sdl_pool = max(sdl_pool if np.isfinite(sdl_pool) else 0.1, cfg["min_sd_exit"])
    ll_pool = float(np.nanmedian([e["log_lambda"] for e in est.values()]))
    drifts = {c: e["drift"] for c, e in est.items()}
    ses = {
        c: (e["sd_rho"] if np.isfinite(e["sd_rho"]) else sd_pool) / np.sqrt(max(e["drift_n"], 1))
        for c, e in est.items()
    }
    centre, tau2 = _pooled(list(drifts.values()), list(ses.values()))
    phi_nat, phi_loc = growth_persistence([e["rho"] for e in est.values()], int(cfg["drift_window"]))
    # growth anchor: the council's recent growth in plans (3 years) shrunk halfway toward the
    # national median growth; see _anchor_level
    growth3 = {c: _recent_growth(histories[c]) for c in est}
    g_centre = float(np.nanmedian([g for g in growth3.values() if np.isfinite(g)] or [0.0]))
    anchor = float(cfg.get("growth_anchor", 0.0))
    p_anchor = float(cfg.get("placement_anchor", 0.0))
    ggrowth = {c: _group_growth(histories[c]) for c in est}
    gsd = {c: _group_growth_sd(histories[c]) for c in est}
    with warnings.catch_warnings():  # a setting no council has yet published (early years) is NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        gsd_pool = np.nanmedian(np.array(list(gsd.values())), axis=0) if gsd else np.full(N_GROUPS, 0.1)
        g_centres = np.nanmedian(np.array(list(ggrowth.values())), axis=0) if ggrowth else np.zeros(N_GROUPS)
    out: dict[str, CouncilFit] = {}
    for c, e in est.items():
        h = histories[c]
        prior = centre
        if neighbours and c in neighbours:
            nb = [drifts[n] for n in neighbours[c] if n in drifts]
            if len(nb) >= 3:
                prior = 0.5 * centre + 0.5 * float(np.median(nb))
        se2 = ses[c] ** 2
        w = min(tau2 / (tau2 + se2), cfg.get("drift_own_weight_max", 1.0))
        drift = w * e["drift"] + (1 - w) * prior
        drift_se = float(np.sqrt(w * se2))
        # shrink the council's yearly sd toward the pooled sd (4 pseudo-observations)
        n = max(e["drift_n"] - 1, 0)
        s_own = e["sd_rho"] if np.isfinite(e["sd_rho"]) else sd_pool
        sd_rho = float(np.sqrt((n * s_own**2 + 4 * sd_pool**2) / (n + 4)))
        sl_own = e["sd_lambda"] if np.isfinite(e["sd_lambda"]) else sdl_pool
        sd_l = float(np.sqrt((2 * sl_own**2 + 4 * sdl_pool**2) / 6))
        log_lambda = e["log_lambda"] if np.isfinite(e["log_lambda"]) else ll_pool
        wl = cfg.get("exit_own_weight", 1.0)
        log_lambda = wl * log_lambda + (1 - wl) * ll_pool
        level = e["level"]
        if anchor > 0:
            g_own = growth3[c] if np.isfinite(growth3[c]) else g_centre
            target = 0.5 * g_own + 0.5 * g_centre
            lvl_target = _anchor_level(e, log_lambda, target, h.origin)
            if np.isfinite(lvl_target):
                # the first simulated year adds one year's drift to the level: take it off
                level = anchor * (lvl_target - drift) + (1 - anchor) * level
        mover_rate = e["mover_rate"]
        if p_anchor > 0:
            own = ggrowth[c]
            tg = np.where(np.isfinite(own), 0.5 * own + 0.5 * g_centres, g_centres)
            anchored = _anchor_movers(e, level, drift, log_lambda, h.origin, h, tg)
            if anchored is not None:
                anchored = np.clip(anchored, -cfg["max_mover_rate"], cfg["max_mover_rate"])
                mover_rate = p_anchor * anchored + (1 - p_anchor) * mover_rate
        # a setting's yearly growth varies with sd s (the council's own, shrunk toward the
        # median of all councils): as a movement rate that is s x plans in the setting /
        # mainstream plans at the ages both are open, so an empty setting gets no spread
        own_sd = gsd[c]
        s = np.where(np.isfinite(own_sd), 0.5 * own_sd + 0.5 * gsd_pool, gsd_pool)
        plc = e["stock0"].sum(0)
        base = np.array([e["stock0"][mover_ages()[:, gi], MAINSTREAM_INDEX].sum() for gi in range(N_GROUPS)])
        mover_sd = np.where(base > 0, s * plc / np.where(base > 0, base, 1.0), 0.0)
        mover_sd[MAINSTREAM_INDEX] = 0.0
        mover_sd = np.minimum(mover_sd, cfg["max_mover_rate"])
        out[c] = CouncilFit(
            la_code=c,
            la_name=h.la_name,
            origin=h.origin,
            stock0=e["stock0"],
            log_rho_level=float(level),
            drift=float(drift),
            drift_se=drift_se,
            sd_rho=max(sd_rho, cfg["min_sd_incidence"]),
            log_lambda=float(log_lambda),
            log_lambda_se=sd_l / np.sqrt(3),
            sd_lambda=max(sd_l, cfg["min_sd_exit"]),
            incidence_shape=e["g"],
            pop_years=e["pop_years"],
            pop=e["pop"],
            joiner_mix=e["joiner_mix"],
            mover_rate=mover_rate,
            mover_sd=mover_sd,
            history_rho=e["rho"],
            history_lambda=e["lambda"],
            hazard_shape=e["hz"],
            fit_report={"drift_own": e["drift"], "drift_prior": prior, "pooling_weight": float(w), "settings": chosen},
            drift_centre=float(centre),
            damping_national=phi_nat,
            damping_local=phi_loc,
            common_shock_share=float(cfg["common_shock_share"]),
            shock_persistence=float(cfg["incidence_shock_persistence"]),
            joiner_age_sd=joiner_age_sd,
            exit_age_sd=exit_age_sd,
        )
    return out


def chosen_age_settings(histories: dict[str, CouncilHistory], national_pop: np.ndarray) -> tuple[float, float]:
    """The share of joiners counted a year younger, then the weight of the council's own age
    pattern of ceasing, chosen at this origin on its own data: the candidates whose plans by
    age band a year on came closest to those published (:func:`joiner_offset_errors`,
    :func:`exit_age_weight_errors` of every council, :func:`sendcast.model.selection.choose_candidate`)."""
    from sendcast.model import selection

    spec, base = selection.candidates(), settings()
    offsets = [float(v) for v in spec["joiner_age_offset"]]
    errors = [joiner_offset_errors(h, national_pop, offsets) for h in histories.values()]
    offset = selection.choose_candidate(offsets, errors, float(base["joiner_age_offset"]))
    weights = [float(v) for v in spec["exit_age_own_weight"]]
    errors = [exit_age_weight_errors(h, national_pop, weights, offset) for h in histories.values()]
    return offset, selection.choose_candidate(weights, errors, float(base["exit_age_own_weight"]))


def estimated_age_spread(
    histories: dict[str, CouncilHistory], national_pop: np.ndarray, joiner_age_offset: float, exit_age_own_weight: float
) -> tuple[np.ndarray, np.ndarray]:
    """The sd of each draw's log factor on new plans and on ceasing by age band (5,) each,
    estimated at this origin from every council's history with the settings chosen there
    (:func:`age_profile_products`, :func:`sendcast.model.selection.age_profile_spread`)."""
    from sendcast.model import selection

    products = [
        age_profile_products(h, national_pop, joiner_age_offset, exit_age_own_weight) for h in histories.values()
    ]
    return (
        selection.age_profile_spread([p[0] for p in products]),
        selection.age_profile_spread([p[1] for p in products]),
    )


def chosen_settings(measured: dict[str, dict[str, Any]]) -> tuple[dict[str, float], dict[str, float]]:
    """The file's settings with those chosen at this origin on its own data
    (:func:`sendcast.model.selection.choose`); returns (all settings, the chosen ones)."""
    from sendcast.model import selection

    base = settings()
    rhos = [m["rho"][:-1] for m in measured.values()]  # the last January starts no year
    lams = [m["lambda"][:-1] for m in measured.values()]
    movers = selection.Movements.stack(
        *([m[key][:-1] for m in measured.values()] for key in ("movers", "moved", "mover_bases"))
    )
    picked = selection.choose(rhos, lams, movers, base, lambda k: growth_persistence(rhos, k))
    chosen = {k: float(v) for k, v in picked.items()}
    return {**base, **chosen}, chosen


@dataclass
class Paths:
    """Per-draw rate paths for one council: (D, H) arrays, and per-draw age profiles."""

    log_rho: np.ndarray
    log_lambda: np.ndarray
    mover_rate: np.ndarray  # (D, 7)
    joiner_age: np.ndarray | None = None  # (D, 26) multiplies the incidence age shape
    exit_age: np.ndarray | None = None  # (D, 26) multiplies the ceasing hazard shape


def antithetic_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normals for ``shape[0]`` draws in antithetic pairs: the second half of the draws
    mirrors the first (``-z``; an odd count adds one free draw at the end). Every Gaussian part of
    a path is drawn this way, so draw ``i + D//2`` is the mirror image of draw ``i`` and the
    sample's median and quantiles vary far less between seeds (variance reduction; the paths'
    distribution is unchanged)."""
    d = shape[0]
    half = rng.standard_normal((d // 2, *shape[1:]))
    parts = [half, -half]
    if d % 2:
        parts.append(rng.standard_normal((1, *shape[1:])))
    return np.concatenate(parts, axis=0)


def _keep_exits(shape: np.ndarray, reference: np.ndarray, stock: np.ndarray, lam: float) -> np.ndarray:
    """Rescale each row of ``shape`` (D, 26) or (26,) so that ``stock`` (26,) loses as many plans
    at the rate ``lam x row`` as at ``lam x reference``, counting every age's chance of ceasing
    as at most 1 (a plain rescaling would lose plans to the cap at the oldest ages)."""
    rows = np.atleast_2d(shape).astype(float)
    w = stock[: N_AGES - 1]
    target = float((w * np.clip(lam * reference[: N_AGES - 1], 0, 1)).sum())
    c = np.ones((rows.shape[0], 1))
    if target <= 0:
        return rows
    for _ in range(12):
        got = (w[None, :] * np.clip(lam * rows[:, : N_AGES - 1] * c, 0, 1)).sum(1, keepdims=True)
        c = c * np.where(got > 0, target / np.where(got > 0, got, 1.0), 1.0)
    return rows * c


def _age_profile_factors(
    sd_by_band: np.ndarray, weights: np.ndarray, draws: int, rng: np.random.Generator
) -> np.ndarray | None:
    """Per-draw log-normal factors by age band, (D, 26), normalised so that each draw keeps the
    ``weights``-weighted total (the profile across ages moves, the level does not)."""
    if not (sd_by_band > 0).any():
        return None
    z = antithetic_normal(rng, (draws, N_BANDS)) * sd_by_band[None, :]
    f = np.exp(z)[:, BAND_OF_AGE]
    total = float(weights.sum())
    if total <= 0:
        return None
    return f * (total / (f * weights[None, :]).sum(1, keepdims=True))


def _draw_mover_rates(
    stock0: np.ndarray, rate: np.ndarray, sd: np.ndarray, draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Per-draw net mover rates (D, 7) around ``rate``, symmetric in plans moved.

    A positive rate is a share of mainstream plans (at the ages both are open) moving into the
    setting, a negative one a share of the setting's own plans moving out. ``sd`` is in the
    positive-rate unit; drawing the yearly flow in plans (``rate x base``) and converting back
    per draw keeps a draw below the mean as far from it, in plans, as one above (drawing the
    rate itself would shrink every negative draw by ``setting / mainstream`` plans)."""
    mask = mover_ages()
    base = np.array([stock0[mask[:, gi], MAINSTREAM_INDEX].sum() for gi in range(N_GROUPS)])
    own = np.array([stock0[mask[:, gi], gi].sum() for gi in range(N_GROUPS)])
    flow0 = np.where(rate >= 0, rate * base, rate * own)
    flow = flow0[None, :] + (sd * base)[None, :] * antithetic_normal(rng, (draws, N_GROUPS))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(flow >= 0, flow / base[None, :], flow / own[None, :])
    out = np.where(np.isfinite(out), out, 0.0)
    out[:, MAINSTREAM_INDEX] = 0.0
    return out


def sample_paths(
    fit: CouncilFit,
    horizon: int,
    draws: int,
    rng: np.random.Generator,
    national_shocks: np.ndarray,
) -> Paths:
    """Draw incidence and exit-rate paths for ``horizon`` years (calendar origin .. origin+H-1).

    log rho(origin-1+k) = level + sum_{j<=k} (c * a^(j-1) + (drift - c) * b^(j-1) + shock_j),
    with c the median council's growth, a and b the estimated persistence of national growth and
    of a council's own deviation (:func:`growth_persistence`), and the drift drawn per draw from
    N(drift, drift_se^2); shock_j mixes a national part (shared by all
    councils via ``national_shocks``, shape (D, H), standard normal) and a local part.
    log lambda = its recent mean + a per-draw level error + an independent yearly shock.
    """
    c = fit.common_shock_share
    d = fit.drift + fit.drift_se * antithetic_normal(rng, (draws, 1))
    j = np.arange(horizon)[None, :]
    growth = fit.drift_centre * fit.damping_national**j + (d - fit.drift_centre) * fit.damping_local**j
    z = np.sqrt(c) * national_shocks[:, :horizon] + np.sqrt(1 - c) * antithetic_normal(rng, (draws, horizon))
    # incidence shocks persist with the coefficient estimated at the origin (1 = random walk;
    # below 1 part of a year's shock, e.g. a backlog cleared, unwinds the next year)
    persist = fit.shock_persistence
    shock = np.empty_like(z)
    acc = np.zeros(draws)
    for k in range(horizon):
        acc = persist * acc + fit.sd_rho * z[:, k]
        shock[:, k] = acc
    log_rho = fit.log_rho_level + np.cumsum(growth, axis=1) + shock
    lvl = fit.log_lambda + fit.log_lambda_se * antithetic_normal(rng, (draws, 1))
    log_lambda = lvl + fit.sd_lambda * antithetic_normal(rng, (draws, horizon))
    mover = _draw_mover_rates(fit.stock0, fit.mover_rate, fit.mover_sd, draws, rng)
    # the age profile of joiners and of leavers is uncertain too (it shapes the age bands, not
    # the total): one factor per band and draw, kept for the whole horizon
    joiner_age = _age_profile_factors(fit.joiner_age_sd, fit.pop_at(fit.origin) * fit.incidence_shape, draws, rng)
    s0 = fit.stock0.sum(1)
    exit_age = _age_profile_factors(fit.exit_age_sd, s0 * fit.hazard_shape, draws, rng)
    if exit_age is not None:
        # keep each draw's exits at the origin, the cap of 1 at the oldest ages included
        lam0 = float(np.exp(fit.log_lambda))
        exit_age = _keep_exits(fit.hazard_shape[None, :] * exit_age, fit.hazard_shape, s0, lam0)
        exit_age = exit_age / np.where(fit.hazard_shape > 0, fit.hazard_shape, 1.0)[None, :]
    return Paths(log_rho=log_rho, log_lambda=log_lambda, mover_rate=mover, joiner_age=joiner_age, exit_age=exit_age)


def simulate_council(
    fit: CouncilFit,
    horizon: int,
    draws: int,
    rng: np.random.Generator,
    national_shocks: np.ndarray,
    *,
    paths: Paths | None = None,
    levers: Any = None,
) -> np.ndarray:
    """Simulate ``draws`` futures; return stock by year (D, H+1, 26, 7), year 0 = origin.

    The origin stock is rounded to whole plans once (largest remainder per age) so every draw
    starts from the same published total. ``levers`` (a scenario, see
    :mod:`sendcast.scenarios`) may modify the rates year by year; None is the baseline.
    """
    paths = paths or sample_paths(fit, horizon, draws, rng, national_shocks)
    s0 = _round_preserving(fit.stock0)
    out = np.empty((draws, horizon + 1, N_AGES, N_GROUPS), dtype=np.int64)
    out[:, 0] = s0[None]
    stock = out[:, 0]
    hz = fit.hazard_shape
    persistence = phase_transfer_persistence()
    mask = mover_ages()
    g = fit.incidence_shape
    mover = paths.mover_rate  # (D, 7): each draw has its own placement movement rates
    hz_d = hz[None, :] if paths.exit_age is None else hz[None, :] * paths.exit_age  # the same every year
    prepared: Prepared | None = None  # what advance() needs that does not change by year
    for k in range(horizon):
        year = fit.origin + k  # calendar year of the flows
        pop = fit.pop_at(year)
        joiners = np.exp(paths.log_rho[:, k])[:, None] * (pop * g)[None, :]
        if paths.joiner_age is not None:
            joiners = joiners * paths.joiner_age
        hazard = np.clip(np.exp(paths.log_lambda[:, k])[:, None] * hz_d, 0, 1)
        inp = StepInputs(
            hazard=hazard,
            joiners=joiners,
            joiner_mix=fit.joiner_mix,
            transfer_mix=fit.joiner_mix,
            persistence=persistence,
            mover_rate=mover,
            mover_ages=mask,
        )
        if levers is not None:
            inp = levers.apply(inp, year=year, fit=fit, stock=stock)
        if prepared is None or not prepared.fits(inp, draws):
            prepared = prepare(inp, draws)
        # the new stock is written into its year of the output (no copy)
        stock = advance(stock, inp, rng, prepared=prepared, out=out[:, k + 1])
        if levers is not None:
            stock = levers.after_step(stock, year=year, fit=fit, rng=rng)
            out[:, k + 1] = stock
    return out


def _round_preserving(x: np.ndarray) -> np.ndarray:
    """Round a non-negative table to integers keeping its grand total (largest remainder)."""
    flat = np.clip(x, 0, None).ravel()
    base = np.floor(flat)
    short = int(round(flat.sum() - base.sum()))
    if short > 0:
        idx = np.argsort(-(flat - base))[:short]
        base[idx] += 1
    return base.reshape(x.shape).astype(np.int64)


__all__ = [
    "CouncilFit",
    "antithetic_normal",
    "Paths",
    "fit_all",
    "ipf",
    "sample_paths",
    "simulate_council",
    "settings",
    "N_BANDS",
    "TRANSFER_AGES",
]

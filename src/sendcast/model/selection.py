"""Settings of the cohort model chosen at each origin on that origin's own data (prequential).

A setting that decides how past rates carry forward (how many years of growth make the trend,
how much of the latest year sets the level, how many years of exit rates and of placement
movements are averaged, how far a council's own exit rate is trusted over the median
council's) is chosen here, at origin T, from T's published history only: each candidate in
``forecast_settings.yaml`` (``select``) forecasts the quantity the setting governs from every
earlier January of every council, 1 to 3 years ahead, the same way the model would, and the
candidate with the smallest error wins. Nothing published after T is used, so a backtest from
T scores settings a user could have chosen at T.

The objective for each quantity is the mean, over horizons 1-3, of the mean absolute error
over councils and past Januaries (the published forecast's stacking minimises a mean absolute
error of logs too; a median would ignore the councils whose rates jump, where the choice
matters most): of log incidence (new plans per child), of the log exit rate, and of the yearly
net movement rates between mainstream and the other settings (summed over settings); and, for
the share of joiners counted a year younger and the weight of a council's own age pattern of
ceasing (measured on the years before each year scored), of the plans by age band a year on. Where fewer
than ``min_comparisons`` errors exist at a horizon (the first origins, with few years behind
them) the file's value is kept: the report names each origin's choice.

The share of incidence shocks common to all councils is estimated, not chosen: the variance of
the year effects in councils' yearly incidence growth (net of each council's mean growth and of
the sampling noise of a mean over councils) over the total variance. So is the share of a
year's shock that persists into the next (:func:`shock_persistence`), from how one year's
change in incidence correlates with the next. The cap on a yearly movement rate is chosen with
the movement window, scored in children moved (:func:`_mover_errors`). The spread of the age
profile of new plans and of ceasing is estimated too (:func:`age_profile_spread`), from what
two consecutive years' departures from the profile of the years before them have in common.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import product
from typing import Any, TypeVar

import numpy as np

from sendcast.model.structure import MAINSTREAM_INDEX, ModelParameterError, load_parameter

HORIZONS = (1, 2, 3)
WINDOW_MAX = 5  # the movement rates are measured over the last 8 transitions (stockflow.MOVER_HISTORY)
K = TypeVar("K", bound=tuple[float, ...])


def candidates() -> dict[str, Any]:
    """The ``select`` block of ``forecast_settings.yaml``: candidate lists and the minimum."""
    spec = load_parameter("forecast_settings").get("select")
    if not isinstance(spec, dict):
        raise ModelParameterError("forecast_settings.yaml: missing 'select' (candidates chosen at each origin)")
    need = (
        "drift_window", "level_smoothing", "exit_window", "exit_own_weight", "mover_window", "max_mover_rate",
        "joiner_age_offset", "exit_age_own_weight", "min_comparisons",
    )  # fmt: skip
    for key in need:
        if key not in spec:
            raise ModelParameterError(f"forecast_settings.yaml: select.{key} missing")
    windows = ("drift_window", "exit_window", "mover_window")
    for key in need[:-1]:
        vals = spec[key]
        if not isinstance(vals, list) or not vals or not all(_number(v) for v in vals):
            raise ModelParameterError(f"forecast_settings.yaml: select.{key} must be a list of numbers")
        if key in windows and not all(float(v).is_integer() and 1 <= v <= WINDOW_MAX for v in vals):
            raise ModelParameterError(f"forecast_settings.yaml: select.{key}: windows are whole years 1-{WINDOW_MAX}")
        if key == "max_mover_rate" and not all(0 < v <= 1 for v in vals):
            raise ModelParameterError(f"forecast_settings.yaml: select.{key}: a cap is a share above 0, at most 1")
        if key not in windows and not all(0 <= v <= 1 for v in vals):
            raise ModelParameterError(f"forecast_settings.yaml: select.{key}: shares and weights lie in 0-1")
    n = spec["min_comparisons"]
    if not (_number(n) and float(n).is_integer() and n >= 1):
        raise ModelParameterError("forecast_settings.yaml: select.min_comparisons must be a whole number >= 1")
    return spec


def _number(v: object) -> bool:
    """A finite int or float (a YAML true/false is not a number here)."""
    return isinstance(v, int | float) and not isinstance(v, bool) and bool(np.isfinite(v))


def _score(errors: Callable[[int], np.ndarray], min_n: int) -> float:
    """Mean over horizons of the mean absolute error (of logs for incidence and exits: the
    stacking's objective too); NaN if a horizon has too few errors."""
    means = []
    for h in HORIZONS:
        e = np.abs(errors(h))
        e = e[np.isfinite(e)]
        if len(e) < min_n:
            return float("nan")
        means.append(float(np.mean(e)))
    return float(np.mean(means))


def _best(scores: Mapping[K, float]) -> K | None:
    """The candidate with the smallest finite score (ties: the smallest candidate)."""
    ok = {k: v for k, v in scores.items() if np.isfinite(v)}
    return min(ok, key=lambda k: (ok[k], k)) if ok else None


def _window_mean(x: np.ndarray, t: int, k: int) -> np.ndarray:
    """Mean of columns t-k+1 .. t (NaN where any is missing or the window starts before 0)."""
    if t - k + 1 < 0:
        return np.full(x.shape[0], np.nan)
    return np.asarray(x[:, t - k + 1 : t + 1].mean(axis=1))


def _incidence_errors(
    lr: np.ndarray, k: int, s: float, kmax: int, damping: tuple[float, float]
) -> Callable[[int], np.ndarray]:
    """Errors of log incidence ``h`` years on from every past January with ``kmax`` growths
    behind it: level ``s x latest + (1 - s) x (year before + growth)``, growth the mean of the
    last ``k`` yearly changes shrunk toward the median council's (empirical Bayes, as the
    fit does), damped as estimated (``damping`` = national, local persistence)."""
    d = np.diff(lr, axis=1)
    a, b = damping

    def errors(h: int) -> np.ndarray:
        out = []
        for t in range(kmax, lr.shape[1] - h):
            win = d[:, t - k : t]
            drift = win.mean(axis=1)
            # the same councils for every candidate: those with the longest window measured
            ok = np.isfinite(d[:, t - kmax : t]).all(axis=1) & np.isfinite(lr[:, t + h])
            drift = np.where(ok, drift, np.nan)
            if ok.sum() < 3:
                continue
            centre = float(np.median(drift[ok]))
            sd = win.std(axis=1, ddof=1) if k >= 2 else np.full(len(drift), np.nan)
            se2 = np.where(np.isfinite(sd), sd, np.nanmedian(sd) if np.isfinite(sd).any() else 0.1) ** 2 / k
            tau2 = max(float(np.var(drift[ok], ddof=1) - np.mean(se2[ok])), 1e-6)
            w = tau2 / (tau2 + se2)
            g = w * drift + (1 - w) * centre
            level = s * lr[:, t] + (1 - s) * (lr[:, t - 1] + g)
            j = np.arange(h)
            path = (centre * a**j).sum() + np.outer(g - centre, b**j).sum(axis=1)
            out.append((lr[:, t + h] - (level + path))[ok])
        return np.concatenate(out) if out else np.array([])

    return errors


def _exit_errors(ll: np.ndarray, kw: int, w: float, kmax: int) -> Callable[[int], np.ndarray]:
    """Errors of the log exit rate ``h`` years on: ``w`` x the council's mean over its last
    ``kw`` years + (1 - ``w``) x the median council's (held flat, as the forecast holds it)."""

    def errors(h: int) -> np.ndarray:
        out = []
        for t in range(kmax - 1, ll.shape[1] - h):
            ok = np.isfinite(_window_mean(ll, t, kmax)) & np.isfinite(ll[:, t + h])
            own = _window_mean(ll, t, kw)
            if ok.sum() < 3:
                continue
            pred = w * own + (1 - w) * float(np.median(own[ok]))
            out.append((ll[:, t + h] - pred)[ok])
        return np.concatenate(out) if out else np.array([])

    return errors


@dataclass(frozen=True)
class Movements:
    """Every council's yearly net placement movements, each January to the next (councils,
    years, 7 settings; NaN where not measured): ``rate``, the movement as a share of the plans it
    is drawn from (:func:`sendcast.model.stockflow.measure`); ``moved``, the same movement in
    plans, as a share of all the council's plans a year on; ``base`` (councils, years, 2, 7), the
    plans a rate is a share of, as that same share: mainstream's at the ages both are open (a
    move in, row 0) and the setting's own (a move out, row 1). Mainstream's column is 0."""

    rate: np.ndarray
    moved: np.ndarray
    base: np.ndarray

    @classmethod
    def stack(cls, rates: Sequence[np.ndarray], moved: Sequence[np.ndarray], bases: Sequence[np.ndarray]) -> Movements:
        """From each council's (years, 7), (years, 7) and (years, 2, 7) arrays."""
        arr = [np.array(list(x), dtype=float) for x in (rates, moved, bases)]
        return cls(*arr)


def _mover_errors(mv: Movements, m: int, cap: float, kmax: int) -> Callable[[int], np.ndarray]:
    """Errors, in children, of the yearly net movements ``h`` years on: the mean of the last
    ``m`` years' rates, each capped at ``cap``, held flat and applied to the plans it would be
    drawn from that year, against the movement published (not capped), summed over settings,
    as a share of the council's plans. Measuring in children, not rates, is what lets the cap
    be chosen: a rate on a handful of plans can be huge and move few children."""
    rate = np.clip(mv.rate, -cap, cap)
    others = np.arange(rate.shape[2]) != MAINSTREAM_INDEX

    def errors(h: int) -> np.ndarray:
        out = []
        for t in range(kmax - 1, rate.shape[1] - h):
            ok = np.isfinite(rate[:, t - kmax + 1 : t + 1, :]).all(axis=(1, 2))
            ok &= np.isfinite(mv.moved[:, t + h, :]).all(axis=1) & np.isfinite(mv.base[:, t + h]).all(axis=(1, 2))
            pred = rate[:, t - m + 1 : t + 1, :].mean(axis=1)
            base = np.where(pred >= 0, mv.base[:, t + h, 0, :], mv.base[:, t + h, 1, :])
            out.append(np.abs(mv.moved[:, t + h, others] - (pred * base)[:, others]).sum(axis=1)[ok])
        return np.concatenate(out) if out else np.array([])

    return errors


def choose_candidate(values: Sequence[float], errors: Sequence[np.ndarray], default: float) -> float:
    """The candidate (e.g. a share of joiners counted a year younger) with the smallest mean
    error of the plans by age band a year on, over every council and year (``errors``: per
    council, (years, candidates)); ``default`` with fewer than ``min_comparisons`` years."""
    rows = [e for e in errors if e.size]
    if not rows:
        return float(default)
    e = np.concatenate(rows, axis=0)
    e = e[np.isfinite(e).all(axis=1)]
    if len(e) < int(candidates()["min_comparisons"]):
        return float(default)
    return float(values[int(np.argmin(e.mean(axis=0)))])


def common_shock_share(lr: np.ndarray, years: int = 8) -> float:
    """Share of the variance of yearly incidence growth common to all councils (last
    ``years`` changes): year effects' variance, less the sampling noise of a mean over the
    councils, over the variance net of each council's mean. NaN with under 4 years or councils."""
    d = np.diff(lr, axis=1)[:, -years:]
    d = d[np.isfinite(d).all(axis=1)]
    if d.shape[0] < 4 or d.shape[1] < 4:
        return float("nan")
    r = d - d.mean(axis=1, keepdims=True)
    total = float(r.var(ddof=1))
    if total <= 0:
        return float("nan")
    year_effects = r.mean(axis=0)
    within = float(r.var(axis=0, ddof=1).mean())
    common = float(year_effects.var(ddof=1)) - within / d.shape[0]
    return float(np.clip(common / total, 0.0, 1.0))


def _lag1(x: np.ndarray) -> float:
    """Lag-1 autocorrelation of each row's deviations from its own mean, pooled over rows."""
    r = x - x.mean(axis=1, keepdims=True)
    return float((r[:, 1:] * r[:, :-1]).sum() / (r * r).sum())


@cache
def _lag1_if_persistent(phi: float, years: int, series: int = 4000) -> float:
    """What :func:`_lag1` shows, on ``years`` yearly changes, when log incidence deviates from
    a council's trend by shocks that persist with coefficient ``phi`` (a stationary AR(1) in
    the level; ``phi`` = 1 a random walk): simulated once on ``series`` series, fixed seed."""
    rng = np.random.default_rng(20240101)
    e = rng.normal(size=(series, years + 1))
    u = np.empty_like(e)
    u[:, 0] = e[:, 0] / np.sqrt(1 - phi**2) if phi < 1 else 0.0
    for t in range(1, years + 1):
        u[:, t] = phi * u[:, t - 1] + e[:, t]
    return _lag1(np.diff(u, axis=1))


def shock_persistence(lr: np.ndarray, years: int = 8) -> float:
    """Share of a year's incidence shock still there the next year, estimated from councils'
    yearly changes in log incidence (last ``years``): a shock that persists with coefficient
    phi makes this year's change and the next one's correlate by -(1 - phi) / 2 (a random walk,
    phi = 1: not at all; a shock that unwinds at once, phi = 0: -0.5). The correlation measured
    on a few years around each council's own mean is biased down, so the phi whose simulated
    correlation on as many years matches the measured one is taken (indirect inference).
    NaN with under 4 years or councils."""
    d = np.diff(lr, axis=1)[:, -years:]
    d = d[np.isfinite(d).all(axis=1)]
    if d.shape[0] < 4 or d.shape[1] < 4:
        return float("nan")
    grid = np.round(np.linspace(0.0, 1.0, 21), 2)
    curve = np.array([_lag1_if_persistent(float(p), d.shape[1]) for p in grid])  # rises with phi
    return float(np.interp(_lag1(d), curve, grid))


def age_profile_spread(products: Sequence[np.ndarray]) -> np.ndarray:
    """The sd, by age band (5,), of the part of a year's deviation from the age profile of the
    years before it that persists into the next year: the square root of the mean of every
    council's ``products`` of two consecutive years' deviations
    (:func:`sendcast.model.stockflow.age_profile_products`; a 5% trimmed mean, so a recoding
    break in one council does not set it), floored at 0; 0 where fewer than
    ``min_comparisons`` pairs are measured (no spread is assumed that the data cannot show).
    It sets the per-draw factors on the age profile of new plans and of ceasing."""
    from scipy.stats import trim_mean

    n_bands = 5
    x = np.concatenate([np.asarray(p, dtype=float).reshape(-1, n_bands) for p in products] or [np.empty((0, n_bands))])
    out = np.zeros(n_bands)
    min_n = int(candidates()["min_comparisons"])
    for b in range(n_bands):
        v = x[np.isfinite(x[:, b]), b]
        if len(v) >= min_n:
            out[b] = float(np.sqrt(max(float(trim_mean(v, 0.05)), 0.0)))
    return out


def choose(
    rho: Sequence[np.ndarray],
    lam: Sequence[np.ndarray],
    movers: Movements,
    defaults: Mapping[str, float],
    damping: Callable[[int], tuple[float, float]],
) -> dict[str, float]:
    """Settings for this origin from every council's series to it: ``rho`` and ``lam`` (T,)
    incidence and exit rates by year, ``movers`` their placement movements; ``damping(k)``
    the estimated growth persistence for a drift window ``k``. Returns the chosen and the
    estimated values."""
    spec = candidates()
    min_n = int(spec["min_comparisons"])
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        lr = np.log(np.array(rho, dtype=float))
        ll = np.log(np.array(lam, dtype=float))
        ll[~np.isfinite(ll)] = np.nan
        lr[~np.isfinite(lr)] = np.nan
        out: dict[str, float] = {}

        def pick(names: tuple[str, ...], errors: Callable[..., Callable[[int], np.ndarray]]) -> None:
            """Score every combination of the named settings' candidates; keep the best."""
            grid = {
                tuple(float(v) for v in combo): _score(errors(*combo), min_n)
                for combo in product(*(spec[n] for n in names))
            }
            best = _best(grid) or tuple(float(defaults[n]) for n in names)
            out.update(zip(names, best, strict=True))

        ki, ke, km = (int(max(spec[n])) for n in ("drift_window", "exit_window", "mover_window"))
        pick(
            ("drift_window", "level_smoothing"),
            lambda k, s: _incidence_errors(lr, int(k), float(s), ki, damping(int(k))),
        )
        pick(("exit_window", "exit_own_weight"), lambda k, w: _exit_errors(ll, int(k), float(w), ke))
        pick(("mover_window", "max_mover_rate"), lambda m, cap: _mover_errors(movers, int(m), float(cap), km))

        share = common_shock_share(lr)
        out["common_shock_share"] = share if np.isfinite(share) else defaults["common_shock_share"]
        phi = shock_persistence(lr)
        out["incidence_shock_persistence"] = phi if np.isfinite(phi) else defaults["incidence_shock_persistence"]
    return out

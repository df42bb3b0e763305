"""The published forecast: the cohort model combined with growth rules, calibrated on the past only.

At an origin January T (Dawid's prequential principle: everything is learned from forecasts
made at earlier origins whose outcomes were published by January T):

1. **Components** (per council, measure, years ahead h): the cohort (stock-flow) model's median,
   ``pooled_growth`` (the council's 3-year growth shrunk halfway to the median council's),
   ``national_growth`` (the median council's 3-year growth), ``last_value`` and, for plans in
   total, two leading-indicator rules: the median council's 3-year growth plus the council's
   deviation from it predicted from requests for assessment and new plans in the calendar year
   before the origin (per plan), its last and 3-year growth and the share of plans issued within
   20 weeks, by a Huber regression fitted at the origin on earlier origins' outcomes
   (:func:`indicator_deviation`); ``indicators`` fits one per years ahead, ``indicators_1y``
   holds the one-year deviation (a council's own deviation has not persisted in the cohort
   model's estimates, :func:`sendcast.model.stockflow.growth_persistence`).
2. **Stacking**: per measure and h, weights on a grid (summing to 1) minimising the mean
   absolute error of ``log(1 + plans)`` over every council and earlier origin o with o + h <= T;
   the combined point is ``exp(sum_k w_k log(1 + C_k)) - 1``.
3. **Spread**: the combined forecast's past errors are split, measure by measure, into England's
   part (the log error of the measure's sum over councils, one per origin) and each council's
   remainder. Every council's draws share one **national path**: one standard path, scaled for
   each measure so that its variance at h is the mean of that measure's past squared national
   errors together with a random walk in England's growth of plans (its yearly change has the
   robust sd of England's published growth changes), counted as ``national_prior_weight``
   origins. (England's special school places have moved with the forecast far more closely
   than its plans in total: one spread for all measures gave the steady groups the total's.)
   The remainder has empirical quantiles per measure and h (pooled over councils); each council's
   cohort-model draws, in a random order of their own, are mapped onto them by rank, so a draw
   keeps the cohort's joint pattern across years and measures, and councils share only
   England's path.
4. **Reconciliation**: in each draw the gap between the total and the sum of its parts is
   shared in proportion to the parts' variances over draws (weighted least squares), so they
   add up draw by draw: the total's six placement groups (all special schools being one), then
   all special schools' two (state-funded, independent), and the age bands. Each part's
   remainder is then scaled so that, reconciled, it keeps the spread it was calibrated to
   (:func:`reconcile_keeping_spreads`). England is the draw-by-draw sum of councils.

Only outcomes published by January T and forecasts made from January ``first_origin_learned``
(after the statements-to-plans transition) are learned from. The method's constants are in
``parameters/model/ensemble.yaml``; none is chosen by backtest.
"""

from __future__ import annotations

import functools
import itertools
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd

from sendcast.model import structure
from sendcast.model.forecast import MEASURES
from sendcast.model.history import CouncilHistory
from sendcast.model.stockflow import age_distribution, has_ages, placement_totals
from sendcast.model.structure import AGE_BANDS, GROUPS, ModelParameterError, load_parameter

COMPONENTS: tuple[str, ...] = (
    "cohort",
    "pooled_growth",
    "national_growth",
    "last_value",
    "indicators",
    "indicators_1y",
)
INDICATORS: tuple[str, ...] = ("requests_rate", "new_plans_rate", "growth_1y", "growth_3y", "within_20_weeks")
TOTAL = 0
GROUP_IDX = np.arange(1, 1 + len(GROUPS))
SPECIAL_IDX = 1 + len(GROUPS)
BAND_IDX = np.arange(2 + len(GROUPS), 2 + len(GROUPS) + len(AGE_BANDS))
STATE, INDEPENDENT = 1 + GROUPS.index("state_special"), 1 + GROUPS.index("independent_special")
SPECIAL_PARTS = np.array([STATE, INDEPENDENT])
TOP_IDX = np.array([i for i in GROUP_IDX if i not in (STATE, INDEPENDENT)] + [SPECIAL_IDX])  # the total's parts
LEVELS = np.linspace(0.0025, 0.9975, 200)  # quantile levels stored for the council spread


WHOLE = ("first_origin_learned", "indicator_min_rows", "spread_matching_iterations")  # counts and years


@cache
def method() -> dict[str, float]:
    """Method constants from ``parameters/model/ensemble.yaml``: each a finite number, and
    :data:`WHOLE` ones whole numbers of at least 0 (else the file and key are named)."""
    path = structure.PARAM_DIR / "ensemble.yaml"
    out: dict[str, float] = {}
    for k, v in load_parameter("ensemble")["values"].items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
            raise ModelParameterError(f"{path}: values.{k}: {v!r} is not a number")
        if k in WHOLE and (v < 0 or float(v) != int(v)):
            raise ModelParameterError(f"{path}: values.{k}: {v!r} is not a whole number of at least 0")
        out[str(k)] = float(v)
    return out


def history_measures(h: CouncilHistory) -> np.ndarray:
    """Published history as (Y, M) in the order of :data:`MEASURES` (NaN where not published)."""
    out = np.full((len(h.years), len(MEASURES)), np.nan)
    for i in range(len(h.years)):
        out[i, 0] = h.total[i]
        p = h.placement[i]
        if np.isfinite(p).all():
            plc = placement_totals(h, i)
            if plc is not None:
                out[i, GROUP_IDX] = plc
                out[i, SPECIAL_IDX] = plc[GROUPS.index("state_special")] + plc[GROUPS.index("independent_special")]
        if has_ages(h, i):
            ages = age_distribution(h, i)
            if ages is not None:
                for j, (lo, hi) in enumerate(AGE_BANDS.values()):
                    out[i, BAND_IDX[j]] = ages[lo : hi + 1].sum()
    return out


def _growth3(hm: np.ndarray) -> np.ndarray:
    """Average yearly log growth of each measure over the last three years (M,), NaN if any gap."""
    last = hm[-4:]
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.diff(np.log(np.where(last > 0, last, np.nan)), axis=0)
    return np.where(np.isfinite(g).all(0), g.mean(0), np.nan) if len(g) == 3 else np.full(hm.shape[1], np.nan)


@dataclass
class OriginPoints:
    """Component point forecasts made at one origin (what stacking learns from)."""

    origin: int
    la_codes: list[str]
    points: np.ndarray  # (C, K, H, M) for Januarys origin+1 .. origin+H (NaN where none)
    published: np.ndarray  # (C, M) at the origin

    @property
    def horizon(self) -> int:
        return int(self.points.shape[2])

    def to_frame(self) -> pd.DataFrame:
        """Long table: origin, la_code, horizon, measure, one column per component, published."""
        c, k, h, m = self.points.shape
        ci, hi, mi = np.meshgrid(np.arange(c), np.arange(h), np.arange(m), indexing="ij")
        data: dict[str, object] = {
            "origin": self.origin,
            "la_code": np.array(self.la_codes)[ci.ravel()],
            "horizon": hi.ravel() + 1,
            "measure": np.array(MEASURES)[mi.ravel()],
        }
        for j, name in enumerate(COMPONENTS):
            data[name] = self.points[:, j][ci, hi, mi].ravel()
        data["published"] = self.published[ci, mi].ravel()
        return pd.DataFrame(data)

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> OriginPoints:
        """Inverse of :meth:`to_frame` for one origin."""
        origin = int(df["origin"].iloc[0])
        codes = sorted(df["la_code"].unique())
        h = int(df["horizon"].max())
        ci = pd.Index(codes).get_indexer(pd.Index(df["la_code"]))
        mi = pd.Index(MEASURES).get_indexer(pd.Index(df["measure"]))
        hi = df["horizon"].to_numpy(dtype=int) - 1
        points = np.full((len(codes), len(COMPONENTS), h, len(MEASURES)), np.nan)
        for j, name in enumerate(COMPONENTS):
            points[ci, j, hi, mi] = df[name].to_numpy(dtype=float)
        published = np.full((len(codes), len(MEASURES)), np.nan)
        published[ci, mi] = df["published"].to_numpy(dtype=float)
        return cls(origin, codes, points, published)


def indicator_features(h: CouncilHistory, year: int) -> np.ndarray:
    """Leading indicators of a council's growth after January ``year`` (:data:`INDICATORS`),
    from what is published at that origin: requests for assessment and new plans issued in
    calendar ``year - 1`` per plan held in January ``year``, the last year's and the last three
    years' log growth of plans, and the share of new plans issued within 20 weeks in ``year - 1``
    (a backlog of late plans is plans still to come). NaN where any is not published."""
    i = int(year - h.years[0])
    out = np.full(len(INDICATORS), np.nan)
    if i < 3 or i >= len(h.years):
        return out
    t0, t1, t3 = h.total[i], h.total[i - 1], h.total[i - 3]
    if not (np.isfinite([t0, t1, t3]).all() and min(t0, t1, t3) > 0):
        return out
    out[0] = h.flow("requests", year - 1) / t0
    out[1] = h.flow("new_plans", year - 1) / t0
    out[2] = np.log(t0 / t1)
    out[3] = np.log(t0 / t3) / 3
    out[4] = h.flow("within_20_weeks", year - 1) / 100
    return out


def _centred(x: np.ndarray) -> np.ndarray:
    """Each column minus its median over the rows where every column is published."""
    ok = np.isfinite(x).all(1)
    return x - (np.median(x[ok], axis=0) if ok.any() else 0.0)


def huber_fit(x: np.ndarray, y: np.ndarray, k: float, iterations: int = 50) -> np.ndarray:
    """Huber M-estimate of ``y ~ x @ b`` (no intercept) by iteratively reweighted least squares:
    residuals beyond ``k`` robust sds (1.4826 x their median absolute value) are down-weighted."""
    b = np.linalg.lstsq(x, y, rcond=None)[0]
    for _ in range(iterations):
        r = np.abs(y - x @ b)
        s = 1.4826 * float(np.median(r))
        if s <= 0:
            break
        w = np.minimum(1.0, k * s / np.maximum(r, 1e-12))
        sw = np.sqrt(w)
        nb = np.linalg.lstsq(x * sw[:, None], y * sw, rcond=None)[0]
        if np.allclose(nb, b, atol=1e-10):
            return nb
        b = nb
    return b


def indicator_deviation(histories: Mapping[str, CouncilHistory], codes: Sequence[str], horizon: int) -> np.ndarray:
    """Each council's log growth of plans over the next ``h`` years relative to the median
    council's, predicted from its leading indicators (C, H) (NaN where not estimable).

    For each h a Huber regression of the h-year deviation from the median council on the
    indicators' deviations from their medians is fitted on every council and every earlier
    origin o whose outcome (January o + h) is in the histories, so only what was published by
    the origin is used. Column h-1 is NaN where fewer than ``indicator_min_rows`` pairs exist."""
    cfg = method()
    origin = int(next(iter(histories.values())).origin)
    first = int(min(int(histories[c].years[0]) for c in codes)) if codes else origin
    hs = [histories[c] for c in codes]
    feats = {o: _centred(np.array([indicator_features(h, o) for h in hs])) for o in range(first, origin + 1)}
    out = np.full((len(codes), horizon), np.nan)
    for hh in range(1, horizon + 1):
        xs, ys = [], []
        for o in range(first, origin - hh + 1):
            y = np.array([_log_ratio(h, o, hh) for h in hs])
            ok = np.isfinite(feats[o]).all(1) & np.isfinite(y)
            if ok.sum() >= 2:
                xs.append(feats[o][ok])
                ys.append(y[ok] - np.median(y[ok]))
        if not xs or sum(len(v) for v in ys) < cfg["indicator_min_rows"]:
            continue
        b = huber_fit(np.concatenate(xs), np.concatenate(ys), cfg["indicator_huber_k"])
        out[:, hh - 1] = feats[origin] @ b
    return out


def _log_ratio(h: CouncilHistory, year: int, ahead: int) -> float:
    """log(plans in January year + ahead / plans in January year), NaN where not published."""
    i, j = int(year - h.years[0]), int(year + ahead - h.years[0])
    if i < 0 or j >= len(h.years):
        return float("nan")
    a, b = h.total[i], h.total[j]
    return float(np.log(b / a)) if np.isfinite(a) and np.isfinite(b) and a > 0 and b > 0 else float("nan")


def origin_points(
    histories: Mapping[str, CouncilHistory], cohort_draws: Mapping[str, np.ndarray], horizon: int
) -> OriginPoints:
    """Component points at the histories' origin for every council in ``histories`` (the growth
    rules' national centre uses them all); the cohort component where ``cohort_draws[la_code]``
    (D, >=H+1, M) is given, NaN elsewhere."""
    codes = sorted(histories)
    hms = [history_measures(histories[c]) for c in codes]
    origin = int(next(iter(histories.values())).origin)
    published = np.array([hm[-1] for hm in hms]).reshape(len(codes), len(MEASURES))
    g3 = np.array([_growth3(hm) for hm in hms]).reshape(len(codes), len(MEASURES))
    centre = np.array(
        [
            float(np.median(g3[np.isfinite(g3[:, m]), m])) if np.isfinite(g3[:, m]).any() else np.nan
            for m in range(len(MEASURES))
        ]
    )
    own = method()["pooled_growth_own_share"]
    pooled = np.where(np.isfinite(g3), own * g3 + (1 - own) * centre[None, :], centre[None, :])
    steps = np.arange(1, horizon + 1)[None, :, None]
    points = np.full((len(codes), len(COMPONENTS), horizon, len(MEASURES)), np.nan)
    for i, c in enumerate(codes):
        if c in cohort_draws:
            points[i, 0] = np.median(cohort_draws[c][:, 1 : horizon + 1], axis=0)
    points[:, 1] = published[:, None, :] * np.exp(pooled[:, None, :] * steps)
    points[:, 2] = published[:, None, :] * np.exp(centre[None, None, :] * steps)
    points[:, 3] = np.repeat(published[:, None, :], horizon, axis=1)
    # leading indicators (plans in total): the median council's growth plus the council's
    # predicted deviation from it, h years ahead ('indicators') or the one-year deviation held
    # ('indicators_1y': a council's own deviation has not persisted, see the module docstring)
    dev = indicator_deviation(histories, codes, horizon)
    dev_h = np.where(np.isfinite(dev), dev, dev[:, :1])
    level = published[:, None, TOTAL] * np.exp(centre[TOTAL] * steps[..., 0])
    points[:, 4, :, TOTAL] = level * np.exp(dev_h)
    points[:, 5, :, TOTAL] = level * np.exp(dev[:, :1])
    return OriginPoints(origin, codes, points, published)


@functools.lru_cache(maxsize=8)
def weight_grid(k: int, step: float) -> np.ndarray:
    """All weight vectors of length ``k`` on a grid of ``step`` that sum to 1 (G, k), read-only.
    Kept per process: with six components the grid is 1.8 million candidates to enumerate (about
    1 s), and every published forecast learns on it."""
    n = int(round(1 / step))
    rows = [c for c in itertools.product(range(n + 1), repeat=k) if sum(c) == n]
    grid = np.array(rows, dtype=float) / n
    grid.setflags(write=False)
    return grid


def combine(points: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted geometric mean in log(1 + x): ``points`` (..., K), ``weights`` (K,) or (..., K);
    missing components drop out and the others' weights are renormalised."""
    lp = np.log1p(np.clip(points, 0, None))
    ok = np.isfinite(lp)
    w = np.broadcast_to(weights, lp.shape) * ok
    tot = w.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (np.where(ok, lp, 0.0) * w).sum(-1) / tot
    return np.where(tot > 0, np.expm1(out), np.nan)


@dataclass
class Calibration:
    """What is learned at one origin from earlier ones (see module docstring)."""

    origin: int
    weights: np.ndarray  # (H, M, K)
    local_quantiles: np.ndarray  # (H, M, L) at LEVELS, of the council remainder (log(1 + plans))
    national_sd: np.ndarray  # (H, M) sd of England's log error of each measure at each h
    n_train: np.ndarray  # (H, M) training rows behind each weight
    national_errors: dict[tuple[int, int], float] = field(default_factory=dict)  # (origin, h) -> log error

    def weights_frame(self) -> pd.DataFrame:
        h, m, k = self.weights.shape
        rows = [
            {
                "origin": self.origin,
                "horizon": hi + 1,
                "measure": MEASURES[mi],
                "component": COMPONENTS[ki],
                "weight": float(self.weights[hi, mi, ki]),
                "n_train": int(self.n_train[hi, mi]),
            }
            for hi in range(h)
            for mi in range(m)
            for ki in range(k)
        ]
        return pd.DataFrame(rows)


def england_growth_sd(actuals: Mapping[str, np.ndarray]) -> float:
    """Robust sd (1.4826 x MAD) of the yearly change in England's log growth of plans, England
    being the sum of the councils' published totals in years where every council has one, over
    the last run of consecutive such years (0.02 where it is shorter than four)."""
    tot = np.array([a[:, TOTAL] for a in actuals.values()])
    idx = np.flatnonzero(np.isfinite(tot).all(0))
    if len(idx):
        breaks = np.flatnonzero(np.diff(idx) > 1)
        idx = idx[breaks[-1] + 1 :] if len(breaks) else idx
    e = tot[:, idx].sum(0)
    if len(e) < 4 or (e <= 0).any():
        return 0.02
    dd = np.diff(np.log(e), n=2)
    return float(1.4826 * np.median(np.abs(dd - np.median(dd))))


def learn(
    origin: int,
    past: Sequence[OriginPoints],
    actuals: Mapping[str, np.ndarray],
    actual_years: np.ndarray,
    horizon: int,
) -> Calibration:
    """Learn weights and spreads at ``origin`` from ``past`` origins' points and the outcomes in
    ``actuals`` (la_code -> (Y, M) on ``actual_years``) published by January ``origin``."""
    cfg = method()
    # only outcomes published by January ``origin`` may be used (the prequential rule)
    keep = np.asarray(actual_years) <= origin
    actual_years = np.asarray(actual_years)[keep]
    actuals = {c: a[keep] for c, a in actuals.items()}
    grid = weight_grid(len(COMPONENTS), cfg["weight_step"])
    first = int(cfg["first_origin_learned"])
    k_h = max(horizon, max((p.horizon for p in past), default=1))
    weights = np.zeros((k_h, len(MEASURES), len(COMPONENTS)))
    weights[..., 0] = 1.0
    n_train = np.zeros((k_h, len(MEASURES)), dtype=int)
    local = np.zeros((k_h, len(MEASURES), len(LEVELS)))
    nat_sq: dict[tuple[int, int], list[float]] = {}
    nat_err: dict[tuple[int, int], float] = {}
    have = np.zeros((k_h, len(MEASURES)), dtype=bool)
    year_index = {int(y): i for i, y in enumerate(actual_years)}
    for h in range(1, k_h + 1):
        rows_x: list[np.ndarray] = []
        rows_y: list[np.ndarray] = []
        rows_o: list[np.ndarray] = []
        for p in past:
            y = p.origin + h
            if p.origin >= origin or p.origin < first or y > origin or h > p.horizon or y not in year_index:
                continue
            codes = [c for c in p.la_codes if c in actuals]
            if not codes:
                continue
            idx = [p.la_codes.index(c) for c in codes]
            rows_x.append(p.points[idx, :, h - 1, :].transpose(0, 2, 1))  # (C, M, K)
            rows_y.append(np.array([actuals[c][year_index[y]] for c in codes]))  # (C, M)
            rows_o.append(np.full(len(codes), p.origin))
        if not rows_x:
            continue
        x = np.concatenate(rows_x)
        ya = np.concatenate(rows_y)
        o = np.concatenate(rows_o)
        ly = np.log1p(np.clip(ya, 0, None))
        lx = np.log1p(np.clip(x, 0, None))
        okx = np.isfinite(lx)
        for m in range(len(MEASURES)):
            ok = np.isfinite(ly[:, m]) & okx[:, m, 0]
            if ok.sum() < 10:
                continue
            xm = np.where(okx[ok, m], lx[ok, m], 0.0)  # (N, K)
            wm = okx[ok, m].astype(float)
            # a component with no point for this measure (the indicator rules beyond the total)
            # takes no weight: the grid is that of the components it has
            g = grid[(grid[:, ~okx[ok, m].any(0)] == 0).all(1)]
            num = xm @ g.T
            den = wm @ g.T
            pred = np.where(den > 0, num / np.where(den > 0, den, 1.0), xm[:, :1])  # else the cohort alone
            loss = np.mean(np.abs(ly[ok, m][:, None] - pred), axis=0)
            weights[h - 1, m] = g[int(np.nanargmin(loss))]
            n_train[h - 1, m] = int(ok.sum())
            have[h - 1, m] = True
        comb = combine(x, weights[h - 1][None, :, :])  # (N, M)
        err = ly - np.log1p(np.clip(comb, 0, None))
        # each measure's national error at each origin: the log error of its sum over councils
        nat = np.full((len(o), len(MEASURES)), np.nan)
        for org in np.unique(o):
            for m in range(len(MEASURES)):
                sel = (o == org) & np.isfinite(ya[:, m]) & np.isfinite(comb[:, m])
                if sel.sum() >= 10 and comb[sel, m].sum() > 0 and ya[sel, m].sum() > 0:
                    e = float(np.log(ya[sel, m].sum() / comb[sel, m].sum()))
                    nat[o == org, m] = e
                    nat_sq.setdefault((h, m), []).append(e * e)
                    if m == TOTAL:
                        nat_err[(int(org), h)] = e
        resid = err - nat
        for m in range(len(MEASURES)):
            r = resid[:, m][np.isfinite(resid[:, m])]
            if len(r) >= 10:
                q = np.quantile(r, LEVELS)
                local[h - 1, m] = q - np.interp(0.5, LEVELS, q)
    # horizons not yet seen: the longest seen horizon's weights; the council spread grows like a
    # random walk's (sqrt h), as the baselines' does
    for m in range(len(MEASURES)):
        seen = np.flatnonzero(have[:, m])
        for h in range(1, k_h + 1):
            if have[h - 1, m] or not len(seen):
                continue
            ref = seen[seen < h - 1]
            ref_h = int(ref[-1]) if len(ref) else int(seen[0])
            weights[h - 1, m] = weights[ref_h, m]
            local[h - 1, m] = local[ref_h, m] * np.sqrt(h / (ref_h + 1))
    prior_n = cfg["national_prior_weight"]
    sd_g = england_growth_sd(actuals)
    nat_sd = np.zeros((k_h, len(MEASURES)))
    for h in range(1, k_h + 1):
        rw = sd_g**2 * float(sum(j * j for j in range(1, h + 1)))
        for m in range(len(MEASURES)):
            sq = nat_sq.get((h, m), [])
            nat_sd[h - 1, m] = np.sqrt((sum(sq) + prior_n * rw) / (len(sq) + prior_n))
    nat_sd = np.maximum.accumulate(nat_sd, axis=0)
    return Calibration(origin, weights, local, nat_sd, n_train, nat_err)


def national_path(seed: int, draws: int, sd: np.ndarray) -> np.ndarray:
    """England's shared log error path (D, H), or (D, H, M) for ``sd`` (H, M): independent
    Gaussian increments whose cumulative variance at h is ``sd[h-1]^2``; drawn in antithetic
    pairs from the seed alone. The measures share one standard path, each scaled by its own
    increments (a year in which England's plans outgrow the forecast moves every measure the
    same way, by that measure's own amount)."""
    sd2 = np.asarray(sd, dtype=float) ** 2
    inc = np.sqrt(np.diff(np.concatenate([np.zeros((1,) + sd2.shape[1:]), sd2]), axis=0).clip(0, None))
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1]))
    n_h = len(sd2)
    half = rng.standard_normal((draws // 2, n_h))
    z = np.concatenate([half, -half] + ([rng.standard_normal((1, n_h))] if draws % 2 else []))
    if inc.ndim == 2:
        return np.cumsum(z[:, :, None] * inc[None], axis=1)
    return np.cumsum(z * inc[None, :], axis=1)


def _ranks(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mid-ranks in (0, 1) along axis 0, ties broken at random (counts are whole numbers)."""
    d = x.shape[0]
    jitter = rng.uniform(0, 0.5, size=x.shape)
    order = np.argsort(np.argsort(x + jitter, axis=0), axis=0)
    return (order + 0.5) / d


def apply(
    cal: Calibration,
    points: OriginPoints,
    cohort_draws: Mapping[str, np.ndarray],
    *,
    horizon: int,
    seed: int,
    la_codes: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """The published draws (D, H+1, M) per council: combined point x England's path x the
    council's remainder (cohort draws mapped by rank), reconciled so groups and ages add up."""
    codes = [c for c in (la_codes or points.la_codes) if c in cohort_draws and c in points.la_codes]
    if not codes:
        return {}
    d = next(iter(cohort_draws.values())).shape[0]
    k_h = cal.weights.shape[0]
    hz = np.minimum(np.arange(1, horizon + 1), k_h) - 1
    extra = np.arange(1, horizon + 1) / (hz + 1)  # beyond the learned horizons: spread grows like a random walk's
    nat_sd = cal.national_sd[hz] * np.sqrt(extra)[:, None]
    nat = national_path(seed, d, nat_sd)  # (D, H, M)
    out: dict[str, np.ndarray] = {}
    for c in codes:
        i = points.la_codes.index(c)
        raw = cohort_draws[c]
        pts = points.points[i]  # (K, Hp, M)
        hp = pts.shape[1]
        pt = np.stack([pts[:, min(h, hp) - 1, :] for h in range(1, horizon + 1)], axis=1)  # (K, H, M)
        # beyond the points' horizon, continue each component's last yearly growth
        if horizon > hp and hp >= 1:
            base = pts[:, hp - 1, :]
            prev = pts[:, hp - 2, :] if hp >= 2 else points.published[i][None, :]
            with np.errstate(divide="ignore", invalid="ignore"):
                g = np.where((prev > 0) & (base > 0), np.log(base / np.where(prev > 0, prev, 1.0)), 0.0)
            for h in range(hp + 1, horizon + 1):
                pt[:, h - 1, :] = base * np.exp(g * (h - hp))
        w = cal.weights[hz]  # (H, M, K)
        point = combine(pt.transpose(1, 2, 0), w)  # (H, M)
        cohort_med = np.median(raw[:, 1 : horizon + 1], axis=0)
        point = np.where(np.isfinite(point), point, cohort_med)
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(c.encode()), 2]))
        # a random reordering of this council's draws: its pattern across years and measures is
        # kept, while the only thing shared between councils is England's path
        perm = rng.permutation(d)
        u = _ranks(raw[perm, 1 : horizon + 1], rng)  # (D, H, M)
        q = cal.local_quantiles[hz] * np.sqrt(extra)[:, None, None]  # (H, M, L)
        local = np.empty_like(u)
        for h in range(horizon):
            for m in range(len(MEASURES)):
                local[:, h, m] = np.interp(u[:, h, m], LEVELS, q[h, m])
        y = reconcile_keeping_spreads(np.log1p(np.clip(point, 0, None))[None] + nat, local)
        full = np.empty((d, horizon + 1, len(MEASURES)))
        full[:, 0] = raw[perm, 0]
        full[:, 1:] = y
        out[c] = full
    return out


def _share_gap(y: np.ndarray, parent: int, idx: np.ndarray, var: np.ndarray) -> None:
    """In place: make ``y[..., idx]`` add up to ``y[..., parent]`` in every draw, the gap shared in
    proportion to ``var[..., idx]`` (equal shares where none varies). A part pushed below 0 is set
    to 0 and the others scaled to the parent in proportion to their size."""
    v = var[..., idx]
    sv = v.sum(-1, keepdims=True)
    share = np.where(sv > 0, v / np.where(sv > 0, sv, 1.0), 1.0 / len(idx))
    gap = y[..., parent] - y[..., idx].sum(-1)
    parts = np.clip(y[..., idx] + share * gap[..., None], 0, None)
    ps = parts.sum(-1, keepdims=True)
    y[..., idx] = np.where(ps > 0, parts * (y[..., parent][..., None] / np.where(ps > 0, ps, 1.0)), 0.0)


def _width(y: np.ndarray) -> np.ndarray:
    """10th-90th percentile range of log(1 + draws) over the draws (axis 0)."""
    lo, hi = np.quantile(np.log1p(y), [0.1, 0.9], axis=0)
    return np.asarray(hi - lo)


def reconcile_keeping_spreads(centre: np.ndarray, local: np.ndarray, iterations: int | None = None) -> np.ndarray:
    """Reconciled draws (D, H, M) of ``exp(centre + local) - 1`` (log(1 + plans); ``centre`` the
    point and England's path, ``local`` the council's remainder) whose parts keep, as nearly as
    adding up allows, the spread each was calibrated to.

    :func:`reconcile` alone widens the parts: the gap it shares out is large (the parts' draws,
    coupled as in the cohort model's, sum to a spread two to three times the total's) and the
    part with the largest variance takes most of it (mainstream's 10th-90th range 10-17%
    wider, median council). So each part's remainder is scaled, and the draws reconciled again,
    moving each part's reconciled 10th-90th range towards that of its calibrated draws (half the
    log ratio a step: a full step overshoots and some small parts swing back and forth). The
    total is never scaled: reconciliation does not move it. ``iterations``: the method's
    ``spread_matching_iterations`` (the ensemble.yaml note gives how near the ranges come)."""
    n = int(method()["spread_matching_iterations"]) if iterations is None else iterations
    calibrated = np.clip(np.expm1(centre + local), 0, None)
    target = _width(calibrated)
    scale = np.ones(local.shape[1:])
    y = reconcile(calibrated)
    for _ in range(n):
        got = _width(y)
        ok = (got > 0) & (target > 0)
        scale = scale * np.sqrt(np.where(ok, target / np.where(ok, got, 1.0), 1.0))  # half a step (in log)
        scale[:, TOTAL] = 1.0
        y = reconcile(np.clip(np.expm1(centre + local * scale[None]), 0, None))
    return y


def reconcile(y: np.ndarray) -> np.ndarray:
    """Make each draw's placement groups and age bands add up to its total. ``y`` (D, H, M).

    The total is held (it is forecast and calibrated on its own, from its own past errors); in
    each draw the gap between it and the sum of its parts is shared among the parts in
    proportion to their variances over the draws (weighted least squares with the total fixed;
    cf. the 'WLS, variance scaling' reconciliation of Wickramasuriya, Athanasopoulos & Hyndman
    2019, which would move the total too: with errors that move together, as they do here
    through England's path, the sum of the parts is less informative than their variances
    suggest). Each variance is measured robustly, from the 10th-90th percentile range, so a long
    tail of a few draws does not make a small setting absorb every gap. A steady series moves
    little and a volatile one absorbs most.

    The placements are a two-level tree, as they are published: the total is split into
    mainstream, resourced provision, all special schools, AP/PRU, post-16 FE and other, and all
    special schools into state-funded and independent. All special schools is itself forecast
    and calibrated, so it is reconciled as a part of the total and then split, rather than
    being remade as the sum of its two parts: that sum, with the two coupled as in the cohort
    model's draws, was about a quarter wider (10th-90th percentile range, median council) than
    the calibrated band of all special schools (a child placed in an independent school is
    one fewer in a state special school; the draws did not know that). The age bands are one
    level under the total."""
    y = y.copy()
    q10, q90 = np.quantile(y, [0.1, 0.9], axis=0, keepdims=True)
    var = ((q90 - q10) / 2.5631) ** 2  # (1, H, M): robust variance, ((p90 - p10) / 2.563)^2
    _share_gap(y, TOTAL, TOP_IDX, var)
    _share_gap(y, SPECIAL_IDX, SPECIAL_PARTS, var)
    _share_gap(y, TOTAL, BAND_IDX, var)
    return y

"""Rolling-origin backtests: fit at each origin on what was published then, score against outcomes.

For an origin January ``T`` every model sees only caseloads to January T, flows to calendar
T-1 and population estimates to mid T-2 (see :mod:`sendcast.model.history`), forecasts
January T+1 .. T+H, and is scored against the published values (the store's latest release).

Scores per forecast (one council, measure, origin, horizon, model): the error and absolute
percentage error of the median, whether the outcome fell in the 50/80/90% intervals, the
80% interval's width, MASE's scaled error (absolute error over the mean absolute one-year
change in the history to the origin; Hyndman & Koehler 2006) and the CRPS of the draws
(Gneiting & Raftery 2007, computed from the sorted sample).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from sendcast.evaluate.calibration import coverage_if_calibrated
from sendcast.evaluate.models import BASELINES, Forecaster, StockFlow
from sendcast.model.ensemble import Calibration, OriginPoints, apply, history_measures, learn, origin_points
from sendcast.model.forecast import ENGLAND, MEASURES
from sendcast.model.history import CouncilHistory, histories_from_tables
from sendcast.model.prequential import LEARN_HORIZON, PAST_DRAWS

SCORE_COLUMNS = [
    "model",
    "origin",
    "horizon",
    "year",
    "la_code",
    "la_name",
    "measure",
    "actual",
    "mean",
    "p5",
    "p10",
    "p25",
    "p50",
    "p75",
    "p90",
    "p95",
    "error",
    "ape",
    "in50",
    "in80",
    "in90",
    "width80",
    "scaled_error",
    "crps",
]


def crps_from_draws(draws: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """CRPS of a sample (axis 0) against outcomes: E|X-y| - 0.5 E|X-X'|, the latter from the
    sorted sample as (2/D^2) sum_i (2i - D - 1) x_(i)."""
    d = draws.shape[0]
    x = np.sort(draws, axis=0)
    term1 = np.mean(np.abs(x - actual[None, ...]), axis=0)
    i = np.arange(1, d + 1).reshape((d,) + (1,) * (x.ndim - 1))
    term2 = (2.0 / d**2) * np.sum((2 * i - d - 1) * x, axis=0)
    return term1 - 0.5 * term2


QUANTILE_LEVELS = (0.05, 0.10, 0.25, 0.5, 0.75, 0.90, 0.95)  # p5 p10 p25 p50 p75 p90 p95


def score(
    model: str,
    origin: int,
    draws: dict[str, np.ndarray],
    histories: dict[str, CouncilHistory],
    actuals: dict[str, np.ndarray],
    actual_years: np.ndarray,
    horizons: Sequence[int],
    measures: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Score one model's draws at one origin against published outcomes.

    ``actuals[la_code]`` is the full published (Y, M) history on ``actual_years``. One row per
    council (in the order of ``draws``), measure and horizon with a published outcome and finite
    draws. Each council's forecasts are scored at once (quantiles, means and CRPS over the
    draws of every measure and horizon together, each draw axis contiguous, so every figure is
    the one the per-forecast computation gives: ``tests/evaluate/test_score_vectorised.py``).
    """
    mids = np.array([MEASURES.index(m) for m in (measures or MEASURES)], dtype=int)
    years = np.asarray(actual_years)
    frames: list[dict[str, np.ndarray]] = []
    for code, arr in draws.items():
        if code not in actuals or code not in histories:
            continue
        hs = np.array([h for h in horizons if h < arr.shape[1] and origin + h in years], dtype=int)
        if not len(hs) or not len(mids):
            continue
        hist = history_measures(histories[code])
        with np.errstate(invalid="ignore"):
            diffs = np.abs(np.diff(hist[:, mids], axis=0))  # (Y-1, M')
        fin = np.isfinite(diffs)
        n_fin = fin.sum(0)
        scale = np.array([diffs[fin[:, j], j].mean() if n_fin[j] else np.nan for j in range(len(mids))])
        a = actuals[code][np.searchsorted(years, origin + hs)][:, mids]  # (H', M')
        # (M', H', D): measure-major then horizon (the rows' order), the draws contiguous
        x = np.ascontiguousarray(arr[:, hs][:, :, mids].transpose(2, 1, 0))
        ok = np.isfinite(a.T) & np.isfinite(x).all(-1)  # (M', H')
        if not ok.any():
            continue
        sample = x[ok]  # (N, D)
        actual = a.T[ok]
        q = np.quantile(sample, QUANTILE_LEVELS, axis=1)  # (7, N)
        err = q[3] - actual
        sc = np.broadcast_to(scale[:, None], ok.shape)[ok]
        pos = actual > 0
        good_scale = np.isfinite(sc) & (sc > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ape = np.where(pos, np.abs(err) / np.where(pos, actual, 1.0), np.nan)
            width = np.where(pos, (q[5] - q[1]) / np.where(pos, actual, 1.0), np.nan)
            scaled = np.where(good_scale, np.abs(err) / np.where(good_scale, sc, 1.0), np.nan)
        mi, hi = np.nonzero(ok)
        frames.append(
            {
                "model": np.full(len(actual), model, dtype=object),
                "origin": np.full(len(actual), origin, dtype=np.int64),
                "horizon": hs[hi].astype(np.int64),
                "year": (origin + hs[hi]).astype(np.int64),
                "la_code": np.full(len(actual), code, dtype=object),
                "la_name": np.full(len(actual), histories[code].la_name, dtype=object),
                "measure": np.array(MEASURES, dtype=object)[mids[mi]],
                "actual": actual,
                "mean": sample.mean(axis=1).astype(np.float64),
                **{name: q[i] for i, name in enumerate(("p5", "p10", "p25", "p50", "p75", "p90", "p95"))},
                "error": err,
                "ape": ape,
                "in50": (q[2] <= actual) & (actual <= q[4]),
                "in80": (q[1] <= actual) & (actual <= q[5]),
                "in90": (q[0] <= actual) & (actual <= q[6]),
                "width80": width,
                "scaled_error": scaled,
                "crps": _crps_rows(sample, actual),
            }
        )
    if not frames:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    return pd.DataFrame({c: np.concatenate([f[c] for f in frames]) for c in SCORE_COLUMNS}, columns=SCORE_COLUMNS)


def _crps_rows(samples: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """:func:`crps_from_draws` of each row of ``samples`` (N, D) against ``actual`` (N,), the
    draws contiguous in each row, as the per-forecast call sums them."""
    d = samples.shape[1]
    x = np.sort(samples, axis=1)
    term1 = np.mean(np.abs(x - actual[:, None]), axis=1)
    i = np.arange(1, d + 1)[None, :]
    term2 = (2.0 / d**2) * np.sum((2 * i - d - 1) * x, axis=1)
    return term1 - 0.5 * term2


def make_models(names: Sequence[str], neighbours: dict[str, list[str]] | None) -> list[Forecaster]:
    """Instantiate forecasters by name ('cohort' or a baseline name; 'sendcast' is made from
    the cohort model's draws by :mod:`sendcast.model.prequential`, see :func:`backtest`)."""
    out: list[Forecaster] = []
    for n in names:
        if n in ("sendcast", "sendcast_insample"):
            continue
        if n == "cohort":
            out.append(StockFlow(neighbours))
        elif n in BASELINES:
            out.append(BASELINES[n]())
        else:
            raise ValueError(f"unknown model {n!r}; choose from sendcast, cohort, {', '.join(BASELINES)}")
    return out


def _one_origin(
    args: tuple,
) -> tuple[pd.DataFrame, OriginPoints | None, dict[str, np.ndarray], dict, dict[str, float]]:
    """Fit and score the cohort model and baselines at one origin; return the scores, the
    component points and the cohort draws (float32) the published forecast is made from, the
    histories (for scoring it) and the cohort model's settings chosen at the origin."""
    series, population, origin, horizons, names, draws, seed, neighbours, la_codes, measures, score_it, scored = args
    hist_all = histories_from_tables(series, population, origin)
    hist = {c: h for c, h in hist_all.items() if c != ENGLAND[0]}
    frames = []
    points: OriginPoints | None = None
    cohort: dict[str, np.ndarray] = {}
    chosen: dict[str, float] = {}
    need_cohort = "cohort" in names or "sendcast" in names or "sendcast_insample" in names
    score_cohort = "cohort" in names
    names = tuple(names) + (("cohort",) if need_cohort and not score_cohort and score_it else ())
    if score_it:
        actuals, actual_years = scored if scored is not None else _actuals(series, population)
        for model in make_models(names, neighbours):
            model.fit(hist)
            d = model.forecast(max(*horizons, LEARN_HORIZON) if model.name == "cohort" else max(horizons), draws, seed)
            if isinstance(model, StockFlow):
                cohort, chosen = d, model.settings
            if model.name == "cohort" and not score_cohort:
                continue
            if la_codes:
                d = {c: v for c, v in d.items() if c in la_codes}
            frames.append(score(model.name, origin, d, hist, actuals, actual_years, horizons, measures))
    if need_cohort:
        if not cohort:
            sf = StockFlow(neighbours)
            cohort = sf.run(hist, LEARN_HORIZON, draws if score_it else min(draws, PAST_DRAWS), seed)
            chosen = sf.settings
        points = origin_points(hist, cohort, LEARN_HORIZON)
    kept = {c: v.astype(np.float32) for c, v in cohort.items()} if score_it else {}
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SCORE_COLUMNS)
    return out, points, kept, hist_all if score_it else {}, chosen


def _actuals(series: pd.DataFrame, population: pd.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray]:
    last = int(series.loc[series["period_type"] == "january", "year"].max())
    full = histories_from_tables(series, population, last)
    actual_years = np.arange(int(next(iter(full.values())).years[0]), last + 1) if full else np.array([])
    return {c: history_measures(h) for c, h in full.items()}, actual_years


def _published(
    origin: int,
    cal: Calibration,
    points: OriginPoints,
    cohort: dict[str, np.ndarray],
    horizon: int,
    seed: int,
) -> dict[str, np.ndarray]:
    """The published forecast's draws at ``origin`` under calibration ``cal``, with England
    (E92000001) as the draw-by-draw sum of councils."""
    if int(cal.n_train.sum()) == 0:  # nothing to learn from yet: the cohort model's own draws
        draws = {c: v.astype(float)[:, : horizon + 1] for c, v in cohort.items()}
    else:
        draws = apply(cal, points, cohort, horizon=horizon, seed=seed)
    if len(draws) > 1:
        draws[ENGLAND[0]] = np.sum(list(draws.values()), axis=0)
    return draws


def backtest(
    series: pd.DataFrame,
    population: pd.DataFrame,
    *,
    origins: Sequence[int],
    horizons: Sequence[int] = (1, 2, 3, 4, 5),
    models: Sequence[str] = ("sendcast", "cohort", "last_value", "drift", "avg_growth_3y", "pooled_growth", "auto_ets"),
    draws: int = 1000,
    seed: int = 20240101,
    neighbours: dict[str, list[str]] | None = None,
    la_codes: Sequence[str] | None = None,
    measures: Sequence[str] | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    in_sample: bool = False,
    keep: dict | None = None,
) -> pd.DataFrame:
    """Run a rolling-origin backtest; return one scored row per forecast (see SCORE_COLUMNS).

    All councils are always fitted (the model pools across them); ``la_codes`` only limits
    which are scored. Origins run in parallel over ``workers`` processes. ``sendcast`` is the
    published forecast, made at each origin from the cohort model's draws with weights and
    spreads learned only on earlier origins' outcomes (prequential): the cohort model is also
    run, with fewer draws and unscored, at the origins before the first requested one that the
    method learns from. ``in_sample`` adds ``sendcast_insample``: the same forecasts calibrated
    on every origin's outcomes (what choosing settings with hindsight would score). England's
    forecast (the sum of councils) is scored as la_code E92000001. ``keep``: a dict that receives
    the component points (``points``), the calibrations (``calibrations``), the cohort model's
    settings chosen at each origin (``settings``: origin -> name -> value) and, at the origins
    whose bands were learned from earlier ones, the coverage a correctly calibrated forecast
    would show (``null_coverage``: :func:`sendcast.evaluate.calibration.coverage_if_calibrated`).
    """
    wanted = sorted(set(origins))
    want_pub = "sendcast" in models or in_sample
    jan_years = series.loc[series["period_type"] == "january", "year"]
    first = int(jan_years.min()) + 4 if len(jan_years) else min(wanted)
    learn_only = [o for o in range(first, min(wanted)) if want_pub]
    all_origins = learn_only + wanted
    # the published outcomes every origin is scored against: made once, not once per origin
    outcomes = _actuals(series, population)
    jobs = [
        (
            series,
            population,
            o,
            tuple(horizons),
            tuple(models),
            draws,
            seed,
            neighbours,
            la_codes,
            measures,
            o in wanted,
            outcomes,
        )
        for o in all_origins
    ]
    frames: list[pd.DataFrame] = []
    past: dict[int, OriginPoints] = {}
    stash: dict[int, tuple[dict[str, CouncilHistory], dict[str, np.ndarray]]] = {}
    cals: dict[tuple[str, int], Calibration] = {}
    settings: dict[int, dict[str, float]] = {}
    nulls: list[pd.DataFrame] = []
    actuals, actual_years = outcomes if want_pub else ({}, np.array([]))
    hmax = max(horizons)

    def take(o: int, result: tuple) -> None:
        sc, pts, cohort, hist_all, chosen = result
        frames.append(sc)
        if chosen:
            settings[o] = chosen
        if pts is not None:
            past[o] = pts
        if o in wanted and want_pub and "sendcast" in models:
            cal = learn(o, [past[p] for p in sorted(past) if p < o], actuals, actual_years, hmax)
            cals[("sendcast", o)] = cal
            d = _published(o, cal, past[o], cohort, hmax, seed)
            if la_codes:
                d = {c: v for c, v in d.items() if c in la_codes}
            sc_pub = score("sendcast", o, d, hist_all, actuals, actual_years, horizons, measures)
            frames.append(sc_pub)
            if int(cal.n_train.sum()) > 0:  # bands learned from earlier origins: what a right band would hold
                nulls.append(coverage_if_calibrated(d, sc_pub, origin=o, seed=seed))
        if o in wanted and in_sample:
            stash[o] = (hist_all, cohort)
        if progress and o in wanted:
            progress(1)

    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as ex:
            for o, f in zip(all_origins, ex.map(_one_origin, jobs), strict=True):
                take(o, f)
    else:
        for o, j in zip(all_origins, jobs, strict=True):
            take(o, _one_origin(j))
    if in_sample and stash:
        last = int(actual_years[-1]) if len(actual_years) else max(wanted) + 1
        cal_in = learn(last, [past[p] for p in sorted(past)], actuals, actual_years, hmax)
        for o, (hist_all, cohort) in sorted(stash.items()):
            cals[("sendcast_insample", o)] = cal_in
            d = _published(o, cal_in, past[o], cohort, hmax, seed)
            if la_codes:
                d = {c: v for c, v in d.items() if c in la_codes}
            frames.append(score("sendcast_insample", o, d, hist_all, actuals, actual_years, horizons, measures))
    if keep is not None:
        keep["points"] = past
        keep["calibrations"] = cals
        keep["settings"] = settings
        keep["null_coverage"] = pd.concat(nulls, ignore_index=True) if nulls else pd.DataFrame()
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SCORE_COLUMNS)


def metrics(scores: pd.DataFrame, by: Sequence[str] = ("model", "measure", "horizon")) -> pd.DataFrame:
    """Summary metrics per group: MdAPE, mean APE, P90 APE, bias, MASE, coverage, width, CRPS."""
    g = scores.groupby(list(by))
    out = g.agg(
        n=("ape", "size"),
        mdape=("ape", "median"),
        mape=("ape", "mean"),
        p90_ape=("ape", lambda s: float(np.nanquantile(s, 0.9)) if s.notna().any() else np.nan),
        bias=("error", "mean"),
        bias_pct=("error", lambda s: np.nan),
        mase=("scaled_error", "mean"),
        coverage50=("in50", "mean"),
        coverage80=("in80", "mean"),
        coverage90=("in90", "mean"),
        width80=("width80", "median"),
        crps=("crps", "mean"),
    ).reset_index()
    # percentage bias over outcomes above zero (a council with no plans in a group has no %)
    sp = (scores["error"] / scores["actual"]).where(scores["actual"] > 0)
    pct = scores.assign(_sp=sp).groupby(list(by))["_sp"].mean()
    out["bias_pct"] = pct.reindex(pd.MultiIndex.from_frame(out[list(by)]) if len(by) > 1 else out[by[0]]).to_numpy()
    return out

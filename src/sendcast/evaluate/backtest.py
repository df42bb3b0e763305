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

from sendcast.evaluate.models import BASELINES, Forecaster, StockFlow, history_measures
from sendcast.model.forecast import MEASURES
from sendcast.model.history import CouncilHistory, histories_from_tables

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

    ``actuals[la_code]`` is the full published (Y, M) history on ``actual_years``.
    """
    rows: list[dict[str, object]] = []
    mids = [MEASURES.index(m) for m in (measures or MEASURES)]
    for code, arr in draws.items():
        if code not in actuals or code not in histories:
            continue
        hist = history_measures(histories[code])
        for m in mids:
            past = hist[:, m]
            diffs = np.abs(np.diff(past))
            diffs = diffs[np.isfinite(diffs)]
            scale = float(diffs.mean()) if len(diffs) else np.nan
            for h in horizons:
                year = origin + h
                if h >= arr.shape[1] or year not in actual_years:
                    continue
                a = actuals[code][int(np.searchsorted(actual_years, year)), m]
                sample = arr[:, h, m]
                if not np.isfinite(a) or not np.isfinite(sample).all():
                    continue
                q = np.quantile(sample, [0.05, 0.10, 0.25, 0.5, 0.75, 0.90, 0.95])
                err = q[3] - a
                rows.append(
                    {
                        "model": model,
                        "origin": origin,
                        "horizon": h,
                        "year": year,
                        "la_code": code,
                        "la_name": histories[code].la_name,
                        "measure": MEASURES[m],
                        "actual": a,
                        "mean": float(sample.mean()),
                        "p5": q[0],
                        "p10": q[1],
                        "p25": q[2],
                        "p50": q[3],
                        "p75": q[4],
                        "p90": q[5],
                        "p95": q[6],
                        "error": err,
                        "ape": abs(err) / a if a > 0 else np.nan,
                        "in50": bool(q[2] <= a <= q[4]),
                        "in80": bool(q[1] <= a <= q[5]),
                        "in90": bool(q[0] <= a <= q[6]),
                        "width80": (q[5] - q[1]) / a if a > 0 else np.nan,
                        "scaled_error": abs(err) / scale if scale and np.isfinite(scale) and scale > 0 else np.nan,
                        "crps": float(crps_from_draws(sample[:, None], np.array([a]))[0]),
                    }
                )
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def make_models(names: Sequence[str], neighbours: dict[str, list[str]] | None) -> list[Forecaster]:
    """Instantiate forecasters by name ('sendcast' or a baseline name)."""
    out: list[Forecaster] = []
    for n in names:
        if n == "sendcast":
            out.append(StockFlow(neighbours))
        elif n in BASELINES:
            out.append(BASELINES[n]())
        else:
            raise ValueError(f"unknown model {n!r}; choose from sendcast, {', '.join(BASELINES)}")
    return out


def _one_origin(args: tuple) -> pd.DataFrame:
    series, population, origin, horizons, names, draws, seed, neighbours, la_codes, measures = args
    hist = histories_from_tables(series, population, origin)
    last = int(series.loc[series["period_type"] == "january", "year"].max())
    full = histories_from_tables(series, population, last)
    actual_years = np.arange(int(next(iter(full.values())).years[0]), last + 1) if full else np.array([])
    actuals = {c: history_measures(h) for c, h in full.items()}
    frames = []
    for model in make_models(names, neighbours):
        model.fit(hist)
        d = model.forecast(max(horizons), draws, seed)
        if la_codes:
            d = {c: v for c, v in d.items() if c in la_codes}
        frames.append(score(model.name, origin, d, hist, actuals, actual_years, horizons, measures))
    return pd.concat(frames, ignore_index=True)


def backtest(
    series: pd.DataFrame,
    population: pd.DataFrame,
    *,
    origins: Sequence[int],
    horizons: Sequence[int] = (1, 2, 3, 4, 5),
    models: Sequence[str] = ("sendcast", "last_value", "drift", "avg_growth_3y", "pooled_growth", "auto_ets"),
    draws: int = 1000,
    seed: int = 20240101,
    neighbours: dict[str, list[str]] | None = None,
    la_codes: Sequence[str] | None = None,
    measures: Sequence[str] | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Run a rolling-origin backtest; return one scored row per forecast (see SCORE_COLUMNS).

    All councils are always fitted (the model pools across them); ``la_codes`` only limits
    which are scored. Origins run in parallel over ``workers`` processes.
    """
    jobs = [
        (series, population, o, tuple(horizons), tuple(models), draws, seed, neighbours, la_codes, measures)
        for o in origins
    ]
    frames: list[pd.DataFrame] = []
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as ex:
            for f in ex.map(_one_origin, jobs):
                frames.append(f)
                if progress:
                    progress(1)
    else:
        for j in jobs:
            frames.append(_one_origin(j))
            if progress:
                progress(1)
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

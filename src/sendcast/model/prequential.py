"""Prequential forecasts: the cohort model's past forecasts, cached, and the published forecast.

A forecast from January T needs what the method learned from every earlier origin (see
:mod:`sendcast.model.ensemble`): the component points made at origins ``first_origin .. T-1``.
They depend only on the published data and the model, so they are computed once per origin and
cached: in the package (``model/results/past_points.parquet``, written by ``sendcast backtest
--save-accuracy``) and, when the data or the model differ from those it was made with, in the
user's cache folder (``$XDG_CACHE_HOME/sendcast``). The fingerprint that decides is a hash of
the input tables and of the model's parameter files.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sendcast.model.ensemble import (
    COMPONENTS,
    Calibration,
    OriginPoints,
    apply,
    history_measures,
    learn,
    method,
    origin_points,
)
from sendcast.model.forecast import ENGLAND, SUMMARY_COLUMNS, ForecastResult, placement_table, run_forecast, summarise
from sendcast.model.history import CouncilHistory, histories_from_tables
from sendcast.model.structure import PARAM_DIR, load_parameter

LEARN_HORIZON = 5  # past forecasts are made (and learned from) up to five years ahead
PAST_DRAWS = 200  # draws behind a cached past forecast's cohort median
PAST_SEED = 20240101
SHIPPED = Path(__file__).resolve().parent / "results" / "past_points.parquet"


def fingerprint(series: pd.DataFrame, population: pd.DataFrame) -> str:
    """Hash of the input tables and the model's parameter files (what past points depend on:
    every file but ``ensemble.yaml``, whose constants act on the points, not in them, save the
    growth rules' constants; and the list of components stored)."""
    h = hashlib.sha256()
    for df in (series, population):
        h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    for p in sorted(PARAM_DIR.glob("*.yaml")):
        if p.stem != "ensemble":  # the method's constants act after the points, except the rules':
            # what the model reads (values, candidates), not the notes: a corrected note keeps the cache
            data = load_parameter(p.stem)
            used = {k: data[k] for k in ("values", "select") if k in data}
            h.update(p.stem.encode() + json.dumps(used, sort_keys=True, default=str).encode())
    cfg = method()
    h.update(repr([cfg["pooled_growth_own_share"], cfg["indicator_huber_k"], cfg["indicator_min_rows"]]).encode())
    h.update(repr(COMPONENTS).encode())  # the components stored
    return h.hexdigest()[:16]


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sendcast"


def _read(path: Path, fp: str) -> dict[int, OriginPoints]:
    meta = path.with_suffix(".json")
    if not (path.is_file() and meta.is_file()):
        return {}
    try:
        if json.loads(meta.read_text()).get("fingerprint") != fp:
            return {}
        df = pd.read_parquet(path)
    except (OSError, ValueError):
        return {}
    return {int(str(o)): OriginPoints.from_frame(g) for o, g in df.groupby("origin")}


def write_points(points: Mapping[int, OriginPoints], path: Path, fp: str) -> None:
    """Write past points (atomically) with the fingerprint they were made under."""
    from sendcast.outputs.io import write_atomic, write_frame

    path.parent.mkdir(parents=True, exist_ok=True)
    df = pd.concat([p.to_frame() for _, p in sorted(points.items())], ignore_index=True)
    num = [c for c in df.columns if df[c].dtype.kind == "f"]
    df[num] = df[num].astype("float32")
    write_frame(df, path, "parquet")
    write_atomic(path.with_suffix(".json"), json.dumps({"fingerprint": fp, "origins": sorted(points)}))


def cohort_points(
    histories: Mapping[str, CouncilHistory],
    *,
    neighbours: dict[str, list[str]] | None,
    draws: int = PAST_DRAWS,
    seed: int = PAST_SEED,
) -> tuple[OriginPoints, dict[str, np.ndarray]]:
    """Run the cohort model at the histories' origin; return its component points and draws."""
    res = run_forecast(
        dict(histories),
        horizon=LEARN_HORIZON,
        draws=draws,
        seed=seed,
        neighbours=neighbours,
        include_england=False,
        keep_draws=True,
        keep_placements=False,
    )
    return origin_points(histories, res.draw_values, LEARN_HORIZON), res.draw_values


def past_points(
    series: pd.DataFrame,
    population: pd.DataFrame,
    origins: Sequence[int],
    *,
    neighbours: dict[str, list[str]] | None,
    current: set[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[int, OriginPoints]:
    """Component points at each of ``origins``: from the shipped or user cache when made on the
    same data and model, else computed (and cached in the user's cache folder)."""
    fp = fingerprint(series, population)
    have = _read(SHIPPED, fp)
    user = cache_dir() / f"past_points-{fp}.parquet"
    if not set(origins) <= set(have):
        have.update({o: p for o, p in _read(user, fp).items() if o not in have})
    missing = [o for o in origins if o not in have]
    for i, o in enumerate(missing):
        h = histories_from_tables(series, population, o)
        if current is not None:
            h = {c: v for c, v in h.items() if c in current}
        have[o], _ = cohort_points(h, neighbours=neighbours)
        if progress:
            progress(i + 1, len(missing))
    if missing:
        try:
            write_points(have, user, fp)
        except OSError:
            pass  # a read-only home: the points are recomputed next time
    return {o: have[o] for o in origins}


def actuals_of(histories: Mapping[str, CouncilHistory]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Published measures per council (la_code -> (Y, M)) and their years."""
    actuals = {c: history_measures(h) for c, h in histories.items()}
    years = next(iter(histories.values())).years if histories else np.array([], dtype=int)
    return actuals, np.asarray(years)


def calibrate(
    origin: int, past: Mapping[int, OriginPoints], histories: Mapping[str, CouncilHistory], horizon: int
) -> Calibration:
    """What the method learns at ``origin`` from the past origins (outcomes to January origin)."""
    actuals, years = actuals_of(histories)
    return learn(origin, [p for o, p in sorted(past.items()) if o < origin], actuals, years, max(horizon, 1))


def published_draws(
    histories: Mapping[str, CouncilHistory],
    cohort_draws: Mapping[str, np.ndarray],
    past: Mapping[int, OriginPoints],
    *,
    horizon: int,
    seed: int,
    la_codes: Sequence[str] | None = None,
    points: OriginPoints | None = None,
    calibration: Calibration | None = None,
) -> tuple[dict[str, np.ndarray], Calibration]:
    """The published forecast's draws (la_code -> (D, H+1, M)) and the calibration behind them
    (``calibration``: that of :func:`calibrate` for these histories, past and horizon, when the
    caller has kept it; it depends on no draw)."""
    origin = int(next(iter(histories.values())).origin)
    pts = points or origin_points(histories, cohort_draws, min(horizon, LEARN_HORIZON))
    cal = calibration or calibrate(origin, past, histories, horizon)
    return apply(cal, pts, cohort_draws, horizon=horizon, seed=seed, la_codes=la_codes), cal


@dataclass
class Publisher:
    """The published forecast's per-council part (:func:`published_draws` with a calibration
    made beforehand), applied by :func:`~sendcast.model.forecast.run_forecast` to the cohort
    draws where they are made: in each worker process of an all-council run instead of in the
    main process after them. A council's published draws depend only on its cohort draws, the
    histories, the calibration and the seed (:func:`~sendcast.model.ensemble.apply` seeds each
    council from the seed and its code, and England's path from the seed alone), so they are
    the same whichever councils a process is given."""

    histories: Mapping[str, CouncilHistory]
    calibration: Calibration
    horizon: int
    seed: int
    la_codes: Sequence[str] | None

    def __call__(self, cohort_draws: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if int(self.calibration.n_train.sum()) == 0:  # nothing to learn from yet: the cohort draws
            return {c: v for c, v in cohort_draws.items() if c != ENGLAND[0]}
        values, _ = published_draws(
            self.histories, cohort_draws, {}, horizon=self.horizon, seed=self.seed, la_codes=self.la_codes,
            calibration=self.calibration,
        )  # fmt: skip
        return values


def publish(
    res: ForecastResult,
    histories: Mapping[str, CouncilHistory],
    past: Mapping[int, OriginPoints],
    *,
    la_codes: Sequence[str] | None,
    include_england: bool,
    keep_draws: bool,
    calibration: Calibration | None = None,
    published: bool = False,
) -> ForecastResult:
    """Turn a cohort-model run (with its draws kept) into the published forecast: the same
    :class:`ForecastResult` shape, summaries and draws from :func:`published_draws`.

    ``published``: ``res`` was run with a :class:`Publisher` of ``calibration``: its draws and
    council summaries are already the published ones (made in the worker processes); they are
    put in the order :func:`published_draws` gives and England added, as without it."""
    names = {c: h.la_name for c, h in histories.items()}
    years = np.arange(res.origin, res.origin + res.horizon + 1)
    if published:
        if calibration is None:
            raise ValueError("published draws need the calibration they were made with")
        cal = calibration
        values = dict(res.draw_values)
        if int(cal.n_train.sum()) > 0:  # in the order of ensemble.apply (the cohort run's otherwise)
            values = {c: values[c] for c in (la_codes or sorted(histories)) if c in values and c in histories}
        made = res.council_summaries
        frames = [
            made[c] if c in made and res.fits[c].la_name == names.get(c, c) else summarise(v, c, names.get(c, c), years)
            for c, v in values.items()
        ]
    else:
        values, cal = published_draws(
            histories, res.draw_values, past, horizon=res.horizon, seed=res.seed, la_codes=la_codes,
            calibration=calibration,
        )  # fmt: skip
        if int(cal.n_train.sum()) == 0:
            values = {c: v for c, v in res.draw_values.items() if c != ENGLAND[0]}  # nothing to learn from yet
        frames = [summarise(v, c, names.get(c, c), years) for c, v in values.items()]
    kept = dict(values) if keep_draws else {}
    if include_england and len(values) > 1:
        england = np.sum(list(values.values()), axis=0)
        frames.append(summarise(england, *ENGLAND, years))
        if keep_draws:
            kept[ENGLAND[0]] = england
    rows = [placement_table(v, c, names.get(c, c), years) for c, v in values.items()] if keep_draws else []
    return ForecastResult(
        origin=res.origin,
        horizon=res.horizon,
        draws=res.draws,
        seed=res.seed,
        summary=pd.concat(frames, ignore_index=True)[SUMMARY_COLUMNS],
        fits=res.fits,
        draw_values=kept,
        placement_draws=pd.concat(rows, ignore_index=True) if rows else None,
        calibration=cal,
    )

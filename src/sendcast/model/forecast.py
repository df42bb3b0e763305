"""Forecast runs: fit every council at an origin, simulate draws, summarise to tidy tables.

The summary has one row per council (and England), January year and measure, with the mean
and the 5th, 10th, 50th, 90th and 95th percentiles of the draws. England is the sum of the
councils draw by draw (so its band reflects the national shocks councils share).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sendcast.model.history import CouncilHistory
from sendcast.model.stockflow import CouncilFit, antithetic_normal, fit_all, simulate_council
from sendcast.model.structure import AGE_BANDS, GROUPS, N_GROUPS

ENGLAND = ("E92000001", "England")
QUANTILES = {"p5": 0.05, "p10": 0.10, "p50": 0.50, "p90": 0.90, "p95": 0.95}
MEASURES: list[str] = ["ehcp_total", *GROUPS, "special_school", *AGE_BANDS]
SUMMARY_COLUMNS = ["la_code", "la_name", "year", "measure", "mean", *QUANTILES]


def measures_from_stock(stock: np.ndarray) -> np.ndarray:
    """(D, T, 26, 7) stock -> (D, T, M) measures in the order of :data:`MEASURES`.

    ``special_school`` is all special schools (state-funded plus independent and
    non-maintained); ``state_special`` and ``independent_special`` are its two parts.
    """
    by_group = stock.sum(axis=2)  # (D, T, 7)
    by_age = stock.sum(axis=3)  # (D, T, 26)
    cols = [by_group.sum(-1)]
    cols += [by_group[..., g] for g in range(N_GROUPS)]
    cols.append(by_group[..., GROUPS.index("state_special")] + by_group[..., GROUPS.index("independent_special")])
    for lo, hi in AGE_BANDS.values():
        cols.append(by_age[..., lo : hi + 1].sum(-1))
    return np.stack(cols, axis=-1).astype(np.float64)


def summarise(values: np.ndarray, la_code: str, la_name: str, years: np.ndarray) -> pd.DataFrame:
    """(D, T, M) draws -> tidy summary rows (mean and quantiles over draws)."""
    mean = values.mean(0)
    qs = np.quantile(values, list(QUANTILES.values()), axis=0)  # (Q, T, M)
    t_idx, m_idx = np.meshgrid(np.arange(len(years)), np.arange(len(MEASURES)), indexing="ij")
    data = {
        "la_code": la_code,
        "la_name": la_name,
        "year": years[t_idx.ravel()],
        "measure": np.array(MEASURES)[m_idx.ravel()],
        "mean": mean.ravel(),
    }
    for qi, name in enumerate(QUANTILES):
        data[name] = qs[qi].ravel()
    return pd.DataFrame(data)


def placement_table(values: np.ndarray, la_code: str, la_name: str, years: np.ndarray) -> pd.DataFrame:
    """(D, T, M) draws -> long placement draws: la_code, la_name, year, draw, placement, plans."""
    draws, t = values.shape[0], values.shape[1]
    pg = values[:, :, 1 : 1 + N_GROUPS]
    d_idx, t_idx, g_idx = np.meshgrid(np.arange(draws), np.arange(t), np.arange(N_GROUPS), indexing="ij")
    return pd.DataFrame(
        {
            "la_code": la_code,
            "la_name": la_name,
            "year": years[t_idx.ravel()],
            "draw": d_idx.ravel(),
            "placement": np.array(GROUPS)[g_idx.ravel()],
            "plans": pg.ravel(),
        }
    )


def council_rng(seed: int, la_code: str) -> np.random.Generator:
    """A generator for one council that depends only on the seed and the council's code, so
    the same council gets the same draws whichever other councils are run with it."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(la_code.encode())]))


def national_shocks(seed: int, draws: int, horizon: int) -> np.ndarray:
    """Standard-normal yearly shocks shared by every council (D, H)."""
    return antithetic_normal(np.random.default_rng(np.random.SeedSequence([int(seed), 0])), (draws, horizon))


def _workers(requested: int | None, n_targets: int, work_per_council: int) -> int:
    """How many processes to use: as requested, else all cores for big all-council runs."""
    if requested is not None:
        return max(1, min(requested, n_targets))
    if n_targets >= 20 and work_per_council >= 2000:
        return max(1, min(os.cpu_count() or 1, 8, n_targets))
    return 1


def _simulate_chunk(
    job: tuple, progress: Callable[[int, int], None] | None = None
) -> tuple[list[pd.DataFrame], np.ndarray, dict[str, np.ndarray], list[pd.DataFrame], list[str]]:
    """Simulate a list of councils; return summaries, their draw-by-draw sum, kept draws,
    placement draws and the councils the summaries are of. Runs in a worker process for
    all-council forecasts. With a ``publisher`` (see :func:`run_forecast`) the kept draws are
    the publisher's and the summaries are theirs."""
    fits, targets, horizon, draws, seed, keep_draws, levers, keep_placements, summaries, publisher = job
    origin = next(iter(fits.values())).origin
    years = np.arange(origin, origin + horizon + 1)
    shocks = national_shocks(seed, draws, horizon)
    frames: list[pd.DataFrame] = []
    kept: dict[str, np.ndarray] = {}
    total = np.zeros((draws, horizon + 1, len(MEASURES)))
    placement_rows: list[pd.DataFrame] = []
    for i, c in enumerate(targets):
        f = fits[c]
        stock = simulate_council(f, horizon, draws, council_rng(seed, c), shocks, levers=levers)
        vals = measures_from_stock(stock)
        total += vals
        if summaries and publisher is None:
            frames.append(summarise(vals, c, f.la_name, years))
        if keep_draws:
            kept[c] = vals
        if keep_draws and keep_placements and publisher is None:
            placement_rows.append(placement_table(vals, c, f.la_name, years))
        if progress:
            progress(i + 1, len(targets))
    if publisher is None:
        return frames, total, kept, placement_rows, list(targets) if summaries else []
    kept = publisher(kept)
    codes = list(kept) if summaries else []
    frames = [summarise(kept[c], c, fits[c].la_name, years) for c in codes]
    return frames, total, kept, placement_rows, codes


@dataclass
class ForecastResult:
    """A forecast run: summaries, optional draws and the fits behind them."""

    origin: int
    horizon: int
    draws: int
    seed: int
    summary: pd.DataFrame
    fits: dict[str, CouncilFit]
    draw_values: dict[str, np.ndarray] = field(default_factory=dict)  # la_code -> (D, T, M)
    placement_draws: pd.DataFrame | None = None
    calibration: Any = None  # the published forecast's :class:`~sendcast.model.ensemble.Calibration`
    # with a ``publisher``: each council's summary of the publisher's draws (the summary is empty)
    council_summaries: dict[str, pd.DataFrame] = field(default_factory=dict)


def run_forecast(
    histories: dict[str, CouncilHistory],
    *,
    horizon: int,
    draws: int,
    seed: int,
    la_codes: list[str] | None = None,
    neighbours: dict[str, list[str]] | None = None,
    include_england: bool = True,
    keep_draws: bool = False,
    levers: object | None = None,
    progress: Callable[[int, int], None] | None = None,
    fits: dict[str, CouncilFit] | None = None,
    workers: int | None = None,
    keep_placements: bool = True,
    summaries: bool = True,
    publisher: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]] | None = None,
) -> ForecastResult:
    """Fit all councils in ``histories`` (pooling needs them all), simulate ``la_codes``
    (default: all) and return summaries for years origin..origin+horizon.

    England is included (as the draw-by-draw sum) only when every fitted council is simulated.
    ``keep_placements``: with ``keep_draws``, also return the long table of placement draws.
    ``summaries=False`` (with ``keep_draws``, for a caller that makes its own summaries from the
    draws, e.g. the published forecast): no summary rows; ``summary`` is then empty.
    ``publisher`` (with ``keep_draws``, without England; a picklable callable): applied to each
    process's kept cohort draws where they are made (in the worker processes of an all-council
    run), e.g. the published forecast's per-council part (:class:`~sendcast.model.prequential.
    Publisher`); ``draw_values`` are then its draws and ``council_summaries`` their summaries
    (with ``summaries``), and ``summary`` is empty: the caller orders and adds them up.
    """
    if horizon < 1:
        raise ValueError("horizon must be at least 1 year")
    if draws < 1:
        raise ValueError("draws must be at least 1")
    if publisher is not None and (not keep_draws or include_england or levers is not None):
        raise ValueError("a publisher needs keep_draws, no England and no levers")
    fits = fits if fits is not None else fit_all(histories, horizon, neighbours=neighbours)
    if not fits:
        raise ValueError("no council has enough history to fit at this origin")
    targets = [c for c in (la_codes or sorted(fits)) if c in fits]
    origin = next(iter(fits.values())).origin
    years = np.arange(origin, origin + horizon + 1)
    n_workers = _workers(workers, len(targets), draws * horizon)
    if n_workers > 1:
        chunks = [targets[i::n_workers] for i in range(n_workers)]
        common = (horizon, draws, seed, keep_draws, levers, keep_placements, summaries, publisher)
        jobs = [({c: fits[c] for c in ch}, ch, *common) for ch in chunks]
        with ProcessPoolExecutor(max_workers=n_workers) as ex:
            parts = list(ex.map(_simulate_chunk, jobs))
    else:
        job = (fits, targets, horizon, draws, seed, keep_draws, levers, keep_placements, summaries, publisher)
        parts = [_simulate_chunk(job, progress)]
    frames = [f for p in parts for f in p[0]]
    england = np.sum([p[1] for p in parts], axis=0)
    kept = {k: v for p in parts for k, v in p[2].items()}
    placement_rows = [r for p in parts for r in p[3]]
    if progress:
        progress(len(targets), len(targets))
    if publisher is not None:
        return ForecastResult(
            origin=origin,
            horizon=horizon,
            draws=draws,
            seed=seed,
            summary=pd.DataFrame(columns=SUMMARY_COLUMNS),
            fits=fits,
            draw_values=kept,
            council_summaries={c: f for p in parts for c, f in zip(p[4], p[0], strict=True)},
        )
    if include_england and len(targets) == len(fits) and len(targets) > 1:
        if summaries:
            frames.append(summarise(england, *ENGLAND, years))
        if keep_draws:
            kept[ENGLAND[0]] = england
    summary = pd.concat(frames, ignore_index=True)[SUMMARY_COLUMNS] if frames else pd.DataFrame(columns=SUMMARY_COLUMNS)
    return ForecastResult(
        origin=origin,
        horizon=horizon,
        draws=draws,
        seed=seed,
        summary=summary,
        fits=fits,
        draw_values=kept,
        placement_draws=pd.concat(placement_rows, ignore_index=True) if placement_rows else None,
    )

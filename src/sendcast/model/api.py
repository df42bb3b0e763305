"""The forecasting API the CLI, reports and money module call: validated inputs -> tidy tables.

>>> from sendcast.model.api import forecast
>>> result = forecast("Norfolk", horizon=5, draws=1000, seed=1)   # doctest: +SKIP
>>> result.summary.head()                                        # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sendcast.model.forecast import ENGLAND, ForecastResult, run_forecast
from sendcast.model.history import CouncilHistory, histories_from_tables
from sendcast.model.stockflow import CouncilFit, fit_all
from sendcast.store import Store, open_store

MAX_HORIZON = 30
MAX_DRAWS = 100_000
MIN_HISTORY_YEARS = 4
DEFAULT_SEED = 20240101
KEPT_DRAWS = 4  # placement-draw tables kept per store for repeated requests (about 5 MB each at 1000 x 10 years)


class ForecastInputError(ValueError):
    """A forecast request that cannot be run (unknown council, origin outside the data ...)."""


@dataclass(eq=False)
class ModelData:
    """The store tables the model needs, and (``cache``) what has been derived from them in
    this process: histories by origin, fits by (origin, horizon). Tables are read-only."""

    series: pd.DataFrame
    population: pd.DataFrame
    councils: pd.DataFrame
    neighbours: dict[str, list[str]]
    manifest: bytes = b""  # the store's manifest.json (names the disk cache of fits)
    cache: dict[tuple[object, ...], object] = field(default_factory=dict, init=False, repr=False)

    @property
    def first_origin(self) -> int:
        jan = self.series[self.series["period_type"] == "january"]
        return int(jan["year"].min()) + MIN_HISTORY_YEARS

    @property
    def last_origin(self) -> int:
        jan = self.series[(self.series["period_type"] == "january") & (self.series["measure"] == "ehcp_total")]
        return int(jan["year"].max())


def store_fingerprint(store: Store) -> tuple[str, int, int]:
    """(path, modification time, size) of the store's manifest: a rebuilt store (``sendcast data
    build`` rewrites the manifest) is a new key for every in-process cache."""
    try:
        st = (store.path / "manifest.json").stat()
    except OSError:
        return str(store.path), 0, 0
    return str(store.path), st.st_mtime_ns, st.st_size


@lru_cache(maxsize=4)
def _load(path: str, _version: tuple[str, int, int] | None = None) -> ModelData:
    store = Store(Path(path))
    series = store.table("series")
    population = store.table("population")
    councils = store.table("councils")
    neighbours: dict[str, list[str]] = {}
    if "neighbours_current" in store.tables():
        nb = store.table("neighbours_current")
        for code, g in nb.sort_values("rank").groupby("la_code"):
            neighbours[str(code)] = [str(x) for x in g["neighbour_la_code"]]
    try:
        manifest = (Path(path) / "manifest.json").read_bytes()
    except OSError:
        manifest = b""
    return ModelData(series=series, population=population, councils=councils, neighbours=neighbours, manifest=manifest)


def model_data(store: Store | None = None) -> ModelData:
    """Load (and cache) the model's input tables from a store."""
    store = store or open_store()
    return _load(str(store.path), store_fingerprint(store))


def resolve_council(name_or_code: str, data: ModelData) -> tuple[str, str]:
    """(la_code, la_name) for a council name or code; England is accepted too."""
    from sendcast.geography import resolve

    key = name_or_code.strip()
    if key.lower() in {"england", ENGLAND[0].lower()}:
        return ENGLAND
    row = resolve(key, data.councils)
    return str(row["la_code"]), str(row["la_name"])


def check_request(data: ModelData, origin: int | None, horizon: int, draws: int) -> int:
    """Validate a request; return the origin to use. Raises ForecastInputError with one line."""
    if not 1 <= horizon <= MAX_HORIZON:
        raise ForecastInputError(f"horizon must be between 1 and {MAX_HORIZON} years (got {horizon})")
    if not 1 <= draws <= MAX_DRAWS:
        raise ForecastInputError(f"draws must be between 1 and {MAX_DRAWS:,} (got {draws})")
    first, last = data.first_origin, data.last_origin
    if origin is None:
        return last
    if not first <= origin <= last:
        raise ForecastInputError(f"origin {origin} is outside the data: choose a January between {first} and {last}")
    return int(origin)


def load_projection(path: str | Path, store: Store | None = None) -> pd.DataFrame:
    """Read a user-supplied ONS subnational population projection (published CSV layout) and
    return it on current councils: la_code, year, age, population."""
    from sendcast.harmonise.population import user_projection
    from sendcast.ingest.snpp import read_projection

    store = store or open_store()
    data = model_data(store)
    return user_projection(
        read_projection(Path(path)), data.councils, store.table("apportionment"), data.population, file=path
    )


def histories(data: ModelData, origin: int, projection: pd.DataFrame | None = None) -> dict[str, CouncilHistory]:
    """Council histories cut at ``origin`` (no data after it).

    Without a projection they are computed once per origin and kept in ``data.cache`` (the
    same dict is returned again: treat it as read-only)."""
    if projection is not None:
        return _histories(data, origin, projection)
    key = ("histories", int(origin))
    if key not in data.cache:
        data.cache[key] = _on_disk(data, key, lambda: _histories(data, origin, None))
    return data.cache[key]  # type: ignore[return-value]


def _histories(data: ModelData, origin: int, projection: pd.DataFrame | None) -> dict[str, CouncilHistory]:
    current = set(data.councils["la_code"])
    h = histories_from_tables(data.series, data.population, origin, projection=projection)
    return {c: v for c, v in h.items() if c in current}


def council_fits(data: ModelData, origin: int, horizon: int) -> dict[str, CouncilFit]:
    """Every council fitted at ``origin`` for ``horizon`` years
    (:func:`sendcast.model.stockflow.fit_all` on :func:`histories`, with the store's
    neighbours), computed once per (origin, horizon) and kept in ``data.cache``.

    A fit depends only on the store's tables (``data``, itself keyed on the store's manifest),
    the origin, the horizon and the model settings (``forecast_settings.yaml``, read once per
    process by :func:`sendcast.model.stockflow.settings`), so a cached fit is the fit that
    would be recomputed. They are also kept on disk between processes (:func:`_on_disk`, keyed
    on :func:`model_fingerprint`), as are the histories. Treat the returned fits as read-only."""
    key = ("fits", int(origin), int(horizon))
    if key not in data.cache:
        hist = histories(data, origin)
        data.cache[key] = _on_disk(data, key, lambda: fit_all(hist, horizon, neighbours=data.neighbours))
    return data.cache[key]  # type: ignore[return-value]


MODEL_SOURCES = ("history.py", "stockflow.py", "selection.py", "step.py", "structure.py", "api.py")


def model_fingerprint(data: ModelData) -> str:
    """What histories and fits depend on: the store's manifest (its tables' hashes), the
    package version, the model's parameter files and the model's code. A hash of them names
    the disk cache of fits, so a rebuilt store, new settings or changed model code is a new key."""
    key = ("model_fingerprint",)
    if key not in data.cache:
        import sendcast
        from sendcast.model.structure import PARAM_DIR

        h = hashlib.sha256(sendcast.__version__.encode())
        h.update(data.manifest)
        for p in sorted(PARAM_DIR.glob("*.yaml")):
            h.update(p.name.encode() + p.read_bytes())
        here = Path(__file__).resolve().parent
        for name in MODEL_SOURCES:
            h.update((here / name).read_bytes())
        data.cache[key] = h.hexdigest()[:20]
    return str(data.cache[key])


def _on_disk(data: ModelData, key: tuple[object, ...], make: Callable[[], object]) -> object:
    """``make()`` kept in the user's cache folder (``$XDG_CACHE_HOME/sendcast``, never in the
    package) under :func:`model_fingerprint` and ``key``: read back when there, else made and
    written atomically. A store without a manifest, an unreadable file or a read-only cache
    folder just means ``make()`` is called (``SENDCAST_NO_DISK_CACHE=1`` always calls it)."""
    if not data.manifest or os.environ.get("SENDCAST_NO_DISK_CACHE"):
        return make()
    from sendcast.model.prequential import cache_dir

    path = cache_dir() / f"{'-'.join(str(k) for k in key)}-{model_fingerprint(data)}.pkl"
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass
    value = make()
    try:
        from sendcast.outputs.io import write_atomic

        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # noqa: BLE001 - a cache that cannot be written is only slower
        pass
    return value


def forecast(
    council: str | None = None,
    *,
    all_councils: bool = False,
    origin: int | None = None,
    horizon: int = 5,
    draws: int = 1000,
    seed: int = DEFAULT_SEED,
    keep_draws: bool = False,
    levers: object | None = None,
    store: Store | None = None,
    progress: Callable[[int, int], None] | None = None,
    population_projection: str | Path | None = None,
) -> ForecastResult:
    """Forecast one council (by name or code), England, or all councils (plus England).

    Every council is fitted (partial pooling uses them all); only the requested ones are
    simulated. ``population_projection``: an ONS SNPP file (published layout) to use for future
    population instead of sendcast's cohort projection.
    Returns a :class:`~sendcast.model.forecast.ForecastResult` whose ``summary`` has
    columns la_code, la_name, year, measure, mean, p5, p10, p50, p90, p95.
    """
    data = model_data(store)
    origin = check_request(data, origin, horizon, draws)
    projection = load_projection(population_projection, store) if population_projection else None
    hist = histories(data, origin, projection)
    targets: list[str] | None
    if all_councils or council is None:
        targets = None
    else:
        code, _ = resolve_council(council, data)
        targets = None if code == ENGLAND[0] else [code]
        if targets and targets[0] not in hist:
            raise ForecastInputError(f"{council}: not enough published history to forecast from {origin}")
        if projection is not None and targets:
            from sendcast.harmonise.population import projection_covers

            projection_covers(projection, targets, file=str(population_projection))
    if levers is not None:
        # a scenario changes the cohort model's rates: it is run on the cohort model alone
        # (see sendcast.scenarios.compare, which compares scenarios draw by draw)
        res = run_forecast(
            hist,
            horizon=horizon,
            draws=draws,
            seed=seed,
            la_codes=targets,
            neighbours=data.neighbours,
            keep_draws=keep_draws,
            levers=levers,
            progress=progress,
        )
    else:
        # fits depend on the histories: the cached ones only when no projection file changes them
        fits = council_fits(data, origin, horizon) if projection is None else None
        res = published_forecast(data, hist, origin, horizon, draws, seed, targets, keep_draws, progress, fits=fits)
    if council is not None and not all_councils and targets is None:
        res.summary = res.summary[res.summary["la_code"] == ENGLAND[0]].reset_index(drop=True)
    return res


def published_forecast(
    data: ModelData,
    hist: dict[str, CouncilHistory],
    origin: int,
    horizon: int,
    draws: int,
    seed: int,
    targets: list[str] | None,
    keep_draws: bool,
    progress: Callable[[int, int], None] | None = None,
    fits: dict[str, CouncilFit] | None = None,
) -> ForecastResult:
    """The published forecast at ``origin``: the cohort model run for ``targets`` (None: all),
    combined and calibrated on earlier origins (:mod:`sendcast.model.prequential`)."""
    from sendcast.model.prequential import Calibration, Publisher, calibrate, past_points, publish

    # the points the published forecast learns from depend only on the data and the origin:
    # read (or made) once per origin in this process, like the histories and fits
    key = ("past_points", int(origin))
    if key not in data.cache:
        data.cache[key] = past_points(
            data.series,
            data.population,
            list(range(data.first_origin, origin)),
            neighbours=data.neighbours,
            current=set(data.councils["la_code"]),
        )
    past: Any = data.cache[key]
    # what is learned from the past depends on the histories, the origin and the horizon, not on
    # the draws: kept per process for the kept histories of the origin (:func:`histories`);
    # other histories (a projection, a test's own) are calibrated afresh
    calibration: Calibration
    if hist is data.cache.get(("histories", int(origin))):
        cal_key = ("calibration", int(origin), int(horizon))
        if cal_key not in data.cache:
            data.cache[cal_key] = calibrate(int(origin), past, hist, horizon)
        calibration = data.cache[cal_key]  # type: ignore[assignment]
    else:
        calibration = calibrate(int(origin), past, hist, horizon)
    # each council's published draws and summary are made where its cohort draws are (in the
    # worker processes of an all-council run); England is added up here
    res = run_forecast(
        hist,
        horizon=horizon,
        draws=draws,
        seed=seed,
        la_codes=targets,
        neighbours=data.neighbours,
        keep_draws=True,
        include_england=False,
        progress=progress,
        keep_placements=False,
        fits=fits,
        publisher=Publisher(hist, calibration, horizon, seed, targets),
    )
    return publish(
        res, hist, past, la_codes=targets, include_england=targets is None, keep_draws=keep_draws,
        calibration=calibration, published=True,
    )  # fmt: skip


def placement_draws(
    la: str,
    *,
    origin: int | None = None,
    horizon: int = 5,
    draws: int = 1000,
    seed: int = DEFAULT_SEED,
    levers: object | None = None,
    store: Store | None = None,
) -> pd.DataFrame:
    """Simulated plans by placement group for one council: columns la_code, la_name, year,
    draw, placement, plans (year = the January counted; the origin year is the published stock).

    Without levers the draws of the last few requests are kept (by council, origin, horizon,
    draws and seed, in the store's ``ModelData``): the same request again returns a copy of
    the same table instead of simulating again (same seed, same draws)."""
    key: tuple[object, ...] | None = None
    data = model_data(store)
    code, _ = resolve_council(la, data)
    if levers is None and code != ENGLAND[0]:
        key = ("placement_draws", code, check_request(data, origin, horizon, draws), horizon, draws, seed)
        kept = data.cache.get(key)
        if isinstance(kept, pd.DataFrame):
            return kept.copy()
    res = forecast(
        la, origin=origin, horizon=horizon, draws=draws, seed=seed, keep_draws=True, levers=levers, store=store
    )
    if res.placement_draws is None:
        raise ForecastInputError(f"{la}: placement draws are only available for a single council")
    if key is not None:
        old = [k for k in data.cache if k[0] == "placement_draws"]
        for k in old[: max(0, len(old) - KEPT_DRAWS + 1)]:
            del data.cache[k]
        data.cache[key] = res.placement_draws.copy()
    return res.placement_draws


def history_table(data: ModelData, la_code: str) -> pd.DataFrame:
    """Published series for one council (for fan charts beside the forecast)."""
    s = data.series
    return s[(s["la_code"] == la_code)].reset_index(drop=True)


def published_placement_draws(la_code: str, years: list[int], draws: int, store: Store | None = None) -> pd.DataFrame:
    """Published plans by placement group at the given Januarys, repeated for every draw, in
    the shape of :func:`placement_draws` (so a budget can start before the forecast origin,
    e.g. to back-cast a year the council has published its outturn for)."""
    from sendcast.model.structure import GROUPS

    data = model_data(store)
    s = data.series
    rows = s[
        (s["la_code"] == la_code) & (s["period_type"] == "january") & s["year"].isin(years) & s["measure"].isin(GROUPS)
    ]
    if rows.empty:
        return pd.DataFrame(columns=["la_code", "la_name", "year", "draw", "placement", "plans"])
    base = rows.rename(columns={"measure": "placement", "value": "plans"})[
        ["la_code", "la_name", "year", "placement", "plans"]
    ]
    base = base.assign(plans=base["plans"].fillna(0.0)).reset_index(drop=True)
    # every draw a copy of the published rows, draw-major (draw 0's rows, then draw 1's ...)
    reps = base.iloc[np.tile(np.arange(len(base)), draws)].reset_index(drop=True)
    reps["draw"] = np.repeat(np.arange(draws), len(base))
    return reps[["la_code", "la_name", "year", "draw", "placement", "plans"]]

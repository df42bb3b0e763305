"""Benchmark: forecast every council, 1000 draws, 10 years (target < 20 s wall and < 1 GB on 2
cores; throughput at least 0.8 of raw numpy binomial sampling on the cores used).

The throughput is the simulated state-years per second (draws x years x 26 ages x 7 placements
x councils / wall time); as a machine-independent figure it is given as a ratio to raw
``numpy`` binomial sampling of the same number of cells measured in this run, times the
number of cores the forecast used. The machine may be shared, so the CPU seconds of this
process and of its worker processes are recorded beside the wall time, with the wall time the
run would take on idle cores (the parent's CPU plus the workers' CPU shared over the workers).

``--stages``: also time each stage in-process on one core (import, load, histories, fit,
simulate, publish, summarise and write), the breakdown in ``benchmarks/README.md``.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import peak_rss_mb, record

DRAWS, HORIZON, TARGET_S, TARGET_MB, TARGET_RATIO = 1000, 10, 20.0, 1024.0, 0.8


def cpu_seconds() -> tuple[float, float]:
    """(this process, its finished children) user + system CPU seconds."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def raw_binomial_rate(cells: int = 2_000_000) -> tuple[float, float]:
    """Binomial samples per wall second and per CPU second drawn by numpy on one core
    (n ~ 0-60, p ~ 0.03)."""
    rng = np.random.default_rng(0)
    n = rng.integers(0, 60, size=cells)
    p = np.full(cells, 0.03)
    t, c = time.perf_counter(), time.process_time()
    rng.binomial(n, p)
    return cells / (time.perf_counter() - t), cells / (time.process_time() - c)


def stages() -> dict[str, dict[str, float]]:
    """CPU and wall seconds of each stage of ``forecast --all`` run in this process on one core."""
    out: dict[str, dict[str, float]] = {}

    def timed(name: str, fn):  # type: ignore[no-untyped-def]
        w, c = time.perf_counter(), time.process_time()
        r = fn()
        out[name] = {"wall_s": round(time.perf_counter() - w, 2), "cpu_s": round(time.process_time() - c, 2)}
        return r

    timed("import", lambda: __import__("sendcast.model.api"))
    from sendcast.model import api
    from sendcast.model.forecast import run_forecast
    from sendcast.model.prequential import past_points, publish
    from sendcast.outputs import forecast_report

    data = timed("load", api.model_data)
    origin = api.check_request(data, None, HORIZON, DRAWS)
    hist = timed("histories", lambda: api._histories(data, origin, None))
    from sendcast.model.stockflow import fit_all

    fits = timed("fit", lambda: fit_all(hist, HORIZON, neighbours=data.neighbours))
    res = timed(
        "simulate",
        lambda: run_forecast(
            hist, horizon=HORIZON, draws=DRAWS, seed=1, neighbours=data.neighbours, keep_draws=True,
            include_england=False, keep_placements=False, fits=fits, workers=1, summaries=False,
        ),
    )  # fmt: skip
    past = timed(
        "past points (cached)",
        lambda: past_points(
            data.series, data.population, list(range(data.first_origin, origin)), neighbours=data.neighbours,
            current=set(data.councils["la_code"]),
        ),
    )  # fmt: skip
    pub = timed(
        "publish + summarise", lambda: publish(res, hist, past, la_codes=None, include_england=True, keep_draws=False)
    )
    with tempfile.TemporaryDirectory() as tmp:
        timed("write (csv)", lambda: forecast_report.write(pub, "csv", Path(tmp) / "all.csv", None))
    return out


def main() -> None:
    raw_wall, raw_cpu = raw_binomial_rate()
    from sendcast.model.api import forecast
    from sendcast.model.forecast import _workers
    from sendcast.model.prequential import cache_dir
    from sendcast.model.structure import N_AGES, N_GROUPS

    # the run is timed as a command would be: a new process, with or without fits kept on disk
    fits_on_disk = any(cache_dir().glob(f"fits-*-{HORIZON}-*.pkl")) and not os.environ.get("SENDCAST_NO_DISK_CACHE")
    own0, kids0 = cpu_seconds()
    t = time.perf_counter()
    res = forecast(all_councils=True, horizon=HORIZON, draws=DRAWS, seed=1)
    wall = time.perf_counter() - t
    own1, kids1 = cpu_seconds()
    own, kids = own1 - own0, kids1 - kids0
    councils = res.summary["la_code"].nunique() - 1
    cores = _workers(None, councils, DRAWS * HORIZON)
    idle_wall = own + kids / cores
    state_years = councils * DRAWS * HORIZON * N_AGES * N_GROUPS
    data = {
        "note": "the machine may be shared: CPU seconds are beside the wall time",
        "councils": int(councils),
        "draws": DRAWS,
        "horizon": HORIZON,
        "cores_used": cores,
        "fits_read_from_disk_cache": fits_on_disk,
        "machine_cores": os.cpu_count(),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "wall_seconds": round(wall, 2),
        "cpu_seconds_main": round(own, 2),
        "cpu_seconds_workers": round(kids, 2),
        "wall_seconds_on_idle_cores_estimate": round(idle_wall, 2),
        "wall_ratio_to_target": round(wall / TARGET_S, 3),
        "idle_wall_ratio_to_target": round(idle_wall / TARGET_S, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "memory_ratio_to_target": round(peak_rss_mb() / TARGET_MB, 3),
        "state_years_per_second": round(state_years / wall),
        "raw_numpy_binomial_per_second_one_core": round(raw_wall),
        "raw_numpy_binomial_per_cpu_second": round(raw_cpu),
        "throughput_ratio_to_raw_binomial_on_cores_used": round(state_years / wall / (raw_wall * cores), 3),
        "throughput_ratio_on_idle_cores_estimate": round(state_years / idle_wall / (raw_cpu * cores), 3),
        "target_throughput_ratio": TARGET_RATIO,
    }
    if "--stages" in sys.argv:
        data["stages_one_core"] = stages()
    record("forecast_all", data)


if __name__ == "__main__":
    main()

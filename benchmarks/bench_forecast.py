"""Benchmark: forecast every council, 1000 draws, 10 years (target < 60 s, < 4 GB on 2 cores).

Also reports the simulated state-years per second (draws x years x 26 ages x 7 placements x
councils / wall time) and, as a machine-independent figure, that throughput as a ratio to
raw ``numpy`` binomial sampling of the same number of cells measured in this run.
"""

from __future__ import annotations

import time

import numpy as np
from _common import peak_rss_mb, record

from sendcast.model.api import forecast
from sendcast.model.structure import N_AGES, N_GROUPS

DRAWS, HORIZON, TARGET_S, TARGET_MB = 1000, 10, 60.0, 4096.0


def raw_binomial_rate(cells: int = 2_000_000) -> float:
    """Binomial samples per second drawn by numpy on this machine (n ~ 0-60, p ~ 0.03)."""
    rng = np.random.default_rng(0)
    n = rng.integers(0, 60, size=cells)
    p = np.full(cells, 0.03)
    t = time.perf_counter()
    rng.binomial(n, p)
    return cells / (time.perf_counter() - t)


def main() -> None:
    raw = raw_binomial_rate()
    t = time.perf_counter()
    res = forecast(all_councils=True, horizon=HORIZON, draws=DRAWS, seed=1)
    wall = time.perf_counter() - t
    councils = res.summary["la_code"].nunique() - 1
    state_years = councils * DRAWS * HORIZON * N_AGES * N_GROUPS
    rate = state_years / wall
    record(
        "forecast_all",
        {
            "councils": int(councils),
            "draws": DRAWS,
            "horizon": HORIZON,
            "wall_seconds": round(wall, 2),
            "wall_ratio_to_target": round(wall / TARGET_S, 3),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "memory_ratio_to_target": round(peak_rss_mb() / TARGET_MB, 3),
            "state_years_per_second": round(rate),
            "raw_numpy_binomial_per_second": round(raw),
            "throughput_ratio_to_raw_binomial": round(rate / raw, 3),
        },
    )


if __name__ == "__main__":
    main()

"""Benchmark: backtest all councils, origins 2015-2023, horizons 1-5, 1000 draws, all models
(target < 5 minutes on 2 cores, origins in parallel), as ``sendcast backtest`` runs it: the
published (prequential) forecast, its in-sample twin, the cohort model and the baselines. The
cohort model runs once per origin (plus, unscored and with fewer draws, at the earlier origins
the published forecast learns from); the prequential layer reuses those runs."""

from __future__ import annotations

import os
import resource
import sys
import time

from _common import peak_rss_mb, record

from sendcast.evaluate.backtest import backtest
from sendcast.model.api import model_data

TARGET_S = 300.0


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished worker processes."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    draws = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    save = sys.argv[2] if len(sys.argv) > 2 else None  # optional: keep the scores (parquet)
    data = model_data()
    origins = list(range(max(2015, data.first_origin), data.last_origin))
    t, c = time.perf_counter(), cpu_seconds()
    scores = backtest(
        data.series,
        data.population,
        origins=origins,
        horizons=[1, 2, 3, 4, 5],
        draws=draws,
        neighbours=data.neighbours,
        workers=2,
        in_sample=True,
    )
    wall, cpu = time.perf_counter() - t, cpu_seconds() - c
    if save:
        scores.to_parquet(save, index=False)
    record(
        "backtest_all",
        {
            "note": "the machine may be shared: CPU seconds are beside the wall time",
            "origins": origins,
            "draws": draws,
            "scored_forecasts": int(len(scores)),
            "wall_seconds": round(wall, 1),
            "cpu_seconds": round(cpu, 1),  # the machine may be shared: CPU is the steadier figure
            "cpu_seconds_over_two_cores": round(cpu / 2, 1),  # a floor for the wall time on 2 idle cores
            "load_average_1min_at_end": round(os.getloadavg()[0], 2),
            "wall_ratio_to_target": round(wall / TARGET_S, 3),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        },
    )


if __name__ == "__main__":
    main()

"""Benchmark: backtest all councils, origins 2015-2023, horizons 1-5, 1000 draws, all models
(target < 10 minutes on 2 cores, origins in parallel), as ``sendcast backtest`` runs it: the
published (prequential) forecast, its in-sample twin, the cohort model and the baselines. The
cohort model runs once per origin (plus, unscored and with fewer draws, at the earlier origins
the published forecast learns from); the prequential layer reuses those runs."""

from __future__ import annotations

import os
import sys
import time

from _common import peak_rss_mb, record

from sendcast.evaluate.backtest import backtest
from sendcast.model.api import model_data

TARGET_S = 600.0


def main() -> None:
    draws = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    save = sys.argv[2] if len(sys.argv) > 2 else None  # optional: keep the scores (parquet)
    data = model_data()
    origins = list(range(max(2015, data.first_origin), data.last_origin))
    t = time.perf_counter()
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
    wall = time.perf_counter() - t
    if save:
        scores.to_parquet(save, index=False)
    record(
        "backtest_all",
        {
            "origins": origins,
            "draws": draws,
            "scored_forecasts": int(len(scores)),
            "wall_seconds": round(wall, 1),
            "load_average_1min_at_end": round(os.getloadavg()[0], 2),
            "wall_ratio_to_target": round(wall / TARGET_S, 3),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        },
    )


if __name__ == "__main__":
    main()

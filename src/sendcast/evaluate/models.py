"""Forecasters that share one interface, so backtests treat the model and baselines alike.

Every forecaster has ``name``, ``fit(histories)`` and ``forecast(horizon, draws, seed)``, which
returns, per council, an array of draws ``(D, H+1, M)`` for the January years origin ..
origin+H and the measures :data:`sendcast.model.forecast.MEASURES` (NaN where a baseline has
no history for a measure).

Baselines (each measure forecast on its own, from its own published history):

- ``last_value``: the January origin value carried forward;
- ``drift``: last year's growth rate repeated;
- ``avg_growth_3y``: the average growth rate of the last three years repeated;
- ``pooled_growth``: the council's 3-year average growth shrunk halfway toward the median
  growth of all councils at the same origin;
- ``auto_ets``: statsforecast's AutoETS fitted per council and measure (log scale).

Baseline uncertainty: log-normal around the point forecast with the sd of the council's
yearly log growth times sqrt(h) (a random walk's spread), so intervals are comparable.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from sendcast.model.ensemble import history_measures
from sendcast.model.forecast import MEASURES, council_rng, run_forecast
from sendcast.model.history import CouncilHistory

__all__ = ["BASELINES", "Forecaster", "StockFlow", "history_measures"]


class Forecaster(Protocol):
    name: str

    def fit(self, histories: dict[str, CouncilHistory]) -> None: ...

    def forecast(self, horizon: int, draws: int, seed: int) -> dict[str, np.ndarray]: ...


class StockFlow:
    """The stock-flow (cohort) model on its own behind the common interface (the published
    forecast, ``sendcast``, is made from its draws: :mod:`sendcast.model.prequential`)."""

    name = "cohort"

    def __init__(self, neighbours: dict[str, list[str]] | None = None) -> None:
        self.neighbours = neighbours
        self.histories: dict[str, CouncilHistory] = {}
        self.settings: dict[str, float] = {}  # those chosen at the origin (after a forecast)

    def fit(self, histories: dict[str, CouncilHistory]) -> None:
        self.histories = histories

    def run(self, histories: dict[str, CouncilHistory], horizon: int, draws: int, seed: int) -> dict[str, np.ndarray]:
        self.fit(histories)
        return self.forecast(horizon, draws, seed)

    def forecast(self, horizon: int, draws: int, seed: int) -> dict[str, np.ndarray]:
        res = run_forecast(
            self.histories,
            horizon=horizon,
            draws=draws,
            seed=seed,
            neighbours=self.neighbours,
            include_england=False,
            keep_draws=True,
            keep_placements=False,
            summaries=False,
        )
        if res.fits:
            self.settings = dict(next(iter(res.fits.values())).fit_report.get("settings", {}))
        return res.draw_values


def _log_growth(series: np.ndarray) -> np.ndarray:
    s = series.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.diff(np.log(np.where(s > 0, s, np.nan)))
    return g


class _GrowthBaseline:
    """Shared machinery: a per-council, per-measure yearly log growth, applied from the origin."""

    name = "baseline"

    def __init__(self) -> None:
        self.hist: dict[str, np.ndarray] = {}

    def fit(self, histories: dict[str, CouncilHistory]) -> None:
        self.hist = {c: history_measures(h) for c, h in histories.items()}

    def growth(self, code: str, m: int) -> float:
        raise NotImplementedError

    def sd(self, code: str, m: int) -> float:
        g = _log_growth(self.hist[code][:, m])
        g = g[np.isfinite(g)][-6:]
        return float(np.std(g, ddof=1)) if len(g) >= 3 else 0.1

    def forecast(self, horizon: int, draws: int, seed: int) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        steps = np.arange(horizon + 1)
        for code, hm in self.hist.items():
            rng = council_rng(seed, code)
            arr = np.full((draws, horizon + 1, len(MEASURES)), np.nan)
            for m in range(len(MEASURES)):
                last = hm[-1, m]
                if not np.isfinite(last):
                    continue
                g = self.growth(code, m)
                if not np.isfinite(g):
                    continue
                point = last * np.exp(g * steps)
                noise = self.sd(code, m) * np.sqrt(steps)[None, :] * rng.standard_normal((draws, 1))
                arr[:, :, m] = point[None, :] * np.exp(noise - 0.5 * (self.sd(code, m) ** 2) * steps[None, :])
            out[code] = arr
        return out


class LastValue(_GrowthBaseline):
    name = "last_value"

    def growth(self, code: str, m: int) -> float:
        return 0.0


class Drift(_GrowthBaseline):
    name = "drift"

    def growth(self, code: str, m: int) -> float:
        g = _log_growth(self.hist[code][-2:, m])
        return float(g[-1]) if len(g) and np.isfinite(g[-1]) else np.nan


class AvgGrowth3(_GrowthBaseline):
    name = "avg_growth_3y"

    def growth(self, code: str, m: int) -> float:
        g = _log_growth(self.hist[code][-4:, m])
        g = g[np.isfinite(g)]
        return float(np.mean(g)) if len(g) else np.nan


class PooledGrowth(_GrowthBaseline):
    """3-year council growth shrunk halfway to the national median growth (per measure)."""

    name = "pooled_growth"

    def fit(self, histories: dict[str, CouncilHistory]) -> None:
        super().fit(histories)
        self.centre = np.full(len(MEASURES), np.nan)
        for m in range(len(MEASURES)):
            gs = [AvgGrowth3.growth(self, c, m) for c in self.hist]  # type: ignore[arg-type]
            gs = [g for g in gs if np.isfinite(g)]
            self.centre[m] = float(np.median(gs)) if gs else np.nan

    def growth(self, code: str, m: int) -> float:
        own = AvgGrowth3.growth(self, code, m)  # type: ignore[arg-type]
        if not np.isfinite(own):
            return float(self.centre[m])
        return 0.5 * own + 0.5 * float(self.centre[m])


class AutoETSBaseline:
    """statsforecast's AutoETS per council and measure on log values, with its own intervals."""

    name = "auto_ets"

    def __init__(self, measures: tuple[str, ...] = ("ehcp_total", "special_school", "independent_special")) -> None:
        self.measures = [MEASURES.index(m) for m in measures]
        self.hist: dict[str, np.ndarray] = {}

    def fit(self, histories: dict[str, CouncilHistory]) -> None:
        self.hist = {c: history_measures(h) for c, h in histories.items()}

    def forecast(self, horizon: int, draws: int, seed: int) -> dict[str, np.ndarray]:
        from statsforecast.models import AutoETS

        out: dict[str, np.ndarray] = {}
        z90 = 1.6448536269514722
        for code, hm in self.hist.items():
            rng = council_rng(seed, code)
            arr = np.full((draws, horizon + 1, len(MEASURES)), np.nan)
            for m in self.measures:
                y = hm[:, m]
                ok = np.isfinite(y) & (y > 0)
                # a contiguous run of data ending at the origin
                if not ok[-1]:
                    continue
                start = len(y) - 1
                while start > 0 and ok[start - 1]:
                    start -= 1
                ly = np.log(y[start:])
                if len(ly) < 4:
                    continue
                try:
                    fc = AutoETS(season_length=1).forecast(y=ly, h=horizon, level=[90])
                except Exception:  # statsforecast raises plain errors on degenerate series
                    continue
                mean = np.concatenate([[ly[-1]], fc["mean"]])
                hi = np.concatenate([[ly[-1]], fc["hi-90"]])
                sd = (hi - mean) / z90
                arr[:, :, m] = np.exp(mean[None, :] + sd[None, :] * rng.standard_normal((draws, 1)))
            out[code] = arr
        return out


BASELINES: dict[str, type] = {
    "last_value": LastValue,
    "drift": Drift,
    "avg_growth_3y": AvgGrowth3,
    "pooled_growth": PooledGrowth,
    "auto_ets": AutoETSBaseline,
}

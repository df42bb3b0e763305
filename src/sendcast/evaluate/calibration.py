"""Is a coverage figure consistent with an 80% band? What a correctly calibrated forecast would show.

An 80% band that is exactly right does not hold exactly 80% of outcomes in a backtest. The
councils' outcomes in one year are not independent (they share England's year: when England
grows faster than forecast, most councils do), a backtest has few origins at long horizons (one
at five years ahead), and small counts are whole numbers (a band of 0-3 plans held by an
outcome of 3 counts as held). So the share held by a correct band varies, and how much depends
on the forecast's own dependence across councils.

This module measures that range from the forecast itself: at each origin, one of the
forecast's joint draws (the same draw number for every council, so England's shared path is
kept) is taken as if it were the outcome, and the share of councils whose band holds it is
counted; repeating that gives the coverage a correctly calibrated forecast would show at that
origin, and averaging over origins (an independent draw at each, weighted by councils scored)
gives it for the backtest. An observed coverage outside the 5th-95th percentile of that
distribution is evidence that the bands are too wide or too narrow; inside it, the backtest
cannot tell the band from a right one. (Outcomes at overlapping years of different origins are
treated as independent, so the range is, if anything, a little narrow at the longest horizons.)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sendcast.model.forecast import ENGLAND, MEASURES

REPLICATES = 200  # pseudo-outcomes per origin
RANGE = (0.05, 0.95)  # the range reported (two-sided 90%)


def coverage_if_calibrated(
    draws: Mapping[str, np.ndarray],
    scored: pd.DataFrame,
    *,
    origin: int,
    seed: int,
    replicates: int = REPLICATES,
) -> pd.DataFrame:
    """The 80% coverage a correctly calibrated forecast would show at one origin, ``replicates``
    times: one row per measure, horizon and replicate (columns origin, measure, horizon, n,
    replicate, coverage), over the council forecasts in ``scored`` (the rows :func:`score` gave
    for these ``draws``: their p10 and p90 are the bands; England is left out)."""
    rows = scored[(scored["la_code"] != ENGLAND[0]) & scored["la_code"].isin(list(draws))]
    cols = ["origin", "measure", "horizon", "n", "replicate", "coverage"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    d = next(iter(draws.values())).shape[0]
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(origin), 3]))
    j = rng.integers(0, d, replicates)
    m_index = {m: i for i, m in enumerate(MEASURES)}
    parts, keys = [], []
    for code, g in rows.groupby("la_code", sort=False):
        arr = np.asarray(draws[str(code)])[j]  # (R, H+1, M)
        h = g["horizon"].to_numpy(dtype=int)
        m = g["measure"].map(m_index).to_numpy(dtype=int)
        t = arr[:, h, m]  # (R, n): the pseudo-outcomes, the same draw for every council
        parts.append((g["p10"].to_numpy() <= t) & (t <= g["p90"].to_numpy()))
        keys.append(g[["measure", "horizon"]])
    inside = np.concatenate(parts, axis=1)  # (R, N)
    key = pd.concat(keys, ignore_index=True)
    out: list[dict[str, object]] = []
    for label, idx in key.groupby(["measure", "horizon"], sort=True).indices.items():
        measure, years_ahead = str(label[0]), int(label[1])  # type: ignore[index]
        held = inside[:, idx].mean(axis=1)  # (R,)
        out.extend(
            {"origin": int(origin), "measure": str(measure), "horizon": years_ahead, "n": len(idx), "replicate": r,
             "coverage": float(held[r])}
            for r in range(replicates)
        )  # fmt: skip
    return pd.DataFrame(out, columns=cols)


def calibration_check(null: pd.DataFrame, scores: pd.DataFrame, model: str = "sendcast") -> pd.DataFrame:
    """Per measure and horizon, pooled over the origins in ``null``: the observed 80% coverage
    of ``model`` (councils only), the 5th-95th percentile of the coverage a correctly calibrated
    forecast would show (from :func:`coverage_if_calibrated`) and a verdict ('consistent',
    'too wide' or 'too narrow')."""
    cols = [
        "measure",
        "horizon",
        "first_origin",
        "origins",
        "n",
        "coverage80",
        "calibrated_p5",
        "calibrated_p95",
        "verdict",
    ]
    if null.empty:
        return pd.DataFrame(columns=cols)
    s = scores[(scores["model"] == model) & (scores["la_code"] != ENGLAND[0])]
    s = s[s["origin"].isin(null["origin"].unique())]
    held = {k: v.to_numpy(dtype=float) for k, v in s.groupby(["measure", "horizon"])["in80"]}
    lo, hi = RANGE
    rows = []
    for (measure, h), g in null.groupby(["measure", "horizon"], sort=False):
        if (measure, h) not in held:
            continue
        wide = g.pivot_table(index="replicate", columns="origin", values=["coverage", "n"], aggfunc="first")
        cov_r = wide["coverage"].to_numpy(dtype=float)  # (R, origins)
        n_o = wide["n"].to_numpy(dtype=float)
        pooled = (cov_r * n_o).sum(axis=1) / n_o.sum(axis=1)
        p_lo, p_hi = np.quantile(pooled, [lo, hi])
        obs = held[(measure, h)]
        cov = float(obs.mean())
        verdict = "too wide" if cov > p_hi else "too narrow" if cov < p_lo else "consistent"
        rows.append(
            {
                "measure": str(measure),
                "horizon": int(h),  # type: ignore[call-overload]
                "first_origin": int(g["origin"].min()),
                "origins": int(g["origin"].nunique()),
                "n": len(obs),
                "coverage80": cov,
                "calibrated_p5": float(p_lo),
                "calibrated_p95": float(p_hi),
                "verdict": verdict,
            }
        )
    order = {m: i for i, m in enumerate(MEASURES)}
    out = pd.DataFrame(rows, columns=cols)
    out["_order"] = out["measure"].map(order)
    return out.sort_values(["_order", "horizon"]).drop(columns="_order").reset_index(drop=True)

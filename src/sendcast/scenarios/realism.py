"""How realistic is a scenario? Each promise as a base rate over what councils actually did.

Plain functions over the store's ``series`` table (long rows ``la_code, la_name, year,
period_type, measure, value``; ``january`` caseloads, ``calendar_year`` flows) and its
``population`` table (``la_code, year, age, population``).

**The method.** A promise (a lever, or the scenario's implied path) becomes a change in one
measure over a window of ``k`` years: e.g. "new plans per 10,000 aged 0-25 falling 15% relative
to England within 3 years". Every council x start year since :data:`SINCE` with the data is a
*window* (a trial). In each window:

- the change is measured on two-year averages at each end (:data:`SUSTAINED`, ratio of sums),
  relative to England's change over the same years where the measure drifts nationally;
- it **met** the promise when it was at least as good as promised;
- it was **beyond chance** when chance variation for a council of that size would produce a
  change as good in fewer than :data:`CHANCE_LEVEL` of windows: Poisson noise of the council's
  counts for rates (``var(log rate) = 1 / count``), binomial for shares
  (``var(log share) = (1 - share) / count``), Poisson flows for the caseload
  (``var(log T1/T0) = (joiners + leavers) / T0^2``) -- the delta method;
- it **held** when the change from the window's start to :data:`HOLD` years after its end still
  met the promise.

The **base rate** is (windows met, beyond chance and held) / (windows whose hold year is
published), the council itself left out. Verdict: **unprecedented** when no window achieved and
held it; **ambitious** when fewer than :data:`WITHIN_EXPERIENCE_SHARE` of windows did;
**within experience** otherwise. The thresholds are judgements kept with their reasoning in
``parameters/scenarios/realism.yaml`` (:data:`REALISM_FILE`); each verdict's text names the
councils and years, how many reversed, and what chance alone would produce.

:func:`assess` is the entry point for the CLI and the web pages.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import norm

from sendcast.parameters import PARAMETERS_DIR, ParameterError, load_parameter
from sendcast.scenarios.schema import (
    CeasingLever,
    IncidenceLever,
    NewPlacesLever,
    PlacementShiftLever,
    Scenario,
)

REALISM_FILE = PARAMETERS_DIR / "scenarios" / "realism.yaml"


@dataclass(frozen=True)
class RealismThresholds:
    """The judgement thresholds of the verdicts (meanings and reasoning in :data:`REALISM_FILE`)."""

    since: int
    within_experience_share: float
    hold_years: int
    chance_level: float
    sustained_years: int
    min_years_incidence: int
    min_years_ceasing: int
    min_years_placement_shift: int
    min_years_new_places: int


def load_thresholds(path: Path = REALISM_FILE) -> RealismThresholds:
    """Return the thresholds in ``path`` (default: the shipped ``scenarios/realism.yaml``).

    Raises ParameterError naming the file and key when the file fails the parameter checks
    (unit, source ...), a value is missing, or out of range: shares in (0, 1), year counts
    whole numbers, ``since`` a year 2000-2060.
    """
    vals = load_parameter(path).values
    if not isinstance(vals, dict):
        raise ParameterError(path, "values", "expected named values (since, within_experience_share, ...)")

    def whole(key: str, lo: int, hi: int) -> int:
        v = vals.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ParameterError(path, f"values.{key}", f"expected a whole number {lo}-{hi}, got {v!r}")
        return v

    def share(key: str) -> float:
        v = vals.get(key)
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < 1:
            raise ParameterError(path, f"values.{key}", f"expected a share between 0 and 1, got {v!r}")
        return float(v)

    return RealismThresholds(
        since=whole("since", 2000, 2060),
        within_experience_share=share("within_experience_share"),
        hold_years=whole("hold_years", 0, 10),
        chance_level=share("chance_level"),
        sustained_years=whole("sustained_years", 1, 10),
        min_years_incidence=whole("min_years_incidence", 1, 10),
        min_years_ceasing=whole("min_years_ceasing", 1, 10),
        min_years_placement_shift=whole("min_years_placement_shift", 1, 10),
        min_years_new_places=whole("min_years_new_places", 1, 10),
    )


# read once at import; functions look these names up when called, so a test (or a caller)
# can set them from another file with load_thresholds(path)
_THRESHOLDS = load_thresholds()
SINCE = _THRESHOLDS.since
WITHIN_EXPERIENCE_SHARE = _THRESHOLDS.within_experience_share
HOLD = _THRESHOLDS.hold_years
CHANCE_LEVEL = _THRESHOLDS.chance_level
SUSTAINED = _THRESHOLDS.sustained_years
MIN_YEARS_INCIDENCE = _THRESHOLDS.min_years_incidence
MIN_YEARS_CEASING = _THRESHOLDS.min_years_ceasing
MIN_YEARS_PLACEMENT_SHIFT = _THRESHOLDS.min_years_placement_shift
MIN_YEARS_NEW_PLACES = _THRESHOLDS.min_years_new_places
MAX_NAMES = 12  # presentation only: councils named in a verdict's text (the rest counted)
NOT_COUNCILS = ("E92", "E12", "E13")  # England, regions, inner/outer London aggregates
How = Literal["ratio", "diff"]
AGE_BANDS = ((0, 4), (5, 10), (11, 15), (16, 19), (20, 25))  # the published new-plan age bands
Noise = Literal["poisson", "binomial", "stock"]


# --------------------------------------------------------------------------- measures


def council_metrics(series: pd.DataFrame, population: pd.DataFrame, *, since: int | None = None) -> pd.DataFrame:
    """Return one row per council and year (>= ``since``, default :data:`SINCE`): ``la_code, la_name, year,
    ehcp_total, growth, independent_special, independent_share, new_plans, exits, flows, pop_0_25,
    new_plans_per_10k, exit_rate`` and ``<group>`` counts and ``<group>_per_10k`` for
    resourced_provision, state_special and independent_special.

    ``growth(y) = total(y) / total(y-1) - 1`` (Januaries); ``new_plans(y)`` is calendar year y;
    ``pop_0_25(y)`` is the mid-year estimate for y (else the latest earlier one);
    ``exits(y) = total(y) + new_plans(y) - total(y+1)`` (plans leaving between Januaries y and y+1),
    ``exit_rate = exits / total``; ``flows(y) = new_plans(y) + max(exits(y), 0)`` (the Poisson
    joiners and leavers that make the caseload noisy); where the series has them, new plans by
    published age band (``new_plans_age_0_4`` ...) and the population of each band
    (``pop_0_4`` ...), so a lever on some ages is judged on those ages.
    """
    s = series[~series["la_code"].astype(str).str[:3].isin(NOT_COUNCILS)]
    jan = s[s["period_type"] == "january"]
    cal = s[s["period_type"] == "calendar_year"]
    wanted = ["ehcp_total", "independent_special", "state_special", "resourced_provision"]
    # sum(min_count=1): a suppressed or missing count stays missing, never 0
    counts = jan[jan["measure"].isin(wanted)].groupby(["la_code", "year", "measure"])["value"].sum(min_count=1)
    wide = counts.unstack("measure").reindex(columns=wanted)
    newp = cal[cal["measure"] == "new_plans"].groupby(["la_code", "year"])["value"].sum(min_count=1)
    wide["new_plans"] = newp.reindex(wide.index)
    band_cols = []
    for lo, hi in AGE_BANDS:
        key = f"new_plans_age_{lo}_{hi}"
        band = cal[cal["measure"] == key]
        if len(band):
            wide[key] = band.groupby(["la_code", "year"])["value"].sum(min_count=1).reindex(wide.index)
            band_cols.append(key)
    names = s.groupby("la_code")["la_name"].last()
    out = wide.reset_index().sort_values(["la_code", "year"])
    out["pop_0_25"] = _population_at(population, out, 0, 25)
    for lo, hi in AGE_BANDS:
        if f"new_plans_age_{lo}_{hi}" in band_cols:
            out[f"pop_{lo}_{hi}"] = _population_at(population, out, lo, hi)
            band_cols.append(f"pop_{lo}_{hi}")
    g = out.groupby("la_code")
    out["growth"] = out["ehcp_total"] / g["ehcp_total"].shift(1) - 1
    out["exits"] = out["ehcp_total"] + out["new_plans"] - g["ehcp_total"].shift(-1)
    # a year gap breaks the year-on-year figures
    gap_prev = out["year"] - g["year"].shift(1) != 1
    gap_next = g["year"].shift(-1) - out["year"] != 1
    out.loc[gap_prev, "growth"] = np.nan
    out.loc[gap_next, "exits"] = np.nan
    out["exit_rate"] = out["exits"] / out["ehcp_total"]
    out["flows"] = out["new_plans"] + out["exits"].clip(lower=0)
    out["independent_share"] = out["independent_special"] / out["ehcp_total"]
    out["new_plans_per_10k"] = out["new_plans"] / out["pop_0_25"] * 1e4
    for grp in ("resourced_provision", "state_special", "independent_special"):
        out[f"{grp}_per_10k"] = out[grp] / out["pop_0_25"] * 1e4
    out["la_name"] = out["la_code"].map(names)
    cols = [
        "la_code",
        "la_name",
        "year",
        "ehcp_total",
        "growth",
        "independent_special",
        "independent_share",
        "new_plans",
        "exits",
        "flows",
        "pop_0_25",
        "new_plans_per_10k",
        "exit_rate",
        "resourced_provision",
        "state_special",
        "resourced_provision_per_10k",
        "state_special_per_10k",
        "independent_special_per_10k",
        *band_cols,
    ]
    since = SINCE if since is None else since
    return out[out["year"] >= since][cols].reset_index(drop=True)


def _population_at(population: pd.DataFrame, rows: pd.DataFrame, lo: int, hi: int) -> list[float]:
    """Population aged ``lo``-``hi`` for each council and year of ``rows``: the mid-year estimate
    for that year, else the latest earlier one (else the first)."""
    pop = population[(population["age"] >= lo) & (population["age"] <= hi)]
    pop_tot = pop.groupby(["la_code", "year"])["population"].sum().sort_index()
    known = set(pop_tot.index.get_level_values(0))
    out = []
    for code, y in zip(rows["la_code"], rows["year"], strict=True):
        if code in known:
            pc = pop_tot.loc[code]
            earlier = pc[pc.index <= y]
            out.append(float(earlier.iloc[-1]) if len(earlier) else float(pc.iloc[0]))
        else:
            out.append(np.nan)
    return out


@dataclass(frozen=True)
class Measure:
    """A rate ``num / den x scale`` judged over windows; ``noise`` says how chance varies it."""

    name: str
    num: str
    den: str | None
    scale: float
    noise: Noise
    smooth: bool = True


MEASURES: dict[str, Measure] = {
    "new_plans_per_10k": Measure("new plans per 10,000 aged 0-25", "new_plans", "pop_0_25", 1e4, "poisson"),
    "exit_rate": Measure("share of plans ceasing each year", "exits", "ehcp_total", 1.0, "poisson"),
    "independent_share": Measure(
        "share of plans in independent special schools", "independent_special", "ehcp_total", 1.0, "binomial"
    ),
    "ehcp_total": Measure("EHC plans at January", "ehcp_total", None, 1.0, "stock", smooth=False),
    **{
        f"{g}_per_10k": Measure(f"{g.replace('_', ' ')} plans per 10,000 aged 0-25", g, "pop_0_25", 1e4, "poisson")
        for g in ("resourced_provision", "state_special", "independent_special")
    },
}


def _wide(metrics: pd.DataFrame, col: str) -> pd.DataFrame:
    """Councils x consecutive years of one column, or of the sum of ``a+b+...`` (missing where any
    part is missing; missing years as NaN)."""
    parts = col.split("+")
    # sum(min_count=1): a missing count stays missing (pivot_table's sum would make it 0)
    summed = metrics[parts].sum(axis=1, min_count=len(parts))
    w = summed.groupby([metrics["la_code"], metrics["year"]]).sum(min_count=1).unstack("year")
    if w.empty:
        return w
    years = range(int(w.columns.min()), int(w.columns.max()) + 1)
    return w.reindex(columns=years)


def _ends(metrics: pd.DataFrame, m: Measure, smooth: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return (value, numerator sum, denominator sum) per council x year, averaged over the
    ``smooth`` years ending in each year (ratio of sums); NaN where any year is missing."""
    s = smooth if m.smooth else 1
    num = _wide(metrics, m.num)
    num = num.where(num.notna())
    n = num.T.rolling(s, min_periods=s).sum().T
    if m.den is None:
        return n, n, pd.DataFrame(np.nan, index=n.index, columns=n.columns)
    den = _wide(metrics, m.den).reindex(index=num.index, columns=num.columns)
    d = den.T.rolling(s, min_periods=s).sum().T
    return n / d * m.scale, n, d


def england_series(metrics: pd.DataFrame, column: str, *, smooth: int = 1) -> pd.Series:
    """Return England's yearly value of a measure in :data:`MEASURES` as the ratio of sums over the
    councils with both counts (e.g. all new plans / all 0-25 population x 10,000), averaged over
    the ``smooth`` years ending in each year like the councils' values."""
    m = MEASURES[column]
    num = _wide(metrics, m.num)
    if m.den is None:
        tot = num.sum(min_count=1)
        return tot.rolling(smooth if m.smooth else 1, min_periods=1).sum()
    den = _wide(metrics, m.den).reindex(index=num.index, columns=num.columns)
    ok = num.notna() & den.notna()
    s = smooth if m.smooth else 1
    n = num.where(ok).sum(min_count=1).rolling(s, min_periods=s).sum()
    d = den.where(ok).sum(min_count=1).rolling(s, min_periods=s).sum()
    return n / d * m.scale


def england_index(metrics: pd.DataFrame, column: str) -> pd.Series:
    """England's yearly value of a measure, single years (see :func:`england_series`)."""
    return england_series(metrics, column)


def incidence_measure(lo: int, hi: int, metrics: pd.DataFrame | None = None) -> str:
    """The :data:`MEASURES` key of new plans per 10,000 at ages ``lo``-``hi``: the published age
    bands covering exactly those ages (registered on first use, e.g. ``new_plans_0_15_per_10k``
    for 0-4 + 5-10 + 11-15), else all ages 0-25 (also when ``metrics`` lacks the bands)."""
    if (lo, hi) == (0, 25):
        return "new_plans_per_10k"
    bands = [b for b in AGE_BANDS if lo <= b[0] and b[1] <= hi]
    aligned = bool(bands) and bands[0][0] == lo and bands[-1][1] == hi
    if not aligned or any(a[1] + 1 != b[0] for a, b in zip(bands, bands[1:], strict=False)):
        return "new_plans_per_10k"
    num = "+".join(f"new_plans_age_{a}_{b}" for a, b in bands)
    den = "+".join(f"pop_{a}_{b}" for a, b in bands)
    if metrics is not None and not set((num + "+" + den).split("+")) <= set(metrics.columns):
        return "new_plans_per_10k"
    key = f"new_plans_{lo}_{hi}_per_10k"
    MEASURES.setdefault(key, Measure(f"new plans per 10,000 aged {lo}-{hi}", num, den, 1e4, "poisson"))
    return key


def _var(m: Measure, how: How, n: float, d: float, flows: float = float("nan")) -> float:
    """Chance variance of one end of a window: of ``log(value)`` for ratios, of ``value`` for
    differences (Poisson: var(count) = count; binomial: var(share) = share (1 - share) / den)."""
    if not n > 0:
        return float("inf")
    if m.noise == "stock":
        return flows / (n * n) if how == "ratio" else flows
    if m.noise == "binomial":
        p = n / d
        return (1 - p) / n if how == "ratio" else p * (1 - p) / d
    return 1 / n if how == "ratio" else n * (m.scale / d) ** 2


WINDOW_COLUMNS = [
    "la_code",
    "la_name",
    "start",
    "end",
    "held_year",
    "v0",
    "v1",
    "v2",
    "change",
    "change_held",
    "sd",
    "null",
]


def window_changes(
    metrics: pd.DataFrame,
    column: str,
    *,
    window: int,
    how: How = "ratio",
    relative_to_england: bool = True,
    smooth: int | None = None,
    hold: int | None = None,
) -> pd.DataFrame:
    """Return one row per council x start year: ``la_code, la_name, start, end, held_year, v0, v1,
    v2, change, change_held, sd, null``.

    ``v0`` is the measure at ``start`` (the mean of the ``smooth`` years ending then, default
    :data:`SUSTAINED`; the caseload is not averaged), ``v1`` at ``end = start + window``, ``v2`` at
    ``held_year = end + hold`` (default :data:`HOLD`; NaN when not yet published). ``ratio``:
    ``change = (v1 / v0) / (E1 / E0) - 1`` with England's ``E`` (``relative_to_england``), ``diff``:
    ``change = (v1 - v0) - (E1 - E0)``; ``change_held`` the same from ``start`` to ``held_year``.
    ``sd``: chance standard deviation of the change (of its log for ratios) for a council of that
    size (module docstring). ``null``: the change with no real change of the council's own, the
    one chance varies around: 0 relative to England; England's own change when not relative
    (a council growing as England did has done nothing unusual). Windows start no earlier than
    :data:`SINCE` + smooth - 1, so every year averaged is in the record.
    """
    smooth = SUSTAINED if smooth is None else smooth
    hold = HOLD if hold is None else hold
    m = MEASURES[column]
    val_df, num_df, den_df = _ends(metrics, m, smooth)
    if val_df.empty:
        return pd.DataFrame(columns=WINDOW_COLUMNS)
    years = [int(y) for y in val_df.columns]
    col = {y: i for i, y in enumerate(years)}
    val = val_df.to_numpy(dtype=float)
    num = num_df.to_numpy(dtype=float)
    den = den_df.to_numpy(dtype=float)
    flows = _wide(metrics, "flows").reindex(index=val_df.index, columns=val_df.columns).to_numpy(dtype=float)
    eng_actual = england_series(metrics, column, smooth=smooth).reindex(years).to_numpy(dtype=float)
    eng = eng_actual if relative_to_england else np.full(len(years), 1.0 if how == "ratio" else 0.0)
    names = metrics.groupby("la_code")["la_name"].last()
    first = min(years) + ((smooth - 1) if m.smooth else 0)
    rows: list[tuple[Any, ...]] = []
    for i, code in enumerate(val_df.index):
        for t0 in years:
            t1, t2 = t0 + window, t0 + window + hold
            if t0 < first or t1 not in col:
                continue
            j0, j1 = col[t0], col[t1]
            v0, v1 = val[i, j0], val[i, j1]
            if not (np.isfinite(v0) and np.isfinite(v1)) or (how == "ratio" and v0 <= 0):
                continue
            j2 = col.get(t2)
            v2 = val[i, j2] if j2 is not None else np.nan
            e0, e1 = eng[j0], eng[j1]
            e2 = eng[j2] if j2 is not None else np.nan
            if how == "ratio":
                change = (v1 / v0) / (e1 / e0) - 1
                change_held = (v2 / v0) / (e2 / e0) - 1
            else:
                change = (v1 - v0) - (e1 - e0)
                change_held = (v2 - v0) - (e2 - e0)
            if not np.isfinite(change):
                continue
            if m.noise == "stock":
                f = float(np.nansum(flows[i, j0:j1]))
                var = _var(m, how, float(num[i, j0]), np.nan, f)
            else:
                var = _var(m, how, float(num[i, j0]), float(den[i, j0])) + _var(
                    m, how, float(num[i, j1]), float(den[i, j1])
                )
            if relative_to_england:
                null = 0.0
            elif how == "ratio":
                null = eng_actual[j1] / eng_actual[j0] - 1
            else:
                null = eng_actual[j1] - eng_actual[j0]
            rows.append(
                (code, names.get(code, code), t0, t1, t2, v0, v1, v2, change, change_held, math.sqrt(var), null)
            )
    return pd.DataFrame(rows, columns=WINDOW_COLUMNS)


# --------------------------------------------------------------------------- base rates


def chance_probability(
    change: pd.Series, sd: pd.Series, how: How, *, lower_is_better: bool, null: pd.Series | float = 0.0
) -> pd.Series:
    """Probability that chance alone (true change ``null``, default none) gives a change at least
    as good as ``change`` in a window with chance standard deviation ``sd`` (normal on the log
    for ratios: ``z = (log(1 + change) - log(1 + null)) / sd``)."""
    c = change.astype(float)
    n0 = pd.Series(null, index=change.index, dtype=float)
    if how == "ratio":
        x = np.log1p(c.clip(lower=-0.999999)) - np.log1p(n0.clip(lower=-0.999999))
    else:
        x = c - n0
    z = x / sd.astype(float).replace(0, np.nan)
    p = norm.cdf(z) if lower_is_better else norm.sf(z)
    return pd.Series(np.where(sd.astype(float) == 0, 0.0, p), index=change.index)


def classify(
    windows: pd.DataFrame,
    promise: float | np.ndarray,
    *,
    how: How,
    lower_is_better: bool,
    chance_level: float | None = None,
) -> pd.DataFrame:
    """Return ``windows`` with ``met, chance_p, beyond_chance, held_known, held, outcome`` and
    ``chance_meets`` (probability that chance alone meets the promise in that window). ``promise``
    is one change for every window, or one per window (an array as long as ``windows``).

    outcome: ``achieved and held`` / ``achieved, reversed`` / ``achieved, hold not yet known`` /
    ``met, within chance`` / ``not met``."""
    level = CHANCE_LEVEL if chance_level is None else chance_level
    w = windows.copy()
    eps = 1e-12
    if lower_is_better:
        w["met"] = w["change"] <= promise + eps
        w["held"] = w["change_held"] <= promise + eps
    else:
        w["met"] = w["change"] >= promise - eps
        w["held"] = w["change_held"] >= promise - eps
    promise = np.asarray(promise, dtype=float) if not isinstance(promise, float | int) else float(promise)
    promise_s = pd.Series(promise, index=w.index, dtype=float)
    null = w["null"] if "null" in w.columns else 0.0
    w["chance_p"] = chance_probability(w["change"], w["sd"], how, lower_is_better=lower_is_better, null=null)
    # chance can only fake an achievement that needs a real change: a promise the council meets
    # by doing what England did (a generous ceiling) is met whatever the noise
    null_s = pd.Series(null, index=w.index, dtype=float)
    strict = (promise_s < null_s - eps) if lower_is_better else (promise_s > null_s + eps)
    w["beyond_chance"] = (w["chance_p"] < level) | ~strict
    w["held_known"] = w["change_held"].notna()
    w["chance_meets"] = chance_probability(promise_s, w["sd"], how, lower_is_better=lower_is_better, null=null)
    real = w["met"] & w["beyond_chance"]
    w["outcome"] = np.select(
        [real & w["held_known"] & w["held"], real & w["held_known"], real, w["met"]],
        ["achieved and held", "achieved, reversed", "achieved, hold not yet known", "met, within chance"],
        "not met",
    )
    return w


@dataclass
class BaseRate:
    """Counts of council-windows behind a verdict (all exclude the council being judged).

    ``windows``: windows whose hold year is published (the denominator); ``met``: of those, the
    change met the promise; ``achieved``: met and beyond chance; ``held``: achieved and still there
    :data:`HOLD` years on (the numerator); ``reversed = achieved - held``; ``within_chance``: met but
    no more than chance would give; ``recent``: achieved in windows too recent to know if it held;
    ``chance_share``: expected share meeting the promise by chance alone."""

    windows: int
    met: int
    achieved: int
    held: int
    within_chance: int
    recent: int
    chance_share: float
    first_start: int | None
    last_start: int | None

    @property
    def share(self) -> float:
        """Base rate: held / windows (NaN with no windows)."""
        return self.held / self.windows if self.windows else float("nan")

    @property
    def reversed(self) -> int:
        return self.achieved - self.held


def base_rate(classified: pd.DataFrame) -> BaseRate:
    """Return the :class:`BaseRate` of windows classified by :func:`classify`."""
    w = classified
    known = w[w["held_known"]]
    o = known["outcome"]
    return BaseRate(
        windows=len(known),
        met=int(known["met"].sum()),
        achieved=int(o.isin(["achieved and held", "achieved, reversed"]).sum()),
        held=int((o == "achieved and held").sum()),
        within_chance=int((o == "met, within chance").sum()),
        recent=int((w["outcome"] == "achieved, hold not yet known").sum()),
        chance_share=float(known["chance_meets"].mean()) if len(known) else float("nan"),
        first_start=int(known["start"].min()) if len(known) else None,
        last_start=int(known["start"].max()) if len(known) else None,
    )


def verdict_for(held: int, windows: int, *, within_experience_share: float | None = None) -> str:
    """Return ``unprecedented`` (no window achieved and held it), ``ambitious`` (fewer than
    ``within_experience_share``, default :data:`WITHIN_EXPERIENCE_SHARE`) or ``within
    experience``. E.g. 19 of 456 windows -> 4.2% -> ambitious; 0 of 456 -> unprecedented."""
    if within_experience_share is None:
        within_experience_share = WITHIN_EXPERIENCE_SHARE
    if windows == 0:
        return "not assessed"
    if held == 0:
        return "unprecedented"
    return "ambitious" if held / windows < within_experience_share else "within experience"


def name_list(items: list[str], limit: int | None = None, *, noun: str = "councils") -> str:
    """Join whole names with semicolons (council names can hold commas: "Bristol, City of"),
    the first ``limit`` (default :data:`MAX_NAMES`) in full and the rest counted, never cut."""
    limit = MAX_NAMES if limit is None else limit
    if len(items) <= limit:
        return "; ".join(items)
    rest = len(items) - limit
    return "; ".join(items[:limit]) + f"; and {rest} more {noun if rest != 1 else noun.rstrip('s')}"


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 window``, ``2 windows``."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def windows_by_council(w: pd.DataFrame) -> list[str]:
    """``Council (2016-2019, 2017-2020)`` per council, alphabetically."""
    out = []
    for name, g in w.sort_values(["la_name", "start"]).groupby("la_name", sort=True):
        out.append(f"{name} ({', '.join(f'{a}-{b}' for a, b in zip(g['start'], g['end'], strict=True))})")
    return out


@dataclass
class Evidence:
    """Where a promise sits against councils' record.

    ``rate``: the base rate over other councils' windows; ``achieved``: councils (with window
    years) that achieved and held it; ``neighbours_*``: the same among the council's statistical
    neighbours; ``own``: the council's own record (text); ``windows``: every classified window of
    other councils (for the distribution chart); ``verdict`` and ``text``."""

    subject: str
    test: str
    value: float
    how: How
    lower_is_better: bool
    rate: BaseRate
    achieved: list[str]
    neighbours_total: int
    neighbours_held: int
    neighbours_achieved: list[str]
    own: str
    verdict: str
    text: str
    windows: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def share(self) -> float:
        """Share of council-windows that achieved and held it (0 to 1; NaN with none)."""
        return self.rate.share

    @property
    def n_windows(self) -> int:
        return self.rate.windows


def _pct(x: float) -> str:
    if not np.isfinite(x):
        return "-"
    return f"{x:.0%}" if x >= 0.095 or x == 0 else f"{x:.1%}"


def _fmt_change(x: float, how: How) -> str:
    return f"{x:+.0%}" if how == "ratio" else f"{x:+.1f} per 10,000"


def judge(
    subject: str,
    test: str,
    value: float,
    windows: pd.DataFrame,
    *,
    how: How = "ratio",
    lower_is_better: bool = True,
    la_code: str | None = None,
    neighbours: dict[str, list[str]] | None = None,
    council_name: str | None = None,
) -> Evidence:
    """Return the :class:`Evidence` for a promise of ``value`` (a change, e.g. -0.15) against
    ``windows`` (:func:`window_changes`): the base rate over other councils' windows, the councils
    and years that achieved and held it, the council's neighbours and its own record."""
    cl = classify(windows, value, how=how, lower_is_better=lower_is_better)
    pool = cl[cl["la_code"] != la_code] if la_code else cl
    own = cl[cl["la_code"] == la_code] if la_code else cl.iloc[0:0]
    rate = base_rate(pool)
    held_w = pool[pool["outcome"] == "achieved and held"]
    achieved = windows_by_council(held_w)
    n_councils = pool["la_code"].nunique()
    verdict = verdict_for(rate.held, rate.windows)
    if rate.first_start is None:
        years = ""
    elif rate.first_start == rate.last_start:
        years = f"starting {rate.first_start}"
    else:
        years = f"starting {rate.first_start}-{rate.last_start}"
    hold = int((windows["held_year"] - windows["end"]).iloc[0]) if len(windows) else HOLD
    parts = [
        f"{test}: achieved and held {plural(hold, 'year')} later in {rate.held} of {rate.windows:,} council-windows "
        f"{years} ({_pct(rate.share)}; {n_councils} other councils)."
    ]
    if rate.windows:
        detail = f" The change met the promise in {rate.met} windows"
        if rate.within_chance:
            detail += f", {rate.within_chance} of them by no more than chance variation for a council of that size"
        if rate.achieved:
            gone = _pct(rate.reversed / rate.achieved)
            detail += (
                f"; of the {rate.achieved} real achievements, {rate.reversed} ({gone}) "
                f"reversed within {plural(hold, 'year')}"
            )
        detail += f". Chance alone would meet it in about {_pct(rate.chance_share)} of windows."
        parts.append(detail)
    if rate.recent:
        parts.append(f" {plural(rate.recent, 'more recent window')} achieved it, too recent to know whether it held.")
    if achieved:
        parts.append(f" Achieved and held: {name_list(achieved)}.")
    nb_codes = [c for c in (neighbours or {}).get(la_code or "", []) if c in set(pool["la_code"])]
    nb = pool[pool["la_code"].isin(nb_codes)]
    nb_rate = base_rate(nb)
    nb_held = windows_by_council(nb[nb["outcome"] == "achieved and held"])
    if nb_codes:
        parts.append(
            f" Among {len(nb_codes)} statistical neighbours: {nb_rate.held} of {nb_rate.windows} windows"
            + (f" ({name_list(nb_held)})" if nb_held else "")
            + "."
        )
    own_text = ""
    if la_code and len(own):
        who = council_name or str(own["la_name"].iloc[0])
        best = own.loc[own["change"].idxmin() if lower_is_better else own["change"].idxmax()]
        n_own = int((own["outcome"] == "achieved and held").sum())
        own_text = (
            f"{who}'s own record: best change {_fmt_change(float(best['change']), how)} "
            f"({int(best['start'])}-{int(best['end'])}); achieved and held in {n_own} of "
            f"{int(own['held_known'].sum())} windows."
        )
        parts.append(" " + own_text)
    parts.append(
        f" Verdict: {verdict}"
        + (f" (fewer than 1 in {round(1 / WITHIN_EXPERIENCE_SHARE)} council-windows)" if verdict == "ambitious" else "")
        + "."
    )
    return Evidence(
        subject=subject,
        test=test,
        value=value,
        how=how,
        lower_is_better=lower_is_better,
        rate=rate,
        achieved=achieved,
        neighbours_total=len(nb_codes),
        neighbours_held=nb_rate.held,
        neighbours_achieved=nb_held,
        own=own_text,
        verdict=verdict,
        text="".join(parts),
        windows=pool,
    )


# --------------------------------------------------------------------------- levers and paths


@dataclass(frozen=True)
class Promise:
    """A lever read as a change over a window: ``column`` (a :data:`MEASURES` key), ``value``
    (e.g. -0.15), ``window`` years, ``how``, direction and whether relative to England."""

    column: str
    value: float
    window: int
    how: How
    lower_is_better: bool
    relative_to_england: bool
    test: str


def promise_for(lever: Any, pop_0_25: float | None = None) -> Promise | None:
    """Return the :class:`Promise` a lever makes, or None for levers history cannot judge
    (money levers, or changes that make things worse).

    - incidence -x% at ages a-b: new plans per 10,000 aged a-b (the published age bands that
      make up a-b, else all ages 0-25: :func:`incidence_measure`) fall at least x% relative to
      England over ``max(ramp, MIN_YEARS_INCIDENCE)`` years;
    - ceasing +x%: the share of plans ceasing each year rises x% relative to England over
      ``max(ramp, MIN_YEARS_CEASING)`` years (all ages: published flows have no age detail);
    - placement_shift of s% out of independent special: the independent special share of plans
      falls s% (relative, against England) over ``max(ramp, MIN_YEARS_PLACEMENT_SHIFT)`` years;
    - new_places N in a group: the group's plans per 10,000 aged 0-25 rise by at least
      N / population x 10,000 more than England's over :data:`MIN_YEARS_NEW_PLACES` years
      (plans as a proxy for places); needs ``pop_0_25``.
    """
    if isinstance(lever, IncidenceLever) and lever.change_percent < 0:
        k = max(lever.ramp, MIN_YEARS_INCIDENCE)
        col = incidence_measure(*lever.ages)
        return Promise(
            col,
            lever.change_percent / 100,
            k,
            "ratio",
            True,
            True,
            f"{MEASURES[col].name} falling {-lever.change_percent:.0f}% relative to England within {plural(k, 'year')}",
        )
    if isinstance(lever, CeasingLever) and lever.change_percent > 0:
        k = max(lever.ramp, MIN_YEARS_CEASING)
        return Promise(
            "exit_rate",
            lever.change_percent / 100,
            k,
            "ratio",
            False,
            True,
            f"share of plans ceasing each year rising {lever.change_percent:.0f}% "
            f"relative to England within {plural(k, 'year')}",
        )
    if isinstance(lever, PlacementShiftLever) and lever.from_group == "independent_special":
        k = max(lever.ramp, MIN_YEARS_PLACEMENT_SHIFT)
        return Promise(
            "independent_share",
            -lever.share_percent / 100,
            k,
            "ratio",
            True,
            True,
            f"share of plans in independent special schools falling {lever.share_percent:.0f}% "
            f"relative to England within {plural(k, 'year')}",
        )
    if (
        isinstance(lever, NewPlacesLever)
        and lever.group in ("resourced_provision", "state_special", "independent_special")
        and pop_0_25
    ):
        x = lever.places / pop_0_25 * 1e4
        k = MIN_YEARS_NEW_PLACES
        return Promise(
            f"{lever.group}_per_10k",
            x,
            k,
            "diff",
            False,
            True,
            f"{lever.places} {lever.group.replace('_', ' ')} places ({x:.1f} per 10,000 aged 0-25): "
            f"that group's plans rising that much more than England's within {plural(k, 'year')}",
        )
    return None


def assess_promise(
    subject: str,
    p: Promise,
    metrics: pd.DataFrame,
    *,
    la_code: str | None = None,
    neighbours: dict[str, list[str]] | None = None,
) -> Evidence:
    """Return the :class:`Evidence` for one :class:`Promise` (an age-band incidence promise on
    metrics without the bands is judged on all ages 0-25)."""
    m = MEASURES[p.column]
    if not set(m.num.split("+") + (m.den.split("+") if m.den else [])) <= set(metrics.columns):
        all_ages = MEASURES["new_plans_per_10k"]
        p = dataclasses.replace(p, column="new_plans_per_10k", test=p.test.replace(m.name, all_ages.name))
    w = window_changes(metrics, p.column, window=p.window, how=p.how, relative_to_england=p.relative_to_england)
    ev = judge(
        subject,
        p.test,
        p.value,
        w,
        how=p.how,
        lower_is_better=p.lower_is_better,
        la_code=la_code,
        neighbours=neighbours,
    )
    ev.detail["promise"] = p
    return ev


def assess_lever(
    lever: Any,
    metrics: pd.DataFrame,
    *,
    la_code: str | None = None,
    neighbours: dict[str, list[str]] | None = None,
    pop_0_25: float | None = None,
) -> Evidence | None:
    """Return the :class:`Evidence` for one lever (see :func:`promise_for`), or None."""
    p = promise_for(lever, pop_0_25)
    if p is None:
        return None
    return assess_promise(lever.describe(), p, metrics, la_code=la_code, neighbours=neighbours)


def combined_promises(scenario: Scenario, pop_0_25: float | None = None) -> list[tuple[str, Promise]]:
    """Return one promise per measure that more than one lever moves, the levers together:
    incidence cuts multiply (-10% and -10% -> -19%), shifts out of independent special add
    (40% + 15% -> 55%), new places in a group add; the window is the longest of them."""
    groups: dict[str, list[tuple[Any, Promise]]] = {}
    for lv in scenario.levers:
        p = promise_for(lv, pop_0_25)
        if p is not None:
            groups.setdefault(p.column, []).append((lv, p))
    out = []
    for col, items in groups.items():
        if len(items) < 2:
            continue
        ps = [p for _, p in items]
        k = max(p.window for p in ps)
        if ps[0].how == "diff" or col == "independent_share":
            v = sum(p.value for p in ps)
        else:
            v = float(np.prod([1 + p.value for p in ps]) - 1)
        if col == "independent_share":
            v = max(v, -0.999)
        name = MEASURES[col].name
        test = (
            f"{name} {'falling' if ps[0].lower_is_better else 'rising'} "
            + (f"{abs(v):.0%}" if ps[0].how == "ratio" else f"{v:.1f}")
            + (" relative to England" if ps[0].relative_to_england else "")
            + f" within {plural(k, 'year')} (the {len(ps)} levers together)"
        )
        label = f"together: {', '.join(lv.describe() for lv, _ in items)}"
        out.append((label, Promise(col, v, k, ps[0].how, ps[0].lower_is_better, ps[0].relative_to_england, test)))
    return out


def assess_path(
    totals: dict[int, float],
    independent: dict[int, float],
    new_plans: dict[int, float],
    metrics: pd.DataFrame,
    *,
    la_code: str | None = None,
    neighbours: dict[str, list[str]] | None = None,
    pop_0_25: float | None = None,
) -> list[Evidence]:
    """Return evidence for the scenario's implied path (e.g. the mean over draws):

    - EHCP growth: the path's average yearly growth of ``totals`` (January plans) over its
      ``k`` years against councils' average growth over ``k``-year windows (not relative to
      England: a council has to hold its caseload to that path);
    - independent share: its change (relative) over the path against councils' change;
    - new plans per 10,000 aged 0-25 (needs ``pop_0_25``): relative change from the first to the
      last simulated year against councils' change.

    A path is a council's own future, so these are not taken relative to England (chance is
    judged around England's change, see :func:`window_changes`).
    """
    out: list[Evidence] = []
    ys = sorted(totals)
    if len(ys) >= 2:
        k = ys[-1] - ys[0]
        g = (totals[ys[-1]] / totals[ys[0]]) ** (1 / k) - 1
        w = window_changes(metrics, "ehcp_total", window=k, how="ratio", relative_to_england=False)
        ev = judge(
            "implied path: EHCP growth",
            f"holding EHCP growth to {g:.1%} a year on average for {k} years",
            (1 + g) ** k - 1,
            w,
            la_code=la_code,
            neighbours=neighbours,
        )
        out.append(ev)
        share0 = independent[ys[0]] / totals[ys[0]]
        share1 = independent[ys[-1]] / totals[ys[-1]]
        if share0 > 0:
            r = share1 / share0 - 1
            w = window_changes(metrics, "independent_share", window=k, how="ratio", relative_to_england=False)
            out.append(
                judge(
                    "implied path: independent special share",
                    f"independent special share changing {r:+.0%} in {k} years",
                    r,
                    w,
                    la_code=la_code,
                    neighbours=neighbours,
                )
            )
    ny = sorted(new_plans)
    if len(ny) >= 2 and pop_0_25:
        k = ny[-1] - ny[0]
        r = new_plans[ny[-1]] / new_plans[ny[0]] - 1
        w = window_changes(metrics, "new_plans_per_10k", window=k, how="ratio", relative_to_england=False)
        out.append(
            judge(
                "implied path: new plans per 10,000 aged 0-25",
                f"new plans per 10,000 aged 0-25 changing {r:+.0%} over {k} years",
                r,
                w,
                la_code=la_code,
                neighbours=neighbours,
            )
        )
    return out


COLUMNS = [
    "lever",
    "kind",
    "test",
    "verdict",
    "base_rate",
    "achieved_and_held",
    "windows",
    "reversed",
    "chance_share",
    "neighbours",
    "evidence",
]


def evidence_row(ev: Evidence, *, kind: str = "path") -> dict[str, Any]:
    """Return a table row for one :class:`Evidence`."""
    return {
        "lever": ev.subject,
        "kind": kind,
        "test": ev.test,
        "verdict": ev.verdict,
        "base_rate": ev.rate.share,
        "achieved_and_held": ev.rate.held,
        "windows": ev.rate.windows,
        "reversed": ev.rate.reversed,
        "chance_share": ev.rate.chance_share,
        "neighbours": (
            f"{ev.neighbours_held} of {ev.neighbours_total} councils' windows" if ev.neighbours_total else ""
        ),
        "evidence": ev.text,
    }


def assess_scenario_evidence(
    scenario: Scenario,
    metrics: pd.DataFrame,
    *,
    la_code: str | None = None,
    neighbours: dict[str, list[str]] | None = None,
    pop_0_25: float | None = None,
) -> list[tuple[Any, Evidence | None]]:
    """Return ``(lever, evidence or None)`` for each lever, then ``("combined", evidence)`` per
    measure that several levers move together (:func:`combined_promises`), then ``("plan",
    evidence)`` for all the demand promises at once (:func:`joint_evidence`)."""
    out: list[tuple[Any, Evidence | None]] = []
    for lv in scenario.levers:
        out.append((lv, assess_lever(lv, metrics, la_code=la_code, neighbours=neighbours, pop_0_25=pop_0_25)))
    for label, p in combined_promises(scenario, pop_0_25):
        out.append(("combined", assess_promise(label, p, metrics, la_code=la_code, neighbours=neighbours)))
    whole = joint_evidence(_plan_promises(out), la_code=la_code, neighbours=neighbours)
    if whole is not None:
        out.append(("plan", whole))
    return out


def joint_evidence(
    evidence: list[Evidence],
    *,
    la_code: str | None = None,
    neighbours: dict[str, list[str]] | None = None,
) -> Evidence | None:
    """Return the evidence for the plan as a whole: the share of council x start-year windows in
    which *every* promise in ``evidence`` (one per measure) was achieved and held by the same
    council from the same start year; None with fewer than two promises.

    A plan that needs fewer new plans *and* fewer independent placements at once is judged on
    the councils that did both, not on the easier of the two."""
    if len(evidence) < 2:
        return None
    keys = ["la_code", "start"]
    merged: pd.DataFrame | None = None
    for i, ev in enumerate(evidence):
        w = ev.windows[[*keys, "la_name", "end", "held_known", "outcome"]].rename(
            columns={"held_known": f"known_{i}", "outcome": f"outcome_{i}", "end": f"end_{i}"}
        )
        merged = w if merged is None else merged.merge(w.drop(columns="la_name"), on=keys, how="inner")
    assert merged is not None
    n = len(evidence)
    known = merged[[f"known_{i}" for i in range(n)]].all(axis=1)
    held = pd.concat([merged[f"outcome_{i}"] == "achieved and held" for i in range(n)], axis=1).all(axis=1)
    any_held = pd.concat([merged[f"outcome_{i}"] == "achieved and held" for i in range(n)], axis=1).any(axis=1)
    windows = int(known.sum())
    n_held = int((known & held).sum())
    ends = merged[[f"end_{i}" for i in range(n)]].max(axis=1)
    w_held = merged[known & held].assign(end=ends[known & held])
    names = windows_by_council(w_held)
    rate = BaseRate(
        windows=windows,
        met=int((known & any_held).sum()),
        achieved=n_held,
        held=n_held,
        within_chance=0,
        recent=0,
        chance_share=float(np.prod([ev.rate.chance_share for ev in evidence])),
        first_start=int(merged.loc[known, "start"].min()) if windows else None,
        last_start=int(merged.loc[known, "start"].max()) if windows else None,
    )
    verdict = verdict_for(n_held, windows)
    nb_codes = set((neighbours or {}).get(la_code or "", []))
    nb_mask = known & merged["la_code"].isin(nb_codes)
    nb_held = windows_by_council(merged[nb_mask & held].assign(end=ends[nb_mask & held]))
    tests = "; ".join(ev.test for ev in evidence)
    every = "both" if n == 2 else f"all {n}"
    text = (
        f"The plan as a whole ({tests}): {every} achieved and held by the same council from the same start "
        f"in {n_held} of {windows:,} council-windows ({_pct(rate.share)}); at least one of them in "
        f"{rate.met} ({_pct(rate.met / windows if windows else float('nan'))})."
        + (f" All achieved and held: {name_list(names)}." if names else "")
        + (
            f" Among {len(nb_codes)} statistical neighbours: {len(nb_held)} councils"
            + (f" ({name_list(nb_held)})" if nb_held else "")
            + "."
            if nb_codes
            else ""
        )
        + f" Verdict: {verdict}"
        + (f" (fewer than 1 in {round(1 / WITHIN_EXPERIENCE_SHARE)} council-windows)" if verdict == "ambitious" else "")
        + "."
    )
    return Evidence(
        subject="the plan as a whole",
        test=f"all {n} demand promises at once",
        value=float("nan"),
        how="ratio",
        lower_is_better=True,
        rate=rate,
        achieved=names,
        neighbours_total=len(nb_codes),
        neighbours_held=len(nb_held),
        neighbours_achieved=nb_held,
        own="",
        verdict=verdict,
        text=text,
        windows=merged,
    )


DEMAND_MEASURES = ("new_plans_per_10k", "exit_rate", "independent_share")


def _is_demand(column: str) -> bool:
    return column in DEMAND_MEASURES or (column.startswith("new_plans_") and column.endswith("_per_10k"))


def _plan_promises(items: list[tuple[Any, Evidence | None]]) -> list[Evidence]:
    """One evidence per demand measure (:data:`DEMAND_MEASURES`; new places are means, not
    results): the levers together where several move it, else the lever."""
    out: dict[str, Evidence] = {}
    for want_combined in (True, False):
        for lv, ev in items:
            if ev is None or "promise" not in ev.detail or (lv == "combined") != want_combined:
                continue
            col = ev.detail["promise"].column
            if _is_demand(col):
                out.setdefault(col, ev)
    return list(out.values())


def evidence_table(items: list[tuple[Any, Evidence | None]]) -> pd.DataFrame:
    """The tidy table of :func:`assess_scenario_evidence` (one row per lever; columns :data:`COLUMNS`)."""
    rows = []
    for lv, ev in items:
        if ev is None:
            rows.append(
                {
                    "lever": lv.describe(),
                    "kind": lv.kind,
                    "test": "",
                    "verdict": "not assessed",
                    "base_rate": np.nan,
                    "achieved_and_held": np.nan,
                    "windows": np.nan,
                    "reversed": np.nan,
                    "chance_share": np.nan,
                    "neighbours": "",
                    "evidence": "not judged against history (a money lever, or a change that does not ease demand)",
                }
            )
        else:
            rows.append(evidence_row(ev, kind=lv if isinstance(lv, str) else lv.kind))
    return pd.DataFrame(rows, columns=COLUMNS)


def assess_scenario(
    scenario: Scenario,
    metrics: pd.DataFrame,
    *,
    la_code: str | None = None,
    neighbours: dict[str, list[str]] | None = None,
    pop_0_25: float | None = None,
) -> pd.DataFrame:
    """Return one row per lever (and per combined measure), columns :data:`COLUMNS` (money
    levers: verdict ``not assessed``)."""
    items = assess_scenario_evidence(scenario, metrics, la_code=la_code, neighbours=neighbours, pop_0_25=pop_0_25)
    return evidence_table(items)


def summary_text(table: pd.DataFrame, scenario_name: str, la_name: str) -> str:
    """The answer in one or two sentences: the plan as a whole, then the count of verdicts."""
    judged = table[table["verdict"] != "not assessed"]
    parts = [f"{scenario_name} for {la_name}:"]
    whole = judged[judged["kind"] == "plan"]
    if len(whole):
        r = whole.iloc[0]
        parts.append(
            f"the plan as a whole is {r['verdict']} ({int(r['achieved_and_held'])} of {int(r['windows']):,} "
            f"council-windows since {SINCE} achieved all its demand promises at once and held them)."
        )
    rest = judged[judged["kind"] != "plan"]
    counts = rest["verdict"].value_counts()
    listed = ", ".join(
        f"{int(counts[v])} {v}" for v in ("within experience", "ambitious", "unprecedented") if v in counts
    )
    if listed:
        parts.append(f"Of {len(rest)} promises judged one by one: {listed}.")
    return " ".join(parts)


@dataclass
class Assessment:
    """The realism check of one scenario for one council: ``table`` (tidy, :data:`COLUMNS`) and
    ``evidence`` (per lever, None where not assessed) for charts and pages."""

    scenario: Scenario
    la_code: str
    la_name: str
    table: pd.DataFrame
    evidence: list[tuple[Any, Evidence | None]]
    calibration: str = ""
    path_note: str = ""
    postmortem: str = ""
    tracker: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def summary(self) -> str:
        """The answer in words (:func:`summary_text`)."""
        return summary_text(self.table, self.scenario.name, self.la_name)


def implied_path(
    scenario: Scenario,
    la_code: str,
    metrics: pd.DataFrame,
    *,
    neighbours: dict[str, list[str]] | None = None,
    data: Any | None = None,
    horizon: int = 6,
    draws: int = 200,
    seed: int = 1,
) -> list[Evidence]:
    """Run ``scenario`` for the council from the last published January (``draws`` draws) as
    ``scenario run`` runs it (the published forecast plus the levers' effect on the cohort
    model, :func:`sendcast.scenarios.compare.context_from_store`) and judge its mean path with
    :func:`assess_path`: EHC plans, plans in independent special schools and new plans a year."""
    from sendcast.model import api
    from sendcast.model.forecast import MEASURES as RUN_MEASURES
    from sendcast.scenarios.compare import context_from_store, simulate

    data = data or api.model_data()
    origin = api.check_request(data, None, horizon, draws)
    ctx = context_from_store(la_code, origin=origin, horizon=horizon, draws=draws)
    run = simulate(ctx, scenario, draws=draws, seed=seed)

    years = [ctx.origin + t for t in range(run.values.shape[1])]
    mean = run.values.mean(axis=0)
    tot = dict(zip(years, mean[:, RUN_MEASURES.index("ehcp_total")].tolist(), strict=True))
    ind = dict(zip(years, mean[:, RUN_MEASURES.index("independent_special")].tolist(), strict=True))
    pop = metrics[metrics["la_code"] == ctx.la_code]["pop_0_25"].dropna()
    return assess_path(
        tot,
        ind,
        dict(run.new_plans),
        metrics,
        la_code=ctx.la_code,
        neighbours=neighbours,
        pop_0_25=float(pop.iloc[-1]) if len(pop) else None,
    )


def assess(
    scenario: Scenario,
    la_code: str,
    data: Any | None = None,
    *,
    with_backtest: bool = False,
    with_path: bool = False,
) -> Assessment:
    """Judge ``scenario`` for council ``la_code`` (a code or a name) on the store's data
    (``data``: :class:`sendcast.model.api.ModelData`, default the store's). The one function the
    CLI and the web pages call. ``with_backtest``: add the backtest's headline
    (:func:`sendcast.scenarios.postmortem.realism_backtest`), how often plans given each verdict
    were then achieved, as ``calibration``. ``with_path``: also judge the scenario's implied path
    (:func:`implied_path`; runs the model); a path that cannot be run is left out with the reason
    in ``path_note``."""
    from sendcast.model import api

    data = data or api.model_data()
    code, name = api.resolve_council(la_code, data)
    m = council_metrics(data.series, data.population)
    pop = m[m["la_code"] == code]["pop_0_25"].dropna()
    items = assess_scenario_evidence(
        scenario,
        m,
        la_code=code,
        neighbours=data.neighbours,
        pop_0_25=float(pop.iloc[-1]) if len(pop) else None,
    )
    path_note = ""
    if with_path and not isinstance(data, api.ModelData):
        path_note = "implied path not judged: the model's data are not loaded"
    elif with_path:
        try:
            for ev in implied_path(scenario, code, m, neighbours=data.neighbours, data=data):
                items.append(("path", ev))
        except (api.ForecastInputError, ValueError) as e:
            path_note = f"implied path not judged: {e}"
    from sendcast.scenarios import postmortem as pm

    calibration = postmortem_text = ""
    if with_backtest:
        from sendcast.store import StoreError, open_store

        try:
            store = open_store()
            growth = pm.funding_growth(store)
            sv = pm.safety_valve_councils(store)
            bal = store.observations(measure="dsg_cumulative_balance_pct_income")[["la_code", "year", "value"]]
            postmortem_text = pm.safety_valve_postmortem(m, sv, bal).text
        except (StoreError, KeyError, ValueError):
            growth, sv = None, None
        calibration = pm.backtest_text(pm.realism_backtest(m, growth=growth, safety_valve=sv)[1])
    return Assessment(
        scenario,
        code,
        name,
        evidence_table(items),
        items,
        calibration,
        path_note,
        postmortem_text,
        pm.promise_tracker(scenario, m, code),
    )

"""Unit costs per EHC plan by placement group, calibrated on every year of published spend.

**Placements are the forecast's series**: SEN2 January caseloads by placement group, turned
into financial-year plans by :func:`fy_plans` (5/12 x January Y + 7/12 x January Y+1, see
:mod:`sendcast.money.budget`). The same series is what the budget multiplies, so a unit cost
times the plans of its own calibration year gives back the spend it came from.

**Spend** comes from two publications:

- the 2018-19 to 2021-22 specialist spend series (SEND and AP dashboard
  ``specialist_spend.csv``): state special and independent/non-maintained special top-ups by
  council and year;
- the 2021-22 section 251 high-needs outturn lines (high needs benchmarking tool), each mapped
  by ``costs/s251_line_map.yaml`` to a placement group, a non-placement line, income netted
  off spend, or a total (checked, not counted).

**Levels** (at ``base_year``, the latest outturn year allowed): for state and independent
special, the series' cost per plan in ``base_year`` times the 2021-22 ratio of the group's s251
lines to the series' lines (state special adds its council-paid place funding; the AP top-ups
inside the series go to the AP line); for the other groups, the 2021-22 s251 lines per plan.
Each level is pooled toward the national figure (England's lines over England's plans)::

    unit_cost = w x council + (1 - w) x national,   w = n / (n + k)   (calibration/shrinkage.yaml)

**Growth**: state and independent special grow at the council's yearly growth in cost per plan
(log-linear over the series years up to ``base_year``) pooled toward the national growth with
``calibration/cost_growth_shrinkage.yaml``; the other groups grow with ``costs/inflation.yaml``;
the non-placement lines move with the council's high needs block in the budget
(``costs/non_placement_growth.yaml``, :func:`sendcast.money.budget.non_placement_index`).

When ``base_year`` is before 2021-22 (a back-cast), the 2021-22 s251 lines are the only source
for the non-specialist groups: they are moved back with ``costs/inflation.yaml`` and the
``note`` says so (a look-ahead the back-cast report states).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd

from sendcast.parameters import (
    PLACEMENT_GROUPS,
    Parameter,
    financial_year_label,
    require,
)

T = TypeVar("T")
OUTTURN = "s251_outturn"
S251_YEAR = 2021
SPECIALIST = {"state_special": "state", "independent_special": "independent_non_maintained"}
SERIES_LINES = {
    "state_special": ["topup_maintained_special", "topup_maintained_pru_ap"],
    "independent_special": ["topup_nmss_independent_special", "topup_nmss_independent_pru_ap"],
}
NON_PLACEMENT_LINES: tuple[str, ...] = (
    "alternative_provision",
    "sen_support_inclusion_services",
    "hospital_education_services",
    "therapies_health_services",
    "topup_income",
)
FY_WEIGHTS: tuple[float, float] = (5 / 12, 7 / 12)
ENGLAND = "E92000001"

UNIT_COST_COLUMNS = [
    "la_code",
    "placement",
    "financial_year",
    "unit_cost",
    "basis",
    "council_value",
    "council_plans",
    "national_value",
    "weight",
    "growth",
    "council_growth",
    "national_growth",
    "growth_weight",
    "trace",
    "note",
]


def fy_plans(series: pd.DataFrame, weights: tuple[float, float] = FY_WEIGHTS) -> pd.DataFrame:
    """Return published plans per financial year: ``la_code, financial_year, placement, plans``.

    ``plans(FY Y) = weights[0] x January Y + weights[1] x January Y+1`` from the model series
    (``period_type == 'january'``, placement-group measures). A year needs both Januaries.
    """
    j = series[(series["period_type"] == "january") & series["measure"].isin(PLACEMENT_GROUPS)]
    wide = j.pivot_table(index=["la_code", "measure"], columns="year", values="value", aggfunc="sum")
    rows = []
    years = sorted(int(y) for y in wide.columns)
    for y in years:
        if y + 1 not in wide.columns:
            continue
        v = weights[0] * wide[y] + weights[1] * wide[y + 1]
        rows.append(v.rename("plans").reset_index().assign(financial_year=y))
    if not rows:
        return pd.DataFrame(columns=["la_code", "financial_year", "placement", "plans"])
    out = pd.concat(rows, ignore_index=True).rename(columns={"measure": "placement"})
    return out[["la_code", "financial_year", "placement", "plans"]].dropna()


_NATIONAL_CACHE: dict[tuple[object, ...], object] = {}


def _national(key: tuple[object, ...], make: Callable[[], T]) -> T:
    """England's figures are the same for every council of a run: compute them once per
    (observations, plans) pair. The key holds the frames' ids and sizes; the cache is small."""
    if key not in _NATIONAL_CACHE:
        if len(_NATIONAL_CACHE) > 256:
            _NATIONAL_CACHE.clear()
        _NATIONAL_CACHE[key] = make()
    return _NATIONAL_CACHE[key]  # type: ignore[return-value]


def _council(observations: pd.DataFrame, la_code: str) -> pd.DataFrame:
    """The council's rows (England: every council's rows), indexed once per frame."""
    if la_code == ENGLAND:
        return _national(
            ("la_rows", id(observations), len(observations)),
            lambda: observations[observations["geographic_level"] == "la"],
        )
    groups = _national(
        ("by_code", id(observations), len(observations)),
        lambda: observations.groupby(observations["la_code"].astype(str)).indices,
    )
    idx = groups.get(la_code)
    return observations.iloc[idx] if idx is not None else observations.iloc[0:0]


def _trace(rows: pd.DataFrame) -> str:
    if rows.empty or "file" not in rows.columns:
        return ""
    files = sorted({str(f) for f in rows["file"]})
    return f"{len(rows)} rows of {', '.join(files)}"


def s251_lines(observations: pd.DataFrame, la_code: str) -> pd.Series:
    """Return the council's 2021-22 s251 outturn by line (£; England = sum of councils)."""
    rows = _council(observations, la_code)
    rows = rows[(rows["measure"] == OUTTURN) & (rows["breakdown_topic"] == "line") & (rows["year"] == S251_YEAR)]
    return rows.groupby("breakdown")["value"].sum(min_count=1)


def specialist_series(observations: pd.DataFrame, la_code: str) -> pd.DataFrame:
    """Return the specialist spend series: index financial_year, columns state_special and
    independent_special (£; England = sum of councils)."""
    rows = _council(observations, la_code)
    rows = rows[(rows["measure"] == "specialist_spend_total") & rows["breakdown"].isin(SPECIALIST.values())]
    inv = {v: k for k, v in SPECIALIST.items()}
    if rows.empty:
        return pd.DataFrame(columns=list(SPECIALIST))
    w = rows.pivot_table(index="year", columns="breakdown", values="value", aggfunc="sum")
    return w.rename(columns=inv).reindex(columns=list(SPECIALIST))


def _plans_wide(plans: pd.DataFrame, la_code: str) -> pd.DataFrame:
    if la_code == ENGLAND:
        p = plans[plans["la_code"] != ENGLAND].groupby(["financial_year", "placement"])["plans"].sum()
    else:
        p = plans[plans["la_code"] == la_code].set_index(["financial_year", "placement"])["plans"]
    return p.unstack("placement").reindex(columns=list(PLACEMENT_GROUPS))


def specialist_cost_per_plan(
    observations: pd.DataFrame, plans: pd.DataFrame, la_code: str, params: dict[str, Parameter]
) -> pd.DataFrame:
    """Return the council's yearly specialist cost per plan (index financial_year, columns
    state_special and independent_special): series spend / financial-year SEN2 plans, NaN for
    a year failing the screen of ``calibration/plausible_unit_cost.yaml`` (more than R times
    above or below England's figure that year)."""
    series = specialist_series(observations, la_code)
    pw = _plans_wide(plans, la_code)
    if series.empty:
        return pd.DataFrame(columns=list(SPECIALIST))
    own = pd.DataFrame({g: series[g] / pw[g].reindex(series.index) for g in SPECIALIST})
    own = own.replace([np.inf, -np.inf], np.nan)
    if la_code == ENGLAND:
        return own
    nat = _national(
        ("cpp", id(observations), len(observations), id(plans), len(plans), id(params)),
        lambda: specialist_cost_per_plan(observations, plans, ENGLAND, params),
    ).reindex(own.index)
    r = require(params, "calibration/plausible_unit_cost").value_for_financial_year(2018)
    ratio = own / nat
    return own.where((ratio >= 1 / r) & (ratio <= r))


def log_growth(unit_cost: pd.Series) -> tuple[float, int]:
    """Return (yearly growth, number of yearly changes) from a cost-per-plan series: the
    least-squares slope of log(cost) on year, exp(slope) - 1. (nan, 0) with under 2 points."""
    s = unit_cost.replace([np.inf, -np.inf], np.nan).dropna()
    s = s[s > 0]
    if len(s) < 2:
        return float("nan"), 0
    x = s.index.to_numpy(dtype=float)
    slope = float(np.polyfit(x, np.log(s.to_numpy(dtype=float)), 1)[0])
    return float(np.expm1(slope)), int(x.max() - x.min())


def inflation_index(params: dict[str, Parameter], from_fy: int, to_fy: int) -> float:
    """Return the price index taking a cost in ``from_fy`` prices to ``to_fy`` prices:
    prod over t = from_fy+1 .. to_fy of (1 + r_t), ``costs/inflation.yaml`` (inverse if earlier)."""
    infl = require(params, "costs/inflation")
    lo, hi = sorted((from_fy, to_fy))
    idx = 1.0
    for t in range(lo + 1, hi + 1):
        idx *= 1.0 + infl.value_for_financial_year(t)
    return idx if to_fy >= from_fy else 1.0 / idx


@dataclass
class CostModel:
    """A council's calibrated costs.

    ``unit_costs``: one row per placement group (:data:`UNIT_COST_COLUMNS`) at prices of
    ``base_year``; ``non_placement``: ``line, amount, basis, trace, note`` at ``base_year``
    prices. :meth:`unit_cost_path` and :meth:`non_placement_path` move them to other years.
    """

    la_code: str
    base_year: int
    unit_costs: pd.DataFrame
    non_placement: pd.DataFrame
    params: dict[str, Parameter]

    def growth(self, group: str) -> float:
        """The yearly growth of a group's cost per plan (nan = follows costs/inflation.yaml)."""
        return float(self.unit_costs.set_index("placement")["growth"].astype(float)[group])

    def index(self, group: str | None, year: int, growth_shift: float = 0.0) -> float:
        """Price index from ``base_year`` to ``year`` for a group (None: non-placement lines);
        ``growth_shift`` is added to the yearly growth (money uncertainty)."""
        g = self.growth(group) if group is not None else float("nan")
        n = year - self.base_year
        if np.isnan(g):
            return inflation_index(self.params, self.base_year, year) * (1.0 + growth_shift) ** n
        return (1.0 + g + growth_shift) ** n

    def unit_cost_path(self, years: list[int]) -> pd.DataFrame:
        """Return unit costs (£ per plan a year) by financial year (rows) and group (columns)."""
        uc = self.unit_costs.set_index("placement")["unit_cost"]
        return pd.DataFrame(
            {g: [float(uc[g]) * self.index(g, y) for y in years] for g in PLACEMENT_GROUPS}, index=years
        )


def _raw_levels(
    observations: pd.DataFrame,
    plans: pd.DataFrame,
    la_code: str,
    params: dict[str, Parameter],
    base_year: int,
) -> dict[str, tuple[float, float, str, str]]:
    """Return group -> (council cost per plan at base_year prices, plans, trace, note)."""
    line_map = require(params, "costs/s251_line_map").values
    assert isinstance(line_map, dict)
    lines = s251_lines(observations, la_code)
    pw = _plans_wide(plans, la_code)
    out: dict[str, tuple[float, float, str, str]] = {}
    nan = float("nan")
    p_rp = require(params, "funding/place_funding/resourced_provision").value_for_financial_year(S251_YEAR)

    def n_at(group: str, year: int) -> float:
        if year not in pw.index:
            return nan
        v = pw[group].astype(float).get(year, nan)
        return float(v) if pd.notna(v) else nan

    def group_sum(target: str) -> tuple[float, list[str]]:
        keys = [str(k) for k, v in line_map.items() if v == target]
        have = [k for k in keys if k in lines.index and pd.notna(lines[k])]
        return float(lines.reindex(have).sum()), [k for k in keys if k not in have]

    back = base_year < S251_YEAR
    deflate = inflation_index(params, S251_YEAR, base_year)
    per_plan_series = specialist_cost_per_plan(observations, plans, la_code, params)
    nat_cpp = _national(
        ("cpp", id(observations), len(observations), id(plans), len(plans), id(params)),
        lambda: specialist_cost_per_plan(observations, plans, ENGLAND, params),
    )

    def _mover(g: str):  # type: ignore[no-untyped-def]
        def move(a: int, b: int) -> float:
            s_ = nat_cpp[g].astype(float) if g in nat_cpp else pd.Series(dtype=float)
            if a in s_.index and b in s_.index:
                return float(s_[b] / s_[a])
            return inflation_index(params, a, b)

        return move

    nat_index = {g: _mover(g) for g in SPECIALIST}
    for g in PLACEMENT_GROUPS:
        if g == "ap_pru":
            out[g] = (
                0.0,
                n_at(g, S251_YEAR),
                "",
                "AP place and top-up lines are the non-placement line 'alternative_provision'",
            )
            continue
        if g in SPECIALIST:
            spend, missing = group_sum(g)
            ser_lines = float(lines.reindex(SERIES_LINES[g]).sum()) if len(lines) else nan
            ratio = spend / ser_lines if ser_lines and not missing else nan
            cpp = per_plan_series[g].astype(float) if g in per_plan_series else pd.Series(dtype=float)
            cpp = cpp[(cpp.index <= base_year)].dropna()
            yr = int(cpp.index.max()) if len(cpp) else None
            n = n_at(g, base_year)
            if yr is None or np.isnan(ratio):
                out[g] = (
                    nan,
                    n,
                    "",
                    "no usable specialist spend series or s251 lines for this council; national figure",
                )
                continue
            per_plan = float(cpp[yr]) * ratio
            note = f"{financial_year_label(yr)} series x 2021-22 s251 ratio {ratio:.3f}"
            if yr != base_year:
                per_plan *= nat_index[g](yr, base_year)
                note += f" (latest year passing the screen, moved to {financial_year_label(base_year)} by England's)"
            out[g] = (per_plan, n, f"specialist_spend.csv {financial_year_label(yr)}; s251 2021-22", note)
            continue
        if g in ("mainstream", "resourced_provision"):
            spend, missing = group_sum("mainstream_and_resourced")
            n_ms, n_rp = n_at("mainstream", S251_YEAR), n_at("resourced_provision", S251_YEAR)
            if missing or np.isnan(n_ms) or np.isnan(n_rp) or n_ms + n_rp <= 0:
                out[g] = (nan, n_ms if g == "mainstream" else n_rp, "", "s251 lines or plans absent; national figure")
                continue
            ms = max((spend - n_rp * p_rp) / (n_ms + n_rp), 0.0)
            value = ms if g == "mainstream" else ms + p_rp
            n = n_ms if g == "mainstream" else n_rp
        else:
            spend, missing = group_sum(g)
            n = n_at(g, S251_YEAR)
            if missing or np.isnan(n) or n <= 0:
                out[g] = (nan, n, "", "s251 lines or plans absent; national figure")
                continue
            value = spend / n
        note = "2021-22 s251 lines per 2021-22 plan"
        if back:
            note += f", moved back to {financial_year_label(base_year)} with costs/inflation.yaml (look-ahead)"
        out[g] = (value * deflate, n, "high needs benchmarking 2021-22 s251 outturn", note)
    return out


def growth_rates(
    observations: pd.DataFrame,
    plans: pd.DataFrame,
    la_code: str,
    through_year: int,
    params: dict[str, Parameter],
) -> dict[str, tuple[float, int]]:
    """Return group -> (yearly growth in cost per plan, yearly changes) for state and
    independent special from the screened series (:func:`specialist_cost_per_plan`) up to
    ``through_year``."""
    cpp = specialist_cost_per_plan(observations, plans, la_code, params)
    out = {}
    for g in SPECIALIST:
        if cpp.empty or g not in cpp:
            out[g] = (float("nan"), 0)
            continue
        s = cpp[g].astype(float)
        out[g] = log_growth(s[s.index <= through_year])
    return out


def calibrate_costs(
    observations: pd.DataFrame,
    plans: pd.DataFrame,
    la_code: str,
    params: dict[str, Parameter],
    *,
    through_year: int | None = None,
) -> CostModel:
    """Return the council's :class:`CostModel` using outturn up to ``through_year`` (default:
    the latest year of spend in the store, 2021-22).

    ``observations``: the store's finance rows (s251 outturn, specialist spend); ``plans``:
    :func:`fy_plans` of the model series. Raises ValueError when the store holds no s251
    outturn at all (nothing to calibrate on).
    """
    latest = S251_YEAR
    base = min(through_year, latest) if through_year is not None else latest
    if s251_lines(observations, ENGLAND).empty:
        raise ValueError("the store has no s251 high-needs outturn: costs cannot be calibrated")
    k = require(params, "calibration/shrinkage").value_for_financial_year(S251_YEAR)
    kg = require(params, "calibration/cost_growth_shrinkage").value_for_financial_year(S251_YEAR)
    key = (id(observations), len(observations), id(plans), len(plans), id(params), base)
    nat_levels = _national(("levels", *key), lambda: _raw_levels(observations, plans, ENGLAND, params, base))
    own = _raw_levels(observations, plans, la_code, params, base) if la_code != ENGLAND else nat_levels
    nat_growth = _national(("growth", *key), lambda: growth_rates(observations, plans, ENGLAND, base, params))
    own_growth = growth_rates(observations, plans, la_code, base, params) if la_code != ENGLAND else nat_growth
    rows = []
    for g in PLACEMENT_GROUPS:
        value, n, trace, note = own[g]
        national = nat_levels[g][0]
        if np.isnan(value):
            w, cost, basis = 0.0, national, "national"
        else:
            w = n / (n + k) if la_code != ENGLAND else 1.0
            cost, basis = w * value + (1 - w) * national, "council+national"
        gc, gn, gw, growth = float("nan"), float("nan"), float("nan"), float("nan")
        if g in SPECIALIST:
            gn = nat_growth[g][0]
            gc, changes = own_growth[g]
            gw = changes / (changes + kg) if not np.isnan(gc) else 0.0
            if la_code == ENGLAND:
                gw = 1.0
            growth = gw * gc + (1 - gw) * gn if not np.isnan(gc) else gn
        rows.append(
            {
                "la_code": la_code,
                "placement": g,
                "financial_year": base,
                "unit_cost": cost,
                "basis": basis,
                "council_value": value,
                "council_plans": n,
                "national_value": national,
                "weight": w,
                "growth": growth,
                "council_growth": gc,
                "national_growth": gn,
                "growth_weight": gw,
                "trace": trace,
                "note": note,
            }
        )
    return CostModel(
        la_code=la_code,
        base_year=base,
        unit_costs=pd.DataFrame(rows, columns=UNIT_COST_COLUMNS),
        non_placement=_non_placement(observations, la_code, params, base),
        params=params,
    )


def _non_placement(observations: pd.DataFrame, la_code: str, params: dict[str, Parameter], base: int) -> pd.DataFrame:
    line_map = require(params, "costs/s251_line_map").values
    assert isinstance(line_map, dict)
    lines = s251_lines(observations, la_code)
    nat = _national(("s251", id(observations), len(observations)), lambda: s251_lines(observations, ENGLAND))
    deflate = inflation_index(params, S251_YEAR, base)
    rows = []
    for line in NON_PLACEMENT_LINES:
        target = f"income_netted:{line}" if line == "topup_income" else f"non_placement:{line}"
        keys = [str(k) for k, v in line_map.items() if v == target]
        have = [k for k in keys if k in lines.index and pd.notna(lines[k])]
        sign = -1.0 if line == "topup_income" else 1.0
        if len(have) == len(keys) and keys:
            amount = sign * float(lines.reindex(have).sum()) * deflate
            basis, note = "council", ""
        else:
            amount = float("nan")
            basis, note = "absent", f"s251 line(s) {sorted(set(keys) - set(have))} absent for this council"
        rows.append(
            {
                "la_code": la_code,
                "line": line,
                "financial_year": base,
                "amount": amount,
                "national_amount": sign * float(nat.reindex(keys).sum()) * deflate,
                "s251_lines": ", ".join(keys),
                "basis": basis,
                "note": note + (" moved back from 2021-22 with costs/inflation.yaml" if base < S251_YEAR else ""),
            }
        )
    return pd.DataFrame(rows)


def growth_shrinkage_estimate(
    observations: pd.DataFrame, plans: pd.DataFrame, params: dict[str, Parameter]
) -> dict[str, float]:
    """Return the empirical-Bayes ingredients behind ``calibration/cost_growth_shrinkage.yaml``:
    the within-council variance of yearly log changes in screened cost per plan (s2, robust:
    (1.4826 x MAD)^2 of changes about each council's mean), the variance of true council growth
    across councils (tau2 = robust variance of council means - s2 / n), the implied pseudo-count
    k = s2 / tau2, and tau (the spread of true growth), pooled over state and independent special."""
    changes = []
    for code in sorted(set(plans["la_code"]) - {ENGLAND}):
        cpp = specialist_cost_per_plan(observations, plans, code, params)
        for g in SPECIALIST:
            if cpp.empty or g not in cpp:
                continue
            uc = cpp[g].astype(float).dropna()
            d = np.diff(np.log(uc.to_numpy(dtype=float)))
            if len(d) >= 2:
                changes.append(d)
    if not changes:
        return {"s2": float("nan"), "tau2": float("nan"), "k": float("nan"), "tau": float("nan"), "series": 0.0}

    def robust_var(x: np.ndarray) -> float:
        return float((1.4826 * np.median(np.abs(x - np.median(x)))) ** 2)

    # deviations about a council's own mean of n changes have variance (n - 1) / n x s2
    n_each = np.array([len(d) for d in changes], dtype=float)
    s2 = robust_var(np.concatenate([d - d.mean() for d in changes])) * float(np.mean(n_each / (n_each - 1)))
    means = np.array([d.mean() for d in changes])
    n = float(np.mean([len(d) for d in changes]))
    tau2 = max(robust_var(means) - s2 / n, 1e-6)
    return {"s2": s2, "tau2": tau2, "k": s2 / tau2, "tau": float(np.sqrt(tau2)), "series": float(len(changes))}

"""A council's published history, as arrays the model estimates from.

Built from the store's harmonised tables (``series``: January caseloads and calendar-year flows
on current council geography; ``population``: mid-year population by single year of age),
cut at a forecast origin so that nothing published after it can leak in:

- caseloads up to January ``origin``;
- flows (new plans, requests ...) up to calendar year ``origin - 1``;
- population estimates up to mid-year ``origin - 2`` (ONS publishes mid-year estimates about a
  year after their reference date, so at January ``origin`` the latest is mid ``origin - 2``);
  later years are projected by :func:`project_population`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sendcast.harmonise.population import LEVEL_BREAKS
from sendcast.model.structure import AGE_BANDS, GROUPS, N_AGES, N_BANDS, N_GROUPS

POPULATION_LAG = 2  # years between a mid-year estimate's reference year and a January origin


@dataclass
class CouncilHistory:
    """Published history of one council, indexed by year (January for stocks, calendar for flows)."""

    la_code: str
    la_name: str
    years: np.ndarray  # consecutive years y0..origin
    total: np.ndarray  # (Y,) plans at January
    placement: np.ndarray  # (Y, 7)
    age_bands: np.ndarray  # (Y, 5)
    single_age: np.ndarray  # (Y, 26)
    new_plans: np.ndarray  # (Y,) new plans in calendar year y (between January y and y+1)
    new_plans_bands: np.ndarray  # (Y, 5)
    pop_years: np.ndarray  # mid-years with estimates
    pop: np.ndarray  # (P, 26)
    flags: list[str] = field(default_factory=list)
    requests: np.ndarray = field(default_factory=lambda: np.array([]))  # (Y,) requests for assessment in calendar y
    within_20_weeks: np.ndarray = field(default_factory=lambda: np.array([]))  # (Y,) % of new plans issued in 20 weeks

    def flow(self, name: str, year: int) -> float:
        """A calendar-year flow (``new_plans``, ``requests``, ``within_20_weeks``) in ``year``,
        NaN where not published or outside the history."""
        arr = getattr(self, name)
        i = int(year - self.years[0])
        return float(arr[i]) if 0 <= i < len(arr) and len(arr) == len(self.years) else float("nan")

    @property
    def origin(self) -> int:
        return int(self.years[-1])

    def index(self, year: int) -> int:
        return int(year - self.years[0])


def project_population(pop_years: np.ndarray, pop: np.ndarray, until: int) -> tuple[np.ndarray, np.ndarray]:
    """Extend mid-year population by age (0-25) to ``until`` with a simple cohort projection.

    Each cohort ages one year with the average ratio pop[a+1, t+1] / pop[a, t] (the cohort
    change ratio: survival plus net migration) over the last three pairs of consecutive years,
    leaving out pairs that end at a level break in the estimates (mid-2021, the Census 2021
    rebasing: :data:`sendcast.harmonise.population.LEVEL_BREAKS`); age 0 is held at the
    average of the last three years. Used only when no ONS projection is supplied. Returns
    ``(years, pop)`` covering the published years and the projected ones.
    """
    years = list(pop_years.astype(int))
    rows = [r.astype(float) for r in pop]
    if not years:
        raise ValueError("no population estimates to project from")
    ratios = []
    for i in range(1, len(years)):
        if years[i] == years[i - 1] + 1 and years[i] not in LEVEL_BREAKS:
            prev, cur = rows[i - 1], rows[i]
            with np.errstate(divide="ignore", invalid="ignore"):
                ratios.append(np.where(prev[:-1] > 0, cur[1:] / prev[:-1], 1.0))
    ratio = np.mean(ratios[-3:], axis=0) if ratios else np.ones(N_AGES - 1)
    births = float(np.mean([r[0] for r in rows[-3:]]))
    while years[-1] < until:
        last = rows[-1]
        nxt = np.empty(N_AGES)
        nxt[0] = births
        nxt[1:] = last[:-1] * ratio
        rows.append(nxt)
        years.append(years[-1] + 1)
    return np.array(years), np.vstack(rows)


def _interpolate_gaps(years: np.ndarray, pop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill missing mid-years between published ones by linear interpolation (e.g. mid-2023)."""
    if len(years) == 0:
        return years, pop
    full = np.arange(years.min(), years.max() + 1)
    out = np.empty((len(full), pop.shape[1]))
    for j in range(pop.shape[1]):
        out[:, j] = np.interp(full, years, pop[:, j])
    return full, out


def histories_from_tables(
    series: pd.DataFrame,
    population: pd.DataFrame,
    origin: int,
    *,
    la_codes: list[str] | None = None,
    first_year: int = 2010,
    projection: pd.DataFrame | None = None,
) -> dict[str, CouncilHistory]:
    """Cut the harmonised tables at ``origin`` and return one :class:`CouncilHistory` per council.

    ``series`` columns: la_code, la_name, year, period_type, measure, value.
    ``population`` columns: la_code, year, age, population.
    ``projection`` (optional, same columns): a population projection (e.g. ONS SNPP) used for
    the years after the last estimate available at the origin, instead of sendcast's own cohort
    projection.
    """
    years = np.arange(first_year, origin + 1)
    s = series[(series["year"] >= first_year)]
    jan = s[(s["period_type"] == "january") & (s["year"] <= origin)]
    flow = s[(s["period_type"] == "calendar_year") & (s["year"] <= origin - 1)]
    pop = population[population["year"] <= origin - POPULATION_LAG]
    early_pop = False
    if pop.empty and not population.empty:
        # Origins before the first estimate in the store was published (e.g. January 2015 with
        # estimates from mid-2015): use the earliest estimate only, and flag it. This borrows
        # one later population figure; the caseload and flow data stay strictly pre-origin.
        first = int(population["year"].min())
        pop = population[population["year"] == first]
        early_pop = True
    codes = la_codes if la_codes is not None else sorted(jan["la_code"].unique())
    names = s.drop_duplicates("la_code").set_index("la_code")["la_name"].to_dict()

    def grid(df: pd.DataFrame, measures: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        if df.empty:
            return {c: np.full((len(years), len(measures)), np.nan) for c in codes}
        w = df[df["measure"].isin(measures)].pivot_table(
            index=["la_code", "year"], columns="measure", values="value", aggfunc="first"
        )
        w = w.reindex(columns=measures)
        for c in codes:
            if c in w.index.get_level_values(0):
                out[c] = w.loc[c].reindex(years).to_numpy(dtype=float)
            else:
                out[c] = np.full((len(years), len(measures)), np.nan)
        return out

    age_m = [f"age_{a}" for a in range(N_AGES)]
    band_m = list(AGE_BANDS)
    tot = grid(jan, ["ehcp_total"])
    plc = grid(jan, list(GROUPS))
    bands = grid(jan, band_m)
    single = grid(jan, age_m)
    newp = grid(flow, ["new_plans"])
    newb = grid(flow, [f"new_plans_{b}" for b in band_m])
    leading = grid(flow, ["requests", "plans_within_20_weeks_pct"])
    pop_by = {c: g for c, g in pop.groupby("la_code")}
    out: dict[str, CouncilHistory] = {}
    for c in codes:
        pg = pop_by.get(c)
        if pg is None or pg.empty:
            continue
        pw = pg.pivot_table(index="year", columns="age", values="population", aggfunc="sum")
        pw = pw.reindex(columns=range(N_AGES))
        pw = pw.dropna(how="any")
        if pw.empty:
            continue
        if projection is not None and not projection.empty:
            pj = projection[(projection["la_code"] == c) & (projection["year"] > pw.index.max())]
            if not pj.empty:
                pjw = pj.pivot_table(index="year", columns="age", values="population", aggfunc="sum")
                pjw = pjw.reindex(columns=range(N_AGES)).dropna(how="any")
                pw = pd.concat([pw, pjw])
        py, pv = _interpolate_gaps(pw.index.to_numpy(dtype=int), pw.to_numpy(dtype=float))
        out[c] = CouncilHistory(
            la_code=c,
            la_name=str(names.get(c, c)),
            years=years.copy(),
            total=tot[c][:, 0],
            placement=plc[c].reshape(len(years), N_GROUPS),
            age_bands=bands[c].reshape(len(years), N_BANDS),
            single_age=single[c].reshape(len(years), N_AGES),
            new_plans=newp[c][:, 0],
            new_plans_bands=newb[c].reshape(len(years), N_BANDS),
            pop_years=py,
            pop=pv,
            flags=["population: earliest estimate used (published after the origin)"] if early_pop else [],
            requests=leading[c][:, 0],
            within_20_weeks=leading[c][:, 1],
        )
    return out

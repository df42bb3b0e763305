"""Population aged 0-25 by single year of age on the current councils.

Built from ONS mid-year estimates (:mod:`sendcast.ingest.population_mye`), rebuilt onto the
153 current councils with :func:`sendcast.geography.to_current`. For years before a split,
successors are rebuilt by summing their districts (exact, since ONS publishes districts), not
by shares. Missing single years between published years (mid-2023 in the shipped data) are
linearly interpolated and flagged ``interpolated``.

For the future, :func:`from_snpp` uses a supplied ONS projection; otherwise
:func:`project_population` is a deliberately simple cohort projection (documented there).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import numpy as np
import pandas as pd

from sendcast.geography import ENGLAND, boundary_changes, records, to_current

AGES = range(0, 26)
# Pairs of mid-years whose change mixes a revision with real change (Census 2021 rebasing).
LEVEL_BREAKS: tuple[int, ...] = (2021,)


def _population_shares(shares: pd.DataFrame, obs: pd.DataFrame, changes: pd.DataFrame | None) -> pd.DataFrame:
    """Shares with split counties replaced by their districts (share 1) where all are published."""
    changes = boundary_changes() if changes is None else changes
    codes = set(obs["la_code"].unique())
    rows = []
    replaced = set()
    for ch in records(changes[changes["kind"] == "split"]):
        districts = [d for d in str(ch["districts"]).split(",") if d]
        if districts and all(d in codes for d in districts):
            replaced.add(ch["predecessor_code"])
            for d in districts:
                rows.append(
                    {
                        "predecessor_code": d,
                        "successor_code": ch["current_code"],
                        "kind": "merge",
                        "share": 1.0,
                        "basis": f"district of {ch['predecessor_code']}",
                        "first_year_of_successor": ch["first_year_of_successor"],
                    }
                )
    kept = shares[~shares["predecessor_code"].isin(replaced)]
    return pd.concat([kept, pd.DataFrame(rows, columns=shares.columns)], ignore_index=True)


def _interpolate_gaps(df: pd.DataFrame) -> pd.DataFrame:
    """Add linearly interpolated rows for years missing between published years."""
    years = sorted(df["year"].unique())
    gaps = [y for y in range(years[0], years[-1] + 1) if y not in years]
    df = df.assign(interpolated=False)
    if not gaps:
        return df
    wide = df.pivot_table(index=["la_code", "age"], columns="year", values="population", dropna=False)
    new = []
    for y in gaps:
        before = max(p for p in years if p < y)
        after = min(p for p in years if p > y)
        w = (y - before) / (after - before)
        est = wide[before] * (1 - w) + wide[after] * w
        part = est.rename("population").reset_index()
        part["year"] = y
        new.append(part)
    add = pd.concat(new, ignore_index=True)
    add["continuity"] = "interpolated"
    add["interpolated"] = True
    return pd.concat([df, add[df.columns]], ignore_index=True)


def population_by_age(
    obs: pd.DataFrame,
    councils: pd.DataFrame,
    shares: pd.DataFrame,
    *,
    changes: pd.DataFrame | None = None,
    ages: Iterable[int] = AGES,
) -> pd.DataFrame:
    """Return population by single year of age on current geography.

    Columns: la_code (the current councils plus England ``E92000001``), year (mid-year),
    age (int, 0-25 by default), population, continuity ('published', 'recoded', 'apportioned'
    [district sums or shares], 'interpolated'), interpolated (bool). Missing inputs stay NaN.
    """
    ages = list(ages)
    pop = obs[
        (obs["measure"] == "population")
        & (obs["breakdown_topic"] == "age")
        & obs["breakdown"].isin([str(a) for a in ages])
    ]
    pop = pop[["la_code", "year", "breakdown", "value", "missing_reason"]].rename(columns={"breakdown": "age"})
    pop_shares = _population_shares(shares, pop, changes)
    keep = [*councils["la_code"].tolist(), ENGLAND]
    cur = to_current(pop, pop_shares, keep=keep)
    cur = cur.rename(columns={"value": "population"})
    cur["age"] = cur["age"].astype(int)
    cur = cur[["la_code", "year", "age", "population", "continuity"]]
    out = _interpolate_gaps(cur)
    return out.sort_values(["la_code", "year", "age"]).reset_index(drop=True)


def population_0_25(pop_by_age: pd.DataFrame) -> pd.DataFrame:
    """Return la_code, year, population (ages 0-25 summed; NaN if any age missing), interpolated."""
    g = pop_by_age.groupby(["la_code", "year"], as_index=False)
    return g.agg(
        population=("population", lambda s: s.sum() if s.notna().all() else np.nan),
        interpolated=("interpolated", "any"),
    )


def survival_ratios(pop_by_age: pd.DataFrame, last_year: int, *, window: int = 5) -> pd.DataFrame:
    """Return la_code, age (1-25), ratio: mean of P(age, t+1) / P(age-1, t) over recent years.

    Uses pairs of consecutive published (not interpolated) mid-years within ``window`` years up
    to ``last_year``, leaving out pairs that cross a level break (:data:`LEVEL_BREAKS`). The
    ratio is net migration and survival together, the usual "cohort change ratio".
    """
    p = pop_by_age[
        (pop_by_age["year"] <= last_year) & (pop_by_age["year"] > last_year - window) & ~pop_by_age["interpolated"]
    ]
    wide = p.pivot_table(index=["la_code", "year"], columns="age", values="population")
    pairs = [
        (t, t + 1) for t in sorted(p["year"].unique()) if (t + 1) in set(p["year"]) and (t + 1) not in LEVEL_BREAKS
    ]
    if not pairs:
        raise ValueError(f"no consecutive published mid-years up to {last_year} to estimate cohort ratios")
    ratios = []
    cols = [int(a) for a in wide.columns]
    ages = [a for a in cols if a - 1 in cols]
    for t0, t1 in pairs:
        a0 = wide.xs(t0, level="year")
        a1 = wide.xs(t1, level="year")
        r = pd.DataFrame({a: a1[a] / a0[a - 1] for a in ages})
        ratios.append(r)
    mean = pd.concat(ratios).groupby(level=0).mean()
    mean.index.name = "la_code"
    out = mean.reset_index().melt(id_vars="la_code", var_name="age", value_name="ratio")
    out["age"] = out["age"].astype(int)
    return out


def project_population(pop_by_age: pd.DataFrame, last_year: int, horizon: int, *, window: int = 5) -> pd.DataFrame:
    """Return a simple cohort projection: la_code, year, age, population, method.

    For each projected year, age ``a`` = age ``a-1`` a year earlier times the council's average
    recent cohort change ratio (net migration and survival, :func:`survival_ratios`); age 0 is
    held at the mean of the last three years' age-0 population. Use only when no ONS projection
    is supplied (:func:`from_snpp`); it ignores fertility trends and migration shocks.
    """
    ratios = survival_ratios(pop_by_age, last_year, window=window).set_index(["la_code", "age"])["ratio"]
    base = pop_by_age[pop_by_age["year"] == last_year].set_index(["la_code", "age"])["population"]
    if base.empty:
        raise ValueError(f"no population for mid-{last_year}")
    recent0 = pop_by_age[(pop_by_age["age"] == 0) & pop_by_age["year"].between(last_year - 2, last_year)]
    births = recent0.groupby("la_code")["population"].mean()
    ages = sorted(base.index.get_level_values("age").unique())
    cur = base.unstack("age")
    r = ratios.unstack("age").reindex(index=cur.index, columns=ages)
    out = []
    for step in range(1, horizon + 1):
        nxt = pd.DataFrame(index=cur.index, columns=pd.Index(ages, name="age"), dtype=float)
        nxt[ages[0]] = births.reindex(cur.index)
        for a in ages[1:]:
            nxt[a] = cur[a - 1] * r[a]
        stacked = cast(pd.Series, nxt.stack(future_stack=True))
        part = stacked.rename("population").reset_index()
        part["year"] = last_year + step
        out.append(part)
        cur = nxt
    res = pd.concat(out, ignore_index=True)
    res["method"] = "cohort change ratios (sendcast simple projection)"
    return (
        res[["la_code", "year", "age", "population", "method"]]
        .sort_values(["la_code", "year", "age"])
        .reset_index(drop=True)
    )


def from_snpp(
    projection_obs: pd.DataFrame,
    councils: pd.DataFrame,
    shares: pd.DataFrame,
    *,
    ages: Iterable[int] = AGES,
) -> pd.DataFrame:
    """Return an ONS projection on current councils.

    Columns: la_code, year, age, population, continuity, method.

    ``projection_obs`` are ``population_projection`` observations (:mod:`sendcast.ingest.snpp`).
    Codes are mapped with ``shares`` (e.g. ONS E06000065 -> DfE key E10000023).
    """
    ages = list(ages)
    p = projection_obs[
        (projection_obs["measure"] == "population_projection")
        & (projection_obs["breakdown_topic"] == "age")
        & projection_obs["breakdown"].isin([str(a) for a in ages])
    ]
    p = p[["la_code", "year", "breakdown", "value", "missing_reason"]].rename(columns={"breakdown": "age"})
    cur = to_current(p, shares, keep=[*councils["la_code"].tolist(), ENGLAND])
    cur = cur.rename(columns={"value": "population"})
    cur["age"] = cur["age"].astype(int)
    cur["method"] = "ONS subnational population projection"
    return (
        cur[["la_code", "year", "age", "population", "continuity", "method"]]
        .sort_values(["la_code", "year", "age"])
        .reset_index(drop=True)
    )

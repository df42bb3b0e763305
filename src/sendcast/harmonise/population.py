"""Population aged 0-25 by single year of age on the current councils.

Built from ONS mid-year estimates (:mod:`sendcast.ingest.population_mye`), rebuilt onto the
153 current councils with :func:`sendcast.geography.to_current`. For years before a split,
successors are rebuilt by summing their districts (exact, since ONS publishes districts), not
by shares. Missing single years between published years (mid-2023 in the shipped data) are
linearly interpolated and flagged ``interpolated``.

For the future, :func:`from_snpp` uses a supplied ONS projection; otherwise
:func:`sendcast.model.history.project_population` is a deliberately simple cohort projection
(documented there).
"""

from __future__ import annotations

from collections.abc import Iterable

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

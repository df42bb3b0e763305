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
from pathlib import Path

import numpy as np
import pandas as pd

from sendcast.geography import ENGLAND, boundary_changes, records, to_current
from sendcast.ingest.common import IngestError

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


# A supplied projection is refused when a council's population aged 0-25 in any projected year
# is below half or above twice its latest estimate: a check of the file (a wrong area, unit or
# column), not an assumption about growth (ONS projects council changes of a few % a decade).
PROJECTION_RATIO_BOUNDS = (0.5, 2.0)


def user_projection(
    projection_obs: pd.DataFrame,
    councils: pd.DataFrame,
    shares: pd.DataFrame,
    estimates: pd.DataFrame,
    *,
    file: str | Path,
    ages: Iterable[int] = AGES,
) -> pd.DataFrame:
    """Return a user-supplied projection on current councils, used in full, or raise IngestError.

    ``projection_obs``: validated rows of :func:`sendcast.ingest.snpp.read_projection`;
    ``estimates``: the store's ``population`` table (la_code, year, age, population). Columns
    of the result: la_code, year, age, population (councils only). Refused, naming the file:
    a file covering no current council; a council-year missing an age of ``ages`` or with a
    marker instead of a number; a population of 0 at an age; a council whose total in a
    projected year is outside :data:`PROJECTION_RATIO_BOUNDS` times its latest estimate; a
    projection ending before the latest estimate (nothing would be used).
    """
    ages = list(ages)
    proj = from_snpp(projection_obs, councils, shares, ages=ages)
    proj = proj[proj["la_code"] != ENGLAND]
    names = councils.set_index("la_code")["la_name"].to_dict()
    if proj.empty:
        areas = sorted(set(projection_obs["la_code"]))
        raise IngestError(
            file,
            f"covers no current English council aged {ages[0]}-{ages[-1]} (areas: {', '.join(areas[:5])}"
            f"{', ...' if len(areas) > 5 else ''})",
        )
    full = pd.MultiIndex.from_product([sorted(set(proj["year"])), ages], names=["year", "age"])
    for code, g in proj.groupby("la_code"):
        name = f"{names.get(code, code)} ({code})"
        got = g.set_index(["year", "age"])["population"]
        years = sorted(set(g["year"]))
        missing = full[full.get_level_values("year").isin(years)].difference(got.index.tolist())
        if len(missing):
            y = missing[0][0]
            absent = sorted(a for yy, a in missing if yy == y)
            raise IngestError(
                file,
                f"{name} {y}: ages {_ranges(absent)} missing; a forecast needs every age {ages[0]}-{ages[-1]}",
                field="AGE_GROUP",
            )
        blank = got[got.isna()]
        if len(blank):
            (y, a) = blank.index[0]
            raise IngestError(file, f"{name} {y} age {a}: no number (a marker); every age is needed", field=str(y))
        zero = got[got <= 0]
        if len(zero):
            (y, a) = zero.index[0]
            raise IngestError(file, f"{name} {y} age {a}: population {zero.iloc[0]:g} is not plausible", field=str(y))
        est = estimates[estimates["la_code"] == code]
        if est.empty:
            continue
        last = int(est["year"].max())
        base = float(est.loc[est["year"] == last, "population"].sum())
        totals = got.groupby(level="year").sum()
        if totals.index.max() <= last:
            raise IngestError(
                file, f"{name}: projection ends in {totals.index.max()}, not after the latest estimate (mid-{last})"
            )
        lo, hi = PROJECTION_RATIO_BOUNDS
        ratio = totals / base
        off = ratio[(ratio < lo) | (ratio > hi)]
        if len(off):
            y = int(off.index[0])
            raise IngestError(
                file,
                f"{name} {y}: {totals[y]:,.0f} people aged {ages[0]}-{ages[-1]} against {base:,.0f} estimated for "
                f"mid-{last} ({off.iloc[0]:.3g} times); is this the right area and unit?",
                field=str(y),
            )
    return proj[["la_code", "year", "age", "population"]].reset_index(drop=True)


def projection_covers(projection: pd.DataFrame, la_codes: Iterable[str], *, file: str | Path) -> None:
    """Raise IngestError when a supplied projection has no rows for a council being forecast
    (it would be silently ignored for that council)."""
    have = set(projection["la_code"])
    for code in la_codes:
        if code not in have:
            raise IngestError(
                file, f"has no rows for {code}, the council forecast; it covers {', '.join(sorted(have)[:5])}"
            )


def _ranges(values: list[int]) -> str:
    """'0-3, 7, 9-25' for [0, 1, 2, 3, 7, 9, ..., 25]."""
    out: list[str] = []
    start = prev = values[0]
    for v in [*values[1:], None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        out.append(f"{start}-{prev}" if prev != start else f"{start}")
        if v is not None:
            start = prev = v
    return ", ".join(out)

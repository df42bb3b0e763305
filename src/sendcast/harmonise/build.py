"""Derived store tables: harmonised series and population on the current 153 councils.

Run by :func:`sendcast.store.build_store` after the importers, so the embedded store ships
the analysis-ready tables and forecasts need no re-harmonisation at start-up:

- ``councils``: current councils (code, DfE code, name, region, predecessors);
- ``boundary_changes`` and ``apportionment``: predecessor -> successor links and shares;
- ``series``: EHCP measures (caseload, placement groups, ages, flows) on current councils,
  with ``continuity`` ('published', 'recoded', 'apportioned') saying how each row was made;
  England (``E92000001``) as published;
- ``population``: mid-year population by single age 0-25 on current councils and England;
- ``neighbours_current``: each council's 2025 statistical neighbours as current codes;
- ``reconciliation``: sum of councils vs the national row, per measure and year.
"""

from __future__ import annotations

import pandas as pd

from sendcast import geography
from sendcast.harmonise.ehcp import ehcp_series, reconcile
from sendcast.harmonise.population import population_by_age
from sendcast.harmonise.quality import fill_new_plans, flag_region_copies

ENGLAND = "E92000001"


def derived_tables(obs: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Build the derived tables from the observations and the reference tables."""
    if "la_lookup" not in tables:
        raise ValueError("the LA lookups release (la-lookups) is needed to build the derived tables")
    changes = geography.boundary_changes()
    councils = geography.councils(tables["la_lookup"], changes)
    pop_obs = obs[obs["measure"] == "population"]
    shares = geography.apportionment_shares(pop_obs, changes)
    current = set(councils["la_code"])

    ehcp_obs, flagged = flag_region_copies(obs[obs["source"] == "ehcp-statistics"], tables["la_lookup"])
    raw = ehcp_series(ehcp_obs)
    las = raw[raw["la_code"] != ENGLAND]
    eng = raw[raw["la_code"] == ENGLAND].assign(continuity="published")
    cur = geography.to_current(las, shares, keep=current)
    names = councils.set_index("la_code")["la_name"]
    cur["la_name"] = cur["la_code"].map(names).fillna(cur.get("la_name"))
    cur = cur[cur["la_code"].isin(current)]
    series = pd.concat([cur, eng], ignore_index=True)
    keep_cols = ["la_code", "la_name", "year", "period_type", "measure", "value", "source_release", "continuity"]
    for c in keep_cols:
        if c not in series.columns:
            series[c] = None
    series, repaired = fill_new_plans(series[keep_cols], obs, flagged)
    series = series[keep_cols].sort_values(["la_code", "measure", "period_type", "year"]).reset_index(drop=True)

    population = population_by_age(obs, councils, shares, changes=changes)

    nb_rows = []
    if "statistical_neighbours" in tables:
        nbt = tables["statistical_neighbours"]
        for code in sorted(current):
            try:
                nbs = geography.statistical_neighbours(code, nbt, 2025, changes)
            except (KeyError, ValueError):
                nbs = []
            nb_rows += [{"la_code": code, "rank": i + 1, "neighbour_la_code": n} for i, n in enumerate(nbs)]
    neighbours = pd.DataFrame(nb_rows, columns=["la_code", "rank", "neighbour_la_code"])

    out = {
        "councils": councils,
        "boundary_changes": changes,
        "apportionment": shares,
        "series": series,
        "population": population,
        "neighbours_current": neighbours,
        "data_quality": pd.concat([flagged.assign(step="flag"), repaired.assign(step="repair")], ignore_index=True)
        if len(flagged)
        else pd.DataFrame({"step": pd.Series(dtype=str)}),
    }
    try:
        out["reconciliation"] = reconcile(obs)
    except Exception as exc:  # a reconciliation problem must not stop a build; it is reported
        out["reconciliation"] = pd.DataFrame({"error": [str(exc)]})
    return out

"""The profile's disclosure on the real store: no count of 1-9 shown, and none recoverable by
any subtraction (the seven placement groups add up to the total; a share or rate times its
denominator gives its count back)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sendcast.outputs import profile as prof
from sendcast.outputs.disclosure import determined, is_small, suppression_mask
from sendcast.store import Store

SMALLEST = ("E06000053", "E09000001", "E06000017")  # Isles of Scilly, City of London, Rutland


def _placements(store: Store) -> pd.DataFrame:
    s = store.table("series")
    return s[(s["period_type"] == "january") & s["measure"].isin(["ehcp_total", *prof.PLACEMENTS])].assign(
        comparator="council", period_type="january", period=lambda d: d["year"].astype(str)
    )


def test_hiding_only_small_counts_would_leak(embedded_store: Store) -> None:
    """What the profile did before: with counts of 1-9 hidden and nothing else, a hidden
    placement is the total minus the six others in hundreds of council-years."""
    jan = _placements(embedded_store)
    leaks = []
    for (code, year), g in jan.groupby(["la_code", "year"]):
        g = g.reset_index(drop=True)
        primary = pd.Series(is_small(g["value"].to_numpy()))
        for i in determined(g, "value", primary, prof.RELATIONS):
            leaks.append((code, year, g.loc[i, "measure"], g.loc[i, "value"]))
    assert ("E06000017", 2024, "ap_pru", 1.0) in leaks  # Rutland, January 2024: one plan in AP/PRU
    assert len(leaks) > 900  # 963 council-years in 144 councils on the embedded store


def _check_profile(table: pd.DataFrame) -> None:
    counts = table["unit"].isin(prof.COUNT_UNITS)
    shown = table["value"].notna()
    assert not (counts & shown & pd.Series(is_small(table["value"].to_numpy()), index=table.index)).any()
    hidden = prof.is_suppressed(table["unit"])
    # every subtraction: all placements and the total of a council-year (or England-year) at once
    summed = table[counts & table["comparator"].isin(["council", "england"])]
    for _key, g in summed.groupby(["comparator", "period_type", "period"]):
        if hidden.loc[g.index].any():
            assert determined(g, "value", hidden.loc[g.index], prof.RELATIONS) == [], _key
    # a share or rate is shown only where its count is
    key = ["comparator", "period_type", "period"]
    for derived, base in prof.DERIVED_FROM.items():
        d = table[(table["measure"] == derived) & shown][key]
        b = table[table["measure"] == base][key].assign(base_hidden=hidden[table["measure"] == base].to_numpy())
        joined = d.merge(b, on=key, how="left")
        assert not joined["base_hidden"].eq(True).any(), derived


@pytest.mark.parametrize("la_code", SMALLEST)
def test_smallest_councils(embedded_store: Store, la_code: str) -> None:
    table = prof.profile_table(embedded_store, la_code)
    _check_profile(table)
    if la_code == "E06000017":
        ap = table[(table["measure"] == "ap_pru") & (table["comparator"] == "council") & (table["period"] == "2024")]
        assert np.isnan(ap["value"].item())
        assert prof.format_value(ap["value"].item(), ap["unit"].item()) == "<10"
        others = table[
            table["measure"].isin(prof.PLACEMENTS) & (table["comparator"] == "council") & (table["period"] == "2024")
        ]
        assert others["value"].isna().sum() >= 2  # a second cell is hidden with it


@pytest.mark.slow
def test_every_council(embedded_store: Store) -> None:
    for code in embedded_store.table("councils")["la_code"]:
        _check_profile(prof.profile_table(embedded_store, str(code)))


def test_secondary_mask_matches_the_table(embedded_store: Store) -> None:
    # the profile uses the same rule as every other output: its hidden council counts are
    # exactly suppression_mask's on the published figures
    jan = _placements(embedded_store)
    g = jan[(jan["la_code"] == "E06000017") & (jan["year"] == 2024)].reset_index(drop=True)
    mask = suppression_mask(g, "value", prof.RELATIONS)
    table = prof.profile_table(embedded_store, "E06000017")
    t = table[(table["comparator"] == "council") & (table["period"] == "2024")].set_index("measure")
    for m, hidden in zip(g["measure"], mask, strict=True):
        assert bool(prof.is_suppressed(pd.Series([t.loc[m, "unit"]])).item()) == bool(hidden), m

"""Tests for sendcast.geography: councils, changes, shares, to_current, resolve, neighbours."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sendcast import geography as g
from sendcast.ingest import lookups, neighbours, population_mye

FIXTURES = Path(__file__).parent / "ingest" / "fixtures" / "context"


@pytest.fixture(scope="module")
def real_councils(raw_dir: Path) -> pd.DataFrame:
    return g.councils(lookups.load(raw_dir / "la-lookups").tables["la_lookup"])


@pytest.fixture(scope="module")
def real_shares(raw_dir: Path) -> pd.DataFrame:
    obs = population_mye.load(raw_dir / "ons-mid-year-population-estimates").observations
    return g.apportionment_shares(obs)


# --- sourced YAML ------------------------------------------------------------------------------


def test_every_change_has_a_source_and_valid_kind() -> None:
    ch = g.boundary_changes()
    assert ch["source"].str.len().gt(10).all()
    assert set(ch["kind"]) == {"merge", "split", "recode"}
    assert (ch.loc[ch["kind"] == "split", "districts"] != "").all()
    assert not ch.duplicated(["predecessor_code", "successor_code"]).any()


def _january_years(raw_dir: Path) -> pd.Series:
    """(first, last) January each LA code is in SEN2 2022 (2010-2022) or EHCP 2025 (2019-2024)."""
    a = pd.read_csv(
        raw_dir / "ehcp-statistics-2022" / "data" / "sen2_age_caseload.csv",
        dtype=str,
        usecols=["geographic_level", "new_la_code", "time_period"],
    )
    b = pd.read_csv(
        raw_dir / "ehcp-statistics-2025-partial" / "data" / "caseload.csv",
        dtype=str,
        usecols=["geographic_level", "new_la_code", "time_period"],
    )
    b["time_period"] = b["time_period"].str[:4].astype(int) + 1  # 201819 counts plans at January 2019
    both = pd.concat([a.astype({"time_period": int}), b])
    both = both[both["geographic_level"] == "Local authority"]
    return both.groupby("new_la_code")["time_period"].agg(lambda s: (int(min(s)), int(max(s))))


def test_changes_agree_with_dfe_ehcp_codes(raw_dir: Path) -> None:
    """A predecessor's last January precedes its successor's first (the January after 1 April)."""
    years = _january_years(raw_dir)
    for ch in g.boundary_changes().itertuples():
        if ch.current_code == ch.predecessor_code:  # DfE kept the code (N Yorks, Somerset, Bucks)
            continue
        assert years[ch.predecessor_code][1] == ch.first_year_of_successor, ch
        assert years[ch.current_code][0] == ch.first_year_of_successor + 1, ch
    assert years["E06000060"] == (
        2021,
        2023,
    )  # the alias DfE used for Buckinghamshire, January 2021-2023
    assert years["E10000002"] == (2010, 2024)
    assert years["E10000023"][1] == 2024 and years["E10000027"][1] == 2024  # DfE kept county codes


def test_current_codes_are_current_in_lookup(real_councils: pd.DataFrame) -> None:
    ch = g.boundary_changes()
    assert set(ch["current_code"]) <= set(real_councils["la_code"])
    retired = set(ch["predecessor_code"]) - set(ch["current_code"])
    assert not retired & set(real_councils["la_code"])


# --- councils and resolve ----------------------------------------------------------------------


def test_153_current_councils(real_councils: pd.DataFrame) -> None:
    assert len(real_councils) == 153
    assert real_councils["la_code"].is_unique and real_councils["old_la_code"].is_unique
    bcp = real_councils.set_index("la_code").loc["E06000058", "predecessors"]
    assert "E06000028" in bcp and "E06000029" in bcp and "E10000009" in bcp


@pytest.mark.parametrize("query", ["Norfolk", "norfolk", "926", "E10000020", " NORFOLK "])
def test_norfolk_resolves(real_councils: pd.DataFrame, query: str) -> None:
    assert g.resolve(query, real_councils)["la_code"] == "E10000020"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("N Yorks", "E10000023"),
        ("E06000065", "E10000023"),
        ("815", "E10000023"),
        ("Durham", "E06000047"),
        ("BCP", "E06000058"),
        ("Hull", "E06000010"),
        ("E08000020", "E08000037"),
        ("E06000060", "E10000002"),
    ],
)
def test_other_spellings(real_councils: pd.DataFrame, query: str, code: str) -> None:
    assert g.resolve(query, real_councils)["la_code"] == code


def test_unknown_council_lists_closest(real_councils: pd.DataFrame) -> None:
    with pytest.raises(g.UnknownCouncilError) as exc:
        g.resolve("Norfok Island", real_councils)
    assert len(exc.value.suggestions) == 3 and exc.value.suggestions[0] == "Norfolk"
    assert "Norfolk" in str(exc.value)
    with pytest.raises(g.UnknownCouncilError):
        g.resolve("E10000021", real_councils)  # Northamptonshire split in two: ambiguous


def test_resolve_on_fixture_lookup() -> None:
    c = g.councils(lookups.load(FIXTURES / "la-lookups").tables["la_lookup"])
    assert len(c) == 5
    assert g.resolve("west northants", c)["la_code"] == "E06000062"


# --- shares and to_current ---------------------------------------------------------------------


def test_real_shares_sum_to_one(real_shares: pd.DataFrame) -> None:
    sums = real_shares.groupby("predecessor_code")["share"].sum()
    assert np.allclose(sums, 1.0)
    s = real_shares.set_index(["predecessor_code", "successor_code"])["share"]
    assert 0.05 < s[("E10000009", "E06000058")] < 0.2  # Christchurch is a small part of Dorset CC
    assert "mid-2019 via districts" in real_shares.set_index("successor_code").loc["E06000061", "basis"]


SHARES = pd.DataFrame(
    {
        "predecessor_code": ["P", "P", "M1", "M2"],
        "successor_code": ["A", "B", "C", "C"],
        "kind": ["split", "split", "merge", "merge"],
        "share": [0.6, 0.4, 1.0, 1.0],
        "basis": "synthetic",
        "first_year_of_successor": 2021,
    }
)


def test_hand_checked_apportionment() -> None:
    series = pd.DataFrame(
        {
            "la_code": ["P", "A", "B", "M1", "M2", "C"],
            "year": [2020, 2021, 2021, 2020, 2020, 2021],
            "measure": "ehcp_caseload",
            "value": [1000.0, 650.0, 420.0, 30.0, 12.0, 45.0],
        }
    )
    out = g.to_current(series, SHARES).set_index(["la_code", "year"])
    # P had 1000 plans in 2020, split 0.6/0.4: A = 1000 x 0.6 = 600, B = 1000 x 0.4 = 400.
    assert out.loc[("A", 2020), "value"] == pytest.approx(600)
    assert out.loc[("B", 2020), "value"] == pytest.approx(400)
    assert out.loc[("A", 2020), "continuity"] == "apportioned"
    # Own rows kept as published: A 650 in 2021.
    assert out.loc[("A", 2021), "value"] == 650 and out.loc[("A", 2021), "continuity"] == "published"
    # Merge: C in 2020 = M1 30 + M2 12 = 42.
    assert out.loc[("C", 2020), "value"] == 42
    assert not {"P", "M1", "M2"} & set(g.to_current(series, SHARES, keep=["A", "B", "C"])["la_code"])


def test_missing_predecessor_stays_missing() -> None:
    series = pd.DataFrame(
        {
            "la_code": ["M1", "M2", "M1"],
            "year": [2019, 2019, 2018],
            "value": [30.0, np.nan, 25.0],
            "missing_reason": [None, "confidential (suppressed)", None],
        }
    )
    out = g.to_current(series, SHARES).set_index(["la_code", "year"])
    assert np.isnan(out.loc[("C", 2019), "value"])  # never 30, never 0
    assert "confidential" in out.loc[("C", 2019), "missing_reason"]
    assert np.isnan(out.loc[("C", 2018), "value"])  # M2 not published at all in 2018
    assert out.loc[("C", 2018), "missing_reason"] == "not all predecessors published"


def test_real_sen2_history_for_every_council(
    raw_dir: Path, real_councils: pd.DataFrame, real_shares: pd.DataFrame
) -> None:
    """Every current council gets January 2010-2022 from SEN2 2022, rebuilt before it existed."""
    d = pd.read_csv(raw_dir / "ehcp-statistics-2022" / "data" / "sen2_age_caseload.csv", dtype=str)
    d = d[(d["geographic_level"] == "Local authority") & (d["characteristic_age"] == "Total")]
    series = pd.DataFrame(
        {
            "la_code": d["new_la_code"],
            "year": d["time_period"].astype(int),
            "value": pd.to_numeric(d["Total_all"], errors="coerce"),
        }
    )
    out = g.to_current(series, real_shares, keep=real_councils["la_code"])
    per = out.groupby("la_code")["year"].agg(lambda s: sorted(s))
    assert len(per) == 153
    assert all(years == list(range(2010, 2023)) for years in per)
    assert not out.duplicated(["la_code", "year"]).any()
    o = out.set_index(["la_code", "year"])
    s = real_shares.set_index(["predecessor_code", "successor_code"])["share"]
    raw = series.set_index(["la_code", "year"])["value"]
    bcp_2019 = (
        raw[("E06000028", 2019)] + raw[("E06000029", 2019)] + raw[("E10000009", 2019)] * s[("E10000009", "E06000058")]
    )
    assert o.loc[("E06000058", 2019), "value"] == pytest.approx(bcp_2019)
    assert o.loc[("E06000058", 2020), "continuity"] == "published"
    assert o.loc[("E10000002", 2021), "continuity"] == "recoded"  # published as E06000060
    assert o.loc[("E08000037", 2012), "continuity"] == "recoded"  # published as E08000020
    assert o.loc[("E06000063", 2022), "continuity"] == "apportioned"


# --- statistical neighbours --------------------------------------------------------------------


def test_neighbours_fixture_maps_split_councils() -> None:
    t = neighbours.load(FIXTURES / "statistical-neighbours").tables["statistical_neighbours"]
    assert g.statistical_neighbours("E10000020", t) == ["E10000029", "E10000023"]
    # 2021 edition: Northamptonshire has since split, so both successors stand in for it.
    assert g.statistical_neighbours("E10000020", t, edition=2021) == [
        "E06000061",
        "E06000062",
        "E10000029",
    ]


def test_real_neighbours_for_every_council(raw_dir: Path, real_councils: pd.DataFrame) -> None:
    t = neighbours.load(raw_dir / "statistical-neighbours").tables["statistical_neighbours"]
    for code in real_councils["la_code"]:
        nb = g.statistical_neighbours(code, t)
        assert len(nb) == 10 and code not in nb and set(nb) <= set(real_councils["la_code"]), code
    assert len(g.statistical_neighbours("E06000063", t, edition=2021)) >= 10  # Cumberland via Cumbria


# --- what a user types: announced, refused when ambiguous ----------------------------------------


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("Norfok", "Norfolk"),  # a typo: read as Norfolk, and said so
        ("Bath", "Bath and North East Somerset"),  # the start of one council's name, whole words
        ("Hull", "Kingston upon Hull, City of"),
        ("N Yorks", "North Yorkshire"),
    ],
)
def test_other_spellings_are_announced(real_councils: pd.DataFrame, query: str, name: str) -> None:
    with pytest.warns(g.CouncilMatchWarning, match=re.escape(f"using {name} for {query!r}")):
        assert g.resolve(query, real_councils)["la_name"] == name


@pytest.mark.parametrize("query", ["Norfolk", "norfolk", " NORFOLK ", "926", "E10000020", "St Helens"])
def test_the_name_itself_is_not_announced(real_councils: pd.DataFrame, query: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g.resolve(query, real_councils)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("Lincoln", "no council matches 'Lincoln'; closest: Lincolnshire"),  # part of a word
        ("Kingston", "'Kingston' could be Kingston upon Hull, City of or Kingston upon Thames"),
        ("England", "England is not a council"),
        ("London", "London is a region of 33 councils"),
    ],
)
def test_ambiguous_or_partial_names_are_refused(real_councils: pd.DataFrame, query: str, message: str) -> None:
    with pytest.raises(g.UnknownCouncilError) as exc:
        g.resolve(query, real_councils)
    assert str(exc.value).startswith(message)
    assert "Sunderland" not in str(exc.value) and "Islington" not in str(exc.value)

"""Tests for the population importers (MYE, DfE 0-17) and population on current councils."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from ingest_fixtures import FIXTURES, copy_fixture, rewrite

from sendcast import geography
from sendcast.harmonise import population as hp
from sendcast.ingest import lookups, population_0_17, population_mye
from sendcast.ingest.common import IngestError

NORTHANTS_YAML = """
changes:
  - {predecessor_code: E10000021, successor_code: E06000061, first_year_of_successor: 2021,
     kind: split, districts: [E07000150], source: synthetic}
  - {predecessor_code: E10000021, successor_code: E06000062, first_year_of_successor: 2021,
     kind: split, districts: [E07000151], source: synthetic}
"""


@pytest.fixture(scope="module")
def real_mye(raw_dir: Path) -> pd.DataFrame:
    return population_mye.load(raw_dir / "ons-mid-year-population-estimates").observations


# --- importers -----------------------------------------------------------------------------


def test_fixture_mye() -> None:
    res = population_mye.load(FIXTURES / "mye")
    o = res.observations
    assert set(o["breakdown"]) == {*(str(a) for a in range(90)), "90+", "all"}
    assert set(o["release"]) == {"2019", "2020", "2022"}
    assert "missing: [2021]" in res.notes[0]
    corby = o[(o["la_code"] == "E07000150") & (o["year"] == 2020) & (o["breakdown"] == "5")].iloc[0]
    assert corby["value"] == 11 and corby["period"] == "mid-2020" and corby["unit"] == "persons"
    assert o[o["la_code"] == "E92000001"]["geographic_level"].eq("national").all()


@pytest.mark.parametrize(
    ("old", "new", "field", "line"),
    [
        (
            "2020,synthetic_2020.xls,E07000150,Corby,Non-metropolitan District,1001,11",
            "2020,synthetic_2020.xls,E07000150,Corby,Non-metropolitan District,1001,ten",
            "age_0",
            9,
        ),
        ("age_17,", "age17,", "age_17", 1),
        ("2022,synthetic_2022.xls,E92000001", "22,synthetic_2022.xls,E92000001", "year", 12),
    ],
)
def test_malformed_mye(tmp_path: Path, old: str, new: str, field: str, line: int | None) -> None:
    folder = copy_fixture("mye", tmp_path)
    rewrite(folder / population_mye.FILE, old, new)
    with pytest.raises(IngestError) as exc:
        population_mye.load(folder)
    assert exc.value.field == field
    if line is not None:
        assert exc.value.line == line
    else:
        assert exc.value.line is not None
    assert population_mye.FILE in str(exc.value)


def test_truncated_and_empty_mye(tmp_path: Path) -> None:
    folder = copy_fixture("mye", tmp_path)
    path = folder / population_mye.FILE
    path.write_text(path.read_text()[:-40])
    with pytest.raises(IngestError, match="line 16.*truncated"):
        population_mye.load(folder)
    path.write_text(path.read_text().splitlines()[0] + "\n")
    with pytest.raises(IngestError, match="no rows"):
        population_mye.load(folder)


def test_real_mye_norfolk_level_break(real_mye: pd.DataFrame) -> None:
    nf = real_mye[(real_mye["la_code"] == "E10000020") & real_mye["breakdown"].isin([str(a) for a in range(26)])]
    by_year = nf.groupby("year")["value"].sum()
    # Figures quoted in the release's PROVENANCE.md: Norfolk 0-25.
    assert by_year[2020] == 254_088 and by_year[2021] == 247_828
    assert 2023 not in by_year.index
    assert {"E07000150", "E07000048", "E07000026"} <= set(real_mye["la_code"])  # districts kept


def test_real_mye_districts_add_up_to_counties(real_mye: pd.DataFrame) -> None:
    allages = real_mye[real_mye["breakdown"] == "all"].set_index(["la_code", "year"])["value"]
    ch = geography.boundary_changes()
    for county, year in [("E10000009", 2017), ("E10000021", 2019), ("E10000006", 2021)]:
        districts = ",".join(ch.loc[ch["predecessor_code"] == county, "districts"]).split(",")
        assert sum(allages[(d, year)] for d in districts) == allages[(county, year)], county


def test_fixture_population_0_17() -> None:
    o = population_0_17.load(FIXTURES / "pop017").observations
    nf = o[o["la_code"] == "E10000020"].set_index("year")["value"]
    assert nf[2024] == 171_830 and nf[2023] == 170_640
    bmth = o[o["la_code"] == "E06000028"].iloc[0]
    assert pd.isna(bmth["value"]) and bmth["missing_reason"] == "not available"


def test_real_population_0_17(raw_dir: Path) -> None:
    o = population_0_17.load(raw_dir / "dfe-population-0-17").observations
    assert len(o) == 2132
    assert o[(o["la_code"] == "E10000020") & (o["year"] == 2024)]["value"].iloc[0] == 171_830


# --- harmonised ------------------------------------------------------------------------------


def _fixture_population(tmp_path: Path) -> pd.DataFrame:
    (tmp_path / "changes.yaml").write_text(NORTHANTS_YAML)
    changes = geography.boundary_changes(tmp_path / "changes.yaml")
    obs = population_mye.load(FIXTURES / "mye").observations
    councils = geography.councils(lookups.load(FIXTURES / "la-lookups").tables["la_lookup"], changes)
    shares = geography.apportionment_shares(obs, changes)
    return hp.population_by_age(obs, councils, shares, changes=changes)


def test_population_by_age_districts_and_interpolation(tmp_path: Path) -> None:
    p = _fixture_population(tmp_path).set_index(["la_code", "year", "age"])
    # North Northamptonshire = Corby district: 10 in 2019, 11 in 2020, 13 in 2022 at every age.
    assert p.loc[("E06000061", 2019, 0), "population"] == 10
    assert p.loc[("E06000061", 2019, 0), "continuity"] == "apportioned"
    # mid-2021 missing: (11 + 13) / 2 = 12, flagged.
    row = p.loc[("E06000061", 2021, 7)]
    assert row["population"] == 12 and bool(row["interpolated"])
    assert p.loc[("E92000001", 2022, 25), "population"] == 1003
    assert sorted(p.index.get_level_values("age").unique()) == list(range(26))
    tot = hp.population_0_25(p.reset_index())
    assert tot.set_index(["la_code", "year"]).loc[("E06000062", 2019), "population"] == 20 * 26


def test_from_snpp_maps_alias_codes() -> None:
    obs = pd.DataFrame(
        {
            "la_code": ["E06000065", "E06000065"],
            "year": [2025, 2025],
            "breakdown": ["0", "1"],
            "breakdown_topic": "age",
            "measure": "population_projection",
            "value": [5.0, 6.0],
            "missing_reason": None,
        }
    )
    councils = pd.DataFrame({"la_code": ["E10000023"]})
    shares = geography.apportionment_shares(
        pd.DataFrame(columns=["la_code", "year", "measure", "breakdown_topic", "breakdown", "value"]),
        geography.boundary_changes().query("kind == 'recode'"),
    )
    out = hp.from_snpp(obs, councils, shares)
    assert out["la_code"].tolist() == ["E10000023", "E10000023"]
    assert out["continuity"].eq("recoded").all()


def test_real_population_by_age_all_councils(raw_dir: Path, real_mye: pd.DataFrame) -> None:
    councils = geography.councils(lookups.load(raw_dir / "la-lookups").tables["la_lookup"])
    shares = geography.apportionment_shares(real_mye)
    p = hp.population_by_age(real_mye, councils, shares)
    tot = hp.population_0_25(p)
    assert tot["population"].notna().all()
    assert (tot.groupby("year")["la_code"].nunique() == 154).all()  # 153 councils + England
    assert sorted(tot["year"].unique()) == list(range(2015, 2025))
    assert tot[tot["year"] == 2023]["interpolated"].all()
    t = tot.set_index(["la_code", "year"])["population"]
    # England 0-25 equals the sum of the 153 councils every year (districts/aliases fill gaps).
    for y in range(2015, 2025):
        councils_sum = t.xs(y, level="year").drop("E92000001").sum()
        assert councils_sum == pytest.approx(t[("E92000001", y)], rel=1e-9), y
    # 2024 is on current geography: ages 0-17 match DfE's 0-17 file for Norfolk exactly.
    nf = p[(p["la_code"] == "E10000020") & (p["year"] == 2024) & (p["age"] <= 17)]["population"].sum()
    assert nf == 171_830

"""Tests for the ONS subnational population projection importer."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from ingest_fixtures import FIXTURES, copy_fixture, rewrite

from sendcast.ingest import snpp
from sendcast.ingest.common import IngestError


def test_sexes_summed_and_age_labels() -> None:
    res = snpp.load(FIXTURES / "snpp")
    o = res.observations.set_index(["breakdown", "year"])["value"]
    assert res.release == "2022"
    assert o[("0", 2022)] == pytest.approx(200.0)  # 100.5 male + 99.5 female
    assert o[("90+", 2023)] == pytest.approx(32.0)  # 11 + 21
    assert o[("all", 2022)] == pytest.approx(2100.0)
    assert len(o) == 6  # Births rows ignored: 3 ages x 2 years
    assert set(res.observations["measure"]) == {"population_projection"}


def test_one_sex_only_is_missing_not_half(tmp_path: Path) -> None:
    folder = copy_fixture("snpp", tmp_path)
    f = folder / "2022_SNPP_Population_males_females.csv"
    rewrite(f, "E10000020,Norfolk,Population,female,0,99.5,99.0\n", "")
    o = snpp.load(folder).observations
    row = o[(o["breakdown"] == "0") & (o["year"] == 2022)].iloc[0]
    assert pd.isna(row["value"]) and row["missing_reason"] == "only one sex supplied"


def test_real_sample(raw_dir: Path) -> None:
    o = snpp.load(raw_dir / "ons-snpp-2022-format-sample").observations
    assert set(o["la_code"]) == {"E06000047"}
    assert sorted(o["breakdown"].astype(int).unique()) == list(range(11))
    assert (o["year"].min(), o["year"].max()) == (2022, 2047)
    assert o[(o["breakdown"] == "0") & (o["year"] == 2022)]["value"].iloc[0] == 4642.0


@pytest.mark.parametrize(
    ("old", "new", "field", "line"),
    [
        ("female,0,99.5", "female,0,nine", "2022", 3),
        ("male,All ages", "male,Every age", "AGE_GROUP", 6),
        ("Population,male,0", "Population,unknown,0", "SEX", 2),
    ],
)
def test_malformed_snpp(tmp_path: Path, old: str, new: str, field: str, line: int) -> None:
    folder = copy_fixture("snpp", tmp_path)
    rewrite(folder / "2022_SNPP_Population_males_females.csv", old, new)
    with pytest.raises(IngestError) as exc:
        snpp.load(folder)
    assert (exc.value.field, exc.value.line) == (field, line)
    assert "2022_SNPP_Population_males_females.csv" in str(exc.value)


def test_no_snpp_file(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    assert not snpp.detect(tmp_path)
    with pytest.raises(IngestError):
        snpp.load(tmp_path)

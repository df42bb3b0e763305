"""Tests for the statistical neighbours importer."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_fixtures import FIXTURES, copy_fixture, rewrite

from sendcast.ingest import neighbours
from sendcast.ingest.common import IngestError


def test_fixture_neighbours_mapped_to_ons_codes() -> None:
    t = neighbours.load(FIXTURES / "statistical-neighbours").tables["statistical_neighbours"]
    assert list(t.columns) == neighbours.COLUMNS
    n25 = t[(t["edition"] == 2025) & (t["la_code"] == "E10000020")].sort_values("rank")
    assert n25["neighbour_la_code"].tolist() == ["E10000029", "E10000023"]
    assert n25["closeness"].tolist() == ["Very close", "Close"]  # spaces and case tidied


def test_real_neighbours(raw_dir: Path) -> None:
    t = neighbours.load(raw_dir / "statistical-neighbours").tables["statistical_neighbours"]
    assert len(t) == 3140
    assert set(t["edition"]) == {2021, 2025}
    assert (t.groupby(["edition", "old_la_code"])["rank"].apply(sorted).map(len) == 10).all()
    assert t["neighbour_la_code"].notna().all()
    norfolk = t[(t["edition"] == 2025) & (t["old_la_code"] == "926")].sort_values("rank")
    assert norfolk["neighbour_la_name"].iloc[0] == "Suffolk"


def test_bad_rank_names_line(tmp_path: Path) -> None:
    folder = copy_fixture("statistical-neighbours", tmp_path)
    rewrite(folder / neighbours.FILE, "East of England,2,815", "East of England,11,815")
    with pytest.raises(IngestError) as exc:
        neighbours.load(folder)
    assert (exc.value.line, exc.value.field) == (3, "rank")


def test_council_listed_as_its_own_neighbour_names_line(tmp_path: Path) -> None:
    folder = copy_fixture("statistical-neighbours", tmp_path)
    rewrite(folder / neighbours.FILE, "East of England,2,815", "East of England,2,926")
    with pytest.raises(IngestError, match="926 is listed as its own neighbour") as exc:
        neighbours.load(folder)
    assert (exc.value.line, exc.value.field) == (3, "neighbour_la_number")

"""Tests for the LA code lookup importer (real files when present, synthetic fixtures always)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_fixtures import FIXTURES, copy_fixture, rewrite

from sendcast.ingest import lookups
from sendcast.ingest.common import IngestError


def test_fixture_lookup_columns_and_alias() -> None:
    res = lookups.load(FIXTURES / "la-lookups")
    t = res.tables["la_lookup"]
    assert list(t.columns) == lookups.LA_LOOKUP_COLUMNS
    assert res.observations.empty
    assert t["is_current"].sum() == 5  # Northamptonshire stopped in 2020/21
    ny = t[t["old_la_code"] == "815"].iloc[0]
    assert ny["la_code"] == "E10000023" and ny["ons_alias_code"] == "E06000065"
    nh = t[t["old_la_code"] == "928"].iloc[0]
    assert (nh["first_year"], nh["last_year"], bool(nh["is_current"])) == (2018, 2020, False)


def test_real_lookup_153_current(raw_dir: Path) -> None:
    t = lookups.load(raw_dir / "la-lookups").tables["la_lookup"]
    assert len(t) == 159
    cur = t[t["is_current"]]
    assert len(cur) == 153 and cur["la_code"].is_unique and cur["old_la_code"].is_unique
    aliases = dict(zip(cur["la_code"], cur["ons_alias_code"], strict=True))
    assert aliases["E10000002"] == "E06000060"
    assert aliases["E10000023"] == "E06000065"
    assert aliases["E10000027"] == "E06000066"
    assert cur["la_type"].notna().all()


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("new_la_code", "ons_code", "new_la_code"),  # renamed column
        ("926.0,E10000020", "9x6,E10000020", "old_la_code"),  # not a 3-digit code
        ("201819,202425", "2018,202425", "first_time_period"),  # not an academic year
    ],
)
def test_malformed_lookup_names_file_line_field(tmp_path: Path, old: str, new: str, field: str) -> None:
    folder = copy_fixture("la-lookups", tmp_path)
    rewrite(folder / lookups.DFE_CODES_FILE, old, new)
    with pytest.raises(IngestError) as exc:
        lookups.load(folder)
    assert exc.value.field == field
    assert lookups.DFE_CODES_FILE in str(exc.value)
    assert exc.value.line is not None


def test_truncated_and_empty_lookup(tmp_path: Path) -> None:
    folder = copy_fixture("la-lookups", tmp_path)
    path = folder / lookups.DFE_CODES_FILE
    path.write_text(path.read_text().rstrip("\n").rsplit(",", 3)[0] + "\n")
    with pytest.raises(IngestError, match=r"line 7.*truncated"):
        lookups.load(folder)
    path.write_text("")
    with pytest.raises(IngestError, match="empty"):
        lookups.load(folder)

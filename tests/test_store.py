"""The store: published figures come back exactly; builds are atomic; status says what is loaded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sendcast.ingest.common import IngestError
from sendcast.store import Store, StoreError, build_store, resolve_releases, status


@pytest.fixture(scope="module")
def store(embedded_store: Store) -> Store:
    return embedded_store


def _caseload(store: Store, code: str, year: int) -> float:
    df = store.query(
        "SELECT value FROM observations WHERE la_code = ? AND measure = 'ehcp_caseload' "
        "AND breakdown_topic = 'total' AND period_type = 'january' AND year = ?",
        [code, year],
    )
    assert len(df) == 1, df
    return float(df["value"].iloc[0])


def test_published_figures_come_back_exactly(store: Store) -> None:
    assert _caseload(store, "E10000020", 2010) == 4877  # Norfolk, January 2010 (2022 release)
    assert _caseload(store, "E10000020", 2024) == 10736  # Norfolk, January 2024 (2025 release)
    assert _caseload(store, "E92000001", 2024) == 576474  # England, national row, 2025 release


def test_every_current_council_has_a_continuous_history(store: Store) -> None:
    s = store.query(
        "SELECT la_code, count(DISTINCT year) AS n FROM series WHERE measure = 'ehcp_total' "
        "AND period_type = 'january' AND value IS NOT NULL GROUP BY la_code"
    )
    councils = store.table("councils")
    assert len(councils) == 153
    n = s.set_index("la_code")["n"]
    assert all(n.get(c, 0) == 15 for c in councils["la_code"])  # January 2010 to 2024


def test_status_reports_releases_and_periods(store: Store) -> None:
    st = status(store)
    sources = {p["source"] for p in st["periods"]}
    assert {"ehcp-statistics", "ons-mid-year-estimates", "dsg-allocations"} <= sources
    assert st["rows"] > 1_000_000


def test_later_release_wins_and_is_recorded() -> None:
    import pandas as pd

    base = {
        "la_code": "E10000020",
        "old_la_code": "926",
        "la_name": "Norfolk",
        "geographic_level": "la",
        "measure": "ehcp_caseload",
        "breakdown_topic": "total",
        "breakdown": "total",
        "period_type": "january",
        "year": 2022,
        "period": "2022-01",
        "missing_reason": None,
        "unit": "plans",
        "source": "ehcp-statistics",
        "file": "f.csv",
        "line": 2,
    }
    obs = pd.DataFrame([{**base, "value": 8670.0, "release": "2022"}, {**base, "value": 8671.0, "release": "2025"}])
    kept, sup = resolve_releases(obs)
    assert len(kept) == 1 and kept["value"].iloc[0] == 8671.0
    assert sup.iloc[0]["kept_release"] == "2025" and sup.iloc[0]["dropped_release"] == "2022"


def test_failed_build_leaves_the_existing_store_untouched(raw_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    for name in ("safety-valve-agreements", "la-lookups"):
        shutil.copytree(raw_dir / name, src / name)
    dest = tmp_path / "store"
    build_store(src, dest, derived=False)
    before = (dest / "manifest.json").read_text()
    target = next((src / "safety-valve-agreements").glob("*.csv"))
    text = target.read_text(encoding="utf-8-sig").splitlines()
    target.write_text("\n".join(text[:5]) + "\nNorfolk\n")  # a truncated last row
    with pytest.raises(IngestError, match=target.name):
        build_store(src, dest, derived=False)
    assert (dest / "manifest.json").read_text() == before
    assert not list(tmp_path.glob(".sendcast-build-*"))  # no temporary folder left behind


def test_unrecognised_source_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("hello")
    with pytest.raises(StoreError, match="no importer recognised"):
        build_store(tmp_path, tmp_path / "store", derived=False)

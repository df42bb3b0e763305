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


# --------------------------------------------------------------------------- issue 11: builds


FIXTURES = Path(__file__).parent / "ingest" / "fixtures" / "context"
POP_FILE = "ons_mid-year_population_estimates_2023_to_2024.csv"


def _small_source(tmp_path: Path, name: str = "src") -> Path:
    """A tiny source folder: synthetic LA lookups and population 0-17 (no derived tables)."""
    src = tmp_path / name
    shutil.copytree(FIXTURES / "la-lookups", src / "la-lookups")
    shutil.copytree(FIXTURES / "pop017", src / "dfe-population-0-17")
    return src


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_destination_that_is_a_user_folder_is_refused(tmp_path: Path) -> None:
    src = _small_source(tmp_path)
    folder = tmp_path / "my-documents"
    folder.mkdir()
    (folder / "thesis.docx").write_text("years of work")
    with pytest.raises(StoreError, match="not empty and is not a sendcast store"):
        build_store(src, folder, derived=False)
    assert (folder / "thesis.docx").read_text() == "years of work"
    afile = tmp_path / "file.txt"
    afile.write_text("keep me")
    with pytest.raises(StoreError, match="is a file"):
        build_store(src, afile, derived=False)
    assert afile.read_text() == "keep me" and not list(tmp_path.glob("file.txt*.old"))


def test_home_and_current_folder_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = _small_source(tmp_path)
    home = tmp_path / "home"
    home.mkdir()  # empty: it would pass the empty-folder rule, so the refusal is by name
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(home)
    for dest in (Path("."), Path("~"), Path(str(home)), Path("/")):
        with pytest.raises(StoreError, match="refusing to build a store into"):
            build_store(src, dest, derived=False)
    assert list(home.iterdir()) == []


def test_store_with_foreign_files_is_not_replaced(tmp_path: Path) -> None:
    src = _small_source(tmp_path)
    dest = tmp_path / "store"
    build_store(src, dest, derived=False)
    (dest / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="also other files"):
        build_store(src, dest, derived=False)
    assert (dest / "notes.txt").read_text() == "mine"


def test_second_build_at_once_fails_with_a_message(tmp_path: Path) -> None:
    from sendcast.store import build_lock

    src = _small_source(tmp_path)
    dest = tmp_path / "store"
    with build_lock(dest.resolve()):
        with pytest.raises(StoreError, match="another sendcast build is writing"):
            build_store(src, dest, derived=False)
    assert not dest.exists()
    build_store(src, dest, derived=False)  # the lock is free again
    assert (dest / "manifest.json").is_file()


def test_leftovers_of_killed_builds_are_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import tempfile

    systmp = tmp_path / "systemp"
    systmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(systmp))
    src = _small_source(tmp_path)
    dest = tmp_path / "store"
    own = tmp_path / ".store.sendcast-build-1-abc"  # this store's: removed (we hold its lock)
    dead = tmp_path / ".other.sendcast-build-999999999-abc"  # another store's, process gone
    legacy = tmp_path / ".sendcast-build-k3j4h5g6"  # older version, no owner: removed when old
    fresh = tmp_path / ".sendcast-build-zzzzzzzz"  # ... but not while it may be in use
    old_release = systmp / "sendcast-release-abcd1234"
    for d in (own, dead, legacy, fresh, old_release, tmp_path / "store.old"):
        d.mkdir()
        (d / "big.parquet").write_bytes(b"x" * 10)
    for d in (legacy, old_release):
        os.utime(d, (1, 1))
    build_store(src, dest, derived=False)
    assert not any(d.exists() for d in (own, dead, legacy, old_release, tmp_path / "store.old"))
    assert fresh.exists()
    assert not list(tmp_path.glob(".store.sendcast-build-*"))  # the build's own folder is gone too


def test_swap_is_one_atomic_exchange(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from sendcast import store as store_mod

    src = _small_source(tmp_path)
    dest = tmp_path / "store"
    build_store(src, dest, derived=False)
    renames: list[tuple[str, str]] = []
    for fn in ("rename", "replace"):
        real = getattr(os, fn)
        monkeypatch.setattr(
            store_mod.os, fn, lambda a, b, _real=real: (renames.append((str(a), str(b))), _real(a, b))[1]
        )
    build_store(src, dest, derived=False)
    # the store folder itself is never renamed away: a reader always finds a store at dest
    assert all(Path(a) != dest.resolve() for a, _ in renames)
    assert (dest / "manifest.json").is_file()


def test_zip_is_unpacked_beside_the_store_with_a_size_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import zipfile

    from sendcast import store as store_mod

    src = _small_source(tmp_path)
    z = tmp_path / "release.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in src.rglob("*"):
            if p.is_file():
                zf.write(p, p.relative_to(src).as_posix())
    dest = tmp_path / "out" / "store"
    seen: list[Path] = []
    real = store_mod.extract_zip
    monkeypatch.setattr(store_mod, "extract_zip", lambda s, t, **k: (seen.append(t), real(s, t, **k))[1])
    build_store(z, dest, derived=False)
    assert seen and seen[0].parent.parent == dest.parent.resolve()  # not the system temp folder
    assert not list(dest.parent.glob(".store.sendcast-build-*"))
    monkeypatch.setattr(store_mod, "extract_zip", real)
    monkeypatch.setattr(store_mod, "MAX_UNPACKED_BYTES", 100)
    before = _tree(dest)
    with pytest.raises(StoreError, match="more than the 100 bytes allowed"):
        build_store(z, dest, derived=False)
    assert _tree(dest) == before


def test_corrupt_zip_member_is_one_line_error(tmp_path: Path) -> None:
    import zipfile

    z = tmp_path / "release.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("la-lookups/dfe_la_codes_from_ehcp_2025.csv", "old_la_code,new_la_code\n" * 2000)
    data = bytearray(z.read_bytes())
    data[60:90] = b"\x00" * 30  # damage the compressed member data
    z.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="damaged or unreadable zip"):
        build_store(z, tmp_path / "store", derived=False)
    assert not (tmp_path / "store").exists()


def test_symlinks_in_a_source_folder_are_not_followed(tmp_path: Path) -> None:
    src = _small_source(tmp_path)
    secret = tmp_path / "secret.csv"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    target = src / "dfe-population-0-17" / POP_FILE
    target.unlink()
    target.symlink_to(secret)
    with pytest.raises(StoreError, match="symbolic link") as exc:
        build_store(src, tmp_path / "store", derived=False)
    assert "root:x" not in str(exc.value)


def test_build_from_one_release_updates_and_never_shrinks(tmp_path: Path) -> None:
    src = _small_source(tmp_path)
    dest = tmp_path / "store"
    full = build_store(src, dest, derived=False)
    assert ["la-lookups", "2025"] in [list(r) for r in full["releases"]]
    only = tmp_path / "only"
    shutil.copytree(src / "dfe-population-0-17", only / "dfe-population-0-17")
    f = only / "dfe-population-0-17" / POP_FILE
    f.write_text(f.read_text().replace("171830", "171831"))
    part = build_store(only, dest, derived=False)
    assert [list(r) for r in part["releases"]] == [list(r) for r in full["releases"]]
    assert part["kept_releases"] == [["la-lookups", "2025"]]
    st = Store(dest)
    assert "la_lookup" in st.tables() and len(st.table("la_lookup")) == len(Store(dest).table("la_lookup"))
    v = st.query("SELECT value FROM observations WHERE la_code = 'E10000020' AND year = 2024")["value"]
    assert v.tolist() == [171831.0]  # the release built replaced its old rows
    assert part["rows"] == full["rows"]


def test_same_release_in_two_folders_with_different_values_is_an_error(tmp_path: Path) -> None:
    src = _small_source(tmp_path)
    shutil.copytree(src / "dfe-population-0-17", src / "copy-of-population")
    f = src / "copy-of-population" / POP_FILE
    f.write_text(f.read_text().replace("171830", "171999"))
    with pytest.raises(StoreError, match="given twice with different figures") as exc:
        build_store(src, tmp_path / "store", derived=False)
    assert "copy-of-population" in str(exc.value) and "dfe-population-0-17" in str(exc.value)
    f.write_text(f.read_text().replace("171999", "171830"))  # an exact copy is kept once
    m = build_store(src, tmp_path / "store", derived=False)
    assert Store(tmp_path / "store").query("SELECT count(*) AS n FROM observations")["n"].iloc[0] == m["rows"]


def test_store_env_pointing_nowhere_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sendcast.store import open_store

    monkeypatch.setenv("SENDCAST_STORE", str(tmp_path / "nowhere"))
    with pytest.raises(StoreError, match="SENDCAST_STORE=.*no sendcast data store there"):
        open_store()


def test_a_publication_must_give_the_tables_it_should() -> None:
    import pandas as pd

    from sendcast.ingest import ImportResult
    from sendcast.ingest.common import empty_observations
    from sendcast.store import check_results

    nothing = ImportResult(source="ons-snpp", release="2022", observations=empty_observations())
    with pytest.raises(StoreError, match="snpp-folder: recognised as ons-snpp but gave no rows"):
        check_results([nothing], ["snpp-folder"])
    no_lookup = ImportResult(
        source="la-lookups",
        release="2025",
        observations=empty_observations(),
        tables={"other": pd.DataFrame({"a": [1]})},
    )
    with pytest.raises(StoreError, match="gave no la_lookup table"):
        check_results([no_lookup], ["la-lookups"])


def test_data_build_refusal_is_one_line_and_exit_2(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sendcast.cli import app

    src = _small_source(tmp_path)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    res = CliRunner().invoke(app, ["data", "build", "--source", str(src), "--dest", str(folder)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and "not empty and is not a sendcast store" in res.output
    assert (folder / "keep.txt").read_text() == "mine"


def test_data_status_with_store_env_pointing_nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from sendcast.cli import app

    monkeypatch.setenv("SENDCAST_STORE", str(tmp_path / "nowhere"))
    res = CliRunner().invoke(app, ["data", "status"])
    assert res.exit_code == 2 and "SENDCAST_STORE" in res.output and "Traceback" not in res.output

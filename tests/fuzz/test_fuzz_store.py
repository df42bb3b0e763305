"""Fuzz store builds: a damaged source file gives a clean error and leaves the store byte for
byte as it was, or a valid build (issue 11)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fuzzing import FIXTURES, FUZZ, apply, clean_or_valid, copy_folder, mutation
from hypothesis import given
from hypothesis import strategies as st

from sendcast.store import Store, build_store

FILES = {
    "dfe-population-0-17": ("pop017", "ons_mid-year_population_estimates_2023_to_2024.csv"),
    "la-lookups": ("la-lookups", "dfe_la_codes_from_ehcp_2025.csv"),
}


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@FUZZ
@given(folder=st.sampled_from(sorted(FILES)), change=mutation())
def test_a_damaged_source_never_changes_the_store(folder: str, change: tuple) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src = root / "src"
        for name, (fixture, _) in FILES.items():
            copy_folder(FIXTURES / fixture, src / name)
        dest = root / "store"
        build_store(src, dest, derived=False)
        before = _tree(dest)
        apply(src / folder / FILES[folder][1], change)
        m = clean_or_valid(lambda: build_store(src, dest, derived=False))
        if m is None:
            assert _tree(dest) == before  # nothing stored changed
        else:
            n = Store(dest).query("SELECT count(*) AS n FROM observations")["n"].iloc[0]
            assert n == m["rows"]
        assert sorted(p.name for p in root.iterdir() if p.name.startswith(".")) == [".store.sendcast-lock"]

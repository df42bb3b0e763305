"""Helpers for the importer tests: copies of the synthetic release folders, made malformed."""

from __future__ import annotations

import shutil
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "context"


def copy_fixture(name: str, tmp_path: Path) -> Path:
    """Copy fixture folder ``name`` and la-lookups into ``tmp_path``; return the copy."""
    for sub in {name, "la-lookups"}:
        shutil.copytree(FIXTURES / sub, tmp_path / sub)
    return tmp_path / name


def rewrite(path: Path, old: str, new: str) -> None:
    """Replace text once in a copied fixture file (to make it malformed)."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")

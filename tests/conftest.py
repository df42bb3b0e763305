"""Shared test fixtures: where the real published files are, and the installed store (if present)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sendcast.store import Store

REPO = Path(__file__).resolve().parents[1]


def raw_data_dir() -> Path | None:
    """The folder of official releases (``../shared/data/raw``), or None when absent."""
    env = os.environ.get("SENDCAST_RAW")
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared" / "data" / "raw", REPO / ".." / ".." / "shared" / "data" / "raw"]
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return None


@pytest.fixture(scope="session")
def raw_dir() -> Path:
    """The real published files; tests using this are skipped when they are not present."""
    d = raw_data_dir()
    if d is None:
        pytest.skip("official data folder ../shared/data/raw not present")
    return d


@pytest.fixture(scope="session")
def embedded_store() -> Store:
    """The installed data store; tests using this are skipped when there is none."""
    from sendcast.store import StoreError, open_store

    s = open_store()
    try:
        _ = s.manifest
    except (StoreError, FileNotFoundError):
        pytest.skip("no data store installed")
    return s

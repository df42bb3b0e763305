"""Synthetic SEN2 returns for the person-level tests (generated into tmp folders, never committed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sendcast.personlevel.synth import Simulation, write_synthetic


@pytest.fixture(autouse=True)
def _key_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Generated keys go to a test folder, never the user's ~/.config."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture(scope="module")
def defective(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Simulation]:
    """Three years of a small council, with seeded defects in the last return."""
    d = tmp_path_factory.mktemp("defective")
    return d, write_synthetic(d, people=600, years=3, seed=11, defects=True)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Simulation]:
    """Three clean years of a small council."""
    d = tmp_path_factory.mktemp("clean")
    return d, write_synthetic(d, people=600, years=3, seed=12, defects=False)

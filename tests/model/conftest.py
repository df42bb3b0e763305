"""Shared fixtures for the model's tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture
def edited_parameter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, str, str], Path]]:
    """``edit(file, line, replacement)``: the model's parameter files copied to a temporary
    folder with ``line`` of ``<file>.yaml`` replaced, and read from there (caches cleared before
    and after); returns the edited file's path."""
    from sendcast.model import ensemble, prequential, stockflow, structure

    def clear() -> None:
        structure.load_parameter.cache_clear()
        ensemble.method.cache_clear()
        stockflow.settings.cache_clear()

    def edit(name: str, line: str, replacement: str) -> Path:
        copy = tmp_path / "model"
        if not copy.exists():
            shutil.copytree(structure.PARAM_DIR, copy)
        f = copy / f"{name}.yaml"
        assert line in f.read_text()
        f.write_text(f.read_text().replace(line, replacement))
        monkeypatch.setattr(structure, "PARAM_DIR", copy)
        monkeypatch.setattr(prequential, "PARAM_DIR", copy)  # the past points' fingerprint reads them too
        clear()
        return f

    yield edit
    clear()

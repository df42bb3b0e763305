"""Importers: one module per publication, each turning files exactly as published into tidy tables.

Every importer module exposes the same small interface (see :class:`Importer`):

- ``SOURCE``: the publication id written to the ``source`` column;
- ``detect(folder) -> bool``: whether a release folder (or file) looks like this publication;
- ``load(folder) -> ImportResult``: the tidy observation table (columns of
  :data:`sendcast.ingest.common.OBSERVATION_COLUMNS`) plus any reference tables
  (lookups, statistical neighbours ...), and the files it read.

The registry :data:`IMPORTERS` is filled in :mod:`sendcast.ingest.registry`; the store builder
walks a source folder and hands each sub-folder to every importer whose ``detect`` says yes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pandas as pd


@dataclass
class ImportResult:
    """What one importer produced from one release folder."""

    source: str
    release: str
    observations: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Importer(Protocol):
    SOURCE: str

    def detect(self, folder: Path) -> bool: ...

    def load(self, folder: Path) -> ImportResult: ...

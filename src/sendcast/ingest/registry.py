"""The list of importers the store builder runs, in order (later releases after earlier ones)."""

from __future__ import annotations

import importlib
from types import ModuleType

# One module per publication, in sendcast.ingest. Order matters only for logging.
IMPORTER_MODULES: list[str] = [
    "lookups",
    "neighbours",
    "population_mye",
    "population_0_17",
    "snpp",
    "ehcp_2022",
    "ehcp_2025",
    "tribunals",
    "lait",
    "dsg",
    "hn_benchmarking",
    "dashboard",
    "safety_valve",
]


def importers() -> list[ModuleType]:
    """Import and return every importer module that exists in this installation."""
    mods: list[ModuleType] = []
    for name in IMPORTER_MODULES:
        try:
            mods.append(importlib.import_module(f"sendcast.ingest.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"sendcast.ingest.{name}":
                raise
    return mods

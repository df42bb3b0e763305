"""Shared helpers for benchmarks: peak memory of this process and its children, results file."""

from __future__ import annotations

import json
import platform
import resource
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def peak_rss_mb() -> float:
    """Peak resident memory (MB) of this process and of its finished child processes."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0  # Linux reports kB


def record(name: str, data: dict[str, Any]) -> None:
    """Print and save a benchmark record."""
    data = {"benchmark": name, "python": sys.version.split()[0], "machine": platform.machine(), **data}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=1))
    print(json.dumps(data, indent=1))

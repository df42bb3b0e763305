"""Where the published files are, for the fuzz tests that damage copies of them."""

from __future__ import annotations

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]


def raw_folder(name: str) -> Path | None:
    """``shared/data/raw/<name>``, or None when the published files are not present."""
    env = os.environ.get("SENDCAST_RAW")
    bases = [Path(env)] if env else []
    bases += [_REPO.parent / "shared" / "data" / "raw", _REPO / ".." / ".." / "shared" / "data" / "raw"]
    for b in bases:
        src = b / name
        if src.is_dir():
            return src.resolve()
    return None

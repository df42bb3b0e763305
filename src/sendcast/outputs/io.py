"""Atomic file writing for every output (a reader never sees half a file)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

FORMATS = ("table", "csv", "parquet", "json", "html", "xlsx")


def write_atomic_with(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file in ``path``'s folder, then ``os.replace`` it into
    place (for writers that want a path: openpyxl, pandas). The temporary file is removed if
    ``write`` fails, so a reader sees the old file or the whole new one, never half."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; outputs are ordinary readable files
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically (see :func:`write_atomic_with`)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return write_atomic_with(path, lambda tmp: tmp.write_bytes(raw))


def frame_bytes(df: pd.DataFrame, fmt: str) -> bytes:
    """Serialise a tidy table as csv, json (records) or parquet."""
    if fmt == "csv":
        return df.to_csv(index=False).encode("utf-8")
    if fmt == "json":
        return df.to_json(orient="records", indent=1).encode("utf-8")
    if fmt == "parquet":
        import io

        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return buf.getvalue()
    raise ValueError(f"format {fmt!r} is not a table format (csv, json, parquet)")


def write_frame(df: pd.DataFrame, path: str | Path, fmt: str) -> Path:
    """Write a tidy table atomically in ``fmt``."""
    return write_atomic(path, frame_bytes(df, fmt))


def write_json(obj: Any, path: str | Path) -> Path:
    """Write a JSON document atomically."""
    return write_atomic(path, json.dumps(obj, indent=1, default=str))

"""Atomic file writing for every output (a reader never sees half a file), with the user's
umask, and the one rule that keeps spreadsheet formulas out of text cells."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

FORMATS = ("table", "csv", "parquet", "json", "html", "xlsx")

# a text cell starting with one of these is run as a formula by Excel, LibreOffice and Sheets
# (OWASP "CSV injection"); tab and carriage return are included as OWASP advises
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class OutputError(OSError):
    """An output cannot be written where asked (a folder, a read-only place, a missing drive)."""


def escape_formula(value: object) -> object:
    """``value`` with a leading apostrophe when it is text that a spreadsheet would run as a
    formula (``=SUM(A1)`` -> ``'=SUM(A1)``); every other value unchanged. Every CSV and XLSX
    writer passes its text cells through this (see :func:`escape_text_cells`)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def escape_text_cells(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells (and text column names) are :func:`escape_formula`-ed;
    numbers are left as numbers (a negative number is not a formula)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            out[col] = out[col].map(escape_formula)
    out.columns = [escape_formula(c) for c in out.columns]
    return out


def output_mode() -> int:
    """The permission bits a new file gets under the user's umask (0644 under umask 022,
    0600 under 077), as ``open()`` would give; ``mkstemp`` always gives 0600."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _check_target(p: Path) -> None:
    if p.is_dir():
        raise OutputError(f"{p} is a folder: give a file name to write to")


def _temp_beside(p: Path) -> Path:
    """A new empty temporary file in ``p``'s folder (created if needed)."""
    _check_target(p)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {p}: {exc.strerror or exc}") from exc
    os.close(fd)
    return Path(tmp)


def _replace(tmp: Path, p: Path) -> None:
    try:
        os.chmod(tmp, output_mode())
        os.replace(tmp, p)
    except OSError as exc:
        raise OutputError(f"cannot write {p}: {exc.strerror or exc}") from exc


def write_atomic_with(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file in ``path``'s folder, then ``os.replace`` it into
    place (for writers that want a path: openpyxl, pandas). The temporary file is removed if
    ``write`` fails, so a reader sees the old file or the whole new one, never half. The file
    gets the user's umask (:func:`output_mode`). Raises :class:`OutputError` when ``path`` is a
    folder or cannot be written."""
    p = Path(path)
    tmp = _temp_beside(p)
    try:
        write(tmp)
        _replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return p


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically (see :func:`write_atomic_with`)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return write_atomic_with(path, lambda tmp: tmp.write_bytes(raw))


def write_atomic_many(files: Mapping[str | Path, bytes | str]) -> list[Path]:
    """Write several files (an output and its ``.meta.json``) so that none is replaced unless
    all could be prepared: every temporary file is written first, then each is swapped in."""
    temps: list[tuple[Path, Path]] = []
    try:
        for path, data in files.items():
            p = Path(path)
            tmp = _temp_beside(p)
            temps.append((tmp, p))
            tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        for tmp, p in temps:
            _replace(tmp, p)
    except BaseException:
        for tmp, _p in temps:
            tmp.unlink(missing_ok=True)
        raise
    return [p for _t, p in temps]


def frame_bytes(df: pd.DataFrame, fmt: str) -> bytes:
    """Serialise a tidy table as csv (text cells formula-escaped), json (records) or parquet."""
    if fmt == "csv":
        return escape_text_cells(df).to_csv(index=False).encode("utf-8")
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


def json_bytes(obj: Any) -> bytes:
    """A JSON document as UTF-8 bytes (values JSON cannot hold are written as text)."""
    return json.dumps(obj, indent=1, default=str).encode("utf-8")


def write_json(obj: Any, path: str | Path) -> Path:
    """Write a JSON document atomically."""
    return write_atomic(path, json_bytes(obj))

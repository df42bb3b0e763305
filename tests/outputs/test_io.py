"""Atomic writes: a reader sees the old file or the whole new one, never half, and nothing is left behind."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from sendcast.outputs.io import write_atomic, write_atomic_with


def test_write_atomic_replaces_whole_file_readable_by_all(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "a.csv"
    write_atomic(out, "x,y\n1,2\n")
    write_atomic(out, "x,y\n3,4\n")
    assert out.read_text() == "x,y\n3,4\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert [p.name for p in out.parent.iterdir()] == ["a.csv"]


def test_failed_writer_leaves_old_file_and_no_temporary(tmp_path: Path) -> None:
    out = tmp_path / "budget.xlsx"
    out.write_text("old")

    def half_then_fail(tmp: Path) -> None:
        tmp.write_text("half a workbook")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic_with(out, half_then_fail)
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["budget.xlsx"]

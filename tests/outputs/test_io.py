"""Atomic writes: a reader sees the old file or the whole new one, never half, and nothing is left behind;
files get the user's umask; text cells that a spreadsheet would run as formulas are escaped."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from sendcast.outputs.io import (
    OutputError,
    escape_formula,
    escape_text_cells,
    frame_bytes,
    write_atomic,
    write_atomic_many,
    write_atomic_with,
)


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


def _with_umask(mask: int, path: Path) -> int:
    old = os.umask(mask)
    try:
        write_atomic(path, "x\n")
    finally:
        os.umask(old)
    return stat.S_IMODE(path.stat().st_mode)


def test_write_atomic_replaces_whole_file(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "a.csv"
    write_atomic(out, "x,y\n1,2\n")
    write_atomic(out, "x,y\n3,4\n")
    assert out.read_text() == "x,y\n3,4\n"
    assert [p.name for p in out.parent.iterdir()] == ["a.csv"]


def test_files_follow_the_users_umask(tmp_path: Path, umask: None) -> None:
    # 0666 & ~022 = 0644 (readable by all); 0666 & ~077 = 0600 (owner only); 0666 & ~002 = 0664
    assert _with_umask(0o022, tmp_path / "a.csv") == 0o644
    assert _with_umask(0o077, tmp_path / "b.csv") == 0o600
    assert _with_umask(0o002, tmp_path / "c.csv") == 0o664
    assert os.umask(0o022) == 0o022  # the umask itself is left as it was


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


def test_a_folder_or_unwritable_place_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="is a folder"):
        write_atomic(tmp_path, "x")
    with pytest.raises(OutputError, match="cannot write /sys/sendcast-test.csv"):
        write_atomic("/sys/sendcast-test.csv", "x")  # sysfs refuses new files, even to root
    assert list(tmp_path.iterdir()) == []


def test_many_files_none_replaced_unless_all_can_be_written(tmp_path: Path) -> None:
    out = tmp_path / "p.csv"
    out.write_text("old")
    (tmp_path / "p.csv.meta.json").mkdir()  # the metadata cannot be written
    with pytest.raises(OutputError, match="is a folder"):
        write_atomic_many({out: "new", tmp_path / "p.csv.meta.json": "{}"})
    assert out.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv", "p.csv.meta.json"]


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("Norfolk", "Norfolk"),
        ("a=b", "a=b"),
    ],
)
def test_escape_formula(text: str, escaped: str) -> None:
    assert escape_formula(text) == escaped


def test_csv_text_cells_are_escaped_numbers_are_not() -> None:
    df = pd.DataFrame({"scenario": ["=1+1", "baseline"], "value": [-5.0, 3.0]})
    assert escape_text_cells(df)["value"].tolist() == [-5.0, 3.0]
    text = frame_bytes(df, "csv").decode()
    assert text.splitlines() == ["scenario,value", "'=1+1,-5.0", "baseline,3.0"]

"""The CLI boundary: every exception a user can cause becomes one line and exit 2, never a
traceback; messages are not read as Rich markup; library warnings never reach the output;
council spellings read another way are announced, and ambiguous ones refused."""

from __future__ import annotations

import csv
import errno
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from sendcast.cli import Boundary, app
from sendcast.cli_parts import common
from sendcast.ingest.common import IngestError

runner = CliRunner()


def _lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def _app_raising(exc: BaseException) -> typer.Typer:
    a = typer.Typer(cls=Boundary, add_completion=False)

    @a.command()
    def boom() -> None:
        raise exc

    @a.command()
    def other() -> None:  # two commands, so "boom" is a sub-command as in sendcast
        pass

    return a


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (csv.Error("field larger than field limit (131072)"), "cannot read a CSV file: field larger than"),
        (zipfile.BadZipFile("Bad CRC-32 for file 'caseload.csv'"), "a zip file is damaged or not a zip"),
        (RecursionError("maximum recursion depth exceeded"), "nested too deeply"),
        (MemoryError(), "not enough memory for this request"),
        (PermissionError(errno.EACCES, "Permission denied", "/srv/out.csv"), "/srv/out.csv: Permission denied"),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "out"), "out: Is a directory"),
        (FileNotFoundError(errno.ENOENT, "No such file or directory", "/nowhere/store"), "/nowhere/store: No such"),
        (UnicodeDecodeError("utf-8", b"\xff\xfe", 0, 1, "invalid start byte"), "not in the expected text encoding"),
        (ValueError("day is out of range for month"), "ValueError: day is out of range for month"),
        (
            IngestError("caseload.csv", "unknown marker '[c]'", line=3, field="ehcp"),
            "caseload.csv, line 3, field 'ehcp': unknown marker '[c]'",
        ),
        (ZeroDivisionError("division by zero"), "unexpected ZeroDivisionError: division by zero"),
        (ModuleNotFoundError("No module named x", name="statsforecast"), "pip install statsforecast"),
    ],
)
def test_every_exception_is_one_line_exit_2(exc: BaseException, message: str) -> None:
    r = runner.invoke(_app_raising(exc), ["boom"])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    (line,) = _lines(r.output)
    assert line.startswith("error: ") and message in line, line


def test_a_huge_message_stays_one_line() -> None:
    r = runner.invoke(_app_raising(csv.Error("x" * 131_073 + "\nsecond line")), ["boom"])
    (line,) = _lines(r.output)
    assert len(line) <= common.MAX_MESSAGE + len("error: ")


def test_markup_in_messages_is_printed_as_written() -> None:
    r = runner.invoke(_app_raising(IngestError("f.csv", "unknown marker [c] in [bold]x[/bold]")), ["boom"])
    assert "unknown marker [c] in [bold]x[/bold]" in r.output


def test_library_warnings_are_captured() -> None:
    a = typer.Typer(cls=Boundary, add_completion=False)

    @a.command()
    def nan() -> None:
        typer.echo(f"median {np.nanmedian(np.array([np.nan]))}")  # numpy: "All-NaN slice encountered"
        warnings.warn("statsforecast says something", UserWarning, stacklevel=1)

    @a.command()
    def other() -> None:
        pass

    r = runner.invoke(a, ["nan"])
    assert r.exit_code == 0
    assert r.output.strip() == "median nan"


# --------------------------------------------------------------------------- real commands


@pytest.mark.usefixtures("embedded_store")
def test_out_onto_a_folder_or_read_only_place(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    for out, message in ((tmp_path, "is a folder"), (Path("/sys/sendcast.csv"), "cannot write /sys/sendcast.csv")):
        r = runner.invoke(app, ["forecast", "Rutland", "--draws", "10", "--horizon", "1", "--out", str(out)])
        assert r.exit_code == 2, r.output
        assert "Traceback" not in r.output
        assert message in r.output
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


@pytest.mark.usefixtures("embedded_store")
def test_output_not_replaced_when_its_metadata_cannot_be_written(tmp_path: Path) -> None:
    out = tmp_path / "p.csv"
    out.write_text("old")
    (tmp_path / "p.csv.meta.json").mkdir()
    r = runner.invoke(app, ["forecast", "Rutland", "--draws", "10", "--horizon", "1", "--out", str(out)])
    assert r.exit_code == 2 and "p.csv.meta.json is a folder" in r.output
    assert out.read_text() == "old"


def test_huge_runs_refused_up_front(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model must not start")

    monkeypatch.setattr("sendcast.model.api.forecast", no_model)
    monkeypatch.setattr(common, "available_memory", lambda: 16 * 2**30)
    r = runner.invoke(app, ["forecast", "--all", "--draws", "100000", "--horizon", "30"])
    assert r.exit_code == 2, r.output
    # 100,000 draws x 31 Januarys x 26 ages x 7 placements x 8 bytes = 4.5 GB per council,
    # about four such arrays per worker
    (line,) = _lines(r.output)
    assert "would need about" in line and "GB of memory and 16.0 GB is free" in line
    need = common.simulation_bytes(100_000, 30, workers=2)
    assert 30 * 2**30 < need < 40 * 2**30


@pytest.mark.usefixtures("embedded_store")
@pytest.mark.parametrize(
    ("args", "wanted", "unwanted"),
    [
        (["profile", "Lincoln"], "closest: Lincolnshire", "Lincolnshire had"),
        (["profile", "England"], "England is not a council", "Sunderland"),
        (["profile", "Kingston"], "could be Kingston upon Hull, City of or Kingston upon Thames", "Islington"),
    ],
)
def test_ambiguous_names_refused(args: list[str], wanted: str, unwanted: str) -> None:
    r = runner.invoke(app, args)
    assert r.exit_code == 2
    assert wanted in r.output and unwanted not in r.output
    assert len(_lines(r.output)) == 1


@pytest.mark.usefixtures("embedded_store")
def test_fuzzy_name_announced() -> None:
    r = runner.invoke(app, ["profile", "Norfok", "--format", "csv"])
    assert r.exit_code == 0
    assert "note: using Norfolk for 'Norfok'" in r.output
    assert r.output.count("using Norfolk") == 1


def test_sendcast_own_value_errors_read_without_their_type() -> None:
    import pandas as pd

    from sendcast.outputs.io import frame_bytes

    try:
        frame_bytes(pd.DataFrame(), "pdf")  # raised by sendcast: its message is for users
    except ValueError as exc:
        assert common.user_message(exc) == "format 'pdf' is not a table format (csv, json, parquet)"
    try:
        pd.Timestamp("2023-02-30")  # raised by a library: its type says where it came from
    except ValueError as exc:
        assert common.user_message(exc) == "DateParseError: day is out of range for month: 2023-02-30"

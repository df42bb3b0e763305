"""What every command shares: default draws and seed, the one-line error at the CLI boundary,
notes for a user (council spellings read another way), and the memory check for big runs.

Not a command part (it has no ``register``): parts and ``sendcast.cli`` import from it.
"""

from __future__ import annotations

import csv
import os
import sys
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

DEFAULT_DRAWS = 1000  # Monte Carlo draws, for every command that simulates
DEFAULT_SEED = 20240101  # the model's default seed (sendcast.model.api.DEFAULT_SEED)
MAX_MESSAGE = 400  # characters: a message quoting a 131,072-character header stays one line
DEBUG_ENV = "SENDCAST_DEBUG"  # set to 1 for the traceback instead of the one-line message

DrawsOption = typer.Option(DEFAULT_DRAWS, help="Monte Carlo draws (same for every command).")
SeedOption = typer.Option(DEFAULT_SEED, help="Random seed (same seed, same draws).")

_stderr = Console(stderr=True, highlight=False)


def one_line(text: str) -> str:
    """``text`` on one line, cut to :data:`MAX_MESSAGE` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= MAX_MESSAGE else flat[: MAX_MESSAGE - 1] + "…"


def print_error(message: str) -> None:
    """Print ``error: message`` on stderr as one line, never read as Rich markup (a marker
    written ``[c]`` prints as ``[c]``)."""
    _stderr.print(Text.assemble(("error:", "red"), " ", one_line(message)), soft_wrap=True)


def fail(message: str) -> typer.Exit:
    """Print the error and return the exit (code 2) for the caller to raise."""
    print_error(message)
    return typer.Exit(2)


def note(message: str) -> None:
    """A one-line note to the user on stderr (not markup)."""
    _stderr.print(Text.assemble(("note:", "yellow"), " ", one_line(message)), soft_wrap=True)


def markup_safe(text: object) -> str:
    """``text`` escaped for a Rich markup string (for parts that print with markup)."""
    return escape(str(text))


def _raised_in_sendcast(exc: BaseException) -> bool:
    """Whether ``exc`` was raised by sendcast's own code (its innermost frame is in sendcast)."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return str(tb.tb_frame.f_globals.get("__name__", "")).startswith("sendcast")


def user_message(exc: BaseException) -> str:
    """The one line a user sees for an exception that reached the CLI boundary."""
    from sendcast.geography import UnknownCouncilError

    if isinstance(exc, MemoryError):
        return (
            "not enough memory for this request: use fewer --draws, a shorter --horizon, "
            "or one council instead of --all"
        )
    if isinstance(exc, RecursionError):
        return "an input file is nested too deeply to read (over Python's recursion limit)"
    if isinstance(exc, UnknownCouncilError):
        return str(exc)
    if isinstance(exc, csv.Error):
        return f"cannot read a CSV file: {exc}"
    if isinstance(exc, zipfile.BadZipFile):
        return f"a zip file is damaged or not a zip: {exc}"
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return f"this needs the Python package {exc.name!r}, which is not installed: pip install {exc.name}"
    if isinstance(exc, UnicodeError):
        return f"a file is not in the expected text encoding (UTF-8): {exc}"
    if isinstance(exc, OSError):
        if exc.filename is not None and exc.strerror:
            return f"{exc.filename}: {exc.strerror}"
        return str(exc) or type(exc).__name__
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, (ValueError, KeyError, RuntimeError, LookupError, TypeError)):
        text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        # sendcast's own messages are written for users; a library's keeps its type for context
        known = type(exc).__module__.startswith("sendcast") or _raised_in_sendcast(exc)
        return text if known and text else f"{type(exc).__name__}: {text}"
    return f"unexpected {type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 to see where)"


@contextmanager
def captured_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Capture every warning raised while a command runs (numpy's "All-NaN slice",
    statsforecast's, pandas' ...) so none leaks into the output; a council spelling read
    another way (:class:`sendcast.geography.CouncilMatchWarning`) is printed as a note, once.
    With ``SENDCAST_DEBUG=1`` the captured warnings are listed on stderr at the end."""
    from sendcast.geography import CouncilMatchWarning

    seen: set[str] = set()
    caught: list[warnings.WarningMessage] = []

    def show(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
        text = str(message)
        if issubclass(category, CouncilMatchWarning):
            if text not in seen:
                seen.add(text)
                note(text)
            return
        caught.append(warnings.WarningMessage(message, category, filename, lineno, file, line))

    with warnings.catch_warnings():  # restores the filters and showwarning afterwards
        warnings.simplefilter("always")
        warnings.showwarning = show
        yield caught
    if os.environ.get(DEBUG_ENV) and caught:
        for w in caught:
            print(f"warning (captured): {w.category.__name__}: {w.message}", file=sys.stderr)


def available_memory() -> int | None:
    """Bytes of memory available to start new work (Linux ``MemAvailable``), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def simulation_bytes(draws: int, horizon: int, workers: int = 1) -> int:
    """Peak memory of simulating councils with ``draws`` and ``horizon``: each worker holds a
    council's plans by draw, year, single age and placement (int64) and about three arrays of
    that size while stepping and summarising; measured at 241 MB for every council with 1000
    draws and 10 years on two workers (benchmarks/), of which about 150 MB is the data."""
    from sendcast.model.structure import N_AGES, N_GROUPS

    per_council = draws * (horizon + 1) * N_AGES * N_GROUPS * 8
    return 150 * 2**20 + 4 * per_council * max(1, workers)


def check_memory(draws: int, horizon: int, workers: int = 1) -> None:
    """Refuse up front (exit 2, one line) a run that would need more memory than is free."""
    need = simulation_bytes(draws, horizon, workers)
    have = available_memory()
    if have is not None and need > have:
        raise fail(
            f"this run would need about {need / 2**30:,.1f} GB of memory and {have / 2**30:,.1f} GB is free: "
            "use fewer --draws or a shorter --horizon"
        )

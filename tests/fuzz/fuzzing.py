"""Shared machinery of the fuzz suite: mutations of published-looking files, and the check that
a call either succeeds with valid output or fails with one clean line (never a traceback).

Every test draws a few dozen examples (``FUZZ``): the whole suite runs in well under two
minutes, and hypothesis's database makes a failure found once come back first next time.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from sendcast.ingest.common import IngestError
from sendcast.parameters import ParameterError
from sendcast.store import StoreError

T = TypeVar("T")

FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
)
CLEAN_ERRORS = (IngestError, StoreError, ParameterError)
FIXTURES = Path(__file__).resolve().parents[1] / "ingest" / "fixtures" / "context"

# Cells a careless or hostile file might hold where a number is expected.
NASTY_CELLS = st.sampled_from(
    [
        "", "-1", "-0.5", "12.5", "1e300", "-1e300", "inf", "-inf", "nan", "NaN", "45%", "£12", "12£",
        "1,2,3", '"', '""', "x", "c", "..", "~", "low", "banana", "[c]", "=1+1", "0x1F", "１２", "1e-300",
        "99999999999", "  7  ", "\t", "\x00", "é", "1_000", "+5", ".", "-", "2023-02-30", "1/0",
    ]
)  # fmt: skip
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@st.composite
def mutation(draw: st.DrawFn) -> tuple[str, Any]:
    """One change to a file's text: a cell replaced, a header renamed, the file cut short, a
    line dropped or doubled, a huge field, another encoding, or NUL bytes."""
    kind = draw(st.sampled_from(["cell", "cell", "cell", "header", "cut", "drop", "dup", "huge", "utf16", "nul"]))
    if kind == "cell":
        return kind, (draw(st.integers(1, 10**6)), draw(st.integers(0, 10**6)), draw(NASTY_CELLS | TEXT))
    if kind == "header":
        return kind, (draw(st.integers(0, 10**6)), draw(TEXT))
    if kind in ("cut", "drop", "dup"):
        return kind, draw(st.integers(0, 10**6))
    return kind, None


def apply(path: Path, change: tuple[str, Any]) -> None:
    """Apply a :func:`mutation` to the file at ``path`` in place."""
    kind, arg = change
    text = path.read_text(encoding="utf-8-sig")
    lines = text.split("\n")
    if kind == "cell":
        row, col, value = arg
        i = 1 + row % max(1, len(lines) - 1)
        i = min(i, len(lines) - 1)
        cells = lines[i].split(",")
        cells[col % len(cells)] = value
        lines[i] = ",".join(cells)
    elif kind == "header":
        col, value = arg
        cells = lines[0].split(",")
        cells[col % len(cells)] = value
        lines[0] = ",".join(cells)
    elif kind == "cut":
        text = text[: arg % max(1, len(text))]
        path.write_text(text, encoding="utf-8")
        return
    elif kind == "drop" and len(lines) > 1:
        del lines[1 + arg % (len(lines) - 1)]
    elif kind == "dup" and len(lines) > 1:
        j = 1 + arg % (len(lines) - 1)
        lines.insert(j, lines[j])
    elif kind == "huge":
        lines[0] = lines[0] + ',"' + "h" * 140_000 + '"'
    elif kind == "utf16":
        path.write_text("\n".join(lines), encoding="utf-16")
        return
    elif kind == "nul":
        lines[-1] = lines[-1] + "\x00\x00"
    path.write_text("\n".join(lines), encoding="utf-8")


def clean_or_valid(call: Callable[[], T]) -> T | None:
    """Run ``call``; return its result, or None when it failed with one of sendcast's own
    errors in one line. Anything else (a traceback a user would see) fails the test."""
    try:
        result = call()
    except CLEAN_ERRORS as exc:
        msg = str(exc)
        assert msg and "\n" not in msg, f"error is not one line: {msg!r}"
        assert "Traceback" not in msg
        OUTCOMES["error"] += 1
        return None
    OUTCOMES["valid"] += 1
    return result


# How many examples ended each way (read by the suite's own check that both happen).
OUTCOMES: Counter[str] = Counter()


def copy_folder(src: Path, dst: Path) -> Path:
    """Copy a folder of files (writable, whatever the source's permissions)."""
    shutil.copytree(src, dst, copy_function=shutil.copyfile)
    return dst

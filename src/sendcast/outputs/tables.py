"""Text tables for the terminal that never cut a number short.

Rich shrinks columns to fit the console and cuts what does not fit ("576,4…"), which turns a
figure into a different one. Here a number column is always as wide as its widest cell; when
the table is wider than the terminal, label columns wrap and the number columns are split over
several tables (each repeating the labels). When the output is not a terminal (redirected to a
file or a pipe) the table is printed at its full width.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

_NUMERIC = re.compile(r"[-+]?[\d,]*\.?\d+%?|<10|c|-")
MIN_LABEL_WIDTH = 12  # a label column wraps, but not narrower than this
COLUMN_OVERHEAD = 3  # Rich's default padding (1 + 1) and one border per column


def stdout_console() -> Console:
    """A console on standard output; it never interprets text as Rich markup (a council name or
    a marker like ``[c]`` is printed as written)."""
    return Console(markup=False, highlight=False)


def _width(cells: Sequence[str], header: str) -> int:
    return max([len(header), *(len(c) for c in cells)])


def column_chunks(label_widths: Sequence[int], value_widths: Sequence[int], width: int) -> list[list[int]]:
    """Split value columns (by index) into consecutive chunks that fit ``width`` beside the label
    columns (each shrunk to at most :data:`MIN_LABEL_WIDTH` when space is short). A single
    column wider than the space gets a chunk of its own (it is printed whole and may overflow)."""
    labels = sum(min(w, MIN_LABEL_WIDTH) + COLUMN_OVERHEAD for w in label_widths) + 1
    chunks: list[list[int]] = []
    used = labels
    for i, w in enumerate(value_widths):
        need = w + COLUMN_OVERHEAD
        if chunks and used + need <= width:
            chunks[-1].append(i)
            used += need
        else:
            chunks.append([i])
            used = labels + need
    return chunks or [[]]


def render_tables(df: pd.DataFrame, title: str, *, label_columns: int = 1, width: int | None = None) -> list[Table]:
    """Rich tables showing ``df`` (every cell as text): the first ``label_columns`` columns are
    labels (left-aligned, wrapped when short of space), the rest numbers (right-aligned, never
    wrapped or cut). With ``width`` the value columns are split so each table fits it."""
    text = df.astype(object).where(df.notna(), "-").astype(str)
    cols = [str(c) for c in text.columns]
    label_cols, value_cols = cols[:label_columns], cols[label_columns:]
    label_w = [_width(text.iloc[:, i].tolist(), c) for i, c in enumerate(label_cols)]
    value_w = [_width(text.iloc[:, label_columns + i].tolist(), c) for i, c in enumerate(value_cols)]
    full = sum(w + COLUMN_OVERHEAD for w in [*label_w, *value_w]) + 1
    chunks = (
        [list(range(len(value_cols)))] if width is None or full <= width else column_chunks(label_w, value_w, width)
    )
    tables = []
    for k, chunk in enumerate(chunks):
        suffix = f" ({k + 1} of {len(chunks)})" if len(chunks) > 1 else ""
        t = Table(title=Text(title + suffix), title_justify="left")
        for c in label_cols:
            t.add_column(Text(c), justify="left", overflow="fold", min_width=min(MIN_LABEL_WIDTH, len(c)))
        for i in chunk:
            t.add_column(Text(value_cols[i]), justify="right", no_wrap=True, min_width=value_w[i], overflow="fold")
        for row in text.itertuples(index=False):
            vals = list(row)
            t.add_row(*(Text(v) for v in vals[:label_columns]), *(Text(vals[label_columns + i]) for i in chunk))
        tables.append(t)
    return tables


def print_wide(df: pd.DataFrame, title: str, *, label_columns: int = 1, console: Console | None = None) -> None:
    """Print ``df`` as one or more tables (see :func:`render_tables`) on ``console`` (stdout)."""
    con = console or stdout_console()
    if con.is_terminal:
        tables = render_tables(df, title, label_columns=label_columns, width=con.width)
        for t in tables:
            con.print(t)
        return
    # not a terminal: print at full width, so nothing is wrapped or cut in the file
    (t,) = render_tables(df, title, label_columns=label_columns)
    measure = Console(width=10_000, markup=False).measure(t)
    wide = Console(file=con.file, width=max(measure.maximum, 40), markup=False, highlight=False, color_system=None)
    wide.print(t)


def print_table(table: Table, console: Console | None = None) -> None:
    """Print a Rich table built elsewhere without cutting its numbers: a column whose cells are
    all numbers (or right-aligned) keeps its full width and never wraps, other columns wrap;
    when the output is not a terminal the table is printed at its full width."""
    con = console or stdout_console()
    for col in table.columns:
        cells = [str(c) for c in col.cells]
        if col.justify == "right" or (cells and all(_NUMERIC.fullmatch(c.strip()) for c in cells if c.strip())):
            widest = max([len(c) for c in cells] + [len(str(col.header))])
            col.no_wrap, col.min_width, col.overflow = True, widest, "fold"
        else:
            col.overflow = "fold"
    if con.is_terminal:
        con.print(table)
        return
    measure = Console(width=10_000, markup=False).measure(table)
    Console(file=con.file, width=max(measure.maximum, 40), markup=False, highlight=False, color_system=None).print(
        table
    )

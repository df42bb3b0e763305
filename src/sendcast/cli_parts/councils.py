"""`sendcast profile` and `sendcast las`: a council's SEND profile, and the list of councils."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console

from sendcast.cli_parts.common import fail

console = Console(stderr=True, markup=False, highlight=False)
OutOption = Annotated[Path | None, typer.Option("--out", help="Write to this file (default: stdout).")]

PERIOD_TITLES = {
    "january": "at January",
    "calendar_year": "calendar year",
    "academic_year": "academic year",
}


def _print_frame(df: pd.DataFrame, title: str, text_columns: int = 2) -> None:
    from sendcast.outputs.tables import print_wide

    print_wide(df, title, label_columns=text_columns)


def _emit(payload: bytes, out: Path | None) -> None:
    """Write to ``out`` atomically, or to stdout."""
    from sendcast.outputs.io import write_atomic

    if out is None:
        sys.stdout.write(payload.decode("utf-8"))
        return
    write_atomic(out, payload)
    console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    @app.command()
    def profile(
        council: Annotated[str, typer.Argument(help="Council name or code (Norfolk, 926, E10000020).")],
        fmt: Annotated[str, typer.Option("--format", help="table|csv|json|html")] = "table",
        out: OutOption = None,
        last: Annotated[int, typer.Option(help="Years shown by --format table.")] = 6,
    ) -> None:
        """A council's EHC plans, placements, flows and outcomes by year, beside its statistical
        neighbours' median and England."""
        from sendcast.geography import UnknownCouncilError, resolve
        from sendcast.outputs import profile as prof
        from sendcast.outputs.disclosure import LEGEND
        from sendcast.outputs.io import frame_bytes
        from sendcast.outputs.tables import stdout_console
        from sendcast.store import StoreError, open_store

        if fmt not in ("table", "csv", "json", "html"):
            raise fail(f"unknown format {fmt!r}: choose table, csv, json or html")
        try:
            store = open_store()
            row = resolve(council, store.table("councils"))
        except (UnknownCouncilError, StoreError) as exc:
            raise fail(str(exc)) from None
        la_code = str(row["la_code"])
        table = prof.profile_table(store, la_code)
        if fmt == "html":
            _emit(prof.profile_html(store, la_code, table).encode("utf-8"), out)
        elif fmt in ("csv", "json"):
            _emit(frame_bytes(table, fmt), out)
        else:
            stdout_console().print(prof.summary_text(table))
            for period_type, title in PERIOD_TITLES.items():
                wide = prof.profile_wide(table, period_type, last=last)
                if not wide.empty:
                    _print_frame(wide, f"{row['la_name']} ({la_code}): {title}")
            stdout_console().print(f"{LEGEND}, or a rate or share built on a hidden count. -: not published.")

    @app.command()
    def las(
        fmt: Annotated[str, typer.Option("--format", help="table|csv|json")] = "table",
        out: OutOption = None,
    ) -> None:
        """List the current councils: ONS and DfE codes, region and predecessors."""
        from sendcast.outputs.io import frame_bytes
        from sendcast.outputs.profile import council_list
        from sendcast.store import StoreError, open_store

        if fmt not in ("table", "csv", "json"):
            raise fail(f"unknown format {fmt!r}: choose table, csv or json")
        try:
            df = council_list(open_store())
        except StoreError as exc:
            raise fail(str(exc)) from None
        if fmt == "table":
            _print_frame(df, f"{len(df)} current councils", text_columns=len(df.columns))
        else:
            _emit(frame_bytes(df, fmt), out)

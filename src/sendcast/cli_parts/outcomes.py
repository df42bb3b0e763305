"""``sendcast outcomes NAME``: a council's spending beside children's outcomes (thin wrapper)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

FORMATS = ("table", "csv", "html")


def _fail(msg: str) -> typer.Exit:
    typer.echo(f"error: {msg}", err=True)
    return typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add the ``outcomes`` command to ``app``."""

    @app.command("outcomes")
    def outcomes(
        council: Annotated[str, typer.Argument(help="Council name or code (Norfolk, 926, E10000020).")],
        fmt: Annotated[str, typer.Option("--format", help="|".join(FORMATS))] = "table",
        out: Annotated[Path | None, typer.Option("--out", help="Write to this file (default: stdout).")] = None,
    ) -> None:
        """Spending (high-needs spend per head, specialist spend, independent share, plans per
        10,000) beside KS2/KS4 results of pupils with SEN, 20-week timeliness and tribunal appeals,
        against statistical neighbours and England; every figure with its source and year."""
        from sendcast.geography import UnknownCouncilError
        from sendcast.outcomes import council_outcomes, reading
        from sendcast.outputs.io import write_atomic
        from sendcast.outputs.outcomes import latest_table, outcomes_html, publishable
        from sendcast.store import StoreError, open_store

        if fmt not in FORMATS:
            raise _fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        if fmt == "html" and out is None:
            raise _fail("--format html needs --out FILE")
        store = open_store()
        try:
            table = council_outcomes(store, council)
        except (UnknownCouncilError, StoreError) as e:
            raise _fail(str(e)) from e
        name = str(table["la_name"].iloc[0]) if len(table) else council
        if fmt == "html":
            text = outcomes_html(store, council)
        elif fmt == "csv":
            text = publishable(table).to_csv(index=False)
        else:
            text = reading(table, name) + "\n\n" + latest_table(table).to_string(index=False)
        if out is None:
            typer.echo(text)
            return
        write_atomic(out, text if text.endswith("\n") else text + "\n")
        typer.echo(f"wrote {out}")

"""The ``sendcast`` command: thin wrappers that parse, call the library and print."""

from __future__ import annotations

import typer

from sendcast import ATTRIBUTION, __version__

app = typer.Typer(no_args_is_help=True, add_completion=False, help="SEND demand and high-needs budget forecasts.")


@app.command()
def version() -> None:
    """Print the sendcast version and the data licence attribution."""
    typer.echo(f"sendcast {__version__}\n{ATTRIBUTION}")

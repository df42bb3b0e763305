"""The ``sendcast`` command: thin wrappers that parse, call the library and print."""

from __future__ import annotations

import importlib

import typer

from sendcast import ATTRIBUTION, __version__

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="SEND demand and high-needs budget forecasts for English councils."
)

# each module in sendcast.cli_parts adds its commands; a part whose library is absent is skipped
PARTS = ("data", "councils", "forecast", "backtest", "budget", "scenario", "serve")
for _name in PARTS:
    try:
        _mod = importlib.import_module(f"sendcast.cli_parts.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"sendcast.cli_parts.{_name}":
            raise
        continue
    _mod.register(app)


@app.command()
def version() -> None:
    """Print the sendcast version and the data licence attribution."""
    typer.echo(f"sendcast {__version__}\n{ATTRIBUTION}")

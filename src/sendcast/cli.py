"""The ``sendcast`` command: thin wrappers that parse, call the library and print.

Every command runs inside one boundary (:class:`Boundary`): an exception that reaches it is
printed as one line (``error: ...``, never as Rich markup) with exit code 2, never as a
traceback (``SENDCAST_DEBUG=1`` shows the traceback); warnings from libraries are captured
instead of printed; a council spelling read as another council is announced as a note.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import typer
from typer.core import TyperGroup

from sendcast import ATTRIBUTION, __version__
from sendcast.cli_parts.common import DEBUG_ENV, captured_warnings, print_error, user_message


class Boundary(TyperGroup):
    """The top-level command group: runs the chosen command inside the error boundary."""

    def invoke(self, ctx: Any) -> Any:  # a click Context (typer vendors click privately)
        with captured_warnings():
            try:
                return super().invoke(ctx)
            except (typer.Exit, typer.Abort, typer.TyperException, SystemExit):
                raise  # typer already said what was wrong (usage errors exit 2)
            except (Exception, MemoryError, RecursionError, KeyboardInterrupt) as exc:
                if os.environ.get(DEBUG_ENV) and not isinstance(exc, KeyboardInterrupt):
                    raise
                print_error(user_message(exc))
                raise typer.Exit(130 if isinstance(exc, KeyboardInterrupt) else 2) from None


app = typer.Typer(
    cls=Boundary,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="SEND demand and high-needs budget forecasts for English councils.",
)

# each module in sendcast.cli_parts adds its commands; a part whose library is absent is skipped
PARTS = ("data", "councils", "forecast", "backtest", "budget", "scenario", "outcomes", "sen2", "serve")
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

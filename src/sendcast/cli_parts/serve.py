"""`sendcast serve`: the web dashboard and JSON API on the embedded store."""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated

import typer

LOOPBACK_NAMES = {"localhost"}


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost (the only hosts served without a token)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="Address to listen on (another than 127.0.0.1 needs a token).")] = (
            "127.0.0.1"
        ),
        port: Annotated[int, typer.Option(help="Port (1024-65535).", min=1024, max=65535)] = 8000,
        token: Annotated[
            str | None,
            typer.Option(help="Access token every request must carry (default: the SENDCAST_TOKEN variable)."),
        ] = None,
        page_draws: Annotated[
            int,
            typer.Option(
                "--page-draws",
                help="Simulated futures behind the council pages (50-2000; fewer than the CLI's 1000 so pages "
                "answer while the reader waits; scenario runs take their own draws from the form).",
            ),
        ] = 500,
    ) -> None:
        """Start the web dashboard and JSON API (England map, councils, scenarios, accuracy)."""
        from sendcast.web.app import TOKEN_ENV

        token = token or os.environ.get(TOKEN_ENV) or None
        if not is_loopback(host) and not token:
            typer.echo(
                f"error: --host {host} is reachable from other machines: give an access token with --token or "
                f"the {TOKEN_ENV} environment variable",
                err=True,
            )
            raise typer.Exit(2)
        if token is not None and len(token) < 16:
            typer.echo("error: the access token must be at least 16 characters", err=True)
            raise typer.Exit(2)
        if not 50 <= page_draws <= 2000:
            typer.echo(f"error: --page-draws must be between 50 and 2000 (got {page_draws})", err=True)
            raise typer.Exit(2)
        import uvicorn

        from sendcast.store import StoreError
        from sendcast.web.app import create_app
        from sendcast.web.services import Services

        try:
            services = Services(page_draws=page_draws)
        except StoreError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(1) from None
        # served to this machine only: answer only to its own names (no DNS rebinding)
        hosts = ["127.0.0.1", "localhost", "[::1]", "::1"] if is_loopback(host) else None
        web = create_app(services, token=token, warm=True, allowed_hosts=hosts)
        shown = f"[{host}]" if ":" in host else host
        typer.echo(
            f"sendcast is serving on http://{shown}:{port}/" + ("?token=..." if token else "") + " (Ctrl+C stops)"
        )
        uvicorn.run(web, host=host, port=port, log_level="warning", server_header=False)

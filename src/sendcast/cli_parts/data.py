"""`sendcast data build|status`: rebuild the store from release files, say what is loaded."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sendcast.outputs.tables import print_table

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    data = typer.Typer(no_args_is_help=True, help="Build or inspect the data store.")
    app.add_typer(data, name="data")

    @data.command("build")
    def build(
        source: Path = typer.Option(..., "--source", help="Folder of release folders, one release folder, or a zip."),
        dest: Path | None = typer.Option(
            None,
            "--dest",
            help="Store folder: new, empty, or an existing sendcast store (default: user store). "
            "Releases built replace the same releases there; the others are kept.",
        ),
        embed: bool = typer.Option(False, "--embed", help="Write the package's embedded store (developers)."),
    ) -> None:
        """Rebuild the store from published files (atomic: a failed build changes nothing)."""
        from sendcast.ingest.common import IngestError
        from sendcast.parameters import ParameterError
        from sendcast.store import EMBEDDED_DIR, StoreError, build_store

        target = EMBEDDED_DIR if embed else dest
        try:
            with console.status("building store...") as st:
                manifest = build_store(source, target, progress=lambda m: st.update(escape(m)))
        except (IngestError, StoreError, ParameterError) as exc:
            console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
            console.print("The existing store was left unchanged.")
            raise typer.Exit(2) from None
        console.print(f"built store: {manifest['rows']:,} observations from {len(manifest['files'])} files")
        for rel in manifest.get("kept_releases", []):
            console.print(f"kept from the existing store: {escape(' '.join(map(str, rel)))}")
        for name in manifest.get("unrecognised_folders", []):
            console.print(f"[yellow]not recognised, skipped:[/yellow] {escape(name)}")

    @data.command("status")
    def status_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """Say what is loaded, from which release, covering which periods."""
        from sendcast.store import StoreError, open_store, status

        try:
            st = status(open_store())
        except StoreError as exc:
            console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(2) from None
        if as_json:
            typer.echo(json.dumps(st, indent=1, default=str))
            return
        out = Console()
        out.print(f"store: {st['path']} (built {st['built_at']}, sendcast {st['sendcast_version']})")
        out.print(f"{st['rows']:,} observations; tables: {', '.join(st['tables'])}")
        t = Table("source", "release", "period type", "first", "last", "rows")
        for p in st["periods"] or []:
            t.add_row(
                str(p["source"]),
                str(p["release"]),
                str(p["period_type"]),
                str(p["first"]),
                str(p["last"]),
                f"{p['rows']:,}",
            )
        print_table(t, out)
        out.print(f"figures covered by two releases where the later one won: {st['supersessions']:,} groups")

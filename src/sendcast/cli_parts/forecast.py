"""`sendcast forecast`: probabilistic EHCP forecasts for a council, England or all councils."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def forecast(
        council: str | None = typer.Argument(
            None, help="Council name or code (e.g. Norfolk, 926, E10000020) or England."
        ),
        all_councils: bool = typer.Option(False, "--all", help="Every council, plus England."),
        origin: int | None = typer.Option(None, help="Forecast from January ORIGIN (default: latest in the store)."),
        horizon: int = typer.Option(5, help="Years ahead (1-30)."),
        draws: int = typer.Option(1000, help="Monte Carlo draws."),
        seed: int = typer.Option(20240101, help="Random seed (same seed, same draws)."),
        fmt: str | None = typer.Option(
            None, "--format", help="table|csv|parquet|json|html (default: from --out's extension, else table)"
        ),
        out: Path | None = typer.Option(None, "--out", help="Write to this file (default: stdout for csv/json)."),
        population: Path | None = typer.Option(
            None, "--population", help="ONS subnational population projection CSV (published layout) to use."
        ),
    ) -> None:
        """Forecast EHC plans by placement and age with uncertainty (mean and percentiles)."""
        from sendcast.geography import UnknownCouncilError
        from sendcast.ingest.common import IngestError
        from sendcast.model.api import ForecastInputError, forecast
        from sendcast.outputs import forecast_report

        if fmt is None:
            suffix = out.suffix.lower().lstrip(".") if out is not None else ""
            fmt = suffix if suffix in ("csv", "parquet", "json", "html") else ("csv" if out is not None else "table")
        if fmt not in ("table", "csv", "parquet", "json", "html"):
            console.print(f"[red]error:[/red] unknown format {fmt!r}: choose table, csv, parquet, json or html")
            raise typer.Exit(2)
        if council is None and not all_councils:
            console.print("[red]error:[/red] name a council (or England), or use --all")
            raise typer.Exit(2)
        try:
            with Progress(console=console, transient=True) as prog:
                task = prog.add_task("simulating", total=None)
                res = forecast(
                    council,
                    all_councils=all_councils,
                    origin=origin,
                    horizon=horizon,
                    draws=draws,
                    seed=seed,
                    progress=lambda i, n: prog.update(task, completed=i, total=n),
                    population_projection=population,
                )
        except (ForecastInputError, UnknownCouncilError, IngestError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        if fmt == "table":
            _print_table(res.summary)
            console.print(forecast_report.accuracy_note(res))
            return
        if fmt in ("parquet", "html") and out is None:
            console.print(f"[red]error:[/red] --format {fmt} needs --out PATH")
            raise typer.Exit(2)
        written = forecast_report.write(res, fmt, out, population)
        if written is None:
            return
        console.print(f"wrote {written} (+ {written.name}.meta.json)")

    def _print_table(summary) -> None:  # type: ignore[no-untyped-def]
        out = Console()
        for (code, name), g in summary.groupby(["la_code", "la_name"], sort=False):
            t = Table(title=f"{name} ({code}): EHC plans at January", show_lines=False)
            years = sorted(g["year"].unique())
            t.add_column("measure")
            for y in years:
                t.add_column(str(y), justify="right")
            for m, mg in g.groupby("measure", sort=False):
                mg = mg.set_index("year")
                cells = []
                for y in years:
                    r = mg.loc[y]
                    cells.append(
                        f"{r['p50']:,.0f}"
                        if r["p10"] == r["p90"]
                        else f"{r['p50']:,.0f} ({r['p10']:,.0f}-{r['p90']:,.0f})"
                    )
                t.add_row(str(m), *cells)
            out.print(t)
        out.print("median (80% interval). England is the sum of councils draw by draw.")

"""`sendcast forecast`: probabilistic EHCP forecasts for a council, England or all councils."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress

from sendcast.cli_parts.common import DrawsOption, SeedOption, check_memory, fail

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
        draws: int = DrawsOption,
        seed: int = SeedOption,
        fmt: str | None = typer.Option(
            None, "--format", help="table|csv|parquet|json|html (default: from --out's extension, else table)"
        ),
        out: Path | None = typer.Option(None, "--out", help="Write to this file (default: stdout for csv/json)."),
        population: Path | None = typer.Option(
            None, "--population", help="ONS subnational population projection CSV (published layout) to use."
        ),
        sen2: Path | None = typer.Option(
            None, "--sen2", help="Forecast by primary need from the council's own SEN2 store (`sendcast sen2 import`)."
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
            raise fail(f"unknown format {fmt!r}: choose table, csv, parquet, json or html")
        if sen2 is not None:
            from sendcast.cli_parts.sen2 import forecast_from_store

            forecast_from_store(sen2, horizon=horizon, draws=draws, seed=seed, fmt=fmt, out=out)
            return
        if council is None and not all_councils:
            raise fail("name a council (or England), or use --all")
        if fmt in ("parquet", "html") and out is None:
            raise fail(f"--format {fmt} needs --out PATH")
        every = all_councils or str(council).strip().lower() in ("england", "e92000001")
        check_memory(draws, horizon, workers=min(os.cpu_count() or 1, 8) if every else 1)
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
            raise fail(str(exc)) from None
        if fmt == "table":
            _print_table(res.summary)
            console.print(forecast_report.accuracy_note(res))
            return
        written = forecast_report.write(res, fmt, out, population)
        if written is None:
            return
        console.print(f"wrote {written} (+ {written.name}.meta.json)")

    def _print_table(summary) -> None:  # type: ignore[no-untyped-def]
        from sendcast.outputs.forecast_report import DISCLOSURE_NOTE, LABELS, table_cells
        from sendcast.outputs.tables import print_wide, stdout_console

        cells = table_cells(summary)
        for (code, name), g in cells.groupby(["la_code", "la_name"], sort=False):
            wide = g.pivot(index="measure", columns="year", values="cell").reindex(g["measure"].unique())
            wide.insert(0, "measure", [LABELS.get(str(m), str(m)) for m in wide.index])
            wide.columns = [str(c) for c in wide.columns]
            print_wide(wide.reset_index(drop=True), f"{name} ({code}): EHC plans at January", label_columns=1)
        stdout_console().print("median (80% interval). England is the sum of councils draw by draw. " + DISCLOSURE_NOTE)

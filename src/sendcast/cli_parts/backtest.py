"""`sendcast backtest`: rolling-origin evaluation of the model against baselines."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from sendcast.cli_parts.common import DEFAULT_DRAWS, DEFAULT_SEED
from sendcast.outputs.tables import print_table

console = Console(stderr=True)
KNOWN_MODELS = ("sendcast", "cohort", "last_value", "drift", "avg_growth_3y", "pooled_growth", "auto_ets")


def _range(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        elif part.strip():
            out.append(int(part))
    return out


def register(app: typer.Typer) -> None:
    @app.command()
    def backtest(
        council: str | None = typer.Argument(None, help="Score one council only (all are fitted)."),
        origins: str = typer.Option("2015-2023", help="Origin Januarys, e.g. 2015-2023 or 2019,2021."),
        horizons: str = typer.Option("1-5", help="Years ahead to score."),
        draws: int = typer.Option(DEFAULT_DRAWS, help="Monte Carlo draws per forecast."),
        seed: int = typer.Option(DEFAULT_SEED, help="Random seed (same seed, same draws)."),
        models: str = typer.Option(
            "sendcast,cohort,last_value,drift,avg_growth_3y,pooled_growth,auto_ets",
            help="Comma-separated (sendcast: the published forecast; cohort: the stock-flow model alone).",
        ),
        workers: int = typer.Option(2, help="Parallel processes (origins run in parallel)."),
        out: Path = typer.Option(Path("out/backtest"), help="Folder for scores, metrics and the report."),
        save_accuracy: bool = typer.Option(
            False, help="Also update the accuracy notes and the past forecasts shipped with the package."
        ),
    ) -> None:
        """Score forecasts made at past origins against what was published later."""
        from sendcast.evaluate.backtest import backtest as run_backtest
        from sendcast.evaluate.backtest import metrics
        from sendcast.evaluate.calibration import calibration_check
        from sendcast.evaluate.report import (
            accuracy_by_council,
            england_coverage,
            headline,
            honest_vs_in_sample,
            html_report,
            scopes,
            settings_table,
        )
        from sendcast.geography import UnknownCouncilError
        from sendcast.model.api import ForecastInputError, model_data, resolve_council
        from sendcast.outputs.forecast_report import ACCURACY_FILE, CALIBRATION_FILE
        from sendcast.outputs.io import write_atomic, write_frame, write_json
        from sendcast.outputs.metadata import run_metadata
        from sendcast.store import open_store

        data = model_data()
        org = _range(origins)
        hz = _range(horizons)
        bad = [o for o in org if not data.first_origin <= o < data.last_origin]
        if bad or not org:
            console.print(
                f"[red]error:[/red] origins must lie in {data.first_origin}-{data.last_origin - 1} (got {bad or origins})"  # noqa: E501
            )
            raise typer.Exit(2)
        if not hz or min(hz) < 1 or max(hz) > 10:
            console.print("[red]error:[/red] horizons must be between 1 and 10")
            raise typer.Exit(2)
        codes = None
        if council:
            try:
                codes = [resolve_council(council, data)[0]]
            except (UnknownCouncilError, ForecastInputError) as exc:
                console.print(f"[red]error:[/red] {escape(str(exc))}")
                raise typer.Exit(2) from None
        kept: dict = {}
        unknown = [m for m in models.split(",") if m not in KNOWN_MODELS]
        if unknown:
            console.print(
                f"[red]error:[/red] unknown model(s) {', '.join(unknown)}: choose from {', '.join(KNOWN_MODELS)}"
            )
            raise typer.Exit(2)
        with Progress(console=console, transient=True) as prog:
            task = prog.add_task("backtesting origins", total=len(org))
            scores = run_backtest(
                data.series,
                data.population,
                origins=org,
                horizons=hz,
                models=models.split(","),
                draws=draws,
                seed=seed,
                neighbours=data.neighbours,
                la_codes=codes,
                workers=workers,
                progress=lambda n: prog.advance(task, n),
                in_sample="sendcast" in models.split(","),
                keep=kept,
            )
        out.mkdir(parents=True, exist_ok=True)
        write_frame(scores, out / "scores.parquet", "parquet")
        write_frame(scores, out / "scores.csv", "csv")
        write_frame(metrics(scores), out / "metrics.csv", "csv")
        null = kept.get("null_coverage")
        write_atomic(out / "report.html", html_report(scores, data.series, kept.get("settings"), null))
        if kept.get("settings"):
            write_frame(settings_table(kept["settings"]), out / "settings.csv", "csv")
        if null is not None and not null.empty:
            write_frame(calibration_check(null, scores), out / "calibration.csv", "csv")
        write_json(
            run_metadata(
                "backtest",
                {"origins": org, "horizons": hz, "draws": draws, "seed": seed, "models": models},
                open_store(),
            ),
            out / "run.meta.json",
        )
        if save_accuracy:
            write_frame(accuracy_by_council(scores), ACCURACY_FILE, "parquet")
            if null is not None and not null.empty and codes is None:
                write_frame(calibration_check(null, scores), CALIBRATION_FILE, "parquet")
            if kept.get("points") and codes is None:
                from sendcast.model.prequential import SHIPPED, fingerprint, write_points

                write_points(kept["points"], SHIPPED, fingerprint(data.series, data.population))
        hv = honest_vs_in_sample(scores)
        if not hv.empty:
            t2 = Table(
                "origin",
                "horizon",
                "MdAPE honest",
                "MdAPE in-sample",
                "80% honest",
                "80% in-sample",
                title="ehcp_total: prequential (honest) vs in-sample settings",
            )
            for _, r in hv[hv["horizon"].isin([1, 3])].iterrows():
                t2.add_row(
                    str(r["origin"]),
                    str(r["horizon"]),
                    f"{r['mdape_honest']:.2%}",
                    f"{r['mdape_in_sample']:.2%}",
                    f"{r['coverage80_honest']:.0%}",
                    f"{r['coverage80_in_sample']:.0%}",
                )
            Console().print(t2)
        en = england_coverage(scores)
        # first the README's and the notes' figures (origins from 2019), then every origin
        reported = scopes(scores)
        for label, s in reported:
            e = en[en["origin"].isin(s["origin"].unique())]
            if not e.empty:
                console.print(
                    f"England's 80% band held England's outcome in {int(e['in80'].sum())} of {len(e)} forecasts "
                    f"({label})"
                )
        for label, s in reported:
            hl = headline(s, "ehcp_total", tuple(h for h in (1, 3) if h in hz) or (hz[0],))
            t = Table(
                "horizon", "model", "n", "MdAPE", "80% coverage", "vs best baseline", title=f"ehcp_total, {label}"
            )
            for _, r in hl.iterrows():
                imp = r["improvement_vs_best_baseline"]
                t.add_row(
                    str(r["horizon"]),
                    str(r["model"]),
                    str(r["n"]),
                    f"{r['mdape']:.2%}",
                    f"{r['coverage80']:.0%}",
                    ""
                    if imp != imp
                    else f"{-imp:+.1%} MdAPE vs {r['best_baseline']}"
                    + (
                        ""  # no naive rule was run (--models without them)
                        if r["improvement_vs_best_naive"] != r["improvement_vs_best_naive"]  # NaN
                        else f"; {-r['improvement_vs_best_naive']:+.1%} vs best naive ({r['best_naive']})"
                    ),
                )
            print_table(t)
        console.print(f"wrote {out}/scores.csv, metrics.csv, report.html")

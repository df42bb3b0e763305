"""``sendcast budget``: the high-needs budget and DSG balance for one council (thin wrapper)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sendcast.cli_parts.common import DEFAULT_DRAWS, DEFAULT_SEED

FORMATS = ("table", "csv", "json", "html", "xlsx")


def register(app: typer.Typer) -> None:
    """Add the ``budget`` command to ``app``."""

    @app.command()
    def budget(
        la: Annotated[str, typer.Argument(help="Council name or code (ONS or DfE 3-digit).")],
        params: Annotated[Path | None, typer.Option("--params", help="Parameter folder.")] = None,
        agreement: Annotated[Path | None, typer.Option("--agreement", help="Agreement YAML.")] = None,
        origin: Annotated[int | None, typer.Option(help="Last January observed.")] = None,
        horizon: Annotated[int, typer.Option(help="Years ahead.")] = 6,
        draws: Annotated[int, typer.Option(help="Monte Carlo draws.")] = DEFAULT_DRAWS,
        seed: Annotated[int, typer.Option(help="Random seed.")] = DEFAULT_SEED,
        fmt: Annotated[str, typer.Option("--format", help="|".join(FORMATS))] = "table",
        out: Annotated[Path | None, typer.Option(help="Output file.")] = None,
    ) -> None:
        """Forecast high-needs spend, income and the DSG balance; print or write it."""
        import pandas as pd

        from sendcast.model.api import placement_draws, published_placement_draws
        from sendcast.money.agreements import assess_agreement, load_agreement
        from sendcast.money.budget import backcast, compute_budget
        from sendcast.money.report import (
            budget_table,
            write_csv,
            write_html,
            write_json,
            write_xlsx,
        )
        from sendcast.parameters import ParameterError, load_parameters
        from sendcast.store import open_store

        if fmt not in FORMATS:
            raise typer.BadParameter(f"--format must be one of {FORMATS}")
        if fmt in ("html", "xlsx") and out is None:
            raise typer.BadParameter(f"--format {fmt} needs --out")
        try:
            pars = load_parameters(params)
            agr = load_agreement(agreement) if agreement else None
        except ParameterError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from e
        pdraws = placement_draws(la, origin=origin, horizon=horizon, draws=draws, seed=seed)
        first_jan = int(pdraws["year"].min())
        code = str(pdraws["la_code"].iloc[0])
        if agr is not None and agr.opening_financial_year < first_jan:
            # the budget starts the year after the opening balance: use the published
            # Januarys before the origin for those years (a back-cast)
            hist = published_placement_draws(code, list(range(agr.opening_financial_year, first_jan)), draws)
            pdraws = pd.concat([hist, pdraws], ignore_index=True)
        obs = open_store().observations(source=["high-needs-benchmarking", "dsg-allocations", "send-ap-dashboard"])
        result = compute_budget(pdraws, obs, pars, agreement=agr)
        writers: dict[str, Any] = {"csv": write_csv, "json": write_json, "html": write_html, "xlsx": write_xlsx}
        if out is not None and fmt != "table":
            from sendcast.outputs.io import write_json as write_meta
            from sendcast.outputs.metadata import run_metadata

            typer.echo(f"wrote {writers[fmt](result, out)}")
            settings = {"la": la, "origin": origin, "horizon": horizon, "draws": draws, "seed": seed,
                        "params": str(params) if params else None, "agreement": str(agreement) if agreement else None}
            extra = [Path(agreement)] if agreement else []
            write_meta(run_metadata("budget", settings, open_store(), extra), Path(f"{out}.meta.json"))
        elif fmt == "csv":
            from sendcast.outputs.io import escape_text_cells

            typer.echo(escape_text_cells(budget_table(result)).to_csv(index=False), nl=False)
        elif fmt == "json":
            typer.echo(budget_table(result).to_json(orient="records", indent=1))
        else:
            t = budget_table(result)
            keep = t["line"].isin(["spend_total", "income_total", "in_year_balance", "cumulative_balance"])
            typer.echo(t[keep].to_string(index=False, float_format=lambda v: f"{v:,.0f}"))
        if agr is not None:
            a = assess_agreement(result.line("cumulative_balance"), agr)
            typer.echo(f"probability of meeting the target: {a.probability_meeting_target:.2f}")
        if agr is not None:
            years_done = set(result.lines["financial_year"])
            for pb in agr.published_balances:
                if pb.in_year_balance is not None and pb.financial_year in years_done:
                    bc = backcast(
                        result,
                        financial_year=pb.financial_year,
                        published_in_year=pb.in_year_balance,
                        published_source=pb.source.title,
                    )
                    typer.echo(
                        f"\nback-cast of {pb.financial_year}-{(pb.financial_year + 1) % 100:02d} beside the published figure:"  # noqa: E501
                    )
                    typer.echo(bc.to_string(index=False, float_format=lambda v: f"{v:,.0f}", na_rep=""))
        for n in result.notes:
            typer.echo(f"note: {n}", err=True)

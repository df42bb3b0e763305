"""``sendcast budget``: the high-needs budget and DSG balance (thin: parse, call the library, print).

``sendcast budget Norfolk``; ``sendcast budget England`` (all councils summed draw by draw);
``sendcast budget --all`` (every council: balance now, in three years, chance of deficit);
``sendcast budget backtest --out DIR`` (2020-21 and 2021-22 back-cast of every council).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sendcast.cli_parts.common import DEFAULT_DRAWS, DEFAULT_SEED

FORMATS = ("table", "csv", "json", "html", "xlsx")
EXTENSIONS = {".csv": "csv", ".json": "json", ".html": "html", ".htm": "html", ".xlsx": "xlsx", ".txt": "table"}


def _fail(msg: str) -> typer.Exit:
    typer.echo(f"error: {msg}", err=True)
    return typer.Exit(2)


def output_format(fmt: str | None, out: Path | None) -> str:
    """Return the format to write: ``--format`` if given, else the extension of ``--out``,
    else ``table``. Refuses (exit 2) a format that is not known, a file extension that does
    not match the format, and html/xlsx without a file."""
    if fmt is not None and fmt not in FORMATS:
        raise _fail(f"--format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    if out is not None:
        ext = out.suffix.lower()
        by_ext = EXTENSIONS.get(ext)
        if by_ext is None:
            raise _fail(f"--out {out}: extension {ext or '(none)'} is not one of {', '.join(sorted(EXTENSIONS))}")
        if fmt is not None and fmt != by_ext:
            raise _fail(f"--out {out} is a {by_ext} file but --format is {fmt}: make them agree")
        return by_ext
    fmt = fmt or "table"
    if fmt in ("html", "xlsx"):
        raise _fail(f"--format {fmt} needs --out FILE.{fmt}")
    return fmt


def register(app: typer.Typer) -> None:
    """Add the ``budget`` command to ``app``."""

    @app.command()
    def budget(
        la: Annotated[
            str | None,
            typer.Argument(help="Council name or code, England, or 'backtest'."),
        ] = None,
        all_councils: Annotated[bool, typer.Option("--all", help="Every council, listed.")] = False,
        params: Annotated[Path | None, typer.Option("--params", help="Parameter folder.")] = None,
        agreement: Annotated[Path | None, typer.Option("--agreement", help="Agreement YAML.")] = None,
        balances: Annotated[
            Path | None,
            typer.Option(
                "--balances",
                help="CSV of later balances: la_code,financial_year,cumulative_balance,in_year_balance,source.",
            ),
        ] = None,
        origin: Annotated[int | None, typer.Option(help="Last January observed.")] = None,
        horizon: Annotated[int, typer.Option(help="Years ahead.")] = 6,
        draws: Annotated[int, typer.Option(help="Monte Carlo draws.")] = DEFAULT_DRAWS,
        seed: Annotated[int, typer.Option(help="Random seed.")] = DEFAULT_SEED,
        fmt: Annotated[str | None, typer.Option("--format", help="|".join(FORMATS))] = None,
        out: Annotated[Path | None, typer.Option(help="Output file (the format follows its extension).")] = None,
        sen2: Annotated[
            Path | None,
            typer.Option(
                "--sen2",
                help="Cost the forecast from the council's own SEN2 store (`sendcast sen2 import`) "
                "instead of the published model's.",
            ),
        ] = None,
    ) -> None:
        """Forecast high-needs spend, income and the DSG balance; print or write it."""
        from sendcast.cli_parts.progress import steps
        from sendcast.geography import UnknownCouncilError
        from sendcast.model.api import ForecastInputError
        from sendcast.money import service
        from sendcast.money.balances import BalanceFileError
        from sendcast.money.budget import BudgetInputError
        from sendcast.parameters import ParameterError

        if la is not None and la.strip().lower() == "backtest":
            if sen2 is not None:
                raise _fail("budget backtest uses the published record of every council: not with --sen2")
            _backtest(params, balances, draws, seed, out)
            return
        if sen2 is not None and not all_councils:
            la = _sen2_council(sen2, la, origin)  # the store's council; another council is refused
        if la is None and not all_councils:
            raise _fail("give a council (name or code), England, or --all")
        if la is not None and all_councils:
            raise _fail("give a council or --all, not both")
        kind = output_format(fmt, out)
        if sen2 is not None and all_councils:
            raise _fail("--sen2 holds one council's return: give that council, not --all")
        pdraws, note = None, None
        try:
            with steps(5 if sen2 is not None else 4) as step:
                step("loading the store and parameters")
                inputs = service.inputs(params, balances)
                agr = service.agreement(agreement) if agreement else None
                if sen2 is not None:
                    step("fitting the need model to the SEN2 return and simulating")
                    pdraws, note = _sen2_draws(sen2, horizon=horizon, draws=draws, seed=seed)
                if all_councils:
                    step("every council: forecast and budget")
                    listing = service.all_councils(inputs, origin=origin, horizon=horizon, draws=draws, seed=seed)
                else:
                    run = service.budget(
                        la or "",
                        inputs,
                        agreement=agr,
                        origin=origin,
                        horizon=horizon,
                        draws=draws,
                        seed=seed,
                        progress=step,
                        placement_draws=pdraws,
                        forecast_note=note,
                    )
        except (ParameterError, BalanceFileError, BudgetInputError, ForecastInputError, UnknownCouncilError) as e:
            raise _fail(str(e)) from e
        if all_councils:
            _emit_listing(listing, kind, out)
            return
        _emit_budget(run, kind, out, preface=note)
        if out is not None:
            from sendcast.outputs.io import write_json as write_meta
            from sendcast.outputs.metadata import run_metadata
            from sendcast.store import open_store

            settings = {
                "la": la,
                "origin": origin,
                "horizon": horizon,
                "draws": draws,
                "seed": seed,
                "params": str(params) if params else None,
                "agreement": str(agreement) if agreement else None,
                "balances": str(balances) if balances else None,
                "sen2_store": str(sen2) if sen2 else None,
            }
            extra = [Path(p) for p in (agreement, balances) if p]
            meta = run_metadata("budget", settings, open_store(), extra)
            if sen2 is not None:
                meta["forecast_source"] = note
            write_meta(meta, Path(f"{out}.meta.json"))
        for n in run.result.notes:
            typer.echo(f"note: {n}", err=True)

    def _sen2_council(sen2: Path, la: str | None, origin: int | None) -> str:
        """The SEN2 store's council (la_code); a store for another council, or one that is not
        a council in the data store, is refused in one line (exit 2)."""
        from sendcast.geography import UnknownCouncilError
        from sendcast.personlevel.api import sen2_council
        from sendcast.personlevel.read import Sen2InputError

        try:
            return sen2_council(sen2, la, origin=origin)[0]
        except (Sen2InputError, ValueError, UnknownCouncilError) as e:
            raise _fail(str(e)) from None

    def _sen2_draws(sen2: Path, *, horizon: int, draws: int, seed: int) -> tuple[Any, str]:
        """(placement draws, note) of the forecast by need from the SEN2 store."""
        from sendcast.personlevel.api import forecast_by_need
        from sendcast.personlevel.read import Sen2InputError

        try:
            res = forecast_by_need(sen2, horizon=horizon, draws=draws, seed=seed)
        except (Sen2InputError, ValueError) as e:
            raise _fail(str(e)) from None
        return res.placement_draws(), res.source_note()

    def _emit_budget(run: Any, kind: str, out: Path | None, preface: str | None = None) -> None:
        """Print or write the budget; ``preface`` (where the forecast comes from) heads the text
        table (html and xlsx carry it in their notes, csv and json in the ``.meta.json``)."""
        from sendcast.money import report

        head = f"{preface}\n\n" if preface else ""
        result = run.result
        if out is not None:
            writer = {
                "csv": report.write_csv,
                "json": report.write_json,
                "html": report.write_html,
                "xlsx": report.write_xlsx,
            }
            if kind == "table":
                from sendcast.outputs.io import write_atomic

                write_atomic(out, head + report.text_summary(run) + "\n")
            else:
                writer[kind](result, out, run=run)
            typer.echo(f"wrote {out}", err=True)
            return
        if kind == "csv":
            from sendcast.outputs.io import escape_text_cells

            typer.echo(escape_text_cells(report.budget_table(result)).to_csv(index=False), nl=False)
        elif kind == "json":
            typer.echo(report.budget_table(result).to_json(orient="records", indent=1))
        else:
            typer.echo(head + report.text_summary(run))

    def _emit_listing(listing: Any, kind: str, out: Path | None) -> None:
        from sendcast.outputs.io import escape_text_cells, write_atomic

        if kind in ("html", "xlsx"):
            raise _fail("budget --all writes csv, json or a table")
        text = {
            "csv": lambda: escape_text_cells(listing).to_csv(index=False),
            "json": lambda: listing.to_json(orient="records", indent=1),
            "table": lambda: listing.to_string(index=False, float_format=lambda v: f"{v:,.2f}"),
        }[kind]()
        if out is not None:
            write_atomic(out, text)
            typer.echo(f"wrote {out}", err=True)
        else:
            typer.echo(text, nl=kind != "csv")

    def _backtest(params: Path | None, balances: Path | None, draws: int, seed: int, out: Path | None) -> None:
        from sendcast.money import service
        from sendcast.money.backtest import run_backtest, write_backtest
        from sendcast.money.balances import BalanceFileError
        from sendcast.parameters import ParameterError

        if out is None:
            raise _fail("budget backtest needs --out DIR (a folder for backtest.csv and report.html)")
        try:
            inputs = service.inputs(params, balances)
        except (ParameterError, BalanceFileError) as e:
            raise _fail(str(e)) from e
        bt = run_backtest(inputs, draws=min(draws, 500), seed=seed)
        paths = write_backtest(bt, out)
        typer.echo(bt.headline_text())
        for p in paths:
            typer.echo(f"wrote {p}", err=True)

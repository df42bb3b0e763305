"""`sendcast sen2 synth|check|import|derive`: the council's own person-level SEN2 return."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)
GIAS_HELP = "GIAS establishments CSV (default: edubasealldata*.csv in FOLDER)."
KEY_HELP = "Your key for the person hash (default: generated, kept in ~/.config/sendcast/sen2-keys)."
FINDING_COLS = ("census_year", "check", "severity", "module", "row", "field", "message")


def _fail(exc: Exception) -> None:
    console.print(f"[red]error:[/red] {exc}")
    console.print("Nothing was written.")
    raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    sen2 = typer.Typer(no_args_is_help=True, help="Check, import and model the council's own SEN2 person-level return.")
    app.add_typer(sen2, name="sen2")

    @sen2.command("synth")
    def synth(
        out: Path = typer.Option(..., "--out", help="Folder to write the synthetic returns to."),
        people: int = typer.Option(2000, "--people", help="About how many open plans at the last census (10-200000)."),
        la: str = typer.Option("990", "--la", help="3-digit LA code to give the fictional council (990: none)."),
        seed: int = typer.Option(1, "--seed", help="Random seed (same seed, same files)."),
        years: int = typer.Option(4, "--years", help="Census years (returns) to write, ending January 2025 (1-15)."),
        defects: bool = typer.Option(
            True, "--defects/--clean", help="Seed defects of every checked kind in the last return."
        ),
    ) -> None:  # fmt: skip
        """Write synthetic returns of a fictional council (nine COLLECT CSVs per census year)."""
        from sendcast.personlevel.synth import TRUTH_DIR, write_synthetic

        if not 10 <= people <= 200_000:
            console.print("[red]error:[/red] --people must be between 10 and 200,000")
            raise typer.Exit(2)
        if not 1 <= years <= 15:
            console.print("[red]error:[/red] --years must be between 1 and 15")
            raise typer.Exit(2)
        if not (len(la) == 3 and la.isdigit()):
            console.print(f"[red]error:[/red] --la {la!r} is not a 3-digit LA code")
            raise typer.Exit(2)
        if out.exists() and any(out.glob("Blade-Export_*.csv")):
            console.print(f"[red]error:[/red] {out}: already holds Blade-Export files; choose an empty folder")
            raise typer.Exit(2)
        try:
            with console.status("simulating..."):
                sim = write_synthetic(out, people=people, years=years, seed=seed, defects=defects, la=la)
        except ValueError as exc:
            _fail(exc)
        last = sim.states[sim.states["census_year"] == sim.years[-1]]
        console.print(f"wrote {len(sim.years)} synthetic returns ({sim.years[0]}-{sim.years[-1]}) to {out}: "
                      f"{len(last):,} open plans in January {sim.years[-1]}; truth in {out / TRUTH_DIR}")  # fmt: skip

    @sen2.command("check")
    def check(
        folder: Path = typer.Argument(..., help="Folder holding the COLLECT export (Blade-Export_*.csv)."),
        fmt: str = typer.Option("table", "--format", help="table|csv|xlsx|html"),
        out: Path | None = typer.Option(None, "--out", help="File to write (needed for csv, xlsx and html)."),
        gias: Path | None = typer.Option(None, "--gias", help=GIAS_HELP),
    ) -> None:  # fmt: skip
        """Check the return(s) before submission: a summary, then every finding with its row and field.

        Exit code: 0 when no error is found (queries alone do not fail), 1 when any error is
        found (the report is written first), 2 when the files cannot be read."""
        import pandas as pd

        from sendcast.personlevel.checks import run_checks, summary
        from sendcast.personlevel.importer import find_gias
        from sendcast.personlevel.read import Sen2InputError, read_gias, read_returns
        from sendcast.personlevel.report import CHECK_FORMATS, write_check_report

        if fmt not in CHECK_FORMATS:
            console.print(f"[red]error:[/red] unknown format {fmt!r}: choose table, csv, xlsx or html")
            raise typer.Exit(2)
        if fmt != "table" and out is None:
            console.print(f"[red]error:[/red] --format {fmt} needs --out FILE")
            raise typer.Exit(2)
        try:
            returns = read_returns(folder)
            gpath = gias or find_gias(folder)
            g = read_gias(gpath) if gpath else None
        except Sen2InputError as exc:
            _fail(exc)
        findings = pd.concat([run_checks(r, g) for r in returns], ignore_index=True)
        summ = summary(returns, findings, g)
        if g is None:
            console.print("[yellow]no GIAS file:[/yellow] URN/UKPRN checks not run (give --gias)")
        if fmt == "table":
            _print_check(summ, findings)
        else:
            assert out is not None
            for p in write_check_report(summ, findings, fmt, out):
                console.print(f"wrote {p}")
        errors = int((findings["severity"] == "error").sum())
        console.print(f"{errors:,} errors, {int((findings['severity'] == 'query').sum()):,} queries")
        if errors:
            raise typer.Exit(1)

    def _print_check(summ, findings) -> None:  # type: ignore[no-untyped-def]
        out = Console()
        for _, g in summ.groupby("census_year"):
            head = g.iloc[0]
            t = Table(
                title=f"SEN2 return, census {head['census_date']} (LA {head['lea']}, guide {head['guide_version']})"
            )
            t.add_column("item")
            t.add_column("severity")
            t.add_column("count", justify="right")
            for _, r in g.iterrows():
                c = "not run" if r["count"] is None or r["count"] != r["count"] else f"{int(r['count']):,}"
                if r["severity"] == "" or c != "0":
                    t.add_row(str(r["item"]), str(r["severity"]), c)
            out.print(t)
        if len(findings):
            t = Table(title="findings (first 200; use --format csv|xlsx|html for all)")
            for c in FINDING_COLS:
                t.add_column(c, overflow="fold")
            for _, r in findings.head(200).iterrows():
                t.add_row(*(str(r[c]) for c in FINDING_COLS))
            out.print(t)

    @sen2.command("import")
    def import_(
        folder: Path = typer.Argument(..., help="Folder holding the COLLECT export(s)."),
        dest: Path = typer.Option(..., "--dest", help="Store folder (council-only; created or updated)."),
        key_file: Path | None = typer.Option(None, "--key-file", help=KEY_HELP),
        gias: Path | None = typer.Option(None, "--gias", help=GIAS_HELP),
    ) -> None:  # fmt: skip
        """Import the return(s) into a local store of tidy tables; identifiers never leave the importer."""
        from sendcast.personlevel.importer import import_returns
        from sendcast.personlevel.read import Sen2InputError

        try:
            with console.status("importing..."):
                res = import_returns(folder, dest, key_file=key_file, gias_file=gias)
        except Sen2InputError as exc:
            _fail(exc)
        console.print(f"imported LA {res.lea}, census years {', '.join(map(str, res.years))}: "
                      f"{res.people:,} people into {res.dest}")  # fmt: skip
        if res.key_created:
            console.print(f"a new key was made at {res.key_file} (owner-only): keep it to add later returns")
        if not res.gias:
            console.print("[yellow]no GIAS file:[/yellow] placements at a URN/UKPRN have group 'unknown' (give --gias)")
        if res.errors or res.queries:
            console.print(f"the checks found {res.errors:,} errors and {res.queries:,} queries: "
                          f"run `sendcast sen2 check {folder}`")  # fmt: skip

    @sen2.command("derive")
    def derive(
        store: Path = typer.Argument(..., help="SEN2 store made by `sendcast sen2 import`."),
        out: Path = typer.Option(..., "--out", help="An .xlsx file (one sheet per table) or a folder of csv files."),
    ) -> None:
        """Caseload, joiners, leavers, movers, pipeline and reconciliation, with disclosure control."""
        from sendcast.personlevel.importer import open_sen2_store
        from sendcast.personlevel.read import Sen2InputError
        from sendcast.personlevel.report import derived_tables, write_tables

        try:
            manifest, tables = open_sen2_store(store)
        except Sen2InputError as exc:
            _fail(exc)
        derived = derived_tables(tables, manifest)
        for p in write_tables(derived, out):
            console.print(f"wrote {p}")
        rec = derived.get("reconciliation")
        if rec is None:
            console.print(f"no published SEN2 figures for LA {manifest['lea']} in the data store: not reconciled")
            return
        from sendcast.outputs.disclosure import format_count

        for _, r in rec[rec["measure"] == "ehcp_total"].iterrows():
            shown = [r[c] if isinstance(r[c], str) else format_count(r[c]) for c in ("return", "published")]
            if shown[1] == "-":
                console.print(f"January {r['census_year']}: {shown[0]} plans in the return; not yet published")
                continue
            diff = r["difference"] if isinstance(r["difference"], str) else f"{float(r['difference']):+,.0f}"
            pct = r["difference_pct"] if isinstance(r["difference_pct"], str) else f"{float(r['difference_pct']):+.1f}%"
            console.print(f"January {r['census_year']}: {shown[0]} plans in the return, {shown[1]} published "
                          f"(difference {diff}, {pct})")  # fmt: skip


def forecast_from_store(store: Path, *, horizon: int, draws: int, seed: int, fmt: str, out: Path | None) -> None:
    """`sendcast forecast --sen2 STORE`: the forecast by primary need, printed or written."""
    from sendcast.personlevel import api
    from sendcast.personlevel.read import Sen2InputError

    if fmt not in api.FORMATS:
        console.print(f"[red]error:[/red] unknown format {fmt!r}: choose {', '.join(api.FORMATS)}")
        raise typer.Exit(2)
    if fmt in ("parquet", "html") and out is None:
        console.print(f"[red]error:[/red] --format {fmt} needs --out PATH")
        raise typer.Exit(2)
    try:
        with console.status("fitting and simulating..."):
            res = api.forecast_by_need(store, horizon=horizon, draws=draws, seed=seed)
    except (Sen2InputError, ValueError) as exc:
        _fail(exc)
    if fmt == "table":
        pub = res.published(("primary_need",))
        t = Table(title=f"LA {res.la}: EHC plans by primary need at January (own SEN2 returns to {res.origin})")
        years = sorted(pub["year"].unique())
        t.add_column("primary need")
        for y in years:
            t.add_column(str(y), justify="right")
        from sendcast.personlevel.codes import NEED_NAMES

        def num(v: object) -> str:
            return v if isinstance(v, str) else f"{float(v):,.0f}"  # type: ignore[arg-type]

        for need, g in pub.groupby("primary_need", sort=False):
            g = g.set_index("year")
            t.add_row(
                NEED_NAMES.get(str(need), str(need)),
                *(f"{num(g.loc[y, 'p50'])} ({num(g.loc[y, 'p10'])}-{num(g.loc[y, 'p90'])})" for y in years),
            )
        Console().print(t)
        Console().print("median (80% interval); counts under 10 shown as <10.")
        return
    written = api.write(res, fmt, out)
    if written is not None:
        console.print(f"wrote {written} (+ {written.name}.meta.json)")

"""``sendcast scenario``: run, compare, check and goal-seek scenario files (thin wrappers)."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from sendcast.cli_parts.common import DEFAULT_DRAWS, DEFAULT_SEED

FORMATS = ("table", "csv", "json", "html")

# options shared by several commands (one definition, so run and compare cannot drift apart)
CouncilOpt = Annotated[str, typer.Option("--la", help="Council name or code.")]
OriginOpt = Annotated[int | None, typer.Option(help="Last January observed.")]
HorizonOpt = Annotated[int, typer.Option(help="Years ahead.")]
DrawsOpt = Annotated[int, typer.Option(help="Monte Carlo draws.")]
SeedOpt = Annotated[int, typer.Option(help="Random seed.")]
AgreementOpt = Annotated[Path | None, typer.Option(help="Agreement YAML.")]
FormatOpt = Annotated[str | None, typer.Option("--format", help="|".join(FORMATS) + " (default: --out's extension)")]
OutOpt = Annotated[Path | None, typer.Option(help="Output file.")]
Sen2Opt = Annotated[
    Path | None,
    typer.Option(
        "--sen2",
        help="Simulate on the council's own SEN2 store (`sendcast sen2 import`): needed by need_new_plans and "
        "transition levers.",
    ),
]

# the options of ``scenario run`` and ``scenario compare``: (name, option, default)
COMPARE_OPTIONS: tuple[tuple[str, Any, Any], ...] = (
    ("la", CouncilOpt, inspect.Parameter.empty),  # required: a scenario is always for a named council
    ("origin", OriginOpt, None),
    ("horizon", HorizonOpt, 6),
    ("draws", DrawsOpt, DEFAULT_DRAWS),
    ("seed", SeedOpt, DEFAULT_SEED),
    ("agreement", AgreementOpt, None),
    ("fmt", FormatOpt, None),
    ("out", OutOpt, None),
    ("sen2", Sen2Opt, None),
)


def _with_compare_options(fn: Callable[..., None]) -> Callable[..., None]:
    """Return ``fn`` (whose last parameter is ``**options``) with :data:`COMPARE_OPTIONS` in
    its signature in place of ``**options``, so typer offers them and passes them by name."""
    sig = inspect.signature(fn, eval_str=True)
    own = [q for q in sig.parameters.values() if q.kind is not inspect.Parameter.VAR_KEYWORD]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=option)
        for name, option, default in COMPARE_OPTIONS
    ]
    fn.__signature__ = sig.replace(parameters=[*own, *shared])  # type: ignore[attr-defined]
    return fn


def _fail(msg: str) -> typer.Exit:
    typer.echo(f"error: {msg}", err=True)
    return typer.Exit(2)


def _load(files: list[Path]) -> list[Any]:
    """Load and validate every file before anything runs."""
    from sendcast.scenarios.schema import ScenarioError, load_scenario

    out = []
    for f in files:
        try:
            out.append(load_scenario(f))
        except ScenarioError as e:
            raise _fail(str(e)) from e
    return out


def _file_records(files: list[Path], scenarios: list[Any]) -> list[dict[str, str]]:
    """Return ``{path, sha256, name}`` for each scenario file, hashed as read (before the run)."""
    return [
        {"path": str(f.resolve()), "sha256": hashlib.sha256(f.read_bytes()).hexdigest(), "name": sc.name}
        for f, sc in zip(files, scenarios, strict=True)
    ]


def _write_metadata(
    out: Path,
    command: str,
    settings: dict[str, Any],
    scenario_files: list[dict[str, str]],
    agreement: Path | None = None,
) -> None:
    """Write ``<out>.meta.json`` beside an output: the run's settings, version, git commit,
    parameter and store hashes (:func:`sendcast.outputs.metadata.run_metadata`) and the path
    and SHA-256 of every scenario file used."""
    from sendcast.outputs.io import write_json
    from sendcast.outputs.metadata import run_metadata
    from sendcast.store import open_store

    meta = run_metadata(command, settings, open_store(), [agreement] if agreement else [])
    meta["scenario_files"] = scenario_files
    path = write_json(meta, Path(f"{out}.meta.json"))
    typer.echo(f"wrote {path}")


def _money(agreement: Path | None, la_code: str | None = None) -> tuple[Any, Any]:
    """Return (money inputs, agreement); a bad file or an agreement for another council is one
    line and exit 2."""
    from sendcast.money import service
    from sendcast.parameters import ParameterError

    try:
        inputs = service.inputs()
        agr = service.agreement(agreement) if agreement else None
    except ParameterError as e:
        raise _fail(str(e)) from e
    if agr is not None and la_code is not None and agr.la_code != la_code:
        raise _fail(f"{agr.file}: the agreement is for {agr.council} ({agr.la_code}), not {la_code}")
    return inputs, agr


def _context(la: str, origin: int | None, horizon: int, draws: int) -> Any:
    from sendcast.geography import UnknownCouncilError
    from sendcast.model.api import ForecastInputError
    from sendcast.scenarios.compare import context_from_store

    try:
        return context_from_store(la, origin=origin, horizon=horizon, draws=draws)
    except (ForecastInputError, UnknownCouncilError) as e:
        raise _fail(str(e)) from e


def _sen2_context(sen2: Path, la: str, origin: int | None, horizon: int, seed: int) -> Any:
    """The scenario context on the council's SEN2 store: a store of another council (or of none
    in the data store), or an origin other than its last census, is one line and exit 2."""
    from sendcast.geography import UnknownCouncilError
    from sendcast.personlevel.read import Sen2InputError
    from sendcast.scenarios.compare import context_from_sen2

    try:
        return context_from_sen2(sen2, council=la, horizon=horizon, seed=seed, origin=origin)
    except (Sen2InputError, ValueError, UnknownCouncilError) as e:
        raise _fail(str(e)) from e


def _sen2_origin(sen2: Path) -> int:
    """The SEN2 store's last census year (one line and exit 2 when it is not a store)."""
    from sendcast.personlevel.api import sen2_origin
    from sendcast.personlevel.read import Sen2InputError

    try:
        return sen2_origin(sen2)
    except Sen2InputError as e:
        raise _fail(str(e)) from e


def _check_need_levers(scenarios: list[Any], sen2: Path | None) -> None:
    from sendcast.scenarios.compare import check_need_levers

    try:
        check_need_levers(scenarios, sen2=sen2 is not None)
    except ValueError as e:
        raise _fail(str(e)) from e


def _output_format(fmt: str | None, out: Path | None) -> str:
    """The format to write: ``--format``, else ``--out``'s extension, else ``table``; a clash
    between the two, or an unknown extension, is refused (one line, exit 2)."""
    by_ext = {".csv": "csv", ".json": "json", ".html": "html", ".htm": "html", ".txt": "table"}
    if fmt is not None and fmt not in FORMATS:
        raise _fail(f"--format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    if out is None:
        return fmt or "table"
    ext = by_ext.get(out.suffix.lower())
    if ext is None:
        raise _fail(f"--out {out}: extension {out.suffix or '(none)'} is not one of {', '.join(sorted(by_ext))}")
    if fmt is not None and fmt != ext:
        raise _fail(f"--out {out} is a {ext} file but --format is {fmt}: make them agree")
    return ext


def _as_text(table: Any) -> Any:
    """Numbers as text with thousands separators (object columns hold numbers and ``<10``)."""

    def fmt(v: Any) -> Any:
        return f"{v:,.0f}" if isinstance(v, int | float) and not isinstance(v, bool) and v == v else v

    out = table.copy()
    for c in out.columns:
        if out[c].dtype.kind in "fO":
            out[c] = out[c].map(fmt)
    return out


def _emit(table: Any, fmt: str, out: Path | None, html: str | None = None, preface: str = "") -> None:
    """Print ``table`` or write it (atomically) to ``out`` as csv, json, a text table or html;
    ``preface`` (lines) heads the text table."""
    from sendcast.outputs.io import escape_text_cells, write_atomic

    if fmt == "html":
        if out is None:
            raise _fail("--format html needs --out")
        write_atomic(out, html or "")
        typer.echo(f"wrote {out}")
        return
    text = {
        "csv": lambda: escape_text_cells(table).to_csv(index=False),
        "json": lambda: table.to_json(orient="records", indent=1),
        "table": lambda: preface + _as_text(table).to_string(index=False),
    }[fmt]()
    if out is not None:
        write_atomic(out, text)
        typer.echo(f"wrote {out}")
    else:
        typer.echo(text)


def register(app: typer.Typer) -> None:
    """Add the ``scenario`` sub-app (run, compare, realism, goal-seek) to ``app``."""
    sub = typer.Typer(no_args_is_help=True, help="Scenarios: levers on demand and money.")
    app.add_typer(sub, name="scenario")

    @sub.command("run")
    @_with_compare_options
    def run(file: Annotated[Path, typer.Argument(help="Scenario YAML.")], **options: Any) -> None:
        """Run one scenario beside the baseline (same draws); print or write the comparison."""
        _compare("scenario run", [Path("baseline"), file], **options)

    @sub.command("compare")
    @_with_compare_options
    def compare_cmd(
        files: Annotated[list[Path], typer.Argument(help="Scenario YAMLs (first = reference).")], **options: Any
    ) -> None:
        """Compare scenarios on the same draws: demand, spend, deficit, savings, target."""
        _compare("scenario compare", files, **options)

    def _compare(
        command: str,
        files: list[Path],
        *,
        la: str,
        origin: int | None,
        horizon: int,
        draws: int,
        seed: int,
        agreement: Path | None,
        fmt: str | None,
        out: Path | None,
        sen2: Path | None,
    ) -> None:
        from sendcast.cli_parts.progress import steps
        from sendcast.money.budget import BudgetInputError
        from sendcast.scenarios.compare import NEED_PREFIX, compare, comparison_html, protect_counts
        from sendcast.scenarios.schema import BASELINE

        fmt = _output_format(fmt, out)
        paths = [f for f in files if str(f) != "baseline"]
        read = _load(paths)
        sources = _file_records(paths, read)
        loaded = iter(read)
        scenarios = [BASELINE if str(f) == "baseline" else next(loaded) for f in files]
        origins = {s.origin for s in scenarios if s.origin is not None}
        _check_need_levers(scenarios, sen2)
        if sen2 is not None:  # a forecast from the return starts at its last census
            last = _sen2_origin(sen2)
            for sc in scenarios:
                if sc.origin is not None and sc.origin != last:
                    raise _fail(f"{sc.file}: origin: {sc.origin}, but the SEN2 return's last census is January {last}")
        elif origin is None and len(origins) == 1:
            origin = origins.pop()
        with steps(3 + 2 * len(scenarios)) as step:
            if sen2 is not None:
                step(f"fitting the need model to {la}'s SEN2 return")
                ctx = _sen2_context(sen2, la, origin, horizon, seed)
            else:
                step(f"fitting every council ({la} is forecast with its neighbours' pooled trends)")
                ctx = _context(la, origin, horizon, draws)
            step("loading the money inputs")
            inputs, agr = _money(agreement, ctx.la_code)
            try:
                cmp = compare(ctx, scenarios, draws=draws, seed=seed, inputs=inputs, agreement=agr, progress=step)
            except BudgetInputError as e:
                raise _fail(str(e)) from e
        table = protect_counts(cmp.table)
        if fmt == "table":
            # the needs the scenarios' levers name (on the council's SEN2 return) beside the totals
            needs = {f"{NEED_PREFIX}{lv.need}" for s in scenarios for lv in s.need_levers if getattr(lv, "need", None)}
            keep = table["measure"].isin(["ehcp_total", *sorted(needs), "spend_total", "cumulative_balance"])
            table = table[keep]
        preface = "".join(f"{n}\n\n" for n in cmp.notes)  # where the forecast comes from (SEN2)
        _emit(table, fmt, out, comparison_html(cmp) if fmt == "html" else None, preface=preface)
        if fmt in ("csv", "json"):  # the data stay data: the source goes to stderr (and the .meta.json)
            for n in cmp.notes:
                typer.echo(f"note: {n}", err=True)
        if out is not None:
            settings = {
                "la": la,
                "la_code": ctx.la_code,
                "origin": origin,
                "horizon": horizon,
                "draws": draws,
                "seed": seed,
                "agreement": str(agreement) if agreement else None,
                "format": fmt,
                "scenarios": [s.name for s in scenarios],
                "sen2_store": str(sen2) if sen2 else None,
                "forecast_source": cmp.notes[0] if cmp.notes else None,
            }
            _write_metadata(out, command, settings, sources, agreement)
        if fmt == "table":
            if not cmp.savings.empty:
                typer.echo(cmp.savings.to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
            if not cmp.target.empty and agr is not None:
                typer.echo(cmp.target.to_string(index=False))

    @sub.command("realism")
    def realism(
        file: Annotated[Path, typer.Argument(help="Scenario YAML.")],
        la: CouncilOpt,
        fmt: Annotated[str, typer.Option("--format", help="table|csv|json|html")] = "table",
        out: OutOpt = None,
    ) -> None:
        """Judge each promise by how often councils achieved and held it (a base rate over
        council x start-year windows; thresholds in parameters/scenarios/realism.yaml)."""
        from sendcast.geography import UnknownCouncilError
        from sendcast.model.api import ForecastInputError
        from sendcast.scenarios.realism import assess

        if fmt not in ("table", "csv", "json", "html"):
            raise _fail(f"--format must be table, csv or json (or html with --out), not {fmt!r}")
        if fmt == "html" and out is None:
            raise _fail("--format html needs --out")
        (scenario,) = _load([file])
        sources = _file_records([file], [scenario])
        try:
            result = assess(scenario, la, with_backtest=True, with_path=True)
        except (ForecastInputError, UnknownCouncilError) as e:
            raise _fail(str(e)) from e
        table = result.table
        if fmt == "table":
            text = "\n".join(f"- {r['lever']} [{r['verdict']}]\n  {r['evidence']}" for _, r in table.iterrows())
            if result.path_note:
                text += f"\n\n{result.path_note}"
            if not result.tracker.empty:
                shown = result.tracker.drop(columns="levers")
                text += "\n\nPromises year by year (published record):\n" + shown.to_string(
                    index=False, float_format=lambda v: f"{v:+.1%}", na_rep="-"
                )
            for extra in (result.postmortem, result.calibration, f"In short: {result.summary}"):
                if extra:
                    text += f"\n\n{extra}"
            if out is None:
                typer.echo(text)
                return
            from sendcast.outputs.io import write_atomic

            write_atomic(out, text + "\n")
            typer.echo(f"wrote {out}")
        elif fmt == "html":
            from sendcast.outputs.realism import realism_html

            _emit(table, fmt, out, realism_html(result))
        else:
            _emit(table, fmt, out)
        if out is not None:
            _write_metadata(out, "scenario realism", {"la": la, "la_code": result.la_code, "format": fmt}, sources)

    @sub.command("goal-seek")
    def goal_seek_cmd(
        la: CouncilOpt,
        lever: Annotated[
            str, typer.Option(help="incidence|independent_shift|need_new_plans (with --need and --sen2)")
        ] = "incidence",
        need: Annotated[
            str | None, typer.Option(help="Primary need (SEN2 code, e.g. SEMH) of --lever need_new_plans.")
        ] = None,
        target_year: Annotated[int, typer.Option(help="Balanced by 31 March of this year.")] = 2029,
        probability: Annotated[float, typer.Option(help="Wanted probability (0-1).")] = 0.5,
        base: Annotated[Path | None, typer.Option(help="Scenario to add the lever to.")] = None,
        origin: OriginOpt = None,
        draws: DrawsOpt = DEFAULT_DRAWS,
        seed: SeedOpt = DEFAULT_SEED,
        agreement: AgreementOpt = None,
        sen2: Sen2Opt = None,
    ) -> None:
        """Find the lever size that balances the budget with the wanted probability."""
        from sendcast.cli_parts.progress import steps
        from sendcast.model import api
        from sendcast.scenarios.goalseek import goal_seek
        from sendcast.scenarios.realism import assess_lever, council_metrics
        from sendcast.scenarios.schema import BASELINE

        if lever not in ("incidence", "independent_shift", "need_new_plans"):
            raise _fail("--lever must be incidence, independent_shift or need_new_plans")
        if (lever == "need_new_plans") != (need is not None):
            raise _fail("--need goes with --lever need_new_plans (and that lever needs --need)")
        if lever == "need_new_plans" and sen2 is None:
            raise _fail("--lever need_new_plans acts on a primary need, which only the council's own SEN2 "
                        "return can model: give --sen2 STORE")  # fmt: skip
        if lever == "independent_shift" and sen2 is not None:
            raise _fail("--lever independent_shift acts on the published model's placements: with --sen2 use "
                        "incidence or need_new_plans")  # fmt: skip
        from sendcast.personlevel.codes import NEEDS

        if need is not None and need not in NEEDS:
            raise _fail(f"--need {need!r} is not a SEN2 primary need code (one of {', '.join(NEEDS)})")
        base_sc = _load([base])[0] if base else BASELINE
        _check_need_levers([base_sc], sen2)
        iterations = 10
        with steps(3 + 2 + iterations) as step:
            step("loading the store")
            data = api.model_data()
            if sen2 is not None:
                o = _sen2_origin(sen2) if origin is None else origin
                step(f"fitting the need model to {la}'s SEN2 return")
                ctx = _sen2_context(sen2, la, origin, max(target_year - o, 1), seed)
            else:
                o = api.check_request(data, origin, 1, draws)
                step(f"fitting every council ({la} is forecast with its neighbours' pooled trends)")
                ctx = _context(la, o, max(target_year - o, 1), draws)
            step("loading the money inputs; first trial")
            inputs, agr = _money(agreement, ctx.la_code)
            trial = 0

            def show(size: float, p: float) -> None:
                nonlocal trial
                trial += 1
                step(f"trial {trial}: {lever} {size:.1f}% gives probability {p:.2f}; next trial")

            try:
                res = goal_seek(
                    ctx,
                    lever=lever,  # type: ignore[arg-type]
                    target_year=target_year,
                    probability=probability,
                    inputs=inputs,
                    agreement=agr,
                    base=base_sc,
                    draws=draws,
                    seed=seed,
                    iterations=iterations,
                    progress=show,
                    need=need,
                )
            except ValueError as e:
                raise _fail(str(e)) from e
        if res.value is None:
            typer.echo(
                f"Even at 100% the probability of a balance >= {res.target_balance:,.0f} "
                f"at the end of {res.target_year} is {res.probability:.2f}."
            )
            return
        typer.echo(
            f"{lever}: {res.value:.1f}% gives probability {res.probability:.2f} "
            f"(wanted {probability:.2f}) of a cumulative balance >= "
            f"{res.target_balance:,.0f} at the end of {res.target_year}."
        )
        if res.scenario is not None:
            with steps(1) as step:
                step("how often councils have achieved a change this size")
                m = council_metrics(data.series, data.population)
            pop = m[m["la_code"] == ctx.la_code]["pop_0_25"].dropna()
            ev = assess_lever(
                res.scenario.levers[-1],
                m,
                la_code=ctx.la_code,
                neighbours=data.neighbours,
                pop_0_25=float(pop.iloc[-1]) if len(pop) else None,
            )
            if ev is not None:
                typer.echo(ev.text)

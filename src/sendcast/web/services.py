"""The web app's one door into the library: every call the pages and the API make to
sendcast's model, money, scenarios, outputs and geography goes through this module, and its
results are cached per council and settings.

Nothing here computes a forecast, a cost, a balance or a verdict: each function calls the
library function the CLI calls (``sendcast.money.budget``, ``sendcast.scenarios.compare`` /
``realism`` / ``schema``, ``sendcast.outputs.profile``, ``sendcast.geography``) with different
inputs, and hands back its tables. Forecasts are ``sendcast.model.api.forecast``'s steps
(histories, one fit of every council, ``run_forecast``) with the fit kept and shared between
councils, which ``api.forecast`` cannot do (a test checks the figures are the same). When a
library signature changes, this is the file to fix.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import tempfile
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from sendcast.geography import UnknownCouncilError

T = TypeVar("T")

EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "examples"
MAX_UPLOAD_BYTES = 1_000_000  # the CLI's limit for a scenario file (scenarios.schema)
PAGE_DRAWS = 500  # draws behind the council page's fan charts and budget (the budget CLI's default)
PAGE_HORIZON = 6  # January origin + 6: the budget reaches the financial year origin + 5
MAP_DRAWS = 200  # draws behind the England map's forecast growth (every council)
MAP_HORIZON = 5
SEED = 20240101  # sendcast.model.api.DEFAULT_SEED
WARM_HORIZONS = (6, 10)  # scenario fits made in the background at start (form default, 10 years)


class WebInputError(ValueError):
    """A request the library refuses (origin outside the data, an invalid scenario ...):
    ``str(err)`` is one line for the user."""


class CouncilNotFound(LookupError):
    """No council matches; ``suggestions`` lists the closest names."""

    def __init__(self, query: str, suggestions: list[str]) -> None:
        self.query = query
        self.suggestions = suggestions
        super().__init__(f"no council matches {query!r}")


class _Memo:
    """A bounded, thread-safe cache that computes each key once (concurrent callers of the
    same key wait for the first instead of repeating the work)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._locks: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]  # type: ignore[no-any-return]
            klock = self._locks.setdefault(key, threading.Lock())
        with klock:
            with self._lock:
                if key in self._data:
                    return self._data[key]  # type: ignore[no-any-return]
            value = compute()
            with self._lock:
                self._data[key] = value
                while len(self._data) > self.size:
                    self._data.popitem(last=False)
                self._locks.pop(key, None)
            return value

    def peek(self, key: Hashable) -> Any | None:
        with self._lock:
            return self._data.get(key)


@dataclass
class Job:
    """A scenario run in the background: ``stage`` and ``fraction`` for the progress page."""

    id: str
    la_code: str
    la_name: str
    stage: str = "waiting to start"
    fraction: float = 0.0
    result: Any = None
    error: str | None = None
    started: float = field(default_factory=lambda: dt.datetime.now().timestamp())

    @property
    def done(self) -> bool:
        return self.result is not None or self.error is not None


@dataclass
class ScenarioOutcome:
    """What the scenario pages and API show: the library's comparison, realism table and the
    scenario as a YAML-ready mapping."""

    la_code: str
    la_name: str
    origin: int
    horizon: int
    draws: int
    seed: int
    scenario_data: dict[str, Any]
    scenario_name: str
    comparison: Any  # sendcast.scenarios.compare.Comparison
    realism: pd.DataFrame
    agreement_file: str | None
    target_label: str | None


class Services:
    """Cached access to the library for one store (default: the embedded one)."""

    def __init__(self, store_path: Path | None = None, *, page_draws: int = PAGE_DRAWS, map_draws: int = MAP_DRAWS):
        from sendcast.store import open_store

        self.store = open_store(store_path)
        self.page_draws = page_draws
        self.map_draws = map_draws
        self._store_lock = threading.RLock()  # one DuckDB connection: one query at a time
        self._memo = _Memo(512)
        self._runs = _Memo(48)
        self._views = _Memo(256)
        self._outcomes = _Memo(32)
        self._building: dict[Hashable, Future[Any]] = {}
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._jobs_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sendcast-web-jobs")
        self._background_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sendcast-web-start")
        self._page_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sendcast-web-pages")
        self._side = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sendcast-web-side")
        self.map_progress: tuple[int, int] = (0, 0)
        self._map_started = False
        self.background_idle = threading.Event()  # set once the start-up forecasts and fits are done

    def view(self, key: Hashable, compute: Callable[[], T]) -> T:
        """A page's or response's formatted content, computed once per key (the inputs behind
        it are cached results, so the view only changes with them)."""
        return self._views.get(key, compute)

    def view_in_background(self, key: Hashable, compute: Callable[[], T]) -> Future[T]:
        """Start (once) computing a view in a worker thread; the future gives it, or the error.
        A failed build is forgotten, so asking again retries it."""
        with self._jobs_lock:
            fut = self._building.get(key)
            if fut is not None and fut.done() and fut.exception() is not None:
                fut = None
            if fut is None:
                fut = self._page_pool.submit(self.view, key, compute)
                self._building[key] = fut
                while len(self._building) > 256:
                    self._building.pop(next(iter(self._building)))
        return fut

    def view_peek(self, key: Hashable) -> Any | None:
        """The kept view for ``key``, or None (nothing is computed)."""
        return self._views.peek(key)

    # ------------------------------------------------------------------ store and councils

    def model_data(self) -> Any:
        from sendcast.model import api

        with self._store_lock:
            return api.model_data(self.store)

    def councils(self) -> pd.DataFrame:
        """``ons_code, dfe_code, la_name, region, predecessors`` for the current councils
        (:func:`sendcast.outputs.profile.council_list`)."""
        from sendcast.outputs.profile import council_list

        def load() -> pd.DataFrame:
            with self._store_lock:
                return council_list(self.store)

        return self._memo.get("councils", load)

    def resolve(self, query: str) -> tuple[str, str]:
        """``(la_code, la_name)`` of a council by name or code (:func:`sendcast.geography.resolve`);
        raises :class:`CouncilNotFound` with the closest names."""
        from sendcast.geography import resolve

        known = self._memo.peek(("resolve", query))
        if known is not None:
            return known  # type: ignore[no-any-return]
        table = self._memo.get("councils_table", lambda: self._table("councils"))
        try:
            row = resolve(query[:100], table)
        except UnknownCouncilError as e:
            raise CouncilNotFound(query, list(e.suggestions)) from None
        found = (str(row["la_code"]), str(row["la_name"]))
        return self._memo.get(("resolve", query), lambda: found)

    def _table(self, name: str) -> pd.DataFrame:
        with self._store_lock:
            return self.store.table(name)

    def data_date(self) -> dict[str, str]:
        """When the store was built and the latest January and financial year it holds."""

        def load() -> dict[str, str]:
            with self._store_lock:
                man = self.store.manifest
            built = str(man.get("built_at", ""))[:10]
            jan = max(
                (
                    p["last"]
                    for p in man.get("periods", [])
                    if p.get("source") == "ehcp-statistics" and p.get("period_type") == "january"
                ),
                default=None,
            )
            try:
                built_words = dt.date.fromisoformat(built).strftime("%-d %B %Y")
            except ValueError:
                built_words = built or "unknown"
            return {"built": built_words, "latest_january": str(jan) if jan else "unknown"}

        return self._memo.get("data_date", load)

    def neighbours(self, la_code: str) -> list[tuple[str, str]]:
        """The council's statistical neighbours, nearest first: (code, name)."""
        from sendcast.outputs.profile import council_info

        with self._store_lock:
            info = council_info(self.store, la_code)
        names = self.councils().set_index("ons_code")["la_name"]
        return [(c, str(names.get(c, c))) for c in info.neighbours]

    # ------------------------------------------------------------------ profile

    def profile(self, la_code: str) -> dict[str, Any]:
        """The CLI profile's table (small counts already suppressed by the profile module), its
        summary paragraph and display tables by period type."""
        from sendcast.outputs import profile as prof

        def load() -> dict[str, Any]:
            with self._store_lock:
                table = prof.profile_table(self.store, la_code)
            wide = {pt: prof.profile_wide(table, pt, last=6) for pt in ("january", "calendar_year", "academic_year")}
            return {"table": table, "summary": prof.summary_text(table), "wide": wide}

        return self._memo.get(("profile", la_code), load)

    @staticmethod
    def profile_labels() -> dict[str, str]:
        from sendcast.outputs.profile import LABELS

        return dict(LABELS)

    @staticmethod
    def format_profile_value(value: float, unit: str) -> str:
        from sendcast.outputs.profile import format_value

        return format_value(value, unit)

    @staticmethod
    def profile_suppressed(unit: pd.Series) -> pd.Series:
        from sendcast.outputs.profile import is_suppressed

        return is_suppressed(unit)

    # ------------------------------------------------------------------ England map

    def england_figures(self) -> pd.DataFrame:
        """Latest figures of every current council for the England map: one row per council
        (``la_code, la_name, region``) and a column per measure, plus ``<measure>_period`` and
        ``<measure>_suppressed``.

        Rates, shares and counts come from the profile's own builder with its disclosure
        (:func:`sendcast.outputs.profile.council_figures`: the numbers the council page shows,
        counts of 1-9 and what would give one away hidden), growth from
        :func:`sendcast.scenarios.realism.council_metrics`, the DSG balance from the SEND and AP
        dashboard's published percentage."""
        from sendcast.outputs import profile as prof
        from sendcast.scenarios.realism import council_metrics

        def load() -> pd.DataFrame:
            cl = self.councils().rename(columns={"ons_code": "la_code"})
            codes = list(cl["la_code"])
            with self._store_lock:
                # each council's figures as its profile publishes them (apply_disclosure)
                figs = prof.council_figures(self.store, codes)
                dsg = self.store.observations(source="send-ap-dashboard", measure="dsg_cumulative_balance_pct_income")
            out = cl[["la_code", "la_name", "region"]].copy().set_index("la_code")
            for measure, period_type in MAP_FIGURES:
                sub = figs[(figs["measure"] == measure) & (figs["period_type"] == period_type)]
                if sub.empty:
                    continue
                latest = int(sub["year"].max())
                sub = sub[sub["year"] == latest].drop_duplicates("la_code").set_index("la_code")
                out[measure] = sub["value"].reindex(out.index)
                out[f"{measure}_suppressed"] = (
                    prof.is_suppressed(sub["unit"]).reindex(out.index, fill_value=False).astype(bool)
                )
                # how the profile marks a hidden figure: <10 (a count of 1-9) or c
                marks = [prof.format_value(v, u) for v, u in zip(sub["value"], sub["unit"], strict=True)]
                out[f"{measure}_marker"] = pd.Series(marks, index=sub.index).reindex(out.index)
                out[f"{measure}_period"] = _period_words(latest, period_type)
            data = self.model_data()
            m = council_metrics(data.series, data.population)
            latest = int(m["year"].max())
            g = m[m["year"] == latest].set_index("la_code")["growth"] * 100
            out["growth"] = g.reindex(out.index)
            out["growth_suppressed"] = False
            out["growth_period"] = f"January {latest - 1} to January {latest}"
            if not dsg.empty:
                d = dsg[dsg["breakdown"] == "total"]
                latest = int(d["year"].max())
                pct = d[d["year"] == latest].drop_duplicates("la_code").set_index("la_code")["value"]
                # the dashboard publishes the cumulative deficit as a positive % of income;
                # shown here signed like every balance in sendcast (negative = deficit)
                out["dsg_balance_pct"] = -pct.reindex(out.index)
                out["dsg_balance_pct_suppressed"] = False
                out["dsg_balance_pct_period"] = f"31 March {latest + 1}"
            return out.reset_index()

        figs = self._memo.get("england_figures", load).copy()
        fg = self.map_forecast_growth()
        if fg is not None:
            figs = figs.merge(fg, on="la_code", how="left")
            figs["forecast_growth_suppressed"] = False
        return figs

    def start_map_forecast(self) -> None:
        """Start forecasting every council in the background (for the map's forecast growth)."""
        with self._jobs_lock:
            if self._map_started:
                return
            self._map_started = True
        self._background_pool.submit(self._background)

    def _background(self) -> None:
        try:
            self._map_forecast()
        finally:
            self.background_idle.set()

    @property
    def background(self) -> str:
        """``not started``, ``running`` or ``idle`` (the start-up forecast of every council and fits)."""
        if not self._map_started:
            return "not started"
        return "idle" if self.background_idle.is_set() else "running"

    def _map_forecast(self) -> None:
        from sendcast.model import api

        def progress(i: int, n: int) -> None:
            self.map_progress = (i, n)

        try:
            res = api.forecast(
                None,
                all_councils=True,
                horizon=MAP_HORIZON,
                draws=self.map_draws,
                seed=SEED,
                store=self.store,
                progress=progress,
            )
        except Exception as exc:  # noqa: BLE001 - shown on the page as "not available", logged
            import logging

            logging.getLogger("sendcast.web").exception("forecast of every council failed")
            message = str(exc)[:300]
            self._memo.get("map_forecast_error", lambda: message)
            return
        s = res.summary[res.summary["measure"] == "ehcp_total"]
        first, last = int(s["year"].min()), int(s["year"].max())
        a = s[s["year"] == first].set_index("la_code")["p50"]
        b = s[s["year"] == last].set_index("la_code")["p50"]
        growth = ((b / a) - 1) * 100
        df = pd.DataFrame({"la_code": growth.index, "forecast_growth": growth.to_numpy()})
        df["forecast_growth_period"] = f"January {first} to January {last} (median of {self.map_draws} draws)"
        self._memo.get("map_forecast", lambda: df)
        # then fit every council for the scenario form's default settings (and the 10-year
        # runs of the benchmark), so a first scenario run does not wait for the fit
        last = self.origins()[1]
        some_council = str(self.councils()["ons_code"].iloc[0])
        for horizon in WARM_HORIZONS:
            try:
                self._context(some_council, last, horizon)
            except WebInputError:
                pass  # that council lacks history; the fit (shared by all) is cached anyway

    def map_forecast_growth(self) -> pd.DataFrame | None:
        return self._memo.peek("map_forecast")  # type: ignore[no-any-return]

    def map_forecast_error(self) -> str | None:
        return self._memo.peek("map_forecast_error")  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ forecast

    def check_origin(self, origin: int | None, horizon: int, draws: int) -> int:
        from sendcast.model import api

        try:
            return api.check_request(self.model_data(), origin, horizon, draws)
        except api.ForecastInputError as e:
            raise WebInputError(str(e)) from None

    def origins(self) -> tuple[int, int]:
        d = self.model_data()
        return int(d.first_origin), int(d.last_origin)

    def forecast(
        self, la_code: str, *, origin: int | None, horizon: int, draws: int, seed: int, keep_draws: bool = False
    ) -> Any:
        """The :class:`~sendcast.model.forecast.ForecastResult` of one council (cached): what
        ``sendcast.model.api.forecast(la_code, ...)`` returns, through
        :func:`sendcast.model.api.published_forecast` on the model's cached fits (a test checks
        the two agree)."""
        from sendcast.model import api

        o = self.check_origin(origin, horizon, draws)
        key = ("forecast", la_code, o, horizon, draws, seed, keep_draws)

        def run() -> Any:
            hist, fits = self._fits(o, horizon)
            if la_code not in fits:
                raise WebInputError(f"{la_code}: not enough published history to forecast from {o}")
            try:
                return api.published_forecast(
                    self.model_data(), hist, o, horizon, draws, seed, [la_code], keep_draws, fits=fits
                )
            except (api.ForecastInputError, ValueError) as e:
                raise WebInputError(str(e)) from None

        return self._runs.get(key, run)

    def _fits(self, origin: int, horizon: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """Council histories cut at ``origin`` and every council fitted for ``horizon`` years:
        the model's own per-process caches (:func:`sendcast.model.api.histories`,
        :func:`sendcast.model.api.council_fits`), shared with the CLI's code paths."""
        from sendcast.model import api

        data = self.model_data()
        with self._store_lock:
            return api.histories(data, origin), api.council_fits(data, origin, horizon)

    def page_forecast(self, la_code: str) -> Any:
        """The council page's forecast (placement draws kept for its budget)."""
        return self.forecast(
            la_code, origin=None, horizon=PAGE_HORIZON, draws=self.page_draws, seed=SEED, keep_draws=True
        )

    def forecast_history(self, la_code: str) -> pd.DataFrame:
        from sendcast.outputs.forecast_report import history_long

        return self._memo.get(("history", la_code), lambda: history_long(la_code))

    def accuracy_note(self, res: Any, la_code: str) -> str:
        from sendcast.outputs.forecast_report import accuracy_note

        return accuracy_note(res, la_code)

    @staticmethod
    def forecast_labels() -> dict[str, str]:
        from sendcast.outputs.forecast_report import LABELS

        return dict(LABELS)

    def accuracy(self) -> pd.DataFrame | None:
        """The shipped backtest accuracy (evaluate/results/accuracy.parquet)."""
        from sendcast.outputs.forecast_report import accuracy_table

        return self._memo.get("accuracy", accuracy_table)

    def calibration(self) -> pd.DataFrame | None:
        """The shipped check of the backtest's 80% bands (evaluate/results/calibration.parquet)."""
        from sendcast.outputs.forecast_report import calibration_table

        return self._memo.get("calibration", calibration_table)

    # ------------------------------------------------------------------ money

    def agreements(self) -> dict[str, Path]:
        """Agreement files (``examples/*/agreement.yaml``) by the council's ONS code."""
        from sendcast.money.agreements import load_agreement
        from sendcast.parameters import ParameterError

        def load() -> dict[str, Path]:
            out: dict[str, Path] = {}
            for p in sorted(EXAMPLES_DIR.glob("*/agreement.yaml")) if EXAMPLES_DIR.is_dir() else []:
                try:
                    out[load_agreement(p).la_code] = p
                except ParameterError:
                    continue
            return out

        return self._memo.get("agreements", load)

    def agreement(self, la_code: str) -> Any | None:
        from sendcast.money.agreements import load_agreement

        path = self.agreements().get(la_code)
        return self._memo.get(("agreement", la_code), lambda: load_agreement(path)) if path else None

    def money_inputs(self) -> Any:
        """The :class:`~sendcast.money.budget.MoneyInputs` the CLI's money commands use
        (:func:`sendcast.money.service.inputs`, the shipped parameters, no balances file)."""
        from sendcast.money import service

        return self._memo.get("money_inputs", service.inputs)

    def budget(self, la_code: str) -> dict[str, Any]:
        """The council page's budget: :func:`sendcast.money.service.budget`, the function
        ``sendcast budget`` calls, with the council's agreement when one is on file, the page's
        draws, a 6-year horizon (the CLI's default) and the default seed; and the budget's
        summary (:func:`sendcast.money.budget.summarise`). So the page's balances equal
        ``sendcast budget <council> --agreement examples/<council>/agreement.yaml --draws N``."""
        from sendcast.geography import UnknownCouncilError
        from sendcast.model.api import ForecastInputError
        from sendcast.money import service
        from sendcast.money.budget import BudgetInputError, summarise

        def run() -> dict[str, Any]:
            agr = self.agreement(la_code)
            try:
                # the library's own store connection (the embedded store, as the CLI's)
                b = service.budget(
                    la_code, self.money_inputs(), agreement=agr, horizon=PAGE_HORIZON, draws=self.page_draws, seed=SEED
                )
            except (BudgetInputError, ForecastInputError, UnknownCouncilError) as e:
                raise WebInputError(f"no budget for this council: {e}") from None
            return {
                "result": b.result,
                "summary": summarise(b.result),
                "agreement": agr,
                "assessment": b.assessment,
                "checks": b.checks,
            }

        return self._runs.get(("budget", la_code, self.page_draws), run)

    # ------------------------------------------------------------------ scenarios

    def scenario_examples(self) -> dict[str, Path]:
        """Scenario files to start from: the shipped library, then ``examples/*/scenarios``."""
        from sendcast.scenarios.schema import LIBRARY

        files = sorted(LIBRARY.glob("*.yaml"))
        if EXAMPLES_DIR.is_dir():
            files += sorted(EXAMPLES_DIR.glob("*/scenarios/*.yaml"))
        out: dict[str, Path] = {}
        for p in files:
            key = p.stem if p.parent == LIBRARY else f"{p.parent.parent.name}/{p.stem}"
            out[key] = p
        return out

    def example_names(self) -> dict[str, str]:
        """Each example's scenario name, by :meth:`scenario_examples` key (unreadable ones left out)."""
        from sendcast.scenarios.schema import ScenarioError, load_scenario

        def load() -> dict[str, str]:
            out = {}
            for key, path in self.scenario_examples().items():
                try:
                    out[key] = load_scenario(path).name
                except ScenarioError:
                    continue
            return out

        return self._memo.get("example_names", load)

    def load_example(self, key: str) -> dict[str, Any]:
        """A shipped scenario (by :meth:`scenario_examples` key) as a mapping in the YAML schema."""
        from sendcast.scenarios.schema import ScenarioError, load_scenario

        path = self.scenario_examples().get(key)
        if path is None:
            raise WebInputError(f"no example scenario {key!r}")
        try:
            return scenario_mapping(load_scenario(path))
        except ScenarioError as e:
            raise WebInputError(str(e)) from None

    def parse_upload(self, filename: str, payload: bytes) -> dict[str, Any]:
        """Validate an uploaded scenario file exactly as ``sendcast scenario run FILE`` does
        (:func:`sendcast.scenarios.schema.load_scenario`) and return it as a mapping.

        The upload is written to a private temporary folder; a ``base`` may only name a
        scenario in the shipped library (an upload must not read files on the server). Raises
        :class:`WebInputError` naming the uploaded file and the key at fault."""
        from sendcast.parameters import ParameterError, read_yaml_mapping
        from sendcast.scenarios.schema import LIBRARY, ScenarioError, load_scenario

        shown = Path(filename or "upload.yaml").name[:100] or "upload.yaml"
        if len(payload) > MAX_UPLOAD_BYTES:
            raise WebInputError(f"{shown}: (file): the file is over the {MAX_UPLOAD_BYTES:,}-byte limit")
        with tempfile.TemporaryDirectory(prefix="sendcast-upload-") as tmp:
            path = Path(tmp) / "scenario.yaml"
            path.write_bytes(payload)
            try:
                data = read_yaml_mapping(path, max_bytes=MAX_UPLOAD_BYTES)
                base = data.get("base")
                if base is not None and (
                    not isinstance(base, str) or not (LIBRARY / Path(base).name).is_file() or Path(base).name != base
                ):
                    raise ScenarioError(
                        path,
                        "base",
                        "an uploaded scenario may only build on a scenario in "
                        "sendcast's library (" + ", ".join(p.name for p in LIBRARY.glob("*.yaml")) + ")",
                    )
                sc = load_scenario(path)
            except (ScenarioError, ParameterError) as e:
                raise WebInputError(f"{shown}: {e.key}: {e.message}") from None
        return scenario_mapping(sc)

    def validate_scenario(self, data: dict[str, Any], source: str = "form") -> Any:
        """The validated :class:`~sendcast.scenarios.schema.Scenario` for a mapping in the YAML schema."""
        from sendcast.scenarios.schema import ScenarioError, scenario_from_dict

        if not isinstance(data, dict):
            raise WebInputError(f"{source}: (file): expected a mapping, got {type(data).__name__}")
        if data.get("base") is not None:
            raise WebInputError(f"{source}: base: not accepted here; send the scenario with its levers merged")
        from sendcast.scenarios.compare import check_need_levers

        try:
            scenario = scenario_from_dict(data, name=source)
        except ScenarioError as e:
            raise WebInputError(f"{source}: {e.key}: {e.message}") from None
        try:
            # the pages model published data only: a need or transition lever needs the
            # council's own SEN2 return, which the web never holds (personal data)
            check_need_levers([scenario], sen2=False, hint="run it with `sendcast scenario run --sen2 STORE`")
        except ValueError as e:
            raise WebInputError(str(e)) from None
        return scenario

    def realism(self, la_code: str, scenario: Any) -> pd.DataFrame:
        """Each lever's verdict: the table of :func:`sendcast.scenarios.realism.assess`, the
        function ``sendcast scenario realism`` calls (without its backtest headline and implied
        path, which the pages do not show)."""
        from sendcast.scenarios.realism import assess

        return assess(scenario, la_code, self.model_data()).table

    def _context(self, la_code: str, origin: int, horizon: int) -> Any:
        """A :class:`~sendcast.scenarios.compare.Context`; the fit of every council (which
        pooling needs) is cached per origin and horizon and shared by all councils."""
        from sendcast.model.api import ForecastInputError
        from sendcast.scenarios.compare import context_from_store

        # the CLI's context: the same cached fits, and scenarios laid on the published forecast
        try:
            return context_from_store(la_code, origin=origin, horizon=horizon, store=self.store)
        except ForecastInputError as e:
            raise WebInputError(f"{la_code}: not enough published history to forecast from {origin}") from e

    def run_scenario(
        self,
        la_code: str,
        data: dict[str, Any],
        *,
        origin: int | None,
        horizon: int,
        draws: int,
        seed: int,
        progress: Callable[[str, float], None] | None = None,
        source: str = "form",
    ) -> ScenarioOutcome:
        """Run a scenario beside the baseline on the same draws, as ``sendcast scenario run``
        does (:func:`sendcast.scenarios.compare.simulate`, ``add_budget``, ``compare_runs``),
        with the council's agreement when one is on file, and judge its levers."""
        from sendcast.scenarios.compare import add_budget, compare_runs, simulate
        from sendcast.scenarios.schema import BASELINE

        note = progress or (lambda stage, frac: None)
        scenario = self.validate_scenario(data, source=source)
        if origin is None and scenario.origin is not None:
            origin = scenario.origin
        o = self.check_origin(origin, horizon, draws)
        blob = json.dumps(data, sort_keys=True, default=str)
        key = ("scenario", la_code, o, horizon, draws, seed, hashlib.sha256(blob.encode()).hexdigest())

        def run() -> ScenarioOutcome:
            note("fitting every council's model (shared by all councils)", 0.05)
            ctx = self._context(la_code, o, horizon)
            inputs = self.money_inputs()
            agr = self.agreement(la_code)
            # the verdicts need no simulation: judged in another thread meanwhile (numpy and
            # pandas release the interpreter lock for much of the work)
            verdicts = self._side.submit(self.realism, la_code, scenario)

            def costed(sc: Any) -> Any:
                run_ = add_budget(
                    simulate(ctx, sc, draws=draws, seed=seed), inputs, la_code=la_code, seed=seed, agreement=agr
                )
                # the same values as categories: compare_runs looks lines up by name some twenty
                # times, and comparing categories is far quicker than comparing strings
                if run_.budget is not None:
                    run_.budget.lines["line"] = run_.budget.lines["line"].astype("category")
                return run_

            def baseline() -> Any:
                note("simulating the baseline", 0.25)
                return costed(BASELINE)

            try:
                base = self._runs.get(("baseline", la_code, o, horizon, draws, seed), baseline)
                note("simulating the scenario on the same draws", 0.5)
                run_ = costed(scenario)
                note("comparing draw by draw", 0.8)
                # the pages need the comparison's tables, not the draws behind them
                cmp = dataclasses.replace(compare_runs(ctx, [base, run_], agreement=agr), runs=[])
            except ValueError as e:  # BudgetInputError among them
                raise WebInputError(f"the scenario cannot be costed for {ctx.la_name}: {e}") from None
            note("judging each lever against what councils achieved", 0.9)
            realism = verdicts.result()
            return ScenarioOutcome(
                la_code=la_code,
                la_name=ctx.la_name,
                origin=o,
                horizon=horizon,
                draws=draws,
                seed=seed,
                scenario_data=data,
                scenario_name=scenario.name,
                comparison=cmp,
                realism=realism,
                agreement_file=Path(agr.file).name if agr is not None else None,
                target_label=(agr.target.description or None) if agr is not None else None,
            )

        return self._outcomes.get(key, run)

    def start_scenario_job(self, la_code: str, data: dict[str, Any], **settings: Any) -> Job:
        """Validate now (so a bad form fails at once), then run in the background."""
        self.validate_scenario(data)
        self.check_origin(settings.get("origin"), settings["horizon"], settings["draws"])
        job = Job(id=uuid.uuid4().hex, la_code=la_code, la_name=self.resolve(la_code)[1])
        with self._jobs_lock:
            self._jobs[job.id] = job
            while len(self._jobs) > 50:
                self._jobs.popitem(last=False)

        def progress(stage: str, frac: float) -> None:
            job.stage, job.fraction = stage, frac

        def work() -> None:
            try:
                job.result = self.run_scenario(la_code, data, progress=progress, **settings)
                job.stage, job.fraction = "done", 1.0
            except WebInputError as e:
                job.error = str(e)
            except Exception:  # noqa: BLE001 - the page says it failed; no trace reaches the user
                import logging

                logging.getLogger("sendcast.web").exception("scenario run failed")
                job.error = "the run failed inside sendcast; the server log has the details"

        self._pool.submit(work)
        return job

    def job(self, job_id: str) -> Job | None:
        with self._jobs_lock:
            return self._jobs.get(job_id)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._background_pool.shutdown(wait=False, cancel_futures=True)
        self._page_pool.shutdown(wait=False, cancel_futures=True)
        self._side.shutdown(wait=False, cancel_futures=True)


# which profile measures the England map offers (measure, period type)
MAP_FIGURES: tuple[tuple[str, str], ...] = (
    ("ehcp_per_10k_0_25", "january"),
    ("independent_special_pct", "january"),
    ("plans_within_20_weeks_pct", "calendar_year"),
    ("tribunal_appeal_rate", "calendar_year"),
    ("ehcp_total", "january"),
)


def _period_words(year: int, period_type: str) -> str:
    if period_type == "january":
        return f"January {year}"
    if period_type == "academic_year":
        return f"{year}/{(year + 1) % 100:02d} academic year"
    if period_type == "financial_year":
        return f"{year}-{(year + 1) % 100:02d} financial year"
    return f"calendar year {year}"


def scenario_mapping(scenario: Any) -> dict[str, Any]:
    """A validated scenario as a mapping in the YAML schema the CLI reads (``base`` already
    merged into the levers, so the file stands alone)."""
    d = scenario.model_dump(mode="json", by_alias=True, exclude={"file", "base"}, exclude_none=True)
    for lv in d.get("levers", []):
        if "ages" in lv:
            lv["ages"] = list(lv["ages"])
    return dict(d)


def scenario_yaml(data: dict[str, Any]) -> str:
    """The scenario mapping as YAML text (loadable by ``sendcast scenario run``)."""
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)

"""Forecasts by primary need from a council's SEN2 store: the calls the CLI, the budget and
the scenarios make.

>>> from sendcast.personlevel.api import forecast_by_need
>>> res = forecast_by_need("path/to/store", horizon=5, draws=1000, seed=1)   # doctest: +SKIP
>>> res.published("primary_need")                                            # doctest: +SKIP
>>> res.placement_draws()          # what `sendcast budget --sen2` costs     # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sendcast.outputs.io import write_atomic, write_frame
from sendcast.personlevel.importer import open_sen2_store
from sendcast.personlevel.model import Multipliers, NeedModel, draws_frame, fit, simulate_arrays, summarise
from sendcast.personlevel.report import forecast_table

FORMATS = ("table", "csv", "json", "parquet", "html")


class Sen2CouncilError(ValueError):
    """A SEN2 store used for another council than its own, for a council not in the data store, or
    from another origin than its last census."""


def council_of(lea: str, store: Any | None = None) -> tuple[str, str] | None:
    """(la_code, la_name) of the council whose 3-digit LA code is ``lea`` in the data store's
    councils table; None when there is none (a fictional council such as 990) or no store."""
    from sendcast.store import StoreError, open_store

    try:
        councils = (store or open_store()).table("councils")
    except (StoreError, FileNotFoundError, KeyError):
        return None
    match = councils[councils["old_la_code"].astype(str) == str(lea)]
    if not len(match):
        return None
    return str(match["la_code"].iloc[0]), str(match["la_name"].iloc[0])


def sen2_origin(sen2_store: str | Path) -> int:
    """The last census year of a SEN2 store (where a forecast from it starts)."""
    from sendcast.personlevel.read import Sen2InputError

    path = Path(sen2_store) / "manifest.json"
    if not path.is_file():
        raise Sen2InputError(Path(sen2_store), "no SEN2 store here (run `sendcast sen2 import DIR --dest STORE`)")
    return max(int(r["census_year"]) for r in json.loads(path.read_text(encoding="utf-8"))["returns"])


def sen2_council(sen2_store: str | Path, council: str | None = None, *, origin: int | None = None,
                 store: Any | None = None) -> tuple[str, str]:  # fmt: skip
    """(la_code, la_name) of the council whose return ``sen2_store`` holds, for a budget or a
    scenario on it. Raises :class:`Sen2CouncilError` (one line) when that council is not in the
    data store, when ``council`` (a name or code) is another council, or when ``origin`` is
    not the return's last census year; :class:`~sendcast.personlevel.read.Sen2InputError` when
    the folder is not a SEN2 store."""
    from sendcast.model import api as model_api

    manifest, _ = open_sen2_store(Path(sen2_store))
    lea = str(manifest["lea"])
    last = sen2_origin(sen2_store)
    if origin is not None and origin != last:
        raise Sen2CouncilError(
            f"--origin {origin}: a forecast from the SEN2 return starts at its last census (January {last})"
        )
    own = council_of(lea, store)
    if own is None:
        raise Sen2CouncilError(
            f"{sen2_store}: the return is LA {lea}'s, which is not a council in the data store "
            "(a fictional council?): a budget or scenario needs a council's published finances"
        )
    if council is not None:
        code, name = model_api.resolve_council(council, model_api.model_data(store))
        if code != own[0]:
            raise Sen2CouncilError(
                f"{sen2_store}: the SEN2 return is {own[1]}'s ({own[0]}, LA {lea}), not {name}'s ({code}): "
                "--sen2 gives a council's own return"
            )
    return own


_FITS: dict[tuple[object, ...], tuple[dict[str, Any], NeedModel]] = {}
KEPT_FITS = 2


def fitted(sen2_store: str | Path, *, seed: int, store: Any | None = None) -> tuple[dict[str, Any], NeedModel]:
    """(manifest, need model fitted to the SEN2 store), fitted once per process for the same
    store files, seed and data store (a budget and its scenarios reuse the fit). Keyed on the
    store's manifest (path, modification time, size): a re-import is a new key. The model is
    read-only (scenario levers never change it)."""
    path = Path(sen2_store)
    mf = path / "manifest.json"
    st = mf.stat() if mf.is_file() else None
    key = (str(path.resolve()), st.st_mtime_ns if st else 0, st.st_size if st else 0, int(seed),
           None if store is None else id(store))  # fmt: skip
    if key not in _FITS:
        manifest, tables = open_sen2_store(path)
        model = fit(tables, manifest, store=store, seed=seed)
        while len(_FITS) >= KEPT_FITS:
            _FITS.pop(next(iter(_FITS)))
        _FITS[key] = (manifest, model)
    return _FITS[key]


def _values(model: NeedModel, by_age: np.ndarray) -> np.ndarray:
    """(D, T, M) draws in :data:`sendcast.model.forecast.MEASURES` order from the simulated
    (D, H, age, group) plans, T = the origin (the return's caseload, every draw) + H years."""
    from sendcast.model.forecast import measures_from_stock

    first = np.broadcast_to(model.stock.sum(axis=2), (by_age.shape[0], 1, *by_age.shape[2:]))
    return measures_from_stock(np.concatenate([first, by_age], axis=1))


def _placements(model: NeedModel, values: np.ndarray, store: Any | None = None) -> pd.DataFrame:
    from sendcast.model.forecast import placement_table

    code, name = council_of(model.la, store) or (model.la, f"LA {model.la}")
    years = np.arange(model.origin, model.origin + values.shape[1])
    return placement_table(values, code, name, years)


@dataclass
class NeedForecast:
    """A forecast by need: exact simulated draws (never published as they are) and the model."""

    la: str
    origin: int
    draws: pd.DataFrame  # draw, year, placement_group, primary_need, plans
    model: NeedModel
    settings: dict[str, Any]
    manifest: dict[str, Any]
    by_age: np.ndarray | None = None  # (D, H, age, group) simulated plans

    def summary(self, by: tuple[str, ...] = ("primary_need",)) -> pd.DataFrame:
        """Mean, median, 10th and 90th percentiles by year and ``by`` (exact: not for publication)."""
        return summarise(self.draws, by)

    def placement_draws(self, store: Any | None = None) -> pd.DataFrame:
        """Simulated plans by placement group in the shape of
        :func:`sendcast.model.api.placement_draws` (la_code, la_name, year, draw, placement,
        plans; the origin year is the return's own caseload), so the budget can cost them."""
        assert self.by_age is not None
        return _placements(self.model, _values(self.model, self.by_age), store)

    def source_note(self) -> str:
        """One sentence for outputs: where the forecast comes from."""
        return source_note(self.manifest, council_of(self.la) or (self.la, f"LA {self.la}"))

    def published(self, by: tuple[str, ...] = ("primary_need",)) -> pd.DataFrame:
        """The summary with disclosure control (text: a median under 10 shows ``<10``)."""
        return forecast_table(self.summary(by), by)


def forecast_by_need(store: str | Path, *, horizon: int = 5, draws: int = 1000, seed: int = 1,
                     published_store: Any | None = None) -> NeedForecast:  # fmt: skip
    """Fit the need model to a SEN2 store and simulate ``horizon`` Januarys ahead.

    Raises :class:`sendcast.personlevel.read.Sen2InputError` for a missing store and
    ``ValueError`` (one line) when the store cannot support a model (a single census year)."""
    if not 1 <= horizon <= 30:
        raise ValueError(f"horizon must be between 1 and 30 years (got {horizon})")
    if not 1 <= draws <= 20_000:
        raise ValueError(f"draws must be between 1 and 20,000 for a person-level forecast (got {draws})")
    manifest, model = fitted(store, seed=seed, store=published_store)
    by_need, by_age = simulate_arrays(model, horizon=horizon, draws=draws, seed=seed)
    settings = {"sen2_store": str(store), "horizon": horizon, "draws": draws, "seed": seed}
    return NeedForecast(la=model.la, origin=model.origin, draws=draws_frame(model, by_need), model=model,
                        settings=settings, manifest=manifest, by_age=by_age)  # fmt: skip


@dataclass
class NeedScenarios:
    """The need model fitted to a council's SEN2 store, ready to simulate scenarios on
    (:func:`sendcast.scenarios.compare.context_from_sen2`)."""

    la_code: str
    la_name: str
    horizon: int
    model: NeedModel
    manifest: dict[str, Any]
    sen2_store: str

    @property
    def origin(self) -> int:
        return self.model.origin

    def simulate(self, levers: list[Any], *, draws: int, seed: int) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
        """(D, T, M) draws, the placement-draws table and the (D, T, need) plans by primary
        need (:data:`~sendcast.personlevel.codes.NEEDS` order) of the need model with
        ``levers`` (scenario-schema levers; :func:`sendcast.personlevel.levers.multipliers`);
        T = the origin (the return's caseload) + the horizon's Januarys."""
        from sendcast.model.forecast import placement_table
        from sendcast.personlevel.levers import multipliers

        mult: Multipliers | None = multipliers(self.model, levers, self.horizon) if levers else None
        by_need, by_age = simulate_arrays(self.model, horizon=self.horizon, draws=draws, seed=seed, multipliers=mult)
        values = _values(self.model, by_age)
        years = np.arange(self.origin, self.origin + values.shape[1])
        first = np.broadcast_to(self.model.stock.sum(axis=(0, 1)), (draws, 1, by_need.shape[-1]))
        needs = np.concatenate([first, by_need.sum(axis=2)], axis=1).astype(float)
        return values, placement_table(values, self.la_code, self.la_name, years), needs

    def source_note(self) -> str:
        """One sentence for outputs: where the forecast comes from."""
        return source_note(self.manifest, (self.la_code, self.la_name))


def source_note(manifest: dict[str, Any], council: tuple[str, str]) -> str:
    """The sentence every output from a SEN2 store carries: the forecast is the council's own."""
    years = sorted(int(r["census_year"]) for r in manifest["returns"])
    return (f"Forecast of plans from {council[1]}'s own SEN2 person-level returns (January {years[0]} to "
            f"January {years[-1]}; sendcast's stock-flow model by primary need), not from the published "
            "figures.")  # fmt: skip


def need_scenarios(sen2_store: str | Path, *, council: str | None = None, horizon: int = 6, seed: int = 1,
                   origin: int | None = None, store: Any | None = None) -> NeedScenarios:  # fmt: skip
    """Fit the need model to ``sen2_store`` for scenarios (or a budget) of its council.

    Raises :class:`Sen2CouncilError` (another council, one not in the data store, an
    ``origin`` that is not the last census),
    ``Sen2InputError`` (not a SEN2 store) or ``ValueError`` (one line: a bad horizon, a store
    with a single census year)."""
    if not 1 <= horizon <= 30:
        raise ValueError(f"horizon must be between 1 and 30 years (got {horizon})")
    code, name = sen2_council(sen2_store, council, origin=origin, store=store)
    manifest, model = fitted(sen2_store, seed=seed, store=store)
    return NeedScenarios(la_code=code, la_name=name, horizon=horizon, model=model, manifest=manifest,
                         sen2_store=str(sen2_store))  # fmt: skip


def write(res: NeedForecast, fmt: str, out: Path | None) -> Path | None:
    """Write the published forecast by need (csv/json/parquet/html) with a ``.meta.json`` record;
    csv and json go to stdout when ``out`` is None."""
    from sendcast.outputs.metadata import run_metadata
    from sendcast.personlevel.report import protect_counts

    table = res.published(("primary_need",))
    if fmt == "parquet":
        table = protect_counts(res.summary(("primary_need",)), ["mean", "p10", "p50", "p90"], ("primary_need",),
                               ("year",), numeric=True)  # fmt: skip
    if out is None:
        if fmt not in ("csv", "json"):
            raise ValueError(f"--format {fmt} needs --out PATH")
        print(table.to_csv(index=False) if fmt == "csv" else table.to_json(orient="records", indent=1))
        return None
    if fmt == "html":
        write_atomic(out, _html(res, table))
    else:
        write_frame(table, out, fmt)
    meta = run_metadata("sendcast forecast --sen2", res.settings)
    meta["sen2_returns"] = [{k: r[k] for k in ("census_year", "census_date", "files_sha256")}
                            for r in res.manifest["returns"]]  # fmt: skip
    meta["model_strengths"] = res.model.strengths
    write_atomic(Path(str(out) + ".meta.json"), json.dumps(meta, indent=1, default=str))
    return out


def _html(res: NeedForecast, table: pd.DataFrame) -> str:
    import html

    from sendcast.personlevel.codes import NEED_NAMES

    t = table.copy()
    t["primary_need"] = t["primary_need"].map(lambda n: NEED_NAMES.get(n, n))
    last = t[(t["year"] == t["year"].max()) & (t["primary_need"] == "total")].iloc[0]
    sentence = (f"LA {res.la}: EHC plans in January {int(last['year'])} are likely to be between {last['p10']} "
                f"and {last['p90']} (80% interval; median {last['p50']}), from the council's own returns to "
                f"January {res.origin}.")  # fmt: skip
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Forecast by primary need</title>"
        "</head><body><h1>EHC plans by primary need</h1><p>"
        + html.escape(sentence)
        + "</p>"
        + t.to_html(index=False, escape=True)
        + "<p>Counts under 10 are shown as &lt;10 (disclosure control). Source: the council's SEN2 "
        "person-level returns; model: sendcast person-level stock-flow model by need.</p></body></html>"
    )

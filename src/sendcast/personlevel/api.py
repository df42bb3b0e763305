"""Forecasts by primary need from a council's SEN2 store: the calls the CLI (and later the
budget and scenarios) make.

>>> from sendcast.personlevel.api import forecast_by_need
>>> res = forecast_by_need("path/to/store", horizon=5, draws=1000, seed=1)   # doctest: +SKIP
>>> res.published("primary_need")                                            # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sendcast.outputs.io import write_atomic, write_frame
from sendcast.personlevel.importer import open_sen2_store
from sendcast.personlevel.model import NeedModel, fit, forecast, summarise
from sendcast.personlevel.report import forecast_table

FORMATS = ("table", "csv", "json", "parquet", "html")


@dataclass
class NeedForecast:
    """A forecast by need: exact simulated draws (never published as they are) and the model."""

    la: str
    origin: int
    draws: pd.DataFrame  # draw, year, placement_group, primary_need, plans
    model: NeedModel
    settings: dict[str, Any]
    manifest: dict[str, Any]

    def summary(self, by: tuple[str, ...] = ("primary_need",)) -> pd.DataFrame:
        """Mean, median, 10th and 90th percentiles by year and ``by`` (exact: not for publication)."""
        return summarise(self.draws, by)

    def placement_draws(self, store: Any | None = None) -> pd.DataFrame:
        """Simulated plans by placement group in the shape of
        :func:`sendcast.model.api.placement_draws` (la_code, la_name, year, draw, placement,
        plans; the origin year is the return's own caseload), so the budget can cost them."""
        from sendcast.store import StoreError, open_store

        code, name = self.la, f"LA {self.la}"
        try:
            councils = (store or open_store()).table("councils")
            match = councils[councils["old_la_code"].astype(str) == self.la]
            if len(match):
                code, name = str(match["la_code"].iloc[0]), str(match["la_name"].iloc[0])
        except (StoreError, FileNotFoundError):
            pass
        sims = self.draws.groupby(["draw", "year", "placement_group"], as_index=False)["plans"].sum()
        stock = self.model.stock.sum(axis=(0, 2))
        from sendcast.model.structure import GROUPS

        n_draws = int(self.draws["draw"].max()) + 1
        origin = pd.DataFrame({"draw": [d for d in range(n_draws) for _ in GROUPS], "year": self.origin,
                               "placement_group": list(GROUPS) * n_draws, "plans": list(stock) * n_draws})
        out = pd.concat([origin, sims], ignore_index=True).rename(columns={"placement_group": "placement"})
        out["plans"] = out["plans"].astype(float)
        return out.assign(la_code=code, la_name=name)[["la_code", "la_name", "year", "draw", "placement", "plans"]]

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
    manifest, tables = open_sen2_store(Path(store))
    model = fit(tables, manifest, store=published_store, seed=seed)
    sims = forecast(model, horizon=horizon, draws=draws, seed=seed)
    settings = {"sen2_store": str(store), "horizon": horizon, "draws": draws, "seed": seed}
    return NeedForecast(la=model.la, origin=model.origin, draws=sims, model=model, settings=settings,
                        manifest=manifest)  # fmt: skip


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
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Forecast by primary need</title>"
            "</head><body><h1>EHC plans by primary need</h1><p>" + html.escape(sentence) + "</p>"
            + t.to_html(index=False, escape=True)
            + "<p>Counts under 10 are shown as &lt;10 (disclosure control). Source: the council's SEN2 "
              "person-level returns; model: sendcast person-level stock-flow model by need.</p></body></html>")

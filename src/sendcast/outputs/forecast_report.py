"""Forecast outputs: files in every format, fan-chart pages and the accuracy note.

Every figure leaves through :func:`protected` (or :func:`protected_history` for the published
series beside it), which applies :mod:`sendcast.outputs.disclosure`: published and modelled
counts of 1 to 9 become ``<10`` (missing with a reason in parquet and in charts), and enough
other cells are hidden that none can be recovered by subtraction (placements and ages add up to
the total, state plus independent special schools to all special schools, councils to England).
"""

from __future__ import annotations

import html
import sys
from pathlib import Path

import pandas as pd

from sendcast.evaluate.report import accuracy_rows, forecasts_words, origins_words
from sendcast.model.api import model_data
from sendcast.model.forecast import ENGLAND, MEASURES, QUANTILES, ForecastResult
from sendcast.outputs.charts import fan_chart, html_page, table_html
from sendcast.outputs.disclosure import (
    LEGEND,
    REASON,
    SECONDARY,
    SECONDARY_REASON,
    SUPPRESSED,
    Additive,
    england_relation,
    plan_relations,
    protect,
    protect_numeric,
)
from sendcast.outputs.io import frame_bytes, json_bytes, write_atomic_many
from sendcast.outputs.metadata import run_metadata
from sendcast.store import open_store

COUNT_COLUMNS = ("mean", *QUANTILES)
DISCLOSURE_NOTE = (
    f"Counts of 1 to 9, published or modelled, are shown as {SUPPRESSED}; a few larger ones are hidden ({SECONDARY}) "
    "so that none can be worked out by subtraction from a total."
)

ACCURACY_FILE = Path(__file__).resolve().parents[1] / "evaluate" / "results" / "accuracy.parquet"
CALIBRATION_FILE = ACCURACY_FILE.with_name("calibration.parquet")  # sendcast.evaluate.calibration.calibration_check

LABELS = {
    "ehcp_total": "All EHC plans",
    "mainstream": "Mainstream schools (excl. resourced provision)",
    "resourced_provision": "Resourced provision / SEN units",
    "state_special": "State-funded special schools",
    "independent_special": "Independent and non-maintained special schools",
    "special_school": "All special schools",
    "ap_pru": "Alternative provision / PRU",
    "post16_fe": "Post-16 further education",
    "other": "Other / none / elsewhere",
    "age_0_4": "Aged 0-4",
    "age_5_10": "Aged 5-10",
    "age_11_15": "Aged 11-15",
    "age_16_19": "Aged 16-19",
    "age_20_25": "Aged 20-25",
}


def accuracy_table() -> pd.DataFrame | None:
    """Backtest accuracy per council, measure and horizon shipped with the package, if present."""
    if ACCURACY_FILE.is_file():
        return pd.read_parquet(ACCURACY_FILE)
    return None


def calibration_table() -> pd.DataFrame | None:
    """Whether the backtest's 80% bands held what a correct band would (per measure and years
    ahead, councils pooled; :func:`sendcast.evaluate.calibration.calibration_check`), if shipped."""
    if CALIBRATION_FILE.is_file():
        return pd.read_parquet(CALIBRATION_FILE)
    return None


def accuracy_note(res: ForecastResult, la_code: str | None = None) -> str:
    """A plain-words paragraph: how accurate were forecasts like this one in the past? For one
    council (or England) its own backtest, else (several councils, or none scored) every council
    pooled; forecasts made by the method as it runs today, with the origins named
    (:func:`sendcast.evaluate.report.accuracy_rows`)."""
    acc = accuracy_table()
    codes = [la_code] if la_code else list(res.summary["la_code"].unique())
    if acc is None:
        return "How accurate is this? No backtest results are installed: run `sendcast backtest`."
    own = accuracy_rows(acc, codes[0]) if len(codes) == 1 else {}
    allc = accuracy_rows(acc, "ALL")
    parts = []
    for h in (1, 3):
        ahead = f"{h} year{'s' if h > 1 else ''} ahead"
        if h in own:
            r = own[h]
            n = int(r["n"])
            parts.append(
                f"{ahead} its median was off by {r['mape']:.1%} on average over {forecasts_words(r)}, and "
                f"{int(round(r['coverage80'] * n))} of {n} outcome{'s' if n != 1 else ''} fell inside the 80% band"
            )
        elif h in allc:
            r = allc[h]
            parts.append(
                f"{ahead}, over all councils' forecasts {origins_words(r) or 'in the backtest'}, the median was off "
                f"by {r['mdape']:.1%} (median) and {r['coverage80']:.0%} of outcomes fell inside the 80% band"
            )
    if not parts:
        return "How accurate is this? No backtest covers this council yet."
    name = str(next(iter(own.values()))["la_name"]) if own else "all councils"
    return (
        f"How accurate is this? In backtests of the same method on published data for {name}: "
        + "; ".join(parts)
        + ". Past accuracy is a guide, not a promise: policy changes and backlogs move plans in ways no model foresees."
    )


def disclosure_relations(table: pd.DataFrame, group_col: str = "year") -> list[Additive]:
    """The additive relations of a forecast (or history) table: within each council and year,
    placements and ages add up to all plans; across councils (when England is shown beside
    them) councils add up to England."""
    rels = plan_relations(("la_code", group_col))
    codes = set(table["la_code"])
    if ENGLAND[0] in codes and len(codes) > 1:
        rels.append(england_relation(codes, (group_col, "measure")))
    return rels


def protected(summary: pd.DataFrame, *, numeric: bool = False) -> pd.DataFrame:
    """The forecast summary as it may be published: for text outputs (csv, json, tables, html)
    counts are rounded to one decimal with ``<10`` or ``c`` in place of hidden ones; with
    ``numeric`` (parquet, charts) hidden counts are missing and the ``suppressed`` column names
    them.

    Means add up exactly (England is the sum of councils draw by draw), and at the origin every
    column is the published figure, so those cells are protected against every combination of
    subtractions (``exact``); later quantiles do not add up and get the usual secondary
    suppression. Every relation holds within one year, so each year is protected on its own."""
    rels = disclosure_relations(summary)
    origin = summary["year"].min()
    parts = []
    for year, g in summary.groupby("year", sort=False):
        exact: bool | tuple[str, ...] = True if year == origin else ("mean",)
        if numeric:
            part = protect_numeric(g, COUNT_COLUMNS, rels, exact=exact)
            parts.append(part.assign(**{c: part[c].round(1) for c in COUNT_COLUMNS}))
        else:
            parts.append(protect(g, COUNT_COLUMNS, rels, decimals=1, exact=exact))
    return pd.concat(parts).loc[summary.index]


def history_long(la_code: str) -> pd.DataFrame:
    """Published January values for one council (or England: the sum of councils), with
    ``special_school`` (state + independent special) added as the forecast reports it."""
    data = model_data()
    s = data.series[data.series["period_type"] == "january"]
    if la_code == ENGLAND[0]:
        cur = set(data.councils["la_code"])
        h = s[s["la_code"].isin(cur)].groupby(["year", "measure"])["value"].sum(min_count=1).reset_index()
    else:
        h = s[s["la_code"] == la_code][["year", "measure", "value"]]
    parts = h[h["measure"].isin(["state_special", "independent_special"])]
    special = parts.groupby("year")["value"].sum(min_count=2).reset_index().assign(measure="special_school")
    return pd.concat([h, special[["year", "measure", "value"]]], ignore_index=True)


def protected_history(la_code: str, origin: int, summary: pd.DataFrame) -> pd.DataFrame:
    """Published January figures for the chart beside a forecast, as they may be shown: the
    forecast's measures only, disclosure-protected year by year (values hidden are missing).
    The origin year is taken from the protected forecast (it is the published stock), so a
    count hidden in the table is hidden in the chart too."""
    h = history_long(la_code)
    h = h[h["measure"].isin(MEASURES) & (h["year"] != origin)].assign(la_code=la_code)
    h = protect_numeric(h, ["value"], plan_relations(("la_code", "year")))
    at_origin = summary[(summary["la_code"] == la_code) & (summary["year"] == origin)]
    start = at_origin[["year", "measure", "p50"]].rename(columns={"p50": "value"})
    return pd.concat([h[["year", "measure", "value"]], start], ignore_index=True).sort_values("year")


def _count_text(value: object) -> str:
    if value in (SUPPRESSED, SECONDARY):
        return str(value)
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return "-"
    return f"{float(value):,.0f}"  # type: ignore[arg-type]


def table_cells(summary: pd.DataFrame) -> pd.DataFrame:
    """The forecast as text for people (the CLI table): one row per council, measure and year
    with ``cell`` = "median (10th-90th percentile)", or just the median when they agree (the
    published origin year); hidden counts show as ``<10``."""
    text = protected(summary)
    cells = []
    for p10, p50, p90 in zip(text["p10"], text["p50"], text["p90"], strict=True):
        mid = _count_text(p50)
        lo, hi = _count_text(p10), _count_text(p90)
        cells.append(mid if (lo, hi) == (mid, mid) else f"{mid} ({lo}-{hi})")
    return text[["la_code", "la_name", "year", "measure"]].assign(cell=cells)


def html_report(res: ForecastResult, measures: list[str] | None = None) -> str:
    """A self-contained page of fan charts (with history) for each council in the result."""
    measures = measures or ["ehcp_total", "special_school", "independent_special", "mainstream", "post16_fe"]
    sections: list[tuple[str, object]] = []
    codes = list(res.summary["la_code"].unique())
    if len(codes) > 1:
        codes = [ENGLAND[0]] if ENGLAND[0] in codes else codes[:1]
    numeric = protected(res.summary, numeric=True)
    text = protected(res.summary)
    for code in codes:
        s = numeric[numeric["la_code"] == code]
        name = str(s["la_name"].iloc[0])
        hist = protected_history(code, res.origin, s)
        note = accuracy_note(res, code).removeprefix("How accurate is this? ")
        sections.append((f"How accurate is this? ({name})", f"<p>{html.escape(note)}</p>"))
        for m in measures:
            fm = s[s["measure"] == m]
            hm = hist[hist["measure"] == m]
            sections.append((f"{name}: {LABELS.get(m, m)}", fan_chart(fm, hm, title=LABELS.get(m, m))))
        t = text[(text["la_code"] == code) & (text["year"] == s["year"].max())]
        last = pd.DataFrame(
            {
                "measure": [LABELS.get(str(m), str(m)) for m in t["measure"]],
                **{c: [_count_text(v) for v in t[c]] for c in ("mean", "p10", "p50", "p90")},
            }
        )
        sections.append((f"{name}: January {int(s['year'].max())}", table_html(last)))
    title = f"EHC plan forecast from January {res.origin}"
    intro = (
        f"<p>Forecast of education, health and care plans from January {res.origin}, {res.horizon} years ahead, "
        f"{res.draws:,} simulated futures (seed {res.seed}). Bands show where 80% and 90% of simulated futures fall. "
        f"{html.escape(DISCLOSURE_NOTE)} Gaps in a chart are hidden figures.</p>"
    )
    return html_page(title, sections, intro=intro)  # type: ignore[arg-type]


def write(res: ForecastResult, fmt: str, out: Path | None, population: Path | None = None) -> Path | None:
    """Write the forecast in ``fmt`` to ``out`` (stdout for csv/json when out is None), with a
    ``.meta.json`` run record beside the file (naming and hashing ``population``, the projection
    file the forecast used, if any); neither file is replaced unless both can be."""
    if fmt == "html":
        payload: bytes = html_report(res).encode("utf-8")
    else:
        payload = frame_bytes(protected(res.summary, numeric=fmt == "parquet"), fmt)
    if out is None:
        sys.stdout.write(payload.decode("utf-8"))
        return None
    meta = run_metadata(
        "forecast",
        {
            "origin": res.origin,
            "horizon": res.horizon,
            "draws": res.draws,
            "seed": res.seed,
            "councils": sorted(set(res.summary["la_code"]))[:200],
            "population_projection": str(population) if population is not None else None,
        },
        open_store(),
        [Path(population)] if population is not None else None,
    )
    meta["disclosure"] = {
        "rule": DISCLOSURE_NOTE,
        "legend": LEGEND,
        "text_outputs": f"'{SUPPRESSED}': {REASON}; '{SECONDARY}': {SECONDARY_REASON}",
        "parquet": "hidden values are missing; the 'suppressed' column names the columns hidden in each row",
    }
    write_atomic_many({out: payload, Path(str(out) + ".meta.json"): json_bytes(meta)})
    return Path(out)

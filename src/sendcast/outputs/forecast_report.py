"""Forecast outputs: files in every format, fan-chart pages and the accuracy note."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from sendcast.model.api import model_data
from sendcast.model.forecast import ENGLAND, ForecastResult
from sendcast.outputs.charts import fan_chart, html_page, table_html
from sendcast.outputs.io import frame_bytes, write_atomic, write_json
from sendcast.outputs.metadata import run_metadata
from sendcast.store import open_store

ACCURACY_FILE = Path(__file__).resolve().parents[1] / "evaluate" / "results" / "accuracy.parquet"

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


def accuracy_note(res: ForecastResult, la_code: str | None = None) -> str:
    """A plain-words paragraph: how accurate were forecasts like this one in the past?"""
    acc = accuracy_table()
    codes = [la_code] if la_code else list(res.summary["la_code"].unique())
    if acc is None:
        return "How accurate is this? No backtest results are installed: run `sendcast backtest`."
    code = codes[0] if len(codes) == 1 else ENGLAND[0]
    rows = acc[(acc["measure"] == "ehcp_total") & (acc["la_code"] == code)]
    allc = acc[(acc["measure"] == "ehcp_total") & (acc["la_code"] == "ALL")]
    parts = []
    for h in (1, 3):
        r = rows[rows["horizon"] == h]
        a = allc[allc["horizon"] == h]
        if not r.empty:
            rr = r.iloc[0]
            parts.append(
                f"{h} year{'s' if h > 1 else ''} ahead its median was off by {rr['mape']:.1%} on average "
                f"over {int(rr['n'])} past origins, and {int(round(rr['coverage80'] * rr['n']))} of {int(rr['n'])} "
                f"outcomes fell inside the 80% band"
            )
        elif not a.empty:
            aa = a.iloc[0]
            parts.append(
                f"{h} year{'s' if h > 1 else ''} ahead, over all councils, the median was off by {aa['mdape']:.1%} "
                f"(median) and {aa['coverage80']:.0%} of outcomes fell inside the 80% band"
            )
    if not parts:
        return "How accurate is this? No backtest covers this council yet."
    name = rows["la_name"].iloc[0] if not rows.empty else "all councils"
    return (
        f"How accurate is this? In backtests of the same method on published data for {name}: "
        + "; ".join(parts)
        + ". Past accuracy is a guide, not a promise: policy changes and backlogs move plans in ways no model foresees."
    )


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


def html_report(res: ForecastResult, measures: list[str] | None = None) -> str:
    """A self-contained page of fan charts (with history) for each council in the result."""
    measures = measures or ["ehcp_total", "special_school", "independent_special", "mainstream", "post16_fe"]
    sections: list[tuple[str, object]] = []
    codes = list(res.summary["la_code"].unique())
    if len(codes) > 1:
        codes = [ENGLAND[0]] if ENGLAND[0] in codes else codes[:1]
    for code in codes:
        s = res.summary[res.summary["la_code"] == code]
        name = s["la_name"].iloc[0]
        hist = history_long(code)
        note = accuracy_note(res, code).removeprefix("How accurate is this? ")
        sections.append((f"How accurate is this? ({name})", f"<p>{note}</p>"))
        for m in measures:
            fm = s[s["measure"] == m]
            hm = hist[hist["measure"] == m]
            sections.append((f"{name}: {LABELS.get(m, m)}", fan_chart(fm, hm, title=LABELS.get(m, m))))
        last = s[s["year"] == s["year"].max()][["measure", "mean", "p10", "p50", "p90"]]
        sections.append((f"{name}: January {int(s['year'].max())}", table_html(last)))
    title = f"EHC plan forecast from January {res.origin}"
    intro = (
        f"<p>Forecast of education, health and care plans from January {res.origin}, {res.horizon} years ahead, "
        f"{res.draws:,} simulated futures (seed {res.seed}). Bands show where 80% and 90% of simulated futures fall. "
        "Counts are rounded; nothing here identifies a child.</p>"
    )
    return html_page(title, sections, intro=intro)  # type: ignore[arg-type]


def write(res: ForecastResult, fmt: str, out: Path | None, population: Path | None = None) -> Path | None:
    """Write the forecast in ``fmt`` to ``out`` (stdout for csv/json when out is None), with a
    ``.meta.json`` run record beside the file (naming and hashing ``population``, the
    projection file the forecast used, if any)."""
    summary = res.summary.copy()
    for c in ("mean", "p5", "p10", "p50", "p90", "p95"):
        summary[c] = summary[c].round(1)
    if fmt == "html":
        payload: bytes = html_report(res).encode("utf-8")
    else:
        payload = frame_bytes(summary, fmt)
    if out is None:
        sys.stdout.write(payload.decode("utf-8"))
        return None
    write_atomic(out, payload)
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
    write_json(meta, Path(str(out) + ".meta.json"))
    return Path(out)

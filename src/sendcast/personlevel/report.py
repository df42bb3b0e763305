"""Outputs made from person-level data: the check report and the derived (published) tables.

Every count made from the returns that leaves sendcast as a table passes through
:func:`protect_counts`, which applies :mod:`sendcast.outputs.disclosure` (counts of 1-9 shown as
``<10``; secondary suppression across every margin of a cross-table, so that no hidden count
can be recovered by subtraction from a total). The check report is the exception by design: it
is a council-internal working list of row ids to fix, not a statistic (its counts equal the
number of rows it lists); it never holds an identifier.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sendcast.outputs import disclosure
from sendcast.outputs.io import write_atomic, write_atomic_with
from sendcast.personlevel.checks import CHECKS
from sendcast.personlevel.derive import TOTAL

CHECK_FORMATS = ("table", "csv", "xlsx", "html")


def pooling_settings() -> dict[str, float]:
    """The weak priors of the need model (``parameters/personlevel/pooling.yaml``)."""
    from sendcast.parameters import PARAMETERS_DIR, load_parameter

    p = load_parameter(PARAMETERS_DIR / "personlevel" / "pooling.yaml", PARAMETERS_DIR)
    return {str(k): float(v) for k, v in dict(p.values).items()}  # type: ignore[arg-type]


def relations(df: pd.DataFrame, dims: Sequence[str], by: Sequence[str] = ("census_year",)
              ) -> list[disclosure.Additive]:  # fmt: skip
    """Additive relations of a cross-table with ``total`` margins: along each dim, the members
    add up to ``total`` within every combination of the other dims (and ``by``)."""
    out = []
    for d in dims:
        members = tuple(sorted(str(v) for v in df[d].unique() if v != TOTAL))
        others = tuple(by) + tuple(x for x in dims if x != d)
        out.append(disclosure.Additive(d, members, TOTAL, others))
    return out


def protect_counts(df: pd.DataFrame, value_cols: Sequence[str], dims: Sequence[str],
                   by: Sequence[str] = ("census_year",), *, numeric: bool = False) -> pd.DataFrame:  # fmt: skip
    """The one door for counts from person-level data: primary and secondary suppression over
    every margin of the table (text: ``<10``; ``numeric=True``: missing with a reason column)."""
    df = df.copy()
    for d in dims:
        df[d] = df[d].astype(str)
    rel = relations(df, dims, by)
    if numeric:
        return disclosure.protect_numeric(df, value_cols, rel)
    return disclosure.protect(df, value_cols, rel, decimals=0)


# --------------------------------------------------------------------------- check report


def _summary_sentence(summary: pd.DataFrame, findings: pd.DataFrame) -> str:
    parts = []
    for y, g in summary.groupby("census_year", sort=True):
        people = int(g.loc[g["item"] == "people in the return", "count"].iloc[0])
        plans = int(g.loc[g["item"] == "open plans at the census date", "count"].iloc[0])
        f = findings[findings["census_year"] == y]
        date = pd.Timestamp(g["census_date"].iloc[0]).strftime("%-d %B %Y")
        parts.append(f"The return for the census of {date} holds {people:,} people and {plans:,} open plans; "
                     f"the checks found {int((f['severity'] == 'error').sum()):,} errors and "
                     f"{int((f['severity'] == 'query').sum()):,} queries.")  # fmt: skip
    return " ".join(parts)


def write_check_report(summary: pd.DataFrame, findings: pd.DataFrame, fmt: str, out: Path) -> list[Path]:
    """Write the check report (summary first, then the findings) as csv, xlsx or html."""
    out = Path(out)
    if fmt == "csv":
        s = out.with_name(out.stem + "_summary.csv")
        return [write_atomic(s, summary.to_csv(index=False)), write_atomic(out, findings.to_csv(index=False))]
    if fmt == "xlsx":

        def write(tmp: Path) -> None:
            with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                summary.to_excel(xw, sheet_name="summary", index=False)
                for cid in CHECKS:
                    f = findings[findings["check"] == cid]
                    if len(f):
                        f.to_excel(xw, sheet_name=cid[:31], index=False)

        return [write_atomic_with(out, write)]
    if fmt == "html":
        body = [
            f"<h1>SEN2 return checks</h1><p>{html.escape(_summary_sentence(summary, findings))}</p>",
            "<h2>Summary</h2>",
            summary.to_html(index=False, na_rep="not run (no GIAS file)", escape=True),
        ]
        for cid, c in CHECKS.items():
            f = findings[findings["check"] == cid]
            if len(f):
                body.append(f"<h2 id='{cid}'>{html.escape(cid)} ({c.severity}): {html.escape(c.description)}</h2>")
                body.append(f.to_html(index=False, escape=True))
        page = ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>SEN2 return checks</title>"
                "<style>body{font-family:Arial,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}"
                "td,th{border:1px solid #b1b4b6;padding:2px 6px;text-align:left}</style></head><body>"
                + "".join(body) + "<p>Council-internal: lists rows to correct; holds no names, birth dates, "
                "postcodes or pupil numbers.</p></body></html>")  # fmt: skip
        return [write_atomic(out, page)]
    raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(CHECK_FORMATS)}")


# --------------------------------------------------------------------------- derived outputs


def derived_tables(tables: dict[str, pd.DataFrame], manifest: dict[str, Any], store: Any | None = None
                   ) -> dict[str, pd.DataFrame]:  # fmt: skip
    """Every derived table, protected for publication (see :func:`protect_counts`)."""
    from sendcast.personlevel import derive

    out: dict[str, pd.DataFrame] = {}
    for dims in (
        ("age_band", "placement_group", "primary_need"),
        ("placement_group", "primary_need"),
        ("age_band", "primary_need"),
        ("age_band", "placement_group"),
        ("ncy", "primary_need"),
    ):
        c = derive.caseload(tables, dims)
        short = {"age_band": "age", "placement_group": "group", "primary_need": "need", "ncy": "ncy"}
        out["caseload_" + "_".join(short[d] for d in dims)] = protect_counts(c, ["plans"], dims)
    j = derive.joiners(tables, manifest, ("age_band", "primary_need"))
    out["joiners_age_need"] = protect_counts(j, ["joiners"], ("age_band", "primary_need"))
    lv = derive.leavers(tables, manifest)
    out["leavers_age_reason"] = protect_counts(lv, ["leavers"], ("age_band", "cease_reason"))
    for kind in ("placement_group", "primary_need"):
        m = derive.movers(tables, manifest, kind)
        name = "movers_groups" if kind == "placement_group" else "movers_needs"
        out[name] = protect_counts(m, ["movers"], ("age_band", "from", "to"))
    p = derive.pipeline(tables, manifest)
    counts = p["unit"].isin(["requests", "assessments", "plans"])
    pc = p.copy()
    shown = disclosure.protect(pc[counts], ["value"], (), decimals=0)
    pc["value"] = pc["value"].astype(object)
    pc.loc[counts, "value"] = shown["value"]
    # a percentage of fewer than 10 plans could reveal a small count
    small = p.set_index(["census_year"]).query("measure == 'plans_started'")["value"]
    pct = pc["unit"] == "percent"
    hide = pct & pc["census_year"].map(small).lt(10)
    pc.loc[hide, "value"] = disclosure.SUPPRESSED
    out["pipeline"] = pc
    rec = derive.reconcile(tables, manifest, store)
    if len(rec):
        shown = disclosure.protect(rec, ["return", "published"], (), decimals=0)
        small = shown["return"].eq(disclosure.SUPPRESSED) | shown["published"].eq(disclosure.SUPPRESSED)
        shown["difference"] = shown["difference"].astype(object).where(~small, disclosure.SUPPRESSED)
        shown["difference_pct"] = shown["difference_pct"].round(1).astype(object).where(~small, disclosure.SUPPRESSED)
        out["reconciliation"] = shown
    return out


def write_tables(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """Write protected tables: ``.xlsx`` (one sheet each) or a folder of csv files."""
    out = Path(out)
    if out.suffix.lower() == ".xlsx":

        def write(tmp: Path) -> None:
            with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                for name, df in tables.items():
                    df.to_excel(xw, sheet_name=name[:31], index=False)

        return [write_atomic_with(out, write)]
    return [write_atomic(out / f"{name}.csv", df.to_csv(index=False)) for name, df in tables.items()]


def forecast_table(summary: pd.DataFrame, by: Sequence[str] = ("primary_need",)) -> pd.DataFrame:
    """A forecast summary by need protected for publication (a median of 4 plans shows ``<10``)."""
    return protect_counts(summary, ["mean", "p10", "p50", "p90"], tuple(by), ("year",))

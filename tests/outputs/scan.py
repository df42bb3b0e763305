"""One helper that scans any written output for counts of 1 to 9: csv, json, parquet, xlsx,
html (tables and the data behind every chart) and printed text tables.

A *count cell* is a number in a row that names a count: a measure, line or placement that
counts children (``ehcp_total``, the placement groups, ``special_school``, the age bands, new
or ceased plans, requests, assessments, ``plans:*`` budget lines), or a row whose ``unit`` is
one of the profile's count units; in html and printed tables, a row labelled with one of the
labels the reports use for those measures. In charts, every trace of a figure whose y axis
counts plans. Years, horizons and draw numbers are not counts.

Columns are told apart by their headers, which state units where a table mixes kinds: a header
ending in a count unit (``council_plans (plans)``) makes every cell of the column a count; a
header naming money, a share, a fraction, a rate or a ratio (``weight (share ...)``, ``growth
(fraction a year)``, ``amount (£)``) makes none of them one; any other column (``mean``, a year)
holds a count where its row names one. A table with a ``parameter`` column lists the model's
settings (their values are not counts of children) and is not scanned.
"""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd

from sendcast.model.forecast import MEASURES
from sendcast.money import report as budget_report
from sendcast.outputs import forecast_report, profile
from sendcast.parameters import PLACEMENT_GROUPS

COUNT_NAMES = {*MEASURES, "new_plans", "ceased_plans", "requests", "assessments"}
COUNT_LABELS = (
    {forecast_report.LABELS[m] for m in forecast_report.LABELS if m in COUNT_NAMES}
    | {profile.LABELS[m] for m in profile.LABELS if m in COUNT_NAMES}
    | {budget_report.line_label(f"plans:{g}") for g in PLACEMENT_GROUPS}
)
NOT_COUNTS = {"year", "draw", "horizon", "n", "rank", "period", "financial_year", "origin"}
COUNT_HEADER = re.compile(r"\((?:plans|children|requests|assessments)\)\s*$", re.IGNORECASE)
NOT_COUNT_HEADER = re.compile(r"£|%|\b(?:share|fraction|proportion|rate|ratio|per 10,000|gbp)\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?![\w.%])")


def _is_count_name(v: object) -> bool:
    s = str(v).strip().lstrip("'")
    return s in COUNT_NAMES or s.startswith("plans:") or s in COUNT_LABELS


def _small(v: object) -> bool:
    try:
        x = float(str(v).replace(",", "")) if not isinstance(v, (int, float, np.number)) else float(v)
    except ValueError:
        return False
    return bool(np.isfinite(x) and 0 < x < 9.5)


def column_kind(header: object) -> str:
    """``count`` (every cell a count), ``other`` (none is) or ``row`` (its row decides), from
    a column's header."""
    h = str(header).strip()
    if h.lower() in NOT_COUNTS:
        return "other"
    if COUNT_HEADER.search(h):
        return "count"
    if NOT_COUNT_HEADER.search(h):
        return "other"
    return "row"


def count_cells(df: pd.DataFrame) -> list[tuple[object, object, object]]:
    """``(row, column, value)`` of every count cell of a tidy table with headers (any layout:
    a row counts if one of its text cells names a count, or its unit is a count unit; a column
    by its header, :func:`column_kind`)."""
    if "parameter" in df.columns:
        return []
    kinds = {c: column_kind(c) for c in df.columns}
    text_cols = [c for c in df.columns if df[c].dtype == object]
    cells = []
    for i, row in df.iterrows():
        count_row = any(_is_count_name(row[c]) for c in text_cols) or (
            "unit" in df.columns and str(row["unit"]) in profile.COUNT_UNITS
        )
        for c in df.columns:
            if kinds[c] == "other" or kinds[c] == "row" and not count_row:
                continue
            v = row[c]
            if c in text_cols and not _NUMBER.fullmatch(str(v).strip()):
                continue  # a label, a note or a suppressed cell ("<10", "c")
            cells.append((i, c, v))
    return cells


def scan_frame(df: pd.DataFrame, where: str) -> list[str]:
    """Count cells of 1-9 in a tidy table."""
    return [f"{where}: row {i}, {c} = {v!r}" for i, c, v in count_cells(df) if _small(v)]


def sheets(path: Path | str) -> dict[str, pd.DataFrame]:
    """Every sheet of a workbook as a table, headed by its first row of two or more cells (a
    sheet may open with a title line or two)."""
    out = {}
    for name, raw in pd.read_excel(path, sheet_name=None, header=None, dtype=object).items():
        rows = raw.to_numpy().tolist()
        start = next((k for k, r in enumerate(rows) if sum(pd.notna(v) for v in r) >= 2), None)
        if start is None:
            out[name] = pd.DataFrame()
            continue
        header = [str(v) if pd.notna(v) else f"column {j}" for j, v in enumerate(rows[start])]
        body = [[v if pd.notna(v) else None for v in r] for r in rows[start + 1 :]]
        out[name] = pd.DataFrame(body, columns=header, dtype=object)
    return out


class _Tables(HTMLParser):
    """Rows of every <table> in a page (cell text)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _decode(arr: object) -> list[float]:
    if isinstance(arr, dict) and "bdata" in arr:
        return np.frombuffer(base64.b64decode(arr["bdata"]), dtype=np.dtype(arr["dtype"])).astype(float).tolist()
    if isinstance(arr, list):
        return [float(x) if isinstance(x, (int, float)) else np.nan for x in arr]
    return []


def plotly_figures(page: str) -> list[tuple[list[dict], dict]]:
    """(traces, layout) of every plotly figure in a page."""
    out = []
    dec = json.JSONDecoder()
    for m in re.finditer(r'Plotly\.newPlot\(\s*"[^"]+",\s*', page):
        data, end = dec.raw_decode(page, m.end())
        rest = page[end:].lstrip().lstrip(",").lstrip()
        layout, _ = dec.raw_decode(rest)
        out.append((data, layout))
    return out


def _axis_title(layout: dict) -> str:
    t = layout.get("yaxis", {}).get("title", {})
    return str(t.get("text", "") if isinstance(t, dict) else t)


def scan_html(page: str, where: str) -> list[str]:
    found = []
    for k, (traces, layout) in enumerate(plotly_figures(page)):
        title = _axis_title(layout).lower()
        if "plans" not in title and title != "number" or "%" in title or "per 10,000" in title or "£" in title:
            continue
        for t in traces:
            for v in _decode(t.get("y")):
                if _small(v):
                    found.append(f"{where}: chart {k} ({t.get('name')}): {v}")
    parser = _Tables()
    parser.feed(page)
    found += _scan_rows(parser.rows, f"{where} (html table)")
    return found


def _scan_rows(rows: list[list[str]], where: str) -> list[str]:
    found = []
    label = ""
    for r in rows:
        if not r:
            continue
        label = r[0] if r[0] else label  # the profile names a measure on its first row only
        if not (_is_count_name(label) or any(_is_count_name(c) for c in r)):
            continue
        for c in r[1:]:
            for tok in _NUMBER.findall(c):
                if _small(tok):
                    found.append(f"{where}: {label!r}: {c!r}")
    return found


def scan_text(text: str, where: str) -> list[str]:
    """A printed table (Rich box characters or plain columns)."""
    rows = []
    for line in text.splitlines():
        if "│" in line:
            rows.append([c.strip() for c in line.strip().strip("│").split("│")])
    return _scan_rows(rows, where)


def small_count_cells(path: Path | str, text: str | None = None) -> list[str]:
    """Every count cell of 1-9 in a written file (by its extension) or in printed ``text``."""
    if text is not None:
        return scan_text(text, str(path))
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return scan_frame(pd.read_csv(p, dtype=object), p.name)
    if suffix == ".parquet":
        return scan_frame(pd.read_parquet(p), p.name)
    if suffix == ".json":
        data = json.loads(p.read_text(encoding="utf-8"))
        return scan_frame(pd.json_normalize(data) if isinstance(data, list) else pd.json_normalize([data]), p.name)
    if suffix == ".xlsx":
        found = []
        for name, sheet in sheets(p).items():
            found += scan_frame(sheet, f"{p.name}[{name}]")
        return found
    if suffix in (".html", ".htm"):
        return scan_html(p.read_text(encoding="utf-8"), p.name)
    return scan_text(p.read_text(encoding="utf-8"), p.name)

"""Importer for the MoJ/DfE table *SEND Tribunal appeal rate* (supporting file of the EHCP release).

The file is a spreadsheet saved as CSV: title rows, a year header row and a measure header row,
region heading rows (no numbers), LA rows (name, 3-digit LA code, then appeals registered,
total appealable decisions and appeal rate for each year), an England row and footnotes.
Figures are **calendar years** (footnote 3). ``..`` is not available, ``~`` suppressed; `` - ``
is the table's nil (the rate beside it is 0.00%), so it is read as 0. LA names (with footnote
digits stripped) are mapped to ONS codes with ``la-lookups/dfe_la_codes_from_ehcp_2025.csv``.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from sendcast.ingest import ImportResult
from sendcast.ingest.common import IngestError, empty_observations, finish
from sendcast.ingest.sen2 import load_la_lookup, parse_values

SOURCE = "send-tribunal-appeal-rates"
FILE_GLOB = "SEND Tribunals and appeal rate*.csv"
MEASURES = {
    "appeals registered": ("tribunal_appeals", "appeals"),
    "total appealable decisions": ("tribunal_appealable_decisions", "decisions"),
    "send tribunal appeal rate": ("tribunal_appeal_rate", "percent"),
}


def normalise_name(name: str) -> str:
    """Return an LA name key: footnote digits dropped, '&' = 'and', 'City of' and commas
    ignored, case-folded (``'Bristol, City of'`` and ``'City of Bristol'`` -> ``'bristol'``)."""
    s = re.sub(r"[\d,]+$", "", name.strip()).strip()
    s = s.lower().replace("&", " and ").replace(",", " ").replace(".", " ")
    s = re.sub(r"\bcity of\b", " ", s)
    s = re.sub(r"\bcounty of\b", " ", s)
    s = re.sub(r"^county ", " ", s)
    return re.sub(r"\s+", " ", s).strip()


def _find(folder: Path) -> Path | None:
    for d in (folder, folder / "supporting-files"):
        hits = sorted(d.glob(FILE_GLOB)) if d.is_dir() else []
        if hits:
            return hits[0]
    return None


def detect(folder: Path) -> bool:
    """True when the folder (or its ``supporting-files``) holds the SEND Tribunal appeal-rate table."""
    folder = Path(folder)
    if folder.is_file():
        return folder.match(FILE_GLOB)
    return _find(folder) is not None


def read_table(path: Path, lookup: pd.DataFrame) -> pd.DataFrame:
    """Parse the appeal-rate table into tidy rows (England and LAs; calendar years).

    Raises :class:`IngestError` naming the line and field for an unmapped LA name, a
    malformed header or a bad cell.
    """
    name = path.name
    text = path.read_bytes().decode("utf-8-sig", errors="strict")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    hdr = next((i for i, r in enumerate(rows) if r and r[0].strip().lower() == "local authority"), None)
    if hdr is None or hdr + 1 >= len(rows):
        raise IngestError(name, "no 'Local Authority' header row found: not the appeal-rate table", line=1)
    years_row, meas_row = rows[hdr], rows[hdr + 1]
    columns: list[tuple[int, int, str, str]] = []  # (col index, year, measure, unit)
    year: int | None = None
    for j in range(2, len(meas_row)):
        y = years_row[j].strip() if j < len(years_row) else ""
        if re.fullmatch(r"\d{4}", y):
            year = int(y)
        label = re.sub(r"[\d,]+$", "", meas_row[j].strip()).strip().lower()
        if label in MEASURES and year is not None:
            columns.append((j, year, *MEASURES[label]))
    if not columns:
        raise IngestError(name, "no year/measure columns recognised", line=hdr + 2)
    keys = {
        normalise_name(n): (n, c, o)
        for n, c, o in zip(lookup["la_name"], lookup["new_la_code"], lookup["old_la_code"], strict=True)
    }
    # names published differently from DfE's, checked by hand
    keys.setdefault("durham", keys.get("county durham", ("", "", "")))
    by_old = {
        o: (n, c) for n, c, o in zip(lookup["la_name"], lookup["new_la_code"], lookup["old_la_code"], strict=True)
    }
    records: list[dict[str, object]] = []
    for i in range(hdr + 2, len(rows)):
        r = rows[i]
        if not r or not r[0].strip():
            continue
        label = r[0].strip()
        low = label.lower()
        if low.startswith(("sources", "notes", ".. not", "~ suppressed")) or re.match(r"^\d+\.", label):
            continue
        if low.startswith("england total excluding"):
            continue
        cells = [c.strip() for c in r]
        if not any(cells[j] for j, *_ in columns if j < len(cells)):
            continue  # region heading row
        if low.startswith("england total"):
            area: tuple[str, str | None, str, str] = ("E92000001", None, "England", "national")
        else:
            key = normalise_name(label)
            old = cells[1].replace(".0", "") if len(cells) > 1 else ""
            hit = keys.get(key)
            if hit is None or not hit[1]:
                by = by_old.get(old)
                if by is None or normalise_name(by[0]) != key:
                    raise IngestError(
                        name,
                        f"LA name {label!r} not found in the LA code lookup",
                        line=i + 1,
                        field="Local Authority",
                    )
                hit = (by[0], by[1], old)
            area = (hit[1], hit[2] or None, re.sub(r"[\d,]+$", "", label).strip(), "la")
        for j, yr, measure, unit in columns:
            raw = cells[j] if j < len(cells) else ""
            records.append(
                {
                    "la_code": area[0],
                    "old_la_code": area[1],
                    "la_name": area[2],
                    "geographic_level": area[3],
                    "measure": measure,
                    "year": yr,
                    "unit": unit,
                    "line": i + 1,
                    "raw": "0" if raw == "-" else raw,
                    "field": f"{yr} {measure}",
                }
            )
    if not records:
        return empty_observations()
    df = pd.DataFrame(records)
    vals, reasons = [], []
    for field, grp in df.groupby("field", sort=False):
        v, rs = parse_values(grp["raw"], file=name, lines=grp["line"], field=str(field), unit=str(grp["unit"].iloc[0]))
        vals.append(pd.Series(v, index=grp.index))
        reasons.append(pd.Series(rs, index=grp.index, dtype=object))
    df["value"] = pd.concat(vals)
    df["missing_reason"] = pd.concat(reasons)
    df["breakdown_topic"] = "total"
    df["breakdown"] = "total"
    df["period_type"] = "calendar_year"
    df["period"] = df["year"].astype(str)
    return finish(df.drop(columns=["raw", "field"]), source=SOURCE, release=str(df["year"].max()), file=name)


def load(folder: Path) -> ImportResult:
    """Import the appeal-rate table found in ``folder``. Returns an :class:`ImportResult`."""
    folder = Path(folder)
    path = folder if folder.is_file() else _find(folder)
    if path is None:
        raise IngestError(folder, f"no file matching {FILE_GLOB!r}")
    lookup = load_la_lookup(path.parent)
    if lookup is None:
        raise IngestError(path, "la-lookups/dfe_la_codes_from_ehcp_2025.csv not found: cannot map LA names")
    obs = read_table(path, lookup)
    release = str(obs["release"].iloc[0]) if len(obs) else ""
    return ImportResult(source=SOURCE, release=release, observations=obs, files=[path])

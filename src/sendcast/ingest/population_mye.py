"""Importer for ONS mid-year population estimates (MYE2 persons, single year of age).

Reads the derived tidy file ``mye_persons_sya_england_2015_2024.csv`` (one row per area and
year, as taken from each year's ONS release) and returns observations of ``population`` by
single year of age (``0`` .. ``89``, ``90+``) and ``all``, for every English code in the file:
England, regions, counties, metropolitan counties, unitaries, London boroughs and districts
(districts are needed to rebuild predecessor councils, see :mod:`sendcast.geography`).

Caveats carried from the release notes: mid-2023 is not in this folder; 2015-2020 are the
pre-Census-2021 estimates, so there is a level break at 2021; each year is on the geography of
its own release.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sendcast.ingest import ImportResult
from sendcast.ingest.common import (
    IngestError,
    finish,
    parse_cell,
    read_published_csv,
    symbol_message,
    symbol_mismatch,
)

SOURCE = "ons-mid-year-estimates"
FILE = "mye_persons_sya_england_2015_2024.csv"
AGE_COLUMNS: dict[str, str] = {f"age_{a}": str(a) for a in range(90)} | {
    "age_90plus": "90+",
    "all_ages": "all",
}
LEVELS = {"E92": "national", "E12": "regional"}


def detect(folder: Path) -> bool:
    """True when ``folder`` holds the tidy MYE single-year-of-age file."""
    return (Path(folder) / FILE).is_file()


def parse_values(
    df: pd.DataFrame, column: str, *, file: str | Path, unit: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`~sendcast.ingest.common.parse_cell` for one column of strings.

    Returns ``(values, missing_reasons)``. Plain numbers are converted in bulk; every other cell
    goes through ``parse_cell`` so markers keep their reason and anything unknown raises
    :class:`IngestError` naming file, line and field.
    """
    wrong = symbol_mismatch(df[column], unit)
    if wrong.any():
        at = int(np.flatnonzero(wrong)[0])
        text = str(df[column].iloc[at])
        raise IngestError(file, symbol_message(text, str(unit)), line=int(df["_line"].iloc[at]), field=column)
    raw = df[column].astype(str).str.strip().str.replace(",", "", regex=False)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64")
    reasons = np.full(len(df), None, dtype=object)
    bad = np.flatnonzero(np.isnan(values))
    if len(bad):
        lines = df["_line"].to_numpy()
        cells = df[column].to_numpy()
        name = Path(file).name
        for i in bad:
            cell = parse_cell(cells[i], file=name, line=int(lines[i]), field=column)
            values[i] = cell.value
            reasons[i] = cell.missing_reason
    return values, reasons


def level_of(code: str) -> str:
    """``national`` for E92, ``regional`` for E12/E13, else ``la``."""
    if code.startswith("E13"):
        return "regional"
    return LEVELS.get(code[:3], "la")


def read_mye(path: Path) -> pd.DataFrame:
    """Return the tidy ``population`` observations for one MYE file (see module docstring)."""
    df = read_published_csv(path, required=["year", "source_file", "code", "name", *AGE_COLUMNS])
    if df.empty:
        raise IngestError(path, "file has a header but no rows", line=2)
    bad_year = ~df["year"].str.strip().str.fullmatch(r"\d{4}")
    if bad_year.any():
        r = df[bad_year].iloc[0]
        raise IngestError(path, f"year {r['year']!r} is not a year", line=int(r["_line"]), field="year")
    df = df[df["code"].str.strip().str.startswith("E")].copy()
    df["code"] = df["code"].str.strip()
    df["name"] = df["name"].str.strip()
    frames = []
    for col, age in AGE_COLUMNS.items():
        values, reasons = parse_values(df, col, file=path, unit="persons")
        frames.append(
            pd.DataFrame(
                {
                    "la_code": df["code"].to_numpy(),
                    "la_name": df["name"].to_numpy(),
                    "year": df["year"].astype(int).to_numpy(),
                    "breakdown": age,
                    "value": values,
                    "missing_reason": reasons,
                    "line": df["_line"].to_numpy(),
                    "release": df["year"].to_numpy(),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    neg = out["value"] < 0
    if neg.any():
        r = out[neg].iloc[0]
        raise IngestError(path, "negative population", line=int(r["line"]), field=f"age {r['breakdown']}")
    out["geographic_level"] = [level_of(c) for c in out["la_code"]]
    out["old_la_code"] = None
    out["measure"] = "population"
    out["breakdown_topic"] = np.where(out["breakdown"] == "all", "total", "age")
    out["period_type"] = "mid_year"
    out["period"] = "mid-" + out["year"].astype(str)
    out["unit"] = "persons"
    return out


def load(folder: Path) -> ImportResult:
    """Return ``population`` observations (source ``ons-mid-year-estimates``).

    ``release`` is the year of the ONS release each row came from (the row's mid-year);
    rows for England and Wales (K04) and other non-English codes are left out.
    """
    path = Path(folder) / FILE
    raw = read_mye(path)
    parts = []
    for release, part in raw.groupby("release", sort=True):
        parts.append(finish(part.drop(columns="release"), source=SOURCE, release=str(release), file=path))
    obs = pd.concat(parts, ignore_index=True)
    years = sorted(obs["year"].unique().tolist())
    gaps = [y for y in range(years[0], years[-1] + 1) if y not in years]
    notes = [
        f"mid-years {years[0]}-{years[-1]}; missing: {gaps or 'none'}",
        "2015-2020 are pre-Census-2021 estimates: level break at 2021",
        "each year is on the geography of its own release (successor codes appear from the "
        "release that first used them)",
    ]
    return ImportResult(source=SOURCE, release=str(years[-1]), observations=obs, files=[path], notes=notes)

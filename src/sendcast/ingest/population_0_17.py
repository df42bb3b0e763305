"""Importer for DfE's compilation of ONS mid-year estimates of children aged 0 to 17.

Returns ``population_0_17`` observations (persons, ``mid_year``) for England, regions and
upper-tier councils, 2012-2024. It covers mid-2023, which is missing from the single-year
MYE folder, so :mod:`sendcast.harmonise.population` can check its interpolation against it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from sendcast.ingest import ImportResult
from sendcast.ingest.common import IngestError, finish_files, geographic_level, read_published_csv
from sendcast.ingest.lookups import old_code
from sendcast.ingest.population_mye import parse_values

SOURCE = "dfe-population-0-17"
FILE_PATTERN = re.compile(r"ons_mid-year_population_estimates_\d{4}_to_\d{4}\.csv$")
REQUIRED = [
    "time_period",
    "geographic_level",
    "country_code",
    "region_code",
    "region_name",
    "old_la_code",
    "new_la_code",
    "la_name",
    "age_group",
    "population_estimate",
]


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).glob("*.csv") if FILE_PATTERN.search(p.name))


def detect(folder: Path) -> bool:
    """True when ``folder`` holds a DfE 0-17 population file."""
    return bool(_files(folder))


def read_file(path: Path) -> pd.DataFrame:
    """Return the tidy ``population_0_17`` rows of one file (not yet passed to ``finish``)."""
    df = read_published_csv(path, required=REQUIRED)
    if df.empty:
        raise IngestError(path, "file has a header but no rows", line=2)
    rows = []
    for rec in df.to_dict("records"):
        line = int(rec["_line"])
        year = rec["time_period"].strip()
        if not year.isdigit() or len(year) != 4:
            raise IngestError(path, f"time_period {year!r} is not a year", line=line, field="time_period")
        level = geographic_level(rec["geographic_level"], file=path, line=line)
        if level == "national":
            code, name, old = rec["country_code"], "England", None
        elif level == "regional":
            code, name, old = rec["region_code"], rec["region_name"], None
        else:
            code, name = rec["new_la_code"], rec["la_name"]
            old = old_code(rec["old_la_code"], file=path, line=line, field="old_la_code")
        rows.append(
            {
                "la_code": code.strip(),
                "la_name": name.strip(),
                "old_la_code": old,
                "geographic_level": level,
                "year": int(year),
                "line": line,
                "population_estimate": rec["population_estimate"],
                "_line": line,
            }
        )
    out = pd.DataFrame(rows)
    out["value"], out["missing_reason"] = parse_values(out, "population_estimate", file=path, unit="persons")
    out = out.drop(columns=["population_estimate", "_line"])
    out["measure"] = "population_0_17"
    out["breakdown_topic"] = "age_band"
    out["breakdown"] = "0_17"
    out["period_type"] = "mid_year"
    out["period"] = "mid-" + out["year"].astype(str)
    out["unit"] = "persons"
    return out


def load(folder: Path) -> ImportResult:
    """Return ``population_0_17`` observations (source ``dfe-population-0-17``)."""
    files = _files(folder)
    if not files:
        raise IngestError(folder, "no ons_mid-year_population_estimates_YYYY_to_YYYY.csv file")
    obs = finish_files(files, read_file, source=SOURCE, release=lambda _path, df: str(df["year"].max()))
    return ImportResult(
        source=SOURCE,
        release=str(obs["year"].max()),
        observations=obs,
        files=files,
        notes=[f"mid-years {obs['year'].min()}-{obs['year'].max()}"],
    )

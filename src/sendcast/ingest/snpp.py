"""Importer for ONS subnational population projections (SNPP) supplied by the user.

Reads files in ONS's published layout: a quoted header ``AREA_CODE, AREA_NAME, COMPONENT, SEX,
AGE_GROUP`` followed by one column per projection year (decimals). Only ``COMPONENT ==
Population`` rows are used. ``SEX`` may be ``persons`` (used as is) or ``male``/``female``
(summed when no ``persons`` rows exist). ``AGE_GROUP`` ``0`` .. ``89``, ``90 and over`` (-> ``90+``)
and ``All ages`` (-> ``all``) are accepted. Returns ``population_projection`` observations,
``mid_year``, unit ``persons``; the release is the base year found in the file name
(``2022 SNPP ...`` -> ``2022``) or else the first year column.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from sendcast.ingest import ImportResult
from sendcast.ingest.common import IngestError, finish, finish_files, read_published_csv
from sendcast.ingest.population_mye import level_of, parse_values

SOURCE = "ons-snpp"
ID_COLUMNS = ["AREA_CODE", "AREA_NAME", "COMPONENT", "SEX", "AGE_GROUP"]
SEXES = {
    "persons": "persons",
    "all persons": "persons",
    "male": "male",
    "males": "male",
    "female": "female",
    "females": "female",
}


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", errors="replace") as fh:
        first = fh.readline()
    return [h.strip().strip('"') for h in first.split(",")]


def _files(folder: Path) -> list[Path]:
    folder = Path(folder)
    paths = [folder] if folder.is_file() else sorted(folder.glob("*.csv"))
    return [p for p in paths if p.is_file() and p.stat().st_size and _header(p)[:5] == ID_COLUMNS]


def detect(folder: Path) -> bool:
    """True when ``folder`` (or the file itself) holds an SNPP-format CSV."""
    return bool(_files(folder))


def _age(raw: str, *, path: Path, line: int) -> str:
    text = raw.strip().lower()
    if text.isdigit() and int(text) < 90:
        return str(int(text))
    if text in ("90 and over", "90+", "90") or text.startswith("90 and"):
        return "90+"
    if text in ("all ages", "all"):
        return "all"
    raise IngestError(path, f"unknown AGE_GROUP {raw!r}", line=line, field="AGE_GROUP")


def read_snpp(path: Path) -> pd.DataFrame:
    """Return tidy ``population_projection`` rows for one SNPP file (before ``finish``)."""
    df = read_published_csv(path, required=ID_COLUMNS)
    years = [c for c in df.columns if re.fullmatch(r"\d{4}", c)]
    if not years:
        raise IngestError(path, "no year columns (e.g. '2022') after AGE_GROUP", line=1)
    if df.empty:
        raise IngestError(path, "file has a header but no rows", line=2)
    df = df[df["COMPONENT"].str.strip().str.lower() == "population"].copy()
    if df.empty:
        raise IngestError(path, "no rows with COMPONENT 'Population'", field="COMPONENT")
    sex = df["SEX"].str.strip().str.lower()
    unknown = ~sex.isin(list(SEXES))
    if unknown.any():
        r = df[unknown].iloc[0]
        raise IngestError(path, f"unknown SEX {r['SEX']!r}", line=int(r["_line"]), field="SEX")
    df["sex"] = sex.map(SEXES)
    df["age"] = [_age(a, path=path, line=int(n)) for a, n in zip(df["AGE_GROUP"], df["_line"], strict=True)]
    df["AREA_CODE"] = df["AREA_CODE"].str.strip()
    twice = df.duplicated(["AREA_CODE", "sex", "age"], keep="first")
    if twice.any():
        r = df[twice].iloc[0]
        raise IngestError(
            path,
            f"{r['AREA_NAME'].strip()} {r['SEX'].strip()} age {r['AGE_GROUP'].strip()} "
            "is given twice (its rows would be added up)",
            line=int(r["_line"]),
            field="AGE_GROUP",
        )
    frames = []
    for y in years:
        vals, reasons = parse_values(df, y, file=path, unit="persons")
        frames.append(
            pd.DataFrame(
                {
                    "la_code": df["AREA_CODE"].to_numpy(),
                    "la_name": df["AREA_NAME"].str.strip().to_numpy(),
                    "sex": df["sex"].to_numpy(),
                    "breakdown": df["age"].to_numpy(),
                    "year": int(y),
                    "value": vals,
                    "missing_reason": reasons,
                    "line": df["_line"].to_numpy(),
                }
            )
        )
    long = pd.concat(frames, ignore_index=True)
    has_persons = long.groupby("la_code")["sex"].transform(lambda s: (s == "persons").any())
    persons = long[has_persons & (long["sex"] == "persons")]
    sexes = long[~has_persons]
    if len(sexes):
        # A missing sex makes the total missing, never a lower number.
        sexes = sexes.groupby(["la_code", "la_name", "breakdown", "year"], as_index=False).agg(
            value=("value", lambda v: v.sum() if v.notna().all() and len(v) == 2 else np.nan),
            missing_reason=("missing_reason", lambda r: next((x for x in r if x), None)),
            line=("line", "min"),
            n=("sex", "nunique"),
        )
        short = sexes["n"] != 2
        sexes.loc[short & sexes["missing_reason"].isna(), "missing_reason"] = "only one sex supplied"
        sexes = sexes.drop(columns="n")
    out = pd.concat([persons.drop(columns="sex"), sexes], ignore_index=True)
    out["geographic_level"] = [level_of(c) for c in out["la_code"]]
    out["old_la_code"] = None
    out["measure"] = "population_projection"
    out["breakdown_topic"] = np.where(out["breakdown"] == "all", "total", "age")
    out["period_type"] = "mid_year"
    out["period"] = "mid-" + out["year"].astype(str)
    out["unit"] = "persons"
    return out


def read_projection(path: Path) -> pd.DataFrame:
    """Return the validated ``population_projection`` observations of a user-supplied SNPP file.

    As :func:`read_snpp`, then checked like any stored table (:func:`~sendcast.ingest.common.finish`:
    no negative, infinite or absurd values, no area, age and year twice). Raises IngestError
    naming file, line and field. Whether the file is complete enough for a forecast is checked
    on current councils by :func:`sendcast.harmonise.population.user_projection`.
    """
    path = Path(path)
    if not path.is_file():
        raise IngestError(path, "file not found")
    if not _files(path):
        raise IngestError(path, f"not an ONS projection: the header must start {', '.join(ID_COLUMNS)}", line=1)
    obs = read_snpp(path)
    return finish(obs, source=SOURCE, release=_release(path, obs["year"].tolist()), file=path)


def _release(path: Path, years: list[int]) -> str:
    m = re.search(r"(20\d\d)", path.name)
    return m.group(1) if m else str(min(years))


def load(folder: Path) -> ImportResult:
    """Return ``population_projection`` observations (source ``ons-snpp``) from every SNPP CSV."""
    files = _files(folder)
    if not files:
        raise IngestError(folder, "no CSV with header AREA_CODE, AREA_NAME, COMPONENT, SEX, AGE_GROUP")
    obs = finish_files(files, read_snpp, source=SOURCE, release=lambda path, df: _release(path, df["year"].tolist()))
    return ImportResult(
        source=SOURCE,
        release=str(obs["release"].max()),
        observations=obs,
        files=files,
        notes=[f"{obs['la_code'].nunique()} areas, projection years {obs['year'].min()}-{obs['year'].max()}"],
    )

"""Machinery shared by the importers of the SEN2 family (EHCP statistics and its supporting files).

The EHCP releases (:mod:`sendcast.ingest.ehcp_2025`, :mod:`sendcast.ingest.ehcp_2022`) publish
wide tables in DfE's explore-education-statistics layout; :mod:`sendcast.ingest.tribunals`
maps its council names with the same LA code lookup. This module turns such a table into tidy
observations, vectorised: :func:`parse_values` (the published cells), :func:`area_ids` (the area
columns), :func:`melt_wide` (one tidy row per published measure cell, driven by a :data:`Spec`)
and :func:`tidy_file` (the three together for one file).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from sendcast.ingest.common import (
    _NUMBER,
    GEO_LEVEL_MAP,
    MARKERS,
    IngestError,
    empty_observations,
    finish,
    raise_at_first,
    read_published_csv,
    symbol_message,
    symbol_mismatch,
)

# A spec maps a published column to (measure, breakdown_topic, breakdown, unit). ``"*"`` in
# topic/breakdown means "the row's own breakdown"; ``"*|placement"`` means a cross-tab of the
# row's breakdown with the column's category (e.g. age x placement).
Spec = dict[str, tuple[str, str, str, str]]


def snake(label: str) -> str:
    """Return ``label`` in snake case (``'White - Irish'`` -> ``'white_irish'``)."""
    s = label.strip().lower().replace("&", " and ").replace("+", " plus ")
    s = re.sub(r"[^a-z0-9]+", "_", s)
    return s.strip("_") or "blank"


def parse_values(
    raw: pd.Series, *, file: str, lines: pd.Series, field: str, unit: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Parse a column of published cells; vectorised equivalent of ``common.parse_cell``.

    Returns ``(values, missing_reasons)``: floats (NaN for markers) and an object array of
    reasons (None where a number was published). Raises :class:`IngestError` naming file, line
    and field at the first cell that is neither a number nor a known marker, or (``unit``
    given) whose ``%`` or ``£`` sign contradicts the unit.
    """
    codes, uniques = pd.factorize(raw.fillna("").astype(str), use_na_sentinel=False)
    # parse each distinct published string once: published columns repeat values a lot
    text = pd.Series(uniques, dtype=object).str.strip().str.strip('"').str.strip()
    if unit is not None:
        wrong = symbol_mismatch(text, unit)
        if wrong.any():
            pos = int(np.flatnonzero(wrong[codes])[0])
            raise IngestError(file, symbol_message(str(raw.iloc[pos]), unit), line=int(lines.iloc[pos]), field=field)
    reason = text.str.lower().map(MARKERS)
    cleaned = text.str.replace(",", "", regex=False).str.replace("£", "", regex=False).str.rstrip("%").str.strip()
    is_num = cleaned.str.match(_NUMBER.pattern).fillna(False).astype(bool)
    bad = (reason.isna() & ~is_num).to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad[codes])[0])
        raise IngestError(
            file,
            f"value {str(raw.iloc[pos]).strip()[:40]!r} is neither a number nor a known marker",
            line=int(lines.iloc[pos]),
            field=field,
        )
    values = pd.to_numeric(cleaned.where(is_num & reason.isna()), errors="coerce").to_numpy(dtype="float64")
    reasons = reason.astype(object).to_numpy(dtype=object)
    reasons[pd.isna(reasons)] = None
    return values[codes], reasons[codes]


def melt_wide(df: pd.DataFrame, *, file: str, spec: Spec) -> pd.DataFrame:
    """Turn wide measure columns into tidy rows, parsing every cell with :func:`parse_values`.

    ``df`` must already hold the tidy id columns (la_code, old_la_code, la_name,
    geographic_level, period_type, year, period) plus ``breakdown_topic``/``breakdown`` (the
    row's own breakdown, already normalised) and ``_line``. Returns the tidy rows without
    provenance (add it with :func:`finish`).
    """
    ids = ["la_code", "old_la_code", "la_name", "geographic_level", "period_type", "year", "period"]
    frames: list[pd.DataFrame] = []
    for col, (measure, topic, breakdown, unit) in spec.items():
        if col not in df.columns or not len(df):
            continue
        values, reasons = parse_values(df[col], file=file, lines=df["_line"], field=col, unit=unit)
        out = df[ids].copy()
        out["measure"] = measure
        row_topic = df["breakdown_topic"] if "breakdown_topic" in df else pd.Series("total", index=df.index)
        row_bd = df["breakdown"] if "breakdown" in df else pd.Series("total", index=df.index)
        if topic == "*":
            out["breakdown_topic"], out["breakdown"] = row_topic, row_bd
        elif topic.startswith("*|"):
            # cross-tab: on the total row the column's own category stands alone
            own_topic = topic[2:]
            total = row_topic == "total"
            out["breakdown_topic"] = np.where(total, own_topic, row_topic + "|" + own_topic)
            out["breakdown"] = np.where(total, breakdown, row_bd + "|" + breakdown)
        else:
            out["breakdown_topic"], out["breakdown"] = topic, breakdown
        out["value"] = values
        out["missing_reason"] = reasons
        out["unit"] = unit
        out["line"] = df["_line"].astype("int64").to_numpy()
        frames.append(out)
    if not frames:
        return empty_observations()
    return pd.concat(frames, ignore_index=True)


def load_la_lookup(folder: Path) -> pd.DataFrame | None:
    """Return the DfE LA code lookup (``la-lookups/dfe_la_codes_from_ehcp_2025.csv``) if found.

    Looks next to the release folder (``<raw>/la-lookups``); returns None when absent.
    """
    for base in (folder, *folder.parents[:3]):
        p = base / "la-lookups" / "dfe_la_codes_from_ehcp_2025.csv"
        if p.is_file():
            # read as every published file is, so a damaged lookup is a one-line error
            lk = read_published_csv(p, required=["old_la_code", "new_la_code"]).drop(columns="_line")
            lk["old_la_code"] = lk["old_la_code"].str.strip().str.replace(r"\.0$", "", regex=True)
            lk["new_la_code"] = lk["new_la_code"].str.strip()
            return lk
    return None


def area_ids(df: pd.DataFrame, *, file: str, lookup: pd.DataFrame | None = None) -> pd.DataFrame:
    """Add tidy area columns (la_code, old_la_code, la_name, geographic_level) to a published frame.

    National rows become ``country_code``/England, regional rows ``region_code``/``region_name``,
    LA rows ``new_la_code``/``old_la_code``/``la_name``. An LA row without ``new_la_code`` is
    looked up by ``old_la_code`` in ``lookup``; if that fails an :class:`IngestError` names the
    line. Returns a copy of ``df`` with the four columns set.
    """
    out = df.copy()
    level = out["geographic_level"].str.strip().map(GEO_LEVEL_MAP)
    raise_at_first(
        level.isna(),
        df,
        file=file,
        field="geographic_level",
        message=lambda i: f"unknown geographic_level {df['geographic_level'].iloc[i]!r}",
    )
    new_code = out["new_la_code"].fillna("").str.strip()
    old_code = out["old_la_code"].fillna("").str.strip().str.replace(r"\.0$", "", regex=True)
    is_la = level == "la"
    if (is_la & (new_code == "")).any() and lookup is not None:
        m = dict(zip(lookup["old_la_code"], lookup["new_la_code"], strict=False))
        new_code = new_code.where(~(is_la & (new_code == "")), old_code.map(m).fillna(""))
    raise_at_first(
        is_la & (new_code == ""),
        df,
        file=file,
        field="new_la_code",
        message=lambda i: (
            f"LA {df['la_name'].iloc[i]!r} (old code {old_code.iloc[i]!r}) has no new_la_code "
            "and none was found in la-lookups"
        ),
    )
    out["geographic_level"] = level
    out["la_code"] = np.select(
        [level == "national", level == "regional"],
        [out["country_code"].str.strip(), out["region_code"].str.strip()],
        new_code,
    )
    out["la_name"] = np.select(
        [level == "national", level == "regional"],
        ["England", out["region_name"].str.strip()],
        out["la_name"].str.strip(),
    )
    out["old_la_code"] = old_code.astype(object).where(is_la & (old_code != ""), None)  # type: ignore[call-overload]
    raise_at_first(out["la_code"] == "", df, file=file, field="region_code", message=lambda _: "row has no area code")
    return out


def la_regions(df: pd.DataFrame) -> pd.DataFrame:
    """Return the distinct ``la_code -> region_code`` pairs of the LA rows of an area frame."""
    la = df[df["geographic_level"] == "la"]
    return la[["la_code", "region_code"]].drop_duplicates().reset_index(drop=True)


def data_dir(folder: Path) -> Path:
    """The folder holding a release's CSV files: its ``data`` sub-folder where there is one."""
    return folder / "data" if (folder / "data").is_dir() else folder


def simple_spec(columns: Mapping[str, str], unit: str, *, topic: str = "*", breakdown: str = "*") -> Spec:
    """A spec for columns each naming their own measure (published column -> measure).

    Values are in ``unit``, except measures ending ``_pct``, which are in percent. Rows keep
    their own breakdown unless ``topic``/``breakdown`` are given.
    """
    return {c: (m, topic, breakdown, "percent" if m.endswith("_pct") else unit) for c, m in columns.items()}


def tidy_file(
    raw: pd.DataFrame,
    *,
    file: str,
    spec: Spec,
    rows: Callable[[pd.DataFrame], pd.DataFrame],
    lookup: pd.DataFrame | None,
    source: str,
    release: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Import one published wide table. Returns ``(observations, la_region_pairs)``.

    ``raw`` is the file as read by ``read_published_csv``; ``rows`` adds each row's period and
    breakdown columns (and may drop rows) once :func:`area_ids` has added the area columns.
    A header-only file gives zero rows; a bad area, period or cell, or a duplicated period,
    raises :class:`IngestError` naming file, line and field.
    """
    if not len(raw):
        return empty_observations(), pd.DataFrame(columns=["la_code", "region_code"])
    df = rows(area_ids(raw, file=file, lookup=lookup))
    tidy = melt_wide(df, file=file, spec=spec)
    return finish(tidy, source=source, release=release, file=file), la_regions(df)


def la_region_table(regions: list[pd.DataFrame]) -> pd.DataFrame:
    """The ``la_region`` reference table: the distinct ``la_code -> region_code`` pairs of all files."""
    if not regions:
        return pd.DataFrame()
    return pd.concat(regions, ignore_index=True).drop_duplicates().reset_index(drop=True)

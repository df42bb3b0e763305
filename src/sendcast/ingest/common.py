"""Shared machinery for the importers: the tidy observation table, markers, errors.

Every importer turns one publication, exactly as published, into a *tidy long table* with the
columns in :data:`OBSERVATION_COLUMNS`. One row is one published number (or one published
marker saying why there is no number). The table is validated by :data:`observation_schema`
before it is stored.

Conventions (the contract every importer and every reader of the store relies on):

``la_code``
    ONS code of the area *as published in that row* (``E92000001`` England, ``E12...`` region,
    ``E06/E08/E09/E10...`` council). Boundary changes are handled later, in
    :mod:`sendcast.geography`; importers do not rewrite codes.
``old_la_code``
    DfE three-digit code where published (``"926"``), else ``None``.
``geographic_level``
    ``national`` | ``regional`` | ``la``.
``measure``
    the concept in the domain's words, snake case (``ehcp_caseload``, ``new_plans``,
    ``ceased_plans``, ``requests``, ``assessments``, ``plans_within_20_weeks_pct``,
    ``population``, ``high_needs_block`` ...).
``breakdown_topic`` / ``breakdown``
    the dimension and its category (``total``/``total``; ``placement``/``special_independent``;
    ``age``/``5``; ``age_band``/``5_10``; ``ceased_reason``/``needs_met``). Ages are strings of
    whole years; age bands ``under_5``, ``5_10``, ``11_15``, ``16_19``, ``20_25``.
``period_type`` and ``year``
    ``january`` (a count at January of ``year``), ``calendar_year``, ``financial_year``
    (April ``year`` to March ``year+1``), ``academic_year`` (September ``year`` to August
    ``year+1``), ``mid_year`` (30 June ``year``), ``snapshot`` (no period).
``period``
    a readable label: ``2024-01`` for January 2024, ``2023`` for a calendar year, ``2023-24``
    for a financial or academic year, ``mid-2022``.
``value`` / ``missing_reason``
    the number, or NaN with the reason the publication gave (never 0 for a marker).
``unit``
    ``plans``, ``requests``, ``assessments``, ``appeals``, ``persons``, ``percent``, ``gbp``,
    ``gbp_per_week``, ``score``, ``rate``, ``days`` ...
``source`` / ``release`` / ``file`` / ``line``
    publication id (e.g. ``ehcp-statistics``), the release (``2025``), the file name as
    published and the 1-based line in that file (header = line 1), so every row can be traced.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

OBSERVATION_COLUMNS: list[str] = [
    "la_code",
    "old_la_code",
    "la_name",
    "geographic_level",
    "measure",
    "breakdown_topic",
    "breakdown",
    "period_type",
    "year",
    "period",
    "value",
    "missing_reason",
    "unit",
    "source",
    "release",
    "file",
    "line",
]

GEOGRAPHIC_LEVELS = ("national", "regional", "la")
PERIOD_TYPES = (
    "january",
    "calendar_year",
    "financial_year",
    "academic_year",
    "mid_year",
    "snapshot",
)

# Markers used in DfE/ONS publications and what they mean (from the releases' own guidance).
MARKERS: dict[str, str] = {
    "x": "not available",
    "z": "not applicable",
    "c": "confidential (suppressed)",
    "u": "low reliability",
    "..": "not available",
    ".": "not available",
    "~": "suppressed (small number)",
    "low": "fewer than 0.5 (rounded)",
    "": "blank in source",
    "-": "not available",
    ":": "not available",
    "k": "rounds to zero",
    "na": "not available",
    "n/a": "not available",
    "#n/a": "not available",
    "supp": "suppressed (small number)",
    "ssd": "suppressed (small number)",
}

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class IngestError(ValueError):
    """A published file could not be read as expected.

    The message always names the file, and the line and field where known, so a user can open
    the file and see the problem.
    """

    def __init__(
        self,
        file: str | Path,
        message: str,
        *,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = str(file)
        self.line = line
        self.field = field
        where = self.file
        if line is not None:
            where += f", line {line}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")


def raise_at_first(
    bad: pd.Series | np.ndarray,
    df: pd.DataFrame,
    *,
    file: str | Path,
    field: str,
    message: Callable[[int], str],
) -> None:
    """Raise :class:`IngestError` at the first row of ``df`` flagged in ``bad``, if any.

    The error names ``file``, the row's ``_line`` and ``field``; ``message(pos)`` says what is
    wrong with the row at position ``pos``.
    """
    flags = np.asarray(bad, dtype=bool)
    if flags.any():
        pos = int(np.flatnonzero(flags)[0])
        raise IngestError(file, message(pos), line=int(df["_line"].iloc[pos]), field=field)


@dataclass(frozen=True)
class Cell:
    """A parsed published cell: a number, or NaN with the publication's reason."""

    value: float
    missing_reason: str | None


PERCENT_UNITS = frozenset({"percent"})
MONEY_UNITS = frozenset({"gbp", "gbp_per_week", "gbp_per_head"})


def symbol_mismatch(text: pd.Series, unit: str | None) -> np.ndarray:
    """Flags of the cells in ``text`` whose sign contradicts ``unit``: a ``%`` in a column that
    is not a percentage, a ``£`` in one that is not money (``45%`` or ``£12`` plans are a shifted
    column, not a count). ``unit=None`` checks nothing."""
    if unit is None or not len(text):
        return np.zeros(len(text), dtype=bool)
    t = text.astype(str)
    bad = np.zeros(len(t), dtype=bool)
    if unit not in PERCENT_UNITS:
        bad |= t.str.contains("%", regex=False).to_numpy(dtype=bool)
    if unit not in MONEY_UNITS:
        bad |= t.str.contains("£", regex=False).to_numpy(dtype=bool)
    return bad


def symbol_message(text: str, unit: str) -> str:
    """The error for a cell flagged by :func:`symbol_mismatch`."""
    sign = "%" if "%" in text and unit not in PERCENT_UNITS else "£"
    return f"value {text.strip()[:40]!r} has a '{sign}' sign but the column holds {unit}"


def parse_cell(raw: Any, *, file: str | Path, line: int, field: str, unit: str | None = None) -> Cell:
    """Parse one published cell into a value or a marker.

    Thousands separators and surrounding spaces/quotes are removed; ``%`` is dropped (the unit
    says percent) and ``£`` too, but when ``unit`` is given a ``%`` outside a percentage or a
    ``£`` outside money is an error. Known markers (:data:`MARKERS`) become NaN with their
    reason. Anything else that is not a number raises :class:`IngestError` naming file, line and
    field: an unknown marker is a change in the publication that a person must look at, not
    something to guess.
    """
    if raw is None:
        return Cell(math.nan, MARKERS[""])
    if isinstance(raw, bool):
        raise IngestError(file, f"boolean {raw!r} where a number was expected", line=line, field=field)
    if isinstance(raw, int | float):
        if isinstance(raw, float) and math.isnan(raw):
            return Cell(math.nan, MARKERS[""])
        return Cell(float(raw), None)
    text = str(raw).strip().strip('"').strip()
    key = text.lower()
    if key in MARKERS:
        return Cell(math.nan, MARKERS[key])
    if unit is not None and symbol_mismatch(pd.Series([text]), unit)[0]:
        raise IngestError(file, symbol_message(text, unit), line=line, field=field)
    cleaned = text.replace(",", "").replace("£", "").rstrip("%").strip()
    if _NUMBER.match(cleaned):
        return Cell(float(cleaned), None)
    raise IngestError(file, f"value {text[:40]!r} is neither a number nor a known marker", line=line, field=field)


def read_published_csv(path: str | Path, *, required: Sequence[str], max_bytes: int = 200_000_000) -> pd.DataFrame:
    """Read a CSV as published (UTF-8 with or without BOM) as strings, with a ``_line`` column.

    Checks that the file exists, is not empty, is not larger than ``max_bytes``, that every
    column in ``required`` is present, and that every row has as many fields as the header
    (a truncated last line is caught here). Returns all cells as ``str`` (no type guessing:
    markers must survive) plus ``_line``, the 1-based line number in the file.
    """
    p = Path(path)
    if not p.is_file():
        raise IngestError(p, "file not found")
    size = p.stat().st_size
    if size == 0:
        raise IngestError(p, "file is empty")
    if size > max_bytes:
        raise IngestError(p, f"file is {size:,} bytes, more than the {max_bytes:,} allowed")
    if p.is_symlink():
        raise IngestError(p, "is a symbolic link; sendcast reads only regular files in a release folder")
    raw = p.read_bytes()
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise IngestError(p, "file is UTF-16 encoded; save it as UTF-8 CSV (as published) and try again", line=1)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            raise IngestError(p, f"not a text file ({exc})") from exc
    if "\x00" in text:
        raise IngestError(p, "file contains NUL bytes: not a CSV")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise IngestError(p, "file is empty") from None
    except csv.Error as exc:
        raise IngestError(p, f"malformed CSV header: {exc}", line=1) from None
    header = [h.strip() for h in header]
    missing = [c for c in required if c not in header]
    if missing:
        raise IngestError(
            p,
            f"missing column(s) {missing}; found {header[:15]}{'...' if len(header) > 15 else ''}",
            line=1,
            field=missing[0],
        )
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            line_no = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise IngestError(
                    p,
                    f"row has {len(row)} fields, header has {len(header)} (truncated or malformed)",
                    line=line_no,
                )
            rows.append(row)
            lines.append(line_no)
    except csv.Error as exc:
        raise IngestError(p, f"malformed CSV: {exc}", line=reader.line_num) from None
    if not rows:
        df = pd.DataFrame(columns=[*header, "_line"])
        return df
    df = pd.DataFrame(rows, columns=header, dtype=str)
    dupes = df.columns[df.columns.duplicated()].tolist()
    if dupes:
        # Some published files repeat a column name; keep the first, as the publisher's own
        # tools do, and say so in the provenance via the column list.
        df = df.loc[:, ~df.columns.duplicated()]
    df["_line"] = lines
    return df


def finish(df: pd.DataFrame, *, source: str, release: str, file: str | Path) -> pd.DataFrame:
    """Add provenance columns, order the columns and validate the tidy table.

    Raises :class:`IngestError` (naming the file, and the line and field of the first bad row)
    when the table breaks the schema, or when the same area/measure/breakdown/period appears
    twice in one file (a duplicated period).
    """
    df = df.copy()
    df["source"] = source
    df["release"] = str(release)
    df["file"] = Path(file).name
    for col in OBSERVATION_COLUMNS:
        if col not in df.columns:
            df[col] = None
    df = df[OBSERVATION_COLUMNS]
    df["year"] = pd.to_numeric(df["year"], errors="raise").astype("int64")
    df["line"] = df["line"].astype("int64")
    df["value"] = df["value"].astype("float64")
    for c in ("old_la_code", "missing_reason"):
        keep = df[c].notna() & (df[c].astype(str) != "")
        df[c] = df[c].astype(object).mask(~keep, None)
    validate_observations(df, file=file)
    return df.reset_index(drop=True)


def finish_files(
    files: Iterable[Path],
    read: Callable[[Path], pd.DataFrame],
    *,
    source: str,
    release: Callable[[Path, pd.DataFrame], str],
) -> pd.DataFrame:
    """Read each file with ``read`` and :func:`finish` its rows, the release being
    ``release(path, rows)``; return the validated rows of all files, in file order."""
    parts = []
    for path in files:
        df = read(path)
        parts.append(finish(df, source=source, release=release(path, df), file=path))
    return pd.concat(parts, ignore_index=True)


KEY_COLUMNS = [
    "la_code",
    "la_name",
    "measure",
    "breakdown_topic",
    "breakdown",
    "period_type",
    "year",
]

# Units that count whole things; a fraction of a plan or a pupil is a corrupted cell.
WHOLE_UNITS = frozenset(
    {"plans", "requests", "assessments", "appeals", "decisions", "cases", "placements", "pupils", "schools", "persons"}
)
# Published as decimals: ONS projections, and the 2-18 population estimate in the s251 tables.
FRACTIONAL_MEASURES = frozenset({"population_projection", "population_2_18"})
# Units that cannot be below zero (money and scores can: balances, Progress 8).
NON_NEGATIVE_UNITS = WHOLE_UNITS | {"entries", "gbp_per_week", "gbp_per_head", "rate"}
# Validation limits, not assumptions: no English count exceeds the population of England
# (57.1 million, ONS mid-2022), and no published money figure is near £10 trillion.
MAX_COUNT = 100_000_000
MAX_ABS_VALUE = 1e13


def out_of_range(df: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Flags of the rows of a tidy table whose value is impossible for its unit, and why.

    Returns ``(bad, reasons)``: ``bad[i]`` is True when row ``i`` holds an infinite value, a
    negative count, a fraction of a whole unit, a count above :data:`MAX_COUNT` or any value
    beyond :data:`MAX_ABS_VALUE`; ``reasons[i]`` says which ('' for good rows). Missing values
    (markers) are not checked here.
    """
    v = pd.to_numeric(df["value"], errors="coerce").to_numpy(dtype="float64")
    unit = df["unit"].astype(str).to_numpy()
    measure = df["measure"].astype(str).to_numpy()
    present = ~np.isnan(v)
    whole = np.isin(unit, list(WHOLE_UNITS)) & ~np.isin(measure, list(FRACTIONAL_MEASURES))
    count = np.isin(unit, list(WHOLE_UNITS))
    non_neg = np.isin(unit, list(NON_NEGATIVE_UNITS))
    huge = present & np.isfinite(v) & (np.abs(v) > MAX_ABS_VALUE)
    with np.errstate(invalid="ignore"):
        checks = [
            (present & ~np.isfinite(v), "is not a finite number"),
            (huge, f"is beyond any plausible value {MAX_ABS_VALUE:g}"),
            (present & non_neg & (v < 0), "is negative"),
            (present & count & (v > MAX_COUNT), f"is more than {MAX_COUNT:,}, above any English count"),
            (present & whole & np.isfinite(v) & (np.abs(v - np.round(v)) > 1e-9), "is not a whole number"),
        ]
    bad = np.zeros(len(v), dtype=bool)
    reasons = [""] * len(v)
    for flags, why in checks:
        for i in np.flatnonzero(flags & ~bad):
            reasons[int(i)] = why
        bad |= flags
    return bad, reasons


def expected_period(period_type: str, year: int) -> str | None:
    """The ``period`` label of a period type and year (None for ``snapshot``): ``2024-01``,
    ``2023``, ``2023-24`` (financial or academic year), ``mid-2022``."""
    if period_type == "january":
        return f"{year}-01"
    if period_type == "calendar_year":
        return str(year)
    if period_type in ("financial_year", "academic_year"):
        return f"{year}-{(year + 1) % 100:02d}"
    if period_type == "mid_year":
        return f"mid-{year}"
    return None


def period_mismatch(df: pd.DataFrame) -> np.ndarray:
    """Flags of the rows whose ``period`` label does not say their ``period_type`` and ``year``
    (a date read wrongly, or two periods mixed up in one row)."""
    pairs = df[["period_type", "year", "period"]].drop_duplicates()
    bad = {
        (pt, int(y), str(lab))
        for pt, y, lab in pairs.itertuples(index=False)
        if expected_period(str(pt), int(y)) not in (None, str(lab))
    }
    if not bad:
        return np.zeros(len(df), dtype=bool)
    keys = zip(df["period_type"], df["year"].astype(int), df["period"].astype(str), strict=True)
    return np.array([k in bad for k in keys], dtype=bool)


def _values_in_range(df: pd.DataFrame) -> pd.Series:
    return pd.Series(~out_of_range(df)[0], index=df.index)


observation_schema = pa.DataFrameSchema(
    {
        "la_code": pa.Column(str, pa.Check.str_matches(r"^[EWSN]\d{8}$|^[A-Z0-9_]+$")),
        "old_la_code": pa.Column(str, nullable=True),
        "la_name": pa.Column(str),
        "geographic_level": pa.Column(str, pa.Check.isin(GEOGRAPHIC_LEVELS)),
        "measure": pa.Column(str, pa.Check.str_matches(r"^[a-z0-9_]+$")),
        "breakdown_topic": pa.Column(str),
        "breakdown": pa.Column(str),
        "period_type": pa.Column(str, pa.Check.isin(PERIOD_TYPES)),
        "year": pa.Column("int64", pa.Check.in_range(1990, 2100)),
        "period": pa.Column(str),
        "value": pa.Column("float64", nullable=True),
        "missing_reason": pa.Column(str, nullable=True),
        "unit": pa.Column(str),
        "source": pa.Column(str),
        "release": pa.Column(str),
        "file": pa.Column(str),
        "line": pa.Column("int64", pa.Check.ge(1)),
    },
    checks=[
        pa.Check(
            lambda d: d["value"].notna() | d["missing_reason"].notna(),
            element_wise=False,
            error="a missing value needs a missing_reason",
        ),
        pa.Check(_values_in_range, element_wise=False, error="value impossible for its unit (see out_of_range)"),
    ],
    strict=True,
    coerce=False,
)


def validate_observations(df: pd.DataFrame, *, file: str | Path) -> None:
    """Validate a tidy table against the schema, the value ranges of :func:`out_of_range` and
    the no-duplicate rule; raise IngestError naming the file, line and field of the first bad row."""
    if len(df) and {"value", "unit", "measure", "line"} <= set(df.columns):
        bad, reasons = out_of_range(df)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            row = df.iloc[pos]
            raise IngestError(
                file,
                f"{row['measure']} value {row['value']:g} {row['unit']} {reasons[pos]}",
                line=int(row["line"]),
                field=str(row["measure"]),
            )
    if len(df) and {"period_type", "year", "period", "line"} <= set(df.columns):
        wrong = period_mismatch(df)
        if wrong.any():
            row = df.iloc[int(np.flatnonzero(wrong)[0])]
            raise IngestError(
                file,
                f"period {row['period']!r} does not match {row['period_type']} {row['year']} "
                f"(expected {expected_period(str(row['period_type']), int(row['year']))!r})",
                line=int(row["line"]),
                field="period",
            )
    try:
        observation_schema.validate(df, lazy=False)
    except (pa.errors.SchemaError, pa.errors.SchemaErrors) as exc:
        line = None
        field = getattr(getattr(exc, "schema", None), "name", None)
        failure = getattr(exc, "failure_cases", None)
        if isinstance(failure, pd.DataFrame) and "index" in failure and len(failure):
            idx = failure["index"].iloc[0]
            if idx is not None and idx in df.index:
                line = int(df.loc[idx, "line"])
        what = " ".join(str(exc).split())[:300]
        raise IngestError(file, f"schema check failed: {what}", line=line, field=field) from None
    dup = df.duplicated(KEY_COLUMNS, keep="first")
    if dup.any():
        first = df[dup].iloc[0]
        raise IngestError(
            file,
            "duplicated period: "
            f"{first['la_name']} {first['measure']} {first['breakdown_topic']}={first['breakdown']} "
            f"{first['period']} appears more than once",
            line=int(first["line"]),
            field=str(first["measure"]),
        )


def empty_observations() -> pd.DataFrame:
    """An empty tidy table with the right columns and dtypes."""
    df = pd.DataFrame({c: pd.Series(dtype="object") for c in OBSERVATION_COLUMNS})
    df["year"] = df["year"].astype("int64")
    df["line"] = df["line"].astype("int64")
    df["value"] = df["value"].astype("float64")
    return df


def concat_observations(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate tidy tables (skipping empty ones)."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_observations()
    return pd.concat(frames, ignore_index=True)


GEO_LEVEL_MAP = {"National": "national", "Regional": "regional", "Local authority": "la"}


def geographic_level(raw: str, *, file: str | Path, line: int) -> str:
    """Map a published ``geographic_level`` label to ``national`` | ``regional`` | ``la``."""
    key = raw.strip()
    if key in GEO_LEVEL_MAP:
        return GEO_LEVEL_MAP[key]
    raise IngestError(file, f"unknown geographic_level {raw!r}", line=line, field="geographic_level")

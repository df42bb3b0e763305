"""Read and validate COLLECT "Blade" exports of the SEN2 person-level return.

:func:`read_returns` finds every export in a folder (nine files per export date, named
``Blade-Export_DD-MM-YYYY_<module>.csv``), checks each file's structure and returns one
:class:`Sen2Return` per census year with typed tables. A file that cannot be read as the guide
describes (a missing module, a renamed column, a date that is not a date, a row id that is not
unique, a row whose parent is not in its parent module, a file from another council) raises
:class:`Sen2InputError` naming the file, the row (line of the CSV) and the field; nothing has been
written at that point. Content problems that a council fixes in its records (a duplicate UPN, a
plan with no reason to cease ...) are not raised here: they are the checks of
:mod:`sendcast.personlevel.checks`.

The frames returned still hold identifiers: they never leave :mod:`sendcast.personlevel`
(checks report row ids and fields, the importer replaces or drops identifiers).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pandas as pd

from sendcast.personlevel.codes import DATE_FORMAT, FILE_PATTERN, GIAS_COLUMNS, MODULES, VERSIONED

MAX_FILE_BYTES = 500_000_000
NUMERIC_FIELDS = ("placementrank", "sentyperank", "urn", "ukprn", "year")


class Sen2InputError(ValueError):
    """A return that cannot be read: ``str()`` is one line naming file, row and field."""

    def __init__(self, file: str | Path, message: str, *, row: int | None = None, field: str | None = None) -> None:
        self.file, self.row, self.field = str(file), row, field
        where = [str(file)]
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(": ".join(where) + f": {message}")


@dataclass
class Sen2Return:
    """One census year's return: typed module tables (with a ``_row`` column: the CSV line)."""

    year: int
    census_date: dt.date
    lea: str
    version: str
    stamp: str  # the export date in the file names
    files: dict[str, Path]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def file(self, module: str) -> str:
        return self.files[module].name

    def sha256(self) -> dict[str, str]:
        """sha256 of each raw file (so a run can be traced back to its inputs without copying them)."""
        out = {}
        for p in self.files.values():
            h = hashlib.sha256()
            with p.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            out[p.name] = h.hexdigest()
        return out


def find_exports(folder: Path) -> dict[str, dict[str, Path]]:
    """Export date (DD-MM-YYYY) -> module -> file, for the Blade files in ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise Sen2InputError(folder, "not a folder")
    found: dict[str, dict[str, Path]] = {}
    for p in sorted(folder.iterdir()):
        m = FILE_PATTERN.match(p.name)
        if not m:
            continue
        dd, mm, yyyy, module = m.groups()
        module = module.lower()
        if module not in MODULES:
            raise Sen2InputError(p, f"unknown module {module!r}; expected one of {', '.join(MODULES)}")
        found.setdefault(f"{dd}-{mm}-{yyyy}", {})[module] = p
    if not found:
        raise Sen2InputError(folder, "no COLLECT export files (Blade-Export_DD-MM-YYYY_<module>.csv) in this folder")
    for stamp, mods in found.items():
        missing = [m for m in MODULES if m not in mods]
        if missing:
            raise Sen2InputError(folder / f"Blade-Export_{stamp}_{missing[0]}.csv",
                                 f"module missing from the export of {stamp} (every export has nine files: "
                                 f"{', '.join(MODULES)})")  # fmt: skip
    return found


def _read_csv(path: Path) -> pd.DataFrame:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise Sen2InputError(path, f"file larger than {MAX_FILE_BYTES // 1_000_000} MB")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise Sen2InputError(path, f"not a readable CSV file ({str(exc).splitlines()[0][:80]})") from None
    df.columns = [c.strip() for c in df.columns]
    df = df.apply(lambda s: s.str.strip())
    df.insert(0, "_row", range(2, len(df) + 2))
    return df


def _required_columns(module: str, cols: set[str], path: Path) -> None:
    m = MODULES[module]
    for c in m.id_columns():
        if c not in cols:
            raise Sen2InputError(path, "id column missing (renamed?)", row=1, field=c)
    for f in m.fields:
        if (module, f) in VERSIONED:
            _, old = VERSIONED[(module, f)]
            if f not in cols and old is not None and old not in cols:
                raise Sen2InputError(path, f"column missing (neither {f!r} nor its earlier name {old!r})", row=1,
                                     field=f)  # fmt: skip
            continue
        if f not in cols:
            known = set(m.id_columns()) | set(m.fields) | {o for (mm, _), (_, o) in VERSIONED.items() if mm == module}
            extra = sorted(c for c in cols - known if c != "_row")
            hint = f"; unexpected column(s) {', '.join(extra[:3])}" if extra else ""
            raise Sen2InputError(path, f"column missing (renamed?){hint}", row=1, field=f)


def _line(df: pd.DataFrame, i: Any) -> int:
    """The CSV line of row label ``i``."""
    return int(cast(int, df.at[i, "_row"]))


def parse_dates(df: pd.DataFrame, col: str, path: Path) -> pd.Series:
    """A date column (``2022-Sep-28 00:00:00``, or ISO ``2022-09-28``): NaT where blank."""
    raw = df[col]
    out = pd.to_datetime(raw, format=DATE_FORMAT, errors="coerce")
    retry = out.isna() & (raw != "")
    if retry.any():
        out[retry] = pd.to_datetime(raw[retry], format="%Y-%m-%d", errors="coerce")
    bad = out.isna() & (raw != "")
    if bad.any():
        i = bad.idxmax()
        raise Sen2InputError(path, f"{raw[i][:30]!r} is not a date (expected e.g. 2022-Sep-28 00:00:00)",
                             row=_line(df, i), field=col)  # fmt: skip
    return out


def _parse_numbers(df: pd.DataFrame, col: str, path: Path) -> pd.Series:
    raw = df[col]
    out = pd.to_numeric(raw.where(raw != ""), errors="coerce")
    bad = out.isna() & (raw != "")
    if bad.any():
        i = bad.idxmax()
        raise Sen2InputError(path, f"{raw[i][:30]!r} is not a number", row=_line(df, i), field=col)
    return out.astype("Int64")


def _ids(df: pd.DataFrame, col: str, path: Path) -> pd.Series:
    ids = _parse_numbers(df, col, path)
    blank = ids.isna()
    if blank.any():
        raise Sen2InputError(path, "row id is blank", row=_line(df, blank.idxmax()), field=col)
    dup = ids.duplicated()
    if dup.any():
        i = dup.idxmax()
        first = int(df.loc[ids == ids[i], "_row"].to_numpy()[0])
        raise Sen2InputError(path, f"duplicate row id {ids[i]} (also on row {first})", row=_line(df, i),
                             field=col)  # fmt: skip
    return ids


def read_module(path: Path, module: str) -> pd.DataFrame:
    """One module file as a typed table: ids and numbers as Int64, dates as Timestamps."""
    df = _read_csv(path)
    _required_columns(module, set(df.columns), path)
    m = MODULES[module]
    df[m.table_id] = _ids(df, m.table_id, path)
    if m.parent_id:
        df[m.parent_id] = _parse_numbers(df, m.parent_id, path)
        blank = df[m.parent_id].isna()
        if blank.any():
            raise Sen2InputError(path, "parent row id is blank", row=_line(df, blank.idxmax()),
                                 field=m.parent_id)  # fmt: skip
    for c in m.dates:
        if c in df:
            df[c] = parse_dates(df, c, path)
    if module == "sen2":
        df["datetime"] = parse_dates(df, "datetime", path)
    for c in NUMERIC_FIELDS:
        if c in df and c in m.fields:
            df[c] = _parse_numbers(df, c, path)
    if module == "person" and "sex" not in df:
        from sendcast.personlevel.codes import GENDER_CURRENT

        df["sex"] = df["gendercurrent"].map(GENDER_CURRENT).fillna(df["gendercurrent"])
    for f in m.fields:
        if f not in df:
            df[f] = pd.NaT if f in m.dates else ""
    return df


def read_return(stamp: str, files: dict[str, Path]) -> Sen2Return:
    """Read one export (nine files) and check its structure (see the module docstring)."""
    tables = {name: read_module(files[name], name) for name in MODULES}
    sen2 = tables["sen2"]
    path = files["sen2"]
    if len(sen2) != 1:
        raise Sen2InputError(path, f"expected one header row, found {len(sen2)}", row=2 + min(len(sen2), 1))
    head = sen2.iloc[0]
    lea = str(head["lea"]).strip()
    if not (len(lea) == 3 and lea.isdigit()):
        raise Sen2InputError(path, f"{lea!r} is not a 3-digit LA code", row=2, field="lea")
    if pd.isna(head["referencedate"]):
        raise Sen2InputError(path, "census (reference) date is blank", row=2, field="referencedate")
    census = pd.Timestamp(head["referencedate"]).date()
    year = int(head["year"]) if pd.notna(head["year"]) else census.year
    if year != census.year:
        raise Sen2InputError(path, f"year {year} does not match the reference date {census}", row=2, field="year")
    for name, mod in MODULES.items():
        if mod.parent is None:
            continue
        child, parent = tables[name], tables[mod.parent]
        orphan = ~child[mod.parent_id].isin(parent[MODULES[mod.parent].table_id])
        if orphan.any():
            i = orphan.idxmax()
            what = "the export's header (sen2 module): a file from another export or council?" if (
                mod.parent == "sen2") else f"module {mod.parent}"  # fmt: skip
            raise Sen2InputError(files[name], f"parent row {child.at[i, mod.parent_id]} is not in {what}",
                                 row=_line(child, i), field=mod.parent_id)  # fmt: skip
    # a table id belongs to one row of one module; the same id in two modules means mixed files
    return Sen2Return(year=year, census_date=census, lea=lea, version=str(head["release"]), stamp=stamp, files=files,
                      tables=tables)  # fmt: skip


def read_returns(folder: Path, *, expected_lea: str | None = None) -> list[Sen2Return]:
    """Every return (export) in ``folder``, oldest census first; all must be one council's."""
    exports = find_exports(Path(folder))
    returns = [read_return(stamp, files) for stamp, files in exports.items()]
    returns.sort(key=lambda r: r.census_date)
    lea = expected_lea or returns[0].lea
    for r in returns:
        if r.lea != lea:
            src = "the store" if expected_lea else f"the export of {returns[0].stamp}"
            raise Sen2InputError(r.files["sen2"], f"LA {r.lea} is another council's return ({src} is LA {lea})",
                                 row=2, field="lea")  # fmt: skip
    seen: dict[int, str] = {}
    for r in returns:
        if r.year in seen:
            raise Sen2InputError(r.files["sen2"], f"a second return for census {r.year} (also export {seen[r.year]})",
                                 row=2, field="referencedate")  # fmt: skip
        seen[r.year] = r.stamp
    return returns


@dataclass
class Gias:
    """Establishments from a GIAS extract (``edubasealldata*.csv``): URN/UKPRN -> type."""

    by_urn: pd.DataFrame  # index URN: type, status
    by_ukprn: pd.DataFrame


def read_gias(path: Path) -> Gias:
    """Read a GIAS "all establishment data" extract (only the columns sendcast needs)."""
    path = Path(path)
    if not path.is_file():
        raise Sen2InputError(path, "GIAS establishments file not found")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                         usecols=lambda c: str(c).strip() in GIAS_COLUMNS, encoding_errors="replace")  # fmt: skip
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise Sen2InputError(path, f"not a readable GIAS CSV ({str(exc).splitlines()[0][:80]})") from None
    df.columns = [c.strip() for c in df.columns]
    for c in GIAS_COLUMNS:
        if c not in df:
            raise Sen2InputError(path, "column missing", row=1, field=c)
    df = df.rename(columns={"TypeOfEstablishment (name)": "type", "EstablishmentStatus (name)": "status"})
    urn = pd.to_numeric(df["URN"], errors="coerce")
    ukprn = pd.to_numeric(df["UKPRN"], errors="coerce")
    cols = ["type", "status"]
    by_urn = df.loc[urn.notna(), cols].set_index(urn[urn.notna()].astype("int64").rename("urn"))
    by_ukprn = df.loc[ukprn.notna(), cols].set_index(ukprn[ukprn.notna()].astype("int64").rename("ukprn"))
    return Gias(by_urn=by_urn[~by_urn.index.duplicated()], by_ukprn=by_ukprn[~by_ukprn.index.duplicated()])

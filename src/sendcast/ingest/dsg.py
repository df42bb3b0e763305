"""Dedicated schools grant (DSG) allocations by council, 2019-20 to 2023-24 (ESFA/DfE).

Reads the allocation summary as published (``dedicated-schools-grant_allocations_summary_
2019-20_to_2023-24.ods``, one ``Allocations_YYZZ`` sheet per financial year; 2019-20 in
£ million, later years in £) and, when that file is absent, the derived CSV
``dsg_allocations_by_la_2019-20_to_2023-24.csv`` (all £). Both become the same tidy rows:

- measures ``schools_block``, ``central_school_services_block``, ``high_needs_block``,
  ``early_years_block``, ``total_dsg``; unit ``gbp``; ``financial_year`` (``year`` = the April
  the year starts);
- ``breakdown_topic`` ``stage``, ``breakdown`` ``before_recoupment`` / ``after_recoupment``
  (``before_deductions`` / ``after_deductions`` for the high needs block, whose "after" figure
  is net of ESFA direct place funding rather than academy recoupment).

England and the nine regions are kept (``national`` / ``regional``); the LA-type subtotals
(METROPOLITAN / UNITARY / UPPER TIER AUTHORITIES, and the 2019-20 ``LONDON`` subtotal that
duplicates the ``London`` region) are dropped and listed in the notes.

This module also holds the small council-code helpers shared by the finance importers
(:class:`LaLookup`, :func:`parse_series`); they could move to :mod:`sendcast.geography`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sendcast.ingest import ImportResult
from sendcast.ingest.common import (
    MARKERS,
    IngestError,
    concat_observations,
    finish,
    read_published_csv,
    symbol_message,
    symbol_mismatch,
)

SOURCE = "dsg-allocations"
RELEASE = "2019-20_to_2023-24"
ODS_NAME = "dedicated-schools-grant_allocations_summary_2019-20_to_2023-24.ods"
CSV_NAME = "dsg_allocations_by_la_2019-20_to_2023-24.csv"
LOOKUP_NAME = "dfe_la_codes_from_ehcp_2025.csv"

ENGLAND_CODE = "E92000001"

# Published column -> (measure, breakdown). Order follows the published sheet ([A]..[J]).
CSV_COLUMNS: dict[str, tuple[str, str]] = {
    "schools_block_before_recoupment": ("schools_block", "before_recoupment"),
    "central_school_services_block_before_recoupment": (
        "central_school_services_block",
        "before_recoupment",
    ),
    "high_needs_block_before_deductions": ("high_needs_block", "before_deductions"),
    "early_years_block_before": ("early_years_block", "before_recoupment"),
    "total_dsg_before_recoupment": ("total_dsg", "before_recoupment"),
    "schools_block_after_recoupment": ("schools_block", "after_recoupment"),
    "central_school_services_block_after": ("central_school_services_block", "after_recoupment"),
    "high_needs_block_after_deductions": ("high_needs_block", "after_deductions"),
    "early_years_block_after": ("early_years_block", "after_recoupment"),
    "total_dsg_after_recoupment": ("total_dsg", "after_recoupment"),
}

# Words each ODS header cell (row 2 of the sheet, columns C..L) must contain, in order.
_ODS_HEADER_WORDS = [
    "schools block",
    "central school services",
    "high needs",
    "early years",
    "total dsg",
] * 2

_LA_TYPE_SUBTOTALS = {"metropolitan authorities", "unitary authorities", "upper tier authorities"}


# --------------------------------------------------------------------------------------------
# Shared helpers (council codes, vectorised cell parsing)
# --------------------------------------------------------------------------------------------


def normalise_name(name: str) -> str:
    """A council or region name reduced for matching: lower case, '&' -> 'and', no
    punctuation, ', City of' / ', County of' suffixes dropped ('Bristol, City of' -> 'bristol')."""
    s = str(name).strip().lower().replace("&", " and ")
    s = re.sub(r",\s*(city|county) of$", "", s)
    s = re.sub(r"^(city|county) of\s+", "", s) if s not in {"city of london"} else s
    s = re.sub(r"[.,'()]", " ", s).replace("-", " ")
    return re.sub(r"\s+", " ", s).strip()


@dataclass(frozen=True)
class LaMatch:
    """A council resolved from a published code or name."""

    la_code: str
    old_la_code: str
    la_name: str


class LaLookup:
    """DfE three-digit codes and names -> ONS codes, from ``dfe_la_codes_from_ehcp_2025.csv``.

    Where a code or name has several rows (Buckinghamshire 825 under E10000002 and E06000060;
    'Dorset' as the old county 835 and the 2019 unitary 838) the row seen for longest and
    latest wins: E10000002 and 838/E06000059. Files that key by name only cannot say which
    Dorset they mean; the dashboard tables are all on current boundaries.
    """

    def __init__(self, path: Path) -> None:
        table = read_published_csv(
            path, required=["old_la_code", "new_la_code", "la_name", "region_code", "region_name"]
        )
        if table.empty:
            raise IngestError(path, "LA lookup has no rows")
        self.path = path
        table["old"] = table["old_la_code"].str.replace(r"\.0$", "", regex=True).str.strip()
        table["last"] = pd.to_numeric(table["last_time_period"], errors="coerce").fillna(0)
        table["first"] = pd.to_numeric(table["first_time_period"], errors="coerce").fillna(0)
        # longest-lived, then latest row first, so the first seen for a key wins
        table = table.sort_values(["last", "first"], ascending=[False, True], kind="stable")
        self.by_code: dict[str, LaMatch] = {}
        self.by_name: dict[str, LaMatch] = {}
        self.by_ons: dict[str, LaMatch] = {}
        self.regions: dict[str, tuple[str, str]] = {}
        for rec in table.to_dict("records"):
            m = LaMatch(str(rec["new_la_code"]).strip(), str(rec["old"]), str(rec["la_name"]).strip())
            self.by_code.setdefault(m.old_la_code, m)
            self.by_name.setdefault(normalise_name(m.la_name), m)
            self.by_ons.setdefault(m.la_code, m)
            rname = str(rec["region_name"]).strip()
            self.regions.setdefault(normalise_name(rname), (str(rec["region_code"]).strip(), rname))

    def la_by_code(self, code: Any, *, file: str, line: int, field: str) -> LaMatch:
        """The council for a published DfE three-digit code; IngestError if unknown."""
        key = str(code).strip().removesuffix(".0")
        if key in self.by_code:
            return self.by_code[key]
        raise IngestError(file, f"unknown DfE LA code {str(code)[:20]!r}", line=line, field=field)

    def la_by_name(self, name: Any, *, file: str, line: int, field: str) -> LaMatch:
        """The council for a published name; IngestError if unknown."""
        key = normalise_name(str(name))
        if key in self.by_name:
            return self.by_name[key]
        raise IngestError(file, f"unknown LA name {str(name)[:40]!r}", line=line, field=field)

    def region_by_name(self, name: Any, *, file: str, line: int, field: str) -> tuple[str, str]:
        """(E12 code, region name as in the lookup) for a published region name."""
        key = normalise_name(str(name))
        if key in self.regions:
            return self.regions[key]
        raise IngestError(file, f"unknown region {str(name)[:40]!r}", line=line, field=field)


def lookup_path(folder: Path, lookup_file: Path | None = None) -> Path:
    """Where the DfE->ONS code lookup is: ``lookup_file`` if given, else the sibling folder
    ``la-lookups`` of the release folder. Raises IngestError when it is not there."""
    path = lookup_file or folder.parent / "la-lookups" / LOOKUP_NAME
    if not path.is_file():
        raise IngestError(path, "LA code lookup not found (expected a sibling folder 'la-lookups')")
    return path


_NUMERIC_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_series(
    raw: pd.Series, lines: pd.Series, *, file: str, field: str, unit: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Parse a column of published cells at once (the vectorised form of ``parse_cell``).

    Returns ``(values, reasons)``: float values (NaN for markers) and an object array with the
    publication's reason for each NaN (None where there is a number). A cell that is neither a
    number nor a known marker, or (``unit`` given) whose ``%``/``£`` sign contradicts the
    unit, raises IngestError naming file, line and field.
    """
    text = raw.astype("string").fillna("").str.strip().str.strip('"').str.strip()
    wrong = symbol_mismatch(text, unit)
    if wrong.any():
        pos = int(np.flatnonzero(wrong)[0])
        raise IngestError(file, symbol_message(str(text.iloc[pos]), str(unit)), line=int(lines.iloc[pos]), field=field)
    key = text.str.lower()
    is_marker = key.isin(list(MARKERS))
    cleaned = text.str.replace(",", "", regex=False).str.replace("£", "", regex=False)
    cleaned = cleaned.str.rstrip("%").str.strip()
    ok = cleaned.str.match(_NUMERIC_TEXT.pattern).fillna(False).astype(bool)
    bad = ~(ok | is_marker)
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise IngestError(
            file,
            f"value {str(text.iloc[pos])[:40]!r} is neither a number nor a known marker",
            line=int(lines.iloc[pos]),
            field=field,
        )
    values = pd.to_numeric(cleaned.where(ok), errors="coerce").to_numpy(dtype="float64")
    reasons = key.map(MARKERS).to_numpy(dtype=object)
    reasons[~is_marker.to_numpy(dtype=bool)] = None
    return values, reasons


def financial_year_start(label: Any, *, file: str, line: int, field: str) -> int:
    """``year`` for a financial-year label: '2023-24', '2023/24', '202324' -> 2023."""
    s = str(label).strip().removesuffix(".0")
    m = re.fullmatch(r"(\d{4})\s*[-/]?\s*(\d{2}|\d{4})", s)
    if m:
        start = int(m.group(1))
        end = int(m.group(2)[-2:])
        if end == (start + 1) % 100:
            return start
    raise IngestError(file, f"not a financial year: {s[:20]!r}", line=line, field=field)


def year_label(year: int) -> str:
    """'2023-24' for 2023."""
    return f"{year}-{(year + 1) % 100:02d}"


# --------------------------------------------------------------------------------------------
# DSG allocations
# --------------------------------------------------------------------------------------------


def detect(folder: Path) -> bool:
    """True when the folder holds the DSG allocation summary (.ods) or the derived CSV."""
    folder = Path(folder)
    return folder.is_dir() and ((folder / ODS_NAME).is_file() or (folder / CSV_NAME).is_file())


def _geography(wide: pd.DataFrame, lookup: LaLookup, *, file: str, notes: list[str]) -> pd.DataFrame:
    """Add la_code/old_la_code/la_name/geographic_level to a wide frame with ``code`` and
    ``name`` columns; drop LA-type subtotals (and the ``LONDON`` subtotal that duplicates the
    London region row of the same year). Returns the frame with the geography columns."""
    out: list[dict[str, Any]] = []
    # The London region appears twice a year (once among the LA-type subtotals, once among the
    # regions, identical figures): keep the last, the one in the regions block.
    is_london = wide["code"].astype(str).str.strip().str.lower() == "london"
    last_london = set(
        wide.index[is_london & ~wide[is_london].duplicated("year", keep="last").reindex(wide.index, fill_value=False)]
    )
    dropped: set[str] = set()
    for idx, rec in zip(wide.index, wide.to_dict("records"), strict=True):
        code = str(rec["code"]).strip()
        line = int(rec["_line"])
        low = code.lower()
        if low in _LA_TYPE_SUBTOTALS or (low == "london" and idx not in last_london):
            dropped.add(code)
            continue
        if low == "england":
            geo = {
                "la_code": ENGLAND_CODE,
                "old_la_code": None,
                "la_name": "England",
                "geographic_level": "national",
            }
        elif code.isdigit():
            m = lookup.la_by_code(code, file=file, line=line, field="la_code")
            geo = {
                "la_code": m.la_code,
                "old_la_code": m.old_la_code,
                "la_name": str(rec["name"]).strip() or m.la_name,
                "geographic_level": "la",
            }
        else:
            rcode, rname = lookup.region_by_name(code, file=file, line=line, field="la_code")
            geo = {
                "la_code": rcode,
                "old_la_code": None,
                "la_name": rname,
                "geographic_level": "regional",
            }
        out.append({**{str(k): v for k, v in rec.items()}, **geo})
    if dropped:
        notes.append(f"{file}: LA-type subtotal rows dropped: {sorted(dropped)}")
    return pd.DataFrame(out)


def _tidy(wide: pd.DataFrame, *, file: str) -> pd.DataFrame:
    """Wide frame (geography, year, _line, the ten value columns as text) -> tidy rows."""
    frames = []
    for col, (measure, stage) in CSV_COLUMNS.items():
        values, reasons = parse_series(wide[col], wide["_line"], file=file, field=col, unit="gbp")
        frames.append(
            pd.DataFrame(
                {
                    "la_code": wide["la_code"],
                    "old_la_code": wide["old_la_code"],
                    "la_name": wide["la_name"],
                    "geographic_level": wide["geographic_level"],
                    "measure": measure,
                    "breakdown_topic": "stage",
                    "breakdown": stage,
                    "period_type": "financial_year",
                    "year": wide["year"].astype("int64"),
                    "period": wide["year"].map(year_label),
                    "value": values * wide["scale"].to_numpy(dtype="float64"),
                    "missing_reason": reasons,
                    "unit": "gbp",
                    "line": wide["_line"].astype("int64"),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    # £ million * 1e6 leaves float noise; allocations are published to the penny at most
    out["value"] = out["value"].round(2)
    return out


def read_csv(path: Path, lookup: LaLookup, notes: list[str]) -> pd.DataFrame:
    """Tidy rows from the derived CSV (all £). Returns the validated observation table."""
    name = path.name
    df = read_published_csv(path, required=["financial_year", "la_code", "la_name", *CSV_COLUMNS])
    if df.empty:
        raise IngestError(name, "no data rows", line=2)
    df["year"] = [
        financial_year_start(v, file=name, line=int(ln), field="financial_year")
        for v, ln in zip(df["financial_year"], df["_line"], strict=True)
    ]
    df["code"] = df["la_code"]
    df["name"] = df["la_name"]
    df["scale"] = 1.0
    wide = _geography(df, lookup, file=name, notes=notes)
    return finish(_tidy(wide, file=name), source=SOURCE, release=RELEASE, file=name)


# Bounds checked before an .ods is parsed (odfpy holds the whole document in memory and pandas
# expands repeated cells): the published summary is 1.5 MB of XML and about 30,000 cells.
MAX_ODS_XML_BYTES = 25_000_000
MAX_ODS_CELLS = 2_000_000
_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"


def ods_cells(path: Path) -> int:
    """Return how many cells pandas would build from the .ods at ``path``, read in a stream.

    Counts as pandas' ODF reader does (repeated rows and columns expanded, trailing empty ones
    not): rows with content, and the empty rows between them, times the widest row. Raises
    IngestError, before any parsing, for a file that is not a zip, a damaged one, or one whose
    content is over :data:`MAX_ODS_XML_BYTES` or :data:`MAX_ODS_CELLS` (a zip bomb).
    """
    import xml.etree.ElementTree as ET
    import zipfile
    import zlib

    name = path.name
    row_tag, cell_tags = (
        f"{{{_TABLE_NS}}}table-row",
        {f"{{{_TABLE_NS}}}table-cell", f"{{{_TABLE_NS}}}covered-table-cell"},
    )
    table_tag = f"{{{_TABLE_NS}}}table"
    rep_col, rep_row = f"{{{_TABLE_NS}}}number-columns-repeated", f"{{{_TABLE_NS}}}number-rows-repeated"
    value_type = f"{{{_OFFICE_NS}}}value-type"
    total = 0
    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo("content.xml")
            if info.file_size > MAX_ODS_XML_BYTES:
                raise IngestError(name, f"content unpacks to {info.file_size:,} bytes, over {MAX_ODS_XML_BYTES:,}")
            rows = pending = width = 0
            with zf.open(info) as fh:
                for event, el in ET.iterparse(fh, events=("start", "end")):
                    if event == "start" and el.tag == table_tag:
                        rows = pending = width = 0
                    if event != "end":
                        continue
                    if el.tag == row_tag:
                        used = filled = 0
                        for c in el:
                            if c.tag not in cell_tags:
                                continue
                            used += int(c.get(rep_col, "1"))
                            if c.get(value_type) is not None or "".join(c.itertext()).strip():
                                filled = used
                        repeat = int(el.get(rep_row, "1"))
                        if filled:
                            rows += pending + repeat
                            pending = 0
                            width = max(width, filled)
                        else:
                            pending += repeat
                        if (total + rows * width) > MAX_ODS_CELLS:
                            raise IngestError(name, f"spreadsheet expands to more than {MAX_ODS_CELLS:,} cells")
                        el.clear()
                    elif el.tag == table_tag:
                        total += rows * width
                        el.clear()
    except IngestError:
        raise
    except KeyError:
        raise IngestError(name, "not an .ods spreadsheet (no content.xml)") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, ET.ParseError, ValueError, OSError) as exc:
        raise IngestError(name, f"cannot read as an .ods spreadsheet: {exc}") from None
    return total


def read_summary_ods(path: Path, lookup: LaLookup, notes: list[str]) -> pd.DataFrame:
    """Tidy rows from the published allocation summary .ods (one sheet per year).

    Each ``Allocations_YYZZ`` sheet has a title row, a header row (C..L: the five blocks before
    then after recoupment), a column-letter row, a formula row, then one row per area. ``line``
    is the 1-based row in the sheet (file is reported as ``name.ods[sheet]`` in errors).
    Returns the validated observation table.
    """
    name = path.name
    ods_cells(path)  # bounds the memory before odfpy parses the document
    try:
        sheets = pd.read_excel(path, engine="odf", sheet_name=None, header=None, dtype=object)
    except Exception as exc:  # odfpy raises many types for a damaged file
        raise IngestError(name, f"cannot read as an .ods spreadsheet: {exc.__class__.__name__} {exc}") from None
    wanted = {s: d for s, d in sheets.items() if re.fullmatch(r"Allocations_\d{4}", str(s))}
    if not wanted:
        raise IngestError(name, f"no Allocations_YYZZ sheets; found {list(sheets)[:10]}")
    frames = []
    for sheet, d in wanted.items():
        where = f"{name}[{sheet}]"
        if d.shape[1] < 12 or d.shape[0] < 6:
            raise IngestError(where, f"sheet has shape {d.shape}, expected >= 6 rows x 12 columns")
        header = [str(v).lower() for v in d.iloc[1, 2:12]]
        for i, (word, cell) in enumerate(zip(_ODS_HEADER_WORDS, header, strict=True)):
            if word.replace(" ", "") not in cell.replace(" ", ""):
                col = chr(ord("C") + i)
                raise IngestError(where, f"header {cell[:60]!r} does not mention {word!r}", line=2, field=col)
        scale = 1e6 if all("million" in h for h in header) else 1.0
        if scale == 1.0 and any("million" in h for h in header):
            raise IngestError(where, "some columns in £ million and some in £", line=2)
        title = str(d.iloc[0, 0])
        m = re.search(r"(\d{4})(?: to |-)(\d{2,4})", title)
        if not m:
            raise IngestError(where, f"title {title[:60]!r} names no financial year", line=1)
        year = financial_year_start(f"{m.group(1)}-{m.group(2)[-2:]}", file=where, line=1, field="A")
        if f"{year % 100:02d}{(year + 1) % 100:02d}" != str(sheet)[-4:]:
            raise IngestError(where, f"title says {year_label(year)} but the sheet name does not", line=1)
        body = d.iloc[4:, :12].copy()
        body["_line"] = np.arange(5, 5 + len(body))
        body = body[body[0].notna() & (body[0].astype(str).str.strip() != "")]
        wide = pd.DataFrame(
            {
                "code": body[0].map(lambda v: str(int(v)) if isinstance(v, int | float) else str(v)),
                "name": body[1].map(lambda v: "" if pd.isna(v) else str(v)),
                "_line": body["_line"],
                "year": year,
                "scale": scale,
            }
        )
        for j, col in enumerate(CSV_COLUMNS):
            wide[col] = body[2 + j].map(lambda v: "" if pd.isna(v) else repr(v) if isinstance(v, float) else str(v))
        wide = _geography(wide.reset_index(drop=True), lookup, file=where, notes=notes)
        frames.append(_tidy(wide, file=where))
    tidy = concat_observations(frames)
    return finish(tidy, source=SOURCE, release=RELEASE, file=name)


def load(folder: Path, *, lookup_file: Path | None = None) -> ImportResult:
    """Import the DSG allocations from a release folder.

    Uses the published summary .ods when present, else the derived CSV. Returns an
    :class:`ImportResult` whose observations are the ten allocation measures per area per
    financial year (unit gbp); no reference tables.
    """
    folder = Path(folder)
    lookup = LaLookup(lookup_path(folder, lookup_file))
    notes: list[str] = []
    ods, csv = folder / ODS_NAME, folder / CSV_NAME
    if ods.is_file():
        obs = read_summary_ods(ods, lookup, notes)
        files = [ods]
    elif csv.is_file():
        obs = read_csv(csv, lookup, notes)
        files = [csv]
        notes.append(f"{CSV_NAME}: derived CSV used because {ODS_NAME} is absent")
    else:
        raise IngestError(folder, f"neither {ODS_NAME} nor {CSV_NAME} found")
    notes.append(
        "high_needs_block after_deductions is net of ESFA direct funding of high needs places; "
        "other blocks' after_recoupment is net of academy recoupment (and NNDR from 2021-22)"
    )
    return ImportResult(SOURCE, RELEASE, obs, {}, [*files, lookup.path], notes)

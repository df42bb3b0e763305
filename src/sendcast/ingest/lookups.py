"""Importer for the local-authority code lookups (DfE 3-digit codes, ONS codes, regions, aliases).

Produces no observations, only the reference table ``la_lookup`` (see :func:`load`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from sendcast.ingest import ImportResult
from sendcast.ingest.common import IngestError, empty_observations, read_published_csv

SOURCE = "la-lookups"
RELEASE = "2025"

DFE_CODES_FILE = "dfe_la_codes_from_ehcp_2025.csv"
ALIASES_FILE = "dfe_to_ons_code_aliases.csv"
LAIT_LIST_FILE = "lait_la_code_list.csv"

LA_LOOKUP_COLUMNS = [
    "la_code",
    "old_la_code",
    "la_name",
    "region_code",
    "region_name",
    "first_year",
    "last_year",
    "is_current",
    "ons_alias_code",
    "la_type",
]


def detect(folder: Path) -> bool:
    """True when ``folder`` holds the DfE LA code list this importer reads."""
    return (Path(folder) / DFE_CODES_FILE).is_file()


def old_code(raw: str, *, file: str | Path, line: int, field: str) -> str:
    """Normalise a DfE 3-digit LA code as published (``"926"``, ``"926.0"``) to ``"926"``."""
    text = str(raw).strip()
    if text.endswith(".0"):
        text = text[:-2]
    if not text.isdigit() or len(text) != 3:
        raise IngestError(file, f"{raw!r} is not a 3-digit DfE LA code", line=line, field=field)
    return text


def _academic_start(raw: str, *, file: Path, line: int, field: str) -> int:
    """``201819`` -> 2018 (the academic year starting September 2018)."""
    text = str(raw).strip()
    if len(text) != 6 or not text.isdigit() or int(text[4:]) != (int(text[:4]) + 1) % 100:
        raise IngestError(file, f"{raw!r} is not an academic year like 201819", line=line, field=field)
    return int(text[:4])


def read_la_lookup(folder: Path) -> pd.DataFrame:
    """Return the ``la_lookup`` table (columns :data:`LA_LOOKUP_COLUMNS`), one row per code pair.

    ``first_year``/``last_year`` are the first and last academic years (start year, so 2018 is
    2018/19) in which DfE's EHCP caseload file used the code; ``is_current`` marks codes used
    in the latest year. ``ons_alias_code`` is the code ONS population files use for the same
    council where it differs; ``la_type`` comes from the LAIT list (UA, SC, MD, OLB, ILB).
    """
    folder = Path(folder)
    path = folder / DFE_CODES_FILE
    cols = [
        "old_la_code",
        "new_la_code",
        "la_name",
        "region_code",
        "region_name",
        "first_time_period",
        "last_time_period",
    ]
    df = read_published_csv(path, required=cols)
    if df.empty:
        raise IngestError(path, "no rows")
    rows = []
    for rec in df.to_dict("records"):
        line = int(rec["_line"])
        code = rec["new_la_code"].strip()
        if not code.startswith("E") or len(code) != 9:
            raise IngestError(path, f"{code!r} is not an ONS code", line=line, field="new_la_code")
        rows.append(
            {
                "la_code": code,
                "old_la_code": old_code(rec["old_la_code"], file=path, line=line, field="old_la_code"),
                "la_name": rec["la_name"].strip(),
                "region_code": rec["region_code"].strip(),
                "region_name": rec["region_name"].strip(),
                "first_year": _academic_start(
                    rec["first_time_period"], file=path, line=line, field="first_time_period"
                ),
                "last_year": _academic_start(rec["last_time_period"], file=path, line=line, field="last_time_period"),
            }
        )
    out = pd.DataFrame(rows)
    out["is_current"] = out["last_year"] == out["last_year"].max()
    out["ons_alias_code"] = None
    alias_path = folder / ALIASES_FILE
    if alias_path.is_file():
        al = read_published_csv(alias_path, required=["old_la_code", "dfe_new_la_code", "ons_code_current"])
        for rec in al.to_dict("records"):
            mask = out["la_code"] == rec["dfe_new_la_code"].strip()
            if not mask.any():
                raise IngestError(
                    alias_path,
                    f"{rec['dfe_new_la_code']!r} not in {DFE_CODES_FILE}",
                    line=int(rec["_line"]),
                    field="dfe_new_la_code",
                )
            out.loc[mask, "ons_alias_code"] = rec["ons_code_current"].strip()
    out["la_type"] = None
    lait_path = folder / LAIT_LIST_FILE
    if lait_path.is_file():
        lt = read_published_csv(lait_path, required=["LA Number", "Type"])
        types = {
            old_code(r["LA Number"], file=lait_path, line=int(r["_line"]), field="LA Number"): r["Type"].strip()
            for r in lt.to_dict("records")
            if re.fullmatch(r"\d{3}(\.0)?", str(r["LA Number"]).strip())
        }
        out["la_type"] = out["old_la_code"].map(types)
    return out[LA_LOOKUP_COLUMNS].sort_values(["old_la_code", "la_code"]).reset_index(drop=True)


def load(folder: Path) -> ImportResult:
    """Return an :class:`ImportResult` with no observations and the ``la_lookup`` table."""
    folder = Path(folder)
    table = read_la_lookup(folder)
    files = [folder / f for f in (DFE_CODES_FILE, ALIASES_FILE, LAIT_LIST_FILE) if (folder / f).is_file()]
    return ImportResult(
        source=SOURCE,
        release=RELEASE,
        observations=empty_observations(),
        tables={"la_lookup": table},
        files=files,
        notes=[f"{int(table['is_current'].sum())} current LA codes, {len(table)} rows"],
    )

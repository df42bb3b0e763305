"""Importer for DfE children's services statistical neighbours (editions 2021 and 2025).

Produces no observations, only the reference table ``statistical_neighbours``: edition,
la_code, old_la_code, rank 1-10, neighbour_la_code, neighbour_old_la_code, closeness. The
published file gives DfE 3-digit codes only; ONS codes are added from the LA lookup in the
sibling ``la-lookups`` folder when present (else left empty).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sendcast.ingest import ImportResult
from sendcast.ingest.common import IngestError, empty_observations, read_published_csv
from sendcast.ingest.lookups import detect as lookups_detect
from sendcast.ingest.lookups import old_code, read_la_lookup

SOURCE = "dfe-statistical-neighbours"
FILE = "statistical_neighbours_long.csv"
REQUIRED = ["sn_edition", "la_number", "la_name", "rank", "neighbour_la_number", "closeness"]
COLUMNS = [
    "edition",
    "la_code",
    "old_la_code",
    "la_name",
    "rank",
    "neighbour_la_code",
    "neighbour_old_la_code",
    "neighbour_la_name",
    "closeness",
]


def detect(folder: Path) -> bool:
    """True when ``folder`` holds the long statistical neighbours file."""
    return (Path(folder) / FILE).is_file()


def code_map(la_lookup: pd.DataFrame) -> dict[str, str]:
    """DfE 3-digit code -> the ONS code DfE uses for it (the latest code when there are two)."""
    lk = la_lookup.sort_values(["is_current", "last_year"])
    return dict(zip(lk["old_la_code"], lk["la_code"], strict=True))


def read_neighbours(path: Path, la_lookup: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the ``statistical_neighbours`` table (columns :data:`COLUMNS`)."""
    df = read_published_csv(path, required=REQUIRED)
    if df.empty:
        raise IngestError(path, "file has a header but no rows", line=2)
    rows = []
    for rec in df.to_dict("records"):
        line = int(rec["_line"])
        edition = rec["sn_edition"].strip()
        if edition not in ("2021", "2025"):
            raise IngestError(path, f"unknown edition {edition!r}", line=line, field="sn_edition")
        rank = rec["rank"].strip()
        if not rank.isdigit() or not 1 <= int(rank) <= 10:
            raise IngestError(path, f"rank {rank!r} is not 1-10", line=line, field="rank")
        own = old_code(rec["la_number"], file=path, line=line, field="la_number")
        neighbour = old_code(rec["neighbour_la_number"], file=path, line=line, field="neighbour_la_number")
        if neighbour == own:
            raise IngestError(path, f"LA {own} is listed as its own neighbour", line=line, field="neighbour_la_number")
        rows.append(
            {
                "edition": int(edition),
                "old_la_code": own,
                "la_name": rec["la_name"].strip(),
                "rank": int(rank),
                "neighbour_old_la_code": neighbour,
                "neighbour_la_name": rec.get("neighbour_la_name", "").strip(),
                "closeness": " ".join(rec["closeness"].split()).capitalize(),
            }
        )
    out = pd.DataFrame(rows)
    dup = out.duplicated(["edition", "old_la_code", "rank"])
    if dup.any():
        r = df[dup.to_numpy()].iloc[0]
        raise IngestError(path, "rank repeated for the same LA and edition", line=int(r["_line"]), field="rank")
    cmap = code_map(la_lookup) if la_lookup is not None else {}
    out["la_code"] = out["old_la_code"].map(cmap)
    out["neighbour_la_code"] = out["neighbour_old_la_code"].map(cmap)
    out = out.astype({"la_code": object, "neighbour_la_code": object})
    for col in ("la_code", "neighbour_la_code"):
        out[col] = [c if isinstance(c, str) else None for c in out[col]]
    return out[COLUMNS].sort_values(["edition", "old_la_code", "rank"]).reset_index(drop=True)


def load(folder: Path) -> ImportResult:
    """Return an :class:`ImportResult`: no observations, the ``statistical_neighbours`` table."""
    folder = Path(folder)
    lookup_dir = folder.parent / "la-lookups"
    la_lookup = read_la_lookup(lookup_dir) if lookups_detect(lookup_dir) else None
    table = read_neighbours(folder / FILE, la_lookup)
    notes = [f"editions {sorted(table['edition'].unique().tolist())}, {len(table)} rows"]
    if la_lookup is None:
        notes.append("no la-lookups folder next to this one: ONS codes left empty")
    else:
        unmapped = sorted(set(table.loc[table["neighbour_la_code"].isna(), "neighbour_old_la_code"]))
        if unmapped:
            notes.append(f"DfE codes with no ONS code in the lookup: {unmapped}")
    return ImportResult(
        source=SOURCE,
        release="2025",
        observations=empty_observations(),
        tables={"statistical_neighbours": table},
        files=[folder / FILE],
        notes=notes,
    )

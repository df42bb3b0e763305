"""DSG "safety valve" agreements (DfE very high deficit intervention): which councils, when.

Reads ``safety_valve_agreements_partial.csv`` (hand-transcribed from gov.uk; PARTIAL: six of
the twenty 2022-23 agreements and all amounts are missing). Produces no observations, only the
reference table ``safety_valve_agreements``: ``la_code`` (ONS), ``old_la_code``, ``la_name``,
``agreement_financial_year`` (int, the April the financial year starts),
``agreement_period`` ('2022-23'), ``evidence``, ``caveat``, ``file``, ``line``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sendcast.ingest import ImportResult
from sendcast.ingest.common import IngestError, empty_observations, read_published_csv
from sendcast.ingest.dsg import LaLookup, financial_year_start, lookup_path, year_label

SOURCE = "safety-valve-agreements"
RELEASE = "partial"
CSV_NAME = "safety_valve_agreements_partial.csv"
CAVEAT = (
    "partial list hand-transcribed from gov.uk: 6 of the 20 2022-23 agreements (after "
    "'Norfolk' alphabetically) are missing; amounts and revisions not captured"
)


def detect(folder: Path) -> bool:
    """True when the folder holds the safety valve agreements CSV."""
    return (Path(folder) / CSV_NAME).is_file()


def read(path: Path, lookup: LaLookup) -> pd.DataFrame:
    """The ``safety_valve_agreements`` table (see the module docstring); IngestError naming
    file/line/field for an unknown council, a bad year or a council listed twice."""
    name = path.name
    df = read_published_csv(path, required=["la_name", "agreement_financial_year", "evidence"])
    if df.empty:
        raise IngestError(name, "no data rows", line=2)
    rows = []
    seen: dict[str, int] = {}
    for rec in df.to_dict("records"):
        line = int(rec["_line"])
        m = lookup.la_by_name(rec["la_name"], file=name, line=line, field="la_name")
        if m.la_code in seen:
            raise IngestError(
                name,
                f"{m.la_name} listed twice (first on line {seen[m.la_code]})",
                line=line,
                field="la_name",
            )
        seen[m.la_code] = line
        year = financial_year_start(
            rec["agreement_financial_year"], file=name, line=line, field="agreement_financial_year"
        )
        rows.append(
            {
                "la_code": m.la_code,
                "old_la_code": m.old_la_code,
                "la_name": str(rec["la_name"]).strip(),
                "agreement_financial_year": year,
                "agreement_period": year_label(year),
                "evidence": str(rec["evidence"]).strip(),
                "caveat": CAVEAT,
                "file": name,
                "line": line,
            }
        )
    out = pd.DataFrame(rows)
    out["agreement_financial_year"] = out["agreement_financial_year"].astype("int64")
    return out


def load(folder: Path, *, lookup_file: Path | None = None) -> ImportResult:
    """Import the safety valve list. Returns an :class:`ImportResult` with empty observations
    and the reference table ``safety_valve_agreements``."""
    folder = Path(folder)
    lookup = LaLookup(lookup_path(folder, lookup_file))
    path = folder / CSV_NAME
    table = read(path, lookup)
    return ImportResult(
        SOURCE,
        RELEASE,
        empty_observations(),
        {"safety_valve_agreements": table},
        [path, lookup.path],
        [CAVEAT],
    )

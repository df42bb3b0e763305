"""High needs benchmarking data 2021-22 (ESFA/DfE): section 251 high-needs budget and outturn
lines, EHCP placements and the 2-18 population, per council.

Reads ``high_needs_benchmarking_2021-22_by_la.csv`` (columns copied from the data sheet of
``Outturn data 202122.xlsx``; 154 councils, no England or region rows) and returns:

- ``s251_budget`` and ``s251_outturn`` (unit ``gbp``, ``financial_year`` 2021, ``2021-22``),
  ``breakdown_topic`` ``line``, ``breakdown`` the s251 line in snake case
  (``place_funding_total``, ``place_special``, ``topup_maintained_primary``,
  ``topup_nmss_independent_total``, ``sen_support_inclusion_services``,
  ``alternative_provision_services``, ``hospital_education_services``,
  ``therapies_health_services`` ...);
- ``ehcp_placed`` (unit ``plans``, ``january`` 2021): ``breakdown_topic`` ``placement``
  (``mainstream``, ``resourced_provision_sen_unit``, ``maintained_special``,
  ``nmss_independent``, ``hospital_ap``, ``post16``, ``other``) plus ``total``/``total``
  (all 0-25s with a statement or EHC plan);
- ``population_2_18`` (unit ``persons``, ``mid_year`` 2021; an ONS projection, so not whole).

Caveat (PROVENANCE): one header cell in the sheet says 2020-21; the file name and the DfE
dashboard treat the outturn as 2021-22, and so does this importer.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sendcast.ingest import ImportResult
from sendcast.ingest.common import IngestError, finish, read_published_csv
from sendcast.ingest.dsg import LaLookup, lookup_path, parse_series

SOURCE = "high-needs-benchmarking"
RELEASE = "2021-22"
CSV_NAME = "high_needs_benchmarking_2021-22_by_la.csv"
YEAR = 2021

PLACEMENTS = [
    "mainstream",
    "resourced_provision_sen_unit",
    "maintained_special",
    "nmss_independent",
    "hospital_ap",
    "post16",
    "other",
]
S251_LINES = [
    "place_funding_total",
    "place_early_years",
    "place_primary",
    "place_secondary",
    "place_special",
    "place_pru_ap",
    "place_post_school",
    "topup_maintained_total",
    "topup_maintained_early_years",
    "topup_maintained_primary",
    "topup_maintained_secondary",
    "topup_maintained_special",
    "topup_maintained_pru_ap",
    "topup_maintained_post_school",
    "topup_maintained_income",
    "topup_nmss_independent_total",
    "topup_nmss_independent_early_years",
    "topup_nmss_independent_primary",
    "topup_nmss_independent_secondary",
    "topup_nmss_independent_special",
    "topup_nmss_independent_pru_ap",
    "topup_nmss_independent_post_school",
    "topup_nmss_independent_income",
    "sen_support_inclusion_services",
    "alternative_provision_services",
    "hospital_education_services",
    "therapies_health_services",
]

# published column -> (measure, breakdown_topic, breakdown, unit, period_type, period)
COLUMNS: dict[str, tuple[str, str, str, str, str, str]] = {
    "pop_2_18_ons_mid2021_projection": (
        "population_2_18",
        "total",
        "total",
        "persons",
        "mid_year",
        f"mid-{YEAR}",
    ),
    "ehcp_0_25_total": ("ehcp_placed", "total", "total", "plans", "january", f"{YEAR}-01"),
    **{f"ehcp_placed_{p}": ("ehcp_placed", "placement", p, "plans", "january", f"{YEAR}-01") for p in PLACEMENTS},
    **{
        f"s251_{kind}_{line}": (
            f"s251_{kind}",
            "line",
            line,
            "gbp",
            "financial_year",
            f"{YEAR}-{(YEAR + 1) % 100:02d}",
        )
        for kind in ("budget", "outturn")
        for line in S251_LINES
    },
}


def detect(folder: Path) -> bool:
    """True when the folder holds the high needs benchmarking 2021-22 CSV."""
    return (Path(folder) / CSV_NAME).is_file()


def read(path: Path, lookup: LaLookup) -> pd.DataFrame:
    """The validated tidy observation table from the benchmarking CSV.

    Councils are keyed by the DfE three-digit ``la_code`` and mapped to ONS codes; an unknown
    code, a missing column or a cell that is neither a number nor a marker raises IngestError.
    """
    name = path.name
    df = read_published_csv(path, required=["la_code", "la_name", *COLUMNS])
    if df.empty:
        raise IngestError(name, "no data rows", line=2)
    matches = [
        lookup.la_by_code(c, file=name, line=int(ln), field="la_code")
        for c, ln in zip(df["la_code"], df["_line"], strict=True)
    ]
    geo = pd.DataFrame(
        {
            "la_code": [m.la_code for m in matches],
            "old_la_code": [m.old_la_code for m in matches],
            "la_name": df["la_name"].str.strip().to_numpy(),
            "geographic_level": "la",
        }
    )
    frames = []
    for col, (measure, topic, breakdown, unit, ptype, period) in COLUMNS.items():
        values, reasons = parse_series(df[col], df["_line"], file=name, field=col, unit=unit)
        part = geo.copy()
        part["measure"] = measure
        part["breakdown_topic"] = topic
        part["breakdown"] = breakdown
        part["period_type"] = ptype
        part["year"] = YEAR
        part["period"] = period
        part["value"] = values
        part["missing_reason"] = reasons
        part["unit"] = unit
        part["line"] = df["_line"].to_numpy()
        frames.append(part)
    return finish(pd.concat(frames, ignore_index=True), source=SOURCE, release=RELEASE, file=name)


def load(folder: Path, *, lookup_file: Path | None = None) -> ImportResult:
    """Import the high needs benchmarking 2021-22 release folder.

    Returns an :class:`ImportResult` with the s251 budget/outturn lines (gbp, 2021-22), EHCP
    placements (plans, January 2021) and the 2-18 population (persons, mid-2021); no tables.
    """
    folder = Path(folder)
    lookup = LaLookup(lookup_path(folder, lookup_file))
    path = folder / CSV_NAME
    obs = read(path, lookup)
    notes = [
        "outturn treated as 2021-22 although one header cell in the source sheet says 2020-21",
        "blank cells are kept as missing ('blank in source'), not 0",
        "read from the derived CSV; the original 'Outturn data 202122.xlsx' is not parsed",
    ]
    return ImportResult(SOURCE, RELEASE, obs, {}, [path, lookup.path], notes)

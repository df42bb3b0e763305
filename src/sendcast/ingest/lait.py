"""Importer for DfE's Local Authority Interactive Tool (LAIT) SEND, attainment and finance subset.

Reads ``lait_send_education_finance_indicators_long.csv`` (measure_code, year_label, area_name,
la_number, region, value) with ``lait_send_measures_lookup.csv`` and the data dictionary
``lait_data_dictionary.csv``. Returns observations (source ``dfe-lait``) and the table
``lait_measures`` (measure_code, measure, label, topic, year_type, unit).

Year labels follow the dictionary's ``Year_Type``:

- ``Financial Year``: ``2024-25 (OT)`` -> financial_year 2024 (``2024-25``); a bare ``2024``
  is read as the financial year *ending* in 2024 (2023-24) - used by the 16-17 participation
  measure, which DfE measures at the end of the financial year;
- ``Academic Year``: ``2024`` -> academic_year 2023 (``2023-24``, results/census of summer or
  January 2024); ``2023/24`` -> academic_year 2023;
- ``Calendar Year``: ``2023`` -> calendar_year 2023;
- ``Annual - January``: ``2024`` -> january 2024.

LA rows are keyed by the DfE 3-digit number and mapped to ONS codes with the LA lookup (the
sibling ``la-lookups`` folder); England (970) and regions (980-990, incl. Inner/Outer London)
get their ONS codes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from sendcast.ingest import ImportResult
from sendcast.ingest.common import IngestError, finish, read_published_csv
from sendcast.ingest.lookups import detect as lookups_detect
from sendcast.ingest.lookups import old_code, read_la_lookup
from sendcast.ingest.neighbours import code_map
from sendcast.ingest.population_mye import parse_values

SOURCE = "dfe-lait"
FILE = "lait_send_education_finance_indicators_long.csv"
LOOKUP_FILE = "lait_send_measures_lookup.csv"
DICTIONARY_FILE = "lait_data_dictionary.csv"
REQUIRED = ["measure_code", "year_label", "area_name", "la_number", "region", "value"]

# England and regions as numbered in LAIT -> ONS codes.
AREA_CODES: dict[str, tuple[str, str, str]] = {
    "970": ("E92000001", "England", "national"),
    "980": ("E12000001", "North East", "regional"),
    "981": ("E12000002", "North West", "regional"),
    "982": ("E12000003", "Yorkshire and The Humber", "regional"),
    "983": ("E12000004", "East Midlands", "regional"),
    "984": ("E12000005", "West Midlands", "regional"),
    "985": ("E12000006", "East of England", "regional"),
    "986": ("E12000007", "London", "regional"),
    "987": ("E13000001", "Inner London", "regional"),
    "988": ("E13000002", "Outer London", "regional"),
    "989": ("E12000008", "South East", "regional"),
    "990": ("E12000009", "South West", "regional"),
}

# Domain names for the measures the model reads; every other code is snake-cased.
MEASURE_NAMES: dict[str, str] = {
    "SEN_TotStat": "pct_pupils_ehcp",
    "SEN_TotSENSuP": "pct_pupils_sen_support",
    "SEN_Stat_AVG_Attain8_Score": "ks4_attainment8_ehcp",
    "SEN_WoStat_AVG_Attain8_Score": "ks4_attainment8_sen_support",
    "SEN_NoID_AVG_Attain8_Score": "ks4_attainment8_no_sen",
    "SEN_Stat_AVG_Prog8_Score": "ks4_progress8_ehcp",
    "SEN_WoStat_AVG_Prog8_Score": "ks4_progress8_sen_support",
    "SEN_NoID_AVG_Prog8_Score": "ks4_progress8_no_sen",
    "AVG_Attain8_Score": "ks4_attainment8_all",
    "AVG_Prog8_Score": "ks4_progress8_all",
    "SENFinance": "s251_sen_unit_cost",
    "SEN_CASES_JAN": "ehcp_caseload_january",
    "SEN_INIT_REQ": "initial_requests",
    "SEN_EHC_All_20wks": "plans_within_20_weeks_pct",
    "SEN_EHC_Excpt_20wks": "plans_within_20_weeks_excl_exceptions_pct",
}

PERIOD_TYPES = {
    "Financial Year": "financial_year",
    "Academic Year": "academic_year",
    "Calendar Year": "calendar_year",
    "Annual - January": "january",
}


def detect(folder: Path) -> bool:
    """True when ``folder`` holds the LAIT SEND long file."""
    return (Path(folder) / FILE).is_file()


def snake_case(code: str) -> str:
    """``SEN_WoStat_AVG_Attain8_Score`` -> ``lait_sen_wo_stat_avg_attain8_score``.

    Prefixed ``lait_`` so a derived name never collides with a measure from another publication.
    """
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", code)
    s = re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").lower()
    s = re.sub(r"_+", "_", s)
    return "lait_" + s


def _unit(y_axis: str, label: str) -> str:
    text = f"{y_axis} {label}".lower()
    if "unit cost" in text or "weekly unit" in text:
        return "gbp_per_week"
    if "spend" in text or "(finance)" in text:
        return "gbp"
    if "score" in text:
        return "score"
    if "%" in text or "percent" in text or "rate" in text:
        return "percent"
    if "entries" in text:
        return "entries"
    if "number of requests" in text:
        return "requests"
    if "assessments" in text:
        return "assessments"
    if "plans" in text or "cases" in text:
        return "plans"
    return "number"


def read_measures(folder: Path) -> pd.DataFrame:
    """Return the ``lait_measures`` table: measure_code, measure, label, topic, year_type, unit."""
    lk = read_published_csv(folder / LOOKUP_FILE, required=["measure_code", "measure", "topic"])
    dd = pd.DataFrame(columns=["Measure_short", "y_axis_name", "Year_Type"])
    if (folder / DICTIONARY_FILE).is_file():
        dd = read_published_csv(folder / DICTIONARY_FILE, required=["Measure_short", "y_axis_name", "Year_Type"])
    dd = dd.drop_duplicates("Measure_short").set_index("Measure_short")
    rows = []
    for rec in lk.to_dict("records"):
        code = rec["measure_code"].strip()
        y_axis = str(dd["y_axis_name"].get(code, "") or "")
        year_type = str(dd["Year_Type"].get(code, "") or "")
        rows.append(
            {
                "measure_code": code,
                "measure": MEASURE_NAMES.get(code, snake_case(code)),
                "label": rec["measure"].strip(),
                "topic": rec["topic"].strip(),
                "year_type": year_type,
                "unit": _unit(y_axis, rec["measure"]),
            }
        )
    return pd.DataFrame(rows)


def parse_year(label: str, year_type: str, *, file: Path, line: int) -> tuple[str, int, str]:
    """Return ``(period_type, year, period)`` for a LAIT year label (rules: module docstring)."""
    text = label.strip()
    m_fy = re.fullmatch(r"(\d{4})-(\d{2})(?:\s*\((?:OT|BE|[A-Z]+)\))?", text)
    m_ay = re.fullmatch(r"(\d{4})/(\d{2})", text)
    m_y = re.fullmatch(r"\d{4}", text)
    if m_fy or m_ay:
        m = m_fy or m_ay
        assert m is not None
        start = int(m.group(1))
        if int(m.group(2)) != (start + 1) % 100:
            raise IngestError(file, f"year label {label!r} does not span two years", line=line, field="year_label")
        kind = "financial_year" if (m_fy and year_type != "Academic Year") else "academic_year"
        return kind, start, f"{start}-{(start + 1) % 100:02d}"
    if m_y:
        y = int(text)
        kind = PERIOD_TYPES.get(year_type, "")
        if kind == "calendar_year":
            return kind, y, str(y)
        if kind == "january":
            return kind, y, f"{y}-01"
        if kind in ("academic_year", "financial_year"):
            return kind, y - 1, f"{y - 1}-{y % 100:02d}"
        raise IngestError(
            file,
            f"year label {label!r} with unknown Year_Type {year_type!r}",
            line=line,
            field="year_label",
        )
    raise IngestError(file, f"unrecognised year label {label!r}", line=line, field="year_label")


def read_lait(folder: Path, measures: pd.DataFrame, la_codes: dict[str, str]) -> pd.DataFrame:
    """Return tidy LAIT observations (before ``finish``)."""
    path = folder / FILE
    df = read_published_csv(path, required=REQUIRED)
    if df.empty:
        raise IngestError(path, "file has a header but no rows", line=2)
    mt = measures.set_index("measure_code")
    unknown = ~df["measure_code"].isin(mt.index)
    if unknown.any():
        r = df[unknown].iloc[0]
        raise IngestError(
            path,
            f"measure code {r['measure_code']!r} not in {LOOKUP_FILE}",
            line=int(r["_line"]),
            field="measure_code",
        )
    df["value_num"], df["missing_reason"] = parse_values(df, "value", file=path)
    periods: dict[tuple[str, str], tuple[str, int, str]] = {}
    rows = []
    for rec in df.to_dict("records"):
        line = int(rec["_line"])
        code = rec["measure_code"]
        key = (str(rec["year_label"]), str(mt.at[code, "year_type"]))
        if key not in periods:
            periods[key] = parse_year(key[0], key[1], file=path, line=line)
        period_type, year, period = periods[key]
        num = old_code(rec["la_number"], file=path, line=line, field="la_number")
        if num in AREA_CODES:
            la_code, la_name, level = AREA_CODES[num]
            old = None
        else:
            la_code, la_name, level, old = (
                la_codes.get(num, f"DFE_{num}"),
                rec["area_name"].strip(),
                "la",
                num,
            )
        rows.append(
            (
                la_code,
                old,
                la_name,
                level,
                mt.at[code, "measure"],
                period_type,
                year,
                period,
                rec["value_num"],
                rec["missing_reason"],
                mt.at[code, "unit"],
                line,
            )
        )
    out = pd.DataFrame(
        rows,
        columns=[
            "la_code",
            "old_la_code",
            "la_name",
            "geographic_level",
            "measure",
            "period_type",
            "year",
            "period",
            "value",
            "missing_reason",
            "unit",
            "line",
        ],
    )
    out["breakdown_topic"] = "total"
    out["breakdown"] = "total"
    return out


def load(folder: Path) -> ImportResult:
    """Return LAIT observations (source ``dfe-lait``) and the ``lait_measures`` table.

    LA numbers with no ONS code in the lookup keep a placeholder ``DFE_<number>`` code and
    are listed in ``notes``.
    """
    folder = Path(folder)
    measures = read_measures(folder)
    lookup_dir = folder.parent / "la-lookups"
    la_codes = code_map(read_la_lookup(lookup_dir)) if lookups_detect(lookup_dir) else {}
    obs = finish(read_lait(folder, measures, la_codes), source=SOURCE, release="2026-04", file=folder / FILE)
    notes = [f"{obs['measure'].nunique()} measures with data, {len(measures)} in the lookup"]
    placeholders = sorted(obs.loc[obs["la_code"].str.startswith("DFE_"), "old_la_code"].unique())
    if placeholders:
        notes.append(f"LA numbers without an ONS code: {placeholders}")
    files = [folder / f for f in (FILE, LOOKUP_FILE, DICTIONARY_FILE) if (folder / f).is_file()]
    return ImportResult(
        source=SOURCE,
        release="2026-04",
        observations=obs,
        tables={"lait_measures": measures},
        files=files,
        notes=notes,
    )

"""Importer for DfE *Education, health and care plans*, reporting year 2022 (aggregate SEN2).

The old LA-aggregate collection: statements and EHC plans by age band and establishment type
(January 2010-2022), new plans (calendar years 2009-2021) and management information
(``sen2_mi.csv``, calendar years 2014-2021). Measures use the same names as the 2025 release
(:mod:`sendcast.ingest.ehcp_2025`) so that the store can let the later release win where both
cover a period.

Choices (see the release's data guidance):

- ``time_period`` ``2022`` of a caseload file is the count at **January 2022**; in the new-plans
  and MI files it is the **calendar year**.
- ``Total_all`` (statements + EHC plans) is ``ehcp_caseload``/``new_plans``; the split goes to
  breakdown topic ``plan_type`` (``ehcp`` / ``statement``), crossed with the row's breakdown.
- The grand total is taken from the age files; the establishment files' ``Total``/``Total`` row
  (the same number) is skipped so the total is not stored twice.
- ``NewallEHC`` (assessed and a plan issued) is ``assessments_issued`` (the 2025 release's
  ``assess_issued``, equal to its ``new_ehc_plans``); ``new_plans`` totals come from
  ``sen2_age_new_plans.csv`` so one number is not stored under one key twice.
- Discontinued plans ``Dis*EHC`` are ``ceased_plans`` by ``reason`` (statements:
  ``ceased_statements``); the old reason categories only partly match the 2025 ones
  (``transfer`` and ``needs_met`` do).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from sendcast.ingest import ImportResult
from sendcast.ingest.common import IngestError, concat_observations, raise_at_first, read_published_csv
from sendcast.ingest.sen2 import Spec, data_dir, la_region_table, load_la_lookup, simple_spec, snake, tidy_file

SOURCE = "ehcp-statistics"
RELEASE = "2022"

GEO_COLUMNS = [
    "time_period",
    "geographic_level",
    "country_code",
    "region_code",
    "region_name",
    "old_la_code",
    "new_la_code",
    "la_name",
]

AGE_BANDS = {
    "total": ("total", "total"),
    "under 5": ("age_band", "under_5"),
    "age 5 to 10": ("age_band", "5_10"),
    "age 11 to 15": ("age_band", "11_15"),
    "age 16 to 19": ("age_band", "16_19"),
    "age 20 to 25": ("age_band", "20_25"),
}


def _plan_type_spec(prefix: str, measure: str) -> Spec:
    """``Total_all`` -> measure; ``Total_ehc``/``Total_st`` -> plan_type split; ``_pc`` -> pct."""
    return {
        f"{prefix}_all": (measure, "*", "*", "plans"),
        f"{prefix}_ehc": (measure, "*|plan_type", "ehcp", "plans"),
        f"{prefix}_st": (measure, "*|plan_type", "statement", "plans"),
        f"{prefix}_all_pc": (f"{measure}_pct", "*", "*", "percent"),
        f"{prefix}_ehc_pc": (f"{measure}_pct", "*|plan_type", "ehcp", "percent"),
        f"{prefix}_st_pc": (f"{measure}_pct", "*|plan_type", "statement", "percent"),
    }


def _totals(unit: str, columns: Mapping[str, str]) -> Spec:
    """Columns each naming their own measure on a file with one row per area and period."""
    return simple_spec(columns, unit, topic="total", breakdown="total")


def _ceased_spec() -> Spec:
    """Discontinued plans (``Dis*EHC``) and statements (``Dis*``) by reason."""
    reasons = {
        "lea": "transfer",
        "met": "needs_met",
        "left": "left_school_sen2_aggregate",
        "oth": "other_sen2_aggregate",
    }
    return {
        f"Dis{code}{suffix}": (measure, "reason", reason, "plans")
        for suffix, measure in (("EHC", "ceased_plans"), ("", "ceased_statements"))
        for code, reason in reasons.items()
    }


MI: Spec = {
    **_totals(
        "requests",
        {
            "InreqEHC": "requests",
            "InreqryaEHC": "requests_relevant_youth_accommodation",
            "AssRefusedEHC": "requests_decided_not_to_assess",
            "AssRefusedEHC_pc": "requests_decided_not_to_assess_pct",
            "AssRefused": "requests_decided_not_to_assess_statements",
        },
    ),
    **_totals(
        "assessments",
        {
            "NewallEHC": "assessments_issued",
            "NewallEHC_pc": "assessments_issued_pct",
            # decided assessments (issued + not issued); 2025's assess_in_year also counts
            # withdrawn/outstanding ones, so expect a small step in 2022-23
            "NewallEHC_AssnoneEHC_sum": "assessments",
            "AssnoneEHC": "assessments_not_issued",
            "AssnoneEHC_pc": "assessments_not_issued_pct",
            "AssnodecisionEHC": "assessments_decision_outstanding",
            "Assnone": "assessments_not_issued_statements",
            "Assnodecision": "assessments_decision_outstanding_statements",
        },
    ),
    **_totals(
        "plans",
        {
            "TotIncExcEHC": "plans_issued_20wk_denominator",
            "IncExc20weekEHC": "plans_issued_within_20_weeks",
            "IncExc20weekRate": "plans_issued_within_20_weeks_pct",
            "TotNoExcEHC": "plans_issued_20wk_denominator_ex",
            "NoExc20weekEHC": "plans_issued_within_20_weeks_ex",
            "NoExc20weekRate": "plans_issued_within_20_weeks_ex_pct",
            "TotIncExc": "statements_issued_26wk_denominator",
            "IncExc26week": "statements_issued_within_26_weeks",
            "TotNoExc": "statements_issued_26wk_denominator_ex",
            "NoExc26week": "statements_issued_within_26_weeks_ex",
        },
    ),
    **_ceased_spec(),
    **_totals(
        "plans",
        {
            "MtosiEHC": "transfers_mainstream_to_special",
            "SitomEHC": "transfers_special_to_mainstream",
            "MtoParEHC": "transfers_mainstream_to_home_education",
            "SitoParEHC": "transfers_special_to_home_education",
            "Mtosi": "transfers_mainstream_to_special_statements",
            "Sitom": "transfers_special_to_mainstream_statements",
            "MtoPar": "transfers_mainstream_to_home_education_statements",
            "SitoPar": "transfers_special_to_home_education_statements",
            "StatementstoEHC": "statements_transferred_to_ehcp",
            "StatementstoNoEHC": "statements_transferred_not_to_ehcp",
            # personal budgets in the aggregate collection: kept apart from the 2025 January counts
            "PersonalBudgets": "personal_budgets_sen2_aggregate",
            "OrgArrangements": "personal_budgets_organised_arrangements_sen2_aggregate",
            "DirectPayEducation": "direct_payments_education_sen2_aggregate",
            "DirectPayHealth": "direct_payments_health_sen2_aggregate",
            "DirectPaySocialCare": "direct_payments_social_care_sen2_aggregate",
            "DirectPayIntegrated": "direct_payments_integrated_sen2_aggregate",
        },
    ),
    **_totals(
        "cases",
        {
            "NewEHCMediation": "mediations",
            "NewEHCTribunal": "mediations_followed_by_tribunal",
            "NewEHCTribunal_pc": "mediations_followed_by_tribunal_pct",
        },
    ),
}


def _wbp_spec() -> Spec:
    spec = _totals(
        "placements",
        {
            "MApprenEHC": "work_based_placements_apprenticeship",
            "MTrainEHC": "work_based_placements_traineeship",
            "MSuppIntEHC": "work_based_placements_supported_internship",
            "WorkbasedEHC": "work_based_placements",
            "TotMres38weekEHC": "residential_placements_38_51_weeks",
            "TotMres52weekEHC": "residential_placements_52_weeks",
            "TotMres38week": "residential_placements_38_51_weeks_statements",
            "TotMres52week": "residential_placements_52_weeks_statements",
        },
    )
    bands = {"05": "under_5", "510": "5_10", "1115": "11_15", "1619": "16_19", "2025": "20_25"}
    for k, band in bands.items():
        for weeks, m in (
            ("38", "residential_placements_38_51_weeks"),
            ("52", "residential_placements_52_weeks"),
        ):
            spec[f"Mres{weeks}week{k}EHC"] = (m, "age_band", band, "placements")
            if k != "2025":  # statements ended before the 20-25 band existed: no such column
                spec[f"Mres{weeks}week{k}"] = (f"{m}_statements", "age_band", band, "placements")
    return spec


# file -> (january?, key column, breakdown kind, spec)
FILES: dict[str, tuple[bool, str, str, Spec]] = {
    "sen2_age_caseload.csv": (True, "Total_all", "age", _plan_type_spec("Total", "ehcp_caseload")),
    "sen2_estab_caseload.csv": (
        True,
        "Total_all",
        "estab",
        _plan_type_spec("Total", "ehcp_caseload"),
    ),
    "sen2_age_new_plans.csv": (
        False,
        "Total_new_all",
        "age",
        _plan_type_spec("Total_new", "new_plans"),
    ),
    "sen2_estab_new_plans.csv": (
        False,
        "Total_new_all",
        "estab",
        _plan_type_spec("Total_new", "new_plans"),
    ),
    "sen2_mi.csv": (False, "InreqEHC", "none", MI),
    "sen2_wbp_residential_dmo.csv": (True, "WorkbasedEHC", "none", _wbp_spec()),
}


def detect(folder: Path) -> bool:
    """True when ``folder`` looks like the 2022-layout (aggregate SEN2) EHCP release."""
    d = data_dir(Path(folder))
    return (d / "sen2_age_caseload.csv").is_file() and (d / "sen2_mi.csv").is_file()


def _periods(df: pd.DataFrame, *, january: bool, file: str) -> pd.DataFrame:
    out = df.copy()
    tp = out["time_period"].str.strip()
    raise_at_first(
        ~tp.str.fullmatch(r"\d{4}"),
        out,
        file=file,
        field="time_period",
        message=lambda i: f"unexpected time_period {tp.iloc[i]!r}",
    )
    out["year"] = tp.astype("int64")
    out["period_type"] = "january" if january else "calendar_year"
    out["period"] = tp + "-01" if january else tp
    return out


def _breakdowns(df: pd.DataFrame, kind: str, *, file: str) -> pd.DataFrame:
    out = df.copy()
    if kind == "age":
        key = out["characteristic_age"].str.strip().str.lower()
        raise_at_first(
            ~key.isin(list(AGE_BANDS)),
            df,
            file=file,
            field="characteristic_age",
            message=lambda i: f"unknown age group {df['characteristic_age'].iloc[i]!r}",
        )
        out["breakdown_topic"] = key.map(lambda k: AGE_BANDS[k][0])
        out["breakdown"] = key.map(lambda k: AGE_BANDS[k][1])
    elif kind == "estab":
        t = out["establishment_type"].str.strip()
        g = out["establishment_group"].str.strip()
        grand = (t == "Total") & (g == "Total")
        out = out[~grand].copy()  # the grand total is stored from the age file
        out["breakdown_topic"] = "establishment"
        out["breakdown"] = t[~grand].map(snake) + "|" + g[~grand].map(snake)
    else:
        out["breakdown_topic"] = "total"
        out["breakdown"] = "total"
    return out


def load_file(path: Path, *, lookup: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Import one 2022-layout file. Returns ``(observations, la_region_pairs)``.

    Every column of the file's spec must be there (a renamed measure column is an error, not
    a measure silently left out). Raises :class:`IngestError` naming file, line and field on a
    missing column, an unknown age group, a bad cell or a duplicated period.
    """
    name = path.name
    if name not in FILES:
        raise IngestError(path, f"not a known file of the EHCP 2022 release (known: {sorted(FILES)})")
    january, key_col, kind, spec = FILES[name]
    extra = {
        "age": ["characteristic_age"],
        "estab": ["establishment_type", "establishment_group"],
    }.get(kind, [])
    raw = read_published_csv(path, required=[*GEO_COLUMNS, *extra, key_col, *(c for c in spec if c != key_col)])
    return tidy_file(
        raw,
        file=name,
        spec=spec,
        rows=lambda df: _breakdowns(_periods(df, january=january, file=name), kind, file=name),
        lookup=lookup,
        source=SOURCE,
        release=RELEASE,
    )


def load(folder: Path) -> ImportResult:
    """Import the 2022 release folder. Returns an :class:`ImportResult` with the tidy
    observations and table ``la_region`` (la_code -> region_code)."""
    folder = Path(folder)
    if not detect(folder):
        raise IngestError(folder, "not an EHCP 2022-layout release (sen2_age_caseload.csv / sen2_mi.csv missing)")
    d = data_dir(folder)
    lookup = load_la_lookup(folder)
    frames, regions, files, notes = [], [], [], []
    for name in FILES:
        p = d / name
        if not p.is_file():
            raise IngestError(p, "file of the EHCP 2022 release missing (every file of the release is needed)")
        obs, reg = load_file(p, lookup=lookup)
        if not len(obs):
            raise IngestError(p, "no data rows (the release publishes rows in every file)", line=2)
        frames.append(obs)
        regions.append(reg)
        files.append(p)
    notes.append("sen2_wbp_residential_dmo.csv: DMO/DCO Yes/No/Recruiting columns are text, not imported")
    return ImportResult(
        source=SOURCE,
        release=RELEASE,
        observations=concat_observations(frames),
        tables={"la_region": la_region_table(regions)},
        files=files,
        notes=notes,
    )

"""Importer for DfE *Education, health and care plans*, reporting year 2025 (person-level SEN2).

Reads the release's ``data/*.csv`` files exactly as published and returns the tidy observation
table of :mod:`sendcast.ingest.common`. Periods come from the files themselves (no hard-coded
list), so the complete release (with ``202425`` / ``2024`` rows) imports like the partial copy;
a header-only file yields zero rows. The machinery shared with the 2022 release is in
:mod:`sendcast.ingest.sen2`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from sendcast.ingest import ImportResult
from sendcast.ingest.common import IngestError, concat_observations, raise_at_first, read_published_csv
from sendcast.ingest.sen2 import Spec, data_dir, la_region_table, load_la_lookup, simple_spec, snake, tidy_file

SOURCE = "ehcp-statistics"
RELEASE = "2025"

GEO_COLUMNS = [
    "time_period",
    "time_identifier",
    "geographic_level",
    "country_code",
    "region_code",
    "region_name",
    "new_la_code",
    "old_la_code",
    "la_name",
]
ROW_BREAKDOWN = ["breakdown_topic", "breakdown"]


def periods_2025(df: pd.DataFrame, *, file: str) -> pd.DataFrame:
    """Add period_type/year/period from ``time_period``/``time_identifier`` (2025 release).

    ``Academic year`` ``201819`` is the January count of the second year (2019-01); ``Calendar
    year`` ``2023`` is the calendar year. Raises :class:`IngestError` on anything else.
    """
    out = df.copy()
    tp = out["time_period"].str.strip()
    ti = out["time_identifier"].str.strip()
    acad = (ti == "Academic year") & tp.str.fullmatch(r"\d{6}")
    cal = (ti == "Calendar year") & tp.str.fullmatch(r"\d{4}")
    raise_at_first(
        ~(acad | cal),
        out,
        file=file,
        field="time_period",
        message=lambda i: f"unexpected time_period {tp.iloc[i]!r} / time_identifier {ti.iloc[i]!r}",
    )
    first = pd.to_numeric(tp.str[2:4], errors="coerce")
    second = pd.to_numeric(tp.str[4:6], errors="coerce")
    raise_at_first(
        acad & ((first + 1) % 100 != second),
        out,
        file=file,
        field="time_period",
        message=lambda i: f"academic year {tp.iloc[i]!r} is not two consecutive years",
    )
    year = np.where(acad, tp.str[:4].where(acad, "0").astype(int) + 1, tp.where(cal, "0").str[:4].astype(int))
    out["year"] = year.astype("int64")
    out["period_type"] = np.where(acad, "january", "calendar_year")
    out["period"] = np.where(
        acad,
        pd.Series(year, index=out.index).astype(str) + "-01",
        pd.Series(year, index=out.index).astype(str),
    )
    return out


# --------------------------------------------------------------------------------------------
# Breakdown labels of the 2025 release
# --------------------------------------------------------------------------------------------

TOPICS: dict[str, str] = {
    "child or young persons age": "age",
    "age plan ceased": "age",
    "age when plan started": "age_started",
    "sex": "sex",
    "ethnicity": "ethnicity",
    "years ehc plan in place": "years_in_plan",
    "years plan held": "years_in_plan",
    "type of placement": "placement",
    "primary need": "primary_need",
    "primary type of need": "primary_need",
}

# Placement labels used as row breakdowns -> the published placement column names.
PLACEMENT_LABELS: dict[str, str] = {
    "ap/pru - academy": "ap_pru_academy",
    "ap/pru - free school": "ap_pru_free_school",
    "ap/pru - la maintained": "ap_pru_la_maintained",
    "ap/pru - total": "ap_pru_total",
    "educated elsewhere - elective home education": "elective_home_education",
    "educated elsewhere - neet": "neet",
    "educated elsewhere - not in education or training (compulsory school age)": "neet_other_csa",
    "educated elsewhere - not in education or training (notice to cease issued)": "neet_ntci",
    "educated elsewhere - not in education or training (other)": "neet_other",
    "educated elsewhere - other arrangements by la": "other_arrangements_la",
    "educated elsewhere - other arrangements by parents": "other_arrangements_parents",
    "educated elsewhere - other placement settings": "other_placement_settings",
    "educated elsewhere - total": "ed_elsewhere",
    "fe - general fe and tertiary colleges": "general_fe_tertiary_colleges",
    "fe - specialist post-16 institutions": "specialist_post_16_institutions",
    "fe - ukrlp provider": "ukrlp_provider",
    "fe - total": "fe_total",
    "mainstream - academy": "mainstream_academy",
    "mainstream - academy (resourced provision)": "mainstream_academy_resourced_provision",
    "mainstream - academy (sen unit)": "mainstream_academy_senunit",
    "mainstream - free school": "mainstream_free_school",
    "mainstream - free school (resourced provision)": "mainstream_free_school_resourced_provision",
    "mainstream - free school (sen unit)": "mainstream_free_school_senunit",
    "mainstream - independent": "mainstream_independent",
    "mainstream - la maintained": "mainstream_la_maintained",
    "mainstream - la maintained (resourced provision)": "mainstream_la_maintained_resourced_provision",
    "mainstream - la maintained (sen unit)": "mainstream_la_maintained_senunit",
    "mainstream - total": "mainstream_total",
    "non-maintained early years": "nm_early_years",
    "placement not recorded": "placement_unknown",
    "special - academy/free school": "special_academy_free",
    "special - independent": "special_independent",
    "special - la maintained": "special_la_maintained",
    "special - non-maintained": "special_non_maintained",
    "special - total": "special_total",
}


def age_label(label: str) -> str:
    """Return a normalised age label: ``'age 8'``/``'Aged 8'`` -> ``'8'``, ``'under 3'`` ->
    ``'under_3'``, ``'age 2 and under'`` -> ``'2_and_under'``, ``'Age unknown'`` -> ``'unknown'``."""
    s = label.strip().lower()
    s = re.sub(r"^(aged|age)\s+", "", s)
    if s in ("unknown", "age unknown"):
        return "unknown"
    return snake(s)


def years_label(label: str) -> str:
    """Return a normalised years-in-plan label (``'1 year'`` -> ``'1'``, ``'Under a year'`` ->
    ``'under_1'``, ``'12 or more'`` -> ``'12_and_over'``)."""
    s = label.strip().lower()
    if s in ("less than a year", "under a year"):
        return "under_1"
    m = re.fullmatch(r"(\d+)(?: years?)?(?: or more| and over)?", s)
    if m:
        return m.group(1) + ("_and_over" if ("more" in s or "over" in s) else "")
    return snake(s)


def row_breakdowns(df: pd.DataFrame) -> pd.DataFrame:
    """Normalise the published ``breakdown_topic``/``breakdown`` of each row.

    A row whose topic equals its breakdown (``All EHC plans``, ``New EHC plans`` ...) is the
    total (``total``/``total``); known topics get the contract's names (:data:`TOPICS`), others
    a snake-case name. Returns a copy with the two columns replaced.
    """
    out = df.copy()
    topic_raw = out["breakdown_topic"].fillna("").str.strip()
    bd_raw = out["breakdown"].fillna("").str.strip()
    pairs = pd.DataFrame({"t": topic_raw, "b": bd_raw}).drop_duplicates()
    mapping: dict[tuple[str, str], tuple[str, str]] = {}
    for t, b in pairs.itertuples(index=False):
        if t == b or t.lower().startswith("all ") or t == "":
            mapping[(t, b)] = ("total", "total")
            continue
        topic = TOPICS.get(t.lower(), snake(t))
        if topic in ("age", "age_started"):
            label = age_label(b)
        elif topic == "years_in_plan":
            label = years_label(b)
        elif topic == "placement":
            label = PLACEMENT_LABELS.get(b.lower(), snake(b))
        else:
            label = snake(b)
        mapping[(t, b)] = (topic, label)
    keys = list(zip(topic_raw, bd_raw, strict=True))
    out["breakdown_topic"] = [mapping[k][0] for k in keys]
    out["breakdown"] = [mapping[k][1] for k in keys]
    return out


# --------------------------------------------------------------------------------------------
# File specs
# --------------------------------------------------------------------------------------------

PLACEMENT_COLUMNS = [
    "mainstream_la_maintained", "mainstream_la_maintained_resourced_provision",
    "mainstream_la_maintained_senunit", "mainstream_academy", "mainstream_academy_resourced_provision",
    "mainstream_academy_senunit", "mainstream_free_school", "mainstream_free_school_resourced_provision",
    "mainstream_free_school_senunit", "mainstream_independent", "mainstream_total",
    "special_la_maintained", "special_academy_free", "special_independent", "special_non_maintained",
    "special_total", "ap_pru_academy", "ap_pru_free_school", "ap_pru_la_maintained", "ap_pru_total",
    "general_fe_tertiary_colleges", "specialist_post_16_institutions", "ukrlp_provider", "fe_total",
    "elective_home_education", "other_arrangements_la", "other_arrangements_parents", "online_provider",
    "w_settings", "other_schools", "other_placement_settings", "neet", "neet_ntci", "neet_other",
    "neet_other_csa", "ed_elsewhere", "nm_early_years", "placement_unknown", "await_prov_2022",
    "perm_ex_2022",
]  # fmt: skip
PLACEMENT_PCT_COLUMNS = {
    "mainstream_total_pc": "mainstream_total",
    "special_total_pc": "special_total",
    "AP_PRU_total_pc": "ap_pru_total",
    "fe_total_pc": "fe_total",
    "ed_elsewhere_pc": "ed_elsewhere",
    "nm_early_years_pc": "nm_early_years",
    "placement_unknown_pc": "placement_unknown",
}


def _placement_spec(total_col: str, measure: str) -> Spec:
    spec: Spec = {total_col: (measure, "*", "*", "plans")}
    for c in PLACEMENT_COLUMNS:
        spec[c] = (measure, "*|placement", c, "plans")
    for c, cat in PLACEMENT_PCT_COLUMNS.items():
        spec[c] = (f"{measure}_pct", "*|placement", cat, "percent")
    return spec


REQUESTS = {
    "requests_received_in_year": "requests",
    "requests_rya": "requests_relevant_youth_accommodation",
    "requests_decided_to_assess": "requests_decided_to_assess",
    "requests_decided_not_to_assess": "requests_decided_not_to_assess",
    "requests_decision_not_made": "requests_decision_outstanding",
    "requests_withdrawn": "requests_withdrawn",
    "request_assess_pc": "requests_decided_to_assess_pct",
    "request_not_assess_pc": "requests_decided_not_to_assess_pct",
    "request_outstanding_pc": "requests_decision_outstanding_pct",
    "request_withdrawn_pc": "requests_withdrawn_pct",
    "request_outcome_six_weeks": "requests_decided_within_6_weeks",
    "request_outcome_over_6_weeks": "requests_decided_over_6_weeks",
    "request_outcome_six_weeks_pc": "requests_decided_within_6_weeks_pct",
    "request_outcome_over_6_weeks_pc": "requests_decided_over_6_weeks_pct",
    "mediation_related_request": "requests_mediation",
    "tribunal_related_request": "requests_tribunal",
    "tribunal_after_mediation_request": "requests_tribunal_after_mediation",
}
ASSESSMENTS = {
    "assess_in_year": "assessments",
    "assess_issued": "assessments_issued",
    "assess_issued_pc": "assessments_issued_pct",
    "assess_not_issued": "assessments_not_issued",
    "assess_not_issued_pc": "assessments_not_issued_pct",
    "assess_not_made": "assessments_decision_outstanding",
    "assess_not_made_pc": "assessments_decision_outstanding_pct",
    "assess_withdrawn": "assessments_withdrawn",
    "assess_withdrawn_pc": "assessments_withdrawn_pct",
    "outcome_decision_within_time": "assessments_not_issued_within_16_weeks",
    "outcome_decision_over_time": "assessments_not_issued_over_16_weeks",
    "outcome_decision_within_time_pc": "assessments_not_issued_within_16_weeks_pct",
    "outcome_decision_over_time_pc": "assessments_not_issued_over_16_weeks_pct",
    "number_assess_mediation": "assessments_mediation",
    "number_assess_tribunal": "assessments_tribunal",
    "number_asssess_mediation_tribunal": "assessments_tribunal_after_mediation",
    "number_other_mediation": "assessments_other_mediation",
    "number_other_tribunal": "assessments_other_tribunal",
    "number_other_mediation_tribunal": "assessments_other_tribunal_after_mediation",
}
TIMELINESS = {
    "plans_issued_den": "plans_issued_20wk_denominator",
    "plans_issued_den_ex": "plans_issued_20wk_denominator_ex",
    "plans_issued_within_20_weeks": "plans_issued_within_20_weeks",
    "plans_issued_20_weeks_ex": "plans_issued_within_20_weeks_ex",
    "pc_plans_issued_within_20_weeks": "plans_issued_within_20_weeks_pct",
    "PC_plans_issued_20_weeks_ex": "plans_issued_within_20_weeks_ex_pct",
    "plans_issued_gt20weeks_ltYear": "plans_issued_20_to_52_weeks",
    "plans_issued_gt20weeks_ltYear_ex": "plans_issued_20_to_52_weeks_ex",
    "pc_plans_issued_gt20weeks_ltYear": "plans_issued_20_to_52_weeks_pct",
    "PC_plans_issued_gt20weeks_ltYear_ex": "plans_issued_20_to_52_weeks_ex_pct",
    "plans_issued_gt_1_year": "plans_issued_over_52_weeks",
    "plans_issued_gt_1_year_ex": "plans_issued_over_52_weeks_ex",
    "pc_plans_issued_gt_1_year": "plans_issued_over_52_weeks_pct",
    "PC_plans_issued_gt_1_year_ex": "plans_issued_over_52_weeks_ex_pct",
}
CEASED_REASONS = [
    "max_age", "needs_met", "he", "employ", "transfer", "no_engage", "moved_outside_eng",
    "deceased", "not_rec", "other",
]  # fmt: skip
PERSONAL_BUDGETS = {
    "personal_budget": "personal_budgets",
    "org_arrangments": "personal_budgets_organised_arrangements",
    "pb_health": "personal_budgets_health",
    "pb_education": "personal_budgets_education",
    "pb_social": "personal_budgets_social_care",
    "pb_integrated": "personal_budgets_integrated",
}
RESIDENTIAL = {
    "Res_3851": "residential_placements_38_51_weeks",
    "Res_52": "residential_placements_52_weeks",
    "Res_tot": "residential_placements",
}
WORK_BASED = {
    "open_supp_intern": "work_based_placements_supported_internship",
    "open_apprentice": "work_based_placements_apprenticeship",
    "open_trainee": "work_based_placements_traineeship",
    "open_wbp": "work_based_placements",
}
NEEDS = [
    "asd", "hi", "mld", "msi", "oth", "pd", "pmld", "semh", "slcn", "sld", "spld", "vi",
]  # fmt: skip


def _needs_spec(measure: str) -> Spec:
    spec: Spec = {"ehc_plans": (measure, "*|primary_need", "total", "plans")}
    for n in NEEDS:
        spec[f"number_{n}"] = (measure, "*|primary_need", n, "plans")
        spec[f"{n}_pc"] = (f"{measure}_pct", "*|primary_need", n, "percent")
    spec["number_need_unknown"] = (measure, "*|primary_need", "unknown", "plans")
    spec["unknown_pc"] = (f"{measure}_pct", "*|primary_need", "unknown", "percent")
    return spec


def _annual_reviews_spec(columns: list[str]) -> Spec:
    skip = set(GEO_COLUMNS) | {"country_name", "breakdown_topic", "breakdown", "_line"}
    out: Spec = {}
    for c in columns:
        if c in skip:
            continue
        m = "annual_reviews_" + snake(c).removesuffix("_pc") + ("_pct" if c.endswith("_pc") else "")
        out[c] = (m, "*", "*", "percent" if c.endswith("_pc") else "plans")
    return out


def _ceased_spec() -> Spec:
    spec: Spec = {"total_ceased": ("ceased_plans", "*", "*", "plans")}
    for r in CEASED_REASONS:
        spec[r] = ("ceased_plans", "*|reason", r, "plans")
    return spec


# file name -> (key measure column that must be present, spec builder from header)
FILES: dict[str, tuple[str, Callable[[list[str]], Spec]]] = {
    "caseload.csv": ("ehcplans", lambda cols: _placement_spec("ehcplans", "ehcp_caseload")),
    "newplans.csv": ("new_ehc_plans", lambda cols: _placement_spec("new_ehc_plans", "new_plans")),
    "ceased_plans.csv": ("total_ceased", lambda cols: _ceased_spec()),
    "requests.csv": ("requests_received_in_year", lambda cols: simple_spec(REQUESTS, "requests")),
    "assessments.csv": ("assess_issued", lambda cols: simple_spec(ASSESSMENTS, "assessments")),
    "timeliness_20_week.csv": ("plans_issued_den", lambda cols: simple_spec(TIMELINESS, "plans")),
    "personal_budgets.csv": (
        "personal_budget",
        lambda cols: simple_spec(PERSONAL_BUDGETS, "plans"),
    ),
    "residential_settings.csv": ("Res_tot", lambda cols: simple_spec(RESIDENTIAL, "placements")),
    "work_based_placements.csv": ("open_wbp", lambda cols: simple_spec(WORK_BASED, "placements")),
    "sen_needs_all_plans.csv": ("ehc_plans", lambda cols: _needs_spec("ehcp_caseload")),
    "sen_need_newplans.csv": ("ehc_plans", lambda cols: _needs_spec("new_plans")),
    "annual_reviews.csv": ("total_ehc_plans", _annual_reviews_spec),
}
# The files that identify the release; each must have data rows (the others may be header-only
# in a partial copy: see the release's PROVENANCE.md).
REQUIRED_FILES = ("caseload.csv", "newplans.csv", "requests.csv")


def detect(folder: Path) -> bool:
    """True when ``folder`` looks like a 2025-layout EHCP release (person-level SEN2 files).

    Recognised by its file names only: a damaged key file (renamed header, another encoding,
    empty) must then fail in :func:`load` naming the file, not make the release unrecognised.
    """
    d = data_dir(Path(folder))
    return all((d / f).is_file() for f in REQUIRED_FILES)


def load_file(
    path: Path, *, lookup: pd.DataFrame | None = None, release: str = RELEASE
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Import one 2025-layout file. Returns ``(observations, la_region_pairs)``.

    A header-only file gives zero rows; an unknown file name, a missing key or measure column
    (every column of the file's spec is needed), a bad cell or a duplicated period raises
    :class:`IngestError` naming file, line and field.
    """
    name = path.name
    if name not in FILES:
        raise IngestError(path, f"not a known file of the EHCP 2025 release (known: {sorted(FILES)})")
    key_col, builder = FILES[name]
    raw = read_published_csv(path, required=[*GEO_COLUMNS, *ROW_BREAKDOWN, key_col])
    spec = builder([c for c in raw.columns])
    missing = [c for c in spec if c not in raw.columns]
    if missing:
        raise IngestError(path, f"measure column(s) {missing[:5]} missing", line=1, field=missing[0])
    return tidy_file(
        raw,
        file=name,
        spec=spec,
        rows=lambda df: row_breakdowns(periods_2025(df, file=name)),
        lookup=lookup,
        source=SOURCE,
        release=release,
    )


def load(folder: Path) -> ImportResult:
    """Import every known data file of the release folder. Returns an :class:`ImportResult`
    with the tidy observations, table ``la_region`` (la_code -> region_code) and the files read."""
    folder = Path(folder)
    if not detect(folder):
        raise IngestError(folder, f"not an EHCP 2025-layout release (needs {', '.join(REQUIRED_FILES)})")
    d = data_dir(folder)
    absent = [n for n in FILES if not (d / n).is_file()]
    if absent:
        raise IngestError(d / absent[0], "file of the EHCP 2025 release missing (every file of the release is needed)")
    lookup = load_la_lookup(folder)
    frames: list[pd.DataFrame] = []
    regions: list[pd.DataFrame] = []
    files: list[Path] = []
    notes: list[str] = []
    for p in sorted(d.glob("*.csv")):
        if p.name not in FILES:
            notes.append(f"{p.name}: not a known file of this release, skipped")
            continue
        obs, reg = load_file(p, lookup=lookup)
        if not len(obs) and p.name in REQUIRED_FILES:
            raise IngestError(p, "header only: this key file of the release must have data rows", line=2)
        frames.append(obs)
        regions.append(reg)
        files.append(p)
        if not len(obs):
            notes.append(f"{p.name}: header only, no rows")
    return ImportResult(
        source=SOURCE,
        release=RELEASE,
        observations=concat_observations(frames),
        tables={"la_region": la_region_table(regions)},
        files=files,
        notes=notes,
    )

"""Importer for DfE *Education, health and care plans*, reporting year 2025 (person-level SEN2).

Reads the release's ``data/*.csv`` files exactly as published and returns the tidy observation
table of :mod:`sendcast.ingest.common`. Periods come from the files themselves (no hard-coded
list), so the complete release (with ``202425`` / ``2024`` rows) imports like the partial copy;
a header-only file yields zero rows.

The module also holds the vectorised helpers shared by the other EHCP-family importers
(:mod:`sendcast.ingest.ehcp_2022`, :mod:`sendcast.ingest.tribunals`): :func:`parse_values`,
:func:`melt_wide`, :func:`area_ids`, :func:`snake`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from sendcast.ingest import ImportResult
from sendcast.ingest.common import (
    _NUMBER,
    GEO_LEVEL_MAP,
    MARKERS,
    IngestError,
    concat_observations,
    empty_observations,
    finish,
    read_published_csv,
)

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

# A spec maps a published column to (measure, breakdown_topic, breakdown, unit). ``"*"`` in
# topic/breakdown means "the row's own breakdown"; ``"*|placement"`` means a cross-tab of the
# row's breakdown with the column's category (e.g. age x placement).
Spec = dict[str, tuple[str, str, str, str]]


# --------------------------------------------------------------------------------------------
# Shared vectorised helpers
# --------------------------------------------------------------------------------------------


def snake(label: str) -> str:
    """Return ``label`` in snake case (``'White - Irish'`` -> ``'white_irish'``)."""
    s = label.strip().lower().replace("&", " and ").replace("+", " plus ")
    s = re.sub(r"[^a-z0-9]+", "_", s)
    return s.strip("_") or "blank"


def parse_values(raw: pd.Series, *, file: str, lines: pd.Series, field: str) -> tuple[np.ndarray, np.ndarray]:
    """Parse a column of published cells; vectorised equivalent of ``common.parse_cell``.

    Returns ``(values, missing_reasons)``: floats (NaN for markers) and an object array of
    reasons (None where a number was published). Raises :class:`IngestError` naming file, line
    and field at the first cell that is neither a number nor a known marker.
    """
    codes, uniques = pd.factorize(raw.fillna("").astype(str), use_na_sentinel=False)
    # parse each distinct published string once: published columns repeat values a lot
    text = pd.Series(uniques, dtype=object).str.strip().str.strip('"').str.strip()
    reason = text.str.lower().map(MARKERS)
    cleaned = text.str.replace(",", "", regex=False).str.replace("£", "", regex=False).str.rstrip("%").str.strip()
    is_num = cleaned.str.match(_NUMBER.pattern).fillna(False).astype(bool)
    bad = (reason.isna() & ~is_num).to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad[codes])[0])
        raise IngestError(
            file,
            f"value {str(raw.iloc[pos]).strip()[:40]!r} is neither a number nor a known marker",
            line=int(lines.iloc[pos]),
            field=field,
        )
    values = pd.to_numeric(cleaned.where(is_num & reason.isna()), errors="coerce").to_numpy(dtype="float64")
    reasons = reason.astype(object).to_numpy(dtype=object)
    reasons[pd.isna(reasons)] = None
    return values[codes], reasons[codes]


def melt_wide(df: pd.DataFrame, *, file: str, spec: Spec) -> pd.DataFrame:
    """Turn wide measure columns into tidy rows (vectorised ``common.melt_measures``).

    ``df`` must already hold the tidy id columns (la_code, old_la_code, la_name,
    geographic_level, period_type, year, period) plus ``breakdown_topic``/``breakdown`` (the
    row's own breakdown, already normalised) and ``_line``. Returns the tidy rows without
    provenance (add it with :func:`finish`).
    """
    ids = ["la_code", "old_la_code", "la_name", "geographic_level", "period_type", "year", "period"]
    frames: list[pd.DataFrame] = []
    for col, (measure, topic, breakdown, unit) in spec.items():
        if col not in df.columns or not len(df):
            continue
        values, reasons = parse_values(df[col], file=file, lines=df["_line"], field=col)
        out = df[ids].copy()
        out["measure"] = measure
        row_topic = df["breakdown_topic"] if "breakdown_topic" in df else pd.Series("total", index=df.index)
        row_bd = df["breakdown"] if "breakdown" in df else pd.Series("total", index=df.index)
        if topic == "*":
            out["breakdown_topic"], out["breakdown"] = row_topic, row_bd
        elif topic.startswith("*|"):
            # cross-tab: on the total row the column's own category stands alone
            own_topic = topic[2:]
            total = row_topic == "total"
            out["breakdown_topic"] = np.where(total, own_topic, row_topic + "|" + own_topic)
            out["breakdown"] = np.where(total, breakdown, row_bd + "|" + breakdown)
        else:
            out["breakdown_topic"], out["breakdown"] = topic, breakdown
        out["value"] = values
        out["missing_reason"] = reasons
        out["unit"] = unit
        out["line"] = df["_line"].astype("int64").to_numpy()
        frames.append(out)
    if not frames:
        return empty_observations()
    return pd.concat(frames, ignore_index=True)


def load_la_lookup(folder: Path) -> pd.DataFrame | None:
    """Return the DfE LA code lookup (``la-lookups/dfe_la_codes_from_ehcp_2025.csv``) if found.

    Looks next to the release folder (``<raw>/la-lookups``); returns None when absent.
    """
    for base in (folder, *folder.parents[:3]):
        p = base / "la-lookups" / "dfe_la_codes_from_ehcp_2025.csv"
        if p.is_file():
            lk = pd.read_csv(p, dtype=str, keep_default_na=False)
            lk["old_la_code"] = lk["old_la_code"].str.replace(r"\.0$", "", regex=True)
            return lk
    return None


def area_ids(df: pd.DataFrame, *, file: str, lookup: pd.DataFrame | None = None) -> pd.DataFrame:
    """Add tidy area columns (la_code, old_la_code, la_name, geographic_level) to a published frame.

    National rows become ``country_code``/England, regional rows ``region_code``/``region_name``,
    LA rows ``new_la_code``/``old_la_code``/``la_name``. An LA row without ``new_la_code`` is
    looked up by ``old_la_code`` in ``lookup``; if that fails an :class:`IngestError` names the
    line. Returns a copy of ``df`` with the four columns set.
    """
    out = df.copy()
    level = out["geographic_level"].str.strip().map(GEO_LEVEL_MAP)
    if level.isna().any():
        pos = int(np.flatnonzero(level.isna().to_numpy())[0])
        raise IngestError(
            file,
            f"unknown geographic_level {df['geographic_level'].iloc[pos]!r}",
            line=int(df["_line"].iloc[pos]),
            field="geographic_level",
        )
    new_code = out["new_la_code"].fillna("").str.strip()
    old_code = out["old_la_code"].fillna("").str.strip().str.replace(r"\.0$", "", regex=True)
    is_la = level == "la"
    if (is_la & (new_code == "")).any() and lookup is not None:
        m = dict(zip(lookup["old_la_code"], lookup["new_la_code"], strict=False))
        new_code = new_code.where(~(is_la & (new_code == "")), old_code.map(m).fillna(""))
    gap = is_la & (new_code == "")
    if gap.any():
        pos = int(np.flatnonzero(gap.to_numpy())[0])
        raise IngestError(
            file,
            f"LA {df['la_name'].iloc[pos]!r} (old code {old_code.iloc[pos]!r}) has no new_la_code "
            "and none was found in la-lookups",
            line=int(df["_line"].iloc[pos]),
            field="new_la_code",
        )
    out["geographic_level"] = level
    out["la_code"] = np.select(
        [level == "national", level == "regional"],
        [out["country_code"].str.strip(), out["region_code"].str.strip()],
        new_code,
    )
    out["la_name"] = np.select(
        [level == "national", level == "regional"],
        ["England", out["region_name"].str.strip()],
        out["la_name"].str.strip(),
    )
    out["old_la_code"] = old_code.astype(object).where(is_la & (old_code != ""), None)  # type: ignore[call-overload]
    empty = out["la_code"] == ""
    if empty.any():
        pos = int(np.flatnonzero(empty.to_numpy())[0])
        raise IngestError(file, "row has no area code", line=int(df["_line"].iloc[pos]), field="region_code")
    return out


def la_regions(df: pd.DataFrame) -> pd.DataFrame:
    """Return the distinct ``la_code -> region_code`` pairs of the LA rows of an area frame."""
    la = df[df["geographic_level"] == "la"]
    return la[["la_code", "region_code"]].drop_duplicates().reset_index(drop=True)


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
    bad = ~(acad | cal)
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise IngestError(
            file,
            f"unexpected time_period {tp.iloc[pos]!r} / time_identifier {ti.iloc[pos]!r}",
            line=int(out["_line"].iloc[pos]),
            field="time_period",
        )
    first = pd.to_numeric(tp.str[2:4], errors="coerce")
    second = pd.to_numeric(tp.str[4:6], errors="coerce")
    wrong = acad & ((first + 1) % 100 != second)
    if wrong.any():
        pos = int(np.flatnonzero(wrong.to_numpy())[0])
        raise IngestError(
            file,
            f"academic year {tp.iloc[pos]!r} is not two consecutive years",
            line=int(out["_line"].iloc[pos]),
            field="time_period",
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


def _simple_spec(cols: Mapping[str, str], unit: str) -> Spec:
    """Columns each naming their own measure; percentages (``_pct``) get unit percent."""
    return {c: (m, "*", "*", "percent" if m.endswith("_pct") else unit) for c, m in cols.items()}


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
    "requests.csv": ("requests_received_in_year", lambda cols: _simple_spec(REQUESTS, "requests")),
    "assessments.csv": ("assess_issued", lambda cols: _simple_spec(ASSESSMENTS, "assessments")),
    "timeliness_20_week.csv": ("plans_issued_den", lambda cols: _simple_spec(TIMELINESS, "plans")),
    "personal_budgets.csv": (
        "personal_budget",
        lambda cols: _simple_spec(PERSONAL_BUDGETS, "plans"),
    ),
    "residential_settings.csv": ("Res_tot", lambda cols: _simple_spec(RESIDENTIAL, "placements")),
    "work_based_placements.csv": ("open_wbp", lambda cols: _simple_spec(WORK_BASED, "placements")),
    "sen_needs_all_plans.csv": ("ehc_plans", lambda cols: _needs_spec("ehcp_caseload")),
    "sen_need_newplans.csv": ("ehc_plans", lambda cols: _needs_spec("new_plans")),
    "annual_reviews.csv": ("total_ehc_plans", _annual_reviews_spec),
}
REQUIRED_FILES = ("caseload.csv", "newplans.csv", "requests.csv")


def _data_dir(folder: Path) -> Path:
    return folder / "data" if (folder / "data").is_dir() else folder


def detect(folder: Path) -> bool:
    """True when ``folder`` looks like a 2025-layout EHCP release (person-level SEN2 files)."""
    d = _data_dir(Path(folder))
    if not all((d / f).is_file() for f in REQUIRED_FILES):
        return False
    try:
        with (d / "caseload.csv").open(encoding="utf-8-sig") as fh:
            header = fh.readline()
    except (OSError, UnicodeDecodeError):
        return False
    return "ehcplans" in header and "breakdown_topic" in header


def load_file(
    path: Path, *, lookup: pd.DataFrame | None = None, release: str = RELEASE
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Import one 2025-layout file. Returns ``(observations, la_region_pairs)``.

    A header-only file gives zero rows; an unknown file name, a missing key column, a bad
    cell or a duplicated period raises :class:`IngestError` naming file, line and field.
    """
    name = path.name
    if name not in FILES:
        raise IngestError(path, f"not a known file of the EHCP 2025 release (known: {sorted(FILES)})")
    key_col, builder = FILES[name]
    raw = read_published_csv(path, required=[*GEO_COLUMNS, *ROW_BREAKDOWN, key_col])
    if not len(raw):
        return empty_observations(), pd.DataFrame(columns=["la_code", "region_code"])
    df = area_ids(raw, file=name, lookup=lookup)
    df = periods_2025(df, file=name)
    df = row_breakdowns(df)
    spec = builder([c for c in raw.columns])
    tidy = melt_wide(df, file=name, spec=spec)
    return finish(tidy, source=SOURCE, release=release, file=name), la_regions(df)


def load(folder: Path) -> ImportResult:
    """Import every known data file of the release folder. Returns an :class:`ImportResult`
    with the tidy observations, table ``la_region`` (la_code -> region_code) and the files read."""
    folder = Path(folder)
    if not detect(folder):
        raise IngestError(folder, "not an EHCP 2025-layout release (caseload.csv with ehcplans missing)")
    d = _data_dir(folder)
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
        frames.append(obs)
        regions.append(reg)
        files.append(p)
        if not len(obs):
            notes.append(f"{p.name}: header only, no rows")
    la_region = pd.concat(regions, ignore_index=True).drop_duplicates() if regions else pd.DataFrame()
    return ImportResult(
        source=SOURCE,
        release=RELEASE,
        observations=concat_observations(frames),
        tables={"la_region": la_region.reset_index(drop=True)},
        files=files,
        notes=notes,
    )

"""DfE "SEND and AP inclusion dashboard": the prepared council/region/England tables.

The dashboard's tables are re-publications of other releases (s251 outturn, DSG, SEN in
England, SEN2, KS2/KS4, SEND Tribunal, Ofsted/CQC). Measures are prefixed ``dashboard_`` so
they never collide with the measures of the original releases' importers; the s251-derived
specialist spend keeps the names ``specialist_spend_per_head``, ``specialist_spend_total`` and
``population_2_18``. All rows have source ``send-ap-dashboard``.

Files and what they become (unit; period type):

- ``dsg_deficit.csv`` -> ``dsg_cumulative_balance_pct_income`` (percent; financial_year).
  Sign: **positive = deficit** (the published ``deficit`` column, = minus the published
  "DSG cumulative balance as a % of the total income").
- ``specialist_spend.csv`` -> ``specialist_spend_per_head`` (gbp_per_head),
  ``specialist_spend_total`` (gbp) by ``provider`` = ``state`` / ``independent_non_maintained``
  / ``total``, and ``population_2_18`` (persons) (financial_year).
- ``percent_pupils_ehcp.csv`` -> ``dashboard_pupils_pct`` by ``sen_provision`` (percent;
  academic_year; census taken in the January of the academic year).
- ``mainstream_with_sen.csv`` -> ``dashboard_mainstream_pupils`` (pupils) and
  ``dashboard_mainstream_pupils_pct`` by ``sen_provision`` (percent) (academic_year).
- ``provider_types_grouped.csv`` -> ``dashboard_pupils_in_independent_ap_special_pct`` by
  ``pupil_group`` (percent; academic_year).
- ``ks2_attainment.csv`` -> ``dashboard_ks2_rwm_expected_pct`` (percent),
  ``dashboard_ks2_rwm_expected_pupils``, ``dashboard_ks2_rwm_eligible_pupils`` (pupils) by
  ``sen_status`` (academic_year).
- ``ks4_attainment.csv`` -> ``dashboard_ks4_pupils`` (pupils), ``dashboard_ks4_schools``
  (schools), ``dashboard_ks4_attainment8``, ``dashboard_ks4_progress8`` and its confidence
  limits (score) by ``sen_status`` (academic_year).
- ``ehcp_timeliness.csv`` -> ``dashboard_new_plans`` (plans) and
  ``dashboard_ehcp_timeliness_pct`` (percent issued within 20 weeks) (calendar_year).
- ``discontinued_plans.csv`` -> ``dashboard_discontinued_plans`` by ``age_group``
  ``school_age`` / ``older`` (plans; calendar_year).
- ``tribunals.csv`` -> ``dashboard_tribunal_appeal_rate`` (rate: appeals / appealable
  decisions, the unrounded ``value``; calendar_year).
- ``ehcp_ageprofile.csv`` -> ``dashboard_ehcp_caseload`` (plans) and
  ``dashboard_ehcp_caseload_pct`` (percent) by ``age_band`` (january: SEN2 counts at January).
- ``ofsted.csv`` -> reference table ``area_send_inspections`` (latest outcome per council,
  a snapshot), no observations.

Inner/Outer London sub-regional rows (KS2/KS4) have no ONS region code and are dropped (noted).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sendcast.ingest import ImportResult
from sendcast.ingest.common import (
    GEO_LEVEL_MAP,
    IngestError,
    concat_observations,
    finish,
    read_published_csv,
)
from sendcast.ingest.dsg import (
    ENGLAND_CODE,
    LaLookup,
    financial_year_start,
    lookup_path,
    normalise_name,
    parse_series,
    year_label,
)

SOURCE = "send-ap-dashboard"
RELEASE = "b215e61"  # the dashboard repository commit the tables were exported from
_SUBREGIONS = {"inner london", "outer london"}


def _snake(label: Any) -> str:
    """'EHC plan' -> 'ehc_plan'; 'Independent or non-maintained' -> 'independent_non_maintained'."""
    s = normalise_name(str(label)).replace("/", " ")
    s = s.replace(" or ", " ").replace("pupils on ", "").replace("pupils with ", "")
    s = s.replace(" plans", " plan")
    return "_".join(s.split())


def _geo(df: pd.DataFrame, lookup: LaLookup, *, file: str, default_level: str = "la") -> pd.DataFrame:
    """Resolve each row's area: ONS code, DfE code, name and level.

    Uses the published ``new_la_code`` where present, else the council name (``la_name``);
    regions by ``region_code`` or ``region_name``. Returns a frame aligned with ``df`` with a
    boolean ``keep`` (False for Inner/Outer London rows, which have no ONS region code).
    """
    rows: list[dict[str, Any]] = []
    cols = set(df.columns)
    for rec in df.to_dict("records"):
        line = int(rec["_line"])
        if "geographic_level" in cols:
            raw = str(rec["geographic_level"]).strip()
            if raw not in GEO_LEVEL_MAP:
                raise IngestError(file, f"unknown geographic_level {raw!r}", line=line, field="geographic_level")
            level = GEO_LEVEL_MAP[raw]
        else:
            level = default_level
        if level == "national":
            rows.append(
                dict(
                    la_code=ENGLAND_CODE,
                    old_la_code=None,
                    la_name="England",
                    geographic_level=level,
                    keep=True,
                )
            )
            continue
        if level == "regional":
            rname = str(rec.get("region_name", "")).strip()
            if normalise_name(rname) in _SUBREGIONS:
                rows.append(
                    dict(
                        la_code="",
                        old_la_code=None,
                        la_name=rname,
                        geographic_level=level,
                        keep=False,
                    )
                )
                continue
            code, name = lookup.region_by_name(rname, file=file, line=line, field="region_name")
            published = str(rec.get("region_code", "") or "").strip()
            rows.append(
                dict(
                    la_code=published or code,
                    old_la_code=None,
                    la_name=name,
                    geographic_level=level,
                    keep=True,
                )
            )
            continue
        name = str(rec.get("la_name", "")).strip()
        ons = str(rec.get("new_la_code", "") or "").strip()
        old = str(rec.get("old_la_code", "") or "").strip().removesuffix(".0")
        if ons:
            match = lookup.by_ons.get(ons)
            old = old or (match.old_la_code if match else "")
        else:
            m = lookup.la_by_name(name, file=file, line=line, field="la_name")
            ons, old = m.la_code, old or m.old_la_code
        rows.append(dict(la_code=ons, old_la_code=old or None, la_name=name, geographic_level="la", keep=True))
    return pd.DataFrame(rows, index=df.index)


def _academic_year(raw: pd.Series, lines: pd.Series, *, file: str, field: str) -> pd.Series:
    """Start year of an academic year published as '2022/23' or 202223(.0)."""
    return pd.Series(
        [financial_year_start(v, file=file, line=int(ln), field=field) for v, ln in zip(raw, lines, strict=True)],
        index=raw.index,
        dtype="int64",
    )


def _calendar_year(raw: pd.Series, lines: pd.Series, *, file: str, field: str) -> pd.Series:
    """A calendar year published as '2017' or '2017.0'."""
    text = raw.astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    ok = text.str.fullmatch(r"(19|20)\d\d")
    if not ok.all():
        pos = int(np.flatnonzero(~ok.to_numpy())[0])
        raise IngestError(file, f"not a year: {raw.iloc[pos]!r}", line=int(lines.iloc[pos]), field=field)
    return text.astype("int64")


def _emit(
    df: pd.DataFrame,
    geo: pd.DataFrame,
    *,
    file: str,
    measures: dict[str, tuple[str, str]],
    topic: str,
    breakdown: pd.Series | str,
    period_type: str,
    year: pd.Series,
    dedupe: bool = False,
) -> pd.DataFrame:
    """Tidy rows for ``measures`` (published column -> (measure, unit)) from kept rows.

    ``dedupe`` drops rows repeating the same area/year/value (a total repeated on every
    breakdown row of the published table). Returns the unvalidated tidy frame.
    """
    keep = geo["keep"].to_numpy(dtype=bool)
    frames = []
    for col, (measure, unit) in measures.items():
        values, reasons = parse_series(df[col], df["_line"], file=file, field=col)
        if period_type == "financial_year" or period_type == "academic_year":
            period = year.map(year_label)
        elif period_type == "january":
            period = year.map(lambda y: f"{y}-01")
        else:
            period = year.astype(str)
        part = pd.DataFrame(
            {
                "la_code": geo["la_code"],
                "old_la_code": geo["old_la_code"],
                "la_name": geo["la_name"],
                "geographic_level": geo["geographic_level"],
                "measure": measure,
                "breakdown_topic": topic,
                "breakdown": breakdown,
                "period_type": period_type,
                "year": year,
                "period": period,
                "value": values,
                "missing_reason": reasons,
                "unit": unit,
                "line": df["_line"].astype("int64"),
            },
            index=df.index,
        )[keep]
        if dedupe:
            part = part.drop_duplicates(["la_code", "la_name", "year", "value", "missing_reason"])
        frames.append(part)
    return pd.concat(frames, ignore_index=True)


def _read(folder: Path, name: str, required: list[str]) -> pd.DataFrame:
    df = read_published_csv(folder / name, required=required)
    if df.empty:
        raise IngestError(name, "no data rows", line=2)
    return df


def _dsg_deficit(folder: Path, lookup: LaLookup) -> pd.DataFrame:
    name = "dsg_deficit.csv"
    pct_col = "DSG cumulative balance as a % of the total income"
    df = _read(
        folder,
        name,
        ["geographic_level", "region_name", "la_name", "deficit", pct_col, "financial_year"],
    )
    # the two published columns must be mirror images, else the sign convention is unclear
    d, _ = parse_series(df["deficit"], df["_line"], file=name, field="deficit")
    b, _ = parse_series(df[pct_col], df["_line"], file=name, field=pct_col)
    bad = ~np.isclose(d, -b, atol=0.01, equal_nan=True)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise IngestError(
            name,
            "'deficit' is not minus the cumulative balance %",
            line=int(df["_line"].iloc[pos]),
            field="deficit",
        )
    year = pd.Series(
        [
            financial_year_start(v, file=name, line=int(ln), field="financial_year")
            for v, ln in zip(df["financial_year"], df["_line"], strict=True)
        ],
        index=df.index,
        dtype="int64",
    )
    return _emit(
        df,
        _geo(df, lookup, file=name),
        file=name,
        measures={"deficit": ("dsg_cumulative_balance_pct_income", "percent")},
        topic="total",
        breakdown="total",
        period_type="financial_year",
        year=year,
    )


def _specialist_spend(folder: Path, lookup: LaLookup) -> pd.DataFrame:
    name = "specialist_spend.csv"
    df = _read(folder, name, ["la_name", "category", "year", "Spend per head", "pop_est", "total_spend"])
    geo = _geo(df, lookup, file=name)
    year = pd.Series(
        [
            financial_year_start(v, file=name, line=int(ln), field="year")
            for v, ln in zip(df["year"], df["_line"], strict=True)
        ],
        index=df.index,
        dtype="int64",
    )
    provider = df["category"].map(_snake)
    spend = _emit(
        df,
        geo,
        file=name,
        measures={
            "Spend per head": ("specialist_spend_per_head", "gbp_per_head"),
            "total_spend": ("specialist_spend_total", "gbp"),
        },
        topic="provider",
        breakdown=provider,
        period_type="financial_year",
        year=year,
    )
    pop = _emit(
        df,
        geo,
        file=name,
        measures={"pop_est": ("population_2_18", "persons")},
        topic="total",
        breakdown="total",
        period_type="financial_year",
        year=year,
        dedupe=True,
    )
    return pd.concat([spend, pop], ignore_index=True)


def _percent_pupils_ehcp(folder: Path, lookup: LaLookup) -> pd.DataFrame:
    name = "percent_pupils_ehcp.csv"
    df = _read(
        folder,
        name,
        [
            "time_period",
            "geographic_level",
            "region_name",
            "la_name",
            "SEN provision",
            "% of pupils",
        ],
    )
    return _emit(
        df,
        _geo(df, lookup, file=name),
        file=name,
        measures={"% of pupils": ("dashboard_pupils_pct", "percent")},
        topic="sen_provision",
        breakdown=df["SEN provision"].map(_snake),
        period_type="academic_year",
        year=_academic_year(df["time_period"], df["_line"], file=name, field="time_period"),
    )


def _mainstream_with_sen(folder: Path, lookup: LaLookup) -> pd.DataFrame:
    name = "mainstream_with_sen.csv"
    df = _read(
        folder,
        name,
        [
            "time_period",
            "geographic_level",
            "region_name",
            "la_name",
            "total_pupils",
            "SEN provision",
            "% of pupils",
        ],
    )
    geo = _geo(df, lookup, file=name)
    year = _academic_year(df["time_period"], df["_line"], file=name, field="time_period")
    pct = _emit(
        df,
        geo,
        file=name,
        measures={"% of pupils": ("dashboard_mainstream_pupils_pct", "percent")},
        topic="sen_provision",
        breakdown=df["SEN provision"].map(_snake),
        period_type="academic_year",
        year=year,
    )
    total = _emit(
        df,
        geo,
        file=name,
        measures={"total_pupils": ("dashboard_mainstream_pupils", "pupils")},
        topic="total",
        breakdown="total",
        period_type="academic_year",
        year=year,
        dedupe=True,
    )
    return pd.concat([pct, total], ignore_index=True)


def _provider_types_grouped(folder: Path, lookup: LaLookup) -> pd.DataFrame:
    name = "provider_types_grouped.csv"
    col = "% in independent/AP/special"
    df = _read(
        folder,
        name,
        ["la_name", "academic_year", "Provision type", "geographic_level", "region_name", col],
    )
    return _emit(
        df,
        _geo(df, lookup, file=name),
        file=name,
        measures={col: ("dashboard_pupils_in_independent_ap_special_pct", "percent")},
        topic="pupil_group",
        breakdown=df["Provision type"].map(_snake),
        period_type="academic_year",
        year=_academic_year(df["academic_year"], df["_line"], file=name, field="academic_year"),
    )


def _ks2(folder: Path, lookup: LaLookup) -> pd.DataFrame:
    name = "ks2_attainment.csv"
    df = _read(
        folder,
        name,
        [
            "time_period",
            "geographic_level",
            "region_name",
            "la_name",
            "characteristic",
            "pt_rwm_met_expected_standard",
            "t_rwm_met_expected_standard",
            "t_rwm_eligible_pupils",
        ],
    )
    return _emit(
        df,
        _geo(df, lookup, file=name),
        file=name,
        measures={
            "pt_rwm_met_expected_standard": ("dashboard_ks2_rwm_expected_pct", "percent"),
            "t_rwm_met_expected_standard": ("dashboard_ks2_rwm_expected_pupils", "pupils"),
            "t_rwm_eligible_pupils": ("dashboard_ks2_rwm_eligible_pupils", "pupils"),
        },
        topic="sen_status",
        breakdown=df["characteristic"].map(_snake),
        period_type="academic_year",
        year=_academic_year(df["time_period"], df["_line"], file=name, field="time_period"),
    )


def _ks4(folder: Path, lookup: LaLookup) -> pd.DataFrame:
    name = "ks4_attainment.csv"
    df = _read(
        folder,
        name,
        [
            "time_period",
            "geographic_level",
            "region_name",
            "la_name",
            "characteristic_sen_description",
            "t_pupils",
            "t_schools",
            "avg_att8",
            "avg_p8score",
            "p8score_ci_low",
            "p8score_ci_upp",
        ],
    )
    return _emit(
        df,
        _geo(df, lookup, file=name),
        file=name,
        measures={
            "t_pupils": ("dashboard_ks4_pupils", "pupils"),
            "t_schools": ("dashboard_ks4_schools", "schools"),
            "avg_att8": ("dashboard_ks4_attainment8", "score"),
            "avg_p8score": ("dashboard_ks4_progress8", "score"),
            "p8score_ci_low": ("dashboard_ks4_progress8_ci_low", "score"),
            "p8score_ci_upp": ("dashboard_ks4_progress8_ci_upp", "score"),
        },
        topic="sen_status",
        breakdown=df["characteristic_sen_description"].map(_snake),
        period_type="academic_year",
        year=_academic_year(df["time_period"], df["_line"], file=name, field="time_period"),
    )


def _ehcp_timeliness(folder: Path, lookup: LaLookup) -> pd.DataFrame:
    name = "ehcp_timeliness.csv"
    pct = "% of EHCPs issued within 20 weeks"
    df = _read(
        folder,
        name,
        [
            "time_period",
            "geographic_level",
            "region_name",
            "new_la_code",
            "la_name",
            "new_all_ehc",
            pct,
        ],
    )
    return _emit(
        df,
        _geo(df, lookup, file=name),
        file=name,
        measures={
            "new_all_ehc": ("dashboard_new_plans", "plans"),
            pct: ("dashboard_ehcp_timeliness_pct", "percent"),
        },
        topic="total",
        breakdown="total",
        period_type="calendar_year",
        year=_calendar_year(df["time_period"], df["_line"], file=name, field="time_period"),
    )


def _discontinued(folder: Path, lookup: LaLookup) -> pd.DataFrame:
    name = "discontinued_plans.csv"
    df = _read(
        folder,
        name,
        [
            "time_period",
            "geographic_level",
            "region_name",
            "new_la_code",
            "la_name",
            "discontinued_schoolage",
            "discontinued_older",
        ],
    )
    geo = _geo(df, lookup, file=name)
    year = _calendar_year(df["time_period"], df["_line"], file=name, field="time_period")
    parts = [
        _emit(
            df,
            geo,
            file=name,
            measures={col: ("dashboard_discontinued_plans", "plans")},
            topic="age_group",
            breakdown=band,
            period_type="calendar_year",
            year=year,
        )
        for col, band in (("discontinued_schoolage", "school_age"), ("discontinued_older", "older"))
    ]
    return pd.concat(parts, ignore_index=True)


def _tribunals(folder: Path, lookup: LaLookup) -> pd.DataFrame:
    name = "tribunals.csv"
    df = _read(folder, name, ["la_name", "metric", "year", "value", "geographic_level", "region_name"])
    bad = df["metric"].str.strip() != "appealrate"
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise IngestError(
            name,
            f"unexpected metric {df['metric'].iloc[pos]!r}",
            line=int(df["_line"].iloc[pos]),
            field="metric",
        )
    return _emit(
        df,
        _geo(df, lookup, file=name),
        file=name,
        measures={"value": ("dashboard_tribunal_appeal_rate", "rate")},
        topic="total",
        breakdown="total",
        period_type="calendar_year",
        year=_calendar_year(df["year"], df["_line"], file=name, field="year"),
    )


_AGE_BANDS = {
    "Under 5": "under_5",
    "Age 5 to 10": "5_10",
    "Age 11 to 15": "11_15",
    "Age 16 to 19": "16_19",
    "Age 20 to 25": "20_25",
    "Total": "total",
}


def _ageprofile(folder: Path, lookup: LaLookup) -> pd.DataFrame:
    name = "ehcp_ageprofile.csv"
    df = _read(
        folder,
        name,
        [
            "time_period",
            "geographic_level",
            "region_name",
            "new_la_code",
            "old_la_code",
            "la_name",
            "characteristic_age",
            "num_caseload",
            "pc_caseload",
        ],
    )
    band = df["characteristic_age"].str.strip().map(_AGE_BANDS)
    if band.isna().any():
        pos = int(np.flatnonzero(band.isna().to_numpy())[0])
        raise IngestError(
            name,
            f"unknown age band {df['characteristic_age'].iloc[pos]!r}",
            line=int(df["_line"].iloc[pos]),
            field="characteristic_age",
        )
    return _emit(
        df,
        _geo(df, lookup, file=name),
        file=name,
        measures={
            "num_caseload": ("dashboard_ehcp_caseload", "plans"),
            "pc_caseload": ("dashboard_ehcp_caseload_pct", "percent"),
        },
        topic="age_band",
        breakdown=band,
        period_type="january",
        year=_calendar_year(df["time_period"], df["_line"], file=name, field="time_period"),
    )


OBSERVATION_FILES: dict[str, Callable[[Path, LaLookup], pd.DataFrame]] = {
    "dsg_deficit.csv": _dsg_deficit,
    "specialist_spend.csv": _specialist_spend,
    "percent_pupils_ehcp.csv": _percent_pupils_ehcp,
    "mainstream_with_sen.csv": _mainstream_with_sen,
    "provider_types_grouped.csv": _provider_types_grouped,
    "ks2_attainment.csv": _ks2,
    "ks4_attainment.csv": _ks4,
    "ehcp_timeliness.csv": _ehcp_timeliness,
    "discontinued_plans.csv": _discontinued,
    "tribunals.csv": _tribunals,
    "ehcp_ageprofile.csv": _ageprofile,
}


def read_ofsted(path: Path, lookup: LaLookup) -> pd.DataFrame:
    """The ``area_send_inspections`` reference table: one row per council with ``la_code``
    (ONS), ``old_la_code``, ``la_name``, the published outcome columns (renamed to snake case),
    ``file`` and ``line``."""
    name = path.name
    df = read_published_csv(path, required=["la_name", "la_code", "summary_outcome"])
    if df.empty:
        raise IngestError(name, "no data rows", line=2)
    codes, olds = [], []
    for rec in df.to_dict("records"):
        published = str(rec["la_code"]).strip()
        if published and published in lookup.by_ons:
            m = lookup.by_ons[published]
        else:
            m = lookup.la_by_name(rec["la_name"], file=name, line=int(rec["_line"]), field="la_name")
        codes.append(published or m.la_code)
        olds.append(m.old_la_code)
    renames = {
        "Publication date (previous inspection framework)": "previous_publication_date",
        "Inspection outcome: written statement of action required? "
        "(previous inspection framwork)": "previous_wsoa_required",
        "Revisit outcome: sufficient progress in addressing all significant weaknesses? "
        "(previous inspection framework)": "previous_revisit_sufficient_progress",
        "revisit_publish_date_old_framework": "previous_revisit_publication_date",
        "Inspection publication date (new inspection framework)": "new_publication_date",
        "Inspection outcome (new inspection framework)": "new_outcome",
        "Priority action plan required? (new inspection framework)": "new_priority_action_plan",
    }
    out = df.rename(columns=renames).drop(columns=["la_code"])
    out.insert(0, "la_code", codes)
    out.insert(1, "old_la_code", olds)
    out["file"] = name
    return out.rename(columns={"_line": "line"}).reset_index(drop=True)


def detect(folder: Path) -> bool:
    """True when the folder holds the dashboard's prepared tables (dsg_deficit.csv and
    specialist_spend.csv at least)."""
    folder = Path(folder)
    return (folder / "dsg_deficit.csv").is_file() and (folder / "specialist_spend.csv").is_file()


def load(folder: Path, *, lookup_file: Path | None = None) -> ImportResult:
    """Import the dashboard tables present in ``folder`` (see the module docstring).

    Returns an :class:`ImportResult` with one validated observation table for all files and the
    ``area_send_inspections`` reference table when ``ofsted.csv`` is present. A file that is
    present but malformed raises IngestError; absent files are listed in the notes.
    """
    folder = Path(folder)
    lookup = LaLookup(lookup_path(folder, lookup_file))
    frames, files, notes = [], [], []
    for name, reader in OBSERVATION_FILES.items():
        path = folder / name
        if not path.is_file():
            notes.append(f"{name}: not present, skipped")
            continue
        frames.append(finish(reader(folder, lookup), source=SOURCE, release=RELEASE, file=name))
        files.append(path)
    tables: dict[str, pd.DataFrame] = {}
    if (folder / "ofsted.csv").is_file():
        tables["area_send_inspections"] = read_ofsted(folder / "ofsted.csv", lookup)
        files.append(folder / "ofsted.csv")
    notes += [
        "dsg_cumulative_balance_pct_income: positive = deficit (DfE's 'deficit' column)",
        "Inner/Outer London rows in KS2/KS4 dropped (no ONS region code)",
        "names-only files: 'Dorset' mapped to the 2019 unitary (E06000059)",
    ]
    return ImportResult(SOURCE, RELEASE, concat_observations(frames), tables, [*files, lookup.path], notes)

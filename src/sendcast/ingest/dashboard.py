"""DfE "SEND and AP inclusion dashboard": the prepared council/region/England tables.

The dashboard's tables are re-publications of other releases (s251 outturn, DSG, SEN in
England, SEN2, KS2/KS4, SEND Tribunal, Ofsted/CQC). Measures are prefixed ``dashboard_`` so
they never collide with the measures of the original releases' importers; the s251-derived
specialist spend keeps the names ``specialist_spend_per_head``, ``specialist_spend_total`` and
``population_2_18``. All rows have source ``send-ap-dashboard``. Each table is described by one
:class:`Table` spec in :data:`TABLES`, and :func:`read_table` reads any of them.

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

from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
    raise_at_first,
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


def _years(df: pd.DataFrame, field: str, *, period_type: str, file: str) -> pd.Series:
    """The ``year`` of each row from the published column ``field``.

    Financial and academic years ('2022-23', '2022/23' or 202223(.0)) give their start year;
    other periods are calendar years published as '2017' or '2017.0'.
    """
    raw, lines = df[field], df["_line"]
    if period_type in ("financial_year", "academic_year"):
        return pd.Series(
            [financial_year_start(v, file=file, line=int(ln), field=field) for v, ln in zip(raw, lines, strict=True)],
            index=raw.index,
            dtype="int64",
        )
    text = raw.astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    bad = ~text.str.fullmatch(r"(19|20)\d\d")
    raise_at_first(bad, df, file=file, field=field, message=lambda i: f"not a year: {raw.iloc[i]!r}")
    return text.astype("int64")


def _emit(
    df: pd.DataFrame,
    geo: pd.DataFrame,
    *,
    file: str,
    measures: Mapping[str, tuple[str, str]],
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
        values, reasons = parse_series(df[col], df["_line"], file=file, field=col, unit=unit)
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


# --------------------------------------------------------------------------------------------
# Table specs: what each published table holds and what it becomes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """Published columns of one table that become measures sharing one breakdown.

    ``measures`` maps a published column to ``(measure, unit)``. Every row gets breakdown
    ``topic`` / ``breakdown`` unless ``by`` names a published column whose label gives each row's
    category: snake-cased, or mapped through ``labels`` (a label not in ``labels`` is an
    IngestError naming the line). ``dedupe`` keeps one row per area/year/value, for a total the
    published table repeats on every breakdown row.
    """

    measures: Mapping[str, tuple[str, str]]
    topic: str = "total"
    breakdown: str = "total"
    by: str | None = None
    labels: Mapping[str, str] | None = None
    dedupe: bool = False


@dataclass(frozen=True)
class Table:
    """One published dashboard table (``file``) and how it becomes tidy rows.

    ``period_type`` says how ``year_column`` is read; ``columns`` are the published columns the
    file must have besides the measure columns of ``parts`` (required too, after these, in this
    order); ``check``, if given, validates the published frame before any area is resolved and
    raises IngestError naming file, line and field.
    """

    file: str
    period_type: str
    columns: tuple[str, ...]
    parts: tuple[Part, ...]
    year_column: str = "time_period"
    check: Callable[[pd.DataFrame, str], None] | None = None

    @property
    def required(self) -> list[str]:
        """Every column the published file must have."""
        cols = list(self.columns)
        for part in self.parts:
            cols += [c for c in part.measures if c not in cols]
        return cols


_BALANCE_PCT = "DSG cumulative balance as a % of the total income"


def _deficit_is_minus_balance(df: pd.DataFrame, file: str) -> None:
    """The two published columns must be mirror images, else the sign convention is unclear."""
    d, _ = parse_series(df["deficit"], df["_line"], file=file, field="deficit")
    b, _ = parse_series(df[_BALANCE_PCT], df["_line"], file=file, field=_BALANCE_PCT)
    bad = ~np.isclose(d, -b, atol=0.01, equal_nan=True)
    raise_at_first(
        bad, df, file=file, field="deficit", message=lambda _: "'deficit' is not minus the cumulative balance %"
    )


def _only_appeal_rates(df: pd.DataFrame, file: str) -> None:
    """tribunals.csv must hold the appeal rate only (``metric`` = ``appealrate``)."""
    bad = df["metric"].str.strip() != "appealrate"
    raise_at_first(bad, df, file=file, field="metric", message=lambda i: f"unexpected metric {df['metric'].iloc[i]!r}")


_AGE_BANDS = {
    "Under 5": "under_5",
    "Age 5 to 10": "5_10",
    "Age 11 to 15": "11_15",
    "Age 16 to 19": "16_19",
    "Age 20 to 25": "20_25",
    "Total": "total",
}
_AREA = ("time_period", "geographic_level", "region_name", "la_name")
_AREA_CODED = ("time_period", "geographic_level", "region_name", "new_la_code", "la_name")

TABLES: tuple[Table, ...] = (
    Table(
        "dsg_deficit.csv",
        "financial_year",
        columns=("geographic_level", "region_name", "la_name", "deficit", _BALANCE_PCT, "financial_year"),
        year_column="financial_year",
        parts=(Part({"deficit": ("dsg_cumulative_balance_pct_income", "percent")}),),
        check=_deficit_is_minus_balance,
    ),
    Table(
        "specialist_spend.csv",
        "financial_year",
        columns=("la_name", "category", "year", "Spend per head", "pop_est", "total_spend"),
        year_column="year",
        parts=(
            Part(
                {
                    "Spend per head": ("specialist_spend_per_head", "gbp_per_head"),
                    "total_spend": ("specialist_spend_total", "gbp"),
                },
                topic="provider",
                by="category",
            ),
            Part({"pop_est": ("population_2_18", "persons")}, dedupe=True),
        ),
    ),
    Table(
        "percent_pupils_ehcp.csv",
        "academic_year",
        columns=(*_AREA, "SEN provision"),
        parts=(Part({"% of pupils": ("dashboard_pupils_pct", "percent")}, topic="sen_provision", by="SEN provision"),),
    ),
    Table(
        "mainstream_with_sen.csv",
        "academic_year",
        columns=(*_AREA, "total_pupils", "SEN provision"),
        parts=(
            Part(
                {"% of pupils": ("dashboard_mainstream_pupils_pct", "percent")},
                topic="sen_provision",
                by="SEN provision",
            ),
            Part({"total_pupils": ("dashboard_mainstream_pupils", "pupils")}, dedupe=True),
        ),
    ),
    Table(
        "provider_types_grouped.csv",
        "academic_year",
        columns=("la_name", "academic_year", "Provision type", "geographic_level", "region_name"),
        year_column="academic_year",
        parts=(
            Part(
                {"% in independent/AP/special": ("dashboard_pupils_in_independent_ap_special_pct", "percent")},
                topic="pupil_group",
                by="Provision type",
            ),
        ),
    ),
    Table(
        "ks2_attainment.csv",
        "academic_year",
        columns=(*_AREA, "characteristic"),
        parts=(
            Part(
                {
                    "pt_rwm_met_expected_standard": ("dashboard_ks2_rwm_expected_pct", "percent"),
                    "t_rwm_met_expected_standard": ("dashboard_ks2_rwm_expected_pupils", "pupils"),
                    "t_rwm_eligible_pupils": ("dashboard_ks2_rwm_eligible_pupils", "pupils"),
                },
                topic="sen_status",
                by="characteristic",
            ),
        ),
    ),
    Table(
        "ks4_attainment.csv",
        "academic_year",
        columns=(*_AREA, "characteristic_sen_description"),
        parts=(
            Part(
                {
                    "t_pupils": ("dashboard_ks4_pupils", "pupils"),
                    "t_schools": ("dashboard_ks4_schools", "schools"),
                    "avg_att8": ("dashboard_ks4_attainment8", "score"),
                    "avg_p8score": ("dashboard_ks4_progress8", "score"),
                    "p8score_ci_low": ("dashboard_ks4_progress8_ci_low", "score"),
                    "p8score_ci_upp": ("dashboard_ks4_progress8_ci_upp", "score"),
                },
                topic="sen_status",
                by="characteristic_sen_description",
            ),
        ),
    ),
    Table(
        "ehcp_timeliness.csv",
        "calendar_year",
        columns=_AREA_CODED,
        parts=(
            Part(
                {
                    "new_all_ehc": ("dashboard_new_plans", "plans"),
                    "% of EHCPs issued within 20 weeks": ("dashboard_ehcp_timeliness_pct", "percent"),
                }
            ),
        ),
    ),
    Table(
        "discontinued_plans.csv",
        "calendar_year",
        columns=_AREA_CODED,
        parts=tuple(
            Part({col: ("dashboard_discontinued_plans", "plans")}, topic="age_group", breakdown=band)
            for col, band in (("discontinued_schoolage", "school_age"), ("discontinued_older", "older"))
        ),
    ),
    Table(
        "tribunals.csv",
        "calendar_year",
        columns=("la_name", "metric", "year", "value", "geographic_level", "region_name"),
        year_column="year",
        parts=(Part({"value": ("dashboard_tribunal_appeal_rate", "rate")}),),
        check=_only_appeal_rates,
    ),
    Table(
        "ehcp_ageprofile.csv",
        "january",
        columns=(
            "time_period",
            "geographic_level",
            "region_name",
            "new_la_code",
            "old_la_code",
            "la_name",
            "characteristic_age",
        ),
        parts=(
            Part(
                {
                    "num_caseload": ("dashboard_ehcp_caseload", "plans"),
                    "pc_caseload": ("dashboard_ehcp_caseload_pct", "percent"),
                },
                topic="age_band",
                by="characteristic_age",
                labels=_AGE_BANDS,
            ),
        ),
    ),
)

OBSERVATION_FILES: dict[str, Table] = {t.file: t for t in TABLES}


def _breakdown(df: pd.DataFrame, part: Part, *, file: str) -> pd.Series | str:
    """Each row's category for ``part`` (a Series), or the part's fixed category."""
    if part.by is None:
        return part.breakdown
    if part.labels is None:
        return df[part.by].map(_snake)
    raw = df[part.by]
    label = raw.str.strip().map(part.labels)
    topic = part.topic.replace("_", " ")
    raise_at_first(label.isna(), df, file=file, field=part.by, message=lambda i: f"unknown {topic} {raw.iloc[i]!r}")
    return label


def read_table(folder: Path, table: Table, lookup: LaLookup) -> pd.DataFrame:
    """The tidy rows (not yet validated) of one published dashboard ``table`` in ``folder``.

    Raises IngestError naming file, line and field for a missing column, a failed check, an
    unknown category or area, a bad period or a cell that is neither number nor marker.
    """
    name = table.file
    df = _read(folder, name, table.required)
    if table.check is not None:
        table.check(df, name)
    breakdowns = [_breakdown(df, part, file=name) for part in table.parts]
    geo = _geo(df, lookup, file=name)
    year = _years(df, table.year_column, period_type=table.period_type, file=name)
    frames = [
        _emit(
            df,
            geo,
            file=name,
            measures=part.measures,
            topic=part.topic,
            breakdown=breakdown,
            period_type=table.period_type,
            year=year,
            dedupe=part.dedupe,
        )
        for part, breakdown in zip(table.parts, breakdowns, strict=True)
    ]
    return pd.concat(frames, ignore_index=True)


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
    for name, table in OBSERVATION_FILES.items():
        path = folder / name
        if not path.is_file():
            notes.append(f"{name}: not present, skipped")
            continue
        frames.append(finish(read_table(folder, table, lookup), source=SOURCE, release=RELEASE, file=name))
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

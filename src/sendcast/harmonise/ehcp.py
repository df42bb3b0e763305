"""Harmonised EHCP series across the 2022 (aggregate SEN2) and 2025 (person-level) releases.

:func:`ehcp_series` turns the store's observations (already de-duplicated, later release wins)
into analysis-ready long rows; :func:`reconcile` reports how far LA rows are from national and
regional rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.core.groupby import SeriesGroupBy

from sendcast.ingest.common import WHOLE_UNITS

SERIES_COLUMNS = ["la_code", "la_name", "year", "period_type", "measure", "value", "source_release"]

# 2025 release placement columns -> harmonised group (groups partition the total with `other`).
PLACEMENT_GROUPS: dict[str, list[str]] = {
    "mainstream": ["mainstream_la_maintained", "mainstream_academy", "mainstream_free_school",
                   "mainstream_independent"],
    "resourced_provision": [
        "mainstream_la_maintained_resourced_provision", "mainstream_la_maintained_senunit",
        "mainstream_academy_resourced_provision", "mainstream_academy_senunit",
        "mainstream_free_school_resourced_provision", "mainstream_free_school_senunit"],
    "state_special": ["special_la_maintained", "special_academy_free"],
    "independent_special": ["special_independent", "special_non_maintained"],
    "ap_pru": ["ap_pru_total"],
    "post16_fe": ["fe_total"],
}  # fmt: skip
GROUPS = [*PLACEMENT_GROUPS, "other"]

# 2022 release: every published establishment type (snake case of establishment_type) -> group.
# Group "other" is derived as total minus the other groups, so subtotal types mapped there
# ('awaiting_provision_total') cannot be double counted.
ESTABLISHMENT_GROUPS: dict[str, str] = {
    "mainstream_la_maintained": "mainstream",
    "mainstream_academy": "mainstream",
    "mainstream_free_school": "mainstream",
    "mainstream_independent": "mainstream",
    "mainstream_la_maintained_sen_unit": "resourced_provision",
    "mainstream_la_maintained_resourced_provision": "resourced_provision",
    "mainstream_academy_sen_unit": "resourced_provision",
    "mainstream_academy_resourced_provision": "resourced_provision",
    "mainstream_free_school_sen_unit": "resourced_provision",
    "mainstream_free_school_resourced_provision": "resourced_provision",
    "special_la_maintained": "state_special",
    "special_academy_free": "state_special",
    "special_academy": "state_special",
    "special_free_school": "state_special",
    "hospital_school": "state_special",  # the publisher groups it under 'Special school'
    "special_non_maintained": "independent_special",
    "special_independent": "independent_special",
    "ap_pru_la_maintained": "ap_pru",
    "ap_pru_academy": "ap_pru",
    "ap_pru_free_school": "ap_pru",
    "general_fe_and_tertiary_colleges_he": "post16_fe",
    "other_fe": "post16_fe",
    "sixth_form_college": "post16_fe",
    "specialist_post_16_institutions": "post16_fe",
    "independent_specialist_providers": "post16_fe",
    # work-based learning rows (group 'Unknown' 2015-2018) add to the total; nearest 2025
    # category is UKRLP providers, part of fe_total
    "supported_internship": "post16_fe",
    "traineeship": "post16_fe",
    "apprenticeship": "post16_fe",
    "work_based_learning": "post16_fe",
    "non_maintained_early_years": "other",
    "neet": "other",
    "other": "other",
    "elective_home_education": "other",
    "other_arrangements_by_local_authority": "other",
    "other_arrangements_by_parents": "other",
    "permanently_excluded": "other",
    "awaiting_provision_total": "other",
    "awaiting_provision_above_compulsory_school_age_and_in_education": "other",
    "awaiting_provision_above_compulsory_school_age_and_not_in_education": "other",
    "awaiting_provision_below_compulsory_school_age_and_in_education": "other",
    "awaiting_provision_below_compulsory_school_age_and_not_in_education": "other",
    "awaiting_provision_compulsory_school_age_and_in_education": "other",
    "awaiting_provision_compulsory_school_age_and_not_in_education": "other",
}

BANDS = {
    "age_0_4": (0, 4),
    "age_5_10": (5, 10),
    "age_11_15": (11, 15),
    "age_16_19": (16, 19),
    "age_20_25": (20, 25),
}
BAND_2022 = {
    "under_5": "age_0_4",
    "5_10": "age_5_10",
    "11_15": "age_11_15",
    "16_19": "age_16_19",
    "20_25": "age_20_25",
}
# open-ended 2025 labels -> the single age they are counted at for band sums
OPEN_AGES = {"under_3": 2, "2_and_under": 2, "20_and_over": 20}
KEYS = ["la_code", "la_name", "year", "period_type"]


class HarmoniseError(ValueError):
    """The observations hold a category the harmonisation does not know."""


def _src(df: pd.DataFrame) -> pd.Series:
    return df["source"].astype(str) + ":" + df["release"].astype(str)


def _pick(obs: pd.DataFrame, measure: str, topic: str) -> pd.DataFrame:
    return obs[(obs["measure"] == measure) & (obs["breakdown_topic"] == topic)]


def _sum_strict(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Sum ``value`` per area/period; NaN if any part is missing (except 'not applicable' = 0)."""
    v = df["value"].where(~(df["value"].isna() & (df["missing_reason"] == "not applicable")), 0.0)
    g = df.assign(_v=v, _src=_src(df)).groupby(KEYS, dropna=False)
    out = g["_v"].sum(min_count=1).to_frame("value")
    out.loc[g["_v"].apply(lambda s: s.isna().any()), "value"] = np.nan
    out["source_release"] = g["_src"].first()
    out["measure"] = name
    return out.reset_index()


def _placement_groups(obs: pd.DataFrame, total: pd.DataFrame) -> pd.DataFrame:
    frames = []
    pl = _pick(obs, "ehcp_caseload", "placement")
    for group, cols in PLACEMENT_GROUPS.items():
        frames.append(_sum_strict(pl[pl["breakdown"].isin(cols)], group))
    est = _pick(obs, "ehcp_caseload", "establishment")
    if len(est):
        types = est["breakdown"].str.split("|").str[0]
        est = est[types != "total"]  # publisher's group subtotals
        types = types[types != "total"]
        unknown = sorted(set(types) - set(ESTABLISHMENT_GROUPS))
        if unknown:
            raise HarmoniseError(f"establishment type(s) with no placement group: {unknown}")
        est = est.assign(_group=types.map(ESTABLISHMENT_GROUPS))
        # 2025-release placements win where both exist for an area and year
        have = pl[KEYS].drop_duplicates().assign(_has=True)
        est = est.merge(have, on=KEYS, how="left")
        est = est[est["_has"].isna()].drop(columns="_has")
        for group in PLACEMENT_GROUPS:
            part = est[est["_group"] == group]
            s = _sum_strict(part, group)
            # a group with no published rows that year (e.g. FE before 2015) is 0
            base = est[KEYS].drop_duplicates()
            s = base.merge(s, on=KEYS, how="left")
            s["value"] = s["value"].fillna(0.0).where(s["measure"].isna() | s["value"].notna(), np.nan)
            s["measure"] = group
            s["source_release"] = s["source_release"].fillna(_src(est).iloc[0])
            frames.append(s)
    groups = pd.concat(frames, ignore_index=True)
    wide = groups.pivot_table(index=KEYS, columns="measure", values="value", aggfunc="first", dropna=False)
    wide = wide.reindex(columns=list(PLACEMENT_GROUPS))  # a group with no rows at all is missing
    t = total.set_index(KEYS)["value"]
    wide = wide.reindex(t.index.intersection(wide.index))
    other = t.reindex(wide.index) - wide[list(PLACEMENT_GROUPS)].sum(axis=1, min_count=len(PLACEMENT_GROUPS))
    oth = other.to_frame("value").reset_index()
    oth["measure"] = "other"
    oth = oth.merge(total[[*KEYS, "source_release"]], on=KEYS, how="left")
    return pd.concat([groups, oth], ignore_index=True)


def _ages(obs: pd.DataFrame, measure: str, topic: str, prefix: str) -> pd.DataFrame:
    frames = []
    single = _pick(obs, measure, topic)
    if len(single):
        lab = single["breakdown"]
        num = pd.to_numeric(lab, errors="coerce")
        exact = single[num.notna()]
        s = exact.assign(measure=prefix + "age_" + exact["breakdown"], source_release=_src(exact))
        frames.append(s[[*KEYS, "measure", "value", "source_release"]])
        age = num.fillna(lab.map(OPEN_AGES))
        known = single[age.notna()].assign(_age=age[age.notna()])
        for band, (lo, hi) in BANDS.items():
            part = known[(known["_age"] >= lo) & (known["_age"] <= hi)]
            if len(part):
                frames.append(_sum_strict(part, prefix + band))
    bands = _pick(obs, measure, "age_band")
    if len(bands):
        b = bands.assign(measure=prefix + bands["breakdown"].map(BAND_2022), source_release=_src(bands))
        frames.append(b[[*KEYS, "measure", "value", "source_release"]])
    if not frames:
        return pd.DataFrame(columns=SERIES_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    # single-age sums (later release) win over published bands for the same key
    return out.drop_duplicates([*KEYS, "measure"], keep="first")


def _total(obs: pd.DataFrame, measure: str, name: str) -> pd.DataFrame:
    t = _pick(obs, measure, "total")
    t = t[t["breakdown"] == "total"]
    return t.assign(measure=name, source_release=_src(t))[[*KEYS, "measure", "value", "source_release"]]


def ehcp_series(obs: pd.DataFrame) -> pd.DataFrame:
    """Return harmonised long rows (columns :data:`SERIES_COLUMNS`) from store observations.

    Measures: ``ehcp_total`` and placement groups (:data:`GROUPS`, January; ``other`` = total
    minus the rest), ages ``age_<a>`` and bands ``age_0_4`` ... ``age_20_25`` (January),
    ``new_plans``, ``new_plans_age_<a>`` and bands, ``ceased_plans``, ``requests``,
    ``assessments``, ``plans_within_20_weeks_pct``, ``tribunal_appeal_rate`` (calendar year).
    A group with a suppressed component is NaN, never 0.
    """
    total = _total(obs, "ehcp_caseload", "ehcp_total")
    parts = [total, _placement_groups(obs, total)]
    parts.append(_ages(obs, "ehcp_caseload", "age", ""))
    parts.append(_ages(obs, "new_plans", "age_started", "new_plans_"))
    parts.append(_total(obs, "new_plans", "new_plans"))
    ceased = _total(obs, "ceased_plans", "ceased_plans")
    reasons = pd.concat([_pick(obs, "ceased_plans", "reason"), _pick(obs, "ceased_statements", "reason")])
    if len(reasons):
        derived = _sum_strict(reasons, "ceased_plans")  # 2014-2021: sum of published reasons
        derived = derived.merge(ceased[KEYS], on=KEYS, how="left", indicator=True)
        derived = derived[derived["_merge"] == "left_only"].drop(columns="_merge")
        ceased = pd.concat([ceased, derived], ignore_index=True)
    parts.append(ceased)
    parts.append(_total(obs, "requests", "requests"))
    parts.append(_total(obs, "assessments", "assessments"))
    parts.append(_total(obs, "plans_issued_within_20_weeks_pct", "plans_within_20_weeks_pct"))
    parts.append(_total(obs, "tribunal_appeal_rate", "tribunal_appeal_rate"))
    out = pd.concat([p for p in parts if len(p)], ignore_index=True)[SERIES_COLUMNS]
    out["year"] = out["year"].astype("int64")
    return out.sort_values(["la_code", "measure", "year"]).reset_index(drop=True)


def reconcile(obs: pd.DataFrame, la_region: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return, per source/measure/period (and region), the sum of LA rows minus the published total.

    Uses total/total rows of count measures (unit not ``percent``), each publication on its
    own (two publications of one measure are never added together). Columns: ``source``,
    ``measure``, ``unit``, ``period_type``, ``year``, ``area`` (``E92000001`` or a region code),
    ``published``, ``sum_of_las``, ``difference``, ``las`` (LA rows), ``las_missing`` (LA rows
    with no number) and ``largest_la`` (the largest published LA figure). Regional checks need
    ``la_region`` (la_code -> region_code, from the importers' tables).
    """
    t = obs[(obs["breakdown_topic"] == "total") & (obs["breakdown"] == "total") & (obs["unit"] != "percent")]
    keys = ["source", "measure", "unit", "period_type", "year"]
    la = t[t["geographic_level"] == "la"]
    rows = []

    def summary(g: SeriesGroupBy) -> pd.DataFrame:  # type: ignore[type-arg]
        return pd.DataFrame(
            {
                "sum_of_las": g.sum(min_count=1),  # no number at all: nothing to add up
                "las": g.size(),
                "las_missing": g.apply(lambda v: int(v.isna().sum())),
                "largest_la": g.max(),
            }
        )

    nat = t[t["geographic_level"] == "national"].drop_duplicates(keys).set_index(keys)["value"]
    s = summary(la.groupby(keys)["value"])
    s["published"] = nat.reindex(s.index)
    s["area"] = "E92000001"
    rows.append(s.reset_index())
    if la_region is not None and len(la_region):
        lr = la_region.drop_duplicates("la_code")
        la2 = la.merge(lr, on="la_code", how="left")
        s2 = summary(la2.groupby([*keys, "region_code"])["value"])
        reg = t[t["geographic_level"] == "regional"].rename(columns={"la_code": "region_code"})
        s2["published"] = reg.drop_duplicates([*keys, "region_code"]).set_index([*keys, "region_code"])["value"]
        s2 = s2.reset_index().rename(columns={"region_code": "area"})
        rows.append(s2)
    out = pd.concat(rows, ignore_index=True)
    out["difference"] = out["sum_of_las"] - out["published"]
    cols = ["source", "measure", "unit", "period_type", "year", "area", "published", "sum_of_las", "difference"]
    return out[[*cols, "las", "las_missing", "largest_la"]]


# A national row may differ from the sum of its councils by rounding or late returns: up to 1%
# of the national figure (at least 10). A check of the file, not a model assumption.
RECONCILE_TOLERANCE = 0.01
RECONCILE_MIN_TOLERANCE = 10.0


def reconciliation_gaps(recon: pd.DataFrame, known: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the rows of :func:`reconcile` (England only, counts of whole things: means, scores
    and money are not sums of councils) where the councils do not add up to the national row
    by more than suppression explains.

    Allowed: an excess of the councils over the national row up to the tolerance
    (:data:`RECONCILE_TOLERANCE` of the national figure, at least :data:`RECONCILE_MIN_TOLERANCE`);
    a shortfall up to the tolerance plus, for each council without a number, the largest
    published council figure (a suppressed or unavailable council cannot be larger). A file cut
    short, a dropped block of councils or a doubled one breaks this. ``known``: published gaps
    checked by hand (columns source, measure, period_type, year, published, sum_of_las), which
    are accepted only while the figures are exactly as recorded.
    """
    additive = recon["unit"].isin(list(WHOLE_UNITS)) if "unit" in recon.columns else True
    r = recon[(recon["area"] == "E92000001") & additive & recon["published"].notna() & recon["sum_of_las"].notna()]
    tol = np.maximum(RECONCILE_MIN_TOLERANCE, RECONCILE_TOLERANCE * r["published"].abs())
    explained = tol + r["las_missing"] * r["largest_la"].fillna(0).clip(lower=0)
    bad = r[(r["difference"] > tol) | (-r["difference"] > explained)]
    if known is not None and len(known) and len(bad):
        k = ["source", "measure", "period_type", "year", "published", "sum_of_las"]
        m = bad.merge(known[k].assign(_known=True), on=k, how="left")
        bad = bad[m["_known"].isna().to_numpy()]
    return bad.reset_index(drop=True)

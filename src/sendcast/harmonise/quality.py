"""Data-quality repairs applied when harmonising (the stored observations stay as published).

Found in the published files:

- **LA rows that repeat their region's total.** In the EHCP 2025 release, new EHC plans for
  calendar year 2022 in Yorkshire and The Humber show the regional total (6,078) on every
  council's row. A value that equals its region's total, shared by two or more councils of
  that region, cannot be right; it is set to missing with the reason
  ``publisher error: repeats the regional total`` and, for new plans, replaced by the same
  count from the earlier release as the DfE SEND and AP dashboard carries it
  (``dashboard_new_plans``), else by the sum of the release's own ages-when-started.

Every repair is listed in the ``data_quality`` table of the store with the file and line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

REGION_COPY = "publisher error: repeats the regional total"


def flag_region_copies(obs: pd.DataFrame, la_lookup: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (obs with region copies set missing, log of what was changed)."""
    region = la_lookup.drop_duplicates("la_code").set_index("la_code")["region_code"]
    key = ["source", "release", "measure", "breakdown_topic", "breakdown", "period_type", "year"]
    # counts only (percentages such as 100% legitimately repeat), and not small counts that
    # can coincide by chance
    la = obs[(obs["geographic_level"] == "la") & (obs["unit"] != "percent") & (obs["value"] >= 20)]
    la = la.assign(region_code=la["la_code"].map(region))
    reg = obs[(obs["geographic_level"] == "regional") & obs["value"].notna()][[*key, "la_code", "value"]]
    reg = reg.rename(columns={"la_code": "region_code", "value": "region_value"})
    m = la.reset_index().merge(reg, on=[*key, "region_code"], how="inner")
    m = m[np.isclose(m["value"], m["region_value"])]
    if m.empty:
        return obs, pd.DataFrame(columns=["la_code", "la_name", "measure", "year", "value", "file", "line", "action"])
    n_same = m.groupby([*key, "region_code"])["la_code"].transform("nunique")
    bad = m[n_same >= 2]
    out = obs.copy()
    out.loc[bad["index"], "value"] = np.nan
    out.loc[bad["index"], "missing_reason"] = REGION_COPY
    log = bad[["la_code", "la_name", "measure", "breakdown_topic", "breakdown", "year", "value", "file", "line"]].copy()
    log["action"] = "set missing (" + REGION_COPY + ")"
    return out, log.reset_index(drop=True)


def fill_new_plans(series: pd.DataFrame, obs: pd.DataFrame, flagged: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replace flagged new-plan totals: the earlier release's count (SEND/AP dashboard), else
    the sum of the release's single ages when none of them is suppressed."""
    targets = flagged[(flagged["measure"] == "new_plans") & (flagged["breakdown_topic"] == "total")]
    if targets.empty:
        return series, pd.DataFrame()
    dash = obs[(obs["measure"] == "dashboard_new_plans") & (obs["geographic_level"] == "la")]
    dash_value = dash.set_index(["la_code", "year"])["value"]
    ages = series[series["measure"].str.match(r"^new_plans_age_\d+$") & (series["period_type"] == "calendar_year")]
    age_sum = ages.groupby(["la_code", "year"])["value"].sum(min_count=1)
    age_complete = ages.groupby(["la_code", "year"])["value"].apply(lambda s: s.notna().all())
    out = series.copy()
    log = []
    for _, t in targets.iterrows():
        k = (t["la_code"], int(t["year"]))
        value, how = np.nan, ""
        if k in dash_value.index and np.isfinite(dash_value.loc[k]):
            value, how = float(dash_value.loc[k]), "earlier release via SEND/AP dashboard (dashboard_new_plans)"
        elif k in age_sum.index and bool(age_complete.get(k, False)):
            value, how = float(age_sum.loc[k]), "sum of new plans by age when started (same release)"
        sel = (
            (out["la_code"] == k[0])
            & (out["year"] == k[1])
            & (out["measure"] == "new_plans")
            & (out["period_type"] == "calendar_year")
        )
        out.loc[sel, "value"] = value
        out.loc[sel, "continuity"] = "repaired" if np.isfinite(value) else "missing"
        log.append(
            {
                "la_code": k[0],
                "la_name": t["la_name"],
                "measure": "new_plans",
                "year": k[1],
                "published": t["value"],
                "used": value,
                "action": f"replaced by {how}" if how else "left missing",
            }
        )
    return out, pd.DataFrame(log)

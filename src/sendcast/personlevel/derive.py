"""What the person-level returns say, at each census date: stocks, flows, pipeline, reconciliation.

All functions take the tables of a SEN2 store (:func:`sendcast.personlevel.importer.open_sen2_store`)
and return tidy tables of *exact* counts: the model uses them as they are, and every published
output passes them through :func:`sendcast.personlevel.report.protect_counts` first.

- :func:`transitions`: each plan active at a census, followed to the next census (continuing
  with its new placement group, need and age, or ceased with its reason) -- the records the
  model estimates its rates from;
- :func:`caseload`: plans at each census by age band (or NCY) x placement group x primary need;
- :func:`joiners`, :func:`leavers`, :func:`movers`: the year's flows by age band;
- :func:`pipeline`: requests -> assessments -> plans in each reporting year, with durations and
  20-week timeliness;
- :func:`reconcile`: the caseload against the council's published SEN2 aggregates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sendcast.model.structure import AGE_BANDS
from sendcast.personlevel.codes import CEASE_REASONS, flag

TOTAL = "total"
NOT_FOUND = "not in the next return"


def age_band(age: pd.Series) -> pd.Series:
    """Published SEN2 age band (``age_0_4`` ...) of an age at the census date."""
    out = pd.Series(None, index=age.index, dtype=object)
    for name, (lo, hi) in AGE_BANDS.items():
        out[(age >= lo) & (age <= hi)] = name
    return out.fillna("age_unknown")


def census_dates(manifest: dict[str, object]) -> dict[int, pd.Timestamp]:
    return {int(r["census_year"]): pd.Timestamp(r["census_date"]) for r in manifest["returns"]}  # type: ignore[attr-defined,index]


def _cross(df: pd.DataFrame, dims: Sequence[str], value: str = "plans") -> pd.DataFrame:
    """Counts by ``census_year`` and ``dims`` with a ``total`` category added to every dim (all
    margins), so a table and its totals come from one count and add up."""
    dims = list(dims)
    frames = []
    n = len(dims)
    for mask in range(2**n):
        keep = [d for i, d in enumerate(dims) if not mask & (1 << i)]
        g = df.groupby(["census_year", *keep], dropna=False).size().rename(value).reset_index()
        for i, d in enumerate(dims):
            if mask & (1 << i):
                g[d] = TOTAL
        frames.append(g)
    out = pd.concat(frames, ignore_index=True)[["census_year", *dims, value]]
    return out.sort_values(["census_year", *dims], kind="stable").reset_index(drop=True)


def caseload(tables: dict[str, pd.DataFrame], dims: Sequence[str] = ("age_band", "placement_group", "primary_need")
             ) -> pd.DataFrame:  # fmt: skip
    """Plans active at each census date by ``dims`` (any of age, age_band, ncy, placement_group,
    primary_need), with totals."""
    c = tables["caseload"].copy()
    c["age_band"] = age_band(c["age"])
    # national curriculum year as published: reception is R, before it "early years"
    ncy = c["ncy"].astype("Float64")
    c["ncy"] = ncy.map(lambda v: "unknown" if pd.isna(v) else "early_years" if v < 0 else "R" if v == 0
                       else f"Y{int(v)}").astype(object)  # fmt: skip
    return _cross(c, dims)


def transitions(tables: dict[str, pd.DataFrame], manifest: dict[str, object]) -> pd.DataFrame:
    """Each plan active at census t followed to census t+1 (only pairs of consecutive returns).

    Columns: census_year (t), person_id, age, ncy, placement_group, primary_need (at t),
    outcome (``continuing`` / ``ceased`` / ``not in the next return``), cease_reason,
    next_group, next_need, next_age, next_ncy."""
    cl = tables["caseload"]
    dates = census_dates(manifest)
    plans = tables["plans"]
    ceased = plans[plans["ceasedate"].notna()].sort_values("ceasedate")
    out = []
    for y in sorted(dates):
        if y + 1 not in dates:
            continue
        a = cl[cl["census_year"] == y].drop_duplicates("person_id")
        b = cl[cl["census_year"] == y + 1].drop_duplicates("person_id").set_index("person_id")
        t = a[["census_year", "person_id", "age", "ncy", "placement_group", "primary_need"]].copy()
        nxt = t["person_id"].map(b["placement_group"])
        t["next_group"] = nxt
        t["next_need"] = t["person_id"].map(b["primary_need"])
        t["next_age"] = t["person_id"].map(b["age"])
        t["next_ncy"] = t["person_id"].map(b["ncy"])
        c = ceased[(ceased["ceasedate"] > dates[y]) & (ceased["ceasedate"] <= dates[y + 1])]
        c = c.drop_duplicates("person_id", keep="last").set_index("person_id")
        reason = t["person_id"].map(c["ceasereason"])
        t["outcome"] = np.where(nxt.notna(), "continuing", np.where(reason.notna(), "ceased", NOT_FOUND))
        t["cease_reason"] = reason.where(nxt.isna())
        out.append(t)
    cols = ["census_year", "person_id", "age", "ncy", "placement_group", "primary_need", "outcome", "cease_reason",
            "next_group", "next_need", "next_age", "next_ncy"]  # fmt: skip
    return pd.concat(out, ignore_index=True)[cols] if out else pd.DataFrame(columns=cols)


def joiner_records(tables: dict[str, pd.DataFrame], manifest: dict[str, object]) -> pd.DataFrame:
    """Plans active at census t+1 that were not at census t (census_year = t+1), with whether
    the plan started in the year (a new plan) or earlier (moved in, or missing from the last return)."""
    cl = tables["caseload"]
    dates = census_dates(manifest)
    plans = tables["plans"]
    start = plans.sort_values("census_year").drop_duplicates("person_id", keep="last").set_index("person_id")[
        "startdate"]  # fmt: skip
    out = []
    for y in sorted(dates):
        if y - 1 not in dates:
            continue
        before = set(cl.loc[cl["census_year"] == y - 1, "person_id"])
        j = cl[(cl["census_year"] == y) & ~cl["person_id"].isin(before)].drop_duplicates("person_id").copy()
        s = pd.to_datetime(j["person_id"].map(start))
        j["new_plan"] = (s > dates[y - 1]) & (s <= dates[y])
        out.append(j)
    return pd.concat(out, ignore_index=True) if out else cl.iloc[0:0].assign(new_plan=False)


def joiners(tables: dict[str, pd.DataFrame], manifest: dict[str, object],
            dims: Sequence[str] = ("age_band", "placement_group", "primary_need")) -> pd.DataFrame:  # fmt: skip
    """Plans new at each census (not active at the previous one), by ``dims``, with totals."""
    j = joiner_records(tables, manifest)
    j["age_band"] = age_band(j["age"])
    return _cross(j, dims, "joiners")


def leavers(tables: dict[str, pd.DataFrame], manifest: dict[str, object]) -> pd.DataFrame:
    """Plans active at census t and not at t+1, by age band and cease reason (census_year = t+1)."""
    tr = transitions(tables, manifest)
    lv = tr[tr["outcome"] != "continuing"].copy()
    lv["census_year"] = lv["census_year"] + 1
    lv["age_band"] = age_band(lv["age"])
    lv["cease_reason"] = lv["cease_reason"].map(lambda r: CEASE_REASONS.get(str(r), str(r))).where(
        lv["outcome"] == "ceased", NOT_FOUND)  # fmt: skip
    return _cross(lv, ["age_band", "cease_reason"], "leavers")


def movers(tables: dict[str, pd.DataFrame], manifest: dict[str, object], kind: str = "placement_group"
           ) -> pd.DataFrame:  # fmt: skip
    """Continuing plans that changed placement group (``kind='placement_group'``) or primary
    need (``kind='primary_need'``) between census t and t+1, by age band, from and to."""
    tr = transitions(tables, manifest)
    nxt = "next_group" if kind == "placement_group" else "next_need"
    m = tr[(tr["outcome"] == "continuing") & (tr[kind] != tr[nxt])].copy()
    m["census_year"] = m["census_year"] + 1
    m["age_band"] = age_band(m["age"])
    m = m.rename(columns={kind: "from", nxt: "to"})
    return _cross(m, ["age_band", "from", "to"], "movers")


def pipeline(tables: dict[str, pd.DataFrame], manifest: dict[str, object]) -> pd.DataFrame:
    """Requests received in each return's reporting year (the calendar year before the census)
    and what became of them by the census date, with median durations and 20-week timeliness.

    Returns a long table: census_year, measure, value, unit."""
    rq, asm, plans = tables["requests"], tables["assessments"], tables["plans"]
    rows = []
    for y in sorted(census_dates(manifest)):
        r = rq[rq["census_year"] == y]
        r = r[(r["receiveddate"] >= pd.Timestamp(y - 1, 1, 1)) & (r["receiveddate"] < pd.Timestamp(y, 1, 1))]
        a = asm[(asm["census_year"] == y) & asm["requeststableid"].isin(r["requeststableid"])]
        p = plans[(plans["census_year"] == y) & plans["assessmenttableid"].isin(a["assessmenttableid"])]
        outcome = r["requestoutcome"].fillna("").str.upper()
        decided = r[r["requestoutcomedate"].notna()]
        days_decision = (decided["requestoutcomedate"] - decided["receiveddate"]).dt.days
        pr = p.merge(a[["assessmenttableid", "requeststableid", "week20"]], on="assessmenttableid").merge(
            r[["requeststableid", "receiveddate"]], on="requeststableid")  # fmt: skip
        weeks = (pr["startdate"] - pr["receiveddate"]).dt.days / 7
        measures: list[tuple[str, float, str]] = [
            ("requests", len(r), "requests"),
            ("requests_decided_to_assess", int((outcome == "A").sum()), "requests"),
            ("requests_decided_not_to_assess", int((outcome == "N").sum()), "requests"),
            ("requests_withdrawn", int((outcome == "W").sum()), "requests"),
            ("requests_open_at_census", int((outcome == "").sum()), "requests"),
            ("median_days_request_to_decision", float(days_decision.median()) if len(days_decision) else np.nan,
             "days"),
            ("assessments_plan_issued", int((a["assessmentoutcome"].fillna("").str.upper() == "Y").sum()),
             "assessments"),
            ("assessments_not_issued", int((a["assessmentoutcome"].fillna("").str.upper() == "N").sum()),
             "assessments"),
            ("plans_started", len(pr), "plans"),
            ("median_weeks_request_to_plan", float(weeks.median()) if len(weeks) else np.nan, "weeks"),
            ("plans_within_20_weeks", int((weeks <= 20).sum()), "plans"),
            ("plans_within_20_weeks_pct", float(100 * (weeks <= 20).mean()) if len(weeks) else np.nan, "percent"),
            ("plans_flagged_week20_pct", float(100 * flag(pr["week20"])[0].mean()) if len(pr) else np.nan,
             "percent"),
        ]  # fmt: skip
        rows += [{"census_year": y, "measure": m, "value": v, "unit": u} for m, v, u in measures]
    return pd.DataFrame(rows)


def reconcile(tables: dict[str, pd.DataFrame], manifest: dict[str, object], store: object | None = None
              ) -> pd.DataFrame:  # fmt: skip
    """The return's caseload against the council's published SEN2 aggregates (January) for the
    same census years: total and placement groups, with the difference and its percentage.

    Empty when the store has no council with the return's LA code (e.g. a fictional one). The
    published figures are the DfE's, after its own corrections and suppression; a difference
    within a few percent is usual (late records, corrections after submission)."""
    from sendcast.store import StoreError, open_store

    try:
        st = store or open_store()
        councils = st.table("councils")  # type: ignore[attr-defined]
        series = st.table("series")  # type: ignore[attr-defined]
    except (StoreError, FileNotFoundError):
        return pd.DataFrame()
    lea = str(manifest["lea"])
    match = councils[councils["old_la_code"].astype(str) == lea]
    if match.empty:
        return pd.DataFrame()
    la_code = str(match["la_code"].iloc[0])
    pub = series[(series["la_code"] == la_code) & (series["period_type"] == "january")]
    cl = tables["caseload"]
    rows = []
    for y in sorted(census_dates(manifest)):
        c = cl[cl["census_year"] == y]
        own = {"ehcp_total": len(c), **c["placement_group"].value_counts().to_dict()}
        for measure, n in own.items():
            p = pub[(pub["year"] == y) & (pub["measure"] == measure)]["value"]
            published = float(p.iloc[0]) if len(p) and pd.notna(p.iloc[0]) else np.nan
            rows.append(
                {
                    "census_year": y,
                    "la_code": la_code,
                    "la_name": str(match["la_name"].iloc[0]),
                    "measure": measure,
                    "return": float(n),
                    "published": published,
                    "difference": float(n) - published,
                    "difference_pct": 100 * (float(n) - published) / published if published else np.nan,
                }
            )
    return pd.DataFrame(rows)

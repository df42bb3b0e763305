"""The checks a council runs on its SEN2 return before submitting it.

Each check (:data:`CHECKS`) has an id, a severity (``error``: the return is wrong; ``query``:
unusual, to confirm), the module and field it looks at, and a description. :func:`run_checks`
returns one finding per row at fault: census year, check, severity, module, row (the module's
table id, as the COLLECT system shows it), field and a message. Findings never quote an
identifier (name, birth date, postcode, UPN, ULN): they point at the row, so the report can be
sent to the team who fix the records.

The checks follow the spec's list (DfE COLLECT validation and councils' own pre-submission
checks) plus four the data showed were needed: a UPN whose check letter is wrong, a code not
in the guide's list, a plan that ceases before it starts, and a 20-week flag that disagrees
with the dates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sendcast.personlevel.codes import (
    ASSESSMENT_OUTCOMES,
    CEASE_REASONS,
    GIAS_GROUPS,
    GIAS_NO_EHCP,
    MAINSTREAM_GROUP,
    NEEDS,
    REQUEST_OUTCOMES,
    SETTINGS,
    SEXES,
    UPN_UNKNOWN_REASONS,
    flag,
    upn_valid,
)
from sendcast.personlevel.read import Gias, Sen2Return

TWENTY_WEEKS_DAYS = 140


@dataclass(frozen=True)
class Check:
    id: str
    severity: str  # error | query
    module: str
    field: str
    description: str


CHECKS: dict[str, Check] = {c.id: c for c in (
    Check("PER_ID_MISSING", "error", "person", "NativeId", "person has no id in the council's system (NativeId)"),
    Check("PER_DUP_UPN", "error", "person", "upn", "the same UPN on more than one person"),
    Check("PER_NO_UPN_ULN_REASON", "error", "person", "upnunknown", "neither UPN nor ULN, and no reason given"),
    Check("PER_REASON_WITH_UPN", "error", "person", "upnunknown", "a reason for no UPN is given, but a UPN or ULN is"),
    Check("PER_UPN_INVALID", "error", "person", "upn", "the UPN is malformed or its check letter is wrong"),
    Check("PER_AGE_RANGE", "error", "person", "personbirthdate",
          "age outside 0-25 at the census date (people with an active plan)"),
    Check("PER_BIRTH_AFTER_REQUEST", "error", "requests", "receiveddate", "birth date after a request's received date"),
    Check("CODE_INVALID", "error", "*", "*", "a code not in the guide's list"),
    Check("REQ_OUTCOME_BEFORE_RECEIVED", "error", "requests", "requestoutcomedate",
          "request outcome dated before the request was received"),
    Check("REQ_SEVERAL_OPEN", "query", "requests", "requestoutcome", "several open requests for one person"),
    Check("ASM_OUTCOME_BEFORE_REQUEST", "error", "assessment", "assessmentoutcomedate",
          "assessment outcome dated before the request was received"),
    Check("PLAN_WITHOUT_ASSESSMENT", "error", "assessment", "assessmentoutcome",
          "a named plan whose assessment did not decide to issue a plan"),
    Check("PLAN_START_BEFORE_ASSESSMENT", "error", "namedplan", "startdate",
          "plan starts before its assessment outcome date"),
    Check("PLAN_CEASED_NO_REASON", "error", "namedplan", "ceasereason", "plan ceased with no reason"),
    Check("PLAN_REASON_NO_CEASE", "error", "namedplan", "ceasedate", "a cease reason but no cease date"),
    Check("PLAN_CEASE_BEFORE_START", "error", "namedplan", "ceasedate", "plan ceases before it starts"),
    Check("ACTIVE_NO_PLACEMENT", "error", "activeplans", "placementdetail", "an active plan with no placement"),
    Check("PLACEMENT_DATES", "error", "placementdetail", "entrydate", "placement entry date after its leaving date"),
    Check("PLACEMENT_NO_SETTING", "error", "placementdetail", "urn", "placement with no URN, UKPRN or sen setting"),
    Check("PLACEMENT_URN_UNKNOWN", "error", "placementdetail", "urn", "URN or UKPRN not found in GIAS"),
    Check("PLACEMENT_TYPE_NO_EHCP", "error", "placementdetail", "urn",
          "establishment type does not take children with EHC plans"),
    Check("PLACEMENT_SETTING_MISMATCH", "error", "placementdetail", "sensetting",
          "a sen setting given with an establishment, or a unit/resourced indicator at a non-mainstream one (GIAS)"),
    Check("PLACEMENT_AGE_SETTING", "error", "placementdetail", "sensetting", "NEET for someone under 16"),
    Check("NEED_NO_PRIMARY", "error", "activeplans", "sentyperank", "an active plan with no primary need"),
    Check("NEED_TWO_PRIMARY", "error", "senneed", "sentyperank", "two primary needs on one active plan"),
    Check("WEEK20_INCONSISTENT", "query", "assessment", "week20",
          "20-week flag disagrees with the request and plan dates (confirm an exception applies)"),
)}  # fmt: skip
FINDING_COLUMNS = ["census_year", "check", "severity", "module", "row", "field", "message"]
GIAS_CHECKS = ("PLACEMENT_URN_UNKNOWN", "PLACEMENT_TYPE_NO_EHCP")  # the indicator part of SETTING_MISMATCH too


def age_at(birth: pd.Series, when: pd.Timestamp) -> pd.Series:
    """Whole years of age on ``when`` (NaN where the birth date is missing)."""
    years = when.year - birth.dt.year
    before = (birth.dt.month > when.month) | ((birth.dt.month == when.month) & (birth.dt.day > when.day))
    return (years - before.astype(int)).astype("Float64")


class _Findings:
    def __init__(self, year: int) -> None:
        self.year = year
        self.rows: list[pd.DataFrame] = []

    def add(self, check: str, module: str, rows: pd.Series, field: str, message: str | pd.Series) -> None:
        if len(rows) == 0:
            return
        c = CHECKS[check]
        self.rows.append(pd.DataFrame({
            "census_year": self.year, "check": check, "severity": c.severity, "module": module,
            "row": rows.astype("int64").to_numpy(), "field": field,
            "message": message if isinstance(message, str) else message.to_numpy(),
        }))  # fmt: skip

    def frame(self) -> pd.DataFrame:
        if not self.rows:
            return pd.DataFrame(columns=FINDING_COLUMNS)
        return pd.concat(self.rows, ignore_index=True)[FINDING_COLUMNS]


def _blank(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype(str).str.strip() == "")


def _codes(f: _Findings, t: dict[str, pd.DataFrame]) -> None:
    lists: list[tuple[str, str, tuple[str, ...]]] = [
        ("person", "sex", SEXES), ("person", "upnunknown", UPN_UNKNOWN_REASONS),
        ("requests", "requestoutcome", REQUEST_OUTCOMES), ("assessment", "assessmentoutcome", ASSESSMENT_OUTCOMES),
        ("namedplan", "ceasereason", tuple(CEASE_REASONS)), ("plandetail", "sensetting", SETTINGS),
        ("placementdetail", "sensetting", SETTINGS), ("senneed", "sentype", NEEDS),
    ]  # fmt: skip
    for module, field, allowed in lists:
        df = t[module]
        v = df[field].astype(str).str.strip().str.upper()
        bad = ~_blank(df[field]) & ~v.isin(allowed)
        # a person field may hold an identifier typed in the wrong place: never echo it
        msg = "code not in the guide's list" if module == "person" else (
            "code " + v[bad].str.slice(0, 12) + " is not in the guide's list")  # fmt: skip
        f.add("CODE_INVALID", module, df.loc[bad, f"{module}tableid"], field, msg)


def _checks_person(f: _Findings, r: Sen2Return, t: dict[str, pd.DataFrame], age: pd.Series) -> None:
    p = t["person"]
    tid = p["persontableid"]
    age = pd.Series(age.reindex(tid.to_numpy()).to_numpy(), index=p.index)
    f.add("PER_ID_MISSING", "person", tid[_blank(p["NativeId"])], "NativeId", "blank NativeId")
    upn = p["upn"].str.upper().str.strip()
    has_upn, has_uln = ~_blank(p["upn"]), ~_blank(p["uniquelearnernumber"])
    dup = has_upn & upn.duplicated(keep=False)
    if dup.any():
        others = p[dup].groupby(upn[dup])["persontableid"].transform(lambda s: ", ".join(map(str, sorted(s))))
        f.add("PER_DUP_UPN", "person", tid[dup], "upn", "same UPN as person rows " + others.astype(str))
    f.add(
        "PER_NO_UPN_ULN_REASON",
        "person",
        tid[~has_upn & ~has_uln & _blank(p["upnunknown"])],
        "upnunknown",
        "no UPN, no ULN and no reason",
    )
    f.add(
        "PER_REASON_WITH_UPN",
        "person",
        tid[(has_upn | has_uln) & ~_blank(p["upnunknown"])],
        "upnunknown",
        "reason given although a UPN or ULN is recorded",
    )
    bad_upn = has_upn & ~upn.map(upn_valid)
    f.add("PER_UPN_INVALID", "person", tid[bad_upn], "upn", "UPN malformed or check letter wrong")
    # a plan may have ceased at 25 in the reporting year, so only active plans are held to 0-25
    active = p["persontableid"].isin(
        t["requests"].loc[t["requests"]["requeststableid"].isin(t["activeplans"]["requeststableid"]), "persontableid"]
    )
    out = active & age.notna() & ((age < 0) | (age > 25))
    f.add(
        "PER_AGE_RANGE",
        "person",
        tid[out],
        "personbirthdate",
        "age " + age[out].astype(int).astype(str) + " at the census date",
    )
    rq = t["requests"].merge(p[["persontableid", "personbirthdate"]], on="persontableid", how="left")
    after = rq["personbirthdate"].notna() & rq["receiveddate"].notna() & (rq["personbirthdate"] > rq["receiveddate"])
    f.add(
        "PER_BIRTH_AFTER_REQUEST",
        "requests",
        rq.loc[after, "requeststableid"],
        "receiveddate",
        "request received before the person's birth date",
    )


def _checks_flow(f: _Findings, r: Sen2Return, t: dict[str, pd.DataFrame]) -> None:
    rq, asm, npl = t["requests"], t["assessment"], t["namedplan"]
    bad = rq["requestoutcomedate"].notna() & rq["receiveddate"].notna() & (
        rq["requestoutcomedate"] < rq["receiveddate"])  # fmt: skip
    f.add(
        "REQ_OUTCOME_BEFORE_RECEIVED",
        "requests",
        rq.loc[bad, "requeststableid"],
        "requestoutcomedate",
        "outcome "
        + (rq.loc[bad, "receiveddate"] - rq.loc[bad, "requestoutcomedate"]).dt.days.astype(str)
        + " days before received",
    )
    # open: no outcome yet, and no assessment or plan hanging from it
    open_rq = _blank(rq["requestoutcome"]) & rq["requestoutcomedate"].isna() & ~rq["requeststableid"].isin(
        asm["requeststableid"]) & ~rq["requeststableid"].isin(t["activeplans"]["requeststableid"])  # fmt: skip
    several = open_rq & rq["persontableid"].map(rq[open_rq].groupby("persontableid").size()).fillna(0).gt(1)
    f.add(
        "REQ_SEVERAL_OPEN",
        "requests",
        rq.loc[several, "requeststableid"],
        "requestoutcome",
        "person " + rq.loc[several, "persontableid"].astype(str) + " has several open requests",
    )
    a = asm.merge(rq[["requeststableid", "receiveddate"]], on="requeststableid", how="left")
    bad = a["assessmentoutcomedate"].notna() & a["receiveddate"].notna() & (
        a["assessmentoutcomedate"] < a["receiveddate"])  # fmt: skip
    f.add(
        "ASM_OUTCOME_BEFORE_REQUEST",
        "assessment",
        a.loc[bad, "assessmenttableid"],
        "assessmentoutcomedate",
        "assessment outcome before the request was received",
    )
    n = npl.merge(a[["assessmenttableid", "assessmentoutcome", "assessmentoutcomedate", "receiveddate", "week20"]],
                  on="assessmenttableid", how="left")  # fmt: skip
    no_asm = n["assessmentoutcome"].astype(str).str.upper().ne("Y") | n["assessmentoutcomedate"].isna()
    f.add("PLAN_WITHOUT_ASSESSMENT", "assessment", n.loc[no_asm, "assessmenttableid"], "assessmentoutcome",
          "named plan " + n.loc[no_asm, "namedplantableid"].astype(str) + " hangs from an assessment not deciding to "
          "issue a plan")  # fmt: skip
    early = n["startdate"].notna() & n["assessmentoutcomedate"].notna() & (
        n["startdate"] < n["assessmentoutcomedate"])  # fmt: skip
    f.add(
        "PLAN_START_BEFORE_ASSESSMENT",
        "namedplan",
        n.loc[early, "namedplantableid"],
        "startdate",
        "plan starts before its assessment outcome date",
    )
    ceased = n["ceasedate"].notna()
    reason = ~_blank(n["ceasereason"])
    f.add(
        "PLAN_CEASED_NO_REASON",
        "namedplan",
        n.loc[ceased & ~reason, "namedplantableid"],
        "ceasereason",
        "cease date without a reason",
    )
    f.add(
        "PLAN_REASON_NO_CEASE",
        "namedplan",
        n.loc[~ceased & reason, "namedplantableid"],
        "ceasedate",
        "cease reason without a cease date",
    )
    back = ceased & n["startdate"].notna() & (n["ceasedate"] < n["startdate"])
    f.add(
        "PLAN_CEASE_BEFORE_START",
        "namedplan",
        n.loc[back, "namedplantableid"],
        "ceasedate",
        "cease date before the start date",
    )
    w20 = n["week20"].astype(str).str.strip()
    days = (n["startdate"] - n["receiveddate"]).dt.days
    yes, no = flag(n["week20"])
    wrong = days.notna() & ((yes & (days > TWENTY_WEEKS_DAYS)) | (no & (days <= TWENTY_WEEKS_DAYS)))
    f.add(
        "WEEK20_INCONSISTENT",
        "assessment",
        n.loc[wrong, "assessmenttableid"],
        "week20",
        "week20 = "
        + w20[wrong]
        + " but the plan started "
        + days[wrong].astype("Int64").astype(str)
        + " days after the request",
    )


def establishment_types(df: pd.DataFrame, gias: Gias | None) -> pd.Series:
    """GIAS establishment type of each placement row (by URN, else UKPRN); NaN when not found."""
    if gias is None:
        return pd.Series(np.nan, index=df.index, dtype=object)
    by_urn = df["urn"].map(gias.by_urn["type"]) if len(gias.by_urn) else pd.Series(np.nan, index=df.index)
    by_uk = df["ukprn"].map(gias.by_ukprn["type"]) if len(gias.by_ukprn) else pd.Series(np.nan, index=df.index)
    return by_urn.where(by_urn.notna(), by_uk)


def _checks_placements(f: _Findings, r: Sen2Return, t: dict[str, pd.DataFrame], age: pd.Series,
                       gias: Gias | None) -> None:  # fmt: skip
    act, pl, nd = t["activeplans"], t["placementdetail"], t["senneed"]
    tid = pl["placementdetailtableid"]
    f.add("ACTIVE_NO_PLACEMENT", "activeplans",
          act.loc[~act["activeplanstableid"].isin(pl["activeplanstableid"]), "activeplanstableid"], "placementdetail",
          "no placement rows for this active plan")  # fmt: skip
    bad = pl["entrydate"].notna() & pl["leavingdate"].notna() & (pl["entrydate"] > pl["leavingdate"])
    f.add("PLACEMENT_DATES", "placementdetail", tid[bad], "entrydate", "entry date after leaving date")
    has_est = pl["urn"].notna() | pl["ukprn"].notna()
    has_set = ~_blank(pl["sensetting"])
    f.add("PLACEMENT_NO_SETTING", "placementdetail", tid[~has_est & ~has_set], "urn", "no URN, UKPRN or sen setting")
    # age at the census of the person the placement belongs to
    owner = pl["activeplanstableid"].map(act.set_index("activeplanstableid")["requeststableid"]).map(
        t["requests"].set_index("requeststableid")["persontableid"])  # fmt: skip
    pl_age = owner.map(age)
    neet_young = has_set & pl["sensetting"].str.upper().eq("NEET") & pl_age.notna() & (pl_age < 16)
    f.add("PLACEMENT_AGE_SETTING", "placementdetail", tid[neet_young], "sensetting", "NEET for someone under 16")
    both = has_est & has_set
    f.add(
        "PLACEMENT_SETTING_MISMATCH",
        "placementdetail",
        tid[both],
        "sensetting",
        "a sen setting is given for a placement at an establishment",
    )
    if gias is not None:
        typ = establishment_types(pl, gias)
        unknown = has_est & typ.isna()
        field = np.where(pl["urn"].notna(), "urn", "ukprn")
        for fld in ("urn", "ukprn"):
            m = unknown & (field == fld)
            f.add("PLACEMENT_URN_UNKNOWN", "placementdetail", tid[m], fld, f"{fld.upper()} not in GIAS")
        no_ehcp = typ.isin(GIAS_NO_EHCP)
        f.add(
            "PLACEMENT_TYPE_NO_EHCP",
            "placementdetail",
            tid[no_ehcp],
            "urn",
            "establishment type " + typ[no_ehcp].astype(str) + " does not take children with EHC plans",
        )
        group = typ.map(GIAS_GROUPS)
        flagged = pd.Series(False, index=pl.index)
        for ind in ("senunitindicator", "resourcedprovisionindicator"):
            on = flag(pl[ind])[0] & group.notna() & group.ne(MAINSTREAM_GROUP) & ~flagged
            f.add(
                "PLACEMENT_SETTING_MISMATCH",
                "placementdetail",
                tid[on],
                ind,
                "unit/resourced provision indicator at a " + typ[on].astype(str),
            )
            flagged |= on
    rank = nd["sentyperank"]
    prim = nd[rank == 1]
    f.add("NEED_NO_PRIMARY", "activeplans",
          act.loc[~act["activeplanstableid"].isin(prim["activeplanstableid"]), "activeplanstableid"], "sentyperank",
          "no need ranked 1")  # fmt: skip
    two = prim["activeplanstableid"].duplicated(keep=False)
    f.add(
        "NEED_TWO_PRIMARY",
        "senneed",
        prim.loc[two, "senneedtableid"],
        "sentyperank",
        "another need on the same plan is also ranked 1",
    )


def person_ages(r: Sen2Return) -> pd.Series:
    """Age at the census date by person table id."""
    p = r.tables["person"]
    return pd.Series(age_at(p["personbirthdate"], pd.Timestamp(r.census_date)).to_numpy(), index=p["persontableid"])


def run_checks(r: Sen2Return, gias: Gias | None = None) -> pd.DataFrame:
    """Every finding on one return (columns :data:`FINDING_COLUMNS`), sorted by check and row."""
    f = _Findings(r.year)
    t = r.tables
    age = person_ages(r)
    _codes(f, t)
    _checks_person(f, r, t, age)
    _checks_flow(f, r, t)
    _checks_placements(f, r, t, age, gias)
    out = f.frame()
    order = {c: i for i, c in enumerate(CHECKS)}
    out = out.assign(_o=out["check"].map(order)).sort_values(["_o", "row", "field"], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)


def open_plans(r: Sen2Return) -> int:
    """Active plans at the census date (rows of the activeplans module)."""
    return len(r.tables["activeplans"])


def summary(returns: list[Sen2Return], findings: pd.DataFrame, gias: Gias | None) -> pd.DataFrame:
    """The clean summary shown first: per census year, people, open plans, and each check's count."""
    rows = []
    for r in returns:
        fy = findings[findings["census_year"] == r.year]
        counts = fy["check"].value_counts()
        base: dict[str, object] = {"census_year": r.year, "census_date": r.census_date.isoformat(), "lea": r.lea,
                                   "guide_version": r.version}  # fmt: skip
        rows.append({**base, "item": "people in the return", "severity": "", "count": len(r.tables["person"])})
        rows.append({**base, "item": "open plans at the census date", "severity": "", "count": open_plans(r)})
        for cid, c in CHECKS.items():
            not_run = gias is None and cid in GIAS_CHECKS
            rows.append({**base, "item": f"{cid}: {c.description}", "severity": c.severity,
                         "count": None if not_run else int(counts.get(cid, 0))})  # fmt: skip
    return pd.DataFrame(rows)


CheckFn = Callable[[Sen2Return], pd.DataFrame]

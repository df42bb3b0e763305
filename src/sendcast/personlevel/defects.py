"""Seeded defects for synthetic returns: one injector per check, each listing what it broke.

Every injector edits a rendered return (:func:`sendcast.personlevel.synth.render_return`) in
place for people not yet touched, chosen so that the edit triggers its own check and no other
(e.g. a plan made to start before its assessment outcome is taken from plans issued within 20
weeks, so the 20-week flag stays consistent). :func:`inject` returns the list of
:class:`~sendcast.personlevel.synth.Defect` that a correct checker must report exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from sendcast.personlevel.synth import census_date

if TYPE_CHECKING:
    from sendcast.personlevel.synth import Defect

Mods = dict[str, pd.DataFrame]


def _ts(value: object) -> pd.Timestamp:
    return pd.Timestamp(cast(Any, value))


class _Ctx:
    def __init__(self, mods: Mods, year: int, est: pd.DataFrame, per_kind: int, seed: int) -> None:
        self.m, self.year, self.est, self.k = mods, year, est, per_kind
        self.rng = np.random.default_rng([seed, year, 7])
        self.used: set[int] = set()
        self.census = pd.Timestamp(census_date(year))
        self.next_id = 1 + max(int(df[f"{name}tableid"].max()) for name, df in mods.items() if len(df))
        act = mods["activeplans"]
        self.active = set(act["pid"])
        pl = mods["placementdetail"]
        typ = pl["urn"].map(est.set_index("URN")["TypeOfEstablishment (name)"])
        self.pl_type = typ
        # people with one placement in the year, at a mainstream or special school, no indicators
        n_pl = pl.groupby("pid").size()
        plain = (pl["pid"].map(n_pl) == 1) & pl["urn"].notna() & (pl["senunitindicator"] == 0) & (
            pl["resourcedprovisionindicator"] == 0)  # fmt: skip
        self.school_pids = set(pl.loc[plain, "pid"])
        self.special_pids = set(pl.loc[plain & typ.isin(["Community special school", "Academy special converter"]),
                                       "pid"])  # fmt: skip

    def pick(self, pool: object, n: int | None = None) -> list[int]:
        cands = sorted(set(pool) - self.used)  # type: ignore[call-overload]
        n = self.k if n is None else n
        if len(cands) < n:
            raise ValueError(f"synthetic return too small to seed defects (needs {n}, has {len(cands)})")
        chosen = [int(x) for x in self.rng.choice(cands, size=n, replace=False)]
        self.used.update(chosen)
        return chosen

    def rows(self, module: str, pid: int) -> pd.Index:
        df = self.m[module]
        return df.index[df["pid"] == pid]

    def tid(self, module: str, idx: object) -> int:
        return int(cast(int, self.m[module].at[idx, f"{module}tableid"]))

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


def _d(check: str, module: str, row: int, field: str) -> Defect:
    from sendcast.personlevel.synth import Defect

    return Defect(check, module, row, field)


def _plan_pids(c: _Ctx) -> set[int]:
    return set(c.m["namedplan"]["pid"]) & c.active


def inj_person(c: _Ctx) -> list[Defect]:
    out: list[Defect] = []
    p = c.m["person"]
    act_school = c.active & c.school_pids
    with_upn = set(p.loc[p["upn"] != "", "pid"]) & act_school
    for pid in c.pick(act_school):
        i = c.rows("person", pid)[0]
        p.at[i, "NativeId"] = ""
        out.append(_d("PER_ID_MISSING", "person", c.tid("person", i), "NativeId"))
    for _ in range(c.k):
        a, b = c.pick(with_upn, 2)
        ia, ib = c.rows("person", a)[0], c.rows("person", b)[0]
        p.at[ib, "upn"] = p.at[ia, "upn"]
        out += [_d("PER_DUP_UPN", "person", c.tid("person", i), "upn") for i in (ia, ib)]
    for pid in c.pick(with_upn):
        i = c.rows("person", pid)[0]
        p.loc[i, ["upn", "uniquelearnernumber", "upnunknown"]] = ""
        out.append(_d("PER_NO_UPN_ULN_REASON", "person", c.tid("person", i), "upnunknown"))
    for pid in c.pick(with_upn):
        i = c.rows("person", pid)[0]
        p.at[i, "upnunknown"] = "UN1"
        out.append(_d("PER_REASON_WITH_UPN", "person", c.tid("person", i), "upnunknown"))
    for pid in c.pick(with_upn):
        i = c.rows("person", pid)[0]
        u = str(p.at[i, "upn"])
        p.at[i, "upn"] = ("B" if u[0] != "B" else "C") + u[1:]
        out.append(_d("PER_UPN_INVALID", "person", c.tid("person", i), "upn"))
    for pid in c.pick(act_school):
        i = c.rows("person", pid)[0]
        p.at[i, "personbirthdate"] = c.census - pd.DateOffset(years=27)
        out.append(_d("PER_AGE_RANGE", "person", c.tid("person", i), "personbirthdate"))
    rq = c.m["requests"]
    for pid in c.pick(act_school & _plan_pids(c)):
        i = c.rows("person", pid)[0]
        j = c.rows("requests", pid)[0]
        p.at[i, "personbirthdate"] = _ts(rq.at[j, "receiveddate"]) + pd.Timedelta(days=10)
        out.append(_d("PER_BIRTH_AFTER_REQUEST", "requests", c.tid("requests", j), "receiveddate"))
    return out


def inj_codes(c: _Ctx) -> list[Defect]:
    out = []
    nd = c.m["senneed"]
    for pid in c.pick(c.active, max(1, c.k - 1)):
        j = nd.index[(nd["pid"] == pid) & (nd["sentyperank"] == 1)][0]
        nd.at[j, "sentype"] = "AUT"
        out.append(_d("CODE_INVALID", "senneed", c.tid("senneed", j), "sentype"))
    npl = c.m["namedplan"]
    ceased = set(npl.loc[npl["ceasedate"].notna(), "pid"])
    for pid in c.pick(ceased, 1):
        j = c.rows("namedplan", pid)[0]
        npl.at[j, "ceasereason"] = "10"
        out.append(_d("CODE_INVALID", "namedplan", c.tid("namedplan", j), "ceasereason"))
    return out


def inj_requests(c: _Ctx) -> list[Defect]:
    out = []
    rq, asm = c.m["requests"], c.m["assessment"]
    decided = set(rq.loc[rq["requestoutcomedate"].notna() & (rq["kind"] == "plan"), "pid"])
    for pid in c.pick(decided & c.active):
        j = c.rows("requests", pid)[0]
        rq.at[j, "requestoutcomedate"] = _ts(rq.at[j, "receiveddate"]) - pd.Timedelta(days=5)
        out.append(_d("REQ_OUTCOME_BEFORE_RECEIVED", "requests", c.tid("requests", j), "requestoutcomedate"))
    not_assessed = set(rq.loc[(rq["kind"] == "other") & ~rq["requeststableid"].isin(asm["requeststableid"]), "pid"])
    new_rows = []
    for pid in c.pick(not_assessed):
        j = c.rows("requests", pid)[0]
        rq.at[j, "requestoutcome"] = ""
        rq.at[j, "requestoutcomedate"] = pd.NaT
        row = rq.loc[j].copy()
        row["requeststableid"] = c.new_id()
        row["NativeId"] = f"REQ{row['requeststableid']}"
        row["receiveddate"] = _ts(row["receiveddate"]) + pd.Timedelta(days=7)
        new_rows.append(row)
        out += [
            _d("REQ_SEVERAL_OPEN", "requests", int(cast(int, x)), "requestoutcome")
            for x in (rq.at[j, "requeststableid"], row["requeststableid"])
        ]
    c.m["requests"] = pd.concat([rq, pd.DataFrame(new_rows)], ignore_index=True)
    return out


def inj_assessments(c: _Ctx) -> list[Defect]:
    out = []
    asm, npl, rq = c.m["assessment"], c.m["namedplan"], c.m["requests"]
    planned = _plan_pids(c)
    within = set(asm.loc[asm["week20"] == "1", "pid"]) & planned
    for pid in c.pick(planned):
        j = c.rows("assessment", pid)[0]
        received = _ts(rq.loc[c.rows("requests", pid)[0], "receiveddate"])
        asm.at[j, "assessmentoutcomedate"] = received - pd.Timedelta(days=10)
        out.append(_d("ASM_OUTCOME_BEFORE_REQUEST", "assessment", c.tid("assessment", j), "assessmentoutcomedate"))
    for pid in c.pick(planned):
        j = c.rows("assessment", pid)[0]
        asm.at[j, "assessmentoutcome"] = "N"
        out.append(_d("PLAN_WITHOUT_ASSESSMENT", "assessment", c.tid("assessment", j), "assessmentoutcome"))
    for pid in c.pick(within):
        j = c.rows("namedplan", pid)[0]
        a = c.rows("assessment", pid)[0]
        npl.at[j, "startdate"] = _ts(asm.at[a, "assessmentoutcomedate"]) - pd.Timedelta(days=20)
        out.append(_d("PLAN_START_BEFORE_ASSESSMENT", "namedplan", c.tid("namedplan", j), "startdate"))
    for pid in c.pick(within):
        a = c.rows("assessment", pid)[0]
        asm.at[a, "week20"] = "0"
        out.append(_d("WEEK20_INCONSISTENT", "assessment", c.tid("assessment", a), "week20"))
    return out


def inj_plans(c: _Ctx) -> list[Defect]:
    out = []
    npl = c.m["namedplan"]
    ceased = set(npl.loc[npl["ceasedate"].notna(), "pid"])
    for pid in c.pick(ceased):
        j = c.rows("namedplan", pid)[0]
        npl.at[j, "ceasereason"] = ""
        out.append(_d("PLAN_CEASED_NO_REASON", "namedplan", c.tid("namedplan", j), "ceasereason"))
    for pid in c.pick(_plan_pids(c)):
        j = c.rows("namedplan", pid)[0]
        npl.at[j, "ceasereason"] = "2"
        out.append(_d("PLAN_REASON_NO_CEASE", "namedplan", c.tid("namedplan", j), "ceasedate"))
    for pid in c.pick(ceased):
        j = c.rows("namedplan", pid)[0]
        npl.at[j, "ceasedate"] = _ts(npl.at[j, "startdate"]) - pd.Timedelta(days=30)
        out.append(_d("PLAN_CEASE_BEFORE_START", "namedplan", c.tid("namedplan", j), "ceasedate"))
    return out


def inj_placements(c: _Ctx) -> list[Defect]:
    out = []
    pl, nd = c.m["placementdetail"], c.m["senneed"]
    drop: list[object] = []
    for pid in c.pick(c.active):
        drop += list(c.rows("placementdetail", pid))
        out.append(_d("ACTIVE_NO_PLACEMENT", "activeplans", c.tid("activeplans", c.rows("activeplans", pid)[0]),
                      "placementdetail"))  # fmt: skip
    left = set(pl.loc[pl["leavingdate"].notna() & pl["urn"].notna(), "pid"]) & c.active
    for pid in c.pick(left):
        j = pl.index[(pl["pid"] == pid) & pl["leavingdate"].notna()][0]
        pl.at[j, "entrydate"] = _ts(pl.at[j, "leavingdate"]) + pd.Timedelta(days=10)
        out.append(_d("PLACEMENT_DATES", "placementdetail", c.tid("placementdetail", j), "entrydate"))
    schools = c.active & c.school_pids
    he = int(c.est.loc[c.est["TypeOfEstablishment (name)"] == "Higher education institutions", "URN"].iloc[0])
    for check, field, value in (("PLACEMENT_NO_SETTING", "urn", pd.NA), ("PLACEMENT_URN_UNKNOWN", "urn", 100001),
                                ("PLACEMENT_TYPE_NO_EHCP", "urn", he),
                                ("PLACEMENT_SETTING_MISMATCH", "sensetting", "OLA")):  # fmt: skip
        for pid in c.pick(schools):
            j = c.rows("placementdetail", pid)[0]
            pl.at[j, field] = value
            out.append(_d(check, "placementdetail", c.tid("placementdetail", j), field))
    for pid in c.pick(c.active & c.special_pids, 1):
        j = c.rows("placementdetail", pid)[0]
        pl.at[j, "resourcedprovisionindicator"] = 1
        out.append(_d("PLACEMENT_SETTING_MISMATCH", "placementdetail", c.tid("placementdetail", j),
                      "resourcedprovisionindicator"))  # fmt: skip
    p = c.m["person"].set_index("pid")["personbirthdate"]
    young = set(p.index[(p > c.census - pd.DateOffset(years=15))])
    n_pl = pl.groupby("pid").size()
    settings = set(pl.loc[pl["sensetting"].isin(["OLA", "OPA", "EHE", "NIEO"]) & (pl["pid"].map(n_pl) == 1), "pid"])
    for pid in c.pick(settings & young & c.active):
        j = c.rows("placementdetail", pid)[0]
        pl.at[j, "sensetting"] = "NEET"
        out.append(_d("PLACEMENT_AGE_SETTING", "placementdetail", c.tid("placementdetail", j), "sensetting"))
    c.m["placementdetail"] = pl.drop(index=drop)
    # needs
    ranks = nd.groupby("pid")["sentyperank"].apply(set)
    one = set(ranks.index[ranks.map(lambda s: s == {1})]) & c.active
    two = set(ranks.index[ranks.map(lambda s: s == {1, 2})]) & c.active
    drop = []
    for pid in c.pick(one):
        drop += list(nd.index[nd["pid"] == pid])
        out.append(_d("NEED_NO_PRIMARY", "activeplans", c.tid("activeplans", c.rows("activeplans", pid)[0]),
                      "sentyperank"))  # fmt: skip
    for pid in c.pick(two):
        rows = nd.index[nd["pid"] == pid]
        nd.loc[rows, "sentyperank"] = 1
        out += [_d("NEED_TWO_PRIMARY", "senneed", c.tid("senneed", j), "sentyperank") for j in rows]
    c.m["senneed"] = nd.drop(index=drop)
    return out


INJECTORS: tuple[Callable[[_Ctx], list[Defect]], ...] = (
    inj_person,
    inj_codes,
    inj_requests,
    inj_assessments,
    inj_plans,
    inj_placements,
)


def inject(mods: Mods, year: int, est: pd.DataFrame, *, per_kind: int = 2, seed: int = 0) -> list[Defect]:
    """Seed defects of every kind into ``mods`` (in place); return what a checker must find."""
    c = _Ctx(mods, year, est, per_kind, seed)
    out: list[Defect] = []
    for fn in INJECTORS:
        out += fn(c)
    return out

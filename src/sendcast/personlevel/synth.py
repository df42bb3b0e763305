"""Synthetic SEN2 person-level returns: the nine COLLECT CSVs of a fictional council.

:func:`simulate` runs a fictional council's plans forward from known rates
(:class:`sendcast.personlevel.truth.TruthRates`): every child has a request, an assessment, a
plan with placements and a primary need, joiners and leavers each year, and requests that never
become plans. :func:`render_return` turns one census year into the nine modules as a council's
system would export them (with the guide version's column differences), :func:`inject_defects`
seeds one defect of each checked kind (a few of each) and lists them, and :func:`write_synthetic`
writes it all: ``Blade-Export_DD-MM-YYYY_<module>.csv`` files per census year, a GIAS-layout
establishments file, and a ``synthetic_truth`` folder (defects, rates) that the importer ignores.

Everything here is invented (names are made of syllables, postcodes use the unused area
``AV``); nothing is personal data, and nothing generated is ever committed.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from sendcast.model.structure import GROUPS
from sendcast.outputs.io import write_atomic
from sendcast.personlevel.codes import DATE_FORMAT, MODULES, NEEDS, upn_check_letter
from sendcast.personlevel.truth import MAX_AGE, TruthRates, draw_joiners, step_plans

FICTIONAL_LA = "990"  # not a DfE LA code
FICTIONAL_NAME = "Ashby Vale (fictional)"
GIAS_FILE = "edubasealldata.csv"
TRUTH_DIR = "synthetic_truth"

_SYL = ("ka", "vor", "lin", "tes", "sa", "ly", "mor", "ven", "dri", "qua", "zel", "bro", "nix", "tal", "rue", "pim",
        "osk", "fen", "jar", "wyl", "dex", "ul", "bri", "cas")  # fmt: skip
_ETHNICITY = {"WBRI": 70, "WOTH": 6, "MWBC": 3, "MOTH": 3, "ABAN": 2, "APKN": 4, "AIND": 2, "BAFR": 4, "BCRB": 1,
              "CHNE": 1, "OOTH": 2, "REFU": 1, "NOBT": 1}  # fmt: skip


def census_date(year: int) -> dt.date:
    """The SEN2 census date: the third Thursday of January ``year``."""
    first = dt.date(year, 1, 1)
    return first + dt.timedelta(days=(3 - first.weekday()) % 7 + 14)


@dataclass
class Simulation:
    """A fictional council's full history (truth tables; identifiers included)."""

    la: str
    years: list[int]  # census years rendered as returns
    persons: pd.DataFrame
    plans: pd.DataFrame  # one plan per planned person; requests that became plans
    other_requests: pd.DataFrame  # requests that did not become a plan
    placements: pd.DataFrame
    states: pd.DataFrame  # truth at each census: pid, census_year, age (at 31 August), group, need
    establishments: pd.DataFrame
    rates: TruthRates
    stock0: int = 0  # plans at the first (unrendered) census

    def joiners_mean(self, step: int) -> float:
        """Expected joiners in step ``step`` (0: the year after the first, unrendered census)."""
        return self.rates.joiners_per_plan * self.stock0 * (1 + self.rates.growth) ** step


# --------------------------------------------------------------------------- establishments


def _establishments(la: str, scale: int, rng: np.random.Generator) -> pd.DataFrame:
    counts = {
        "Community school": max(12, scale // 60), "Academy converter": max(12, scale // 50),
        "Community special school": max(2, scale // 700), "Academy special converter": max(2, scale // 700),
        "Other independent special school": max(3, scale // 500), "Non-maintained special school": 2,
        "Pupil referral unit": max(2, scale // 3000), "Further education": max(2, scale // 4000),
        "Higher education institutions": 1, "Welsh establishment": 1,
    }  # fmt: skip
    rows = []
    urn = 300000 + int(la) * 100
    for kind, n in counts.items():
        for i in range(n):
            urn += 1 + int(rng.integers(0, 5))
            ukprn = 10000000 + urn if kind in ("Further education", "Higher education institutions") else None
            rows.append({"URN": urn, "UKPRN": ukprn, "EstablishmentName": f"Ashby Vale {kind} {i + 1}",
                         "TypeOfEstablishment (name)": kind, "EstablishmentStatus (name)": "Open",
                         "LA (code)": la})  # fmt: skip
    est = pd.DataFrame(rows)
    mainstream = est["TypeOfEstablishment (name)"].isin(["Community school", "Academy converter"])
    est["has_rp"] = mainstream & (np.arange(len(est)) % 4 == 0)
    return est


_KINDS = {
    "mainstream": ["Community school", "Academy converter"],
    "state_special": ["Community special school", "Academy special converter"],
    "independent_special": ["Other independent special school", "Non-maintained special school"],
    "ap_pru": ["Pupil referral unit"],
}


def _candidates(est: pd.DataFrame) -> dict[str, np.ndarray]:
    t = est["TypeOfEstablishment (name)"]
    out = {g: est.loc[t.isin(k), "URN"].to_numpy() for g, k in _KINDS.items()}
    out["resourced_provision"] = est.loc[est["has_rp"], "URN"].to_numpy()
    out["post16_fe"] = est.loc[t == "Further education", "UKPRN"].to_numpy()
    return out


def _pick_estab(cands: dict[str, np.ndarray], group: str, age: int, rng: np.random.Generator
                ) -> tuple[object, object, str, int]:  # fmt: skip
    """(urn, ukprn, sensetting, rp_kind) for a new placement in ``group`` at ``age``."""
    if group == "other":
        if age < 5:
            setting = "EYP"
        elif age >= 16:
            setting = str(rng.choice(["NEET", "OLA", "OPA", "NIEO"], p=[0.5, 0.2, 0.15, 0.15]))
        else:
            setting = str(rng.choice(["OLA", "OPA", "EHE", "NIEO"], p=[0.35, 0.2, 0.25, 0.2]))
        return None, None, setting, 0
    pick = cands[group][int(rng.integers(len(cands[group])))]
    if group == "post16_fe":
        return None, int(pick), "", 0
    if group == "resourced_provision":
        return int(pick), None, "", 1 + int(rng.random() < 0.5)
    return int(pick), None, "", 0


# --------------------------------------------------------------------------- people


def _names(rng: np.random.Generator, n: int) -> tuple[list[str], list[str]]:
    def one(k: int) -> str:
        return "".join(rng.choice(_SYL, size=k)).capitalize()

    return [one(2) for _ in range(n)], [one(3) for _ in range(n)]


def _birth(census_year: int, age: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Birth dates of children aged ``age`` on the 31 August before the January census."""
    aug_year = census_year - 1
    start = pd.to_datetime([f"{aug_year - a - 1}-09-01" for a in age])
    return (start + pd.to_timedelta(rng.integers(0, 365, len(age)), unit="D")).to_numpy()


def _identifiers(la: str, pid: np.ndarray, birth: np.ndarray, age0: np.ndarray, rng: np.random.Generator
                 ) -> pd.DataFrame:  # fmt: skip
    n = len(pid)
    fore, sur = _names(rng, n)
    byear = pd.DatetimeIndex(birth).year.to_numpy()
    upns = []
    for p, y in zip(pid, byear, strict=True):
        body = f"{la}{(p // 1000) % 10000:04d}{y % 100:02d}{p % 1000:03d}"
        upns.append(f"{upn_check_letter(body)}{body}")
    has_upn = np.where(age0 >= 4, rng.random(n) < 0.95, rng.random(n) < 0.3)
    has_uln = (age0 >= 14) & (rng.random(n) < 0.7)
    uln = [f"{int(x)}" for x in 4000000000 + pid * 7 + 1]
    unknown = ~has_upn & ~has_uln
    eth = list(_ETHNICITY)
    w = np.array(list(_ETHNICITY.values()), dtype=float)
    return pd.DataFrame({
        "pid": pid, "forename": fore, "surname": sur, "personbirthdate": birth,
        "sex": np.where(rng.random(n) < 0.71, "M", "F"),
        "ethnicity": rng.choice(eth, size=n, p=w / w.sum()),
        "postcode": [f"AV{int(d)} {int(s)}{a}{b}" for d, s, a, b in zip(
            rng.integers(1, 10, n), rng.integers(1, 10, n), rng.choice(list("ABDEFGHJLNPQRSTUWXYZ"), n),
            rng.choice(list("ABDEFGHJLNPQRSTUWXYZ"), n), strict=True)],
        "upn": np.where(has_upn, upns, ""), "uniquelearnernumber": np.where(has_uln, uln, ""),
        "upnunknown": np.where(unknown, rng.choice(["UN1", "UN2", "UN3", "UN5"], size=n), ""),
        "secondary_need": np.where(rng.random(n) < 0.3, rng.choice(["SLCN", "SEMH", "MLD", "SPLD"], size=n), ""),
    })  # fmt: skip


def _chain(start: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Request, decision and assessment dates leading to plans that start on ``start``."""
    n = len(start)
    days = np.where(rng.random(n) < 0.6, rng.integers(95, 140, n), rng.integers(141, 300, n))
    received = start - days.astype("timedelta64[D]")
    decided = received + rng.integers(20, 60, n).astype("timedelta64[D]")
    assessed = start - rng.integers(1, 14, n).astype("timedelta64[D]")
    return {"receiveddate": received, "requestoutcomedate": decided, "assessmentoutcomedate": assessed,
            "week20": (days <= 140).astype(int)}  # fmt: skip


def _dates_between(a: dt.date, b: dt.date, n: int, rng: np.random.Generator) -> np.ndarray:
    span = (b - a).days
    return (np.datetime64(a) + rng.integers(1, span, n).astype("timedelta64[D]")).astype("datetime64[ns]")


def simulate(people: int = 2000, years: int = 4, *, seed: int = 1, last_year: int = 2025, la: str = FICTIONAL_LA,
             rates: TruthRates | None = None) -> Simulation:  # fmt: skip
    """Simulate a fictional council with about ``people`` active plans at the last census.

    Returns the truth for ``years`` census years ending in January ``last_year`` (one more year is
    simulated before the first, so the first return has a year of flows)."""
    if people < 10 or not 1 <= years <= 15:
        raise ValueError("people must be at least 10 and years between 1 and 15")
    rates = rates or TruthRates()
    rng = np.random.default_rng(seed)
    census_years = list(range(last_year - years, last_year + 1))  # first one is unrendered
    stock0 = max(10, int(round(people / (1.055**years))))
    est = _establishments(la, people, rng)
    cands = _candidates(est)

    # the first stock: ages like a caseload, placements and needs like joiners
    age_w = np.array([0.0, 0.0, 0.01, 0.02, 0.035, 0.05, 0.055, 0.06, 0.062, 0.065, 0.068, 0.07, 0.07, 0.068,
                      0.066, 0.062, 0.05, 0.04, 0.03, 0.02, 0.014, 0.01, 0.007, 0.005, 0.003, 0.0])  # fmt: skip
    from sendcast.personlevel.truth import BAND, categorical, restrict_to_age

    age = rng.choice(MAX_AGE + 1, size=stock0, p=age_w / age_w.sum())
    need = categorical(rng, rates.join_need()[BAND[age]])
    group = categorical(rng, restrict_to_age(rates.join_group()[BAND[age], need], age))
    c0 = census_date(census_years[0])
    yrs_in_plan = np.minimum(rng.uniform(0.1, 8.0, stock0), np.maximum(age - 1.5, 0.1))
    start = (np.datetime64(c0) - (yrs_in_plan * 365).astype("timedelta64[D]")).astype("datetime64[ns]")
    pid = np.arange(1, stock0 + 1)
    birth = _birth(census_years[0], age, rng)
    persons = [_identifiers(la, pid, birth, age, rng)]
    plans = [pd.DataFrame({"pid": pid, "startdate": start, **_chain(start, rng)})]
    states = [pd.DataFrame({"pid": pid, "census_year": census_years[0], "age": age, "group": group, "need": need})]
    place_rows: list[dict[str, object]] = []
    cur_place: dict[int, int] = {}

    def place(p: int, g: int, a: int, entry: np.datetime64) -> None:
        urn, ukprn, setting, rp = _pick_estab(cands, GROUPS[g], int(a), rng)
        cur_place[p] = len(place_rows)
        place_rows.append({"pid": p, "group": GROUPS[g], "urn": urn, "ukprn": ukprn, "sensetting": setting,
                           "rp_kind": rp, "entrydate": entry, "leavingdate": pd.NaT})  # fmt: skip

    for p, g, a, s in zip(pid, group, age, start, strict=True):
        place(int(p), int(g), int(a), s)
    cease_rows: list[pd.DataFrame] = []
    other_req: list[pd.DataFrame] = []
    next_pid = stock0 + 1
    cur = states[0]
    for t, (y0, y1) in enumerate(zip(census_years[:-1], census_years[1:], strict=True)):
        c_a, c_b = census_date(y0), census_date(y1)
        a_arr, g_arr, n_arr = (cur[c].to_numpy() for c in ("age", "group", "need"))
        st = step_plans(rates, a_arr, g_arr, n_arr, rng)
        p_arr = cur["pid"].to_numpy()
        when = _dates_between(c_a, c_b, len(p_arr), rng)
        reason = _cease_reasons(st.age, st.ceased, rng)
        cease_rows.append(pd.DataFrame({"pid": p_arr[st.ceased], "ceasedate": when[st.ceased],
                                        "ceasereason": reason[st.ceased]}))  # fmt: skip
        for i in np.flatnonzero(~st.ceased & (st.group != g_arr)):
            pi = int(p_arr[i])
            place_rows[cur_place[pi]]["leavingdate"] = when[i]
            place(pi, int(st.group[i]), int(st.age[i]), when[i] + np.timedelta64(1, "D"))
        for i in np.flatnonzero(st.ceased):
            place_rows[cur_place[int(p_arr[i])]]["leavingdate"] = when[i]
        keep = ~st.ceased
        # joiners
        lam = rates.joiners_per_plan * stock0 * (1 + rates.growth) ** t  # = Simulation.joiners_mean(t)
        nj = int(rng.poisson(lam))
        ja, jg, jn = draw_joiners(rates, nj, rng)
        jpid = np.arange(next_pid, next_pid + nj)
        next_pid += nj
        jstart = _dates_between(c_a, c_b, nj, rng)
        persons.append(_identifiers(la, jpid, _birth(y1, ja, rng), ja, rng))
        plans.append(pd.DataFrame({"pid": jpid, "startdate": jstart, **_chain(jstart, rng)}))
        for p, g, a, s in zip(jpid, jg, ja, jstart, strict=True):
            place(int(p), int(g), int(a), s)
        # requests that do not become plans (about 0.6 per new plan), from new people
        nr = int(rng.poisson(0.6 * lam))
        rpid = np.arange(next_pid, next_pid + nr)
        next_pid += nr
        rage = np.clip(rng.choice(MAX_AGE + 1, size=nr, p=rates.join_age()) - 1, 2, 24)
        persons.append(_identifiers(la, rpid, _birth(y0, rage, rng), rage, rng))
        other_req.append(_other_requests(rpid, c_a, c_b, rng))
        cur = pd.concat([
            pd.DataFrame({"pid": p_arr[keep], "census_year": y1, "age": st.age[keep], "group": st.group[keep],
                          "need": st.need[keep]}),
            pd.DataFrame({"pid": jpid, "census_year": y1, "age": ja, "group": jg, "need": jn}),
        ], ignore_index=True)  # fmt: skip
        states.append(cur)
    plan_df = pd.concat(plans, ignore_index=True)
    ceased = pd.concat(cease_rows, ignore_index=True) if cease_rows else pd.DataFrame(
        columns=["pid", "ceasedate", "ceasereason"])  # fmt: skip
    plan_df = plan_df.merge(ceased, on="pid", how="left")
    st_all = pd.concat(states, ignore_index=True)
    st_all["group"] = np.asarray(GROUPS)[st_all["group"].to_numpy()]
    st_all["need"] = np.asarray(NEEDS)[st_all["need"].to_numpy()]
    return Simulation(
        la=la, years=census_years[1:], persons=pd.concat(persons, ignore_index=True), plans=plan_df,
        other_requests=pd.concat(other_req, ignore_index=True) if other_req else pd.DataFrame(),
        placements=pd.DataFrame(place_rows), states=st_all, establishments=est, rates=rates, stock0=stock0,
    )  # fmt: skip


def _cease_reasons(age: np.ndarray, ceased: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    young = {"2": 45, "5": 35, "7": 7, "8": 1, "9": 12}
    old = {"2": 15, "3": 10, "4": 12, "5": 15, "6": 30, "7": 3, "9": 15}
    out = np.empty(len(age), dtype=object)
    for mask, d in ((age < 16, young), (age >= 16, old)):
        k = list(d)
        w = np.array(list(d.values()), dtype=float)
        out[mask] = rng.choice(k, size=int(mask.sum()), p=w / w.sum())
    out[age >= MAX_AGE] = "1"
    return out


def _other_requests(pid: np.ndarray, c_a: dt.date, c_b: dt.date, rng: np.random.Generator) -> pd.DataFrame:
    n = len(pid)
    received = _dates_between(c_a, c_b - dt.timedelta(days=1), n, rng)
    kind = rng.choice(["N", "W", "AN"], size=n, p=[0.65, 0.1, 0.25])
    decided = received + rng.integers(20, 60, n).astype("timedelta64[D]")
    assessed = decided + rng.integers(40, 100, n).astype("timedelta64[D]")
    return pd.DataFrame({"pid": pid, "receiveddate": received, "requestoutcomedate": decided,
                         "requestoutcome": np.where(kind == "AN", "A", kind), "assessmentoutcomedate": assessed,
                         "assessed": kind == "AN"})  # fmt: skip


def truth_tables(sim: Simulation) -> tuple[dict[str, object], dict[str, pd.DataFrame]]:
    """(manifest, tables) as an import of the clean returns would give them, straight from the
    truth (the caseload and plans tables the model reads): for model tests that need many
    councils without writing and reading CSVs. The import test checks the two agree."""
    st = sim.states[sim.states["census_year"].isin(sim.years)]
    caseload = pd.DataFrame({"census_year": st["census_year"], "person_id": st["pid"].astype(str),
                             "age": np.nan, "ncy": st["age"] - 4, "placement_group": st["group"],
                             "primary_need": st["need"]})  # fmt: skip
    p = sim.plans
    plans = pd.DataFrame({"census_year": sim.years[-1], "person_id": p["pid"].astype(str),
                          "startdate": p["startdate"], "ceasedate": p["ceasedate"],
                          "ceasereason": p["ceasereason"]})  # fmt: skip
    manifest: dict[str, object] = {
        "lea": sim.la,
        "returns": [{"census_year": y, "census_date": census_date(y).isoformat()} for y in sim.years],
    }
    return manifest, {"caseload": caseload.reset_index(drop=True), "plans": plans}


def continue_truth(sim: Simulation, horizon: int, paths: int, seed: int) -> pd.DataFrame:
    """Futures of the synthetic council from its last census under its true rates: ``paths``
    independent simulations, long format: path, year, primary_need, plans."""
    rng = np.random.default_rng([seed, 99])
    last = sim.states[sim.states["census_year"] == sim.years[-1]]
    gi = {g: i for i, g in enumerate(GROUPS)}
    ni = {n: i for i, n in enumerate(NEEDS)}
    out = []
    steps_done = len(sim.years)
    for path in range(paths):
        a = last["age"].to_numpy()
        g = last["group"].map(gi).to_numpy()
        n = last["need"].map(ni).to_numpy()
        for h in range(1, horizon + 1):
            st = step_plans(sim.rates, a, g, n, rng)
            keep = ~st.ceased
            ja, jg, jn = draw_joiners(sim.rates, int(rng.poisson(sim.joiners_mean(steps_done - 1 + h))), rng)
            a = np.concatenate([st.age[keep], ja])
            g = np.concatenate([st.group[keep], jg])
            n = np.concatenate([st.need[keep], jn])
            counts = np.bincount(n, minlength=len(NEEDS))
            out.append(pd.DataFrame({"path": path, "year": sim.years[-1] + h, "primary_need": list(NEEDS),
                                     "plans": counts}))  # fmt: skip
    return pd.concat(out, ignore_index=True)


# --------------------------------------------------------------------------- rendering


def guide_version(year: int) -> str:
    """The guide version a return for census ``year`` follows in the synthetic data."""
    return "1.1" if year <= 2023 else "1.2" if year == 2024 else "1.4"


def module_columns(module: str, version: str) -> list[str]:
    """Columns (ids first) of a module's CSV under a guide version."""
    from sendcast.personlevel.codes import VERSIONED

    m = MODULES[module]
    cols = list(m.id_columns())
    for f in m.fields:
        first, old = VERSIONED.get((module, f), ("0", None))
        if version >= first:
            cols.append(f)
        elif old:
            cols.append(old)
    return cols


def render_return(sim: Simulation, year: int) -> dict[str, pd.DataFrame]:
    """The nine modules of the return for census ``year`` (typed: dates as Timestamps)."""
    c = pd.Timestamp(census_date(year))
    cal0, cal1 = pd.Timestamp(year - 1, 1, 1), pd.Timestamp(year - 1, 12, 31, 23, 59)
    version = guide_version(year)
    plans = sim.plans
    active = (plans["startdate"] <= c) & (plans["ceasedate"].isna() | (plans["ceasedate"] > c))
    ceased_in_year = plans["ceasedate"].between(cal0, cal1)
    requested = plans["receiveddate"].between(cal0, cal1)
    p_in = plans[active | ceased_in_year | (requested & (plans["receiveddate"] <= c))].copy()
    p_in["is_active"] = active[p_in.index]
    o = sim.other_requests
    o_in = o[o["receiveddate"].between(cal0, cal1)].copy() if len(o) else o
    pids = pd.Index(p_in["pid"]).append(pd.Index(o_in["pid"])).unique()
    persons = sim.persons.set_index("pid").loc[pids].reset_index()

    ids = iter(range(1, 10**9))
    out: dict[str, pd.DataFrame] = {}
    out["sen2"] = pd.DataFrame(
        [
            {
                "sen2tableid": next(ids),
                "NativeId": "1",
                "sen2orderseqcolumn": 1,
                "sourceid": 1,
                "collection": "SEN2",
                "year": year,
                "referencedate": c,
                "sourcelevel": "L",
                "lea": sim.la,
                "softwarecode": "SYNTH",
                "release": version,
                "serialno": 1,
                "datetime": c - pd.Timedelta(days=30),
                "dmo": "",
                "dco": "",
                "dsco": "",
            }
        ]
    )
    sen2_id = int(out["sen2"]["sen2tableid"].iloc[0])

    def idcols(df: pd.DataFrame, module: str, parent: object) -> pd.DataFrame:
        n = len(df)
        df.insert(0, f"{module}tableid", [next(ids) for _ in range(n)])
        df.insert(1, "NativeId", [f"{module[:3].upper()}{i}" for i in df[f"{module}tableid"]])
        df.insert(2, f"{module}orderseqcolumn", np.arange(1, n + 1))
        df.insert(3, "sourceid", 1)
        if parent is not None:
            m = MODULES[module]
            df.insert(4, str(m.parent_id), cast(Any, parent))
        return df

    per = persons.copy()
    per = idcols(per, "person", sen2_id)
    per["NativeId"] = [f"AV{p}" for p in per["pid"]]
    person_id = dict(zip(per["pid"], per["persontableid"], strict=True))
    # requests: one per planned person (their plan's request), one per other requester
    req_p = pd.DataFrame({
        "pid": p_in["pid"].to_numpy(), "receiveddate": p_in["receiveddate"].to_numpy(),
        "requestoutcomedate": p_in["requestoutcomedate"].where(p_in["requestoutcomedate"] <= c).to_numpy(),
        "requestoutcome": np.where(p_in["requestoutcomedate"] <= c, "A", ""), "kind": "plan",
    })  # fmt: skip
    req_o = pd.DataFrame({
        "pid": o_in["pid"].to_numpy(), "receiveddate": o_in["receiveddate"].to_numpy(),
        "requestoutcomedate": o_in["requestoutcomedate"].where(o_in["requestoutcomedate"] <= c).to_numpy(),
        "requestoutcome": np.where(o_in["requestoutcomedate"] <= c, o_in["requestoutcome"], ""), "kind": "other",
    })  # fmt: skip
    req = pd.concat([req_p, req_o], ignore_index=True)
    rng = np.random.default_rng([year, len(req)])
    req["requestsource"] = rng.choice(["P", "S", "H", "O"], size=len(req), p=[0.55, 0.3, 0.1, 0.05])
    for f in ("rya", "requestmediation", "requesttribunal", "exported"):
        req[f] = 0
    req = idcols(req, "requests", req["pid"].map(person_id))
    # assessments: decided-to-assess requests
    pinfo = p_in.set_index("pid")
    oinfo = o_in.set_index("pid") if len(o_in) else o_in
    asm = req[req["requestoutcome"] == "A"][["pid", "requeststableid", "kind"]].copy()
    aod_raw = np.where(
        asm["kind"] == "plan",
        asm["pid"].map(pinfo["assessmentoutcomedate"]),
        asm["pid"].map(oinfo["assessmentoutcomedate"]) if len(o_in) else np.datetime64("NaT"),
    )
    aod = pd.Series(pd.to_datetime(aod_raw), index=asm.index)
    plan_pids = asm["kind"] == "plan"
    other_assessed = (
        asm["pid"].map(oinfo["assessed"]).astype("boolean").fillna(False).astype(bool)
        if len(o_in)
        else plan_pids & False
    )
    asm = asm[plan_pids | other_assessed].copy()
    aod = aod[asm.index]
    decided = aod <= c
    asm["assessmentoutcome"] = np.where(~decided, "", np.where(asm["kind"] == "plan", "Y", "N"))
    asm["assessmentoutcomedate"] = aod.where(decided)
    start = asm["pid"].map(pinfo["startdate"])
    asm["week20"] = np.where(
        (asm["kind"] == "plan") & (start <= c), asm["pid"].map(pinfo["week20"]).fillna(0).astype(int).astype(str), ""
    )
    for f in ("assessmentmediation", "assessmenttribunal", "othermediation", "othertribunal"):
        asm[f] = 0
    asm = idcols(asm.drop(columns=["requeststableid"]).assign(), "assessment", asm["requeststableid"].to_numpy())
    # named plans: issued plans
    npl = asm[(asm["assessmentoutcome"] == "Y")][["pid", "assessmenttableid"]].copy()
    npl = npl[npl["pid"].map(pinfo["startdate"]) <= c]
    npl["startdate"] = npl["pid"].map(pinfo["startdate"])
    cd = npl["pid"].map(pinfo["ceasedate"])
    npl["ceasedate"] = cd.where(cd <= c)
    npl["ceasereason"] = npl["pid"].map(pinfo["ceasereason"]).where(cd <= c).fillna("")
    first_place = sim.placements.groupby("pid").head(1).set_index("pid")
    npl["planres"] = (npl["pid"].map(first_place["group"]) == "independent_special").astype(int)
    for f in ("planwbp", "oa", "dp"):
        npl[f] = 0
    npl["pb"] = (rng.random(len(npl)) < 0.1).astype(int)
    npl = idcols(npl.drop(columns=["assessmenttableid"]), "namedplan", npl["assessmenttableid"].to_numpy())
    # plan detail: the placement named when the plan was issued
    pdl = npl[["pid", "namedplantableid"]].copy()
    fp = first_place.loc[pdl["pid"]]
    pdl = _placement_fields(pdl, fp)
    pdl = idcols(pdl.drop(columns=["namedplantableid"]), "plandetail", pdl["namedplantableid"].to_numpy())
    # active plans
    req_of = req[req["kind"] == "plan"].set_index("pid")["requeststableid"]
    act = p_in[p_in["is_active"]][["pid"]].copy()
    act_parent = act["pid"].map(req_of).to_numpy()
    act["transferla"] = ""
    act["reviewmeeting"] = c - pd.to_timedelta(rng.integers(1, 365, len(act)), unit="D")
    act["reviewoutcome"] = np.where(rng.random(len(act)) < 0.9, "1", "2")
    act["reviewdraft"] = ""
    act["phasetransferduedate"] = pd.NaT
    act["phasetransferfinaldate"] = pd.NaT
    act["lastreview"] = act["reviewmeeting"]
    act = idcols(act, "activeplans", act_parent)
    act_of = dict(zip(act["pid"], act["activeplanstableid"], strict=True))
    # placements of active plans that were open during the year
    pl = sim.placements
    open_in_year = pl["leavingdate"].isna() | (pl["leavingdate"] >= cal0)
    pl = pl[pl["pid"].isin(act["pid"]) & (pl["entrydate"] <= c) & open_in_year]
    pld = pl[["pid"]].copy()
    pld = _placement_fields(pld, pl.set_index(pl.index))
    pld["entrydate"] = pl["entrydate"].to_numpy()
    lv = pl["leavingdate"]
    pld["leavingdate"] = lv.where(lv <= c).to_numpy()
    pld["res"] = (pl["group"] == "independent_special").astype(int).to_numpy()
    pld["wbp"] = 0
    pld = idcols(pld, "placementdetail", pld["pid"].map(act_of).to_numpy())
    # needs at the census
    st = sim.states[sim.states["census_year"] == year].set_index("pid")["need"]
    nd = act[["pid", "activeplanstableid"]].copy()
    nd["sentype"] = nd["pid"].map(st)
    nd["sentyperank"] = 1
    sec = per.set_index("pid")["secondary_need"]
    nd2 = nd.copy()
    nd2["sentype"] = nd2["pid"].map(sec)
    nd2["sentyperank"] = 2
    nd2 = nd2[(nd2["sentype"] != "") & (nd2["sentype"] != nd["sentype"].to_numpy())]
    nd = pd.concat([nd, nd2]).sort_values(["activeplanstableid", "sentyperank"], kind="stable")
    nd = idcols(nd.drop(columns=["activeplanstableid"]), "senneed", nd["activeplanstableid"].to_numpy())
    out.update(
        person=per,
        requests=req,
        assessment=asm,
        namedplan=npl,
        plandetail=pdl,
        activeplans=act,
        placementdetail=pld,
        senneed=nd,
    )
    return {k: v.reset_index(drop=True) for k, v in out.items()}


def _placement_fields(df: pd.DataFrame, src: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["urn"] = pd.array(src["urn"].to_numpy(), dtype="Int64")
    df["ukprn"] = pd.array(src["ukprn"].to_numpy(), dtype="Int64")
    df["sensetting"] = src["sensetting"].fillna("").to_numpy()
    df["sensettingother"] = ""
    df["placementrank"] = 1
    rp = src["rp_kind"].to_numpy()
    df["senunitindicator"] = (rp == 2).astype(int)
    df["resourcedprovisionindicator"] = (rp == 1).astype(int)
    return df


def to_csv_frame(df: pd.DataFrame, module: str, version: str) -> pd.DataFrame:
    """A rendered module as the export writes it: its columns for the version, dates as text."""
    out = df.copy()
    if module == "person" and version < "1.2":
        out["gendercurrent"] = out["sex"].map({"M": "1", "F": "2"}).fillna("9")
    for col in MODULES[module].dates + (("datetime",) if module == "sen2" else ()):
        if col in out:
            d = pd.to_datetime(out[col])
            out[col] = d.dt.strftime(DATE_FORMAT).where(d.notna(), "")
    cols = module_columns(module, version)
    for col in cols:
        if col not in out:
            out[col] = ""
    return out[cols]


# --------------------------------------------------------------------------- defects


@dataclass(frozen=True)
class Defect:
    """An injected defect: the finding a check must report."""

    check: str
    module: str
    row: int  # the module's table id
    field: str


def inject_defects(mods: dict[str, pd.DataFrame], year: int, est: pd.DataFrame, *, per_kind: int = 2,
                   seed: int = 0) -> list[Defect]:  # fmt: skip
    """Seed ``per_kind`` defects of every checked kind into a rendered return (in place).

    Each defect goes to a different person, chosen so that it triggers exactly its own check."""
    from sendcast.personlevel.defects import inject

    return inject(mods, year, est, per_kind=per_kind, seed=seed)


def write_synthetic(out: Path, *, people: int = 2000, years: int = 4, seed: int = 1, defects: bool = True,
                    last_year: int = 2025, la: str = FICTIONAL_LA, rates: TruthRates | None = None,
                    per_kind: int = 2) -> Simulation:  # fmt: skip
    """Write the synthetic returns to ``out`` (see the module docstring); defects in the last year."""
    sim = simulate(people, years, seed=seed, last_year=last_year, la=la, rates=rates)
    out = Path(out)
    truth: list[Defect] = []
    for y in sim.years:
        mods = render_return(sim, y)
        if defects and y == sim.years[-1]:
            truth = inject_defects(mods, y, sim.establishments, per_kind=per_kind, seed=seed)
        version = guide_version(y)
        stamp = (census_date(y) + dt.timedelta(days=40)).strftime("%d-%m-%Y")
        for name in MODULES:
            frame = to_csv_frame(mods[name], name, version)
            write_atomic(out / f"Blade-Export_{stamp}_{name}.csv", frame.to_csv(index=False))
    gias = sim.establishments.drop(columns=["has_rp"]).copy()
    gias["UKPRN"] = gias["UKPRN"].astype("Int64")
    write_atomic(out / GIAS_FILE, gias.to_csv(index=False))
    tdir = out / TRUTH_DIR
    write_atomic(
        tdir / "defects.csv",
        pd.DataFrame([asdict(d) for d in truth], columns=["check", "module", "row", "field"]).to_csv(index=False),
    )
    write_atomic(tdir / "rates.json", json.dumps({"la": la, "seed": seed, "people": people, "years": sim.years,
                                                  "rates": asdict(sim.rates)}, indent=1))  # fmt: skip
    return sim

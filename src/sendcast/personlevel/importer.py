"""Import SEN2 person-level returns into a council-only store of tidy tables.

``import_returns(folder, dest)`` reads every export in ``folder`` (:mod:`.read`), replaces each
person's identifiers by a keyed hash and writes the tidy tables below to ``dest`` as Parquet
(readable with DuckDB through :class:`sendcast.store.Store`), with a ``manifest.json``:

==============  ==========================================================================
people          person_id, birth_month (YYYY-MM), sex, ethnicity, postcode_district, has_upn,
                has_uln, upn_unknown_reason (latest return that holds the person)
person_returns  census_year, person_id, persontableid, age (at the census), ncy
requests        census_year, row id, person_id, dates, outcome, source, mediation, tribunal
assessments     census_year, row id, request row id, person_id, outcome, date, week20
plans           census_year, row id, person_id, start/cease dates and reason, named placement
active_plans    census_year, row id, request row id, person_id, review dates
placements      census_year, row id, person_id, URN/UKPRN/sen setting, entry/leaving dates,
                establishment type (GIAS) and placement group
needs           census_year, row id, person_id, need, rank
caseload        census_year, person_id, age, ncy, placement_group, primary_need: one row per
                plan active at the census date (the placement open on that date)
findings        the checks' findings (row ids and fields only)
==============  ==========================================================================

What never leaves the importer: names, full birth dates (only the month and year are kept),
full postcodes (only the district), UPN, ULN and the council's own person id (NativeId). A
person's id is ``HMAC-SHA256(key, UPN)`` (ULN when there is no UPN, else name and birth date),
so the same child links across returns while the id says nothing without the key. The key is
the user's (``--key-file``) or generated on first import and kept, readable by its owner only,
in ``$XDG_CONFIG_HOME/sendcast/sen2-keys/`` -- never inside the store. The raw files are
never copied (the manifest holds their sha256). The store folder and files are owner-only too.

Writes are atomic: the new store is built beside ``dest`` and swapped in only when complete; a
return that fails to read leaves any existing store untouched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from sendcast import __version__
from sendcast.model.structure import GROUPS
from sendcast.personlevel.checks import age_at, run_checks
from sendcast.personlevel.codes import GIAS_GROUPS, MAINSTREAM_GROUP, NEEDS, flag
from sendcast.personlevel.read import Gias, Sen2InputError, Sen2Return, read_gias, read_returns

UNKNOWN = "unknown"
TABLES = ("people", "person_returns", "requests", "assessments", "plans", "active_plans", "placements", "needs",
          "caseload", "findings")  # fmt: skip
KEY_BYTES = 32


def key_dir() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    return base / "sendcast" / "sen2-keys"


def load_or_create_key(lea: str, key_file: Path | None, dest: Path) -> tuple[bytes, Path, bool]:
    """(key, where it is, whether it was created). A user's key file is read, never written."""
    if key_file is not None:
        path = Path(key_file)
        if not path.is_file():
            raise Sen2InputError(path, "key file not found")
        created = False
    else:
        path = key_dir() / f"{lea}.key"
        created = not path.is_file()
    resolved = path.resolve()
    if dest.resolve() in resolved.parents or resolved == dest.resolve():
        raise Sen2InputError(path, "the key must not be kept inside the store (the store is an output)")
    if created:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(KEY_BYTES) + "\n")
    text = path.read_text().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = text.encode("utf-8")
    if len(key) < 16:
        raise Sen2InputError(path, "key too short (at least 16 bytes, e.g. 64 hex characters)")
    return key, path, created


def key_fingerprint(key: bytes) -> str:
    """A check value for the key (says nothing about it): HMAC of a fixed label."""
    return hmac.new(key, b"sendcast sen2 key check", hashlib.sha256).hexdigest()[:16]


def _hmac_ids(key: bytes, values: pd.Series) -> pd.Series:
    # one HMAC per distinct value; hmac.copy() saves re-keying
    base = hmac.new(key, digestmod=hashlib.sha256)

    def one(v: str) -> str:
        h = base.copy()
        h.update(v.encode("utf-8"))
        return h.hexdigest()[:32]

    return values.map(one)


def person_ids(p: pd.DataFrame, key: bytes, year: int) -> pd.Series:
    """Keyed hash per person row: UPN, else ULN, else surname + forename + birth date.

    Rows sharing a UPN (or ULN) within one return cannot be told apart by it (the check
    PER_DUP_UPN reports them); they fall back to the name and birth date."""
    upn = p["upn"].str.upper().str.replace(" ", "", regex=False)
    uln = p["uniquelearnernumber"].str.replace(" ", "", regex=False)
    birth = p["personbirthdate"].dt.strftime("%Y-%m-%d").fillna("")
    nbd = "nbd:" + p["surname"].str.lower().str.strip() + "|" + p["forename"].str.lower().str.strip() + "|" + birth
    use_upn = (upn != "") & ~upn.duplicated(keep=False)
    use_uln = ~use_upn & (uln != "") & ~uln.duplicated(keep=False)
    src: pd.Series = pd.Series(
        np.where(use_upn, "upn:" + upn, np.where(use_uln, "uln:" + uln, nbd)), index=p.index, dtype=object
    )
    # same name and birth date twice in a return (twins are told apart by name): the row id decides
    dup = src.duplicated(keep=False) & ~use_upn & ~use_uln
    src[dup] = src[dup].astype(str) + f"|row:{year}:" + p.loc[dup, "persontableid"].astype(str)
    return _hmac_ids(key, src)


def postcode_district(postcode: pd.Series) -> pd.Series:
    """The outward code (district) of each postcode, e.g. ``NR1``; blank when it is not one."""
    out = postcode.astype(str).str.upper().str.strip().str.split().str[0].fillna("")
    return out.where(out.str.fullmatch(r"[A-Z]{1,2}[0-9][A-Z0-9]?"), "")


def placement_groups(df: pd.DataFrame, gias: Gias | None) -> tuple[pd.Series, pd.Series]:
    """(GIAS establishment type, placement group) of placement rows; group ``unknown`` when the
    URN/UKPRN cannot be typed (no GIAS file, or not found)."""
    from sendcast.personlevel.checks import establishment_types

    typ = establishment_types(df, gias)
    group = typ.map(GIAS_GROUPS)
    ind = flag(df["senunitindicator"])[0] | flag(df["resourcedprovisionindicator"])[0]
    group = group.where(~((group == MAINSTREAM_GROUP) & ind), "resourced_provision")
    has_est = df["urn"].notna() | df["ukprn"].notna()
    has_set = df["sensetting"].astype(str).str.strip() != ""
    group = group.where(has_est | ~has_set, "other")
    return typ.astype(object), group.fillna(UNKNOWN).astype(object)


def _dates(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    for c in cols:
        df[c] = pd.to_datetime(df[c]).dt.date
    return df


def tidy_return(r: Sen2Return, key: bytes, gias: Gias | None) -> dict[str, pd.DataFrame]:
    """The tidy tables of one return (identifiers replaced or dropped)."""
    t = r.tables
    y = r.year
    census = pd.Timestamp(r.census_date)
    p = t["person"]
    pid = person_ids(p, key, y)
    pid_of = pd.Series(pid.to_numpy(), index=p["persontableid"].to_numpy())
    age = age_at(p["personbirthdate"], census)
    aug = pd.Timestamp(y - 1, 8, 31)
    age_aug = age_at(p["personbirthdate"], aug)
    people = pd.DataFrame({
        "person_id": pid, "birth_month": p["personbirthdate"].dt.strftime("%Y-%m"), "sex": p["sex"],
        "ethnicity": p["ethnicity"], "postcode_district": postcode_district(p["postcode"]),
        "has_upn": p["upn"] != "", "has_uln": p["uniquelearnernumber"] != "", "upn_unknown_reason": p["upnunknown"],
        "census_year": y,
    })  # fmt: skip
    person_returns = pd.DataFrame({"census_year": y, "person_id": pid, "persontableid": p["persontableid"],
                                   "age": age, "ncy": age_aug - 4})  # fmt: skip
    rq = t["requests"]
    req_person = rq["persontableid"].map(pid_of)
    requests = pd.DataFrame({
        "census_year": y, "requeststableid": rq["requeststableid"], "person_id": req_person,
        "receiveddate": rq["receiveddate"], "requestsource": rq["requestsource"], "rya": rq["rya"],
        "requestoutcomedate": rq["requestoutcomedate"], "requestoutcome": rq["requestoutcome"],
        "requestmediation": rq["requestmediation"], "requesttribunal": rq["requesttribunal"],
        "exported": rq["exported"]})  # fmt: skip
    person_of_req = pd.Series(req_person.to_numpy(), index=rq["requeststableid"].to_numpy())
    a = t["assessment"]
    assessments = a.drop(columns=["_row", "NativeId", "sourceid", "assessmentorderseqcolumn"]).assign(
        census_year=y, person_id=a["requeststableid"].map(person_of_req).to_numpy())  # fmt: skip
    person_of_asm = pd.Series(assessments["person_id"].to_numpy(), index=a["assessmenttableid"].to_numpy())
    npl = t["namedplan"]
    pdl = t["plandetail"].sort_values("placementrank", kind="stable").drop_duplicates("namedplantableid")
    pdl_typ, pdl_group = placement_groups(pdl, gias)
    pdl = pdl.assign(named_group=pdl_group.to_numpy()).set_index("namedplantableid")
    plans = npl.drop(columns=["_row", "NativeId", "sourceid", "namedplanorderseqcolumn"]).assign(
        census_year=y, person_id=npl["assessmenttableid"].map(person_of_asm).to_numpy(),
        named_urn=npl["namedplantableid"].map(pdl["urn"]).astype("Int64").to_numpy(),
        named_sensetting=npl["namedplantableid"].map(pdl["sensetting"]).fillna("").to_numpy(),
        named_group=npl["namedplantableid"].map(pdl["named_group"]).fillna(UNKNOWN).to_numpy())  # fmt: skip
    act = t["activeplans"]
    active_plans = act.drop(columns=["_row", "NativeId", "sourceid", "activeplansorderseqcolumn"]).assign(
        census_year=y, person_id=act["requeststableid"].map(person_of_req).to_numpy())  # fmt: skip
    person_of_act = pd.Series(active_plans["person_id"].to_numpy(), index=act["activeplanstableid"].to_numpy())
    pl = t["placementdetail"]
    typ, group = placement_groups(pl, gias)
    placements = pl.drop(columns=["_row", "NativeId", "sourceid", "placementdetailorderseqcolumn"]).assign(
        census_year=y, person_id=pl["activeplanstableid"].map(person_of_act).to_numpy(),
        establishment_type=typ.to_numpy(), placement_group=group.to_numpy())  # fmt: skip
    nd = t["senneed"]
    needs = nd.drop(columns=["_row", "NativeId", "sourceid", "senneedorderseqcolumn"]).assign(
        census_year=y, person_id=nd["activeplanstableid"].map(person_of_act).to_numpy())  # fmt: skip
    # caseload at the census: each active plan, its placement open on the census date, its primary need
    open_pl = placements[
        (placements["entrydate"].isna() | (placements["entrydate"] <= census))
        & (placements["leavingdate"].isna() | (placements["leavingdate"] > census))
    ]
    open_pl = open_pl.sort_values(["placementrank", "entrydate"], ascending=[True, False], kind="stable")
    group_of = open_pl.drop_duplicates("activeplanstableid").set_index("activeplanstableid")["placement_group"]
    prim = needs[needs["sentyperank"] == 1].drop_duplicates("activeplanstableid").set_index("activeplanstableid")
    need_of = prim["sentype"].str.upper().where(prim["sentype"].str.upper().isin(NEEDS), UNKNOWN)
    ages = person_returns.set_index("person_id")
    ages = ages[~ages.index.duplicated()]
    caseload = pd.DataFrame({
        "census_year": y, "person_id": active_plans["person_id"],
        "activeplanstableid": act["activeplanstableid"].to_numpy(),
        "placement_group": act["activeplanstableid"].map(group_of).fillna(UNKNOWN).to_numpy(),
        "primary_need": act["activeplanstableid"].map(need_of).fillna(UNKNOWN).to_numpy(),
    })  # fmt: skip
    caseload["age"] = caseload["person_id"].map(ages["age"]).to_numpy()
    caseload["ncy"] = caseload["person_id"].map(ages["ncy"]).to_numpy()
    findings = run_checks(r, gias)
    out = {"people": people, "person_returns": person_returns, "requests": requests, "assessments": assessments,
           "plans": plans, "active_plans": active_plans, "placements": placements, "needs": needs,
           "caseload": caseload, "findings": findings}  # fmt: skip
    return {k: _plain(v) for k, v in out.items()}


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reset_index(drop=True)
    for c in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = df[c].astype("datetime64[ms]")
        elif df[c].dtype == object:
            df[c] = df[c].astype(object).mask(df[c].isna(), None)
    return df


_PID = pa.Column(str, pa.Check.str_matches(r"^[0-9a-f]{32}$"), nullable=False)
SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "people": pa.DataFrameSchema(
        {
            "person_id": _PID,
            "birth_month": pa.Column(str, pa.Check.str_matches(r"^\d{4}-\d{2}$"), nullable=True),
            "postcode_district": pa.Column(str, pa.Check.str_length(0, 4)),
        },
        unique=["person_id"],
    ),  # fmt: skip
    "caseload": pa.DataFrameSchema(
        {
            "census_year": pa.Column(int, pa.Check.in_range(2000, 2100)),
            "person_id": _PID,
            "placement_group": pa.Column(str, pa.Check.isin([*GROUPS, UNKNOWN])),
            "primary_need": pa.Column(str, pa.Check.isin([*NEEDS, UNKNOWN])),
            "age": pa.Column(float, nullable=True, coerce=True),
        }
    ),  # fmt: skip
    "requests": pa.DataFrameSchema({"person_id": _PID}),
}


def _validate(tables: dict[str, pd.DataFrame]) -> None:
    for name, schema in SCHEMAS.items():
        try:
            schema.validate(tables[name], lazy=False)
        except (pa.errors.SchemaError, pa.errors.SchemaErrors) as exc:
            msg = str(exc).splitlines()[0][:160]
            raise Sen2InputError(f"store table {name}", f"failed validation: {msg}") from None


@dataclass
class ImportResult:
    dest: Path
    lea: str
    years: list[int]
    people: int
    errors: int
    queries: int
    key_file: Path
    key_created: bool
    gias: bool


def _existing(dest: Path) -> tuple[dict[str, Any] | None, dict[str, pd.DataFrame]]:
    if not (dest / "manifest.json").is_file():
        if dest.exists() and any(dest.iterdir()):
            raise Sen2InputError(dest, "exists and is not a sendcast SEN2 store (choose an empty or new folder)")
        return None, {}
    manifest = json.loads((dest / "manifest.json").read_text())
    if manifest.get("kind") != "sen2-person-level":
        raise Sen2InputError(dest / "manifest.json", "not a SEN2 person-level store", field="kind")
    return manifest, {n: pd.read_parquet(dest / f"{n}.parquet") for n in TABLES if (dest / f"{n}.parquet").is_file()}


def find_gias(folder: Path) -> Path | None:
    """A GIAS extract (``edubasealldata*.csv``) in the return's folder, if there is one."""
    found = sorted(Path(folder).glob("edubasealldata*.csv"))
    return found[-1] if found else None


def import_returns(folder: Path, dest: Path, *, key_file: Path | None = None, gias_file: Path | None = None
                   ) -> ImportResult:  # fmt: skip
    """Import every return in ``folder`` into the store at ``dest`` (see the module docstring).

    Returns already in the store for the same census year are replaced. Raises
    :class:`Sen2InputError` (nothing written) on any malformed file, another council's return,
    or a key that does not match the store's."""
    folder, dest = Path(folder), Path(dest)
    manifest, old = _existing(dest)
    returns = read_returns(folder, expected_lea=manifest["lea"] if manifest else None)
    lea = returns[0].lea
    gias_path = gias_file or find_gias(folder)
    gias = read_gias(gias_path) if gias_path else None
    key, key_path, created = load_or_create_key(lea, key_file, dest)
    if manifest and manifest.get("key_fingerprint") != key_fingerprint(key):
        raise Sen2InputError(key_path, "this key is not the one the store was built with (people would not link)")
    new = [tidy_return(r, key, gias) for r in returns]
    years = {r.year for r in returns}
    tables: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        parts = [old[name][~old[name]["census_year"].isin(years)]] if name in old else []
        parts += [n[name] for n in new]
        parts = [x for x in parts if len(x)]
        tables[name] = pd.concat(parts, ignore_index=True) if parts else new[0][name]
    people = tables["people"].sort_values("census_year", kind="stable").drop_duplicates("person_id", keep="last")
    tables["people"] = people.reset_index(drop=True)
    _validate(tables)
    kept = [r for r in (manifest or {}).get("returns", []) if r["census_year"] not in years]
    rets = kept + [{
        "census_year": r.year, "census_date": r.census_date.isoformat(), "guide_version": r.version,
        "export": r.stamp, "files_sha256": r.sha256(), "rows": {m: len(df) for m, df in r.tables.items()},
    } for r in returns]  # fmt: skip
    rets.sort(key=lambda x: x["census_year"])
    f = tables["findings"]
    out_manifest = {
        "kind": "sen2-person-level", "lea": lea, "returns": rets, "key_fingerprint": key_fingerprint(key),
        "gias_sha256": hashlib.sha256(Path(gias_path).read_bytes()).hexdigest() if gias_path else None,
        "sendcast_version": __version__, "built": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "tables": {n: len(df) for n, df in tables.items()},
        "note": "Council-only: person-level data (pseudonymised). Never publish these tables; publish only "
                "outputs made by sendcast, which apply disclosure control.",
    }  # fmt: skip
    write_store(dest, tables, out_manifest)
    return ImportResult(dest=dest, lea=lea, years=sorted(r["census_year"] for r in rets),
                        people=len(tables["people"]), errors=int((f["severity"] == "error").sum()),
                        queries=int((f["severity"] == "query").sum()), key_file=key_path, key_created=created,
                        gias=gias is not None)  # fmt: skip


def write_store(dest: Path, tables: dict[str, pd.DataFrame], manifest: dict[str, Any]) -> None:
    """Write the store to a temporary folder beside ``dest`` and swap it in (owner-only files)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))  # mode 0700
    try:
        for name, df in tables.items():
            df.to_parquet(tmp / f"{name}.parquet", index=False)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str))
        for f in tmp.iterdir():
            os.chmod(f, 0o600)
        old = None
        if dest.exists():
            old = dest.parent / f".{dest.name}.old-{secrets.token_hex(4)}"
            os.replace(dest, old)
        os.replace(tmp, dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def open_sen2_store(path: Path) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """(manifest, tables) of a SEN2 store; raises Sen2InputError when it is not one."""
    path = Path(path)
    if not (path / "manifest.json").is_file():
        raise Sen2InputError(path, "no SEN2 store here (run `sendcast sen2 import DIR --dest STORE`)")
    manifest, tables = _existing(path)
    assert manifest is not None
    return manifest, tables

"""Everything sendcast writes from person-level data: no identifier in any file, and disclosure
control on every published table (no count of 1-9 shown, none recoverable by subtraction)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sendcast.cli import app
from sendcast.outputs import disclosure
from sendcast.personlevel import derive
from sendcast.personlevel.importer import open_sen2_store, person_ids
from sendcast.personlevel.report import derived_tables, protect_counts, relations

runner = CliRunner()


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory):
    """synth -> check (every format) -> import -> derive -> forecast by need, through the CLI."""
    root = tmp_path_factory.mktemp("flow")
    src, out, store = root / "in", root / "out", root / "store"
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CONFIG_HOME", str(root / "config"))
    calls = [
        ["sen2", "synth", "--out", str(src), "--people", "400", "--years", "3", "--seed", "21"],
        ["sen2", "check", str(src)],  # the synthetic return has seeded errors: exit 1 (report written first)
        ["sen2", "check", str(src), "--format", "csv", "--out", str(out / "check.csv")],
        ["sen2", "check", str(src), "--format", "xlsx", "--out", str(out / "check.xlsx")],
        ["sen2", "check", str(src), "--format", "html", "--out", str(out / "check.html")],
        ["sen2", "import", str(src), "--dest", str(store)],
        ["sen2", "derive", str(store), "--out", str(out / "derived.xlsx")],
        ["sen2", "derive", str(store), "--out", str(out / "derived")],
        ["forecast", "--sen2", str(store), "--draws", "50", "--horizon", "2", "--out", str(out / "need.csv")],
        ["forecast", "--sen2", str(store), "--draws", "50", "--horizon", "2", "--out", str(out / "need.html")],
        [
            "forecast",
            "--sen2",
            str(store),
            "--draws",
            "50",
            "--horizon",
            "2",
            "--format",
            "parquet",
            "--out",
            str(out / "need.parquet"),
        ],
    ]
    for c in calls:
        res = runner.invoke(app, c)
        assert res.exit_code == (1 if c[:2] == ["sen2", "check"] else 0), (c, res.output)
    yield src, out, store, root
    mp.undo()


def _texts(folder: Path) -> dict[Path, str]:
    """Every file under ``folder`` as text (parquet and xlsx decoded, so compression hides nothing)."""
    out = {}
    for p in folder.rglob("*"):
        if not p.is_file():
            continue
        if p.suffix == ".parquet":
            out[p] = pd.read_parquet(p).astype(str).to_csv(index=False)
        elif p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                # the cells, not the theme (whose font list holds words such as "Kalinga")
                out[p] = " ".join(
                    z.read(n).decode("utf-8", "replace")
                    for n in z.namelist()
                    if n.startswith(("xl/worksheets/", "xl/sharedStrings"))
                )
        else:
            out[p] = p.read_bytes().decode("utf-8", "replace")
    return out


# every place in a text where an identifier of each kind could start (lookaheads: overlapping
# matches, so a substring inside a longer run is found as surely as by ``needle in text``)
ID_PATTERNS = {
    "upn": re.compile(r"(?=([A-Z]\d{11}[0-9A-Z]))"),
    "uln": re.compile(r"(?=(\d{10}))"),
    "postcode": re.compile(r"(?=([A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}))"),
    "birth": re.compile(r"(?=(\d{4}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2}|\d{4}-\d{2}-\d{2}))"),
}


def assert_no_identifier(src: Path, texts: dict[Path, str], store: Path | None = None) -> None:
    """No name, UPN, ULN, postcode or birth date of the synthetic return in ``src`` appears in
    any of ``texts`` (birth dates are not looked for in ``store``, whose event dates are checked
    person by person in :func:`test_store_holds_no_full_birth_date`)."""
    persons = pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False) for p in src.glob("*_person.csv")])
    names = set(persons["surname"]) | set(persons["forename"])
    ids = {
        "upn": {u for u in persons["upn"] if u},
        "uln": {u for u in persons["uniquelearnernumber"] if u},
        "postcode": {p for p in persons["postcode"] if p},
        "birth": set(persons["personbirthdate"]) | {
            pd.Timestamp(pd.to_datetime(b, format="%Y-%b-%d %H:%M:%S")).strftime("%Y-%m-%d")
            for b in persons["personbirthdate"]},
    }  # fmt: skip
    assert names and all(ids.values())
    for kind, values in ids.items():  # the patterns find every identifier of the return
        assert all(ID_PATTERNS[kind].match(v) for v in values), kind
    for path, text in texts.items():
        words = set(re.findall(r"[A-Za-z]+", text))
        hit = names & words
        assert not hit, f"names {sorted(hit)[:3]} found in {path}"
        for kind, values in ids.items():
            if kind == "birth" and store is not None and store in path.parents:
                continue  # the store holds event dates (checked person by person)
            hit = values & set(ID_PATTERNS[kind].findall(text))
            assert not hit, f"{kind} {sorted(hit)[:2]} found in {path}"


def test_no_identifier_in_any_file_sendcast_writes(flow):
    src, out, store, _ = flow
    texts = {**_texts(out), **_texts(store)}
    assert len(texts) >= 20
    assert_no_identifier(src, texts, store)


def test_no_identifier_in_budget_or_scenario_outputs(norfolk_outputs):
    """budget --sen2 and scenario run --sen2, every format, beside the store they read."""
    src, store, out = norfolk_outputs
    texts = _texts(out)
    assert {p.suffix for p in texts} >= {".csv", ".json", ".html", ".xlsx", ".txt"}
    assert_no_identifier(src, {**texts, **_texts(store)}, store)


def test_store_holds_no_full_birth_date(flow):
    src, _, store, root = flow
    manifest, tables = open_sen2_store(store)
    key = bytes.fromhex((root / "config" / "sendcast" / "sen2-keys" / "990.key").read_text().strip())
    persons = pd.concat(
        [
            pd.read_csv(p, dtype=str, keep_default_na=False).assign(year=int(p.name[19:23]))
            for p in src.glob("*_person.csv")
        ]
    )
    persons["personbirthdate"] = pd.to_datetime(persons["personbirthdate"], format="%Y-%b-%d %H:%M:%S")
    persons["persontableid"] = pd.to_numeric(persons["persontableid"])
    persons["person_id"] = person_ids(persons.reset_index(drop=True), key, 0).to_numpy()
    birth = persons.drop_duplicates("person_id").set_index("person_id")["personbirthdate"].dt.normalize()
    for name, df in tables.items():
        if "person_id" not in df:
            continue
        for col in df.columns:
            if pd.api.types.is_datetime64_any_dtype(df[col]):
                same = pd.to_datetime(df[col]).dt.normalize() == df["person_id"].map(birth)
                assert not same.any(), f"{name}.{col} equals a birth date"
    assert set(tables["people"]["birth_month"].str.len()) == {7}


def _shown_counts(df: pd.DataFrame, col: str) -> pd.Series:
    v = df[col]
    return pd.to_numeric(v.where(v != disclosure.SUPPRESSED), errors="coerce")


def test_published_tables_show_no_small_count_and_none_is_recoverable(flow):
    _, _, store, _ = flow
    manifest, tables = open_sen2_store(store)
    out = derived_tables(tables, manifest)
    assert {"caseload_age_group_need", "caseload_group_need", "pipeline"} <= set(out)
    for name, df in out.items():
        for col in ("plans", "joiners", "leavers", "movers"):
            if col in df:
                v = _shown_counts(df, col).dropna()
                assert not ((v > 0) & (v < 10)).any(), name
    # re-derive the caseload tables raw: no suppressed cell can be recovered by subtraction
    for dims in (("placement_group", "primary_need"), ("age_band", "placement_group", "primary_need")):
        raw = derive.caseload(tables, dims).astype({d: str for d in dims})
        shown = protect_counts(raw, ["plans"], dims)
        mask = shown["plans"].isin([disclosure.SUPPRESSED, disclosure.SECONDARY])
        assert mask.any()
        assert disclosure.recoverable(raw, "plans", mask, relations(raw, dims)) == []


def test_an_attempt_to_recover_a_suppressed_count_fails(flow):
    _, _, store, _ = flow
    manifest, tables = open_sen2_store(store)
    dims = ("placement_group", "primary_need")
    raw = derive.caseload(tables, dims)
    shown = protect_counts(raw, ["plans"], dims)
    year = int(raw["census_year"].max())
    t = shown[shown["census_year"] == year]
    inner = (t["placement_group"] != "total") & (t["primary_need"] != "total")
    small = t[(t["plans"] == disclosure.SUPPRESSED) & inner]
    assert len(small)
    target = small.iloc[0]
    # the attacker's move: the row total minus the other shown cells of the row (then the column)
    for along, fixed in (("primary_need", "placement_group"), ("placement_group", "primary_need")):
        line = t[(t[fixed] == target[fixed])]
        total = line[line[along] == "total"]["plans"].iloc[0]
        members = line[line[along] != "total"]
        unknown = members["plans"].isin([disclosure.SUPPRESSED, disclosure.SECONDARY])
        if total in (disclosure.SUPPRESSED, disclosure.SECONDARY):
            continue  # nothing to subtract from
        # at least two unknowns in the line: the subtraction leaves their sum, not the target
        assert unknown.sum() >= 2
        rest = float(total) - pd.to_numeric(members.loc[~unknown, "plans"]).sum()
        r = raw[(raw["census_year"] == year) & (raw[fixed] == target[fixed])].set_index(along)["plans"]
        hidden = members.loc[unknown, along]
        assert rest == r[hidden].sum()  # all the attacker learns is the sum of the hidden cells


def test_pipeline_and_reconciliation(flow, embedded_store):
    _, _, store, _ = flow
    manifest, tables = open_sen2_store(store)
    p = derive.pipeline(tables, manifest)
    latest = p[p["census_year"] == 2025].set_index("measure")["value"]
    assert latest["requests"] == (
        latest["requests_decided_to_assess"]
        + latest["requests_decided_not_to_assess"]
        + latest["requests_withdrawn"]
        + latest["requests_open_at_census"]
    )
    assert 0 <= latest["plans_within_20_weeks_pct"] <= 100
    # the fictional council (990) has no published aggregates: reconciliation is empty
    assert derive.reconcile(tables, manifest, embedded_store).empty
    # the same return labelled as Norfolk (926) is reconciled against Norfolk's published totals
    rec = derive.reconcile(tables, {**manifest, "lea": "926"}, embedded_store)
    tot = rec[rec["measure"] == "ehcp_total"].set_index("census_year")
    assert tot.loc[2024, "published"] == 10736
    assert np.isclose(tot.loc[2024, "difference"], tot.loc[2024, "return"] - 10736)


def test_forecast_by_need_output_is_protected(flow):
    _, out, _, _ = flow
    fc = pd.read_csv(out / "need.csv", dtype=str)
    assert set(fc.columns) >= {"year", "primary_need", "mean", "p10", "p50", "p90"}
    for col in ("mean", "p10", "p50", "p90"):
        v = pd.to_numeric(fc[col].where(fc[col] != disclosure.SUPPRESSED), errors="coerce").dropna()
        assert not ((v > 0) & (v < 9.5)).any()
    assert (fc["primary_need"] == "total").any()
    pq = pd.read_parquet(out / "need.parquet")
    assert pq["p50"].isna().any() and (pq.loc[pq["p50"].isna(), "suppressed"] != "").all()
    assert (out / "need.csv.meta.json").is_file()


def test_placement_draws_for_the_budget(flow):
    from sendcast.personlevel.api import forecast_by_need

    _, _, store, _ = flow
    res = forecast_by_need(store, horizon=2, draws=10, seed=1)
    pdraws = res.placement_draws()
    assert list(pdraws.columns) == ["la_code", "la_name", "year", "draw", "placement", "plans"]
    assert sorted(pdraws["year"].unique()) == [res.origin, res.origin + 1, res.origin + 2]
    # the origin year is the return's caseload, the same in every draw
    first = pdraws[pdraws["year"] == res.origin].groupby("draw")["plans"].sum()
    assert first.nunique() == 1 and first.iloc[0] == res.model.stock.sum()
    later = pdraws[pdraws["year"] == res.origin + 1].groupby("draw")["plans"].sum()
    totals = res.draws[res.draws["year"] == res.origin + 1].groupby("draw")["plans"].sum()
    assert (later.to_numpy() == totals.to_numpy()).all()

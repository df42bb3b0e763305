"""EHCP 2025 importer: tiny synthetic files (always) and the real release (when present)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sendcast.ingest import ehcp_2025
from sendcast.ingest.common import IngestError

HEAD = (
    "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,"
    "new_la_code,old_la_code,la_name,breakdown_topic,breakdown,ehcplans,mainstream_total,special_independent,"
    "mainstream_total_pc\n"
)
ROWS = [
    "202324,Academic year,National,E92000001,England,,,,,,All EHC plans,All EHC plans,110,60,50,54.5\n",
    "202324,Academic year,Local authority,E92000001,England,E12000006,East of England,E10000020,926,Norfolk,"
    "All EHC plans,All EHC plans,110,60,x,54.5\n",
    "202324,Academic year,Local authority,E92000001,England,E12000006,East of England,E10000020,926,Norfolk,"
    "Child or young persons age,age 8,7,5,2,71.4\n",
]


AREA = "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,"
AREA += "new_la_code,old_la_code,la_name,breakdown_topic,breakdown"
# every other measure column of caseload.csv, published as 'x' in these synthetic rows
EXTRA = [c for c in ehcp_2025.FILES["caseload.csv"][1]([]) if c not in HEAD.strip().split(",")]


def _pad(line: str) -> str:
    return line.rstrip("\n") + "".join("," + (c if line.startswith("time_period") else "x") for c in EXTRA) + "\n"


def _other_file(name: str) -> str:
    """A synthetic file of the release: full header, and one national row for the key files."""
    cols = [c for c in ehcp_2025.FILES[name][1](AREA.split(","))] or [ehcp_2025.FILES[name][0]]
    text = AREA + "," + ",".join(cols) + "\n"
    if name in ehcp_2025.REQUIRED_FILES:
        period = "202324,Academic year" if name == "newplans.csv" else "2023,Calendar year"
        text += f"{period},National,E92000001,England,,,,,,All,All," + ",".join("5" for _ in cols) + "\n"
    return text


def make_release(tmp: Path, rows: list[str] | None = None, head: str = HEAD) -> Path:
    """A synthetic release folder: ``caseload.csv`` from ``head``/``rows`` (every other measure
    column added as 'x'), the other files of the release with full headers."""
    d = tmp / "rel" / "data"
    d.mkdir(parents=True)
    body = "".join(_pad(r) for r in (ROWS if rows is None else rows))
    (d / "caseload.csv").write_text("\ufeff" + _pad(head) + body, encoding="utf-8")
    for name in ehcp_2025.FILES:
        if name != "caseload.csv":
            (d / name).write_text(_other_file(name), encoding="utf-8")
    return d.parent


def test_synthetic_caseload(tmp_path: Path) -> None:
    rel = make_release(tmp_path)
    assert ehcp_2025.detect(rel)
    obs = ehcp_2025.load(rel).observations
    nor = obs[obs["la_code"] == "E10000020"]
    total = nor[(nor["measure"] == "ehcp_caseload") & (nor["breakdown_topic"] == "total")]
    assert total["value"].tolist() == [110.0] and total["period"].iloc[0] == "2024-01"
    assert total["year"].iloc[0] == 2024 and total["period_type"].iloc[0] == "january"
    ind = nor[(nor["breakdown"] == "special_independent") & (nor["breakdown_topic"] == "placement")]
    assert ind["value"].isna().all() and ind["missing_reason"].iloc[0] == "not available"  # 'x', not 0
    age = nor[(nor["breakdown_topic"] == "age") & (nor["measure"] == "ehcp_caseload")]
    assert age["breakdown"].tolist() == ["8"]
    cross = nor[(nor["breakdown_topic"] == "age|placement") & (nor["measure"] == "ehcp_caseload")]
    published = cross[cross["value"].notna()]
    assert set(published["breakdown"]) == {"8|mainstream_total", "8|special_independent"}
    assert len(cross) == len(ehcp_2025.PLACEMENT_COLUMNS)  # every placement column, 'x' where not given
    pct = obs[obs["measure"] == "ehcp_caseload_pct"]
    assert (pct["unit"] == "percent").all()
    # header-only files (other than the key files) import as zero rows
    assert not (obs["file"] == "annual_reviews.csv").any()


@pytest.mark.parametrize(
    ("rows", "head", "field", "line"),
    [
        (
            [ROWS[0], ROWS[1].replace(",60,x,", ",6o,x,")],
            HEAD,
            "mainstream_total",
            3,
        ),  # non-numeric
        (
            [ROWS[0], ROWS[1].replace(",60,x,", ",60,q,")],
            HEAD,
            "special_independent",
            3,
        ),  # unknown marker
        ([ROWS[0], ROWS[1][:40]], HEAD, None, 3),  # truncated line
        (ROWS, HEAD.replace("ehcplans", "ehc_plans_total"), "ehcplans", 1),  # renamed column
        ([ROWS[0], ROWS[0]], HEAD, "ehcp_caseload", 3),  # duplicated period
    ],
)
def test_malformed(tmp_path: Path, rows: list[str], head: str, field: str | None, line: int) -> None:
    rel = make_release(tmp_path, rows, head)
    with pytest.raises(IngestError) as exc:
        ehcp_2025.load_file(rel / "data" / "caseload.csv")
    assert "caseload.csv" in str(exc.value)
    assert exc.value.line == line
    if field:
        assert exc.value.field == field


def test_empty_and_wrong_publication(tmp_path: Path) -> None:
    rel = make_release(tmp_path)
    (rel / "data" / "caseload.csv").write_text("")
    with pytest.raises(IngestError, match="empty"):
        ehcp_2025.load_file(rel / "data" / "caseload.csv")
    other = tmp_path / "other"
    other.mkdir()
    (other / "sen2_mi.csv").write_text("time_period,x\n2020,1\n")
    assert not ehcp_2025.detect(other)
    with pytest.raises(IngestError, match="not an EHCP 2025"):
        ehcp_2025.load(other)


def test_missing_new_code_fails_clearly(tmp_path: Path) -> None:
    row = ROWS[1].replace("E10000020,926", ",999")
    rel = make_release(tmp_path, [ROWS[0], row])
    with pytest.raises(IngestError, match="no new_la_code") as exc:
        ehcp_2025.load_file(rel / "data" / "caseload.csv")
    assert exc.value.line == 3


def test_real_release(raw_dir: Path) -> None:
    res = ehcp_2025.load(raw_dir / "ehcp-statistics-2025-partial")
    obs = res.observations
    tot = obs[(obs["measure"] == "ehcp_caseload") & (obs["breakdown_topic"] == "total")]
    v = tot.set_index(["la_code", "year"])["value"]
    assert v[("E10000020", 2024)] == 10736  # Norfolk January 2024
    assert v[("E92000001", 2024)] == 576474  # England January 2024
    assert set(obs.loc[obs["measure"] == "new_plans", "year"]) == {2019, 2020, 2021, 2022, 2023}
    assert {"requests", "assessments", "plans_issued_within_20_weeks_pct", "ceased_plans"} <= set(obs["measure"])
    ages = set(obs.loc[(obs["measure"] == "ehcp_caseload") & (obs["breakdown_topic"] == "age"), "breakdown"])
    assert {"3", "8", "25", "under_3"} <= ages


# --------------------------------------------------------------------------- issue 11: completeness

LOOKUPS = Path(__file__).parent / "fixtures" / "context" / "la-lookups"


def _source_with_release(tmp_path: Path) -> Path:
    """A source folder a build would otherwise accept: the LA lookups and the release."""
    import shutil

    make_release(tmp_path)
    src = tmp_path / "raw"
    shutil.copytree(LOOKUPS, src / "la-lookups")
    shutil.move(str(tmp_path / "rel"), src / "ehcp-statistics-2025")
    return src


def _damage(path: Path, how: str) -> None:
    text = path.read_text(encoding="utf-8-sig")
    if how == "renamed key header":
        path.write_text(text.replace("ehcplans", "ehc_plans", 1), encoding="utf-8")
    elif how == "utf-16":
        path.write_text(text, encoding="utf-16")
    elif how == "empty":
        path.write_text("")
    elif how == "header only":
        path.write_text(text.splitlines()[0] + "\n", encoding="utf-8")
    elif how == "renamed measure column":
        path.write_text(text.replace("special_independent", "special_indep", 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("renamed key header", "missing column.*ehcplans"),
        ("utf-16", "UTF-16"),
        ("empty", "empty"),
        ("header only", "header only"),
        ("renamed measure column", "special_independent"),
    ],
)
def test_damaged_key_file_fails_the_build_naming_it(tmp_path: Path, how: str, message: str) -> None:
    from sendcast.store import StoreError, build_store

    src = _source_with_release(tmp_path)
    caseload = src / "ehcp-statistics-2025" / "data" / "caseload.csv"
    _damage(caseload, how)
    with pytest.raises((IngestError, StoreError), match=message) as exc:
        build_store(src, tmp_path / "store", derived=False)
    assert "caseload.csv" in str(exc.value)
    assert not (tmp_path / "store").exists()


def test_missing_file_of_the_release_is_an_error(tmp_path: Path) -> None:
    rel = make_release(tmp_path)
    (rel / "data" / "ceased_plans.csv").unlink()
    with pytest.raises(IngestError, match="ceased_plans.csv: file of the EHCP 2025 release missing"):
        ehcp_2025.load(rel)


def _complete_release(raw_dir: Path, out: Path) -> Path:
    """A stand-in for the complete 2025 release, made from the partial copy as the complete one
    differs from it (PROVENANCE.md): the latest period's rows again for January 2025 / 2024,
    and rows in the files the partial copy holds as header only (councils adding up to England)."""
    import csv
    import io
    import shutil

    rel = out / "ehcp-statistics-2025"
    shutil.copytree(raw_dir / "ehcp-statistics-2025-partial", rel, copy_function=shutil.copyfile)
    d = rel / "data"
    areas: list[list[str]] = []
    for path in sorted(d.glob("*.csv")):
        text = path.read_text(encoding="utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        head, body = rows[0], rows[1:]
        if not body:
            continue
        last = max(r[0] for r in body)
        nxt = f"{int(last[:4]) + 1}{int(last[4:]) + 1}" if len(last) == 6 else str(int(last) + 1)
        new = [[nxt, *r[1:]] for r in body if r[0] == last]
        if path.name == "caseload.csv":
            areas = [r[:10] for r in new if r[10] == r[11] and r[2] in ("National", "Local authority")]
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(new)
        path.write_text("\ufeff" + text.rstrip("\n") + "\n" + buf.getvalue(), encoding="utf-8")
    n_las = sum(a[2] == "Local authority" for a in areas)
    for name in ("annual_reviews.csv", "sen_needs_all_plans.csv", "sen_need_newplans.csv", "work_based_placements.csv"):
        path = d / name
        head = next(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
        lines = []
        for a in areas:
            period = ["2024", "Calendar year"] if name == "sen_need_newplans.csv" else a[:2]
            val = str(10 if a[2] == "Local authority" else 10 * n_las)
            lines.append([*period, *a[2:10], "All EHC plans", "All EHC plans", *[val] * (len(head) - 12)])
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(lines)
        path.write_text("\ufeff" + ",".join(head) + "\n" + buf.getvalue(), encoding="utf-8")
    return rel


@pytest.mark.slow
def test_the_complete_release_builds_by_data_build_alone(raw_dir: Path, tmp_path: Path) -> None:
    import shutil

    from sendcast.harmonise.ehcp import reconcile
    from sendcast.store import Store, build_store, check_reconciliation

    src = tmp_path / "raw"
    _complete_release(raw_dir, src)
    shutil.copytree(raw_dir / "la-lookups", src / "la-lookups", copy_function=shutil.copyfile)
    m = build_store(src, tmp_path / "store", derived=False)
    obs = Store(tmp_path / "store").table("observations")
    check_reconciliation(reconcile(obs))  # councils add up to England in every period
    case = obs[(obs["measure"] == "ehcp_caseload") & (obs["breakdown_topic"] == "total")]
    assert case["year"].max() == 2025 and ["ehcp-statistics", "2025"] in [list(r) for r in m["releases"]]
    got = set(obs[obs["release"] == "2025"]["file"])
    assert {"annual_reviews.csv", "sen_needs_all_plans.csv", "work_based_placements.csv"} <= got


def test_a_file_cut_at_a_line_boundary_fails_the_reconciliation(tmp_path: Path) -> None:
    """A caseload file that lost its last council rows still parses (every line whole); the
    build's check that councils add up to England catches it."""
    from sendcast.harmonise.ehcp import reconcile
    from sendcast.store import StoreError, check_reconciliation

    def la(code: str, old: str, name: str, n: int) -> str:
        return (
            f"202324,Academic year,Local authority,E92000001,England,E12000006,East of England,{code},{old},{name},"
            f"All EHC plans,All EHC plans,{n},{n},x,100\n"
        )

    rows = [
        "202324,Academic year,National,E92000001,England,,,,,,All EHC plans,All EHC plans,30000,30000,x,100\n",
        la("E10000020", "926", "Norfolk", 12000),
        la("E10000029", "935", "Suffolk", 9000),
        la("E10000015", "919", "Hertfordshire", 9000),
    ]
    whole = ehcp_2025.load(make_release(tmp_path / "whole", rows)).observations
    check_reconciliation(reconcile(whole))  # the councils add up to England
    cut = ehcp_2025.load(make_release(tmp_path / "cut", rows[:-1])).observations
    with pytest.raises(StoreError, match="more than suppression explains.*cut short"):
        check_reconciliation(reconcile(cut))

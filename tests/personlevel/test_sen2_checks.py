"""Checks on synthetic returns: every seeded defect found, nothing on clean records."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pandas as pd

from sendcast.personlevel.checks import CHECKS, run_checks, summary
from sendcast.personlevel.read import read_gias, read_returns
from sendcast.personlevel.report import write_check_report
from sendcast.personlevel.synth import GIAS_FILE, TRUTH_DIR, write_synthetic


def _findings(folder: Path) -> pd.DataFrame:
    g = read_gias(folder / GIAS_FILE)
    return pd.concat([run_checks(r, g) for r in read_returns(folder)], ignore_index=True)


def test_every_seeded_defect_is_found_and_nothing_else(defective):
    folder, _ = defective
    truth = pd.read_csv(folder / TRUTH_DIR / "defects.csv")
    found = _findings(folder)
    # the injector covers every check the tool runs
    assert set(truth["check"]) == set(CHECKS)
    want = set(zip(truth["check"], truth["module"], truth["row"], truth["field"], strict=True))
    got = set(zip(found["check"], found["module"], found["row"], found["field"], strict=True))
    assert want - got == set()  # every defect found
    assert got - want == set()  # no false alarm on a clean record
    # the earlier, clean returns raise nothing
    assert found["census_year"].eq(2025).all()


def test_clean_returns_raise_nothing(clean):
    folder, _ = clean
    assert _findings(folder).empty


def _edit(path: Path, row: int, field: str, value: str) -> int:
    """Set one cell of a CSV (row = 0-based data row); return that row's table id."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[row, field] = value
    df.to_csv(path, index=False)
    return int(df.loc[row, df.columns[0]])


def test_hand_checked_small_return(tmp_path):
    write_synthetic(tmp_path, people=40, years=1, seed=3, defects=False)
    f = {p.name.split("_")[-1][:-4]: p for p in tmp_path.glob("Blade-Export_*.csv")}
    per = pd.read_csv(f["person"], dtype=str, keep_default_na=False)
    i = int(per.index[per["upn"] != ""][0])
    p1 = _edit(f["person"], i, "upn", "")
    _edit(f["person"], i, "uniquelearnernumber", "")
    _edit(f["person"], i, "upnunknown", "")
    n1 = _edit(f["senneed"], 0, "sentype", "XYZ")
    req = pd.read_csv(f["requests"], dtype=str, keep_default_na=False)
    j = int(req.index[req["requestoutcomedate"] != ""][0])
    r1 = _edit(f["requests"], j, "requestoutcomedate", "2000-Jan-01 00:00:00")
    pl = pd.read_csv(f["placementdetail"], dtype=str, keep_default_na=False)
    k = int(pl.index[pl["urn"] != ""][0])
    pl1 = _edit(f["placementdetail"], k, "sensetting", "OLA")
    found = _findings(tmp_path)
    got = sorted(zip(found["check"], found["module"], found["row"], found["field"], strict=True))
    # by hand: a person with neither UPN nor ULN and no reason; an unknown need code; a request
    # decided in 2000, before it was received; a sen setting given beside a URN
    assert got == sorted(
        [
            ("PER_NO_UPN_ULN_REASON", "person", p1, "upnunknown"),
            ("CODE_INVALID", "senneed", n1, "sentype"),
            ("REQ_OUTCOME_BEFORE_RECEIVED", "requests", r1, "requestoutcomedate"),
            ("PLACEMENT_SETTING_MISMATCH", "placementdetail", pl1, "sensetting"),
        ]
    )


def test_summary_first_and_reports(defective, tmp_path):
    folder, sim = defective
    returns = read_returns(folder)
    g = read_gias(folder / GIAS_FILE)
    findings = pd.concat([run_checks(r, g) for r in returns], ignore_index=True)
    s = summary(returns, findings, g)
    last = s[s["census_year"] == 2025].set_index("item")["count"]
    open_plans = len(sim.states[sim.states["census_year"] == 2025])
    assert last["open plans at the census date"] == open_plans
    assert last["people in the return"] == len(returns[-1].tables["person"])
    for cid in CHECKS:
        assert last[next(i for i in last.index if i.startswith(cid + ":"))] == (findings["check"] == cid).sum()
    (xlsx,) = write_check_report(s, findings, "xlsx", tmp_path / "c.xlsx")
    wb = openpyxl.load_workbook(xlsx, read_only=True)
    assert wb.sheetnames[0] == "summary"
    assert set(wb.sheetnames[1:]) == set(findings["check"])
    (page,) = write_check_report(s, findings, "html", tmp_path / "c.html")
    text = page.read_text()
    assert text.index("Summary") < text.index("PER_DUP_UPN (error)")
    csvs = write_check_report(s, findings, "csv", tmp_path / "c.csv")
    assert len(pd.read_csv(csvs[1])) == len(findings)


def test_without_gias_the_establishment_checks_are_marked_not_run(defective, tmp_path):
    folder, _ = defective
    for p in folder.glob("Blade-Export_*.csv"):
        shutil.copy(p, tmp_path / p.name)
    returns = read_returns(tmp_path)
    findings = pd.concat([run_checks(r) for r in returns], ignore_index=True)
    assert not findings["check"].isin(["PLACEMENT_URN_UNKNOWN", "PLACEMENT_TYPE_NO_EHCP"]).any()
    s = summary(returns, findings, None)
    row = s[s["item"].str.startswith("PLACEMENT_URN_UNKNOWN")]
    assert row["count"].isna().all()


def test_yes_no_flags_exported_as_letters_read_the_same(tmp_path):
    write_synthetic(tmp_path, people=60, years=1, seed=9, defects=False)
    path = next(tmp_path.glob("*_assessment.csv"))
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert (df["week20"] == "1").any() and (df["week20"] == "0").any()
    df["week20"] = df["week20"].map({"1": "Y", "0": "N", "": ""})
    df.to_csv(path, index=False)
    assert _findings(tmp_path).empty


def test_check_exit_code_is_0_without_errors_and_1_with_them(clean, defective, tmp_path):
    """0: clean, or queries only; 1: errors found (the report is written first); 2: unreadable."""
    from typer.testing import CliRunner

    from sendcast.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["sen2", "check", str(clean[0])])
    assert res.exit_code == 0, res.output
    # one query only: a 20-week flag that contradicts the dates
    folder = tmp_path / "queries"
    shutil.copytree(clean[0], folder)
    path = next(folder.glob("Blade-Export_*2025_assessment.csv"))
    a = pd.read_csv(path, dtype=str, keep_default_na=False)
    i = a.index[a["week20"] != ""][0]
    a.loc[i, "week20"] = "0" if a.loc[i, "week20"] == "1" else "1"
    a.to_csv(path, index=False)
    found = _findings(folder)
    assert len(found) and set(found["severity"]) == {"query"}
    res = runner.invoke(app, ["sen2", "check", str(folder)])
    assert res.exit_code == 0, res.output
    report = tmp_path / "findings.csv"
    res = runner.invoke(app, ["sen2", "check", str(defective[0]), "--format", "csv", "--out", str(report)])
    assert res.exit_code == 1, res.output
    assert report.is_file() and "errors" in res.output
    res = runner.invoke(app, ["sen2", "check", str(tmp_path / "nothing")])
    assert res.exit_code == 2

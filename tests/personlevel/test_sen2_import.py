"""Import: malformed files fail naming file, row and field and write nothing; tidy tables
reproduce the synthetic truth; identifiers never leave the importer."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sendcast.cli import app
from sendcast.personlevel.importer import import_returns, open_sen2_store, person_ids
from sendcast.personlevel.read import Sen2InputError, read_returns

runner = CliRunner()


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for p in src.iterdir():
        if p.is_file():
            shutil.copy(p, dst / p.name)
    return dst


def _file(folder: Path, module: str, year: int = 2025) -> Path:
    return next(p for p in folder.glob(f"Blade-Export_*-{year}_{module}.csv"))


def _tree_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def _edit_csv(path: Path, fn) -> None:  # type: ignore[no-untyped-def]
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = fn(df)
    df.to_csv(path, index=False)


def _rename(df: pd.DataFrame) -> pd.DataFrame:
    return df.rename(columns={"receiveddate": "received_date"})


def _bad_date(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[3, "personbirthdate"] = "2010-Smarch-45 00:00:00"
    return df


def _orphan(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[5, "persontableid"] = "99999999"
    return df


def _dup(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[7, "persontableid"] = df.loc[2, "persontableid"]
    return df


def _other_la(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[0, "lea"] = "926"
    return df


# (module to edit, edit, (file suffix, row, field) that the message must name); rows are CSV lines
CASES = {
    "renamed column": ("requests", _rename, ("requests.csv", "row 1", "'receiveddate'")),
    "bad date": ("person", _bad_date, ("person.csv", "row 5", "'personbirthdate'")),
    "orphan row id": ("requests", _orphan, ("requests.csv", "row 7", "'persontableid'")),
    "duplicate row id": ("person", _dup, ("person.csv", "row 9", "'persontableid'")),
    "another council": ("sen2", _other_la, ("sen2.csv", "row 2", "'lea'")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_files_fail_naming_file_row_field_and_write_nothing(clean, tmp_path, case):
    folder = _copy(clean[0], tmp_path / "in")
    module, edit, (suffix, row, field) = CASES[case]
    _edit_csv(_file(folder, module), edit)
    dest = tmp_path / "store"
    res = runner.invoke(app, ["sen2", "import", str(folder), "--dest", str(dest)])
    assert res.exit_code == 2, res.output
    msg = " ".join(res.output.split())
    assert suffix in msg and row in msg and field in msg, msg
    assert "Traceback" not in res.output
    assert not dest.exists()
    res = runner.invoke(app, ["sen2", "check", str(folder)])
    assert res.exit_code == 2


def test_missing_module_is_named(clean, tmp_path):
    folder = _copy(clean[0], tmp_path / "in")
    _file(folder, "senneed", 2024).unlink()
    with pytest.raises(Sen2InputError, match=r"2024_senneed\.csv: module missing"):
        read_returns(folder)


def test_failed_import_leaves_the_existing_store_unchanged(clean, tmp_path):
    folder = _copy(clean[0], tmp_path / "in")
    dest = tmp_path / "store"
    import_returns(folder, dest)
    before = _tree_hash(dest)
    _edit_csv(_file(folder, "person"), _bad_date)
    with pytest.raises(Sen2InputError):
        import_returns(folder, dest)
    assert _tree_hash(dest) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".store")] == []


def test_another_councils_return_into_a_store_fails(clean, tmp_path):
    folder = _copy(clean[0], tmp_path / "in")
    dest = tmp_path / "store"
    import_returns(folder, dest)
    other = _copy(clean[0], tmp_path / "other")
    for p in other.glob("Blade-Export_*_sen2.csv"):
        _edit_csv(p, _other_la)
    with pytest.raises(Sen2InputError, match="another council"):
        import_returns(other, dest)


def test_caseload_reproduces_the_truth(clean, tmp_path):
    folder, sim = clean
    dest = tmp_path / "store"
    res = import_returns(folder, dest)
    manifest, tables = open_sen2_store(dest)
    key = bytes.fromhex(res.key_file.read_text().strip())
    # the truth's person ids, hashed the importer's way
    persons = sim.persons.copy()
    persons["personbirthdate"] = pd.to_datetime(persons["personbirthdate"])
    persons["persontableid"] = persons["pid"]
    hid = dict(zip(persons["pid"], person_ids(persons, key, 0), strict=True))
    truth = sim.states[sim.states["census_year"].isin(sim.years)].assign(person_id=lambda d: d["pid"].map(hid))
    got = tables["caseload"].assign(age_aug=lambda d: d["ncy"] + 4)
    m = truth.merge(got, on=["census_year", "person_id"], how="outer", indicator=True)
    assert (m["_merge"] == "both").all()
    assert (m["group"] == m["placement_group"]).all()
    assert (m["need"] == m["primary_need"]).all()
    assert (m["age_x"] == m["age_aug"]).all()
    assert manifest["lea"] == sim.la and [r["census_year"] for r in manifest["returns"]] == sim.years


def test_key_and_store_are_owner_only_and_key_is_checked(clean, tmp_path):
    folder = clean[0]
    dest = tmp_path / "store"
    res = import_returns(folder, dest)
    assert res.key_created
    assert stat.S_IMODE(os.stat(res.key_file).st_mode) == 0o600
    assert dest not in res.key_file.parents
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o700
    assert all(stat.S_IMODE(os.stat(p).st_mode) == 0o600 for p in dest.iterdir())
    # the same key again: returns are replaced, not doubled
    again = import_returns(folder, dest)
    assert not again.key_created and again.people == res.people
    other = tmp_path / "other.key"
    other.write_text("ab" * 32)
    with pytest.raises(Sen2InputError, match="not the one the store was built with"):
        import_returns(folder, dest, key_file=other)
    from sendcast.personlevel.importer import load_or_create_key

    with pytest.raises(Sen2InputError, match="must not be kept inside the store"):
        load_or_create_key("990", _put(tmp_path / "store3" / "k.key"), tmp_path / "store3")


def _put(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("cd" * 32)
    return path


def test_raw_files_are_not_copied(clean, tmp_path):
    dest = tmp_path / "store"
    import_returns(clean[0], dest)
    assert not any(p.suffix == ".csv" for p in dest.iterdir())


def test_postcode_district_keeps_only_the_outward_code():
    from sendcast.personlevel.importer import postcode_district

    got = postcode_district(pd.Series(["NR1 2AB", "sw1a 1aa", "AV7 3XY", "", "NOT A POSTCODE", "12345"]))
    assert got.tolist() == ["NR1", "SW1A", "AV7", "", "", ""]

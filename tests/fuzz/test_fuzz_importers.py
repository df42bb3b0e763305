"""Fuzz every importer with malformed copies of its files: a clean one-line error or a valid
table, never a traceback (issue 11)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from types import ModuleType

import pytest
from fuzzing import FIXTURES, FUZZ, apply, clean_or_valid, copy_folder, mutation
from hypothesis import given
from hypothesis import strategies as st
from tests_raw import raw_folder

from sendcast.ingest import (
    dsg,
    ehcp_2025,
    hn_benchmarking,
    lait,
    lookups,
    neighbours,
    population_0_17,
    population_mye,
    safety_valve,
    snpp,
)
from sendcast.ingest.common import out_of_range, validate_observations

# importer -> (folder with its files, the file to damage); la-lookups is copied beside each
CASES: dict[str, tuple[ModuleType, Path | None, str | None]] = {
    "lookups": (lookups, FIXTURES / "la-lookups", "dfe_la_codes_from_ehcp_2025.csv"),
    "neighbours": (neighbours, FIXTURES / "statistical-neighbours", "statistical_neighbours_long.csv"),
    "population_mye": (population_mye, FIXTURES / "mye", "mye_persons_sya_england_2015_2024.csv"),
    "population_0_17": (population_0_17, FIXTURES / "pop017", "ons_mid-year_population_estimates_2023_to_2024.csv"),
    "snpp": (snpp, FIXTURES / "snpp", "2022_SNPP_Population_males_females.csv"),
    "lait": (lait, FIXTURES / "dfe-lait", "lait_send_education_finance_indicators_long.csv"),
    "safety_valve": (safety_valve, raw_folder("safety-valve-agreements"), "safety_valve_agreements_partial.csv"),
    "hn_benchmarking": (
        hn_benchmarking,
        raw_folder("high-needs-benchmarking-2021-22"),
        "high_needs_benchmarking_2021-22_by_la.csv",
    ),
    "dsg": (dsg, raw_folder("dsg-allocations"), "dsg_allocations_by_la_2019-20_to_2023-24.csv"),
}


def _check(mod: ModuleType, folder: Path) -> None:
    res = clean_or_valid(lambda: mod.load(folder))
    if res is not None:  # a valid result: it passes the schema and every range
        if len(res.observations):
            validate_observations(res.observations, file="fuzz")
            assert not out_of_range(res.observations)[0].any()


@pytest.mark.parametrize("name", sorted(CASES))
@FUZZ
@given(change=mutation())
def test_importer_gives_a_clean_error_or_a_valid_table(name: str, change: tuple) -> None:
    mod, src, file = CASES[name]
    if src is None:
        pytest.skip("published files not present")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / src.name
        if name == "dsg":  # the derived CSV alone (the .ods files have a test of their own)
            folder.mkdir()
            shutil.copyfile(src / str(file), folder / str(file))
        else:
            copy_folder(src, folder)
        if name != "lookups":  # the lookups beside the files: synthetic ones for synthetic files
            lk = FIXTURES / "la-lookups" if src.is_relative_to(FIXTURES) else raw_folder("la-lookups")
            copy_folder(lk or FIXTURES / "la-lookups", Path(tmp) / "la-lookups")
        target = folder / str(file)
        apply(target, change)
        _check(mod, folder)


AREA = "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,"
AREA += "new_la_code,old_la_code,la_name,breakdown_topic,breakdown"


def _ehcp_release(root: Path) -> Path:
    """A small synthetic EHCP 2025 release: every file with its full header, a national and a
    council row in each key file (numbers made up, councils adding up to England)."""
    d = root / "ehcp" / "data"
    d.mkdir(parents=True)
    for name, (key, spec) in ehcp_2025.FILES.items():
        cols = list(spec(AREA.split(","))) or [key]
        text = AREA + "," + ",".join(cols) + "\n"
        if name in ehcp_2025.REQUIRED_FILES:
            period = "202324,Academic year" if name != "requests.csv" else "2023,Calendar year"
            text += f"{period},National,E92000001,England,,,,,,All,All," + ",".join("20" for _ in cols) + "\n"
            text += (
                f"{period},Local authority,E92000001,England,E12000006,East of England,E10000020,926,Norfolk,All,All,"
                + ",".join("20" for _ in cols)
                + "\n"
            )
        (d / name).write_text(text, encoding="utf-8")
    return d.parent


@FUZZ
@given(file=st.sampled_from([*ehcp_2025.REQUIRED_FILES, "lookup"]), change=mutation())
def test_ehcp_release_gives_a_clean_error_or_a_valid_table(file: str, change: tuple) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rel = _ehcp_release(Path(tmp))
        lookups_copy = copy_folder(FIXTURES / "la-lookups", Path(tmp) / "la-lookups")
        assert len(ehcp_2025.load(rel).observations)  # the undamaged release imports
        target = lookups_copy / "dfe_la_codes_from_ehcp_2025.csv" if file == "lookup" else rel / "data" / file
        apply(target, change)
        _check(ehcp_2025, rel)

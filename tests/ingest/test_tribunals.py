"""SEND Tribunal appeal-rate table importer."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sendcast.ingest import tribunals
from sendcast.ingest.common import IngestError

LOOKUP = pd.DataFrame(
    {
        "old_la_code": ["926", "801"],
        "new_la_code": ["E10000020", "E06000023"],
        "la_name": ["Norfolk", "Bristol, City of"],
    }
)
TABLE = (
    '"SEND Appeal rate table 1",,,,,,,\n,,,,,,,\n'
    "Local Authority,LA code,2022,,,2023,,\n"
    ",,Appeals registered4,Total Appealable Decisions1,SEND Tribunal Appeal Rate2,Appeals registered4,"
    '"Total Appealable Decisions1,9",SEND Tribunal Appeal Rate2\n'
    "EAST OF ENGLAND,,,,,,,\n"
    'Norfolk,926,305,"10,165",3.00%,360,"11,367",3.20%\n'
    "City of Bristol,801, - ,900,0.00%,~,..,..\n"
    '"England Total4,9",,"12,796","549,887",2.30%,"15,615","617,776",2.50%\n'
    "Notes: ,,,,,,,\n"
)


def test_synthetic(tmp_path: Path) -> None:
    p = tmp_path / "SEND Tribunals and appeal rate 2014-2024.csv"
    p.write_text(TABLE)
    obs = tribunals.read_table(p, LOOKUP)
    v = obs.set_index(["la_code", "measure", "year"])["value"]
    assert v[("E10000020", "tribunal_appealable_decisions", 2023)] == 11367  # thousands separator
    assert v[("E10000020", "tribunal_appeal_rate", 2023)] == 3.2
    assert v[("E06000023", "tribunal_appeals", 2022)] == 0  # ' - ' is nil (rate 0.00%)
    assert pd.isna(v[("E06000023", "tribunal_appeals", 2023)])  # '~' suppressed, not 0
    assert v[("E92000001", "tribunal_appeals", 2023)] == 15615
    assert (obs["period_type"] == "calendar_year").all()


def test_unknown_la(tmp_path: Path) -> None:
    p = tmp_path / "SEND Tribunals and appeal rate 2014-2024.csv"
    p.write_text(TABLE.replace("Norfolk,926", "Narnia,999"))
    with pytest.raises(IngestError, match="Narnia") as exc:
        tribunals.read_table(p, LOOKUP)
    assert exc.value.line == 6


def test_real(raw_dir: Path) -> None:
    res = tribunals.load(raw_dir / "ehcp-statistics-2025-partial")
    v = res.observations.set_index(["la_code", "measure", "year"])["value"]
    assert v[("E10000020", "tribunal_appeals", 2023)] == 360
    assert v[("E92000001", "tribunal_appealable_decisions", 2014)] == 251096

"""Safety valve agreements reference table."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sendcast.ingest import safety_valve as sv
from sendcast.ingest.common import IngestError

FIXTURES = Path(__file__).parent / "fixtures" / "finance"


def release(tmp_path: Path, body: str) -> Path:
    shutil.copytree(FIXTURES / "la-lookups", tmp_path / "la-lookups")
    folder = tmp_path / "safety-valve-agreements"
    folder.mkdir()
    (folder / sv.CSV_NAME).write_text("la_name,agreement_financial_year,evidence\n" + body)
    return folder


def test_synthetic(tmp_path: Path) -> None:
    r = sv.load(release(tmp_path, 'Bury,2020-21,"page"\nBristol,2023-24,x\n'))
    assert r.observations.empty
    t = r.tables["safety_valve_agreements"]
    assert list(t["la_code"]) == ["E08000002", "E06000023"]
    assert list(t["agreement_financial_year"]) == [2020, 2023]
    assert t["caveat"].str.contains("partial").all()


@pytest.mark.parametrize(
    ("body", "line", "field"),
    [
        ("Atlantis,2020-21,x\n", 2, "la_name"),
        ("Bury,2020,x\n", 2, "agreement_financial_year"),
        ("Bury,2020-21,x\nBury,2021-22,y\n", 3, "la_name"),
    ],
)
def test_malformed(tmp_path: Path, body: str, line: int, field: str) -> None:
    with pytest.raises(IngestError) as exc:
        sv.load(release(tmp_path, body))
    assert (exc.value.line, exc.value.field) == (line, field)


def test_real(raw_dir: Path) -> None:
    t = sv.load(raw_dir / "safety-valve-agreements").tables["safety_valve_agreements"]
    assert len(t) == 32
    # gov.uk: 5 in 2020-21, 9 in 2021-22, 4 in 2023-24; 14 of the 20 2022-23 transcribed
    assert t["agreement_financial_year"].value_counts().to_dict() == {2020: 5, 2021: 9, 2022: 14, 2023: 4}
    assert t.set_index("la_name").loc["Norfolk", "la_code"] == "E10000020"

"""A ``--population`` projection is used in full or refused with the reason (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sendcast.ingest.common import IngestError
from sendcast.model.api import forecast, load_projection

pytestmark = pytest.mark.usefixtures("embedded_store")

YEARS = list(range(2022, 2036))


def _snpp(path: Path, per_age: float = 9000.0, *, code: str = "E10000020", name: str = "Norfolk", ages=None) -> Path:
    """An SNPP-layout file: ``per_age`` people at every age in every year (Norfolk has about
    9,500 people at each age 0-25, so 9,000 is plausible)."""
    head = '"AREA_CODE","AREA_NAME","COMPONENT","SEX","AGE_GROUP",' + ",".join(f'"{y}"' for y in YEARS)
    rows = [head]
    for age in ages if ages is not None else [*map(str, range(0, 90)), "90 and over"]:
        rows.append(f'"{code}","{name}","Population","persons","{age}",' + ",".join(f"{per_age:.3f}" for _ in YEARS))
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_complete_projection_is_used_in_full(tmp_path: Path) -> None:
    proj = load_projection(_snpp(tmp_path / "ok.csv"))
    assert set(proj["la_code"]) == {"E10000020"} and len(proj) == 26 * len(YEARS)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ages": [str(a) for a in range(0, 11)]}, r"Norfolk \(E10000020\) 2022: ages 11-25 missing"),
        ({"per_age": -5.0}, "is negative"),
        ({"per_age": 0.0}, "population 0 is not plausible"),
        ({"per_age": 1e15}, "beyond any plausible value"),
        ({"per_age": 2e8}, "above any English count"),
        ({"per_age": 0.001}, "is this the right area and unit"),
        ({"per_age": 90000.0}, "is this the right area and unit"),
        ({"code": "W06000001", "name": "Isle of Anglesey"}, "covers no current English council"),
    ],
)
def test_an_unusable_projection_is_refused_with_the_reason(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(IngestError, match=message) as exc:
        load_projection(_snpp(tmp_path / "bad.csv", **kwargs))
    assert "bad.csv" in str(exc.value)


def test_duplicate_rows_are_refused_not_summed(tmp_path: Path) -> None:
    p = _snpp(tmp_path / "dup.csv")
    lines = p.read_text().splitlines()
    p.write_text("\n".join([*lines, lines[6]]) + "\n")  # age 5 again
    with pytest.raises(IngestError, match="given twice") as exc:
        load_projection(p)
    assert exc.value.line == len(lines) + 1


def test_the_shipped_sample_is_refused(raw_dir: Path) -> None:
    sample = raw_dir / "ons-snpp-2022-format-sample" / "2022_SNPP_Population_persons_sample.csv"
    with pytest.raises(IngestError, match="missing; a forecast needs every age 0-25"):
        load_projection(sample)


def test_a_projection_for_another_council_is_refused(tmp_path: Path) -> None:
    durham = _snpp(tmp_path / "durham.csv", 5500.0, code="E06000047", name="County Durham")
    with pytest.raises(IngestError, match="has no rows for E10000020"):
        forecast("Norfolk", horizon=1, draws=10, seed=1, population_projection=durham)


def test_the_projection_used_is_recorded_in_the_run_record(tmp_path: Path) -> None:
    from sendcast.outputs import forecast_report

    p = _snpp(tmp_path / "norfolk.csv")
    res = forecast("Norfolk", horizon=2, draws=20, seed=1, population_projection=p)
    out = forecast_report.write(res, "csv", tmp_path / "f.csv", p)
    assert out is not None
    meta = json.loads((tmp_path / "f.csv.meta.json").read_text())
    assert meta["settings"]["population_projection"] == str(p)
    assert any("norfolk.csv" in k for k in meta["parameter_files"])

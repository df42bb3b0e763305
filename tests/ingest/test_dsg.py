"""DSG allocations importer: synthetic fixtures (logic) and the real published files."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sendcast.ingest import dsg
from sendcast.ingest.common import IngestError

FIXTURES = Path(__file__).parent / "fixtures" / "finance"
HEADER = "financial_year,la_code,la_name," + ",".join(dsg.CSV_COLUMNS)


def release(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    """A release folder with a synthetic CSV and a sibling la-lookups folder."""
    shutil.copytree(FIXTURES / "la-lookups", tmp_path / "la-lookups")
    folder = tmp_path / "dsg-allocations"
    folder.mkdir()
    (folder / dsg.CSV_NAME).write_text(header + "\n" + body, encoding="utf-8")
    return folder


ROWS = (
    "2023-24,ENGLAND,England,100,10,30,5,145,40,10,20,5,75\n"
    "2023-24,East of England,,60,6,18,3,87,25,6,12,3,46\n"
    "2023-24,LONDON,,1,1,1,1,4,1,1,1,1,4\n"  # London subtotal among the LA types ...
    "2023-24,UNITARY AUTHORITIES,,9,9,9,9,36,9,9,9,9,36\n"
    "2023-24,LONDON,,1,1,1,1,4,1,1,1,1,4\n"  # ... and again as the region: kept once
    "2023-24,926,Norfolk,50,5,12.5,2,69.5,20,5,x,2,27\n"
    "2022-23,825,Buckinghamshire,1,2,3,4,10,1,2,3,4,10\n"
)


def test_synthetic_csv_rows_units_and_markers(tmp_path: Path) -> None:
    r = dsg.load(release(tmp_path, ROWS))
    o = r.observations
    # 5 areas kept (England, East of England, London, Norfolk, Bucks) x 10 measures = 50
    assert len(o) == 50
    assert set(o["unit"]) == {"gbp"} and set(o["period_type"]) == {"financial_year"}
    nor = o[(o["la_code"] == "E10000020")].set_index(["measure", "breakdown"])
    assert nor.loc[("high_needs_block", "before_deductions"), "value"] == 12.5
    # 'x' stays missing with its reason, never 0
    hnb_after = nor.loc[("high_needs_block", "after_deductions")]
    assert math.isnan(hnb_after["value"]) and hnb_after["missing_reason"] == "not available"
    assert nor.loc[("total_dsg", "before_recoupment"), "period"] == "2023-24"
    assert int(nor.loc[("total_dsg", "before_recoupment"), "year"]) == 2023
    assert set(o.loc[o["la_name"] == "London", "la_code"]) == {"E12000007"}
    assert set(o.loc[o["la_name"] == "Buckinghamshire", "la_code"]) == {"E10000002"}
    assert "UNITARY AUTHORITIES" not in set(o["la_name"])
    assert int(o.loc[o["la_name"] == "London", "line"].iloc[0]) == 6  # the regional one


@pytest.mark.parametrize(
    ("body", "header", "line", "field"),
    [
        ("2023-24,999,Nowhere,1,1,1,1,4,1,1,1,1,4\n", HEADER, 2, "la_code"),
        ("2023-24,926,Norfolk,1,1,lots,1,4,1,1,1,1,4\n", HEADER, 2, "high_needs_block_before_deductions"),
        ("2023-24,926,Norfolk,1,1,1\n", HEADER, 2, None),  # truncated line
        (
            "2023-24,926,Norfolk,1,1,1,1,4,1,1,1,1,4\n",
            HEADER.replace("high_needs_block_before_deductions", "hnb"),
            1,
            "high_needs_block_before_deductions",
        ),  # renamed column
        ("2023/25,926,Norfolk,1,1,1,1,4,1,1,1,1,4\n", HEADER, 2, "financial_year"),
        (
            "2023-24,926,Norfolk,1,1,1,1,4,1,1,1,1,4\n2023-24,926,Norfolk,1,1,1,1,4,1,1,1,1,4\n",
            HEADER,
            3,
            "schools_block",
        ),  # duplicated period
        ("", HEADER, 2, None),  # header only
    ],
)
def test_malformed_csv_names_file_line_field(
    tmp_path: Path, body: str, header: str, line: int, field: str | None
) -> None:
    with pytest.raises(IngestError) as exc:
        dsg.load(release(tmp_path, body, header))
    assert exc.value.file.endswith(dsg.CSV_NAME)
    assert exc.value.line == line
    assert exc.value.field == field


def test_empty_file_and_wrong_publication(tmp_path: Path) -> None:
    folder = release(tmp_path, "")
    (folder / dsg.CSV_NAME).write_text("")
    with pytest.raises(IngestError, match="empty"):
        dsg.load(folder)
    # a different publication saved under this name: its columns are not ours
    (folder / dsg.CSV_NAME).write_text("time_period,la_name,ehcplans\n202324,Norfolk,12\n")
    with pytest.raises(IngestError, match="missing column"):
        dsg.load(folder)
    assert not dsg.detect(tmp_path / "la-lookups")


def test_missing_lookup_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "dsg"
    folder.mkdir()
    (folder / dsg.CSV_NAME).write_text(HEADER + "\n" + ROWS)
    with pytest.raises(IngestError, match="lookup"):
        dsg.load(folder)


# ---- the real published files ------------------------------------------------------------


@pytest.fixture(scope="module")
def real(raw_dir: Path) -> pd.DataFrame:
    return dsg.load(raw_dir / "dsg-allocations").observations


def _get(o: pd.DataFrame, code: str, measure: str, breakdown: str, year: int) -> float:
    sel = o[(o["la_code"] == code) & (o["measure"] == measure) & (o["breakdown"] == breakdown) & (o["year"] == year)]
    assert len(sel) == 1
    return float(sel["value"].iloc[0])


def test_real_norfolk_high_needs_block_2023_24(real: pd.DataFrame) -> None:
    # Allocations_2324 row 'Norfolk' (926): [C] 135,212,119 before, [H] 118,884,285 after
    assert _get(real, "E10000020", "high_needs_block", "before_deductions", 2023) == 135_212_119
    assert _get(real, "E10000020", "high_needs_block", "after_deductions", 2023) == 118_884_285
    # 2019-20 is published in £ million (81.917357 -> £81,917,357 to the pound)
    assert _get(real, "E10000020", "high_needs_block", "before_deductions", 2019) == (
        pytest.approx(81_917_356.97, abs=1)
    )


def test_real_totals_add_up_and_shape(real: pd.DataFrame) -> None:
    assert set(real["year"]) == {2019, 2020, 2021, 2022, 2023}
    assert real["value"].notna().all()
    # [E] = [A] + [B] + [C] + [D] for England 2023-24
    parts = sum(
        _get(real, "E92000001", m, b, 2023)
        for m, b in [
            ("schools_block", "before_recoupment"),
            ("central_school_services_block", "before_recoupment"),
            ("high_needs_block", "before_deductions"),
            ("early_years_block", "before_recoupment"),
        ]
    )
    assert parts == pytest.approx(_get(real, "E92000001", "total_dsg", "before_recoupment", 2023))
    regions = real[(real["geographic_level"] == "regional") & (real["year"] == 2023)]
    assert regions["la_code"].nunique() == 9


def test_real_csv_agrees_with_published_ods(raw_dir: Path, real: pd.DataFrame) -> None:
    folder = raw_dir / "dsg-allocations"
    lookup = dsg.LaLookup(raw_dir / "la-lookups" / dsg.LOOKUP_NAME)
    csv = dsg.read_csv(folder / dsg.CSV_NAME, lookup, [])
    keys = ["la_code", "measure", "breakdown", "year"]
    both = real.merge(csv, on=keys, how="outer", indicator=True)
    assert (both["_merge"] == "both").all()
    assert (both["value_x"] - both["value_y"]).abs().max() <= 0.02  # a penny of £m rounding


# --------------------------------------------------------------------------- issue 11: .ods bombs


def _ods(path: Path, rows_xml: str) -> Path:
    """A minimal .ods with one sheet holding ``rows_xml`` (table:table-row elements)."""
    import zipfile

    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="Allocations_2324">'
        f"{rows_xml}</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        zf.writestr("content.xml", content)
    return path


def test_ods_zip_bomb_is_refused_before_parsing(tmp_path: Path) -> None:
    from sendcast.ingest.dsg import ods_cells, read_summary_ods

    cell = '<table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell>'
    # one row of 16,384 filled cells repeated 1,000,000 times: 16 billion cells from 1 kB
    bomb = _ods(
        tmp_path / "bomb.ods",
        '<table:table-row table:number-rows-repeated="1000000">'
        '<table:table-cell table:number-columns-repeated="16384" office:value-type="float" office:value="1">'
        "<text:p>1</text:p></table:table-cell></table:table-row>",
    )
    with pytest.raises(IngestError, match="more than 2,000,000 cells"):
        ods_cells(bomb)
    with pytest.raises(IngestError, match=r"bomb\.ods: spreadsheet expands"):
        read_summary_ods(bomb, lookup=None, notes=[])  # type: ignore[arg-type]
    # trailing empty rows and columns (as LibreOffice writes them) are not counted, as in pandas
    ok = _ods(
        tmp_path / "ok.ods",
        f'<table:table-row>{cell}{cell}<table:table-cell table:number-columns-repeated="16000"/></table:table-row>'
        '<table:table-row table:number-rows-repeated="1048000"><table:table-cell/></table:table-row>',
    )
    assert ods_cells(ok) == 2


def test_damaged_ods_is_one_line_error(tmp_path: Path) -> None:
    from sendcast.ingest.dsg import ods_cells

    p = tmp_path / "x.ods"
    p.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(IngestError, match=r"x\.ods: cannot read as an \.ods spreadsheet"):
        ods_cells(p)

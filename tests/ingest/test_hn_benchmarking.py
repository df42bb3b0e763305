"""High needs benchmarking 2021-22 importer: synthetic rows and the real file."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from sendcast.ingest import hn_benchmarking as hn
from sendcast.ingest.common import IngestError

FIXTURES = Path(__file__).parent / "fixtures" / "finance"
COLS = ["region", "la_code", "la_name", *hn.COLUMNS]


def release(tmp_path: Path, rows: list[list[str]], cols: list[str] = COLS) -> Path:
    shutil.copytree(FIXTURES / "la-lookups", tmp_path / "la-lookups")
    folder = tmp_path / "high-needs-benchmarking-2021-22"
    folder.mkdir()
    text = ",".join(cols) + "\n" + "".join(",".join(r) + "\n" for r in rows)
    (folder / hn.CSV_NAME).write_text(text)
    return folder


def norfolk(**cells: str) -> list[str]:
    row = {c: "1" for c in hn.COLUMNS} | {"region": "EAST OF ENGLAND", "la_code": "926", "la_name": "Norfolk"}
    row.update(cells)
    return [row[c] for c in COLS]


def test_synthetic_row(tmp_path: Path) -> None:
    row = norfolk(
        s251_outturn_topup_nmss_independent_total="41452473.0",
        ehcp_placed_post16="",
        pop_2_18_ons_mid2021_projection="166555.769",
    )
    o = hn.load(release(tmp_path, [row])).observations
    assert len(o) == len(hn.COLUMNS)  # one council: one row per published column
    top = o[(o["measure"] == "s251_outturn") & (o["breakdown"] == "topup_nmss_independent_total")]
    assert top["value"].iloc[0] == 41_452_473 and top["period"].iloc[0] == "2021-22"
    post16 = o[(o["measure"] == "ehcp_placed") & (o["breakdown"] == "post16")].iloc[0]
    assert math.isnan(post16["value"]) and post16["missing_reason"] == "blank in source"
    assert post16["period_type"] == "january" and post16["period"] == "2021-01"
    pop = o[o["measure"] == "population_2_18"].iloc[0]
    assert pop["unit"] == "persons" and pop["period_type"] == "mid_year"
    assert set(o["la_code"]) == {"E10000020"}


@pytest.mark.parametrize(
    ("rows", "cols", "line", "field"),
    [
        ([norfolk(la_code="999")], COLS, 2, "la_code"),
        ([norfolk(s251_budget_place_special="twelve")], COLS, 2, "s251_budget_place_special"),
        ([norfolk()[:5]], COLS, 2, None),
        ([norfolk()], [c.replace("ehcp_placed_other", "ehcp_other") for c in COLS], 1, "ehcp_placed_other"),
        ([norfolk(), norfolk()], COLS, 3, "population_2_18"),
    ],
)
def test_malformed(tmp_path: Path, rows: list[list[str]], cols: list[str], line: int, field: str | None) -> None:
    with pytest.raises(IngestError) as exc:
        hn.load(release(tmp_path, rows, cols))
    assert exc.value.file.endswith(hn.CSV_NAME)
    assert (exc.value.line, exc.value.field) == (line, field)


def test_real_norfolk(raw_dir: Path) -> None:
    r = hn.load(raw_dir / "high-needs-benchmarking-2021-22")
    o = r.observations
    assert o["la_code"].nunique() == 154
    nor = o[o["la_code"] == "E10000020"].set_index(["measure", "breakdown"])["value"]
    assert nor[("s251_outturn", "topup_nmss_independent_total")] == 41_452_473
    assert nor[("s251_budget", "topup_nmss_independent_total")] == 34_081_389
    assert nor[("ehcp_placed", "total")] == 7753
    placed = sum(nor[("ehcp_placed", p)] for p in hn.PLACEMENTS)
    # 2131+130+1667+782+201+2159+683 = 7753
    assert placed == 7753

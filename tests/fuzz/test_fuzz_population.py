"""Fuzz ``--population`` files: a projection used in full (every age 0-25, plausible numbers)
or a one-line refusal, never a traceback and never a file silently half used (issue 11)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from fuzzing import FUZZ, NASTY_CELLS, clean_or_valid
from hypothesis import given
from hypothesis import strategies as st

from sendcast.model.api import load_projection

pytestmark = pytest.mark.usefixtures("embedded_store")

AREAS = [("E10000020", "Norfolk"), ("E06000047", "County Durham"), ("W06000001", "Isle of Anglesey"), ("E99", "x")]
AGES = [*map(str, range(0, 90)), "90 and over"]
YEARS = list(range(2022, 2032))


@st.composite
def projection_file(draw: st.DrawFn) -> str:
    """An SNPP-layout file: one or two areas, all or some ages, plausible or damaged numbers,
    sometimes a row twice, persons or male/female rows."""
    areas = draw(st.lists(st.sampled_from(AREAS), min_size=1, max_size=2, unique=True))
    sexes = draw(st.sampled_from([["persons"], ["male", "female"], ["male"]]))
    keep_all = draw(st.integers(0, 3)) > 0  # mostly every age: the files that pass must be checked too
    ages = AGES if keep_all else draw(st.lists(st.sampled_from(AGES), min_size=1, max_size=30, unique=True))
    level = draw(st.sampled_from([9000.0, 9000.0, 5000.0, 1e15, 0.001, 0.0, -10.0, 80.0]))
    head = '"AREA_CODE","AREA_NAME","COMPONENT","SEX","AGE_GROUP",' + ",".join(f'"{y}"' for y in YEARS)
    rows = [head]
    for code, name in areas:
        for sex in sexes:
            for age in ages:
                per_sex = level / len(sexes)
                rows.append(f"{code},{name},Population,{sex},{age}," + ",".join(f"{per_sex:.3f}" for _ in YEARS))
    if draw(st.integers(0, 2)) == 0 and len(rows) > 2:  # damage one cell
        i = draw(st.integers(1, len(rows) - 1))
        cells = rows[i].split(",")
        cells[draw(st.integers(5, len(cells) - 1))] = draw(NASTY_CELLS)
        rows[i] = ",".join(cells)
    if draw(st.integers(0, 4)) == 0 and len(rows) > 2:
        rows.append(rows[draw(st.integers(1, len(rows) - 1))])
    return "\n".join(rows) + "\n"


@FUZZ
@given(text=projection_file())
def test_projection_used_in_full_or_refused(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "snpp.csv"
        p.write_text(text, encoding="utf-8")
        proj = clean_or_valid(lambda: load_projection(p))
    if proj is None:
        return
    assert len(proj)
    for _, g in proj.groupby(["la_code", "year"]):
        assert sorted(g["age"]) == list(range(26))  # every age, never a partial profile
    v = proj["population"].to_numpy()
    assert np.isfinite(v).all() and (v > 0).all()
    totals = proj.groupby(["la_code", "year"])["population"].sum()
    assert totals.max() < 1e8

"""The one disclosure rule: counts of 1-9 hidden, and never recoverable by subtraction."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sendcast.outputs.disclosure import (
    SUPPRESSED,
    Additive,
    format_count,
    protect,
    protect_numeric,
    recoverable,
    suppression_mask,
)

PLACEMENTS = ("mainstream", "special", "other")
REL = Additive("measure", PLACEMENTS, "total", ("la_code",))


def _table(values: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"la_code": "E1", "measure": list(values), "value": list(values.values())})


def test_small_counts_hidden_zero_shown() -> None:
    # 0 identifies nobody; 1..9 are hidden; 9.4 rounds to 9 (hidden); 9.5 rounds to 10 (shown)
    assert format_count(0) == "0"
    assert format_count(1) == SUPPRESSED
    assert format_count(9.4) == SUPPRESSED
    assert format_count(9.5) == "10"
    assert format_count(1234) == "1,234"
    assert format_count(None) == "-"


def test_secondary_suppression_by_hand() -> None:
    # total 100 = mainstream 60 + special 35 + other 5: hiding 5 alone would leave 100-60-35 = 5,
    # so the smallest other cell of 10 or more (special, 35) is hidden too; 100-60 = 40 = 35+5
    t = _table({"total": 100, "mainstream": 60, "special": 35, "other": 5})
    mask = suppression_mask(t, "value", [REL])
    assert mask.tolist() == [False, False, True, True]
    assert recoverable(t, "value", mask, [REL]) == []
    shown = protect(t, ["value"], [REL])
    assert shown["value"].tolist() == [100, 60, SUPPRESSED, SUPPRESSED]


def test_primary_only_leaks_and_checker_finds_it() -> None:
    t = _table({"total": 100, "mainstream": 60, "special": 35, "other": 5})
    primary = suppression_mask(t, "value", [])
    assert recoverable(t, "value", primary, [REL]) == [3]


def test_numeric_output_keeps_reason() -> None:
    t = _table({"total": 100, "mainstream": 60, "special": 35, "other": 5})
    num = protect_numeric(t, ["value"], [REL])
    assert num["value"].isna().tolist() == [False, False, True, True]
    assert num["suppressed"].tolist() == ["", "", "value", "value"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=60), min_size=2, max_size=6))
def test_no_suppressed_cell_recoverable(members: list[int]) -> None:
    names = tuple(f"m{i}" for i in range(len(members)))
    rel = Additive("measure", names, "total", ("la_code",))
    t = pd.DataFrame(
        {"la_code": "E1", "measure": ["total", *names], "value": [sum(members), *members]}
    )
    mask = suppression_mask(t, "value", [rel])
    assert recoverable(t, "value", mask, [rel]) == []
    vals = t["value"]
    assert not ((vals >= 1) & (vals <= 9) & ~mask).any()

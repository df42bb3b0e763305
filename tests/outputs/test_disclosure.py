"""The one disclosure rule: counts of 1-9 hidden, and never recoverable by subtraction."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sendcast.outputs.disclosure import (
    SECONDARY,
    SUPPRESSED,
    Additive,
    determined,
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
    # 35 is hidden but not small: "c", not "<10" (which would be false)
    assert shown["value"].tolist() == [100, 60, SECONDARY, SUPPRESSED]


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
    t = pd.DataFrame({"la_code": "E1", "measure": ["total", *names], "value": [sum(members), *members]})
    mask = suppression_mask(t, "value", [rel])
    assert recoverable(t, "value", mask, [rel]) == []
    vals = t["value"]
    assert not ((vals >= 1) & (vals <= 9) & ~mask).any()


def test_determined_combines_relations() -> None:
    # state 4 (small) + independent 30 = special 34 (shown); total 100 = mainstream 66 + state + independent.
    # Each relation alone has two unknowns once independent is hidden, but with special_school
    # shown, special_school = state + independent and total = mainstream + special_school hold
    # together: nothing more is learnt; hiding only state would be pinned by either.
    t = pd.DataFrame(
        {
            "la_code": "E1",
            "measure": ["total", "mainstream", "state", "independent", "special"],
            "value": [100, 66, 4, 30, 34],
        }
    )
    rels = [
        Additive("measure", ("mainstream", "state", "independent"), "total", ("la_code",)),
        Additive("measure", ("state", "independent"), "special", ("la_code",)),
    ]
    only_state = pd.Series([False, False, True, False, False])
    assert determined(t, "value", only_state, rels) == [2]
    both = pd.Series([False, False, True, True, False])
    assert determined(t, "value", both, rels) == []  # 34 = state + independent: two unknowns, one equation
    # but with mainstream hidden as well, 100 - 34 gives mainstream (66) back: it is determined,
    # while state and independent are not
    three = pd.Series([False, True, True, True, False])
    assert determined(t, "value", three, rels) == [1]
    assert suppression_mask(t, "value", rels).tolist() == [False, False, True, True, False]


def test_exact_breaks_a_combination_of_relations() -> None:
    # T = a + b (24 = 4 + 20), U = b + c (50 = 20 + 30), V = a + c (34 = 4 + 30). Secondary
    # suppression hides a (4), then b (for T), then c (for U): every relation has two unknowns,
    # yet together they pin all three: a = (T - U + V) / 2 = (24 - 50 + 34) / 2 = 4.
    t = pd.DataFrame({"g": "x", "measure": ["a", "b", "c", "T", "U", "V"], "value": [4, 20, 30, 24, 50, 34]})
    rels = [
        Additive("measure", ("a", "b"), "T", ("g",)),
        Additive("measure", ("b", "c"), "U", ("g",)),
        Additive("measure", ("a", "c"), "V", ("g",)),
    ]
    plain = suppression_mask(t, "value", rels)
    assert plain.tolist() == [True, True, True, False, False, False]
    assert recoverable(t, "value", plain, rels) == []  # one relation at a time sees nothing
    assert determined(t, "value", plain, rels) == [0, 1, 2]  # all at once pins every cell
    exact = suppression_mask(t, "value", rels, exact=True)
    assert determined(t, "value", exact, rels) == []
    assert exact.sum() == 4  # one total hidden too (the smallest: T = 24)
    assert exact.tolist() == [True, True, True, True, False, False]

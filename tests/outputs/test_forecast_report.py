"""Disclosure in every forecast output: counts of 1-9 (published or modelled) never shown, and
no hidden one recoverable by any combination of subtractions (placements and ages add up to the
total, state + independent special schools to all special schools, councils to England)."""

from __future__ import annotations

import pandas as pd
import pytest

from sendcast.model.api import forecast
from sendcast.model.forecast import ForecastResult
from sendcast.outputs import forecast_report as fr
from sendcast.outputs.disclosure import SECONDARY, SUPPRESSED, determined, is_small, suppression_mask

pytestmark = pytest.mark.usefixtures("embedded_store")
SCILLY = "E06000053"


@pytest.fixture(scope="module")
def scilly() -> ForecastResult:
    return forecast(SCILLY, draws=50, horizon=2, seed=1)


@pytest.fixture(scope="module")
def everyone() -> ForecastResult:
    return forecast(None, all_councils=True, draws=20, horizon=2, seed=1)


def test_published_small_counts_are_hidden_at_the_origin(scilly: ForecastResult) -> None:
    raw = scilly.summary
    # Isles of Scilly, January 2024: one plan aged 0-4 (published); the forecast repeats it
    age04 = raw[(raw["measure"] == "age_0_4") & (raw["year"] == scilly.origin)]
    assert age04["p50"].item() == 1
    text = fr.protected(raw)
    row = text[(text["measure"] == "age_0_4") & (text["year"] == scilly.origin)]
    assert row["p50"].item() == SUPPRESSED
    for col in fr.COUNT_COLUMNS:
        shown = pd.to_numeric(text[col], errors="coerce")
        assert not is_small(shown.to_numpy()).any(), col


@pytest.mark.parametrize("which", ["scilly", "everyone"])
def test_no_hidden_count_can_be_worked_out(which: str, request: pytest.FixtureRequest) -> None:
    res: ForecastResult = request.getfixturevalue(which)
    rels = fr.disclosure_relations(res.summary)
    if which == "everyone":
        assert any(r.member_col == "la_code" for r in rels)  # England = the sum of councils
    leaks = 0
    # means add up exactly (England is the sum of councils draw by draw, and so are the
    # placements and ages); at the origin every column is the published figure, which adds up
    # too. Quantiles of later years do not add up, so subtraction does not recover them.
    origin = res.summary[res.summary["year"] == res.origin]
    for col, table in [("mean", res.summary)] + [(c, origin) for c in fr.COUNT_COLUMNS]:
        mask = suppression_mask(res.summary, col, rels).loc[table.index]
        primary_only = pd.Series(is_small(table[col].to_numpy()), index=table.index)
        leaks += len(determined(table, col, primary_only, rels))
        assert determined(table, col, mask, rels) == [], col
    if which == "everyone":
        assert leaks > 0  # hiding only the counts of 1-9 would let some be worked out


def test_parquet_and_chart_values_are_missing_with_a_reason(scilly: ForecastResult) -> None:
    num = fr.protected(scilly.summary, numeric=True)
    hidden = num["p50"].isna()
    assert hidden.any() and (num.loc[hidden, "suppressed"].str.contains("p50")).all()
    text = fr.protected(scilly.summary)
    # a secondary-suppressed cell is not "<10" (that would be false), it is "c"
    assert set(text.loc[hidden.to_numpy(), "p50"]) <= {SUPPRESSED, SECONDARY}
    hist = fr.protected_history(SCILLY, scilly.origin, num)
    assert not is_small(hist["value"].to_numpy()).any()
    # the origin year in the chart is the forecast's (hidden in both, or in neither)
    at_origin = hist[hist["year"] == scilly.origin].set_index("measure")["value"]
    origin_p50 = num[num["year"] == scilly.origin].set_index("measure")["p50"]
    pd.testing.assert_series_equal(at_origin.isna(), origin_p50.isna(), check_names=False)


def test_html_and_table_show_no_small_count(scilly: ForecastResult) -> None:
    cells = fr.table_cells(scilly.summary)
    for c in cells["cell"]:
        for token in c.replace("(", " ").replace(")", " ").replace("-", " ").split():
            assert token in (SUPPRESSED, SECONDARY) or not 1 <= float(token.replace(",", "")) <= 9, c

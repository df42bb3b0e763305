"""Outcomes beside spending: published figures checked exactly, derived ones by hand, every series
with its source and year, counts under 10 never shown."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sendcast.cli import app
from sendcast.outcomes import SERIES, council_outcomes, latest, reading, spend_attainment
from sendcast.outputs.outcomes import latest_table, outcomes_html, publishable
from sendcast.store import Store


@pytest.fixture(scope="module")
def norfolk(embedded_store: Store) -> pd.DataFrame:
    return council_outcomes(embedded_store, "Norfolk")


def _value(t: pd.DataFrame, series: str, period: str) -> float:
    r = t[(t["series"] == series) & (t["period"] == period)]
    assert len(r) == 1, (series, period)
    return float(r["value"].iloc[0])


def test_published_figures_exactly(norfolk: pd.DataFrame) -> None:
    # LAIT SEN_Stat_AVG_Attain8_Score, Norfolk, year label 2024 (2023-24): 15.9; label 2023: 15.6
    assert _value(norfolk, "ks4_attainment8_ehcp", "2023-24") == 15.9
    assert _value(norfolk, "ks4_attainment8_ehcp", "2022-23") == 15.6
    # SEND-AP dashboard specialist_spend.csv line 217: Norfolk,Total,2021-22,428.7135019622172
    assert _value(norfolk, "specialist_spend_per_head", "2021-22") == pytest.approx(428.7135019622172, abs=1e-9)
    # SEND Tribunal appeal rates 2014-2024: Norfolk 2023, 360 appeals, 3.2% of appealable decisions
    assert _value(norfolk, "tribunal_appeals", "2023") == 360
    assert _value(norfolk, "tribunal_appeal_rate", "2023") == 3.2


def test_derived_figures_by_hand(norfolk: pd.DataFrame) -> None:
    # s251 outturn 2021-22, Norfolk: places 13,225,501 + maintained top-ups 51,254,358 +
    # independent/non-maintained top-ups 41,452,473 + AP 2,246,298 + hospital 25,000 + SEN support
    # 5,682,543 + therapies 350,526 = 114,236,699; / 166,555.769 aged 2-18 = £685.88 per head
    assert _value(norfolk, "hn_outturn_per_head", "2021-22") == pytest.approx(114_236_699 / 166_555.769)
    # January 2024: 10,736 plans, 843 in independent special schools (7.85%)
    assert _value(norfolk, "ehcp_total", "January 2024") == 10_736


def test_missing_stays_missing_with_its_reason(norfolk: pd.DataFrame) -> None:
    r = norfolk[(norfolk["series"] == "within_20_weeks") & (norfolk["period"] == "2022")].iloc[0]
    assert pd.isna(r["value"]) and r["missing_reason"] == "not available"


def test_every_series_has_source_and_year(embedded_store: Store, norfolk: pd.DataFrame) -> None:
    last = latest(norfolk)
    assert set(last["series"]) == {s.key for s in SERIES}
    assert last["period"].notna().all() and (last["source"].str.len() > 10).all()
    table = latest_table(norfolk)
    assert (table["source"].str.len() > 10).all() and table["period"].notna().all()
    page = outcomes_html(embedded_store, "Norfolk")
    for s in SERIES:
        assert s.label in page and s.source in page
    assert "association" in page and "not a replication" in page
    assert "Written Statement of Action" in page  # the area SEND inspection


def test_neighbours_and_england(norfolk: pd.DataFrame) -> None:
    r = norfolk[(norfolk["series"] == "ks4_attainment8_ehcp") & (norfolk["period"] == "2023-24")].iloc[0]
    assert r["neighbours_n"] >= 8 and r["england"] == 14.2


def test_counts_under_ten_are_suppressed() -> None:
    t = pd.DataFrame(
        {
            "series": ["tribunal_appeals", "tribunal_appeal_rate", "tribunal_appeals"],
            "value": [5.0, 5.0, 12.0],
            "neighbours_median": [3.0, 1.0, 20.0],
            "england": [100.0, 2.0, 100.0],
            "missing_reason": [None, None, None],
        }
    )
    p = publishable(t)
    # 5 appeals -> <10; a 5% rate is not a count; 12 appeals shown
    assert list(p["value"]) == ["<10", 5.0, 12.0]
    assert p.loc[1, "neighbours_median"] == 1.0 and p.loc[0, "neighbours_median"] == "<10"
    assert "fewer than 10" in str(p.loc[0, "missing_reason"])


def test_spend_attainment_and_reading(embedded_store: Store, norfolk: pd.DataFrame) -> None:
    comps = spend_attainment(embedded_store)
    assert len(comps) == 8 and all(c.n >= 140 for c in comps)
    assert all(-1 <= c.rho <= 1 for c in comps)
    text = reading(norfolk, "Norfolk")
    assert text.startswith("Norfolk: ") and "do not show that spending caused" in text


def test_cli(tmp_path: Path, embedded_store: Store) -> None:
    r = CliRunner().invoke(app, ["outcomes", "Norfolk", "--format", "csv", "--out", str(tmp_path / "n.csv")])
    assert r.exit_code == 0, r.output
    csv = pd.read_csv(tmp_path / "n.csv")
    assert {"series", "period", "value", "source", "neighbours_median", "england"} <= set(csv.columns)
    r = CliRunner().invoke(app, ["outcomes", "Norfolk", "--format", "xlsx"])
    assert r.exit_code == 2 and "--format must be one of" in r.output
    r = CliRunner().invoke(app, ["outcomes", "Nowhere-on-sea"])
    assert r.exit_code == 2 and "no council matches" in r.output and "Traceback" not in r.output

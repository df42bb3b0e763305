"""Published DSG balances in pounds, the user's balances CSV and the choice of opening balance."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from money_fixtures import TOTAL_DSG, synthetic_money_observations

from sendcast.money.balances import (
    BalanceFileError,
    combine,
    dsg_balances,
    opening_balance,
    read_balances_csv,
)

COUNCILS = pd.DataFrame({"la_code": ["E10000020"], "old_la_code": ["926"], "la_name": ["Norfolk"]})


def test_percent_of_income_becomes_pounds() -> None:
    b = dsg_balances(synthetic_money_observations()).set_index("financial_year")
    # -7.76% x 696,652,547 = -54,060,237.7 at 31 March 2022; in-year 2021-22 = that less March 2021
    assert b.loc[2021, "cumulative_balance"] == pytest.approx(-0.0776 * TOTAL_DSG[2021])
    assert b.loc[2021, "in_year_balance"] == pytest.approx(-0.0776 * TOTAL_DSG[2021] + 0.0491 * TOTAL_DSG[2020])
    assert pd.isna(b.loc[2019, "in_year_balance"])  # no March 2019 balance
    assert b.loc[2021, "precision"] == pytest.approx(0.00005 * TOTAL_DSG[2021])  # 2-decimal rounding
    assert "7.76%" in b.loc[2021, "derivation"]


def _csv(tmp: Path, body: str) -> Path:
    p = tmp / "balances.csv"
    p.write_text("la_code,financial_year,cumulative_balance,in_year_balance,source\n" + body)
    return p


def test_user_csv_wins_for_the_same_date_and_latest_opens(tmp_path: Path) -> None:
    store = dsg_balances(synthetic_money_observations())
    user = read_balances_csv(
        _csv(tmp_path, "926,2021-22,-50000000,,council outturn\nE10000020,2023-24,-81500000,-43100000,cabinet\n"),
        COUNCILS,
    )
    both = combine(store, user)
    assert both.set_index("financial_year").loc[2021, "cumulative_balance"] == -50_000_000
    op = opening_balance(both, "E10000020", 2024)
    assert op is not None and op.value == -81_500_000 and op.as_at == "31 March 2024"
    op = opening_balance(both, "E10000020", 2023)  # latest at or before 31 March 2023
    assert op is not None and op.financial_year == 2021


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("XYZ,2023-24,-1,,s\n", "la_code"),
        ("926,2023/24,-1,,s\n", "financial_year"),
        ("926,2023-24,nan,,s\n", "cumulative_balance"),
        ("926,2023-24,inf,,s\n", "cumulative_balance"),
        ("926,2023-24,,,s\n", "cumulative_balance"),
        ("926,2023-24,-1,abc,s\n", "in_year_balance"),
        ("926,2023-24,-1,,\n", "source"),
        ("926,2023-24,-1,,s\n926,2023-24,-2,,s\n", "repeated"),
    ],
)
def test_bad_csv_rows_name_file_row_and_field(tmp_path: Path, body: str, field: str) -> None:
    with pytest.raises(BalanceFileError, match=f"balances.csv: row [23]: .*{field}"):
        read_balances_csv(_csv(tmp_path, body), COUNCILS)


def test_missing_column(tmp_path: Path) -> None:
    p = tmp_path / "b.csv"
    p.write_text("la_code,cumulative_balance\n926,-1\n")
    with pytest.raises(BalanceFileError, match="row 1: header lacks"):
        read_balances_csv(p, COUNCILS)

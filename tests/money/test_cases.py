"""Hand-checked cases from tests/cases/money.yaml (arithmetic in that file's comments)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from sendcast.money.agreements import Target, probability_of_target
from sendcast.money.budget import caseload_by_financial_year

CASES: dict[str, list[dict[str, Any]]] = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "cases" / "money.yaml").read_text()
)


@pytest.mark.parametrize("case", CASES["placement_spend"])
def test_placement_spend(case: dict[str, Any]) -> None:
    assert case["plans"] * case["unit_cost"] == pytest.approx(case["spend"])


@pytest.mark.parametrize("case", CASES["cumulative_balance"])
def test_cumulative_balance(case: dict[str, Any]) -> None:
    s = pd.Series(case["in_year"], dtype=float).cumsum() + case["opening"]
    assert s.tolist() == pytest.approx(case["cumulative"])


@pytest.mark.parametrize("case", CASES["financial_year_rule"])
def test_financial_year_rule(case: dict[str, Any]) -> None:
    draws = pd.DataFrame(
        [("X", int(y), 0, "state_special", float(v)) for y, v in case["january"].items()],
        columns=["la_code", "year", "draw", "placement", "plans"],
    )
    fy = caseload_by_financial_year(draws)
    assert list(fy.index) == [(0, case["financial_year"])]
    assert fy.loc[(0, case["financial_year"]), "state_special"] == pytest.approx(case["plans"])
    assert fy.loc[(0, case["financial_year"]), "mainstream"] == 0


@pytest.mark.parametrize("case", CASES["target_probability"])
def test_target_probability(case: dict[str, Any]) -> None:
    cum = pd.DataFrame({"draw": range(len(case["balances"])), "financial_year": 2028, "value": case["balances"]})
    target = Target(financial_year="2028-29", cumulative_balance_at_least=case["target"])
    assert probability_of_target(cum, target) == pytest.approx(case["probability"])


@pytest.mark.parametrize("case", CASES["shrinkage"])
def test_shrinkage_arithmetic(case: dict[str, Any]) -> None:
    w = case["n"] / (case["n"] + case["k"])
    assert w * case["council"] + (1 - w) * case["national"] == pytest.approx(case["unit_cost"])

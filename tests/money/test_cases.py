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


@pytest.mark.parametrize("case", CASES["dsg_balance_from_percent"])
def test_dsg_balance_from_percent(case: dict[str, Any]) -> None:
    from money_fixtures import obs_row

    from sendcast.money.balances import dsg_balances

    rows = [
        obs_row("dsg_cumulative_balance_pct_income", "total", "total", "financial_year", 2021, case["deficit_percent"]),
        obs_row("total_dsg", "stage", "before_recoupment", "financial_year", 2021, case["total_dsg"]),
    ]
    b = dsg_balances(pd.DataFrame(rows))
    assert b["cumulative_balance"].iloc[0] == pytest.approx(case["cumulative_balance"])


@pytest.mark.parametrize("case", CASES["opening_income_spend"])
def test_opening_income_spend(case: dict[str, Any]) -> None:
    import numpy as np

    from sendcast.money.budget import dsg_balance

    n = len(case["income"])
    idx = pd.MultiIndex.from_product([[0], range(2030, 2030 + n)], names=["draw", "financial_year"])
    wide = pd.DataFrame({"income:high_needs_block": case["income"], "spend:x": case["spend"]}, index=idx, dtype=float)
    out = dsg_balance(wide, np.array([case["opening"]]))
    assert out["in_year_balance"].tolist() == pytest.approx(case["in_year"])
    assert out["cumulative_balance"].tolist() == pytest.approx(case["cumulative"])


@pytest.mark.parametrize("case", CASES["income_basis"])
def test_income_basis_is_after_deductions(case: dict[str, Any]) -> None:
    from sendcast.money.budget import HNB_STAGE, load_inputs
    from sendcast.money.service import has_high_needs_block

    inp = load_inputs()
    o = inp.observations
    rows = o[(o.la_code == case["la_code"]) & (o.measure == "high_needs_block") & (o.year == case["financial_year"])]
    by = rows.set_index("breakdown")["value"]
    assert by["before_deductions"] == pytest.approx(case["before"], abs=1)
    assert by["after_deductions"] == pytest.approx(case["after"], abs=1)
    assert by[HNB_STAGE] == pytest.approx(case["income"], abs=1)
    assert has_high_needs_block(inp, case["la_code"])


@pytest.mark.parametrize("case", CASES["foreign_agreement"])
def test_foreign_agreement_refused(case: dict[str, Any]) -> None:
    from money_fixtures import synthetic_inputs

    from sendcast.money.agreements import load_agreement
    from sendcast.money.budget import BudgetInputError, compute_budget

    root = Path(__file__).resolve().parents[2]
    agr = load_agreement(root / case["agreement"])
    inp = synthetic_inputs(case["council"])
    inp.councils["la_name"] = "Suffolk"  # type: ignore[attr-defined]
    with pytest.raises(BudgetInputError, match=case["message"]):
        compute_budget(case["council"], inp, first_year=2020, last_year=2021, n_draws=1, agreement=agr)

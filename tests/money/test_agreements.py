"""Agreement files: the Norfolk example loads; bad files name file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from sendcast.money.agreements import load_agreement
from sendcast.parameters import ParameterError

NORFOLK = Path(__file__).resolve().parents[2] / "examples" / "norfolk" / "agreement.yaml"


def test_norfolk_example() -> None:
    a = load_agreement(NORFOLK)
    assert a.opening_balance.value == -38_400_000
    assert a.opening_financial_year == 2023
    # 70m scheduled; the 8.4m of 2023-24 was withheld by the DfE: 70 - 8.4 = 61.6m
    assert sum(a.by_year("safety_valve_payments").values()) == pytest.approx(61_600_000)
    assert sum(a.by_year("council_contributions").values()) == pytest.approx(33_000_000)
    assert set(a.by_year("block_transfer").values()) == {1.5}


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (
            "  - {financial_year: 2025-26, value: 8400000}",
            "  - {financial_year: 2025-26, value: -1}",
            "safety_valve_payments.3.value",
        ),
        (
            "  - {financial_year: 2025-26, value: 8400000}",
            "  - {financial_year: 2025-26, value: .nan}",
            "safety_valve_payments.3.value",
        ),
        ("  value: -38400000\n", "  value: .inf\n", "opening_balance.value"),
        ("  value: -38400000\n", "  value: true\n", "opening_balance.value"),  # not 1
        ("council: Norfolk\n", "council: no\n", "council"),
        ("signed: 2023-03-16", "signed: 2031-01-01", "signed"),
        ("signed: 2023-03-16", "signed: 2023-02-30", "(file)"),
        ("  as_at: 2023-03-31\n", "  as_at: 31/03/2023\n", "opening_balance.as_at"),
        (
            "  - {financial_year: 2024-25, percent: 1.5}",
            "  - {financial_year: 2024/25, percent: 1.5}",
            "block_transfer.2.financial_year",
        ),
        ("  as_at: 2023-03-31\n", "", "opening_balance.as_at"),
        ("council: Norfolk\n", "council: Norfolk\nbogus: 1\n", "bogus"),
    ],
)
def test_bad_agreement(tmp_path: Path, old: str, new: str, key: str) -> None:
    text = NORFOLK.read_text()
    assert old in text
    f = tmp_path / "a.yaml"
    f.write_text(text.replace(old, new))
    with pytest.raises(ParameterError) as e:
        load_agreement(f)
    assert e.value.key == key
    assert str(f) in str(e.value)


def test_not_a_mapping(tmp_path: Path) -> None:
    f = tmp_path / "a.yaml"
    f.write_text("just text")
    with pytest.raises(ParameterError, match="expected a mapping"):
        load_agreement(f)


def test_template_loads() -> None:
    t = load_agreement(NORFOLK.parents[1] / "agreement-template.yaml")
    assert t.target.financial_year == 2027 and t.published_balances[0].cumulative_balance == -11_500_000

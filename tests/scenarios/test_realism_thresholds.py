"""The realism verdicts' thresholds come from parameters/scenarios/realism.yaml: changing a value
in the file changes the verdict (four made-up councils, arithmetic in the comments)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import sendcast.scenarios.realism as realism
from sendcast.parameters import ParameterError
from sendcast.scenarios.realism import (
    REALISM_FILE,
    RealismThresholds,
    assess_lever,
    judge,
    load_thresholds,
    verdict_for,
)
from sendcast.scenarios.schema import scenario_from_dict

# each council's best fall in some rate (a share, -0.4 = a 40% fall)
BEST = pd.Series({"A": -0.40, "B": -0.10, "C": -0.05, "D": 0.00})
NAMES = pd.DataFrame({"la_code": list(BEST.index), "la_name": [f"Council {c}" for c in BEST.index]})


def _thresholds_file(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the shipped realism.yaml with one value line changed."""
    text = REALISM_FILE.read_text(encoding="utf-8")
    assert text.count(old) == 1
    p = tmp_path / "realism.yaml"
    p.write_text(text.replace(old, new), encoding="utf-8")
    return p


def test_shipped_thresholds_are_the_former_constants() -> None:
    assert load_thresholds() == RealismThresholds(
        since=2015,
        ambitious_share=0.20,
        sustained_years=2,
        min_years_incidence=2,
        min_years_ceasing=2,
        min_years_placement_shift=3,
    )
    assert realism.AMBITIOUS_SHARE == 0.20 and realism.SUSTAINED == 2 and realism.SINCE == 2015


def test_changing_ambitious_share_in_yaml_changes_the_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a promised 30% fall: only A (40%) did as well -> 1 of 4 councils = 25%
    ev = judge("lever", "a 30% fall", -0.30, BEST, NAMES)
    assert ev.achieved == ["Council A"] and ev.n_councils == 4
    # shipped 0.20: 25% is not fewer than 20% -> within experience
    assert ev.verdict == "within experience"
    # 0.30 in the file: 25% < 30% -> ambitious
    t = load_thresholds(_thresholds_file(tmp_path, "ambitious_share: 0.20", "ambitious_share: 0.30"))
    assert t.ambitious_share == 0.30
    monkeypatch.setattr(realism, "AMBITIOUS_SHARE", t.ambitious_share)
    assert judge("lever", "a 30% fall", -0.30, BEST, NAMES).verdict == "ambitious"
    # a promised 50% fall: nobody -> unprecedented whatever the share
    assert judge("lever", "a 50% fall", -0.50, BEST, NAMES).verdict == "unprecedented"
    # 6 of 150 = 4%: ambitious under 0.30, within experience under an explicit 0.03
    assert verdict_for(6, 150) == "ambitious"
    assert verdict_for(6, 150, ambitious_share=0.03) == "within experience"


def test_changing_min_years_in_yaml_changes_the_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # council X: 100 new plans a year, 10,000 aged 0-25 -> 100 per 10,000 every year
    m = pd.DataFrame(
        {
            "la_code": "X",
            "la_name": "Council X",
            "year": range(2015, 2020),
            "new_plans": 100.0,
            "pop_0_25": 10_000.0,
            "new_plans_per_10k": 100.0,
        }
    )
    lv = scenario_from_dict(
        {
            "name": "x",
            "description": "x",
            "levers": [{"kind": "incidence", "change_percent": -20, "start": 2025, "ramp": 1}],
        }
    ).levers[0]
    # ramp 1 year, shipped minimum 2 -> max(1, 2) = 2 years
    ev = assess_lever(lv, m)
    assert ev is not None and ev.test.endswith("within 2 years")
    t = load_thresholds(_thresholds_file(tmp_path, "min_years_incidence: 2 ", "min_years_incidence: 1 "))
    monkeypatch.setattr(realism, "MIN_YEARS_INCIDENCE", t.min_years_incidence)
    # max(1, 1) = 1 year
    ev = assess_lever(lv, m)
    assert ev is not None and ev.test.endswith("within 1 years")


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("ambitious_share: 0.20", "ambitious_share: 1.5", "values.ambitious_share"),
        ("sustained_years: 2 ", "sustained_years: 0.5 ", "values.sustained_years"),
        ("  since: 2015 ", "  from_year: 2015 ", "values.since"),
        ("unit: mixed (see each value's comment)\n", "", "unit"),
    ],
)
def test_bad_thresholds_file_names_file_and_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    p = _thresholds_file(tmp_path, old, new)
    with pytest.raises(ParameterError) as e:
        load_thresholds(p)
    assert str(p) in str(e.value) and key in str(e.value)

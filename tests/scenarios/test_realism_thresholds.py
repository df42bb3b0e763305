"""The realism verdicts' thresholds come from parameters/scenarios/realism.yaml: changing a value
in the file changes the verdict (made-up windows, arithmetic in the comments)."""

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

# ten windows of large councils (chance sd 1%), each with a known hold: changes -40%, -10%,
# -5% and seven of 0%; every change still there at the hold year
WINDOWS = pd.DataFrame(
    {
        "la_code": [f"C{i}" for i in range(10)],
        "la_name": [f"Council {i}" for i in range(10)],
        "start": 2016,
        "end": 2019,
        "held_year": 2021,
        "change": [-0.40, -0.10, -0.05] + [0.0] * 7,
        "change_held": [-0.40, -0.10, -0.05] + [0.0] * 7,
        "sd": 0.01,
    }
)


def _thresholds_file(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the shipped realism.yaml with one value line changed."""
    text = REALISM_FILE.read_text(encoding="utf-8")
    assert text.count(old) == 1
    p = tmp_path / "realism.yaml"
    p.write_text(text.replace(old, new), encoding="utf-8")
    return p


def test_shipped_thresholds() -> None:
    assert load_thresholds() == RealismThresholds(
        since=2015,
        within_experience_share=0.10,
        hold_years=2,
        chance_level=0.05,
        sustained_years=2,
        min_years_incidence=2,
        min_years_ceasing=2,
        min_years_placement_shift=3,
        min_years_new_places=2,
    )
    assert realism.WITHIN_EXPERIENCE_SHARE == 0.10 and realism.SUSTAINED == 2 and realism.SINCE == 2015


def test_changing_the_share_in_yaml_changes_the_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a promised 30% fall: only the -40% window did as well -> 1 of 10 windows = 10%
    ev = judge("lever", "a 30% fall", -0.30, WINDOWS)
    assert (ev.rate.held, ev.rate.windows) == (1, 10)
    # shipped 0.10: 10% is not fewer than 10% -> within experience
    assert ev.verdict == "within experience"
    # 0.15 in the file: 10% < 15% -> ambitious
    t = load_thresholds(_thresholds_file(tmp_path, "within_experience_share: 0.10", "within_experience_share: 0.15"))
    assert t.within_experience_share == 0.15
    monkeypatch.setattr(realism, "WITHIN_EXPERIENCE_SHARE", t.within_experience_share)
    assert judge("lever", "a 30% fall", -0.30, WINDOWS).verdict == "ambitious"
    # a promised 50% fall: nobody -> unprecedented whatever the share
    assert judge("lever", "a 50% fall", -0.50, WINDOWS).verdict == "unprecedented"
    assert verdict_for(6, 150, within_experience_share=0.03) == "within experience"  # 4% >= 3%


def test_changing_chance_level_in_yaml_changes_what_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the -5% window with chance sd 2.5%: z = log(0.95) / 0.025 = -2.05, p = 0.020 -> beyond
    # chance at the shipped 0.05, within chance at 0.01
    w = WINDOWS.assign(sd=[0.01, 0.01, 0.025] + [0.01] * 7)
    assert judge("lever", "a 5% fall", -0.05, w).rate.held == 3
    t = load_thresholds(_thresholds_file(tmp_path, "chance_level: 0.05", "chance_level: 0.01"))
    monkeypatch.setattr(realism, "CHANCE_LEVEL", t.chance_level)
    ev = judge("lever", "a 5% fall", -0.05, w)
    assert ev.rate.held == 2 and ev.rate.within_chance == 1


def test_changing_min_years_in_yaml_changes_the_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # council X: 100 new plans a year, 10,000 aged 0-25 -> 100 per 10,000 every year
    m = pd.DataFrame(
        {
            "la_code": "X",
            "la_name": "Council X",
            "year": range(2015, 2020),
            "new_plans": 100.0,
            "pop_0_25": 10_000.0,
            "flows": 0.0,
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
    assert ev is not None and ev.test.endswith("within 1 year")


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("within_experience_share: 0.10", "within_experience_share: 1.5", "values.within_experience_share"),
        ("chance_level: 0.05", "chance_level: 0", "values.chance_level"),
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

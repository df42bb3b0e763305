"""Scenario levers on the need model: a need's new plans, a transition at a phase transfer."""

from __future__ import annotations

import numpy as np
import pytest

from sendcast.model.structure import GROUPS
from sendcast.personlevel.levers import compare, joiners_expected, multipliers
from sendcast.personlevel.model import MODEL_CLASSES, NI, fit
from sendcast.personlevel.report import pooling_settings
from sendcast.personlevel.synth import simulate, truth_tables
from sendcast.scenarios.schema import (
    CeasingLever,
    NeedNewPlansLever,
    PlacementShiftLever,
    ScenarioError,
    TransitionLever,
    scenario_from_dict,
)


@pytest.fixture(scope="module")
def model():
    sim = simulate(1500, 3, seed=8)
    manifest, tables = truth_tables(sim)
    return fit(tables, manifest, national=False, settings={**pooling_settings(), "bootstrap_replicates": 20})


def test_halving_semh_joiners_removes_about_half_of_them(model):
    lever = NeedNewPlansLever(kind="need_new_plans", need="SEMH", change_percent=-50, start=model.origin)
    expected = joiners_expected(model)[NI["SEMH"]]
    res = compare(model, [lever], horizon=1, draws=400, seed=3)
    semh = res[res["primary_need"] == "SEMH"].iloc[0]
    # by hand: SEMH joiners in the first year x 0.5 fewer plans next January
    assert semh["difference"] == pytest.approx(-0.5 * expected, rel=0.2)
    others = res[~res["primary_need"].isin(["SEMH", "total"])]
    assert (others["difference"].abs() < 0.1 * others["baseline"] + 3).all()


def test_no_moves_into_independent_special_at_post16(model):
    lever = TransitionLever.model_validate({"kind": "transition", "from": "state_special", "to": "independent_special",
                                            "at": "post16", "change_percent": -100, "start": model.origin})  # fmt: skip
    res = compare(model, [lever], horizon=3, draws=300, seed=4, by=("placement_group",))
    ind = res[res["placement_group"] == "independent_special"]
    stay = res[res["placement_group"] == "state_special"]
    assert (ind["difference"] <= 0).all() and (stay["difference"] >= 0).all()
    tot = res[res["placement_group"] == "total"]
    # moves change placements, not the number of plans (only through groups' leaving rates and noise)
    assert (tot["difference"].abs() < 0.01 * tot["baseline"]).all()


def test_multipliers_follow_start_ramp_and_the_cells_named(model):
    o = model.origin
    lv = NeedNewPlansLever(kind="need_new_plans", need="SEMH", change_percent=-10, ages=[5, 10], start=o + 1, ramp=2)
    tr = TransitionLever.model_validate({"kind": "transition", "to": "independent_special", "need": "ASD",
                                         "change_percent": -20, "start": o})  # fmt: skip
    ce = CeasingLever(kind="ceasing", ages=[16, 19], change_percent=50, start=o)
    m = multipliers(model, [lv, tr, ce], horizon=4)
    # need_new_plans: year o none, o+1 half (ramp 2), o+2 on full; only SEMH at ages 5-10
    assert np.allclose(m.join[:, 7, NI["SEMH"]], [1.0, 0.95, 0.9, 0.9])
    assert np.allclose(m.join[:, 4, NI["SEMH"]], 1.0) and np.allclose(m.join[:, 7, NI["ASD"]], 1.0)
    # transition: default at the phase transfers, from every other group, ASD only
    d = GROUPS.index("independent_special")
    for c, cls in enumerate(MODEL_CLASSES):
        want = 0.8 if cls in ("school_entry", "secondary", "post16") else 1.0
        assert np.allclose(m.move[:, c, GROUPS.index("mainstream"), NI["ASD"], d], want)
    assert np.allclose(m.move[:, :, :, NI["SEMH"], :], 1.0) and np.allclose(m.move[:, :, d, :, d], 1.0)
    # ceasing: ages 16-19 at January leave at ages reached 17-20
    assert np.allclose(m.cease[:, 17:21], 1.5) and np.allclose(m.cease[:, [16, 21]], 1.0)
    shift = PlacementShiftLever.model_validate({"kind": "placement_shift", "from": "independent_special",
                                                "to": "state_special", "share_percent": 10, "start": o})  # fmt: skip
    with pytest.raises(ValueError, match="placement_shift"):
        multipliers(model, [shift], horizon=2)


@pytest.mark.parametrize("bad, key", [
    ({"kind": "need_new_plans", "need": "AUTISM", "change_percent": -10, "start": 2025}, "levers.0.need"),
    ({"kind": "transition", "from": "mainstream", "to": "mainstream", "change_percent": -5, "start": 2025},
     "levers.0.to"),
    ({"kind": "need_new_plans", "need": "SEMH", "change_percent": -150, "start": 2025}, "levers.0.change_percent"),
    ({"kind": "transition", "to": "special", "change_percent": 1, "start": 2025}, "levers.0.to"),
    ({"kind": "transition", "to": "ap_pru", "at": "year7", "change_percent": 1, "start": 2025}, "levers.0.at"),
])  # fmt: skip
def test_bad_levers_are_refused_naming_the_key(bad, key):
    with pytest.raises(ScenarioError, match=key.replace(".", r"\.")):
        scenario_from_dict({"name": "x", "description": "x", "levers": [bad]}, name="bad.yaml")

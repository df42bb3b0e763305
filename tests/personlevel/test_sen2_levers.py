"""Scenario levers on the need model: a need's joiners, a transition at a phase transfer."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sendcast.personlevel.levers import NeedLever, apply_levers, compare, joiners_expected
from sendcast.personlevel.model import NI, fit
from sendcast.personlevel.report import pooling_settings
from sendcast.personlevel.synth import simulate, truth_tables


@pytest.fixture(scope="module")
def model():
    sim = simulate(1500, 3, seed=8)
    manifest, tables = truth_tables(sim)
    return fit(tables, manifest, national=False, settings={**pooling_settings(), "bootstrap_replicates": 20})


def test_halving_semh_joiners_removes_about_half_of_them(model):
    lever = NeedLever(kind="joiners", need="SEMH", multiplier=0.5)
    expected = joiners_expected(model)[NI["SEMH"]]
    res = compare(model, [lever], horizon=1, draws=400, seed=3)
    semh = res[res["primary_need"] == "SEMH"].iloc[0]
    # by hand: SEMH joiners in the first year x 0.5 fewer plans next January
    assert semh["difference"] == pytest.approx(-0.5 * expected, rel=0.2)
    others = res[~res["primary_need"].isin(["SEMH", "total"])]
    assert (others["difference"].abs() < 0.1 * others["baseline"] + 3).all()
    assert apply_levers(model, [lever]).join_multiplier[NI["SEMH"]] == 0.5
    assert model.join_multiplier[NI["SEMH"]] == 1.0  # the fitted model is not changed


def test_no_moves_into_independent_special_at_post16(model):
    lever = NeedLever(kind="transition", from_group="state_special", to_group="independent_special", at="post16",
                      multiplier=0.0)
    res = compare(model, [lever], horizon=3, draws=300, seed=4, by=("placement_group",))
    ind = res[res["placement_group"] == "independent_special"]
    stay = res[res["placement_group"] == "state_special"]
    assert (ind["difference"] <= 0).all() and (stay["difference"] >= 0).all()
    tot = res[res["placement_group"] == "total"]
    # moves change placements, not the number of plans (only through groups' leaving rates and noise)
    assert (tot["difference"].abs() < 0.01 * tot["baseline"]).all()


@pytest.mark.parametrize("bad, field", [
    ({"kind": "joiners", "need": "AUTISM", "multiplier": 0.9}, "need"),
    ({"kind": "transition", "from_group": "mainstream", "to_group": "mainstream", "multiplier": 0.5}, "to_group"),
    ({"kind": "joiners", "multiplier": -1}, "multiplier"),
    ({"kind": "transition", "from_group": "special", "to_group": "mainstream", "multiplier": 1}, "from_group"),
])
def test_bad_levers_are_refused_naming_the_field(bad, field):
    with pytest.raises(ValidationError, match=field):
        NeedLever(**bad)

"""Scenario levers on the need model: what a scenario file's levers do to its rates, year by year.

The levers are the scenario schema's (:mod:`sendcast.scenarios.schema`, one definition for the
CLI, the web and this model); the need model takes:

- ``need_new_plans`` -- new plans with one primary need (at some ages) ``x (1 + change_percent/100)``
  (e.g. SEMH new plans -10% through early help);
- ``transition`` -- the yearly probability of moving into a group (from one group or any, at
  the phase transfers or one of them or every year, for one need or all) ``x (1 + change/100)``;
  staying takes up the difference (e.g. moves into independent special schools at the phase
  transfers -20%);
- ``incidence`` -- new plans at some ages, every need (``need_new_plans`` for all needs);
- ``ceasing`` -- the yearly leaving probability at some ages (age at January before the year).

``placement_shift`` and ``new_places`` act on the published model's placement flows and have
no counterpart here: :func:`multipliers` refuses them (ValueError, one line). Money levers do
not touch the model. Strength follows :meth:`~sendcast.scenarios.schema.LeverBase.strength` on
the calendar year of the flows (the step into January ``y + 1`` is year ``y``), and levers of
the same kind multiply (two of -10% give x0.81).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sendcast.model.structure import GROUPS
from sendcast.personlevel.codes import NEEDS
from sendcast.personlevel.model import MODEL_CLASSES, Multipliers, NeedModel, forecast, summarise

COHORT_ONLY = ("placement_shift", "new_places")
AT_CLASSES: dict[str, tuple[str, ...]] = {
    "phase_transfer": ("school_entry", "secondary", "post16"),
    "school_entry": ("school_entry",),
    "secondary": ("secondary",),
    "post16": ("post16",),
    "any": MODEL_CLASSES,
}


def check_levers(levers: Sequence[Any]) -> None:
    """Refuse (ValueError, one line) a lever the need model cannot apply."""
    for lv in levers:
        if lv.kind in COHORT_ONLY and not lv.is_zero:
            raise ValueError(
                f"lever {lv.describe()!r} ({lv.kind}) acts on the published model's placements and has no "
                "counterpart in the SEN2 need model: use a transition lever, or run without --sen2"
            )


def multipliers(model: NeedModel, levers: Sequence[Any], horizon: int) -> Multipliers:
    """The :class:`~sendcast.personlevel.model.Multipliers` of ``levers`` (scenario-schema
    levers; money levers are ignored) over ``horizon`` years from the model's origin."""
    check_levers(levers)
    m = Multipliers.ones(horizon)
    for h in range(1, horizon + 1):
        year = model.origin + h - 1  # the calendar year of the step's flows
        for lv in levers:
            s = lv.strength(year)
            if lv.is_zero or s == 0.0:
                continue
            f = 1.0 + lv.change_percent / 100.0 * s
            if lv.kind in ("incidence", "need_new_plans"):
                lo, hi = lv.ages
                n = slice(None) if lv.kind == "incidence" else NEEDS.index(lv.need)
                m.join[h - 1, lo : hi + 1, n] *= f
            elif lv.kind == "ceasing":
                lo, hi = lv.ages
                # ages at January before the year; the model's leaving is by the age reached a year on
                m.cease[h - 1, min(lo + 1, 25) : min(hi + 1, 25) + 1] *= f
            elif lv.kind == "transition":
                d = GROUPS.index(lv.to_group)
                frm = [GROUPS.index(lv.from_group)] if lv.from_group else [g for g in range(len(GROUPS)) if g != d]
                n = slice(None) if lv.need is None else NEEDS.index(lv.need)
                for c in AT_CLASSES[lv.at]:
                    for g in frm:
                        m.move[h - 1, MODEL_CLASSES.index(c), g, n, d] *= f
    return m


def need_levers_in(levers: Sequence[Any]) -> list[Any]:
    """The levers of ``levers`` that change the need model (non-zero model and need levers)."""
    kinds = ("incidence", "ceasing", "need_new_plans", "transition", *COHORT_ONLY)
    return [lv for lv in levers if lv.kind in kinds and not lv.is_zero]


def compare(model: NeedModel, levers: Sequence[Any], *, horizon: int = 5, draws: int = 1000, seed: int = 1,
            by: tuple[str, ...] = ("primary_need",)) -> pd.DataFrame:  # fmt: skip
    """Baseline and scenario on the same seed: by year and ``by``, the baseline mean, the
    scenario mean and the mean difference with its 10th-90th percentile range across draws
    (exact counts: protect before publishing)."""
    base = forecast(model, horizon=horizon, draws=draws, seed=seed)
    scen = forecast(model, horizon=horizon, draws=draws, seed=seed, multipliers=multipliers(model, levers, horizon))
    keys = ["draw", "year", *by]
    b = base.groupby(keys)["plans"].sum()
    s = scen.groupby(keys)["plans"].sum()
    diff = (s - b).rename("plans").reset_index()
    d = summarise(diff, by)[["year", *by, "mean", "p10", "p90"]].rename(
        columns={"mean": "difference", "p10": "difference_p10", "p90": "difference_p90"})  # fmt: skip
    sb = summarise(base, by)[["year", *by, "mean"]].rename(columns={"mean": "baseline"})
    ss = summarise(scen, by)[["year", *by, "mean"]].rename(columns={"mean": "scenario"})
    return sb.merge(ss, on=["year", *by]).merge(d, on=["year", *by])


def joiners_expected(model: NeedModel) -> np.ndarray:
    """Expected joiners by need in the first forecast year (point rates, no lever), for checks by hand."""
    from sendcast.personlevel.truth import BAND

    r = model.point
    share = (r.join_age[:, None] * r.join_need[BAND]).sum(axis=0)
    return float(np.exp(model.join_coef[0] + model.join_coef[1])) * share

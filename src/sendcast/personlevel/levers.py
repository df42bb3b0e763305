"""Scenario levers for the need model: a change to one need's joiners, or to one transition.

A lever is data (validated here, so a YAML scenario file can hold it):

- ``kind: joiners`` -- new plans with a primary need (or all needs) are ``multiplier`` times the
  baseline (e.g. SEMH new plans down 10% through early help: ``need: SEMH, multiplier: 0.9``);
- ``kind: transition`` -- the yearly probability of moving from ``from_group`` to ``to_group``
  (optionally only at a phase transfer ``at`` and for one ``need``) is ``multiplier`` times the
  baseline; staying takes up the difference (e.g. half as many moves into independent special
  schools at the post-16 transfer: ``from_group: state_special, to_group: independent_special,
  at: post16, multiplier: 0.5``).

:func:`apply_levers` returns a copy of a fitted :class:`~sendcast.personlevel.model.NeedModel`
with the levers applied; :func:`compare` runs baseline and scenario on the same seed and
returns the difference by need (exact counts: protect before publishing).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sendcast.model.structure import GROUPS
from sendcast.personlevel.codes import NEEDS
from sendcast.personlevel.model import MODEL_CLASSES, NeedModel, forecast, summarise


class NeedLever(BaseModel):
    """One lever (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["joiners", "transition"]
    multiplier: float = Field(ge=0.0, le=10.0)
    need: str | None = None
    from_group: str | None = None
    to_group: str | None = None
    at: Literal["any", "school_entry", "secondary", "post16"] = "any"
    description: str = ""

    @model_validator(mode="after")
    def _check(self) -> NeedLever:
        if self.need is not None and self.need not in NEEDS:
            raise ValueError(f"need: {self.need!r} is not a primary need code ({', '.join(NEEDS)})")
        for name in ("from_group", "to_group"):
            g = getattr(self, name)
            if g is not None and g not in GROUPS:
                raise ValueError(f"{name}: {g!r} is not a placement group ({', '.join(GROUPS)})")
        if self.kind == "transition":
            if self.from_group is None or self.to_group is None or self.from_group == self.to_group:
                raise ValueError("a transition lever needs a from_group and a different to_group")
        elif self.from_group or self.to_group or self.at != "any":
            raise ValueError("a joiners lever takes a need and a multiplier only")
        return self


def apply_levers(model: NeedModel, levers: Sequence[NeedLever]) -> NeedModel:
    """A copy of ``model`` with the levers applied (levers multiply: two of 0.9 give 0.81)."""
    out = copy.copy(model)
    out.join_multiplier = model.join_multiplier.copy()
    out.move_multiplier = model.move_multiplier.copy()
    for lv in levers:
        n = slice(None) if lv.need is None else NEEDS.index(lv.need)
        if lv.kind == "joiners":
            out.join_multiplier[n] *= lv.multiplier
            continue
        assert lv.from_group is not None and lv.to_group is not None
        g, d = GROUPS.index(lv.from_group), GROUPS.index(lv.to_group)
        classes = list(range(len(MODEL_CLASSES))) if lv.at == "any" else [MODEL_CLASSES.index(lv.at)]
        for c in classes:
            out.move_multiplier[c, g, n, d] *= lv.multiplier
    return out


def compare(model: NeedModel, levers: Sequence[NeedLever], *, horizon: int = 5, draws: int = 1000, seed: int = 1,
            by: tuple[str, ...] = ("primary_need",)) -> pd.DataFrame:  # fmt: skip
    """Baseline and scenario on the same seed: by year and ``by``, the baseline mean, the
    scenario mean and the mean difference with its 10th-90th percentile range across draws."""
    base = forecast(model, horizon=horizon, draws=draws, seed=seed)
    scen = forecast(apply_levers(model, levers), horizon=horizon, draws=draws, seed=seed)
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
    """Expected joiners by need in the first forecast year (point rates), for checks by hand."""
    from sendcast.personlevel.truth import BAND

    r = model.point
    share = (r.join_age[:, None] * r.join_need[BAND]).sum(axis=0) * model.join_multiplier
    return float(np.exp(model.join_coef[0] + model.join_coef[1])) * share

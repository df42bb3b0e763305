"""The model's state space (age x placement group) and its structural assumptions.

States are single years of age 0-25 at January times seven placement groups that partition
all plans. The structural assumptions (shapes by age, which placements are open at which age,
how many keep their placement at a phase transfer) are sourced YAML files in
``sendcast/parameters/model``; this module only loads and checks them.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

AGES: tuple[int, ...] = tuple(range(26))
N_AGES = len(AGES)

GROUPS: tuple[str, ...] = (
    "mainstream",
    "resourced_provision",
    "state_special",
    "independent_special",
    "ap_pru",
    "post16_fe",
    "other",
)
N_GROUPS = len(GROUPS)
G = {g: i for i, g in enumerate(GROUPS)}
MAINSTREAM_INDEX = G["mainstream"]

# Published age bands (DfE SEN2 releases) and the forecast output measures that use them.
AGE_BANDS: dict[str, tuple[int, int]] = {
    "age_0_4": (0, 4),
    "age_5_10": (5, 10),
    "age_11_15": (11, 15),
    "age_16_19": (16, 19),
    "age_20_25": (20, 25),
}
BAND_OF_AGE = np.array([next(i for i, (lo, hi) in enumerate(AGE_BANDS.values()) if lo <= a <= hi) for a in AGES])
N_BANDS = len(AGE_BANDS)

PARAM_DIR = Path(__file__).resolve().parents[1] / "parameters" / "model"


class ModelParameterError(ValueError):
    """A model parameter file is missing, malformed or out of range (names file and key)."""


@cache
def load_parameter(name: str) -> dict[str, Any]:
    """Load ``parameters/model/<name>.yaml``; check it has description, unit, values, source."""
    path = PARAM_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ModelParameterError(f"{path}: parameter file not found")
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ModelParameterError(f"{path}: not a YAML mapping")
    for key in ("description", "unit", "values", "source"):
        if key not in data or data[key] in (None, ""):
            raise ModelParameterError(f"{path}: missing '{key}'")
    src = data["source"]
    if not isinstance(src, dict) or not src.get("title"):
        raise ModelParameterError(f"{path}: 'source' needs a title (and url/table)")
    return data


def _by_age(name: str, *, normalise: bool = False) -> np.ndarray:
    vals = load_parameter(name)["values"]
    out = np.zeros(N_AGES)
    for k, v in vals.items():
        a = int(k)
        if not 0 <= a <= 25:
            raise ModelParameterError(f"{PARAM_DIR / name}.yaml: age {k} outside 0-25 (key values.{k})")
        if float(v) < 0:
            raise ModelParameterError(f"{PARAM_DIR / name}.yaml: negative value at values.{k}")
        out[a] = float(v)
    if normalise:
        out = out / out.sum()
    return out


@cache
def ceasing_hazard_shape() -> np.ndarray:
    """Relative yearly chance of a plan ceasing by age at January (age 25 leaves by ageing out)."""
    h = _by_age("ceasing_hazard_shape")
    if (h > 1).any():
        raise ModelParameterError("ceasing_hazard_shape.yaml: a probability above 1")
    return h


@cache
def within_band_profile() -> np.ndarray:
    """Share of each published age band at each single age (sums to 1 within each band)."""
    p = _by_age("age_profile_within_band")
    for b in range(N_BANDS):
        m = BAND_OF_AGE == b
        p[m] = p[m] / p[m].sum()
    return p


@cache
def new_plan_age_shape() -> np.ndarray:
    """Share of new plans started at each single age (sums to 1)."""
    return _by_age("new_plan_age_shape", normalise=True)


@cache
def placement_prior() -> np.ndarray:
    """Prior weight (age x group) for splitting plans jointly by age and placement."""
    vals = load_parameter("placement_by_age_prior")["values"]
    unknown = set(vals) - set(GROUPS)
    if unknown:
        raise ModelParameterError(f"placement_by_age_prior.yaml: unknown placement group(s) {sorted(unknown)}")
    w = np.zeros((N_AGES, N_GROUPS))
    for g, spec in vals.items():
        lo, hi, weight = int(spec["from_age"]), int(spec["to_age"]), float(spec["weight"])
        if lo > hi:
            raise ModelParameterError(f"placement_by_age_prior.yaml: values.{g}: from_age after to_age")
        w[lo : hi + 1, G[g]] = weight
    return w


@cache
def phase_transfer_persistence() -> dict[int, float]:
    """Share keeping their placement group across each phase transfer age."""
    vals = load_parameter("phase_transfer")["values"]
    out = {int(k): float(v) for k, v in vals.items()}
    for k, v in out.items():
        if not 0 <= v <= 1:
            raise ModelParameterError(f"phase_transfer.yaml: values.{k} = {v} is not a share")
    return out


def band_totals(by_age: np.ndarray) -> np.ndarray:
    """Sum the last-but-one axis (ages) of an array into the five published age bands."""
    out = np.zeros(by_age.shape[:-2] + (N_BANDS,) + by_age.shape[-1:]) if by_age.ndim >= 2 else None
    if out is None:
        return np.bincount(BAND_OF_AGE, weights=by_age, minlength=N_BANDS)
    for b in range(N_BANDS):
        out[..., b, :] = by_age[..., BAND_OF_AGE == b, :].sum(axis=-2)
    return out

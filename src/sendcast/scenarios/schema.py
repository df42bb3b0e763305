"""Scenario files: a named, sourced, validated set of levers on the model's rates and money.

A scenario is a YAML mapping that should read like the council paper it comes from::

    name: Local First Inclusion
    description: Norfolk's 2023-2029 programme as publicly described.
    sources:
      - {title: "Norfolk CC, Local First Inclusion", document: "Cabinet paper, 2023"}
    base: baseline.yaml            # optional: start from another scenario (path relative to
                                   # this file); levers with the same ``id`` replace the base's
    origin: 2024                   # optional: forecast from January 2024
    levers:
      - kind: incidence            # new plans by age, % change on the modelled rate
        id: support_teams
        label: 15 school and community support teams
        change_percent: -10
        ages: [0, 15]
        start: 2024                # calendar year of the flows (2024 = plans starting in 2024)
        ramp: 2                    # years to full effect: 2024 half, 2025 on full
        end: 2029                  # last year with an effect (optional)
      - kind: placement_shift      # a share of new placements moved from one group to another
        from_group: independent_special
        to_group: state_special
        share_percent: 20
        at: [entry, transfer]
        start: 2025
      - kind: new_places           # a capacity limit the model respects
        group: state_special
        places: 270
        start: 2026                # the year the places open (September)
        spill_to: independent_special
      - kind: ceasing              # yearly chance of a plan ceasing, % change, by age
        ages: [16, 19]
        change_percent: 10
        start: 2025
      - {kind: unit_cost, group: independent_special, change_percent: -5, start: 2025}
      - {kind: running_cost, gbp_per_year: 5500000, start: 2023, end: 2028}
      - {kind: capital, gbp: 120000000, start: 2023, end: 2028}
      - {kind: funding, block_transfer_percent: 0.5, extra_high_needs_gbp: 0, start: 2025}

Two more model levers act on a primary need or a transition, which only the council's own
SEN2 return can model (``--sen2 STORE``; refused without it):

      - kind: need_new_plans       # new plans with this primary need (SEN2 code), % change
        need: SEMH
        change_percent: -10
        ages: [0, 25]              # age at 31 August when the plan starts (optional)
        start: 2025
      - kind: transition           # yearly chance of moving into ``to``, % change
        to: independent_special
        from: state_special        # optional: from any other group
        at: phase_transfer         # phase_transfer (school entry, secondary, post-16) |
                                   # school_entry | secondary | post16 | any
        need: ASD                  # optional: plans with this primary need only
        change_percent: -20
        start: 2025

Years: the model levers (incidence, placement_shift, new_places, ceasing) use the calendar
year of the flows (the model's ``year``: plans in January ``year + 1`` show the effect); the
money levers (unit_cost, running_cost, capital, funding) use financial years by the year they
start (2025 = 2025-26). A lever's strength in year ``y`` is
``min(1, (y - start + 1) / ramp)`` from ``start`` to ``end`` (``ramp`` 0 or 1: full at once),
0 outside; :meth:`LeverBase.strength` returns it.

:func:`load_scenario` returns a :class:`Scenario` (with ``base`` resolved) or raises
:class:`ScenarioError` naming the file and the key at fault; nothing is run on an invalid file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from sendcast.model.structure import GROUPS
from sendcast.parameters import (
    InputModel,
    ParameterError,
    Source,
    pydantic_error_key,
    read_yaml_mapping,
)

MAX_SCENARIO_BYTES = 1_000_000
MAX_BASE_DEPTH = 8
LIBRARY = Path(__file__).resolve().parent / "library"
Year = Annotated[int, Field(ge=2000, le=2060)]
Group = Literal[
    "mainstream",
    "resourced_provision",
    "state_special",
    "independent_special",
    "ap_pru",
    "post16_fe",
    "other",
]
assert set(Group.__args__) == set(GROUPS)  # type: ignore[attr-defined]


class ScenarioError(ParameterError):
    """An invalid scenario file; ``str(err)`` reads ``<file>: <key>: <message>``."""


class LeverBase(InputModel):
    """What every lever has: an optional id and label, start, ramp (years) and end year."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    id: str | None = None
    label: str | None = None
    start: Year
    ramp: int = Field(default=0, ge=0, le=30)
    end: Year | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _start_before_end(self) -> LeverBase:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end: {self.end} is before start {self.start}")
        return self

    def strength(self, year: int) -> float:
        """Return the share of the lever's full effect in ``year`` (0 to 1).

        ``min(1, (year - start + 1) / ramp)`` between ``start`` and ``end``; 0 outside. E.g.
        start 2025, ramp 2: 2024 -> 0, 2025 -> 0.5, 2026 -> 1.
        """
        if year < self.start or (self.end is not None and year > self.end):
            return 0.0
        if self.ramp <= 1:
            return 1.0
        return min(1.0, (year - self.start + 1) / self.ramp)

    @property
    def is_zero(self) -> bool:
        """True when the lever changes nothing (its size is 0)."""
        return False

    def describe(self) -> str:
        """Return a one-line description for tables and reports."""
        return self.label or self.id or str(getattr(self, "kind", type(self).__name__))


def _ages_ok(ages: tuple[int, int]) -> tuple[int, int]:
    lo, hi = ages
    if not 0 <= lo <= hi <= 25:
        raise ValueError(f"ages: [{lo}, {hi}] must be within 0-25, first not above second")
    return ages


class IncidenceLever(LeverBase):
    """New-plan incidence at ``ages`` (inclusive) changed by ``change_percent`` %."""

    kind: Literal["incidence"]
    change_percent: float = Field(ge=-100, le=200, allow_inf_nan=False)
    ages: tuple[int, int] = (0, 25)

    @model_validator(mode="after")
    def _ages(self) -> IncidenceLever:
        _ages_ok(self.ages)
        return self

    @property
    def is_zero(self) -> bool:
        return self.change_percent == 0


class CeasingLever(LeverBase):
    """Yearly chance of a plan ceasing at ``ages`` (age at January) changed by
    ``change_percent`` %."""

    kind: Literal["ceasing"]
    change_percent: float = Field(ge=-100, le=500, allow_inf_nan=False)
    ages: tuple[int, int] = (0, 25)

    @model_validator(mode="after")
    def _ages(self) -> CeasingLever:
        _ages_ok(self.ages)
        return self

    @property
    def is_zero(self) -> bool:
        return self.change_percent == 0


def _both_moments() -> list[Literal["entry", "transfer"]]:
    return ["entry", "transfer"]


class PlacementShiftLever(LeverBase):
    """A share (%) of new placements in ``from_group`` made in ``to_group`` instead, at entry
    (new plans) and/or at phase transfer (ages 5, 11, 16, 19)."""

    kind: Literal["placement_shift"]
    from_group: Group = Field(alias="from")
    to_group: Group = Field(alias="to")
    share_percent: float = Field(ge=0, le=100, allow_inf_nan=False)
    at: list[Literal["entry", "transfer"]] = Field(default_factory=_both_moments, min_length=1)

    @model_validator(mode="after")
    def _different(self) -> PlacementShiftLever:
        if self.from_group == self.to_group:
            raise ValueError(f"to: same group as from ({self.from_group})")
        return self

    @property
    def is_zero(self) -> bool:
        return self.share_percent == 0


class NewPlacesLever(LeverBase):
    """``places`` new places in ``group`` opening in ``start``: from then on the group holds
    at most (its plans at January ``start`` or ``existing_places``) + the places opened so far;
    plans beyond that go to ``spill_to``. ``ramp`` and ``end`` are not used (places stay)."""

    kind: Literal["new_places"]
    group: Group
    places: int = Field(ge=0, le=100_000)
    spill_to: Group
    existing_places: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _spill(self) -> NewPlacesLever:
        if self.spill_to == self.group:
            raise ValueError(f"spill_to: same group as group ({self.group})")
        return self

    @property
    def is_zero(self) -> bool:
        return self.places == 0


def _need_ok(need: str | None) -> str | None:
    from sendcast.personlevel.codes import NEEDS

    if need is not None and need not in NEEDS:
        raise ValueError(f"{need!r} is not a SEN2 primary need code (one of {', '.join(NEEDS)})")
    return need


class NeedNewPlansLever(LeverBase):
    """New plans with primary need ``need`` (a SEN2 code, e.g. ``SEMH``) starting at ``ages``
    (age at 31 August, inclusive) changed by ``change_percent`` %. Needs the council's own
    SEN2 return (``--sen2``): the published figures have no need for new plans."""

    kind: Literal["need_new_plans"]
    need: str
    change_percent: float = Field(ge=-100, le=200)
    ages: tuple[int, int] = (0, 25)

    @model_validator(mode="after")
    def _check(self) -> NeedNewPlansLever:
        _ages_ok(self.ages)
        return self

    _need = field_validator("need")(_need_ok)

    @property
    def is_zero(self) -> bool:
        return self.change_percent == 0


TransitionMoment = Literal["phase_transfer", "school_entry", "secondary", "post16", "any"]


class TransitionLever(LeverBase):
    """The yearly chance of a plan moving into ``to`` (from ``from``, default every other group)
    changed by ``change_percent`` %, at ``at`` (``phase_transfer``: school entry, secondary and
    post-16 transfers; ``any``: every year), for plans with primary need ``need`` (default
    all); staying in the group takes up the difference. Needs ``--sen2``."""

    kind: Literal["transition"]
    to_group: Group = Field(alias="to")
    from_group: Group | None = Field(default=None, alias="from")
    at: TransitionMoment = "phase_transfer"
    need: str | None = None
    change_percent: float = Field(ge=-100, le=500)

    _need = field_validator("need")(_need_ok)

    @model_validator(mode="after")
    def _different(self) -> TransitionLever:
        if self.from_group == self.to_group:
            raise ValueError(f"to: same group as from ({self.to_group})")
        return self

    @property
    def is_zero(self) -> bool:
        return self.change_percent == 0


class UnitCostLever(LeverBase):
    """Cost per plan in ``group`` changed by ``change_percent`` % (financial years)."""

    kind: Literal["unit_cost"]
    group: Group
    change_percent: float = Field(ge=-100, le=500, allow_inf_nan=False)

    @property
    def is_zero(self) -> bool:
        return self.change_percent == 0


class RunningCostLever(LeverBase):
    """The programme's own running cost, £ a year, charged to the high needs block."""

    kind: Literal["running_cost"]
    gbp_per_year: float = Field(ge=0, le=1e9, allow_inf_nan=False)

    @property
    def is_zero(self) -> bool:
        return self.gbp_per_year == 0


class CapitalLever(LeverBase):
    """Capital spend (£ over ``start``..``end``), reported beside the DSG balance, not in it:
    capital is paid from capital grants and borrowing, not the dedicated schools grant."""

    kind: Literal["capital"]
    gbp: float = Field(ge=0, le=1e10, allow_inf_nan=False)

    @property
    def is_zero(self) -> bool:
        return self.gbp == 0


class FundingLever(LeverBase):
    """Extra income: ``block_transfer_percent`` more of the schools block moved to high needs
    (percentage points) and ``extra_high_needs_gbp`` a year."""

    kind: Literal["funding"]
    block_transfer_percent: float = Field(default=0.0, ge=-100, le=100, allow_inf_nan=False)
    extra_high_needs_gbp: float = Field(default=0.0, ge=-1e10, le=1e10, allow_inf_nan=False)

    @property
    def is_zero(self) -> bool:
        return self.block_transfer_percent == 0 and self.extra_high_needs_gbp == 0


Lever = Annotated[
    IncidenceLever
    | CeasingLever
    | PlacementShiftLever
    | NewPlacesLever
    | NeedNewPlansLever
    | TransitionLever
    | UnitCostLever
    | RunningCostLever
    | CapitalLever
    | FundingLever,
    Field(discriminator="kind"),
]
LEVER_KINDS: tuple[str, ...] = (
    "incidence",
    "ceasing",
    "placement_shift",
    "new_places",
    "need_new_plans",
    "transition",
    "unit_cost",
    "running_cost",
    "capital",
    "funding",
)
MODEL_KINDS = frozenset({"incidence", "ceasing", "placement_shift", "new_places"})
NEED_KINDS = frozenset({"need_new_plans", "transition"})  # only the SEN2 need model has them


class Scenario(InputModel):
    """A validated scenario: name, description, sources, optional origin, and its levers
    (the base's levers first, already merged)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1)
    sources: list[Source] = Field(default_factory=list)
    base: str | None = None
    origin: Year | None = None
    levers: list[Lever] = Field(default_factory=list)
    file: str = ""

    @model_validator(mode="after")
    def _unique_ids(self) -> Scenario:
        seen: set[str] = set()
        for i, lv in enumerate(self.levers):
            if lv.id is not None:
                if lv.id in seen:
                    raise ValueError(f"levers.{i}.id: {lv.id!r} used twice")
                seen.add(lv.id)
        return self

    @property
    def model_levers(self) -> list[Any]:
        """Return the levers that change the model's rates (incidence, ceasing, placement)."""
        return [lv for lv in self.levers if lv.kind in MODEL_KINDS]

    @property
    def need_levers(self) -> list[Any]:
        """Return the levers on a primary need or a transition (SEN2 need model only)."""
        return [lv for lv in self.levers if lv.kind in NEED_KINDS]

    @property
    def money_levers(self) -> list[Any]:
        """Return the levers that change costs or income."""
        return [lv for lv in self.levers if lv.kind not in MODEL_KINDS | NEED_KINDS]

    @property
    def is_baseline(self) -> bool:
        """True when every lever is zero (the scenario reproduces the baseline)."""
        return all(lv.is_zero for lv in self.levers)

    def with_levers(self, extra: list[Any], *, name: str | None = None) -> Scenario:
        """Return a copy with ``extra`` levers added (same ``id`` replaces)."""
        ids = {lv.id for lv in extra if lv.id}
        kept = [lv for lv in self.levers if lv.id is None or lv.id not in ids]
        return self.model_copy(update={"levers": kept + list(extra), "name": name or self.name})


BASELINE = Scenario(name="baseline", description="No change: the model's own forecast.")


def _lever_error_key(data: dict[str, Any], key: str, msg: str) -> tuple[str, str]:
    """Make pydantic's discriminator errors readable: name the lever kind that is unknown."""
    parts = key.split(".")
    if len(parts) >= 2 and parts[0] == "levers" and parts[1].isdigit():
        i = int(parts[1])
        levers = data.get("levers")
        item = levers[i] if isinstance(levers, list) and i < len(levers) else None
        if isinstance(item, dict):
            kind = item.get("kind")
            if kind is None:
                return f"levers.{i}.kind", f"missing; one of {', '.join(LEVER_KINDS)}"
            if kind not in LEVER_KINDS:
                return (
                    f"levers.{i}.kind",
                    f"unknown lever {kind!r}; one of {', '.join(LEVER_KINDS)}",
                )
            if len(parts) == 2 or parts[2] == kind:
                parts = parts[:2] + parts[3:]
            return ".".join(parts), msg
        if item is not None and not isinstance(item, dict):
            return f"levers.{i}", "a lever must be a mapping (kind: ..., start: ...)"
    return key, msg


def _parse(path: Path, data: dict[str, Any]) -> Scenario:
    try:
        return Scenario.model_validate({**data, "file": str(path)})
    except ValidationError as e:
        key, msg = pydantic_error_key(e)
        key, msg = _lever_error_key(data, key, msg)
        raise ScenarioError(path, key, msg) from e


def load_scenario(path: Path | str, *, _depth: int = 0, _seen: tuple[str, ...] = ()) -> Scenario:
    """Return the validated :class:`Scenario` in ``path`` with its ``base`` merged in.

    A ``base`` is looked up beside the file, then in the shipped library. Levers of the base
    come first; a lever whose ``id`` matches one of the base's replaces it. Raises
    ScenarioError (file and key) for a missing or oversized file (over 1 MB), YAML that is not
    a mapping, an unknown lever or placement group, a share above 100%, a start after the end,
    or a base that loops.
    """
    p = Path(path)
    if not p.is_file() and not p.is_absolute() and (LIBRARY / p).is_file():
        p = LIBRARY / p
    try:
        data = read_yaml_mapping(p, max_bytes=MAX_SCENARIO_BYTES)
    except ParameterError as e:
        raise ScenarioError(e.file, e.key, e.message) from e
    own = _parse(p, data)
    if own.base is None:
        return own
    if _depth >= MAX_BASE_DEPTH or str(p.resolve()) in _seen:
        raise ScenarioError(p, "base", f"{own.base!r}: scenarios based on each other in a loop")
    base_path = (p.parent / own.base) if not Path(own.base).is_absolute() else Path(own.base)
    if not base_path.is_file() and (LIBRARY / own.base).is_file():
        base_path = LIBRARY / own.base
    if not base_path.is_file():
        raise ScenarioError(p, "base", f"{own.base!r} not found beside the file or in the library")
    base = load_scenario(base_path, _depth=_depth + 1, _seen=(*_seen, str(p.resolve())))
    merged = base.with_levers(list(own.levers), name=own.name)
    return merged.model_copy(
        update={
            "description": own.description,
            "sources": base.sources + own.sources,
            "origin": own.origin if own.origin is not None else base.origin,
            "base": own.base,
            "file": str(p),
        }
    )


def scenario_from_dict(data: dict[str, Any], *, name: str = "<dict>") -> Scenario:
    """Return a validated :class:`Scenario` from a mapping (``base`` is not resolved)."""
    return _parse(Path(name), data)

"""The assumption tree: sourced YAML parameter files and their loader.

Every number a person might argue with (a unit cost, an inflation rate, a funding uplift) lives
in one YAML file under this folder, in a tree that mirrors the domain::

    costs/placements/<placement group>.yaml      cost per EHC plan in that placement, a year
    costs/non_placement/<s251 line>.yaml         national £ per plan for non-placement lines
    costs/inflation.yaml                         yearly rise in unit costs
    funding/high_needs_block/growth.yaml         yearly rise in the high needs block
    funding/schools_block/growth.yaml            yearly rise in the schools block
    funding/place_funding/<kind>.yaml            £ per place paid from the high needs block
    calibration/shrinkage.yaml                   pseudo-count pulling council costs to national
    scenarios/realism.yaml                       thresholds of the scenario realism verdicts
    model/*.yaml                                 the forecast's structure and settings

Each file is a mapping with ``description``, ``unit``, ``price_year`` (costs) or ``period``
(other parameters), ``values`` (a list of
``{from: date, value: number}`` or ``{financial_year: "2024-25", value: number}``, each may
carry its own ``source``; model parameters may instead key values by age or group) and
``source`` (``title`` and ``url`` or ``document``, and
``reference`` for the table/page). :func:`load_parameters` reads and validates the tree; a
:class:`ParameterError` names the file and the key at fault.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PARAMETERS_DIR = Path(__file__).resolve().parent

PLACEMENT_GROUPS: tuple[str, ...] = (
    "mainstream",
    "resourced_provision",
    "state_special",
    "independent_special",
    "ap_pru",
    "post16_fe",
    "other",
)

MAX_FILE_BYTES = 1_000_000
YEAR_RANGE = (2000, 2060)
_FY = re.compile(r"^(\d{4})-(\d{2})$")


class ParameterError(ValueError):
    """A parameter (or agreement) file is missing, malformed or fails a check.

    ``str(err)`` reads ``<file>: <key>: <message>`` so a user can open the file and fix it.
    """

    def __init__(self, file: str | Path, key: str, message: str) -> None:
        self.file = str(file)
        self.key = key
        self.message = message
        super().__init__(f"{self.file}: {key}: {message}")


def financial_year_start(label: Any) -> int:
    """Return the starting calendar year of a financial-year label (``"2023-24"`` -> 2023).

    Raises ValueError when the label is not ``YYYY-YY`` with consecutive years.
    """
    m = _FY.match(str(label).strip())
    if not m:
        raise ValueError(f"not a financial year like '2023-24': {str(label)[:20]!r}")
    start = int(m.group(1))
    if (start + 1) % 100 != int(m.group(2)):
        raise ValueError(f"financial year {label!r} does not span consecutive years")
    return start


def financial_year_label(start: int) -> str:
    """Return the label of the financial year starting in April ``start`` (2023 -> "2023-24")."""
    return f"{start}-{(start + 1) % 100:02d}"


class InputModel(BaseModel):
    """Base of every model read from a user's or the project's YAML (parameters, scenarios,
    agreements): YAML's ``true``/``false`` (also ``yes``/``no``, ``on``/``off``) in any field,
    or in a list, is refused, never read as 1 or 0 (pydantic would read ``change_percent:
    true`` as 1). No field of these files is a yes/no flag."""

    @model_validator(mode="before")
    @classmethod
    def _no_truth_values(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                items = value if isinstance(value, list | tuple) else [value]
                if any(isinstance(v, bool) for v in items):
                    raise ValueError(f"{key}: true/false given where a number or text is expected")
        return data


class Source(InputModel):
    """Where a number comes from: a title plus a URL or a document, and the table or page."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=3)
    url: str | None = None
    document: str | None = None
    reference: str | None = None
    table: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _url_or_document(self) -> Source:
        if not (self.url or self.document):
            raise ValueError("a source needs a url or a document")
        return self


class DatedValue(InputModel):
    """One value in force from a date (or from the April that starts a financial year)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: dt.date = Field(alias="from")
    value: float = Field(allow_inf_nan=False)  # .nan or .inf is never an assumption
    source: Source | None = None
    note: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _financial_year(cls, data: Any) -> Any:
        if isinstance(data, dict) and "financial_year" in data:
            data = dict(data)
            fy = data.pop("financial_year")
            if "from" in data:
                raise ValueError("give either 'from' or 'financial_year', not both")
            data["from"] = dt.date(financial_year_start(fy), 4, 1)
        return data

    @field_validator("start")
    @classmethod
    def _year_in_range(cls, v: dt.date) -> dt.date:
        if not YEAR_RANGE[0] <= v.year <= YEAR_RANGE[1]:
            raise ValueError(f"year {v.year} out of range {YEAR_RANGE[0]}-{YEAR_RANGE[1]}")
        return v


def _numbers(tree: Any, where: str) -> Iterator[tuple[str, float]]:
    """Every number in a nested mapping/list, with its dotted key."""
    if isinstance(tree, bool):
        return
    if isinstance(tree, int | float):
        yield where, float(tree)
    elif isinstance(tree, dict):
        for k, v in tree.items():
            yield from _numbers(v, f"{where}.{k}")
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from _numbers(v, f"{where}.{i}")


class Parameter(InputModel):
    """One sourced assumption: description, unit, price year, dated values and source."""

    model_config = ConfigDict(extra="forbid")
    description: str = Field(min_length=3)
    unit: str = Field(min_length=1)
    price_year: str | None = None
    period: str | None = None
    values: list[DatedValue] | dict[str | int, Any] = Field(min_length=1)
    source: Source
    placement: str | None = None
    notes: str | None = None
    # candidates for settings chosen at each origin (model/forecast_settings.yaml only)
    select: dict[str, list[float] | int] | None = None
    name: str = ""
    file: str = ""

    @field_validator("placement")
    @classmethod
    def _known_placement(cls, v: str | None) -> str | None:
        if v is not None and v not in PLACEMENT_GROUPS:
            raise ValueError(f"unknown placement group {v!r}; expected one of {PLACEMENT_GROUPS}")
        return v

    @model_validator(mode="after")
    def _checks(self) -> Parameter:
        if not (self.price_year or self.period):
            raise ValueError("price_year: give a price_year (costs) or a period (others)")
        if isinstance(self.values, dict):
            for where, num in _numbers(self.values, "values"):
                if not math.isfinite(num):
                    raise ValueError(f"{where}: {num} is not a finite number")
            if self.unit.startswith("gbp"):
                for k, v in self.values.items():
                    if isinstance(v, int | float) and v < 0:
                        raise ValueError(f"values.{k}: negative cost {v}")
            return self
        starts = [v.start for v in self.values]
        for i, (a, b) in enumerate(zip(starts, starts[1:], strict=False)):
            if b <= a:
                raise ValueError(f"values.{i + 1}: dates overlap or are out of order: {b} does not follow {a}")
        if self.unit.startswith("gbp"):
            for i, v in enumerate(self.values):
                if v.value < 0:
                    raise ValueError(f"values.{i}: negative cost {v.value} from {v.start}")
        return self

    def value_at(self, when: dt.date) -> DatedValue:
        """Return the dated value in force on ``when`` (the latest whose start is not after it).

        Raises ParameterError when ``when`` falls before the first value or the parameter has
        keyed (not dated) values.
        """
        if not isinstance(self.values, list):
            raise ParameterError(self.file, "values", "keyed values, not dated values")
        found = [v for v in self.values if v.start <= when]
        if not found:
            raise ParameterError(self.file, "values", f"no value in force on {when}")
        return found[-1]

    @property
    def dated(self) -> list[DatedValue]:
        """Return the dated values (empty for a parameter with keyed values)."""
        return self.values if isinstance(self.values, list) else []

    def value_for_financial_year(self, start_year: int) -> float:
        """Return the value in force on 1 April ``start_year`` (start of that financial year)."""
        return self.value_at(dt.date(start_year, 4, 1)).value

    def source_for(self, value: DatedValue) -> Source:
        """Return the value's own source if it has one, else the file's source."""
        return value.source or self.source


_KEYED_MSG = re.compile(r"^(?:Value error, )?([A-Za-z_][\w.]*): (.*)$", re.S)


def pydantic_error_key(err: Any) -> tuple[str, str]:
    """Return (key path, message) for the first error of a pydantic ValidationError.

    Model-level checks put the key at the start of their message (``values.1: ...``).
    """
    first = err.errors()[0]
    parts = [
        str(p)
        for p in first["loc"]
        if p not in ("function-after", "function-before") and not re.match(r"^\w+\[", str(p))
    ]
    msg = str(first["msg"])
    m = _KEYED_MSG.match(msg)
    if m and (not parts or msg.startswith("Value error")):
        parts, msg = parts + [m.group(1)], m.group(2)
    return ".".join(parts) or "(file)", msg


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, stricter: a key given twice in one mapping is an error (PyYAML keeps
    the last silently), and an impossible date (``2023-02-30``) is an error naming its line
    instead of a bare ValueError."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # '<<: *base' may be overridden below
                continue
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: let PyYAML report it
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {str(key)[:40]!r} is given twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)  # type: ignore[no-untyped-call]
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"{str(node.value)[:30]!r} is not a valid date ({exc})", node.start_mark
            ) from None


_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_yaml_timestamp)  # type: ignore[type-var]


def yaml_error_text(exc: yaml.YAMLError) -> str:
    """One line for a YAML error: what is wrong and the line it is on."""
    if isinstance(exc, yaml.MarkedYAMLError):
        what = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        mark = exc.problem_mark or exc.context_mark
        return f"line {mark.line + 1}: {what}" if mark is not None else what
    return " ".join(str(exc).split())


def load_yaml_text(text: str) -> Any:
    """Parse YAML ``text`` with the strict safe loader (see :class:`_StrictLoader`).

    Raises ``yaml.YAMLError`` for invalid YAML, a duplicate key or an impossible date, and
    ``RecursionError`` for nesting deeper than Python's stack allows.
    """
    return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass


def read_yaml_mapping(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> dict[str, Any]:
    """Return the YAML mapping in ``path``.

    Raises ParameterError (naming the file, and the line where YAML gives one) when the file is
    missing, larger than ``max_bytes``, not valid YAML, repeats a key, holds an impossible date,
    nests deeper than can be read, or is not a mapping at the top level.
    """
    if not path.is_file():
        raise ParameterError(path, "(file)", "file not found")
    size = path.stat().st_size
    if size > max_bytes:
        raise ParameterError(path, "(file)", f"file is {size} bytes, over the {max_bytes} limit")
    try:
        data = load_yaml_text(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ParameterError(path, "(file)", f"not valid YAML: {yaml_error_text(e)[:200]}") from None
    except UnicodeDecodeError as e:
        raise ParameterError(path, "(file)", f"not UTF-8 text: {e}") from None
    except RecursionError:
        raise ParameterError(path, "(file)", "not valid YAML: nested too deeply to read") from None
    if not isinstance(data, dict):
        raise ParameterError(path, "(file)", f"expected a mapping, got {type(data).__name__}")
    return data


def load_parameter(path: Path, root: Path | None = None) -> Parameter:
    """Return the validated :class:`Parameter` in ``path``.

    Its ``name`` is the path relative to ``root`` without ``.yaml`` (``costs/inflation``).
    Files under ``costs/placements/`` must be named after a placement group and, if they give
    ``placement``, agree with their name. Raises ParameterError naming file and key.
    """
    root = root or path.parent
    data = read_yaml_mapping(path)
    name = path.relative_to(root).with_suffix("").as_posix()
    try:
        param = Parameter.model_validate({**data, "name": name, "file": str(path)})
    except ValidationError as e:
        raise ParameterError(path, *pydantic_error_key(e)) from e
    parts = name.split("/")
    if parts[:2] == ["costs", "placements"]:
        group = parts[-1]
        if group not in PLACEMENT_GROUPS:
            raise ParameterError(path, "(file name)", f"unknown placement group {group!r}")
        if param.placement not in (None, group):
            raise ParameterError(path, "placement", f"{param.placement!r} but file is {group!r}")
        param.placement = group
    return param


def iter_parameter_files(root: Path = PARAMETERS_DIR) -> Iterator[Path]:
    """Yield every ``*.yaml`` file under ``root``, sorted."""
    yield from sorted(root.rglob("*.yaml"))


def load_parameters(root: Path | str | None = None) -> dict[str, Parameter]:
    """Return every parameter under ``root`` (default: the shipped tree) keyed by its name.

    Raises ParameterError on the first bad file, naming file and key.
    """
    base = Path(root) if root is not None else PARAMETERS_DIR
    if not base.is_dir():
        raise ParameterError(base, "(folder)", "parameter folder not found")
    return {p.name: p for p in (load_parameter(f, base) for f in iter_parameter_files(base))}


def placement_cost(params: dict[str, Parameter], group: str) -> Parameter:
    """Return the national unit cost parameter for a placement group.

    Raises ParameterError when the tree has no ``costs/placements/<group>.yaml``.
    """
    key = f"costs/placements/{group}"
    if key not in params:
        raise ParameterError(key + ".yaml", "(file)", "no unit cost for this placement group")
    return params[key]


def require(params: dict[str, Parameter], name: str) -> Parameter:
    """Return parameter ``name`` or raise ParameterError saying which file is missing."""
    if name not in params:
        raise ParameterError(name + ".yaml", "(file)", "required parameter file is missing")
    return params[name]

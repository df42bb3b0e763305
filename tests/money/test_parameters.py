"""The parameter tree: every shipped file is sourced and valid; bad files fail clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from sendcast.parameters import (
    PARAMETERS_DIR,
    PLACEMENT_GROUPS,
    ParameterError,
    iter_parameter_files,
    load_parameter,
    load_parameters,
)

GOOD = """\
description: a cost
unit: gbp_per_plan_per_year
price_year: 2021-22
values:
  - {financial_year: 2021-22, value: 100}
source: {title: A source, url: https://example.org, reference: table 1}
"""


@pytest.mark.parametrize("path", list(iter_parameter_files()), ids=lambda p: p.name)
def test_every_shipped_file_has_unit_and_source(path: Path) -> None:
    p = load_parameter(path, PARAMETERS_DIR)
    assert p.unit and p.source.title and (p.source.url or p.source.document)


def test_every_placement_group_has_a_cost() -> None:
    params = load_parameters()
    for g in PLACEMENT_GROUPS:
        assert f"costs/placements/{g}" in params
    assert params["costs/placements/state_special"].value_for_financial_year(2017) == 20500


def _write(tmp: Path, rel: str, text: str) -> Path:
    f = tmp / rel
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(text)
    return f


BAD = {
    "no_unit": (GOOD.replace("unit: gbp_per_plan_per_year\n", ""), "unit"),
    "no_source": (GOOD.split("source:")[0], "source"),
    "source_no_url": (GOOD.replace("url: https://example.org, ", ""), "source"),
    "negative": (GOOD.replace("value: 100", "value: -5"), "values"),
    "unknown_group": (GOOD + "placement: boarding\n", "placement"),
    "overlap": (GOOD.replace("values:\n", "values:\n  - {from: 2022-01-01, value: 1}\n"), "values"),
    "year_range": (GOOD.replace("2021-22, value", "1990-91, value"), "values.0"),
    "true_value": (GOOD.replace("value: 100", "value: true"), "values.0.value"),  # not 1
    "not_mapping": ("- 1\n- 2\n", "(file)"),
    "bad_yaml": ("a: [1, 2\n", "(file)"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_file_names_file_and_key(tmp_path: Path, name: str) -> None:
    text, key = BAD[name]
    f = _write(tmp_path, "costs/placements/state_special.yaml", text)
    with pytest.raises(ParameterError) as e:
        load_parameters(tmp_path)
    assert str(f) in str(e.value)
    assert e.value.key.startswith(key), e.value.key


def test_unknown_placement_file_name(tmp_path: Path) -> None:
    _write(tmp_path, "costs/placements/boarding.yaml", GOOD)
    with pytest.raises(ParameterError, match="boarding"):
        load_parameters(tmp_path)


def test_huge_file(tmp_path: Path) -> None:
    f = _write(tmp_path, "costs/inflation.yaml", GOOD + "#" * 1_100_000)
    with pytest.raises(ParameterError, match="over the"):
        load_parameter(f, tmp_path)

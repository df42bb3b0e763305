"""Fuzz the YAML loading of parameter files: a mapping or a one-line ParameterError, never a
traceback; duplicate keys, impossible dates and deep nesting are refused (issue 11)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
import yaml
from fuzzing import FUZZ, NASTY_CELLS, TEXT, clean_or_valid
from hypothesis import given
from hypothesis import strategies as st

from sendcast.parameters import PARAMETERS_DIR, ParameterError, iter_parameter_files, load_parameter, read_yaml_mapping

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
    | st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31))
)
DOCS = st.recursive(SCALARS, lambda c: st.lists(c, max_size=4) | st.dictionaries(TEXT, c, max_size=4), max_leaves=20)


@st.composite
def damaged_yaml(draw: st.DrawFn) -> str:
    """YAML text: a dumped document, then damaged (a line doubled or cut, a value replaced by a
    nasty one, an impossible date, deep nesting, tabs)."""
    text = yaml.safe_dump({"description": "x", "values": draw(DOCS)}, allow_unicode=True)
    lines = text.split("\n")
    kind = draw(st.sampled_from(["none", "dup", "cut", "value", "date", "deep", "tab"]))
    i = draw(st.integers(0, max(0, len(lines) - 1)))
    if kind == "dup":
        lines.insert(i, lines[i])
    elif kind == "cut":
        return text[: draw(st.integers(0, len(text)))]
    elif kind == "value":
        lines.append(f"extra: {draw(NASTY_CELLS)}")
    elif kind == "date":
        lines.append(f"when: {draw(st.sampled_from(['2023-02-30', '2023-13-01', '2023-00-10', '2023-04-31']))}")
    elif kind == "deep":
        n = draw(st.integers(50, 50_000))
        lines.append("deep: " + "[" * n + "]" * n)
    elif kind == "tab":
        lines.insert(i, "\tkey: 1")
    return "\n".join(lines)


@FUZZ
@given(text=damaged_yaml())
def test_yaml_is_a_mapping_or_one_clean_line(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "p.yaml"
        p.write_text(text, encoding="utf-8")
        data = clean_or_valid(lambda: read_yaml_mapping(p))
        assert data is None or isinstance(data, dict)


PARAMETER_FILES = sorted(iter_parameter_files())


@pytest.mark.parametrize("name", [p.relative_to(PARAMETERS_DIR).as_posix() for p in PARAMETER_FILES[:12]])
@FUZZ
@given(line=st.integers(0, 10**6), value=NASTY_CELLS | TEXT)
def test_damaged_parameter_file_is_valid_or_one_clean_line(name: str, line: int, value: str) -> None:
    src = PARAMETERS_DIR / name
    lines = src.read_text(encoding="utf-8").split("\n")
    i = line % len(lines)
    if ":" in lines[i]:
        key = lines[i].split(":", 1)[0]
        lines[i] = f"{key}: {value}"
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("\n".join(lines), encoding="utf-8")
        clean_or_valid(lambda: load_parameter(p, Path(tmp)))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", "line 3: key 'a' is given twice"),
        ("start: 2023-02-30\n", "line 1: '2023-02-30' is not a valid date"),
        ("deep: " + "[" * 100_000 + "]" * 100_000 + "\n", "nested too deeply"),
    ],
)
def test_yaml_traps_are_named(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(text)
    with pytest.raises(ParameterError, match=message):
        read_yaml_mapping(p)


def test_yaml_merge_keys_still_work(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n")
    assert read_yaml_mapping(p)["d"] == {"x": 1, "y": 3}


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_parameter_values_must_be_finite(tmp_path: Path, value: str) -> None:
    src = PARAMETERS_DIR / "costs" / "placements" / "ap_pru.yaml"
    text = src.read_text(encoding="utf-8")
    first = next(line for line in text.split("\n") if line.strip().startswith("value:"))
    p = tmp_path / "costs" / "placements" / "ap_pru.yaml"
    p.parent.mkdir(parents=True)
    p.write_text(text.replace(first, first.split(":")[0] + f": {value}", 1), encoding="utf-8")
    with pytest.raises(ParameterError, match="finite number"):
        load_parameter(p, tmp_path)

"""The code lists and module layout in :mod:`sendcast.personlevel.codes` against the shared spec
(``/work/shared/specs/sen2-person-level.md``, a summary of DfE's SEN2 person-level guide v1.4)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sendcast.personlevel import codes

SPEC = Path("/work/shared/specs/sen2-person-level.md")


@pytest.fixture(scope="module")
def spec() -> str:
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} not present")
    return SPEC.read_text(encoding="utf-8")


def _names(fields: str) -> list[str]:
    """Field names from a spec cell such as ``sex (from v1.2; `gendercurrent` before), ethnicity``."""
    parts, depth, cur = [], 0, ""
    for ch in fields:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [m.group(1) for p in parts if (m := re.match(r"\s*`?(\w+)", p))]


def _codes(spec: str, heading: str) -> list[str]:
    """The codes listed after ``heading`` up to the next blank line (parenthesised notes dropped)."""
    block = spec.split(heading, 1)[1].split("\n\n", 1)[0]
    block = re.sub(r"\([^)]*\)", "", block.split(":", 1)[1])
    return re.findall(r"\b([A-Z]{2,4}|\d)\b", block)


def test_modules_parents_and_fields_match_the_spec(spec):
    rows = re.findall(r"^\| \w+ \| `(\w+)` \| (\S+) \| (.*) \|$", spec, flags=re.M)
    assert len(rows) == len(codes.MODULES) == 9
    for module, parent, fields in rows:
        m = codes.MODULES[module]
        assert (m.parent or "-") == parent, module
        assert list(m.fields) == _names(fields), module


def test_code_lists_match_the_spec(spec):
    assert list(codes.NEEDS) == _codes(spec, "Primary need (`sentype`")
    settings = spec.split("`sensetting` code:", 1)[1].split("\n\n", 1)[0]
    assert list(codes.SETTINGS) == re.findall(r"\b([A-Z]{3,4}) \(", settings)
    cease = " ".join(spec.split("Cease reasons (`ceasereason`", 1)[1].split("\n\n", 1)[0].split())
    listed = dict(re.findall(r"(\d) ([a-z][^;.]*)", cease))
    assert list(codes.CEASE_REASONS) == list(listed) == [str(i) for i in range(1, 10)]
    for k, text in listed.items():  # the spec's wording (its notes in brackets aside)
        assert codes.CEASE_REASONS[k] == re.sub(r"\s*\(.*", "", text).strip(), k

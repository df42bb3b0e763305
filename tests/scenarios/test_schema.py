"""Scenario files: validation errors name the file and key; bases compose; examples load."""

from __future__ import annotations

from pathlib import Path

import pytest

from sendcast.scenarios.schema import ScenarioError, load_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "norfolk" / "scenarios"
HEAD = "name: x\ndescription: y\nlevers:\n  - "
GOOD = """
name: test
description: a test scenario
levers:
  - {kind: incidence, id: inc, change_percent: -10, start: 2026}
"""


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_good_file_loads_and_strength_ramps(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, GOOD))
    assert s.name == "test" and s.levers[0].change_percent == -10
    lv = load_scenario(write(tmp_path, GOOD.replace("start: 2026", "start: 2025, ramp: 2, end: 2027"))).levers[0]
    # start 2025, ramp 2: 2024 none, 2025 half, 2026-2027 full, 2028 ended
    assert [lv.strength(y) for y in range(2024, 2029)] == [0.0, 0.5, 1.0, 1.0, 0.0]


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        (
            "name: x\ndescription: y\nlevers:\n  - {kind: magic, start: 2025}\n",
            "levers.0.kind",
            "unknown lever 'magic'",
        ),
        (
            HEAD + "{kind: placement_shift, from: independent_special,"
            " to: state_special, share_percent: 120, start: 2025}\n",
            "levers.0.share_percent",
            "100",
        ),
        (
            HEAD + "{kind: incidence, change_percent: -5, start: 2027, end: 2025}\n",
            "levers.0.end",
            "before start",
        ),
        (
            HEAD + "{kind: new_places, group: special_academy, places: 10,"
            " spill_to: independent_special, start: 2025}\n",
            "levers.0.group",
            "mainstream",
        ),
        (
            HEAD + "{kind: incidence, change_percent: -5, start: 2025, surprise: 1}\n",
            "levers.0.surprise",
            "xtra",
        ),
        ("- just\n- a list\n", "(file)", "mapping"),
        # YAML's true is not a percentage (pydantic alone would read it as 1)
        (HEAD + "{kind: incidence, change_percent: true, start: 2025}\n", "levers.0.change_percent", "true/false"),
        (HEAD + "{kind: incidence, change_percent: .nan, start: 2025}\n", "levers.0.change_percent", "finite"),
        (HEAD + "{kind: incidence, change_percent: -5, start: 2025, ages: [yes, 15]}\n", "levers.0.ages", "true/false"),
        ("name: x\ndescription: y\nwhen: 2023-02-30\nlevers: []\n", "(file)", "2023-02-30"),
        ("name: x\nname: y\ndescription: y\nlevers: []\n", "(file)", "twice"),
        ("name: x\nlevers: []\n", "description", "required"),
    ],
)
def test_invalid_files_name_file_and_key(tmp_path: Path, text: str, key: str, words: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(ScenarioError) as e:
        load_scenario(p)
    assert e.value.file == str(p)
    assert e.value.key == key, str(e.value)
    assert words in e.value.message, str(e.value)


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    p = tmp_path / "big.yaml"
    with p.open("wb") as f:  # 50 MB, sparse: cheap to make
        f.seek(50 * 1024 * 1024 - 1)
        f.write(b"\0")
    with pytest.raises(ScenarioError, match="over the 1000000 limit"):
        load_scenario(p)


def test_base_composes_and_same_id_replaces(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "base.yaml")
    variant = write(
        tmp_path,
        """
name: variant
description: smaller cut, plus a shift
base: base.yaml
levers:
  - {kind: incidence, id: inc, change_percent: -4, start: 2026}
  - {kind: placement_shift, from: independent_special, to: state_special,
     share_percent: 10, start: 2026}
""",
        "variant.yaml",
    )
    s = load_scenario(variant)
    assert s.name == "variant"
    assert [lv.kind for lv in s.levers] == ["incidence", "placement_shift"]
    assert s.levers[0].change_percent == -4


def test_base_loop_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "name: a\ndescription: a\nbase: b.yaml\n", "a.yaml")
    write(tmp_path, "name: b\ndescription: b\nbase: a.yaml\n", "b.yaml")
    with pytest.raises(ScenarioError, match="loop"):
        load_scenario(tmp_path / "a.yaml")


def test_norfolk_examples_load_with_sources() -> None:
    for name in ("baseline", "local_first_inclusion", "realistic"):
        s = load_scenario(EXAMPLES / f"{name}.yaml")
        assert s.sources, name
    lfi = load_scenario(EXAMPLES / "local_first_inclusion.yaml")
    real = load_scenario(EXAMPLES / "realistic.yaml")
    by_id = {lv.id: lv for lv in real.levers}
    assert (
        by_id["early_support"].change_percent > next(lv for lv in lfi.levers if lv.id == "early_support").change_percent
    )
    assert by_id["capital_programme"].gbp == 120_000_000  # inherited from the base

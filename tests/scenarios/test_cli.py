"""The ``scenario`` commands refuse invalid files before running anything."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from sendcast.cli import app


def test_invalid_scenario_exits_2_naming_file_and_key(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\ndescription: y\nlevers:\n  - {kind: magic, start: 2025}\n")
    res = CliRunner().invoke(app, ["scenario", "compare", str(p), "--la", "Norfolk"])
    assert res.exit_code == 2
    assert str(p) in res.output and "levers.0.kind" in res.output


def test_scenario_help_lists_commands() -> None:
    res = CliRunner().invoke(app, ["scenario", "--help"])
    assert res.exit_code == 0
    for cmd in ("run", "compare", "realism", "goal-seek"):
        assert cmd in res.output

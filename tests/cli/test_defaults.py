"""One set of defaults for draws and seed across every command that simulates, and ``--la``
required wherever a scenario is run (no command silently picks a council)."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from sendcast.cli import app
from sendcast.cli_parts.common import DEFAULT_DRAWS, DEFAULT_SEED
from sendcast.model.api import DEFAULT_SEED as MODEL_SEED


def _commands() -> dict[str, Any]:
    group = typer.main.get_command(app)
    out: dict[str, Any] = {}

    def walk(cmd: Any, prefix: str) -> None:
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, f"{prefix} {name}".strip())
        if not getattr(cmd, "commands", None):
            out[prefix] = cmd

    walk(group, "")
    return out


def test_every_simulating_command_has_the_same_draws_and_seed() -> None:
    assert DEFAULT_SEED == MODEL_SEED
    found = {}
    for name, cmd in _commands().items():
        params = {p.name: p for p in cmd.params}
        if "draws" in params:
            found[name] = (params["draws"].default, params["seed"].default)
    assert {"forecast", "backtest", "budget", "scenario run", "scenario compare", "scenario goal-seek"} <= set(found)
    assert set(found.values()) == {(DEFAULT_DRAWS, DEFAULT_SEED)}, found


@pytest.mark.parametrize(
    "args",
    [
        ["scenario", "run", "x.yaml"],
        ["scenario", "compare", "a.yaml", "b.yaml"],
        ["scenario", "realism", "x.yaml"],
        ["scenario", "goal-seek"],
    ],
)
def test_scenarios_need_a_council(args: list[str]) -> None:
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2
    assert "Missing option '--la'" in r.output

"""The README's commands work as pasted after its first two commands: each calls the
virtual environment's ``sendcast`` (the venv is never activated), names a command that exists
with options it accepts, and refers to files that are in the repository."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from sendcast.cli import app

REPO = Path(__file__).resolve().parents[2]


def _commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    lines = text.split("```bash", 2)[2].split("```")[0].splitlines()  # the quick tour (after the two opening ones)
    lines += [ln for ln in text.splitlines() if "sendcast backtest --origins 2015" in ln]
    return [ln.split("  #")[0].strip() for ln in lines if "sendcast" in ln]


def test_the_quick_tour_is_there() -> None:
    assert len(_commands()) >= 10


@pytest.mark.parametrize("line", _commands())
def test_command_works_as_pasted(line: str) -> None:
    words = shlex.split(line)
    assert words[0] == ".venv/bin/sendcast", "the venv is never activated: call .venv/bin/sendcast"
    cmd: Any = typer.main.get_command(app)
    args = words[1:]
    while getattr(cmd, "commands", None) and args and args[0] in cmd.commands:
        cmd = cmd.commands[args.pop(0)]
    assert not getattr(cmd, "commands", None), f"{line}: no such command"
    ctx = cmd.make_context(words[1], list(args))  # raises on an unknown option or a missing one
    for value in ctx.params.values():
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(v, Path) and v.suffix == ".yaml":
                assert (REPO / v).is_file(), f"{line}: {v} is not in the repository"


def test_backtest_needs_nothing_beyond_the_base_install() -> None:
    """The README's first command installs ``.`` (no extras): backtest's default models include
    statsforecast's AutoETS, so statsforecast is a base dependency."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(d.startswith("statsforecast") for d in project["dependencies"])
    opening = (REPO / "README.md").read_text(encoding="utf-8").split("```bash", 2)[1]
    assert ".venv/bin/pip install -q . " in opening

"""The README's commands work as pasted after its first two commands: each calls the
virtual environment's ``sendcast`` (the venv is never activated), names a command that exists
with options it accepts, and refers to files that are in the repository."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from sendcast.cli import app

REPO = Path(__file__).resolve().parents[2]


def _blocks(path: Path) -> list[str]:
    """The shell code blocks of a README (```bash or ```sh), continuation lines joined."""
    text = path.read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", text, flags=re.S)
    return [b.replace("\\\n", " ") for b in blocks]


def _commands() -> list[str]:
    """Every sendcast command documented after the README's two opening ones (and in the
    Norfolk walk-through), without comments or redirections."""
    blocks = _blocks(REPO / "README.md")[1:] + _blocks(REPO / "examples" / "norfolk" / "README.md")
    lines = [ln for b in blocks for ln in b.splitlines()]
    out = []
    for ln in lines:
        ln = ln.split("  #")[0].split(" > ")[0].strip()
        if "sendcast" in ln.split(" ")[0]:
            out.append(ln)
    return out


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

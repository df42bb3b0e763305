"""Synthetic SEN2 returns for the person-level tests (generated into tmp folders, never committed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sendcast.personlevel.synth import Simulation, write_synthetic


@pytest.fixture(autouse=True)
def _key_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Generated keys go to a test folder, never the user's ~/.config."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture(scope="module")
def defective(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Simulation]:
    """Three years of a small council, with seeded defects in the last return."""
    d = tmp_path_factory.mktemp("defective")
    return d, write_synthetic(d, people=600, years=3, seed=11, defects=True)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Simulation]:
    """Three clean years of a small council."""
    d = tmp_path_factory.mktemp("clean")
    return d, write_synthetic(d, people=600, years=3, seed=12, defects=False)


REPO = Path(__file__).resolve().parents[2]
SEN2_SCENARIO = REPO / "examples" / "sen2" / "semh_early_help.yaml"
SMALL = ["--draws", "40", "--horizon", "3", "--seed", "5"]


@pytest.fixture(scope="session")
def norfolk_sen2(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(returns, store): three clean synthetic returns labelled as Norfolk's (LA 926), imported
    with a key made here, so a budget and scenarios can run on them against Norfolk's finances."""
    import secrets

    from sendcast.personlevel.importer import import_returns

    root = tmp_path_factory.mktemp("norfolk_sen2")
    src, store, key = root / "in", root / "store", root / "key"
    write_synthetic(src, people=300, years=3, seed=31, defects=False, la="926")
    key.write_text(secrets.token_hex(32) + "\n")
    import_returns(src, store, key_file=key)
    return src, store


@pytest.fixture(scope="session")
def norfolk_outputs(norfolk_sen2: tuple[Path, Path], embedded_store: object) -> tuple[Path, Path, Path]:
    """(returns, store, out): ``budget --sen2`` and ``scenario run --sen2`` written in every format."""
    from typer.testing import CliRunner

    from sendcast.cli import app

    src, store = norfolk_sen2
    out = store.parent / "out"
    out.mkdir()
    runner = CliRunner()
    calls = [
        ["budget", "Norfolk", "--sen2", str(store), *SMALL, "--out", str(out / f"budget.{ext}")]
        for ext in ("csv", "json", "html", "xlsx", "txt")
    ]
    calls += [
        [
            "scenario",
            "run",
            str(SEN2_SCENARIO),
            "--la",
            "Norfolk",
            "--sen2",
            str(store),
            *SMALL,
            "--out",
            str(out / f"scenario.{ext}"),
        ]
        for ext in ("csv", "json", "html", "txt")
    ]
    for c in calls:
        res = runner.invoke(app, c)
        assert res.exit_code == 0, (c, res.output)
    return src, store, out

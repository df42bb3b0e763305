"""``scenario run/compare/realism --out`` write a ``<out>.meta.json`` run record beside the
output, naming every scenario file read with its SHA-256 (synthetic councils, no real data)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import sendcast.cli_parts.scenario as scenario_cli
from sendcast.cli import app
from sendcast.scenarios.compare import Context

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "money"))
from money_fixtures import synthetic_inputs  # noqa: E402

AGREEMENT = Path(__file__).resolve().parents[2] / "examples" / "norfolk" / "agreement.yaml"

SPEND = """\
name: Extra spend
description: A made-up running cost of 1m a year from 2024-25.
levers:
  - {kind: running_cost, gbp_per_year: 1000000, start: 2024}
"""
CUT = """\
name: Fewer new plans
description: A made-up 10% cut in new plans from 2024.
levers:
  - {kind: incidence, change_percent: -10, start: 2024, ramp: 2}
"""


@pytest.fixture
def synthetic(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's council and money come from the synthetic fixtures, not the store."""

    def money(agreement: Path | None, la_code: str | None = None) -> tuple[Any, Any]:
        from sendcast.money.agreements import load_agreement

        return synthetic_inputs(), load_agreement(agreement) if agreement else None

    monkeypatch.setattr(scenario_cli, "_context", lambda la, origin, horizon, draws: ctx)
    monkeypatch.setattr(scenario_cli, "_money", money)


def _sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_run_writes_metadata_with_scenario_hash(synthetic: None, tmp_path: Path) -> None:
    sc = _write(tmp_path, "spend.yaml", SPEND)
    out = tmp_path / "run.csv"
    args = ["scenario", "run", str(sc), "--la", "Synthetic", "--draws", "20", "--seed", "7", "--format", "csv"]
    res = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.is_file()
    meta = json.loads(Path(f"{out}.meta.json").read_text())
    assert f"wrote {out}.meta.json" in res.output
    assert meta["command"] == "scenario run"
    s = meta["settings"]
    assert (s["la"], s["draws"], s["seed"], s["horizon"], s["format"]) == ("Synthetic", 20, 7, 6, "csv")
    assert s["scenarios"] == ["baseline", "Extra spend"]  # the built-in baseline has no file
    assert meta["scenario_files"] == [{"path": str(sc.resolve()), "sha256": _sha256(sc), "name": "Extra spend"}]
    # the usual run record: parameter hashes (the realism thresholds included) and version
    assert "scenarios/realism.yaml" in meta["parameter_files"]
    assert meta["sendcast_version"]


def test_compare_records_every_file_in_order_and_the_agreement(synthetic: None, tmp_path: Path) -> None:
    a = _write(tmp_path, "spend.yaml", SPEND)
    b = _write(tmp_path, "cut.yaml", CUT)
    out = tmp_path / "cmp.json"
    args = ["scenario", "compare", str(a), str(b), "--la", "Synthetic", "--draws", "20", "--format", "json"]
    args += ["--out", str(out)]
    res = CliRunner().invoke(app, [*args, "--agreement", str(AGREEMENT)])
    assert res.exit_code == 0, res.output
    meta = json.loads(Path(f"{out}.meta.json").read_text())
    assert meta["command"] == "scenario compare"
    assert [f["name"] for f in meta["scenario_files"]] == ["Extra spend", "Fewer new plans"]
    assert [f["sha256"] for f in meta["scenario_files"]] == [_sha256(a), _sha256(b)]
    assert meta["settings"]["agreement"] == str(AGREEMENT)
    assert meta["parameter_files"][str(AGREEMENT)] == _sha256(AGREEMENT)
    # a different file gives a different hash: the record tells edited scenarios apart
    assert meta["scenario_files"][0]["sha256"] != meta["scenario_files"][1]["sha256"]


def test_no_out_no_metadata(synthetic: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    sc = _write(tmp_path, "spend.yaml", SPEND)
    res = CliRunner().invoke(app, ["scenario", "run", str(sc), "--la", "Synthetic", "--draws", "20", "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert not list(tmp_path.glob("*.meta.json"))


def _realism_data(monkeypatch: pytest.MonkeyPatch) -> None:
    # two made-up councils, 2015-2017, 100 plans and 10,000 aged 0-25 each year
    rows = [
        (c, f"Council {c}", y, pt, m, v)
        for c in ("A", "B")
        for y in (2015, 2016, 2017)
        for pt, m, v in (("january", "ehcp_total", 100), ("calendar_year", "new_plans", 10))
    ]
    data = SimpleNamespace(
        series=pd.DataFrame(rows, columns=["la_code", "la_name", "year", "period_type", "measure", "value"]),
        population=pd.DataFrame(
            [(c, y, 10, 10_000.0) for c in ("A", "B") for y in (2015, 2016, 2017)],
            columns=["la_code", "year", "age", "population"],
        ),
        neighbours={},
    )
    from sendcast.model import api

    monkeypatch.setattr(api, "model_data", lambda: data)
    monkeypatch.setattr(api, "resolve_council", lambda la, d: ("A", "Council A"))


def test_realism_out_writes_metadata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _realism_data(monkeypatch)
    sc = _write(tmp_path, "cut.yaml", CUT)
    out = tmp_path / "realism.csv"
    res = CliRunner().invoke(app, ["scenario", "realism", str(sc), "--la", "A", "--format", "csv", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "incidence" in out.read_text()
    meta = json.loads(Path(f"{out}.meta.json").read_text())
    assert meta["command"] == "scenario realism"
    assert meta["settings"] == {"la": "A", "la_code": "A", "format": "csv"}
    assert meta["scenario_files"] == [{"path": str(sc.resolve()), "sha256": _sha256(sc), "name": "Fewer new plans"}]


def test_realism_table_goes_to_out_and_an_unknown_format_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _realism_data(monkeypatch)
    sc = _write(tmp_path, "cut.yaml", CUT)
    out = tmp_path / "realism.txt"
    res = CliRunner().invoke(app, ["scenario", "realism", str(sc), "--la", "A", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_text().startswith("- incidence")
    assert Path(f"{out}.meta.json").is_file()
    res = CliRunner().invoke(app, ["scenario", "realism", str(sc), "--la", "A", "--format", "xyz"])
    assert res.exit_code == 2
    assert "--format must be table, csv or json" in res.output

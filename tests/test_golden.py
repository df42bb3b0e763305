"""Golden file of headline outputs (regression guard, not a forecast to quote).

Refresh after a deliberate change with: ``python scripts/refresh_golden.py`` and explain the
change in the commit message.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden" / "headline.json"


@pytest.mark.usefixtures("embedded_store")
def test_headline_outputs_match_golden_file() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "refresh_golden", Path(__file__).parents[1] / "scripts" / "refresh_golden.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    golden = json.loads(GOLDEN.read_text())
    now = mod.headline()
    tol = golden["tolerance_relative"]
    for key, expected in golden["values"].items():
        assert key in now, key
        assert now[key] == pytest.approx(expected, rel=tol), key

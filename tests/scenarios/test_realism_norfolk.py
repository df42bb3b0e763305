"""Norfolk's Local First Inclusion against the published record (the embedded store)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sendcast.scenarios.realism import Assessment, assess
from sendcast.scenarios.schema import load_scenario
from sendcast.store import Store

LFI = Path(__file__).resolve().parents[2] / "examples" / "norfolk" / "scenarios" / "local_first_inclusion.yaml"


@pytest.fixture(scope="module")
def lfi(embedded_store: Store) -> Assessment:
    return assess(load_scenario(LFI), "Norfolk")


def test_rare_promises_are_not_within_experience(lfi: Assessment) -> None:
    t = lfi.table[lfi.table["verdict"] != "not assessed"]
    assert len(t) >= 6
    for _, r in t.iterrows():
        if r["base_rate"] < 0.10:
            assert r["verdict"] != "within experience", r["lever"]
        else:
            assert r["verdict"] == "within experience", r["lever"]
    # the plan as a whole (fewer new plans and far fewer independent placements at once) is rare
    whole = t[t["kind"] == "plan"].iloc[0]
    assert whole["base_rate"] < 0.10 and whole["verdict"] in ("ambitious", "unprecedented")
    # Norfolk is never in its own pool
    assert all("Norfolk (" not in e.split("Norfolk's own record")[0] for e in t["evidence"])


def test_evidence_names_councils_and_years_in_full(lfi: Assessment) -> None:
    held = lfi.table[(lfi.table["achieved_and_held"] > 0) & (lfi.table["kind"] != "plan")]
    assert len(held) > 0
    for e in held["evidence"]:
        assert re.search(r"Achieved and held: [A-Z][^;(]+ \(\d{4}-\d{4}", e)
        assert " ..." not in e and "City of ." not in e  # never cut mid-name
        assert re.search(r"in \d+ of [\d,]+ council-windows starting \d{4}-\d{4}", e)

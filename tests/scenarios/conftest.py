"""Synthetic councils fitted once for the scenario tests (no real data needed)."""

from __future__ import annotations

import pytest

from sendcast.model.synthetic import synthetic_histories
from sendcast.scenarios.compare import Context, context_from_histories

CODE = "E10000020"  # the money fixtures' council code, given to one synthetic council


@pytest.fixture(scope="session")
def ctx() -> Context:
    h = synthetic_histories(6, origin=2023)
    first = sorted(h)[2]
    council = h.pop(first)
    council.la_code = CODE
    h[CODE] = council
    return context_from_histories(h, CODE, horizon=6)

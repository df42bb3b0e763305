"""Fixtures for the money tests; synthetic inputs are in money_fixtures.py."""

from __future__ import annotations

import pytest

from sendcast.parameters import Parameter, load_parameters


@pytest.fixture(scope="session")
def params() -> dict[str, Parameter]:
    """The shipped parameter tree."""
    return load_parameters()

"""Fixtures for the web tests: one app over the embedded store, with few draws (fast)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

TEST_DRAWS = 60


@pytest.fixture(scope="session")
def services(embedded_store):  # type: ignore[no-untyped-def]
    from sendcast.web.services import Services

    svc = Services(embedded_store.path, page_draws=TEST_DRAWS, map_draws=20)
    yield svc
    svc.close()


@pytest.fixture(scope="session")
def client(services) -> Iterator[object]:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from sendcast.web.app import create_app

    with TestClient(create_app(services), raise_server_exceptions=False) as c:
        yield c

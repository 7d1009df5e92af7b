"""Fixtures of the app-functions area: a small city with unique ids per test, and the Chalice client."""

from __future__ import annotations

import pytest

from app_helpers import CityBuilder


@pytest.fixture
def city(moto_server, protector) -> CityBuilder:
    return CityBuilder(protector)


@pytest.fixture(scope="session")
def chalice_app(moto_server):
    from app import app

    return app


@pytest.fixture
def client(chalice_app):
    from chalice.test import Client

    with Client(chalice_app) as test_client:
        yield test_client

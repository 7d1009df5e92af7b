"""Fixtures of the app-functions area: a small city with unique ids per test, and the Chalice client."""

from __future__ import annotations

import pytest
from app_helpers import CityBuilder


@pytest.fixture
def city(moto_server, protector) -> CityBuilder:
    return CityBuilder(protector)

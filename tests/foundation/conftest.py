"""Fixtures of the foundation area: small synthetic cities, and an emulator seeded with one."""

from __future__ import annotations

import urllib.request

import pytest

from gridgate import clock

#: The cities' "today": the city's (local) one, so their events are inside the retention period.
TODAY = clock.today()


def reset_emulator(moto_server) -> None:
    """Empty moto (tables and bucket) and create every table and the bucket again."""
    from gridgate.adapters.provisioning import provision
    from gridgate.config import get_settings

    urllib.request.urlopen(urllib.request.Request(f"{moto_server.url}/moto-api/reset", method="POST")).close()
    provision(get_settings())


@pytest.fixture(scope="session")
def small_city():
    from local_emulator.synthetic_city import build_city

    return build_city(600, seed=3, history_days=2, today=TODAY)


@pytest.fixture(scope="module")
def seeded(moto_server, small_city):
    """A fresh emulator holding `small_city` (loaded the way the demo loads it), on a clock at
    09:00 of the city's today: every event partition of the history is a finished UTC day, so
    the table holds the last 800 events of the last one (test_seeding covers an open day)."""
    from datetime import timedelta

    from gridgate.config import get_settings
    from local_emulator.city_loader import load_into_dynamodb

    with clock.pinned(clock.running_from(small_city.now + timedelta(hours=9))):
        reset_emulator(moto_server)
        report = load_into_dynamodb(small_city, get_settings(), max_table_events=800)
        yield small_city, report

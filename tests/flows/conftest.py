"""Fixtures of the flows area: one Prefect test server for the whole session.

Pure computations are tested on hand-built frames (`tiny_city`) and need neither Prefect nor
the emulator; flow tests take `prefect_server` plus the root conftest's moto fixtures.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from gridgate import clock

# The tests' helper modules (tiny_city) are imported by name from this folder.
sys.path.insert(0, str(Path(__file__).parent))


@dataclass(frozen=True)
class NightlyRun:
    """A synthetic city in the emulator after one run of the three nightly flows."""

    city: object  # local_emulator.synthetic_city.City
    day: date
    summary: dict
    report_dir: Path


#: Big enough for two grids, two estates and every planted case (seed 8), small enough for moto.
CITY_PERSONS, CITY_SEED = 1200, 8


def reset_emulator(moto_server) -> None:
    """Empty moto (tables and bucket) and provision again: this module's city only."""
    import urllib.request

    from gridgate.adapters.provisioning import provision
    from gridgate.config import get_settings

    urllib.request.urlopen(urllib.request.Request(f"{moto_server.url}/moto-api/reset", method="POST")).close()
    provision(get_settings())


#: The nights the flow tests run at, on a clock running from these instants: one minute either
#: side of local midnight at the year end (23:59 on 12-31 and 00:01 on 01-01 in Nanjing, both
#: still 12-31 in UTC), so a UTC date taken for a local one shows up as a missed case.
NIGHTS = [datetime(2026, 12, 31, 15, 59, tzinfo=UTC), datetime(2026, 12, 31, 16, 1, tzinfo=UTC)]


def approve_correction_tracking(person_ids, today) -> None:
    """Correction alerts run only under an approval (issue 18): the planted night movers get one
    covering the run's days, as a correction officer would have recorded it."""
    from gridgate.adapters.compliance_records import CorrectionApprovalRepository
    from gridgate.domain.legal_records import CorrectionApproval

    repository = CorrectionApprovalRepository()
    for person_id in person_ids:
        repository.add(
            CorrectionApproval(
                person_id,
                f"case-{person_id}",
                "officer-test",
                today - timedelta(days=30),
                today + timedelta(days=30),
                clock.now(),
            )
        )


@pytest.fixture(scope="module", params=NIGHTS, ids=lambda at: at.strftime("%m%d-%H%MZ"))
def nightly(request, moto_server, prefect_server, tmp_path_factory) -> Iterator[NightlyRun]:
    """A fresh emulator with a synthetic city (8 days of history), then `run_nightly` once; the
    module's tests run on the same clock."""
    from flows.run_all import run_nightly
    from gridgate.config import get_settings
    from local_emulator.city_loader import load_into_dynamodb
    from local_emulator.synthetic_city import build_city

    with clock.pinned(clock.running_from(request.param)):
        reset_emulator(moto_server)
        today = clock.today()
        city = build_city(CITY_PERSONS, seed=CITY_SEED, history_days=8)
        assert city.today == today
        load_into_dynamodb(city, get_settings(), max_table_events=500)
        approve_correction_tracking(city.truth["night_movement"], today)
        report_dir = tmp_path_factory.mktemp("reports")
        day = today - timedelta(days=1)
        yield NightlyRun(city, day, run_nightly(day=day, report_dir=report_dir), report_dir)

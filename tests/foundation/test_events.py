"""Access events: stored exactly once, spread over write shards, expired by TTL, read back in order."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta

from gridgate import clock
from gridgate.adapters.events import EventRepository, event_shard, event_to_item
from gridgate.adapters.tables import AccessEventTable
from gridgate.config import get_settings
from gridgate.domain.model import (
    AccessEvent,
    AccessMethod,
    Direction,
    Outcome,
    Registry,
)


def _event(estate: str, at: datetime, n: int, person: str | None = "P-ev-1", **changes) -> AccessEvent:
    values = dict(
        event_id=f"{estate}-G1:{n:06d}",
        gate_id=f"{estate}-G1",
        estate_id=estate,
        direction=Direction.IN,
        occurred_at=at,
        method=AccessMethod.FACE,
        outcome=Outcome.OPEN,
        reason="resident_right",
        person_id=person,
        home_id=f"{estate}-B01-U1-0101",
        registry=Registry.APP,
        score=0.31,
        right="owner",
    )
    values.update(changes)
    return AccessEvent(**values)


def test_a_retried_upload_is_stored_once(moto_server):
    repo = EventRepository()
    estate = f"E-{uuid.uuid4().hex[:8]}"
    at = clock.now().replace(microsecond=250_000)
    event = _event(estate, at, 1)
    assert repo.append(event) is True
    assert repo.append(event) is False  # the retry
    assert repo.append(_event(estate, at, 1, reason="changed on the way")) is False  # same id and time
    stored = repo.for_estate_day(estate, at.date())
    assert stored == [event]


def test_shards_are_stable_and_spread_an_estate_day(moto_server):
    settings = get_settings()
    assert event_shard("E00001-G1:20261124-000001", 8) == event_shard("E00001-G1:20261124-000001", 8)
    shards = Counter(event_shard(f"E00001-G1:20261124-{n:06d}", settings.event_write_shards) for n in range(4000))
    assert set(shards) == set(range(settings.event_write_shards))
    assert max(shards.values()) < 1.2 * 4000 / settings.event_write_shards  # no shard takes much more than its share
    # a morning peak of one estate lands on every shard key, in time order on read
    repo = EventRepository()
    estate = f"E-{uuid.uuid4().hex[:8]}"
    start = clock.now().replace(hour=0, minute=5, microsecond=0)
    events = [_event(estate, start + timedelta(seconds=7 * n), n, person=f"P-peak-{n % 9}") for n in range(120)]
    for event in events:
        assert repo.append(event)
    keys = {item.pk for item in AccessEventTable.scan(AccessEventTable.estate_id == estate)}
    assert keys == {f"{estate}#{start.date()}#{s}" for s in range(settings.event_write_shards)}
    assert repo.for_estate_day(estate, start.date()) == events


def test_reads_by_person_since_and_drop_expired_events(moto_server):
    repo = EventRepository()
    estate = f"E-{uuid.uuid4().hex[:8]}"
    person = f"P-{uuid.uuid4().hex[:8]}"
    now = clock.now()
    recent = [_event(estate, now - timedelta(hours=h), h, person=person) for h in (30, 5, 1)]
    for event in recent:
        repo.append(event)
    retention = get_settings().event_retention_days
    old = _event(estate, now - timedelta(days=retention + 2), 99, person=person)
    repo.append(old)  # stored (moto never runs TTL) but past its expiry
    assert AccessEventTable.count(event_to_item(old, get_settings()).pk) == 1
    assert repo.for_person(person, now - timedelta(days=retention + 5)) == sorted(recent, key=lambda e: e.occurred_at)
    assert repo.for_person(person, now - timedelta(hours=6)) == [recent[1], recent[2]]
    assert repo.for_estate_day(estate, old.occurred_at.date()) == []
    item = event_to_item(recent[0], get_settings())
    assert item.expires_at == (recent[0].occurred_at + timedelta(days=retention)).replace(microsecond=0)


def test_unidentified_passages_stay_out_of_the_person_index(moto_server):
    repo = EventRepository()
    estate = f"E-{uuid.uuid4().hex[:8]}"
    at = clock.now()
    stranger = _event(
        estate,
        at,
        5,
        person=None,
        outcome=Outcome.DENY,
        reason="face_not_matched",
        registry=None,
        score=None,
        right=None,
        home_id=None,
    )
    assert repo.append(stranger)
    assert repo.for_estate_day(estate, at.date()) == [stranger]
    assert not [i for i in AccessEventTable.by_person.scan() if i.estate_id == estate]

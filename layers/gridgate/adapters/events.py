"""Access events: an append-only, write-sharded, TTL-expired log of every passage through a gate.

Keys (see `AccessEventTable` and docs/data-model.md):

* ``pk = "<estate>#<yyyy-mm-dd>#<shard>"``: one estate-day is spread over
  ``settings.event_write_shards`` partitions, so an estate's morning peak never lands on one
  partition. The shard is ``crc32(event_id) mod shards``, a stable function of the event id,
  so a retried upload of the same event computes the very same key.
* ``sk = "<occurred_at iso>#<event_id>"``: events of a partition come back in time order.

`append` is a conditional put (``attribute_not_exists(pk)``): the first upload of an event
wins and any retry is reported as a duplicate instead of being written twice. Days are UTC
days. ``expires_at`` (DynamoDB TTL) is ``occurred_at + settings.event_retention_days``;
DynamoDB deletes expired items lazily (and moto never does), so every read filters them too.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

from pynamodb.exceptions import PutError

from gridgate import clock
from gridgate.adapters.tables import AccessEventTable
from gridgate.config import Settings, get_settings
from gridgate.domain.model import (
    AccessEvent,
    AccessMethod,
    Direction,
    Outcome,
    Registry,
)

_CONDITION_FAILED = "ConditionalCheckFailedException"


def event_shard(event_id: str, shards: int) -> int:
    """The write shard of an event: stable across processes and retries (crc32, not `hash`)."""
    return zlib.crc32(event_id.encode("utf-8")) % shards


def partition_key(estate_id: str, day: date, shard: int) -> str:
    return f"{estate_id}#{day.isoformat()}#{shard}"


def sort_key(occurred_at: datetime, event_id: str) -> str:
    return f"{_iso(occurred_at)}#{event_id}"


def _iso(moment: datetime) -> str:
    """Fixed-width UTC ISO time (always with microseconds), so sort keys order by time."""
    return _utc(moment).isoformat(timespec="microseconds")


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("access events need timezone-aware times")
    return moment.astimezone(UTC)


def event_to_item(event: AccessEvent, settings: Settings) -> AccessEventTable:
    occurred_at = _utc(event.occurred_at)
    shard = event_shard(event.event_id, settings.event_write_shards)
    return AccessEventTable(
        pk=partition_key(event.estate_id, occurred_at.date(), shard),
        sk=sort_key(occurred_at, event.event_id),
        event_id=event.event_id,
        gate_id=event.gate_id,
        estate_id=event.estate_id,
        direction=event.direction.value,
        occurred_at=occurred_at,
        method=event.method.value,
        outcome=event.outcome.value,
        reason=event.reason,
        person_id=event.person_id,
        pass_id=event.pass_id,
        home_id=event.home_id,
        registry=event.registry.value if event.registry else None,
        score=event.score,
        right=event.right,
        expires_at=occurred_at + timedelta(days=settings.event_retention_days),
    )


def event_from_item(item: AccessEventTable) -> AccessEvent:
    return AccessEvent(
        event_id=item.event_id,
        gate_id=item.gate_id,
        estate_id=item.estate_id,
        direction=Direction(item.direction),
        occurred_at=item.occurred_at,
        method=AccessMethod(item.method),
        outcome=Outcome(item.outcome),
        reason=item.reason,
        person_id=item.person_id,
        pass_id=item.pass_id,
        home_id=item.home_id,
        registry=Registry(item.registry) if item.registry else None,
        score=float(item.score) if item.score is not None else None,
        right=item.right,
    )


class EventRepository:
    """Writes and key-based reads of access events. Flows read events in bulk from the Parquet
    export (`gridgate.adapters.parquet_exports.read_events`), never through this class."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings or get_settings()

    def append(self, event: AccessEvent) -> bool:
        """Store `event` once. False when the same event (id and time) was already stored."""
        try:
            event_to_item(event, self._settings).save(condition=AccessEventTable.pk.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code == _CONDITION_FAILED:
                return False
            raise
        return True

    def get(self, estate_id: str, occurred_at: datetime, event_id: str) -> AccessEvent | None:
        """The stored event with this id and time (a retried device event computes the same key).

        A strongly consistent read: the gate asks it to answer a retry with the stored decision.
        """
        occurred_at = _utc(occurred_at)
        shard = event_shard(event_id, self._settings.event_write_shards)
        try:
            item = AccessEventTable.get(
                partition_key(estate_id, occurred_at.date(), shard),
                sort_key(occurred_at, event_id),
                consistent_read=True,
            )
        except AccessEventTable.DoesNotExist:
            return None
        return event_from_item(item)

    def for_estate_day(self, estate_id: str, day: date) -> list[AccessEvent]:
        """All live events of one estate on one UTC day, in time order (one query per shard)."""
        shards = range(self._settings.event_write_shards)
        with ThreadPoolExecutor(max_workers=min(8, len(shards))) as pool:
            parts = pool.map(lambda shard: list(AccessEventTable.query(partition_key(estate_id, day, shard))), shards)
            items = [item for part in parts for item in part]
        return self._live_in_order(items)

    def for_person(self, person_id: str, since: datetime) -> list[AccessEvent]:
        """A person's live events since `since`, in time order (the by_person index)."""
        items = AccessEventTable.by_person.query(person_id, AccessEventTable.sk >= _iso(since))
        return self._live_in_order(items)

    @staticmethod
    def _live_in_order(items: Iterable[AccessEventTable]) -> list[AccessEvent]:
        now = clock.now()
        live = [item for item in items if item.expires_at is None or item.expires_at > now]
        live.sort(key=lambda item: item.sk)
        return [event_from_item(item) for item in live]

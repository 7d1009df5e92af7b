"""Reads of access events by time window, for the epidemic flow queries (`gridgate.public_health`).

The same two access patterns the table already serves (docs/data-model.md #29 and #30), narrowed
to a window by the sort key, so no index is added: an estate's passages between two instants are
one range query per write shard and UTC day of the window (``pk = <estate>#<day>#<shard>``,
``sk`` between the window's ends); a person's are one range query on the ``by_person`` index.
Items past their retention are dropped as every read does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

from gridgate.adapters.events import EventRepository, partition_key, sort_key
from gridgate.adapters.tables import AccessEventTable
from gridgate.domain.model import AccessEvent


def _utc_days(start: datetime, end: datetime) -> list:
    first, last = start.astimezone(UTC).date(), (end - timedelta(microseconds=1)).astimezone(UTC).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


class FlowEventReader(EventRepository):
    def at_estate(self, estate_id: str, start: datetime, end: datetime) -> list[AccessEvent]:
        """The estate's live events in [start, end), in time order."""
        low, high = sort_key(start, ""), sort_key(end, "")
        shards = range(self._settings.event_write_shards)
        items = [
            item
            for day, shard in product(_utc_days(start, end), shards)
            for item in AccessEventTable.query(
                partition_key(estate_id, day, shard), AccessEventTable.sk.between(low, high)
            )
        ]
        return [e for e in self._live_in_order(items) if start <= e.occurred_at < end]

    def of_person(self, person_id: str, start: datetime, end: datetime) -> list[AccessEvent]:
        """The person's live events in [start, end), in time order (the by_person index)."""
        items = AccessEventTable.by_person.query(
            person_id, AccessEventTable.sk.between(sort_key(start, ""), sort_key(end, ""))
        )
        return [e for e in self._live_in_order(items) if start <= e.occurred_at < end]

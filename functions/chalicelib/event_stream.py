"""Deployed delivery of events out: the access-events table's DynamoDB stream, and a retry schedule.

Why a stream: the gate's write path stays what it is (one conditional put per event, no second
write and no network call to a subscriber inside a decision); DynamoDB hands every new item to
this function in order per partition, retries a failed batch, and keeps records for 24 h, so an
outage of this function delays deliveries instead of losing them. Both handlers are in the API's
zip (serverless.yml: functions ``events`` and ``webhookRetries``).

- `handle`: stream batch -> `EventDelivery.accept` (queue per subscriber, first attempt now).
  Only INSERTs: events are append-only, and a TTL removal is not an event.
- `retry`: every minute -> `EventDelivery.retry_due` (backoff passed), dead letters after the last.
"""

from __future__ import annotations

from functools import lru_cache

from chalicelib.logs import logger
from gridgate.adapters.events import event_from_item
from gridgate.adapters.tables import AccessEventTable
from gridgate.events_out.event_delivery import EventDelivery
from gridgate.security.identifiers import IdentifierProtector
from gridgate.security.keyring import get_keyring


@lru_cache(maxsize=1)
def _delivery() -> EventDelivery:
    return EventDelivery(IdentifierProtector(get_keyring()))


def events_of(records: list[dict]) -> list:
    """The access events a stream batch inserted (DynamoDB-JSON ``NewImage`` -> `AccessEvent`)."""
    events = []
    for record in records:
        if record.get("eventName") != "INSERT":
            continue
        item = AccessEventTable.from_raw_data(record["dynamodb"]["NewImage"])
        events.append(event_from_item(item))
    return events


@logger.inject_lambda_context(clear_state=True)
def handle(event: dict, context) -> dict:
    counts = _delivery().accept(events_of(event.get("Records", [])))
    logger.info("stream batch delivered", extra=vars(counts))
    return vars(counts)


@logger.inject_lambda_context(clear_state=True)
def retry(event: dict, context) -> dict:
    counts = _delivery().retry_due()
    logger.info("webhook retries", extra=vars(counts))
    return vars(counts)

"""Subscriptions to gridgate's events (access events, findings, alerts) and the record of every delivery (pending, delivered, dead).

A delivery record is keyed (subscription, event id) and created with a conditional put, so an
event is handed to a subscriber's queue once however often the stream or the local job sees it;
its status then moves pending -> delivered, or pending -> (retries) -> dead_letter. Records expire
after ``webhook_record_days`` (TTL); a dead letter keeps the payload it could not deliver.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import PutError

from gridgate import clock
from gridgate.adapters.tables import EventDeliveryTable, EventSubscriptionTable, GateTable
from gridgate.config import Settings, get_settings
from gridgate.security.identifiers import IdentifierProtector

_CONDITION_FAILED = "ConditionalCheckFailedException"
#: `next_attempt_at` of a record no attempt is due for (delivered, dead): sorts before any time.
NOT_DUE = "-"


@dataclass(frozen=True)
class Subscription:
    subscription_id: str
    owner: str
    scope: str  # estates / grids / civil_affairs / justice / city (`events_out.event_scope`)
    place_ids: frozenset[str]  # the scope's estates, grids or districts (city: empty for all)
    kinds: frozenset[str]  # access / finding / alert
    url: str
    description: str
    created_at: datetime


@dataclass(frozen=True)
class Delivery:
    subscription_id: str
    event_id: str
    status: str
    attempts: int
    payload: str
    last_error: str | None


def _secret_context(subscription_id: str) -> str:
    return f"event_subscriptions#{subscription_id}#secret"


class SubscriptionRepository:
    def __init__(self, protector: IdentifierProtector) -> None:
        self._protector = protector

    def create(self, subscription: Subscription, secret: str) -> None:
        EventSubscriptionTable(
            subscription_id=subscription.subscription_id,
            owner=subscription.owner,
            scope=subscription.scope,
            place_ids=set(subscription.place_ids) or None,
            kinds=set(subscription.kinds),
            url=subscription.url,
            secret_enc=self._protector.encrypt(secret, context=_secret_context(subscription.subscription_id)),
            description=subscription.description,
            status="active",
            created_at=subscription.created_at,
        ).save(condition=EventSubscriptionTable.subscription_id.does_not_exist())

    def owned_by(self, owner: str) -> list[Subscription]:
        return [_subscription(i) for i in EventSubscriptionTable.by_owner.query(owner) if i.status == "active"]

    def get(self, subscription_id: str) -> Subscription | None:
        try:
            item = EventSubscriptionTable.get(subscription_id)
        except EventSubscriptionTable.DoesNotExist:
            return None
        return _subscription(item) if item.status == "active" else None

    def delete(self, subscription_id: str) -> None:
        """Stop deliveries; the record stays (who subscribed to what is part of the audit trail)."""
        EventSubscriptionTable(subscription_id=subscription_id).update(
            actions=[EventSubscriptionTable.status.set("deleted")]
        )

    def active(self) -> list[Subscription]:
        """Every active subscription: a handful per city, read once per batch of events."""
        return [_subscription(i) for i in EventSubscriptionTable.scan() if i.status == "active"]

    def secret(self, subscription_id: str) -> str:
        item = EventSubscriptionTable.get(subscription_id)
        return self._protector.decrypt(item.secret_enc, context=_secret_context(subscription_id))


def gated_estate_ids() -> set[str]:
    """Every estate with a gate: the estates a city-wide subscription's events can come from."""
    return {gate.estate_id for gate in GateTable.scan(attributes_to_get=["estate_id"])}


def _subscription(item: EventSubscriptionTable) -> Subscription:
    return Subscription(
        subscription_id=item.subscription_id,
        owner=item.owner,
        scope=item.scope,
        place_ids=frozenset(item.place_ids or ()),
        kinds=frozenset(item.kinds or {"access"}),
        url=item.url,
        description=item.description,
        created_at=item.created_at,
    )


class DeliveryRepository:
    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings or get_settings()

    def enqueue(self, subscription_id: str, event_id: str, payload: str) -> bool:
        """A new pending delivery, due now; False if this event was already queued for this subscriber."""
        now = clock.now()
        try:
            EventDeliveryTable(
                subscription_id=subscription_id,
                event_id=event_id,
                status="pending",
                attempts=0,
                next_attempt_at=_iso(now),
                payload=payload,
                updated_at=now,
                expires_at=now + timedelta(days=self._settings.webhook_record_days),
            ).save(condition=EventDeliveryTable.event_id.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code == _CONDITION_FAILED:
                return False
            raise
        return True

    def record_attempt(
        self, delivery: Delivery, status: str, next_attempt_at: datetime | None, error: str | None
    ) -> None:
        """After an attempt: delivered, still pending (with when to retry), or dead_letter."""
        EventDeliveryTable(subscription_id=delivery.subscription_id, event_id=delivery.event_id).update(
            actions=[
                EventDeliveryTable.status.set(status),
                EventDeliveryTable.attempts.set(delivery.attempts + 1),
                EventDeliveryTable.next_attempt_at.set(_iso(next_attempt_at) if next_attempt_at else NOT_DUE),
                EventDeliveryTable.last_error.set(error) if error else EventDeliveryTable.last_error.remove(),
                EventDeliveryTable.updated_at.set(clock.now()),
            ]
        )

    def due(self, now: datetime) -> list[Delivery]:
        """Pending deliveries whose next attempt is due at `now` (the by_status index)."""
        items = EventDeliveryTable.by_status.query("pending", EventDeliveryTable.next_attempt_at <= _iso(now))
        return [_delivery(i) for i in items]

    def dead_letters(self, subscription_id: str) -> list[Delivery]:
        items = EventDeliveryTable.query(subscription_id, filter_condition=EventDeliveryTable.status == "dead_letter")
        return [_delivery(i) for i in items]


def _delivery(item: EventDeliveryTable) -> Delivery:
    return Delivery(item.subscription_id, item.event_id, item.status, int(item.attempts), item.payload, item.last_error)


def _iso(moment: datetime) -> str:
    """Fixed-width UTC time, so the index orders due times as times."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")

"""Events out, by signed webhook: at least once, retried with exponential backoff, a dead letter
after the last attempt (docs/events-out.md).

`accept(events)` is what the access-events table's stream feeds (deployed: `chalicelib.event_stream`;
locally: `deliver_recent`, a job over the new events); `accept_findings(findings)` is what the
nightly flows call once they stored their findings and key-group alerts. For every active
subscription whose scope may receive that kind (`Scope.may_receive`) and covers its place, it
queues one delivery record (a conditional put: an event or a finding seen twice, by a retried
stream batch or a re-run flow, is queued once), and makes the first attempt at once. `retry_due()` (deployed: every
minute) re-attempts the pending deliveries whose backoff has passed. An attempt is an HTTPS POST
of the scope-reduced JSON, signed (`gridgate.security.webhook_signatures`); a 2xx answer delivers
it, anything else (status, timeout, refused connection) schedules the next attempt
``backoff * 2**(attempt-1)`` later, until ``webhook_max_attempts`` have failed: then the record
becomes a dead letter that keeps the payload, and a ``WebhookDeadLetters`` metric is emitted.

At least once, not exactly once: a receiver that answered 2xx but whose answer was lost gets the
same event again; the ``id`` in the body and the ``Gridgate-Event-Id`` header are the event's own
id (a finding's: its deterministic finding id), so receivers de-duplicate on it. Every attempt,
the first and each retry, checks again that the subscription's scope may receive what the record
holds, under the rules in force: a record its scope may no longer have becomes a dead letter
without being sent.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from gridgate import clock
from gridgate.adapters.event_outbox import (
    Delivery,
    DeliveryRepository,
    Subscription,
    SubscriptionRepository,
    gated_estate_ids,
)
from gridgate.adapters.ops_metrics import count
from gridgate.config import Settings, get_settings
from gridgate.domain.model import AccessEvent, Finding
from gridgate.events_out.event_scope import ACCESS, ALERT, CITY, FINDING, Scope, event_record, kind_of_finding
from gridgate.events_out.finding_records import EVENT_TYPES, finding_record, places_of
from gridgate.i18n import DEFAULT_LOCALE, translator
from gridgate.security.identifiers import IdentifierProtector
from gridgate.security.webhook_signatures import ATTEMPT_HEADER, EVENT_ID_HEADER, SIGNATURE_HEADER, signature_header

logger = logging.getLogger(__name__)

EVENT_TYPE = "access_event.recorded"
#: The kind of what a delivery record holds, from its envelope's ``type``.
KIND_OF_TYPE = {EVENT_TYPE: ACCESS, **{event_type: kind for kind, event_type in EVENT_TYPES.items()}}


def subscription_scope(subscription: Subscription) -> Scope:
    return Scope(subscription.scope, subscription.place_ids, subscription.owner, subscription.kinds)


def envelope(event_id: str, event_type: str, subscription: Subscription, data: dict) -> str:
    """The body a subscriber receives: the stable id, the type, and the scoped record."""
    body = {"id": event_id, "type": event_type, "subscription_id": subscription.subscription_id, "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)


def _allowed(subscription: Subscription, payload: str) -> bool:
    """Whether `subscription` may receive what `payload` holds under the rules in force."""
    body = json.loads(payload)
    kind = KIND_OF_TYPE.get(body.get("type"))
    return kind is not None and subscription_scope(subscription).may_receive(kind, body["data"].get("finding_type"))


@dataclass(frozen=True)
class Attempted:
    ok: bool
    error: str | None = None


def post_json(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Attempted:
    """One HTTP attempt: 2xx is delivered; any other status, a timeout or no connection is not."""
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", **headers}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Attempted(
                200 <= response.status < 300, None if 200 <= response.status < 300 else f"HTTP {response.status}"
            )
    except urllib.error.HTTPError as refused:
        return Attempted(False, f"HTTP {refused.code}")
    except (OSError, ValueError) as failed:  # URLError, timeouts, resets
        return Attempted(False, type(failed).__name__ + ": " + str(failed)[:200])


@dataclass
class DeliveryCounts:
    queued: int = 0
    duplicates: int = 0
    delivered: int = 0
    retrying: int = 0
    dead_letters: int = 0


@dataclass
class EventDelivery:
    protector: IdentifierProtector
    settings: Settings = field(default_factory=get_settings)
    send: Callable[[str, bytes, dict[str, str], float], Attempted] = post_json

    def __post_init__(self) -> None:
        self._subscriptions = SubscriptionRepository(self.protector)
        self._deliveries = DeliveryRepository(self.settings)
        self._zone = ZoneInfo(self.settings.city_timezone)

    def accept(self, events: Iterable[AccessEvent]) -> DeliveryCounts:
        """Queue every event for every subscription that covers it, and attempt the new ones now."""
        counts = DeliveryCounts()
        subscriptions = [s for s in self._subscriptions.active() if subscription_scope(s).may_receive(ACCESS)]
        for event in events:
            for subscription in subscriptions:
                scope = subscription_scope(subscription)
                if scope.covers(event.estate_id):
                    data = event_record(event, scope, self.protector, self._zone)
                    self._offer(
                        subscription, event.event_id, envelope(event.event_id, EVENT_TYPE, subscription, data), counts
                    )
        return counts

    def finding_subscriptions(self) -> list[Subscription]:
        """The active subscriptions that asked for findings or alerts (a flow with none reads nothing)."""
        return [s for s in self._subscriptions.active() if {FINDING, ALERT} & subscription_scope(s).kinds]

    def accept_findings(self, findings: Iterable[Finding]) -> DeliveryCounts:
        """Queue every finding and alert for every subscription whose scope may have it and covers
        its place, and attempt the new ones now. Places are looked up only when someone subscribed."""
        counts = DeliveryCounts()
        subscriptions = self.finding_subscriptions()
        batch = list(findings)
        if not subscriptions or not batch:
            return counts
        places = places_of(batch)
        t = translator(DEFAULT_LOCALE)
        for finding in batch:
            kind, place = kind_of_finding(finding.finding_type), places[finding.finding_id]
            for subscription in subscriptions:
                scope = subscription_scope(subscription)
                if scope.may_receive(kind, finding.finding_type) and scope.covers_place(place):
                    data = finding_record(finding, place, scope, self.protector, t, self._zone)
                    body = envelope(finding.finding_id, EVENT_TYPES[kind], subscription, data)
                    self._offer(subscription, finding.finding_id, body, counts)
        return counts

    def _offer(self, subscription: Subscription, event_id: str, payload: str, counts: DeliveryCounts) -> None:
        """Queue one delivery (once per subscriber and id) and make its first attempt."""
        if not self._deliveries.enqueue(subscription.subscription_id, event_id, payload):
            counts.duplicates += 1
            return
        counts.queued += 1
        self._attempt(Delivery(subscription.subscription_id, event_id, "pending", 0, payload, None), counts)

    def retry_due(self) -> DeliveryCounts:
        counts = DeliveryCounts()
        for delivery in self._deliveries.due(clock.now()):
            self._attempt(delivery, counts)
        return counts

    def _attempt(self, delivery: Delivery, counts: DeliveryCounts) -> None:
        subscription = self._subscriptions.get(delivery.subscription_id)
        attempt = delivery.attempts + 1
        if subscription is None:  # deleted since: nothing more goes to it
            self._dead_letter(delivery, attempt, "subscription deleted", counts)
            return
        if not _allowed(subscription, delivery.payload):  # never sent: its scope may not have it
            self._dead_letter(delivery, attempt, "not allowed for this scope", counts)
            return
        body = delivery.payload.encode("utf-8")
        headers = {
            SIGNATURE_HEADER: signature_header(
                self._subscriptions.secret(subscription.subscription_id), int(clock.now().timestamp()), body
            ),
            EVENT_ID_HEADER: delivery.event_id,
            ATTEMPT_HEADER: str(attempt),
            "User-Agent": "gridgate-webhooks/1",
        }
        result = self.send(subscription.url, body, headers, self.settings.webhook_timeout_seconds)
        if result.ok:
            self._deliveries.record_attempt(delivery, "delivered", None, None)
            counts.delivered += 1
            return
        if attempt >= self.settings.webhook_max_attempts:
            self._dead_letter(delivery, attempt, result.error, counts)
            return
        wait = timedelta(seconds=self.settings.webhook_backoff_seconds * 2 ** (attempt - 1))
        self._deliveries.record_attempt(delivery, "pending", clock.now() + wait, result.error)
        counts.retrying += 1

    def _dead_letter(self, delivery: Delivery, attempt: int, error: str | None, counts: DeliveryCounts) -> None:
        """The end of a delivery: recorded with its payload, logged, and counted for the alarm."""
        self._deliveries.record_attempt(delivery, "dead_letter", None, error)
        counts.dead_letters += 1
        logger.error(
            "webhook dead letter",
            extra={
                "subscription_id": delivery.subscription_id,
                "event_id": delivery.event_id,
                "attempts": attempt,
                "error": error,
            },
        )
        count("WebhookDeadLetters")


def deliver_recent(delivery: EventDelivery, since: datetime, until: datetime) -> DeliveryCounts:
    """The emulator's stand-in for the stream: the events stored in [since, until) at the estates any
    subscription covers, handed to `accept` (already queued ones are skipped there), then the due retries."""
    from gridgate.adapters.events import EventRepository

    scopes = [subscription_scope(s) for s in SubscriptionRepository(delivery.protector).active()]
    scopes = [s for s in scopes if s.may_receive(ACCESS)]
    if any(s.kind == CITY and not s.places for s in scopes):
        estates = gated_estate_ids()
    else:
        estates = {e for s in scopes for e in s.places}
    repository = EventRepository(delivery.settings)
    events = [
        event
        for estate in sorted(estates)
        for day in _utc_days(since, until)
        for event in repository.for_estate_day(estate, day)
        if since <= event.occurred_at < until
    ]
    counts = delivery.accept(events)
    retried = delivery.retry_due()
    counts.delivered += retried.delivered
    counts.retrying += retried.retrying
    counts.dead_letters += retried.dead_letters
    return counts


def _utc_days(since: datetime, until: datetime) -> list[date]:
    first, last = since.astimezone(UTC).date(), until.astimezone(UTC).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]

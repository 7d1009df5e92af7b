"""Subscribing an outside system to events: scope and kinds from the caller's token, a safe URL, a secret.

The secret is generated here, returned once in the creation answer and stored only sealed
(AES-GCM, bound to the subscription); nobody can read it back, a lost secret means a new
subscription. A subscriber's URL must be ``https`` to a host name: not an IP literal in private,
loopback or link-local space, so a subscription cannot point gridgate's deliveries at the
cloud's metadata endpoint or internal services (plain ``http`` to 127.0.0.1 only where
``webhook_allow_loopback_http`` is set: the emulator and tests).
"""

from __future__ import annotations

import ipaddress
import uuid
from urllib.parse import urlsplit

from gridgate import clock
from gridgate.adapters.event_outbox import Delivery, DeliveryRepository, Subscription, SubscriptionRepository
from gridgate.config import Settings, get_settings
from gridgate.events_out.event_scope import PLACE_FIELDS, RULES, scope_for
from gridgate.refusals import Invalid, NotFound
from gridgate.security.identifiers import IdentifierProtector
from gridgate.security.tokens import Principal
from gridgate.security.webhook_signatures import new_secret

MAX_URL_LENGTH = 2048
MAX_DESCRIPTION_LENGTH = 200


def check_url(url, settings: Settings) -> str:
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise Invalid("bad_url", reason="too_long", max=MAX_URL_LENGTH)
    parts = urlsplit(url)
    host = parts.hostname or ""
    loopback_http = settings.webhook_allow_loopback_http and parts.scheme == "http" and host == "127.0.0.1"
    if parts.scheme != "https" and not loopback_http:
        raise Invalid("bad_url", reason="not_https")
    if parts.username or parts.password:
        raise Invalid("bad_url", reason="credentials")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if not host or (address is not None and not loopback_http and not address.is_global):
        raise Invalid("bad_url", reason="not_public")
    return url


class EventSubscriptions:
    def __init__(self, protector: IdentifierProtector, settings: Settings | None = None) -> None:
        self._settings = settings or get_settings()
        self._subscriptions = SubscriptionRepository(protector)
        self._deliveries = DeliveryRepository(self._settings)

    def create(self, principal: Principal, body) -> tuple[Subscription, str]:
        """A new subscription for `principal` and its secret (shown to the caller this once)."""
        if not isinstance(body, dict):
            raise Invalid("bad_json", reason="not_object")
        unknown = set(body) - {"url", "kinds", *PLACE_FIELDS, "description"}
        if unknown:
            raise Invalid("unknown_field", fields=", ".join(sorted(map(str, unknown))))
        description = body.get("description", "")
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH:
            raise Invalid("bad_description", max=MAX_DESCRIPTION_LENGTH)
        scope = scope_for(principal, {f: body.get(f) for f in PLACE_FIELDS}, body.get("kinds"))
        subscription = Subscription(
            subscription_id="sub_" + uuid.uuid4().hex,
            owner=principal.subject,
            scope=scope.kind,
            place_ids=scope.places,
            kinds=scope.kinds,
            url=check_url(body.get("url"), self._settings),
            description=description,
            created_at=clock.now(),
        )
        secret = new_secret()
        self._subscriptions.create(subscription, secret)
        return subscription, secret

    def owned(self, principal: Principal) -> list[Subscription]:
        return self._subscriptions.owned_by(principal.subject)

    def delete(self, principal: Principal, subscription_id: str) -> None:
        self._subscriptions.delete(self._own(principal, subscription_id).subscription_id)

    def dead_letters(self, principal: Principal, subscription_id: str) -> list[Delivery]:
        return self._deliveries.dead_letters(self._own(principal, subscription_id).subscription_id)

    def _own(self, principal: Principal, subscription_id: str) -> Subscription:
        """The caller's own subscription; another caller's is "not found", never "forbidden"."""
        subscription = self._subscriptions.get(subscription_id)
        if subscription is None or subscription.owner != principal.subject:
            raise NotFound("no_such_subscription")
        return subscription


def subscription_view(subscription: Subscription) -> dict:
    """What its owner may read back (never the secret): its places under the field of its scope
    (`estate_ids`, `grid_ids` or `district_ids`; the other two empty)."""
    field = RULES[subscription.scope].field
    return {
        "subscription_id": subscription.subscription_id,
        "scope": subscription.scope,
        "kinds": sorted(subscription.kinds),
        **{f: sorted(subscription.place_ids) if f == field else [] for f in PLACE_FIELDS},
        "url": subscription.url,
        "description": subscription.description,
        "created_at": subscription.created_at.isoformat(),
    }

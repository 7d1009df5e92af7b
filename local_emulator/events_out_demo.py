"""The demo's findings and alerts out (docs/events-out.md): two subscribers on loopback, one night.

Before the night, the city's platform (a ``data_center`` caller) subscribes to findings and a
district's civil-affairs office to its welfare alerts, each with a receiver on loopback; and a
property company asking for alerts is refused (``kind_not_allowed``: no law gives it who is
elderly and alone), worded as the API words it. After the night, the demo says what each receiver
got, by finding type, and checks every delivery's signature with the subscriber's secret, as a
receiver must.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from gridgate import clock, i18n
from gridgate.config import get_settings
from gridgate.events_out.event_subscriptions import EventSubscriptions
from gridgate.refusals import Refused
from gridgate.security.identifiers import IdentifierProtector
from gridgate.security.keyring import get_keyring
from gridgate.security.tokens import Principal
from gridgate.security.webhook_signatures import verify
from local_emulator.loopback_receiver import LoopbackReceiver


def _subscribers(districts: list[str]) -> dict[str, tuple[Principal, dict]]:
    """name -> (who subscribes, what it asks for); civil affairs is scoped to the city's districts."""
    civil = Principal("civil-demo", frozenset({"civil_affairs_office"}), districts=frozenset(districts))
    return {
        "city platform": (Principal("dc-demo", frozenset({"data_center"})), {"kinds": ["finding"]}),
        "civil-affairs office": (civil, {"kinds": ["alert"]}),
    }


@dataclass
class Subscribed:
    receivers: dict[str, LoopbackReceiver] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)


def subscribe(districts: list[str], say: Callable[[str], None], cleanups: list[Callable[[], None]]) -> Subscribed:
    """Subscribe the two subscribers before the night (webhooks to loopback are allowed for it)."""
    os.environ["GRIDGATE_WEBHOOK_ALLOW_LOOPBACK_HTTP"] = "true"  # the worker's flow runs inherit it
    get_settings.cache_clear()
    service = EventSubscriptions(IdentifierProtector(get_keyring()))
    done = Subscribed()
    for name, (principal, body) in _subscribers(districts).items():
        receiver = LoopbackReceiver().__enter__()
        cleanups.append(partial(receiver.__exit__, None, None, None))
        subscription, secret = service.create(principal, {"url": receiver.url, **body})
        done.receivers[name], done.secrets[name] = receiver, secret
        say(f"  {name} subscribed to {', '.join(sorted(subscription.kinds))}: {receiver.url}")
    company = Principal("company-demo", frozenset({"property_company"}), estates=frozenset({"any"}))
    try:
        service.create(company, {"url": "https://example.org/hook", "kinds": ["alert"]})
    except Refused as refused:
        say(f"  a property company asking for alerts: {refused.code} ({i18n.refusal_text(refused, 'zh_CN')})")
    return done


def report(subscribed: Subscribed, say: Callable[[str], None]) -> None:
    """What each receiver got after the night, every signature checked."""
    now = int(clock.now().timestamp())
    for name, receiver in subscribed.receivers.items():
        got = list(receiver.received)
        signed = sum(
            verify(subscribed.secrets[name], r.headers.get("Gridgate-Signature", ""), r.body, now) for r in got
        )
        types = Counter(r.json()["data"].get("finding_type", "?") for r in got)
        shown = ", ".join(f"{kind} {count}" for kind, count in sorted(types.items())) or "nothing"
        noun = "delivery" if len(got) == 1 else "deliveries"
        say(f"  {name} received {len(got)} {noun} ({signed} with a valid signature): {shown}")

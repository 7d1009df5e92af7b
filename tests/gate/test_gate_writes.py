"""The decision's one write: the branch no request can provoke on purpose (a race on a retry's nonce)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from gridgate import clock


class _NonceTakenMeanwhile:
    """A nonce store whose nonces another request has just claimed."""

    def claim(self, claim) -> bool:
        return False


def test_a_retry_whose_nonce_is_claimed_meanwhile_is_refused(moto_server, gate_world, protector):
    from gridgate.adapters.events import EventRepository
    from gridgate.adapters.gate_writes import GateEventWriter
    from gridgate.adapters.pass_repository import PassRepository
    from gridgate.config import get_settings
    from gridgate.domain.model import AccessEvent, AccessMethod, Direction, Outcome
    from gridgate.security.device_auth import NonceClaim, ReplayedRequest

    settings, now = get_settings(), clock.now()
    events = EventRepository(settings)
    writer = GateEventWriter(events, PassRepository(protector), _NonceTakenMeanwhile(), settings)
    event = AccessEvent(
        f"{gate_world.gate_id}:{uuid.uuid4().hex[:12]}",
        gate_world.gate_id,
        gate_world.estate_id,
        Direction.OUT,
        now,
        AccessMethod.VISITOR_PASS,
        Outcome.RECORDED,
        "unknown_pass",
    )

    def claim() -> NonceClaim:
        return NonceClaim(gate_world.gate_id, uuid.uuid4().hex, now, now + timedelta(seconds=120))

    assert writer.append(event, claim()) is True
    # the retry's transaction finds the event stored; claiming its nonce alone then loses the race
    with pytest.raises(ReplayedRequest):
        writer.append(event, claim())
    assert events.get(event.estate_id, event.occurred_at, event.event_id) == event

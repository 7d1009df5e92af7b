"""Taking in the events a gate decided while the cloud was unreachable.

An uploaded event is stored under its own id, so uploading it twice (a retry after a lost answer,
or an event the cloud had recorded before the connection broke) stores it once. The gate may only
upload events of its own gate and estate; anything else is refused and reported, never stored.

An offline entry on a visitor pass is counted against the pass in the table in the same atomic
write that stores the event (so once, however often it is uploaded), and the online count catches
up. If the pass had no use left by then (another gate used it meanwhile), the entry already
happened: it is stored as it was and reported as a ``conflict`` for the logs, never dropped. A pass
of another estate is different: this gate's own verifier never opens for one, so such an event is
made up. It is refused (``pass_of_other_estate``) and touches nothing; the pass use itself is
conditioned on the gate's estate in the table (`PassRepository.usable_condition`).

Every field is the device's word, so each event is checked to be storable before anything is
written (`event_from_dict`: bounded UTF-8 ids, a finite score in range; here: a time between the
retention horizon and a few minutes ahead). One bad event is refused and reported on its own; the
others are stored. A 500 for the whole batch would leave the gate counting the cloud unreachable
and re-sending the same poisoned batch for ever.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gridgate.domain.model import AccessEvent, AccessMethod, Direction, Gate, Outcome
from gridgate.gate.decision import MAX_EVENT_TEXT, Denied, GateFacts, PassUse, Reason, event_from_dict
from gridgate.refusals import Invalid

MAX_EVENTS_PER_UPLOAD = 500
#: How far ahead of the cloud's clock a gate's clock may run.
CLOCK_AHEAD = timedelta(minutes=5)


class UploadRefused(Invalid):
    """The upload as a whole is unusable (`code`: bad_upload); one bad event only refuses that event."""


@dataclass
class UploadResult:
    stored: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)  # {"event_id", "code"}: will never be stored
    conflicts: list[dict] = field(default_factory=list)  # {"event_id", "code"}: stored, pass over its limit

    @property
    def acknowledged(self) -> list[str]:
        """Event ids the gate may forget: stored now, stored before, or refused for good."""
        return self.stored + self.duplicates + [r["event_id"] for r in self.refused if r["event_id"]]

    def counts(self) -> dict[str, int]:
        return {
            "stored": len(self.stored),
            "duplicates": len(self.duplicates),
            "refused": len(self.refused),
            "conflicts": len(self.conflicts),
        }

    def as_dict(self) -> dict:
        return {
            "acknowledged": self.acknowledged,
            **self.counts(),
            "refused_events": self.refused,
            "conflict_events": self.conflicts,
        }


class OfflineUploads:
    def __init__(self, facts: GateFacts, *, clock: Callable[[], datetime], retention_days: int) -> None:
        self._facts = facts
        self._clock = clock
        self._retention = timedelta(days=retention_days)

    def accept(self, gate: Gate, document) -> UploadResult:
        events = document.get("events") if isinstance(document, dict) else None
        if not isinstance(events, list) or not 0 < len(events) <= MAX_EVENTS_PER_UPLOAD:
            raise UploadRefused("bad_upload", max=MAX_EVENTS_PER_UPLOAD)
        result = UploadResult()
        now = self._clock()
        for raw in events:
            try:
                event = event_from_dict(raw)
            except (KeyError, ValueError, TypeError, AttributeError):
                result.refused.append({"event_id": _reported_id(raw), "code": "malformed_event"})
                continue
            problem = self._problem(event, gate, now)
            if problem:
                result.refused.append({"event_id": event.event_id, "code": problem})
                continue
            use = self._pass_use(event)
            try:
                new = self._facts.record(event, use)
            except Denied as denied:
                if denied.reason == Reason.PASS_WRONG_ESTATE:
                    result.refused.append({"event_id": event.event_id, "code": "pass_of_other_estate"})
                    continue
                result.conflicts.append({"event_id": event.event_id, "code": denied.reason.value})
                new = self._facts.record(event)
            (result.stored if new else result.duplicates).append(event.event_id)
        return result

    def _problem(self, event, gate: Gate, now: datetime) -> str | None:
        """Why a well-formed event must not be stored for this gate, or None."""
        if event.gate_id != gate.gate_id or event.estate_id != gate.estate_id:
            return "not_this_gate"
        if not event.event_id.startswith(f"{gate.gate_id}:"):
            return "bad_event_id"
        if not now - self._retention <= event.occurred_at <= now + CLOCK_AHEAD:
            return "bad_occurred_at"  # year 9999 or 0001: outside any stored day (and its TTL)
        return None

    @staticmethod
    def _pass_use(event: AccessEvent) -> PassUse | None:
        """The use of a visitor pass an entry spent offline, if it was one (counted like a live one)."""
        if (
            event.method == AccessMethod.VISITOR_PASS
            and event.outcome == Outcome.OPEN
            and event.direction == Direction.IN
            and event.pass_id is not None
        ):
            return PassUse(event.pass_id, None, event.occurred_at)
        return None


def _reported_id(raw) -> str | None:
    """The event id to report a refusal under: only one that can be sent back (bounded, valid UTF-8)."""
    event_id = raw.get("event_id") if isinstance(raw, dict) else None
    if not isinstance(event_id, str) or len(event_id) > MAX_EVENT_TEXT:
        return None
    try:
        event_id.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return event_id

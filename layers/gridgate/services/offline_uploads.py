"""Taking in the events a gate decided while the cloud was unreachable.

An uploaded event is stored under its own id, so uploading it twice (a retry after a lost answer,
or an event the cloud had recorded before the connection broke) stores it once. The gate may only
upload events of its own gate and estate; anything else is refused and reported, never stored.

An offline entry on a visitor pass is counted against the pass in the table in the same atomic
write that stores the event (so once, however often it is uploaded), and the online count catches
up. If the pass had no use left by then (another gate used it meanwhile), the entry already
happened: it is stored as it was and reported as a ``conflict`` for the logs, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gridgate.domain.model import AccessMethod, Direction, Gate, Outcome
from gridgate.services.gate_decision import GateFacts, PassUse, Refused, event_from_dict

MAX_EVENTS_PER_UPLOAD = 500


class UploadRefused(Exception):
    """The upload as a whole is unusable (`code`: bad_upload)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


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
    def __init__(self, facts: GateFacts) -> None:
        self._facts = facts

    def accept(self, gate: Gate, document) -> UploadResult:
        events = document.get("events") if isinstance(document, dict) else None
        if not isinstance(events, list) or not 0 < len(events) <= MAX_EVENTS_PER_UPLOAD:
            raise UploadRefused("bad_upload", f'the body must be {{"events": [1..{MAX_EVENTS_PER_UPLOAD} events]}}')
        result = UploadResult()
        for raw in events:
            event_id = raw.get("event_id") if isinstance(raw, dict) and isinstance(raw.get("event_id"), str) else None
            try:
                event = event_from_dict(raw)
            except (KeyError, ValueError, TypeError, AttributeError):
                result.refused.append({"event_id": event_id, "code": "malformed_event"})
                continue
            if event.gate_id != gate.gate_id or event.estate_id != gate.estate_id:
                result.refused.append({"event_id": event_id, "code": "not_this_gate"})
                continue
            if not event.event_id.startswith(f"{gate.gate_id}:"):
                result.refused.append({"event_id": event_id, "code": "bad_event_id"})
                continue
            use = PassUse(event.pass_id, None, event.occurred_at) if self._is_pass_entry(event) else None
            try:
                new = self._facts.record(event, use)
            except Refused as refused:
                result.conflicts.append({"event_id": event.event_id, "code": refused.reason.value})
                new = self._facts.record(event)
            (result.stored if new else result.duplicates).append(event.event_id)
        return result

    @staticmethod
    def _is_pass_entry(event) -> bool:
        return (
            event.method == AccessMethod.VISITOR_PASS
            and event.outcome == Outcome.OPEN
            and event.direction == Direction.IN
            and event.pass_id is not None
        )

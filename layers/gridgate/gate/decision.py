"""THE gate decision: who is at the gate, may they pass, and the one access event that says so.

Every way through a gate is decided here, in the order the paper gives (§3.1.3):

- face: liveness floor -> the one face to judge -> match against the app registry's faces of people
  with a right to this estate, then the population registry's -> that person's right here;
- QR: a visitor pass (signature, key id, estate, validity window; then revocation and the use
  count, atomically) or a resident's rotating code (then that person's right here);
- exit (direction ``out``): the same identification, no barrier: the passage is *recorded*, with
  whoever was identified, or with the reason nobody was;
- a gate registered for one direction (`Gate.serves`) decides nothing in the other: an exit
  camera's key cannot open an entry barrier (``wrong_direction``, recorded as a deny).

The rules do not know where their facts come from. `GateFacts` is what they ask: online it is
DynamoDB and the warm face-gallery cache (`gridgate.gate.cloud_facts.CloudGateFacts`); on a gate
cut off from the cloud it is a signed snapshot and a local buffer
(`gridgate.gate.device.offline_verifier.SnapshotFacts`). Both run *this* class, so an offline decision cannot
drift from the online one.

Exactly one `AccessEvent` per device event: its id is ``"<gate_id>:<device event id>"``. The event
is stored with a condition that none with its key exists, and a visitor entry stores it in the same
atomic write that counts the pass use; so a retried device event changes nothing (no second event,
no second use of a pass, even for two retries racing) and gets the decision already stored. Every
refusal is a `Reason` code; an opening names the person or pass, the registry that matched, the
score and the right that opened the gate.

Online, that same write also claims the signed request's nonce: the cloud's facts are bound to the
request (`CloudGateFacts.claiming`), so a replayed request is refused by `GateFacts.record` itself,
which raises (`ReplayedRequest`) having stored nothing and used no pass, and no decision is
answered. The rules never see a nonce, and offline, where the gate decides for itself, there is none.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from gridgate.domain.model import AccessEvent, AccessMethod, Direction, Gate, Outcome, Registry
from gridgate.domain.rights import Right
from gridgate.faces.rejections import FaceInputRejected, ImageRejected
from gridgate.qr.read_failures import QrNotRead
from gridgate.security.resident_qr import ResidentCodeRejected, is_resident_code
from gridgate.security.signed_passes import PassClaims, PassRejected, verify_pass_text

if TYPE_CHECKING:  # the face stack (numpy, dlib) is only in the gate function's image, not the API zip
    from gridgate.faces.matcher import FaceMatch

#: Resident codes are accepted for the current 30-s step and this many steps either side, online
#: and offline alike (phone and gate clocks differ a little).
RESIDENT_CODE_SKEW_STEPS = 1
#: The `right` of an entry on a visitor pass (residents' rights are `gridgate.domain.rights` kinds).
VISITOR = "visitor"


class Reason(str, enum.Enum):
    """Why the gate opened, denied or recorded. Stable codes: devices and dashboards branch on them."""

    # the gate opens / the exit is attributed
    RESIDENT_RIGHT = "resident_right"  # an identified person with an owner/family/tenant right here
    VISITOR_PASS = "visitor_pass"  # a genuine visitor pass for this estate, in its window, a use left
    EXIT_RECORDED = "exit_recorded"  # an exit whose person or pass was identified
    # the gate is registered for the other direction only (the endpoint answers 403; recorded)
    WRONG_DIRECTION = "wrong_direction"
    # the request could not be used (the endpoint also answers 4xx; the deny is still recorded)
    EMPTY_BODY = "empty_body"
    IMAGE_TOO_LARGE = "image_too_large"
    IMAGE_TOO_SMALL = "image_too_small"
    NOT_AN_IMAGE = "not_an_image"
    UNSUPPORTED_FORMAT = "unsupported_format"
    TRUNCATED_IMAGE = "truncated_image"
    LIVENESS_MISSING = "liveness_missing"
    # face
    LIVENESS_TOO_LOW = "liveness_too_low"
    NO_FACE = "no_face"
    AMBIGUOUS_FACES = "ambiguous_faces"
    FACE_TOO_SMALL = "face_too_small"
    FACE_REJECTED = "face_rejected"  # any other refusal of the face pipeline
    FACE_NOT_MATCHED = "face_not_matched"
    # the estate's face gallery is still being built off the request path (its first object, or a
    # rebuild): faces are refused meanwhile, QR codes still open (docs/gate.md)
    GALLERY_NOT_READY = "gallery_not_ready"
    NO_RIGHT = "no_right"
    # QR
    NO_QR = "no_qr"
    AMBIGUOUS_QR = "ambiguous_qr"
    MALFORMED_QR = "malformed_qr"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_KEY = "unknown_key"
    PASS_WRONG_ESTATE = "pass_wrong_estate"
    PASS_NOT_YET_VALID = "pass_not_yet_valid"
    PASS_EXPIRED = "pass_expired"
    PASS_REVOKED = "pass_revoked"
    PASS_USED_UP = "pass_used_up"
    UNKNOWN_PASS = "unknown_pass"
    UNKNOWN_PERSON = "unknown_person"
    RESIDENT_CODE_EXPIRED = "resident_code_expired"
    # offline only: the gate has no valid snapshot to decide from, so it opens nothing
    OFFLINE_UNAVAILABLE = "offline_unavailable"


#: Reasons meaning the request itself was unusable: the endpoint answers 4xx (and still records).
INPUT_REASONS = frozenset(
    {
        Reason.EMPTY_BODY,
        Reason.IMAGE_TOO_LARGE,
        Reason.IMAGE_TOO_SMALL,
        Reason.NOT_AN_IMAGE,
        Reason.UNSUPPORTED_FORMAT,
        Reason.TRUNCATED_IMAGE,
        Reason.LIVENESS_MISSING,
    }
)

#: `PassRejected.reason` -> gate reason (the table's and the signature check's words, prefixed).
_PASS_REASONS = {
    "bad_format": Reason.MALFORMED_QR,
    "unknown_key": Reason.UNKNOWN_KEY,
    "bad_signature": Reason.BAD_SIGNATURE,
    "wrong_estate": Reason.PASS_WRONG_ESTATE,
    "not_yet_valid": Reason.PASS_NOT_YET_VALID,
    "expired": Reason.PASS_EXPIRED,
    "revoked": Reason.PASS_REVOKED,
    "used_up": Reason.PASS_USED_UP,
    "unknown_pass": Reason.UNKNOWN_PASS,
}
_RESIDENT_CODE_REASONS = {
    "bad_format": Reason.MALFORMED_QR,
    "unknown_person": Reason.UNKNOWN_PERSON,
    "expired": Reason.RESIDENT_CODE_EXPIRED,
}


@dataclass(frozen=True)
class PassUse:
    """One use of a visitor pass, to be counted together with the event that opened the gate."""

    pass_id: str
    max_uses: int | None  # the signed limit, for a fact source that may not know the pass (offline)
    at: datetime


@dataclass(frozen=True)
class Identified:
    """Who or what a face or QR identified, and how sure: the explanation of a decision.

    A face that matched nobody keeps its `score` (how near the nearest candidate came) with no
    person: nobody is attributed a face the calibrated rule did not accept.
    """

    person_id: str | None = None
    pass_id: str | None = None
    home_id: str | None = None
    registry: Registry | None = None
    score: float | None = None


class Denied(Exception):
    """A fact source saying "deny, for this gate `Reason`" (bad pass, stale code, no snapshot, ...).

    Not an API refusal (`gridgate.refusals.Refused`): it becomes a decision with a reason, never a
    problem response."""

    def __init__(self, reason: Reason, who: Identified | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.who = who or Identified()


class GateFacts(Protocol):
    """Everything the rules need to know, and the one thing they change (the event log)."""

    def stored_event(self, event_id: str, estate_id: str, occurred_at: datetime) -> AccessEvent | None:
        """The event recorded for this device event (asked after `record` found one already)."""

    def face_coming(self, estate_id: str) -> None:
        """A face at this estate is about to be detected: start fetching what `match_face` needs,
        so that it overlaps the face model (the cloud: the gallery's version check). A no-op where
        the facts are at hand (the gate's snapshot)."""

    def match_face(self, estate_id: str, probe) -> Identified:
        """Who the probe face is (app registry first, then population), via `identified_from_match`."""

    def right_of(self, person_id: str, estate_id: str, at: datetime) -> Right | None:
        """The person's effective right at the estate at `at`, or None."""

    def verify_pass(self, text: str, estate_id: str, at: datetime) -> PassClaims:
        """Signature, key id, estate and window of a visitor pass; raises `Denied`."""

    def resident_of_code(self, text: str, estate_id: str, at: datetime) -> str:
        """The person a resident rotating code belongs to, if current; raises `Denied`. The code is
        shown at `estate_id`'s gate: the cloud reads the person's right there meanwhile."""

    def record(self, event: AccessEvent, pass_use: PassUse | None = None) -> bool:
        """Store the event (and count `pass_use`, atomically with it); False if an event with that
        id exists already (then nothing is changed). Raises `Denied` (and stores nothing) when the
        pass use cannot be counted: revoked, used up, expired, unknown. A source bound to a request
        may refuse the request itself (the cloud's, for a replay): that exception passes through
        the decider, nothing stored."""


@dataclass(frozen=True)
class DeviceEvent:
    """One passage a gate device reports: the gate, its own event id, when, and its liveness score.

    `captured_at` (the device's clock) is only *recorded*. The rules are evaluated at the decider's
    clock (the server's online, the gate's own offline), so a device cannot backdate its way into
    an expired pass.
    """

    gate: Gate  # the authenticated gate: its estate is the only one it acts for
    device_event_id: str
    captured_at: datetime
    direction: Direction
    liveness: float | None = None

    @property
    def event_id(self) -> str:
        return f"{self.gate.gate_id}:{self.device_event_id}"


@dataclass(frozen=True)
class GateDecision:
    """What the gate does and why. `replayed`: a retried device event got the stored decision."""

    event: AccessEvent
    replayed: bool = False

    @property
    def outcome(self) -> Outcome:
        return self.event.outcome

    @property
    def reason(self) -> str:
        return self.event.reason

    @property
    def opens(self) -> bool:
        return self.event.outcome == Outcome.OPEN

    def as_dict(self) -> dict:
        return {**event_to_dict(self.event), "replayed": self.replayed}


#: The face pipeline's entry point: image bytes -> the probe face; raises `FaceInputRejected`.
ProbeFace = Callable[[bytes], object]
#: The QR reader (`gridgate.qr.decode.read_qr_bytes`): image bytes -> the code's text; raises
#: `ImageRejected` or `QrNotRead`.
ReadQr = Callable[[bytes], str]


@dataclass(frozen=True)
class _Verdict:
    outcome: Outcome
    reason: Reason
    who: Identified
    right: Right | None = None
    pass_use: PassUse | None = None  # counted with the event, or the verdict does not stand


class GateDecider:
    """Decides device events with `facts`; records exactly one event per device event id."""

    def __init__(
        self,
        facts: GateFacts,
        *,
        liveness_floor: float,
        probe_face: ProbeFace,
        read_qr: ReadQr,
        clock: Callable[[], datetime],
    ) -> None:
        self.facts = facts
        self.liveness_floor = liveness_floor
        self._probe_face = probe_face
        self._read_qr = read_qr
        self._clock = clock

    # --- entry points ----------------------------------------------------------------------------

    def face(self, device: DeviceEvent, image: bytes) -> GateDecision:
        """A face at the gate: entry (direction in) or exit capture (direction out)."""
        return self._once(device, AccessMethod.FACE, lambda at: self._face(device, image, at))

    def qr_text(self, device: DeviceEvent, text: str) -> GateDecision:
        """A QR code's text, decoded by the device: visitor pass or resident code."""
        method = AccessMethod.RESIDENT_QR if is_resident_code(text) else AccessMethod.VISITOR_PASS
        return self._once(device, method, lambda at: self._qr(device, method, text, at))

    def qr_image(self, device: DeviceEvent, image: bytes) -> GateDecision:
        """The gate camera's image of a QR code: read here, then judged like `qr_text`."""
        try:
            text = self._read_qr(image)
        except ImageRejected as rejected:
            unread = Denied(face_reason(rejected))
        except QrNotRead as not_read:
            unread = Denied(Reason(not_read.code))
        else:
            return self.qr_text(device, text)
        return self._once(device, AccessMethod.UNREAD_QR, lambda at: self._refuse(device, unread))

    # --- one event per device event ---------------------------------------------------------------

    def _once(self, device: DeviceEvent, method: AccessMethod, decide: Callable[[datetime], _Verdict]) -> GateDecision:
        if device.gate.serves(device.direction):
            verdict = decide(self._clock())
        else:
            verdict = _Verdict(Outcome.DENY, Reason.WRONG_DIRECTION, Identified())
        event = _event(device, method, verdict)
        try:
            stored = self.facts.record(event, verdict.pass_use)
        except Denied as denied:  # the pass had no use left after all: that is the decision
            event = _event(device, method, self._refuse(device, Denied(denied.reason, verdict.who)))
            stored = self.facts.record(event)
        if stored:
            return GateDecision(event)
        # This device event was decided before (a retry): its stored decision is the answer. A retry
        # resends the same X-Captured-At (it is part of the event's key), so the key is the same.
        stored_event = self.facts.stored_event(device.event_id, device.gate.estate_id, device.captured_at)
        return GateDecision(stored_event or event, replayed=True)

    # --- the rules ----------------------------------------------------------------------------------

    @staticmethod
    def _refuse(device: DeviceEvent, denied: Denied) -> _Verdict:
        """A deny at an entry; at an exit the passage is still recorded, with why it is anonymous."""
        outcome = Outcome.RECORDED if device.direction == Direction.OUT else Outcome.DENY
        return _Verdict(outcome, denied.reason, denied.who)

    @staticmethod
    def _admit(
        device: DeviceEvent, reason: Reason, who: Identified, right: Right | None, pass_use: PassUse | None = None
    ) -> _Verdict:
        if device.direction == Direction.OUT:
            return _Verdict(Outcome.RECORDED, Reason.EXIT_RECORDED, who, right)
        return _Verdict(Outcome.OPEN, reason, who, right, pass_use)

    def _face(self, device: DeviceEvent, image: bytes, at: datetime) -> _Verdict:
        try:
            if device.liveness is None:
                raise Denied(Reason.LIVENESS_MISSING)
            if device.liveness < self.liveness_floor:
                raise Denied(Reason.LIVENESS_TOO_LOW)
            self.facts.face_coming(device.gate.estate_id)
            try:
                probe = self._probe_face(image)
            except FaceInputRejected as rejected:
                raise Denied(face_reason(rejected)) from rejected
            who = self.facts.match_face(device.gate.estate_id, probe)
            if who.person_id is None:
                raise Denied(Reason.FACE_NOT_MATCHED, who)
            return self._person(device, who.person_id, who, at)
        except Denied as denied:
            return self._refuse(device, denied)

    def _person(self, device: DeviceEvent, person_id: str, who: Identified, at: datetime) -> _Verdict:
        """An identified person (`who` says how) enters only with a right here; an exit is recorded either way."""
        right = self.facts.right_of(person_id, device.gate.estate_id, at)
        if right is None and device.direction == Direction.IN:
            raise Denied(Reason.NO_RIGHT, who)
        return self._admit(device, Reason.RESIDENT_RIGHT, who, right)

    def _qr(self, device: DeviceEvent, method: AccessMethod, text: str, at: datetime) -> _Verdict:
        try:
            if method == AccessMethod.RESIDENT_QR:
                person_id = self.facts.resident_of_code(text, device.gate.estate_id, at)
                return self._person(device, person_id, Identified(person_id=person_id), at)
            claims = self.facts.verify_pass(text, device.gate.estate_id, at)
            who = Identified(pass_id=claims.pass_id, home_id=claims.home_id)
            use = PassUse(claims.pass_id, claims.max_uses, at)
            return self._admit(device, Reason.VISITOR_PASS, who, Right(VISITOR, claims.home_id), use)
        except Denied as denied:
            return self._refuse(device, denied)


def _event(device: DeviceEvent, method: AccessMethod, verdict: _Verdict) -> AccessEvent:
    who, right = verdict.who, verdict.right
    return AccessEvent(
        event_id=device.event_id,
        gate_id=device.gate.gate_id,
        estate_id=device.gate.estate_id,
        direction=device.direction,
        occurred_at=device.captured_at,
        method=method,
        outcome=verdict.outcome,
        reason=verdict.reason.value,
        person_id=who.person_id,
        pass_id=who.pass_id,
        home_id=(right.home_id if right else None) or who.home_id,
        registry=who.registry,
        score=who.score,
        right=right.kind if right else None,
    )


# --- translations shared by the online and the offline fact sources ----------------------------------


def identified_from_match(found: FaceMatch) -> Identified:
    """A face match as the decision's explanation: the person only if the calibrated rule accepted."""
    if not found.accepted:
        return Identified(score=found.score)
    return Identified(person_id=found.person_id, registry=found.registry, score=found.score)


def verified_pass(text: str, public_keys: dict[str, bytes], estate_id: str, at: datetime) -> PassClaims:
    """A visitor pass's signed claims (format, key id, signature, estate, window) or its `Denied`:
    the check every fact source makes with the public keys it holds."""
    try:
        return verify_pass_text(text, public_keys, estate_id, at)
    except PassRejected as rejected:
        raise denied_from_pass(rejected) from rejected


def denied_from_pass(rejected: PassRejected) -> Denied:
    return Denied(_PASS_REASONS.get(rejected.reason, Reason.MALFORMED_QR))


def denied_from_resident_code(rejected: ResidentCodeRejected) -> Denied:
    return Denied(_RESIDENT_CODE_REASONS.get(rejected.reason, Reason.MALFORMED_QR))


def face_reason(rejected: FaceInputRejected) -> Reason:
    """The gate reason for a face-pipeline refusal: known codes as they are, others grouped."""
    try:
        return Reason(rejected.code)
    except ValueError:
        return Reason.NOT_AN_IMAGE if isinstance(rejected, ImageRejected) else Reason.FACE_REJECTED


# --- the event as JSON (the gate's answer, the offline buffer, the offline upload) ------------------


def event_to_dict(event: AccessEvent) -> dict:
    return {
        "event_id": event.event_id,
        "gate_id": event.gate_id,
        "estate_id": event.estate_id,
        "direction": event.direction.value,
        "occurred_at": event.occurred_at.isoformat(),
        "method": event.method.value,
        "outcome": event.outcome.value,
        "reason": event.reason,
        "person_id": event.person_id,
        "pass_id": event.pass_id,
        "home_id": event.home_id,
        "registry": event.registry.value if event.registry else None,
        "score": event.score,
        "right": event.right,
    }


#: Longer than any id gridgate makes ("<gate id>:<64-char device event id>", uuids, home ids).
MAX_EVENT_TEXT = 256
#: A match score is ``1 - distance``; distances of 128-d face encodings stay well inside [0, 2].
_SCORE_RANGE = (-1.0, 1.0)


def event_from_dict(data: dict) -> AccessEvent:
    """The inverse of `event_to_dict`; raises KeyError / ValueError / TypeError on a malformed event.

    What a device sends is checked to be storable, not only parseable: a score of NaN, infinity or
    10**400, a 3,000-character id or a lone surrogate each made DynamoDB (or float()) fail after
    the event was accepted, and took the whole upload down with it.
    """
    occurred_at = datetime.fromisoformat(_text(data["occurred_at"]))
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must carry a UTC offset")
    return AccessEvent(
        event_id=_text(data["event_id"]),
        gate_id=_text(data["gate_id"]),
        estate_id=_text(data["estate_id"]),
        direction=Direction(data["direction"]),
        occurred_at=occurred_at,
        method=AccessMethod(data["method"]),
        outcome=Outcome(data["outcome"]),
        reason=Reason(data["reason"]).value,
        person_id=_optional_text(data.get("person_id")),
        pass_id=_optional_text(data.get("pass_id")),
        home_id=_optional_text(data.get("home_id")),
        registry=Registry(data["registry"]) if data.get("registry") else None,
        score=_score(data.get("score")),
        right=_optional_text(data.get("right")),
    )


def _score(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("score must be a number")
    low, high = _SCORE_RANGE
    if not low <= value <= high:  # also False for NaN; 10**400 and infinities are out of range
        raise ValueError(f"score must be a finite number in [{low}, {high}]")
    return float(value)


def _text(value) -> str:
    """A non-empty, bounded string that UTF-8 can hold (a lone surrogate cannot be stored)."""
    if not isinstance(value, str) or not value or len(value) > MAX_EVENT_TEXT:
        raise TypeError(f"expected a string of 1-{MAX_EVENT_TEXT} characters")
    value.encode("utf-8")  # UnicodeEncodeError (a ValueError) on a lone surrogate
    return value


def _optional_text(value) -> str | None:
    return None if value is None else _text(value)

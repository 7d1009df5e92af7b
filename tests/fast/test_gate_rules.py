"""The gate rules (`GateDecider`) through every `Reason`, over a dict-backed facts port.

No emulator, no Chalice: real signed passes and resident codes (real Ed25519 and HMAC), fakes only
where the cloud would be (facts) and where a camera would be (the face probe and the QR reader,
whose own pipelines have their own tests). The clock is pinned.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from gridgate.domain.model import (
    AccessMethod,
    Direction,
    Gate,
    GateDirection,
    Outcome,
    PassStatus,
    Registry,
    VisitorPass,
)
from gridgate.domain.rights import Right
from gridgate.faces.rejections import FaceRejected, ImageRejected
from gridgate.gate.decision import INPUT_REASONS, DeviceEvent, GateDecider, Identified, Reason
from gridgate.qr.read_failures import QrNotRead
from gridgate.security.keyring import Keyring
from gridgate.security.resident_qr import current_code, new_secret
from gridgate.security.signed_passes import PassClaims, public_keys, sign_pass

from .fakes import DictGateFacts

pytestmark = pytest.mark.fast

NOW = datetime(2026, 3, 14, 1, 30, tzinfo=UTC)  # 09:30 in the city
ESTATE, OTHER_ESTATE, HOME = "E-01", "E-02", "H-0101"
GATE = Gate("G-1", ESTATE, GateDirection.BOTH, "dk-1")
ENTRY_ONLY = Gate("G-2", ESTATE, GateDirection.ENTRY, "dk-2")
RESIDENT, STRANGER = "P-resident", "P-stranger"
KEYRING = Keyring.generate(signing_key_id="k1")
FOREIGN_KEYRING = Keyring.generate(signing_key_id="k9")
IMPOSTOR_KEYRING = Keyring.generate(signing_key_id="k1")  # the same key id, another key
LIVENESS_FLOOR = 0.5


def pass_id(name: str) -> str:
    """A pass id (passes carry 128-bit ids), the same for the same name."""
    return uuid.uuid5(uuid.NAMESPACE_URL, name).hex


def _pass(name: str, *, estate: str = ESTATE, start: datetime = NOW - timedelta(hours=1), hours: float = 2):
    return VisitorPass(pass_id(name), estate, HOME, "P-owner", "访客", start, start + timedelta(hours=hours), "k1", 3)


def _text(visitor_pass: VisitorPass, keyring: Keyring = KEYRING) -> str:
    claims = PassClaims(
        visitor_pass.pass_id,
        visitor_pass.estate_id,
        visitor_pass.home_id,
        visitor_pass.valid_from,
        visitor_pass.valid_until,
        keyring.active_signing_key_id,
        visitor_pass.max_uses,
    )
    return sign_pass(claims, keyring)


class World:
    """The facts port, the decider over it, and a device-event counter."""

    def __init__(self) -> None:
        self.facts = DictGateFacts(public_keys(KEYRING))
        self.facts.faces[b"resident-face"] = Identified(person_id=RESIDENT, registry=Registry.APP, score=0.93)
        self.facts.faces[b"stranger-face"] = Identified(person_id=STRANGER, registry=Registry.POPULATION, score=0.9)
        self.facts.rights[(RESIDENT, ESTATE)] = Right("owner", HOME)
        self.facts.secrets[RESIDENT] = new_secret()
        self.decider = GateDecider(
            self.facts, liveness_floor=LIVENESS_FLOOR, probe_face=_probe, read_qr=_read_qr, clock=lambda: NOW
        )
        self._events = 0

    def device(self, direction: Direction = Direction.IN, liveness: float | None = 0.9, gate: Gate = GATE):
        self._events += 1
        return DeviceEvent(gate, f"ev-{self._events}", NOW, direction, liveness)

    def stored_pass(self, visitor_pass: VisitorPass) -> str:
        self.facts.passes[visitor_pass.pass_id] = visitor_pass
        return _text(visitor_pass)


def _probe(image: bytes) -> bytes:
    """The face pipeline's port: named images stand for its refusals; anything else is the probe."""
    refusals = {
        b"": ImageRejected("empty_body"),
        b"huge": ImageRejected("image_too_large"),
        b"tiny": ImageRejected("image_too_small"),
        b"text": ImageRejected("not_an_image"),
        b"tiff": ImageRejected("unsupported_format"),
        b"cut": ImageRejected("truncated_image"),
        b"odd-image": ImageRejected("some_new_image_code"),
        b"blank": FaceRejected("no_face"),
        b"crowd": FaceRejected("ambiguous_faces"),
        b"far": FaceRejected("face_too_small"),
        b"blurred": FaceRejected("blurred"),
    }
    if image in refusals:
        raise refusals[image]
    return image


def _read_qr(image: bytes) -> str:
    if image == b"no-code":
        raise QrNotRead("no_qr")
    if image == b"two-codes":
        raise QrNotRead("ambiguous_qr")
    if image == b"text":
        raise ImageRejected("not_an_image")
    return image.decode()


@pytest.fixture
def world() -> World:
    return World()


def _face(world: World, image: bytes, **device):
    return world.decider.face(world.device(**device), image)


def _qr(world: World, text: str, **device):
    return world.decider.qr_text(world.device(**device), text)


def _gallery_not_ready(world: World):
    world.facts.galleries_not_ready.add(GATE.estate_id)
    return _face(world, b"resident-face")


def _offline_unavailable(world: World, tmp_path):
    from gridgate.gate.device.event_buffer import EventBuffer
    from gridgate.gate.device.offline_verifier import OfflineVerifier

    verifier = OfflineVerifier(GATE, {}, EventBuffer(tmp_path / "buffer.db"), clock=lambda: NOW)
    return verifier.qr_text("ev-offline", NOW, Direction.IN, current_code(RESIDENT, world.facts.secrets[RESIDENT], NOW))


# reason -> (how to get it, the outcome it must have)
SCENARIOS = {
    Reason.RESIDENT_RIGHT: (lambda w, _: _face(w, b"resident-face"), Outcome.OPEN),
    Reason.VISITOR_PASS: (lambda w, _: _qr(w, w.stored_pass(_pass("V-ok"))), Outcome.OPEN),
    Reason.EXIT_RECORDED: (lambda w, _: _face(w, b"stranger-face", direction=Direction.OUT), Outcome.RECORDED),
    Reason.WRONG_DIRECTION: (
        lambda w, _: _face(w, b"resident-face", direction=Direction.OUT, gate=ENTRY_ONLY),
        Outcome.DENY,
    ),
    Reason.EMPTY_BODY: (lambda w, _: _face(w, b""), Outcome.DENY),
    Reason.IMAGE_TOO_LARGE: (lambda w, _: _face(w, b"huge"), Outcome.DENY),
    Reason.IMAGE_TOO_SMALL: (lambda w, _: _face(w, b"tiny"), Outcome.DENY),
    Reason.NOT_AN_IMAGE: (lambda w, _: _face(w, b"odd-image"), Outcome.DENY),
    Reason.UNSUPPORTED_FORMAT: (lambda w, _: _face(w, b"tiff"), Outcome.DENY),
    Reason.TRUNCATED_IMAGE: (lambda w, _: _face(w, b"cut"), Outcome.DENY),
    Reason.LIVENESS_MISSING: (lambda w, _: _face(w, b"resident-face", liveness=None), Outcome.DENY),
    Reason.LIVENESS_TOO_LOW: (lambda w, _: _face(w, b"resident-face", liveness=0.2), Outcome.DENY),
    Reason.NO_FACE: (lambda w, _: _face(w, b"blank"), Outcome.DENY),
    Reason.AMBIGUOUS_FACES: (lambda w, _: _face(w, b"crowd"), Outcome.DENY),
    Reason.FACE_TOO_SMALL: (lambda w, _: _face(w, b"far"), Outcome.DENY),
    Reason.FACE_REJECTED: (lambda w, _: _face(w, b"blurred"), Outcome.DENY),
    Reason.FACE_NOT_MATCHED: (lambda w, _: _face(w, b"nobody-face"), Outcome.DENY),
    Reason.NO_RIGHT: (lambda w, _: _face(w, b"stranger-face"), Outcome.DENY),
    Reason.GALLERY_NOT_READY: (lambda w, _: _gallery_not_ready(w), Outcome.DENY),
    Reason.NO_QR: (lambda w, _: w.decider.qr_image(w.device(), b"no-code"), Outcome.DENY),
    Reason.AMBIGUOUS_QR: (lambda w, _: w.decider.qr_image(w.device(), b"two-codes"), Outcome.DENY),
    Reason.MALFORMED_QR: (lambda w, _: _qr(w, "GGP1:not-a-pass"), Outcome.DENY),
    Reason.BAD_SIGNATURE: (lambda w, _: _qr(w, _text(_pass("V-forged"), IMPOSTOR_KEYRING)), Outcome.DENY),
    Reason.UNKNOWN_KEY: (lambda w, _: _qr(w, _text(_pass("V-foreign-key"), FOREIGN_KEYRING)), Outcome.DENY),
    Reason.PASS_WRONG_ESTATE: (lambda w, _: _qr(w, w.stored_pass(_pass("V-e2", estate=OTHER_ESTATE))), Outcome.DENY),
    Reason.PASS_NOT_YET_VALID: (
        lambda w, _: _qr(w, w.stored_pass(_pass("V-later", start=NOW + timedelta(hours=2)))),
        Outcome.DENY,
    ),
    Reason.PASS_EXPIRED: (
        lambda w, _: _qr(w, w.stored_pass(_pass("V-old", start=NOW - timedelta(hours=5)))),
        Outcome.DENY,
    ),
    Reason.PASS_REVOKED: (
        lambda w, _: _qr(w, w.stored_pass(replace(_pass("V-revoked"), status=PassStatus.REVOKED))),
        Outcome.DENY,
    ),
    Reason.PASS_USED_UP: (lambda w, _: _qr(w, w.stored_pass(replace(_pass("V-used"), uses=3))), Outcome.DENY),
    Reason.UNKNOWN_PASS: (lambda w, _: _qr(w, _text(_pass("V-never-stored"))), Outcome.DENY),
    Reason.UNKNOWN_PERSON: (lambda w, _: _qr(w, current_code("P-no-secret", new_secret(), NOW)), Outcome.DENY),
    Reason.RESIDENT_CODE_EXPIRED: (
        lambda w, _: _qr(w, current_code(RESIDENT, w.facts.secrets[RESIDENT], NOW - timedelta(minutes=5))),
        Outcome.DENY,
    ),
    Reason.OFFLINE_UNAVAILABLE: (_offline_unavailable, Outcome.DENY),
}


def test_every_reason_has_a_scenario():
    assert set(SCENARIOS) == set(Reason)


@pytest.mark.parametrize("reason", list(Reason), ids=lambda r: r.value)
def test_each_reason_is_decided_with_its_outcome(world, tmp_path, reason):
    decide, outcome = SCENARIOS[reason]
    decision = decide(world, tmp_path)
    assert (decision.reason, decision.outcome) == (reason.value, outcome)
    assert decision.opens == (outcome == Outcome.OPEN)


def test_an_opening_names_who_with_which_right_and_registry(world):
    decision = _face(world, b"resident-face")
    event = decision.event
    assert (event.person_id, event.right, event.home_id, event.registry, event.score) == (
        RESIDENT,
        "owner",
        HOME,
        Registry.APP,
        0.93,
    )
    assert event.method == AccessMethod.FACE and event.estate_id == ESTATE


def test_a_face_that_matched_nobody_keeps_its_score_and_names_nobody(world):
    event = _face(world, b"nobody-face").event
    assert (event.person_id, event.score) == (None, 0.1)


def test_a_refused_exit_is_still_recorded_anonymously(world):
    event = world.decider.qr_image(world.device(direction=Direction.OUT), b"no-code").event
    assert (event.outcome, event.reason, event.method) == (Outcome.RECORDED, "no_qr", AccessMethod.UNREAD_QR)


def test_a_pass_opens_until_its_uses_are_spent_and_each_use_is_counted_once(world):
    text = world.stored_pass(_pass("V-three"))
    reasons = [_qr(world, text).reason for _ in range(4)]
    assert reasons == ["visitor_pass"] * 3 + ["pass_used_up"]
    assert world.facts.passes[pass_id("V-three")].uses == 3


def test_a_retried_device_event_gets_the_stored_decision_and_changes_nothing(world):
    text = world.stored_pass(_pass("V-retry"))
    device = world.device()
    first = world.decider.qr_text(device, text)
    again = world.decider.qr_text(device, text)
    assert (first.replayed, again.replayed) == (False, True)
    assert again.event == first.event and world.facts.passes[pass_id("V-retry")].uses == 1


def test_a_resident_code_opens_for_its_person_on_the_current_step_and_the_next(world):
    secret = world.facts.secrets[RESIDENT]
    assert _qr(world, current_code(RESIDENT, secret, NOW)).event.person_id == RESIDENT
    assert _qr(world, current_code(RESIDENT, secret, NOW + timedelta(seconds=30))).opens


def test_the_input_reasons_are_the_unusable_requests():
    assert {r.value for r in INPUT_REASONS} == {
        "empty_body",
        "image_too_large",
        "image_too_small",
        "not_an_image",
        "unsupported_format",
        "truncated_image",
        "liveness_missing",
    }

"""Device authentication: only a gate's own key, fresh, once, for its own estate, opens anything."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from gate_helpers import SignedGate, decision_of, events_of, pass_uses

from gridgate import clock


def _qr_body(text: str = "GGP1:NOTAPASS") -> bytes:
    return json.dumps({"text": text}).encode()


def _refused(response, code: str, status: int = 401) -> None:
    assert response.status_code == status, response.body
    assert response.json_body["code"] == code
    assert "decision" not in response.json_body  # nothing was decided, nothing recorded


def test_unknown_gate_is_refused_and_nothing_is_recorded(api, gate_world):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    intruder = SignedGate(api, f"GT-{gate_world.tag}-nope", Ed25519PrivateKey.generate().private_bytes_raw())
    event_id = uuid.uuid4().hex[:12]
    _refused(intruder.qr("/gate/entry/qr", "GGP1:X", event_id=event_id), "unknown_gate")
    assert events_of(gate_world.estate_id, f"GT-{gate_world.tag}-nope:{event_id}") == []


def test_a_key_that_is_not_the_gates_own_is_a_bad_signature(api, gate_world, faceless_frame):
    # the other estate's genuine key, claiming to be this estate's gate
    impostor = SignedGate(api, gate_world.gate_id, gate_world.other_gate_key)
    event_id = uuid.uuid4().hex[:12]
    _refused(impostor.face("/gate/entry/face", faceless_frame, event_id=event_id), "bad_signature")
    assert events_of(gate_world.estate_id, f"{gate_world.gate_id}:{event_id}") == []


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h: h.update({"X-Liveness-Score": "0.99"}), id="liveness-raised-after-signing"),
        pytest.param(lambda h: h.update({"X-Device-Event-Id": "other-event"}), id="event-id-swapped"),
        pytest.param(
            lambda h: h.update({"X-Gate-Signature": base64.b64encode(b"\0" * 64).decode()}), id="zero-signature"
        ),
        pytest.param(lambda h: h.update({"X-Gate-Signature": "not base64 !!"}), id="garbage-signature"),
    ],
)
def test_anything_changed_after_signing_fails_the_signature(gate, faceless_frame, tamper):
    response = gate.face("/gate/entry/face", faceless_frame, liveness=0.1, tamper=tamper)
    _refused(response, "bad_signature")


def test_a_body_changed_after_signing_fails_the_signature(api, gate_world):
    from gridgate.security.device_auth import sign_request

    headers = sign_request(
        gate_world.gate_key,
        gate_world.gate_id,
        "POST",
        "/gate/entry/qr",
        _qr_body("GGP1:A"),
        {"X-Device-Event-Id": "e1", "X-Captured-At": "2026-01-01T00:00:00+00:00"},
    )
    headers["Content-Type"] = "application/json"
    _refused(api.http.post("/gate/entry/qr", headers=headers, body=_qr_body("GGP1:B")), "bad_signature")


def test_a_request_signed_for_another_path_is_refused(api, gate_world, faceless_frame):
    from gridgate.security.device_auth import sign_request

    body = faceless_frame
    headers = sign_request(
        gate_world.gate_key,
        gate_world.gate_id,
        "POST",
        "/gate/exit",
        body,
        {"X-Device-Event-Id": "e2", "X-Captured-At": "2026-01-01T00:00:00+00:00"},
    )
    headers["Content-Type"] = "image/jpeg"
    _refused(api.http.post("/gate/entry/face", headers=headers, body=body), "bad_signature")


def test_a_replayed_request_is_refused(api, gate, faceless_frame):
    captured = {}
    first = gate.face("/gate/entry/face", faceless_frame, liveness=0.1, tamper=lambda headers: captured.update(headers))
    assert first.status_code == 200
    replay = api.http.post("/gate/entry/face", headers=captured, body=faceless_frame)
    _refused(replay, "replayed_request")


# --- a decision claims its nonce in the write that records it -----------------------------------------


def test_a_replayed_pass_entry_uses_the_pass_once_and_records_once(api, gate, gate_world, pass_issuer, protector):
    pass_id, text = pass_issuer(gate_world.estate_id, gate_world.home_id, max_uses=3)
    event_id, captured = uuid.uuid4().hex[:12], {}
    assert decision_of(gate.qr("/gate/entry/qr", text, event_id=event_id, tamper=captured.update))["outcome"] == "open"
    _refused(api.http.post("/gate/entry/qr", headers=captured, body=_qr_body(text)), "replayed_request")
    assert pass_uses(protector, pass_id) == 1
    assert len(events_of(gate_world.estate_id, f"{gate_world.gate_id}:{event_id}")) == 1


def test_a_retry_gets_the_stored_decision_and_its_own_replay_is_refused(api, gate, gate_world, pass_issuer, protector):
    pass_id, text = pass_issuer(gate_world.estate_id, gate_world.home_id, max_uses=3)
    event_id, captured_at, retry_headers = uuid.uuid4().hex[:12], clock.now(), {}
    first = decision_of(gate.qr("/gate/entry/qr", text, event_id=event_id, captured_at=captured_at))
    retry = decision_of(
        gate.qr("/gate/entry/qr", text, event_id=event_id, captured_at=captured_at, tamper=retry_headers.update)
    )
    assert (first["replayed"], retry["replayed"], retry["outcome"]) == (False, True, "open")
    # the retry wrote no event, but its nonce was claimed all the same
    _refused(api.http.post("/gate/entry/qr", headers=retry_headers, body=_qr_body(text)), "replayed_request")
    assert pass_uses(protector, pass_id) == 1
    assert len(events_of(gate_world.estate_id, f"{gate_world.gate_id}:{event_id}")) == 1


def test_a_used_up_pass_is_a_recorded_deny_that_cannot_be_replayed(api, gate, gate_world, pass_issuer):
    _, text = pass_issuer(gate_world.estate_id, gate_world.home_id, max_uses=1)
    assert decision_of(gate.qr("/gate/entry/qr", text))["outcome"] == "open"
    event_id, captured = uuid.uuid4().hex[:12], {}
    deny = decision_of(gate.qr("/gate/entry/qr", text, event_id=event_id, tamper=captured.update))
    assert (deny["outcome"], deny["reason"]) == ("deny", "pass_used_up")
    _refused(api.http.post("/gate/entry/qr", headers=captured, body=_qr_body(text)), "replayed_request")
    assert len(events_of(gate_world.estate_id, f"{gate_world.gate_id}:{event_id}")) == 1


def test_a_nonce_claimed_up_front_by_an_upload_refuses_a_later_decision(api, gate_world, pass_issuer, protector):
    """The upload claims its nonce before anything else (even when it then answers 400); a decision
    signed with that nonce, for a passage never recorded, is refused and records and uses nothing."""
    from gridgate.security.device_auth import sign_request

    nonce, empty = uuid.uuid4().hex, b'{"events": []}'
    upload = sign_request(gate_world.gate_key, gate_world.gate_id, "POST", "/gate/events", empty, {}, nonce=nonce)
    upload["Content-Type"] = "application/json"
    assert api.http.post("/gate/events", headers=upload, body=empty).json_body["code"] == "bad_upload"
    _refused(api.http.post("/gate/events", headers=upload, body=empty), "replayed_request")

    pass_id, text = pass_issuer(gate_world.estate_id, gate_world.home_id)
    event_id = uuid.uuid4().hex[:12]
    device = {"X-Device-Event-Id": event_id, "X-Captured-At": clock.now().isoformat()}
    entry = sign_request(
        gate_world.gate_key, gate_world.gate_id, "POST", "/gate/entry/qr", _qr_body(text), device, nonce=nonce
    )
    entry["Content-Type"] = "application/json"
    _refused(api.http.post("/gate/entry/qr", headers=entry, body=_qr_body(text)), "replayed_request")
    assert pass_uses(protector, pass_id) == 0
    assert events_of(gate_world.estate_id, f"{gate_world.gate_id}:{event_id}") == []


@pytest.mark.parametrize("offset", [-3600, -61, 61, 3600])
def test_a_stale_or_future_timestamp_is_refused(api, gate_world, offset):
    from gridgate.security.device_auth import sign_request

    body = _qr_body()
    headers = sign_request(
        gate_world.gate_key,
        gate_world.gate_id,
        "POST",
        "/gate/entry/qr",
        body,
        {"X-Device-Event-Id": uuid.uuid4().hex[:8], "X-Captured-At": "2026-01-01T00:00:00+00:00"},
        timestamp=int(clock.now().timestamp()) + offset,
    )
    headers["Content-Type"] = "application/json"
    _refused(api.http.post("/gate/entry/qr", headers=headers, body=body), "stale_request")


@pytest.mark.parametrize("missing", ["X-Gate-Id", "X-Gate-Timestamp", "X-Gate-Nonce", "X-Gate-Signature"])
def test_missing_signature_headers_are_refused(gate, missing):
    _refused(gate.qr("/gate/entry/qr", "GGP1:X", tamper=lambda h: h.pop(missing)), "missing_signature")


def test_a_short_nonce_is_refused(api, gate_world):
    from gridgate.security.device_auth import sign_request

    body = _qr_body()
    headers = sign_request(gate_world.gate_key, gate_world.gate_id, "POST", "/gate/entry/qr", body, {}, nonce="abc")
    headers["Content-Type"] = "application/json"
    _refused(api.http.post("/gate/entry/qr", headers=headers, body=body), "missing_signature")


def test_a_gate_acts_only_for_its_own_estate(api, gate_world, pass_issuer):
    """A genuine pass of the other estate, shown at this estate's gate, does not open it."""
    _, text = pass_issuer(gate_world.other_estate_id, gate_world.other_home_id)
    here = SignedGate(api, gate_world.gate_id, gate_world.gate_key)
    decision = here.qr("/gate/entry/qr", text).json_body["decision"]
    assert (decision["outcome"], decision["reason"]) == ("deny", "pass_wrong_estate")
    # the very same pass at its own estate's gate opens
    there = SignedGate(api, gate_world.other_gate_id, gate_world.other_gate_key)
    assert there.qr("/gate/entry/qr", text).json_body["decision"]["outcome"] == "open"


def test_nonces_are_per_gate_and_expire_with_the_window(moto_server):
    from datetime import timedelta

    from gridgate.adapters.device_nonces import DeviceNonceStore
    from gridgate.security.device_auth import NonceClaim

    store, now = DeviceNonceStore(), clock.now()
    nonce = uuid.uuid4().hex
    until = now + timedelta(seconds=120)
    assert store.claim(NonceClaim("gate-a", nonce, now, until))
    assert not store.claim(NonceClaim("gate-a", nonce, now + timedelta(seconds=119), until))
    assert store.claim(NonceClaim("gate-b", nonce, now, until))
    # moto never deletes TTL-expired rows: the expired nonce must still count as free
    assert store.claim(NonceClaim("gate-a", nonce, now + timedelta(seconds=121), until + timedelta(seconds=121)))


@pytest.mark.testdata
@pytest.mark.usefixtures("enrolled_faces")
def test_decisions_and_refusals_are_logged_without_personal_data(gate, gate_world, caplog):
    owner = gate_world.residents["owner"].person_id
    with caplog.at_level("INFO", logger="gridgate-api"):
        opened = gate.face("/gate/entry/face", gate_world.probe_frame("owner"))
        gate.face(
            "/gate/entry/face", gate_world.probe_frame("owner"), tamper=lambda h: h.update({"X-Liveness-Score": "1"})
        )
    assert opened.json_body["decision"]["person_id"] == owner
    records = [r for r in caplog.records if r.name == "gridgate-api"]
    decision = next(r for r in records if r.getMessage() == "gate decision")
    assert (decision.outcome, decision.reason, decision.registry) == ("open", "resident_right", "app")
    assert decision.event_id == opened.json_body["decision"]["event_id"]
    refused = next(r for r in records if r.getMessage() == "request refused")
    assert (refused.code, refused.status) == ("bad_signature", 401)
    assert owner not in caplog.text and all(owner not in str(r.__dict__) for r in records)

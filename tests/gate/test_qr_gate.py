"""QR entry and exit: visitor passes and resident rotating codes, as text and as camera images."""

from __future__ import annotations

import base64
import io
import uuid
from datetime import timedelta

import pytest
import qrcode
from gate_helpers import decision_of, events_of

from gridgate import clock


def _qr_png(text: str, *, scale: int = 4) -> bytes:
    image = qrcode.make(text, box_size=scale, border=4).get_image().convert("RGB")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _entry(gate, text: str, **kw) -> dict:
    return decision_of(gate.qr("/gate/entry/qr", text, **kw))


def test_a_valid_visitor_pass_opens_and_names_pass_home_and_right(gate, gate_world, pass_issuer):
    pass_id, text = pass_issuer(gate_world.estate_id, gate_world.home_id)
    event_id = uuid.uuid4().hex[:12]
    decision = _entry(gate, text, event_id=event_id)
    assert (decision["outcome"], decision["reason"], decision["method"]) == ("open", "visitor_pass", "visitor_pass")
    assert (decision["pass_id"], decision["home_id"], decision["right"]) == (pass_id, gate_world.home_id, "visitor")
    assert decision["person_id"] is None
    assert len(events_of(gate_world.estate_id, f"{gate_world.gate_id}:{event_id}")) == 1


def test_a_forged_pass_is_a_bad_signature(gate, gate_world, pass_issuer):
    _, text = pass_issuer(gate_world.estate_id, gate_world.home_id)
    raw = bytearray(base64.b32decode(text[5:] + "=" * (-len(text[5:]) % 8)))
    raw[20] ^= 0x01  # one bit of the signed body (the validity window)
    forged = "GGP1:" + base64.b32encode(bytes(raw)).decode().rstrip("=")
    decision = _entry(gate, forged)
    assert (decision["outcome"], decision["reason"], decision["pass_id"]) == ("deny", "bad_signature", None)


def test_a_pass_signed_with_a_key_the_city_does_not_hold_is_refused(gate, gate_world, keyring):
    from dataclasses import replace

    from gridgate.security.keyring import Keyring
    from gridgate.security.signed_passes import PassClaims, new_pass_id, sign_pass

    rogue = replace(Keyring.generate(signing_key_id=keyring.active_signing_key_id))
    now = clock.now().replace(microsecond=0)
    claims = PassClaims(
        new_pass_id(),
        gate_world.estate_id,
        gate_world.home_id,
        now - timedelta(minutes=1),
        now + timedelta(hours=1),
        keyring.active_signing_key_id,
    )
    assert _entry(gate, sign_pass(claims, rogue))["reason"] == "bad_signature"
    unknown = replace(claims, key_id="rogue-key")
    rogue_keyring = Keyring.generate(signing_key_id="rogue-key")
    assert _entry(gate, sign_pass(unknown, rogue_keyring))["reason"] == "unknown_key"


def test_an_expired_pass_is_refused(gate, gate_world, pass_issuer):
    now = clock.now().replace(microsecond=0)
    _, text = pass_issuer(
        gate_world.estate_id,
        gate_world.home_id,
        valid_from=now - timedelta(hours=25),
        valid_until=now - timedelta(hours=1),
    )
    assert (_entry(gate, text)["outcome"], _entry(gate, text)["reason"]) == ("deny", "pass_expired")


def test_a_pass_not_valid_yet_is_refused(gate, gate_world, pass_issuer):
    now = clock.now().replace(microsecond=0)
    _, text = pass_issuer(
        gate_world.estate_id,
        gate_world.home_id,
        valid_from=now + timedelta(hours=2),
        valid_until=now + timedelta(hours=20),
    )
    assert _entry(gate, text)["reason"] == "pass_not_yet_valid"


def test_a_revoked_pass_is_refused_and_the_deny_names_the_pass(gate, gate_world, pass_issuer, protector):
    from gridgate.adapters.pass_repository import PassRepository

    pass_id, text = pass_issuer(gate_world.estate_id, gate_world.home_id)
    PassRepository(protector).revoke(pass_id, clock.now())
    decision = _entry(gate, text)
    assert (decision["outcome"], decision["reason"], decision["pass_id"]) == ("deny", "pass_revoked", pass_id)


def test_a_pass_over_its_use_limit_is_refused(gate, gate_world, pass_issuer):
    _, text = pass_issuer(gate_world.estate_id, gate_world.home_id, max_uses=2)
    outcomes = [(_entry(gate, text)["outcome"]) for _ in range(3)]
    assert outcomes == ["open", "open", "deny"]
    assert _entry(gate, text)["reason"] == "pass_used_up"


def test_a_retried_pass_entry_uses_the_pass_once(gate, gate_world, pass_issuer, protector):
    from gridgate.adapters.pass_repository import PassRepository

    pass_id, text = pass_issuer(gate_world.estate_id, gate_world.home_id, max_uses=1)
    event_id, captured_at = uuid.uuid4().hex[:12], clock.now()
    first = _entry(gate, text, event_id=event_id, captured_at=captured_at)
    retry = _entry(gate, text, event_id=event_id, captured_at=captured_at)
    assert (first["outcome"], retry["outcome"], retry["replayed"]) == ("open", "open", True)
    assert PassRepository(protector).get(pass_id).uses == 1
    assert len(events_of(gate_world.estate_id, f"{gate_world.gate_id}:{event_id}")) == 1


def test_a_pass_unknown_to_the_table_is_refused(gate, gate_world, pass_issuer):
    _, text = pass_issuer(gate_world.estate_id, gate_world.home_id, stored=False)
    assert _entry(gate, text)["reason"] == "unknown_pass"


@pytest.mark.parametrize("text", ["hello", "GGP1:", "GGP1:!!!!", "GGR1:nobody", "x" * 4000])
def test_garbage_qr_text_is_a_malformed_qr(gate, text):
    decision = _entry(gate, text)
    assert (decision["outcome"], decision["reason"]) == ("deny", "malformed_qr")


def test_qr_json_without_text_is_a_bad_request(gate):
    response = gate.send("/gate/entry/qr", b'{"txt": 1}', "application/json")
    assert response.status_code == 400 and response.json_body["code"] == "bad_json"


def test_the_resident_rotating_code_opens_for_a_resident_with_a_right(gate, gate_world, protector):
    from gridgate.adapters.resident_secrets import ResidentSecretStore
    from gridgate.security.resident_qr import current_code

    tenant = gate_world.residents["tenant"].person_id
    code = current_code(tenant, ResidentSecretStore(protector).get(tenant), clock.now())
    decision = _entry(gate, code)
    assert (decision["outcome"], decision["method"], decision["person_id"], decision["right"]) == (
        "open",
        "resident_qr",
        tenant,
        "tenant",
    )


def test_a_resident_code_at_an_estate_where_the_person_has_no_right(gate, gate_world, protector):
    from gridgate.adapters.resident_secrets import ResidentSecretStore
    from gridgate.security.resident_qr import current_code

    outsider = gate_world.residents["other_estate_owner"].person_id
    code = current_code(outsider, ResidentSecretStore(protector).get(outsider), clock.now())
    decision = _entry(gate, code)
    assert (decision["outcome"], decision["reason"], decision["person_id"]) == ("deny", "no_right", outsider)


def test_a_screenshot_of_an_old_resident_code_is_refused(gate, gate_world, protector):
    from gridgate.adapters.resident_secrets import ResidentSecretStore
    from gridgate.security.resident_qr import current_code

    owner = gate_world.residents["owner"].person_id
    stale = current_code(owner, ResidentSecretStore(protector).get(owner), clock.now() - timedelta(minutes=5))
    decision = _entry(gate, stale)
    assert (decision["outcome"], decision["reason"], decision["person_id"]) == ("deny", "resident_code_expired", None)


def test_the_gate_camera_image_of_a_pass_is_read_and_judged(gate, gate_world, pass_issuer):
    pass_id, text = pass_issuer(gate_world.estate_id, gate_world.home_id)
    decision = decision_of(gate.send("/gate/entry/qr", _qr_png(text), "image/png"))
    assert (decision["outcome"], decision["pass_id"]) == ("open", pass_id)


def test_an_image_without_a_readable_qr_is_denied(gate, testdata):
    photo = (testdata / "no_face" / "skimage_brick.png").read_bytes()
    decision = decision_of(gate.send("/gate/entry/qr", photo, "image/png"))
    assert (decision["outcome"], decision["reason"], decision["method"]) == ("deny", "no_qr", "unread_qr")


def test_non_image_bytes_as_a_qr_image_get_400(gate):
    response = gate.send("/gate/entry/qr", b"\x89PNG\r\n\x1a\n broken", "image/png")
    assert response.status_code == 400
    assert response.json_body["decision"]["outcome"] == "deny"


def test_an_exit_with_a_pass_is_recorded_without_using_it(gate, gate_world, pass_issuer, protector):
    from gridgate.adapters.pass_repository import PassRepository

    pass_id, text = pass_issuer(gate_world.estate_id, gate_world.home_id, max_uses=1)
    decision = decision_of(gate.qr("/gate/exit", text))
    assert (decision["outcome"], decision["reason"], decision["pass_id"]) == ("recorded", "exit_recorded", pass_id)
    assert PassRepository(protector).get(pass_id).uses == 0
    image_exit = decision_of(gate.send("/gate/exit", _qr_png(text), "image/png", kind="qr"))
    assert (image_exit["outcome"], image_exit["pass_id"]) == ("recorded", pass_id)


def test_an_unknown_capture_kind_at_the_exit_is_refused(gate, faceless_frame):
    response = gate.send("/gate/exit", faceless_frame, "image/jpeg", kind="fingerprint")
    assert response.status_code == 400 and response.json_body["code"] == "bad_capture_kind"


@pytest.fixture
def dynamodb_calls(monkeypatch):
    """The DynamoDB operations made while `counting` (botocore's one call path: every client,
    every thread of the warm function, each call one round trip to moto's server)."""
    from botocore.client import BaseClient

    calls: list[str] = []
    counting = [False]
    original = BaseClient._make_api_call

    def counted(client, operation, params):
        if counting[0] and client.meta.service_model.service_name == "dynamodb":
            calls.append(operation)
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counted)

    def during(call) -> list[str]:
        calls.clear()
        counting[0] = True
        try:
            call()
        finally:
            counting[0] = False
        return list(calls)

    return during


def test_a_resident_code_costs_the_round_trips_of_a_visitor_pass(
    gate, gate_world, protector, pass_issuer, dynamodb_calls
):
    """After a person's first code at a warm function (the secret and the right read together, then
    the write), every code is the write alone, like a visitor pass: the write checks that the secret
    and the right's rows still hold. An ended ownership and a removed secret still bite at the very
    next decision (the write is cancelled and the decision made again from fresh reads)."""
    from datetime import date

    from gridgate.adapters.repositories import OwnershipRepository, PersonRepository
    from gridgate.adapters.resident_secrets import ResidentSecretStore
    from gridgate.adapters.tables import PersonTable
    from gridgate.domain.model import Ownership, Person, Registry
    from gridgate.security.resident_qr import current_code, new_secret

    person = f"P-rt-{uuid.uuid4().hex[:8]}"
    PersonRepository(protector).add(
        Person(person, "住户", f"32010219800101{uuid.uuid4().int % 1000:03d}X", frozenset({Registry.APP}), 1980, "F")
    )
    secret = ResidentSecretStore(protector).put_if_absent(person, new_secret())
    home = f"H-rt-{person}"
    OwnershipRepository().add(Ownership(person, home, gate_world.estate_id, date(2020, 1, 1)))

    def code_entry() -> dict:
        decided: dict = {}
        calls = dynamodb_calls(lambda: decided.update(_entry(gate, current_code(person, secret, clock.now()))))
        return {**decided, "calls": calls}

    first = code_entry()
    assert (first["outcome"], first["person_id"]) == ("open", person)
    assert first["calls"][-1] == "TransactWriteItems" and "GetItem" in first["calls"]  # read once
    again = code_entry()
    assert (again["outcome"], again["person_id"], again["right"]) == ("open", person, "owner")
    assert again["calls"] == ["TransactWriteItems"]
    _, text = pass_issuer(gate_world.estate_id, gate_world.home_id)
    assert dynamodb_calls(lambda: _entry(gate, text)) == ["TransactWriteItems"]  # the visitor pass

    OwnershipRepository().end(person, home, date(2021, 1, 1))  # sold
    sold = code_entry()
    assert (sold["outcome"], sold["reason"], sold["person_id"]) == ("deny", "no_right", person)
    assert sold["calls"][0] == "TransactWriteItems" and sold["calls"].count("TransactWriteItems") == 2

    OwnershipRepository().add(Ownership(person, f"{home}-b", gate_world.estate_id, date(2020, 1, 1)))
    assert code_entry()["outcome"] == "open"
    PersonTable._get_connection().update_item(person, actions=[PersonTable.qr_secret_enc.remove()])
    withdrawn = code_entry()  # the phone's secret is gone: its codes stop at once
    assert (withdrawn["outcome"], withdrawn["reason"]) == ("deny", "unknown_person")

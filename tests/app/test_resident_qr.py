"""The resident's rotating identity QR: a code is useless a minute later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gridgate.adapters.audit import AuditLog
from gridgate.adapters.resident_secrets import ResidentSecretStore
from gridgate.adapters.tables import PersonTable
from gridgate.residents.resident_codes import ResidentCodes
from gridgate.security.resident_qr import (
    STEP_SECONDS,
    ResidentCodeRejected,
    current_code,
    is_resident_code,
    new_secret,
    verify_resident_code,
)

T0 = datetime(2026, 11, 24, 8, 0, 0, tzinfo=UTC)


def reason(text: str, secrets: dict, now: datetime) -> str:
    with pytest.raises(ResidentCodeRejected) as caught:
        verify_resident_code(text, secrets.get, now)
    return caught.value.reason


def test_the_code_changes_every_step_and_differs_between_people():
    secret = new_secret()
    codes = {current_code("P-1", secret, T0 + timedelta(seconds=s)) for s in range(0, 120, 10)}
    assert len(codes) == 120 // STEP_SECONDS
    assert current_code("P-1", secret, T0) != current_code("P-2", secret, T0)
    assert is_resident_code(current_code("P-1", secret, T0))


@pytest.mark.parametrize("offset", [0, 1, 15, 29, 30, 59])
def test_a_code_verifies_now_but_never_a_minute_later(offset):
    secret = new_secret()
    shown_at = T0 + timedelta(seconds=offset)
    code = current_code("P-1", secret, shown_at)
    secrets = {"P-1": secret}
    assert verify_resident_code(code, secrets.get, shown_at) == "P-1"
    assert verify_resident_code(code, secrets.get, shown_at + timedelta(seconds=29)) == "P-1"  # gate clock a bit ahead
    for later in (60, 61, 90, 600):
        assert reason(code, secrets, shown_at + timedelta(seconds=later)) == "expired"


def test_codes_from_the_far_future_or_another_secret_or_person_are_refused():
    secret = new_secret()
    secrets = {"P-1": secret, "P-2": new_secret()}
    assert reason(current_code("P-1", secret, T0 + timedelta(minutes=5)), secrets, T0) == "expired"
    assert reason(current_code("P-1", new_secret(), T0), secrets, T0) == "expired"
    stolen = current_code("P-1", secret, T0)
    assert reason(stolen.replace("P-1", "P-2"), secrets, T0) == "expired"
    assert reason(current_code("P-9", secret, T0), secrets, T0) == "unknown_person"


@pytest.mark.parametrize("text", ["", "GGP1:AAAA", "GGR1:", "GGR1:P-1", "GGR1::ABCDEFGHIJKLMNOP", "GGR1:P-1:SHORT"])
def test_malformed_codes(text):
    assert reason(text, {"P-1": new_secret()}, T0) == "bad_format"


def test_the_secret_is_created_once_sealed_and_verifies_the_codes_it_gives(city, protector):
    person, _ = city.person()
    version_before = PersonTable.get(person).version
    codes = ResidentCodes(secrets=ResidentSecretStore(protector), audit=AuditLog())
    first = codes.current(person, T0, "req-1")
    again = codes.current(person, T0 + timedelta(seconds=STEP_SECONDS), "req-2")
    assert first.code != again.code
    assert verify_resident_code(first.code, codes.secret_for, T0) == person
    item = PersonTable.get(person)
    assert item.qr_secret_enc is not None and codes.secret_for(person) not in item.qr_secret_enc
    assert item.version == version_before  # the registry version the grid workers lock on is untouched
    assert codes.secret_for("P-nobody") is None

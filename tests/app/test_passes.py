"""Visitor passes: signed payloads that verify offline, and the table's atomic use count."""

from __future__ import annotations

import io
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import zxingcpp
from PIL import Image

from gridgate import clock
from gridgate.adapters.pass_repository import PassRepository
from gridgate.domain.model import VisitorPass
from gridgate.qr.render import qr_png, qr_version
from gridgate.security.keyring import Keyring
from gridgate.security.signed_passes import (
    PREFIX,
    PassClaims,
    PassRejected,
    new_pass_id,
    public_keys,
    rotate_signing_key,
    sign_pass,
    verify_pass_text,
)

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
ESTATE, HOME = "E-0001", "H-E0001-B03-2-0501"


@pytest.fixture(scope="module")
def ring() -> Keyring:
    return Keyring.generate()


def claims(**changes) -> PassClaims:
    base = PassClaims(new_pass_id(), ESTATE, HOME, NOW, NOW + timedelta(hours=24), "k1", 3)
    return replace(base, **changes)


def rejection(text: str, keys: dict, estate: str = ESTATE, now: datetime = NOW + timedelta(hours=1)) -> str:
    with pytest.raises(PassRejected) as caught:
        verify_pass_text(text, keys, estate, now)
    return caught.value.reason


def test_a_signed_pass_verifies_offline_with_public_keys_only(ring):
    issued = claims()
    text = sign_pass(issued, ring)
    assert text.startswith(PREFIX)
    assert verify_pass_text(text, public_keys(ring), ESTATE, NOW + timedelta(hours=23, minutes=59)) == issued
    assert sign_pass(issued, ring) == text  # deterministic: the QR can be redrawn later
    assert verify_pass_text(sign_pass(claims(max_uses=None), ring), public_keys(ring), ESTATE, NOW).max_uses is None


def test_payload_fits_a_small_qr_code_and_the_png_reads_back(ring):
    text = sign_pass(claims(), ring)
    assert len(text) == 197
    assert qr_version(text) == 8  # 49x49 modules at error correction M
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_png(text))))
    assert [code.text for code in decoded] == [text]


def test_no_single_character_change_verifies(ring):
    text = sign_pass(claims(), ring)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    reasons = set()
    for position in range(len(PREFIX), len(text)):
        swapped = alphabet[(alphabet.index(text[position]) + 1) % len(alphabet)]
        reasons.add(rejection(text[:position] + swapped + text[position + 1 :], public_keys(ring)))
    assert reasons <= {"bad_signature", "bad_format", "unknown_key"}
    assert "bad_signature" in reasons


def test_forged_claims_under_a_foreign_key_do_not_verify(ring):
    forger = Keyring.generate()  # same key id "k1", different key
    assert rejection(sign_pass(claims(), forger), public_keys(ring)) == "bad_signature"


def test_window_estate_and_key_checks(ring):
    keys = public_keys(ring)
    text = sign_pass(claims(), ring)
    assert rejection(text, keys, now=NOW - timedelta(seconds=1)) == "not_yet_valid"
    assert rejection(text, keys, now=NOW + timedelta(hours=24)) == "expired"
    assert rejection(text, keys, estate="E-0002") == "wrong_estate"
    assert rejection(text, {"k2": keys["k1"]}) == "unknown_key"


@pytest.mark.parametrize(
    "text",
    ["", "hello", "GGP1:", "GGP1:!!!!", "GGP1:" + "A" * 100, "GGP1:" + "A" * 2000, "GGR1:P-1:ABCDEFGHIJKLMNOP"],
)
def test_malformed_texts_are_bad_format(ring, text):
    assert rejection(text, public_keys(ring)) == "bad_format"


def test_truncated_body_is_bad_format(ring):
    text = sign_pass(claims(), ring)
    assert rejection(text[:-8], public_keys(ring)) in {"bad_format", "bad_signature"}


def test_rotation_keeps_old_passes_valid_and_signs_new_ones_with_the_new_key(ring):
    old_text = sign_pass(claims(), ring)
    rotated = rotate_signing_key(ring, "k2")
    assert rotated.active_signing_key_id == "k2" and set(public_keys(rotated)) == {"k1", "k2"}
    new_text = sign_pass(claims(key_id="k2"), rotated)
    assert verify_pass_text(old_text, public_keys(rotated), ESTATE, NOW).key_id == "k1"
    assert verify_pass_text(new_text, public_keys(rotated), ESTATE, NOW).key_id == "k2"
    assert rejection(new_text, public_keys(ring)) == "unknown_key"  # a gate that missed the rotation
    with pytest.raises(ValueError):
        rotate_signing_key(rotated, "k1")


# --- the table: revocation and the atomic use count ------------------------------------------


def stored_pass(protector, max_uses: int | None = 3, valid_from: datetime | None = None) -> VisitorPass:
    start = valid_from or clock.now().replace(microsecond=0) - timedelta(minutes=1)
    visitor_pass = VisitorPass(
        new_pass_id(), ESTATE, HOME, "P-owner", "王五", start, start + timedelta(hours=24), "k1", max_uses
    )
    PassRepository(protector).create(visitor_pass)
    return visitor_pass


def consume_reason(repo: PassRepository, pass_id: str, now: datetime) -> str:
    with pytest.raises(PassRejected) as caught:
        repo.consume_use(pass_id, now)
    return caught.value.reason


def test_use_limit_holds_under_concurrent_gates(moto_server, protector):
    repo = PassRepository(protector)
    visitor_pass = stored_pass(protector, max_uses=3)
    now = clock.now()
    outcomes: list[str] = []

    def gate():
        try:
            repo.consume_use(visitor_pass.pass_id, now)
            outcomes.append("open")
        except PassRejected as rejected:
            outcomes.append(rejected.reason)

    threads = [threading.Thread(target=gate) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["open"] * 3 + ["used_up"] * 9
    assert repo.get(visitor_pass.pass_id).uses == 3


def test_revoked_expired_unknown_and_unlimited_passes(moto_server, protector):
    repo = PassRepository(protector)
    now = clock.now()
    revoked = stored_pass(protector)
    repo.revoke(revoked.pass_id, now)
    assert consume_reason(repo, revoked.pass_id, now) == "revoked"
    with pytest.raises(PassRejected):
        repo.revoke(revoked.pass_id, now)

    timed = stored_pass(protector)
    assert consume_reason(repo, timed.pass_id, timed.valid_until) == "expired"
    assert consume_reason(repo, timed.pass_id, timed.valid_from - timedelta(seconds=1)) == "not_yet_valid"
    assert consume_reason(repo, new_pass_id(), now) == "unknown_pass"

    unlimited = stored_pass(protector, max_uses=None)
    assert [repo.consume_use(unlimited.pass_id, now).uses for _ in range(5)] == [1, 2, 3, 4, 5]


def test_visitor_name_is_sealed_at_rest(moto_server, protector):
    from gridgate.adapters.tables import VisitorPassTable

    visitor_pass = stored_pass(protector)
    assert "王五".encode() not in VisitorPassTable.get(visitor_pass.pass_id).visitor_name_enc
    assert PassRepository(protector).get(visitor_pass.pass_id).visitor_name == "王五"

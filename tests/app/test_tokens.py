"""Bearer tokens: signature, issuer, audience, expiry, key id and algorithm are all enforced."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gridgate.config import get_settings
from gridgate.security.keyring import Keyring
from gridgate.security.tokens import Principal, TokenError, issue_token, verify_bearer

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def refused(token: str, now: datetime = NOW, **kwargs) -> str:
    with pytest.raises(TokenError) as caught:
        verify_bearer(token, now=now, **kwargs)
    return caught.value.code


def test_valid_token_gives_the_principal_with_known_roles_only():
    token = issue_token("P-1", ["resident", "admin"], ["G-1"], now=NOW)
    assert verify_bearer(token, now=NOW + timedelta(minutes=14)) == Principal(
        "P-1", frozenset({"resident"}), frozenset({"G-1"})
    )


def test_expired_and_not_yet_valid_tokens_are_refused():
    token = issue_token("P-1", ["resident"], ttl_seconds=900, now=NOW)
    leeway = get_settings().token_leeway_seconds
    assert verify_bearer(token, now=NOW + timedelta(seconds=900 + leeway - 1)).subject == "P-1"
    assert refused(token, NOW + timedelta(seconds=900 + leeway)) == "token_expired"
    assert refused(token, NOW - timedelta(seconds=leeway + 1)) == "token_not_yet_valid"


def test_wrong_audience_and_wrong_issuer():
    settings = get_settings()
    other_audience = settings.model_copy(update={"token_audience": "some-other-api"})
    other_issuer = settings.model_copy(update={"token_issuer": "https://evil.example"})
    assert refused(issue_token("P-1", ["resident"], now=NOW, settings=other_audience)) == "wrong_audience"
    assert refused(issue_token("P-1", ["resident"], now=NOW, settings=other_issuer)) == "wrong_issuer"


def test_a_token_signed_by_another_key_under_our_key_id_is_refused(keyring):
    impostor = replace(keyring, token_issuer_key=Keyring.generate().token_issuer_key)
    assert refused(issue_token("P-1", ["resident"], now=NOW, keyring=impostor)) == "bad_token"


def test_an_unknown_key_id_is_refused(keyring):
    other = Keyring.generate(token_key_id="idp-other")
    assert refused(issue_token("P-1", ["resident"], now=NOW, keyring=other)) == "unknown_key"


def test_tampered_claims_break_the_signature():
    header, payload, signature = issue_token("P-1", ["resident"], now=NOW).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["roles"] = ["resident", "data_center"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    assert refused(f"{header}.{forged}.{signature}") == "bad_token"


def test_other_algorithms_and_garbage_are_refused(keyring):
    claims = {"sub": "P-1", "roles": ["resident"], "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 60}
    public_as_hmac_secret = keyring.token_verify_keys[keyring.token_issuer_key_id]
    hs256 = jwt.encode(claims, public_as_hmac_secret, algorithm="HS256", headers={"kid": keyring.token_issuer_key_id})
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert refused(hs256) == "bad_token"
    assert refused(unsigned) == "bad_token"
    assert refused("not-a-jwt") == "bad_token"
    assert refused("") == "bad_token"


def test_verification_needs_only_the_public_keys(keyring):
    """An API deployment holds the IdP's public keys and no issuer key, and still verifies."""
    verify_only = replace(keyring, token_issuer_key=b"", token_issuer_key_id="")
    token = issue_token("P-1", ["grid_worker"], ["G-7"], now=NOW)
    assert verify_bearer(token, now=NOW, keyring=verify_only).grids == frozenset({"G-7"})
    with pytest.raises(RuntimeError):
        issue_token("P-1", ["resident"], keyring=verify_only)


def test_malformed_role_claims_are_refused(keyring):
    settings = get_settings()
    claims = {
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
        "sub": "P-1",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 60,
        "roles": "resident",
    }
    key = Ed25519PrivateKey.from_private_bytes(keyring.token_issuer_key)
    token = jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": keyring.token_issuer_key_id})
    assert refused(token) == "bad_token"

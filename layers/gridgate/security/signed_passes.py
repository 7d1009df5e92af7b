"""Visitor-pass QR payloads: signed with Ed25519 so a gate verifies them offline with a public key.

Text format (v1)::

    GGP1:<base32 of body || signature>

    body      = version u8 (=1) | pass_id 16 bytes | valid_from u32 | valid_until u32
                | max_uses u16 (0 = no limit) | key_id, estate_id, home_id (each u8 length + UTF-8)
    signature = Ed25519 over b"gridgate-pass-v1\\n" + body   (64 bytes)

Why this shape: a QR code holds the fewest modules when its text is in QR *alphanumeric* mode
(5.5 bits a character), whose alphabet is digits, upper-case letters and `` $%*+-./:``. RFC 4648
base32 without padding stays inside it: with typical ids (estate "E-0001", home
"H-E0001-B03-2-0501") a pass is 197 characters and a version-8 code at error-correction level M
(49x49 modules), which a phone shows at arm's length; the same bytes in base64url force byte mode
and a version-9 code. A fixed binary layout (no JSON, no CBOR) keeps the body near 60 bytes, the
signature being the other 64 (tests/app/test_passes.py checks the length, the version and that
the PNG reads back). The signature covers a domain-separation line before the body, so no other
object signed with the same key can ever pass for a visitor pass.

What a pass proves by its signature alone: which pass, which estate and home, the validity window,
the use limit and which key signed it. What it cannot prove (revocation, uses so far) the gate asks
the table, or offline the snapshot's revocation list (`gridgate.gate.signed_snapshot`).

Key rotation: `rotate_signing_key` makes a new key id active; older keys stay in the keyring (and
in `public_keys`) so passes signed with them verify until they expire. A key may be removed from
the keyring `MAX_PASS_VALIDITY + MAX_PASS_ADVANCE` after it stopped being active: no pass it signed
can still be valid then.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gridgate.security.keyring import Keyring, ed25519_public_key

PREFIX = "GGP1:"
_VERSION = 1
_SIGNED_DOMAIN = b"gridgate-pass-v1\n"
_FIXED = struct.Struct(">B16sIIH")  # version, pass id, valid_from, valid_until, max_uses
_SIGNATURE_BYTES = 64
_MAX_TEXT = 1024  # far above any real pass; refuses absurd input before decoding it


class PassRejected(Exception):
    """A pass that must not open a gate. `reason`: bad_format, unknown_key, bad_signature,
    wrong_estate, not_yet_valid, expired, and (from the table) revoked, used_up, unknown_pass."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason


@dataclass(frozen=True)
class PassClaims:
    """What a signed pass states. Times are whole seconds, UTC; `max_uses` None means no limit."""

    pass_id: str  # 32 lower-case hex digits (a UUID)
    estate_id: str
    home_id: str
    valid_from: datetime
    valid_until: datetime
    key_id: str
    max_uses: int | None = None


def new_pass_id() -> str:
    return uuid.uuid4().hex


def sign_pass(claims: PassClaims, keyring: Keyring) -> str:
    """The QR text of a pass, signed with the keyring's key `claims.key_id`.

    Ed25519 signatures are deterministic, so signing the same claims again (to redraw the QR)
    gives the very same text.
    """
    body = _encode_body(claims)
    signature = Ed25519PrivateKey.from_private_bytes(keyring.signing_keys[claims.key_id]).sign(_SIGNED_DOMAIN + body)
    return PREFIX + base64.b32encode(body + signature).decode("ascii").rstrip("=")


def verify_pass_text(text: str, public_keys: dict[str, bytes], estate_id: str, now: datetime) -> PassClaims:
    """The claims of a genuine pass for this estate, valid at `now`; raises `PassRejected`.

    Checked in this order: format, key id, signature, estate, window. Nothing from the body is
    trusted before the signature has verified.
    """
    body, signature = _split(text)
    claims = _decode_body(body)
    public_key = public_keys.get(claims.key_id)
    if public_key is None:
        raise PassRejected("unknown_key", f"pass signed with unknown key {claims.key_id!r}")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, _SIGNED_DOMAIN + body)
    except InvalidSignature:
        raise PassRejected("bad_signature", "pass signature does not verify") from None
    if claims.estate_id != estate_id:
        raise PassRejected("wrong_estate", "pass is for another estate")
    if now < claims.valid_from:
        raise PassRejected("not_yet_valid", "pass is not valid yet")
    if now >= claims.valid_until:
        raise PassRejected("expired", "pass has expired")
    return claims


def public_keys(keyring: Keyring) -> dict[str, bytes]:
    """Raw Ed25519 public keys by key id: all a gate needs to verify passes."""
    return {key_id: ed25519_public_key(private) for key_id, private in keyring.signing_keys.items()}


def rotate_signing_key(keyring: Keyring, new_key_id: str) -> Keyring:
    """A keyring whose active pass-signing key is a fresh `new_key_id`; older keys still verify."""
    if new_key_id in keyring.signing_keys:
        raise ValueError(f"key id {new_key_id!r} is already in the keyring")
    return replace(
        keyring,
        signing_keys={**keyring.signing_keys, new_key_id: os.urandom(32)},
        active_signing_key_id=new_key_id,
    )


def _encode_body(claims: PassClaims) -> bytes:
    fixed = _FIXED.pack(
        _VERSION,
        uuid.UUID(hex=claims.pass_id).bytes,
        _epoch(claims.valid_from),
        _epoch(claims.valid_until),
        claims.max_uses or 0,
    )
    return fixed + b"".join(_short_text(t) for t in (claims.key_id, claims.estate_id, claims.home_id))


def _decode_body(body: bytes) -> PassClaims:
    try:
        version, raw_id, valid_from, valid_until, max_uses = _FIXED.unpack_from(body)
        if version != _VERSION:
            raise PassRejected("bad_format", f"unknown pass version {version}")
        texts, offset = [], _FIXED.size
        for _ in range(3):
            length = body[offset]
            texts.append(body[offset + 1 : offset + 1 + length].decode("utf-8"))
            offset += 1 + length
        if offset != len(body):  # a truncated or padded body never lands exactly on its end
            raise PassRejected("bad_format", "pass body has the wrong length")
    except (struct.error, IndexError, UnicodeDecodeError):
        raise PassRejected("bad_format", "pass body is malformed") from None
    key_id, estate_id, home_id = texts
    return PassClaims(
        pass_id=uuid.UUID(bytes=raw_id).hex,
        estate_id=estate_id,
        home_id=home_id,
        valid_from=datetime.fromtimestamp(valid_from, UTC),
        valid_until=datetime.fromtimestamp(valid_until, UTC),
        key_id=key_id,
        max_uses=max_uses or None,
    )


def _split(text: str) -> tuple[bytes, bytes]:
    if not isinstance(text, str) or not text.startswith(PREFIX) or len(text) > _MAX_TEXT:
        raise PassRejected("bad_format", "not a gridgate visitor pass")
    encoded = text[len(PREFIX) :].strip()
    try:
        raw = base64.b32decode(encoded + "=" * (-len(encoded) % 8))
    except (binascii.Error, ValueError):
        raise PassRejected("bad_format", "pass is not valid base32") from None
    if len(raw) <= _FIXED.size + _SIGNATURE_BYTES:
        raise PassRejected("bad_format", "pass is too short")
    return raw[:-_SIGNATURE_BYTES], raw[-_SIGNATURE_BYTES:]


def _epoch(at: datetime) -> int:
    if at.tzinfo is None:
        raise ValueError("pass times must be timezone-aware")
    return int(at.timestamp())


def _short_text(text: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > 255:
        raise ValueError(f"pass field too long for the QR format: {text!r}")
    return bytes([len(raw)]) + raw

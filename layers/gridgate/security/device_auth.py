"""Who is calling: every gate request is signed by the gate's own Ed25519 key.

Why Ed25519 per device and not a shared API key: a stolen or cloned gate then speaks only as
itself (revoke one public key in the gates table), and the cloud stores nothing that can sign.

The signed message (UTF-8, ``\\n``-joined, fixed order; see docs/gate.md)::

    gridgate-gate-request-v1
    <HTTP method, upper case>
    <resource path, e.g. /gate/entry/face>
    <gate id>
    <timestamp: Unix seconds>
    <nonce: 16-64 chars of [A-Za-z0-9_-]>
    <sha256 hex of the body>
    <x-device-event-id value or empty>
    <x-captured-at value or empty>
    <x-liveness-score value or empty>
    <x-capture-kind value or empty>

The device headers are signed too: a liveness score or event id that could be changed in
transit would be worth nothing. The server refuses (401, never an event, never an open gate):
an unknown gate or one without a key (``unknown_gate``), missing or malformed headers
(``missing_signature``), a timestamp outside ±`gate_request_window_seconds` (``stale_request``),
a signature that does not verify (``bad_signature``), and a nonce already used by that gate
(``replayed_request``). The nonce is claimed only after the signature verified, so nobody can
burn a gate's nonces. The estate a gate acts for comes from its gate record, never the request.

Where the nonce is claimed: `authenticate` claims it at once (a conditional put), before the
request has any effect. `verify` checks everything else and leaves the claim to the caller, for
requests whose only effect is one atomic write that can carry the claim: the gate decisions claim
it in the very transaction that records the decision's event (one DynamoDB round trip fewer per
passage; `gridgate.adapters.gate_writes`). Either way a replay is refused before anything is
stored, and whichever write finds the nonce used raises `ReplayedRequest`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from gridgate.clock import now as city_now
from gridgate.domain.model import Gate
from gridgate.refusals import CodedError

SCHEME = "gridgate-gate-request-v1"
HEADER_GATE_ID = "X-Gate-Id"
HEADER_TIMESTAMP = "X-Gate-Timestamp"
HEADER_NONCE = "X-Gate-Nonce"
HEADER_SIGNATURE = "X-Gate-Signature"
HEADER_EVENT_ID = "X-Device-Event-Id"
HEADER_CAPTURED_AT = "X-Captured-At"
HEADER_LIVENESS = "X-Liveness-Score"
HEADER_CAPTURE_KIND = "X-Capture-Kind"  # exits: whether the image shows a face or a QR code
#: Device headers whose values are part of the signed message, in this order.
SIGNED_DEVICE_HEADERS = (HEADER_EVENT_ID, HEADER_CAPTURED_AT, HEADER_LIVENESS, HEADER_CAPTURE_KIND)
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_GATE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


class DeviceAuthError(CodedError):
    """The request is not from a gate we trust: `code` is one of the refusals listed above."""


class ReplayedRequest(DeviceAuthError):
    """The request's nonce was used before: raised by whichever write claimed it, nothing stored."""

    def __init__(self) -> None:
        super().__init__("replayed_request")


@dataclass(frozen=True)
class NonceClaim:
    """A verified request's nonce, to be remembered as used by `gate_id` until `remember_until`.

    `now` is the verifying clock: a remembered nonce whose time ran out before it counts as free
    (DynamoDB deletes expired rows only eventually, moto never), so expiry never rests on the TTL.
    """

    gate_id: str
    nonce: str
    now: datetime
    remember_until: datetime


def canonical_message(
    method: str, path: str, gate_id: str, timestamp: str, nonce: str, body: bytes, device_headers: Mapping[str, str]
) -> bytes:
    lines = [SCHEME, method.upper(), path, gate_id, timestamp, nonce, hashlib.sha256(body).hexdigest()]
    lines += [_header(device_headers, name) for name in SIGNED_DEVICE_HEADERS]
    return "\n".join(lines).encode("utf-8")


def _header(headers: Mapping[str, str], name: str) -> str:
    """Header look-up that works for plain dicts and for Chalice's case-insensitive mapping."""
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return "" if value is None else str(value)


def sign_request(
    private_key: bytes,
    gate_id: str,
    method: str,
    path: str,
    body: bytes = b"",
    device_headers: Mapping[str, str] | None = None,
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers a gate device sends: its device headers plus id, timestamp, nonce and signature.

    Used by the gate-side uploader, the offline verifier, the benchmark, the demo and the tests.
    """
    device_headers = {name: str(value) for name, value in (device_headers or {}).items()}
    stamp = str(int(city_now().timestamp()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_urlsafe(18)
    message = canonical_message(method, path, gate_id, stamp, nonce, body, device_headers)
    signature = Ed25519PrivateKey.from_private_bytes(private_key).sign(message)
    return {
        **device_headers,
        HEADER_GATE_ID: gate_id,
        HEADER_TIMESTAMP: stamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: base64.b64encode(signature).decode("ascii"),
    }


@dataclass(frozen=True)
class AuthenticatedGate:
    """A gate whose request verified. `estate_id` is the only estate it may act for.

    `nonce` is already claimed when `authenticate` returned this; after `verify` the caller must
    claim it in the write that gives the request its effect.
    """

    gate: Gate
    nonce: NonceClaim

    @property
    def gate_id(self) -> str:
        return self.gate.gate_id

    @property
    def estate_id(self) -> str:
        return self.gate.estate_id


class DeviceAuthenticator:
    """Verifies signed gate requests against the gates table and the nonce store."""

    def __init__(
        self,
        find_gate: Callable[[str], Gate | None],
        claim_nonce: Callable[[NonceClaim], bool],
        *,
        window_seconds: int,
        clock: Callable[[], datetime] = city_now,
    ) -> None:
        self._find_gate = find_gate
        self._claim_nonce = claim_nonce
        self._window = window_seconds
        self._clock = clock

    def authenticate(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> AuthenticatedGate:
        """`verify`, then claim the nonce at once: for requests whose effect is not one atomic write."""
        verified = self.verify(method, path, headers, body)
        if not self._claim_nonce(verified.nonce):
            raise ReplayedRequest()
        return verified

    def verify(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> AuthenticatedGate:
        """Every check but the nonce's: the caller must claim `AuthenticatedGate.nonce` in its write."""
        gate_id = _header(headers, HEADER_GATE_ID)
        stamp = _header(headers, HEADER_TIMESTAMP)
        nonce = _header(headers, HEADER_NONCE)
        signature_text = _header(headers, HEADER_SIGNATURE)
        well_formed = _GATE_ID.match(gate_id) and stamp.isdigit() and len(stamp) <= 12 and _NONCE.match(nonce)
        if not (well_formed and signature_text):
            raise DeviceAuthError("missing_signature")
        gate = self._find_gate(gate_id)
        if gate is None or len(gate.device_public_key) != 32:
            raise DeviceAuthError("unknown_gate")
        now = self._clock()
        if abs(now.timestamp() - int(stamp)) > self._window:
            raise DeviceAuthError("stale_request", window_seconds=self._window)
        message = canonical_message(method, path, gate_id, stamp, nonce, body, headers)
        try:
            Ed25519PublicKey.from_public_bytes(gate.device_public_key).verify(
                _decode_signature(signature_text), message
            )
        except InvalidSignature as err:
            raise DeviceAuthError("bad_signature") from err
        remember_until = datetime.fromtimestamp(int(stamp), UTC) + timedelta(seconds=2 * self._window)
        return AuthenticatedGate(gate, NonceClaim(gate_id, nonce, now, remember_until))


def _decode_signature(text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return b""
    return raw if len(raw) == 64 else b""

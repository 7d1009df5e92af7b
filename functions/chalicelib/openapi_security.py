"""The two ways a caller proves who it is, as OpenAPI security schemes a device maker can follow.

App callers send a bearer JWT. Gates sign every request with their own Ed25519 key; OpenAPI has no
scheme type for request signatures, so the scheme is declared as the ``X-Gate-Signature`` header
(``apiKey``) and its description says exactly how to build the string to sign, followed by a
worked example. The example is computed here with the real signing code
(`gridgate.security.device_auth.canonical_message`) from a published test key (RFC 8032 §7.1,
test 1), so it cannot drift from what the server verifies; `tests/app/test_openapi.py` verifies
the example's signature with the real `DeviceAuthenticator`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TypedDict

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gridgate.config import Settings
from gridgate.security.device_auth import (
    HEADER_CAPTURED_AT,
    HEADER_EVENT_ID,
    HEADER_GATE_ID,
    HEADER_LIVENESS,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    SCHEME,
    SIGNED_DEVICE_HEADERS,
    canonical_message,
)
from gridgate.security.keyring import ed25519_public_key

BEARER = "bearerAuth"
GATE = "gateSignature"

#: RFC 8032 §7.1 TEST 1's secret key: public, so anyone can redo the example (never a real gate's key).
EXAMPLE_PRIVATE_KEY = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")


class ExampleRequest(TypedDict):
    """The worked example's parts: each one a device maker fills in from its own request."""

    method: str
    path: str
    gate_id: str
    timestamp: str
    nonce: str
    body: str
    device_headers: dict[str, str]


EXAMPLE_REQUEST: ExampleRequest = {
    "method": "POST",
    "path": "/gate/entry/qr",
    "gate_id": "gate-E-0001-north",
    "timestamp": "1767225600",
    "nonce": "k3v9Qm2xT7pL0aZc",
    "body": '{"text":"GGP1:EXAMPLE"}',
    "device_headers": {HEADER_EVENT_ID: "evt-000123", HEADER_CAPTURED_AT: "2026-01-01T08:00:00+08:00"},
}

_STEPS = (
    f"""Every gate request carries four headers: `{HEADER_GATE_ID}` (the gate's registered id),
`{HEADER_TIMESTAMP}` (Unix seconds; refused when more than the server's window,
`gate_request_window_seconds`, {Settings.model_fields["gate_request_window_seconds"].default} s by default, off its clock), `{HEADER_NONCE}` (16-64 characters of `[A-Za-z0-9_-]`, never reused by that gate) and
`{HEADER_SIGNATURE}`: the standard base64 of the 64-byte Ed25519 signature, made with the gate's own
private key, over these lines joined by a single `\\n` (no trailing newline), encoded as UTF-8:

1. `{SCHEME}`
2. the HTTP method in upper case
3. the path as documented here, without host, stage or query (e.g. `/gate/entry/qr`)
4. the gate id (as in `{HEADER_GATE_ID}`)
5. the timestamp (as in `{HEADER_TIMESTAMP}`)
6. the nonce (as in `{HEADER_NONCE}`)
7. the lower-case hex SHA-256 of the exact body bytes (of the empty string for a GET)
"""
    + "".join(
        f"{8 + i}. the value of `{name}` as sent, or an empty line when the header is absent\n"
        for i, name in enumerate(SIGNED_DEVICE_HEADERS)
    )
    + """
The gate's public key (32 bytes) is registered in its gate record; the estate a gate acts for is
taken from that record, never from the request. Refusals are 401 with codes `missing_signature`,
`unknown_gate`, `stale_request`, `bad_signature`, `replayed_request`; nothing is recorded and no
gate opens. A retry of the same passage resends the same `X-Device-Event-Id` and `X-Captured-At`
with a new timestamp, nonce and signature.
"""
)


def worked_example() -> dict:
    """The example request, the exact string signed, and the headers it is sent with."""
    example = EXAMPLE_REQUEST
    body = example["body"].encode("utf-8")
    message = canonical_message(
        example["method"],
        example["path"],
        example["gate_id"],
        example["timestamp"],
        example["nonce"],
        body,
        example["device_headers"],
    )
    signature = Ed25519PrivateKey.from_private_bytes(EXAMPLE_PRIVATE_KEY).sign(message)
    return {
        "private_key_hex": EXAMPLE_PRIVATE_KEY.hex(),
        "public_key_base64": base64.b64encode(ed25519_public_key(EXAMPLE_PRIVATE_KEY)).decode("ascii"),
        "request": f"{example['method']} {example['path']}",
        "body": example["body"],
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "string_to_sign": message.decode("utf-8"),
        "headers": {
            **example["device_headers"],
            "Content-Type": "application/json",
            HEADER_GATE_ID: example["gate_id"],
            HEADER_TIMESTAMP: example["timestamp"],
            HEADER_NONCE: example["nonce"],
            HEADER_SIGNATURE: base64.b64encode(signature).decode("ascii"),
        },
    }


def security_schemes() -> dict:
    example = worked_example()
    description = (
        _STEPS + "\nWorked example (the secret key is RFC 8032's first test key, public by design; "
        "`security.device_auth.sign_request` does all of this):\n\n```json\n"
        + json.dumps(example, indent=2, ensure_ascii=False)
        + "\n```\n"
    )
    return {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A token from the city's identity provider (issuer, audience, expiry checked); its `roles` "
            "name what the caller may call (`x-required-role` per operation). 401 carries "
            '`WWW-Authenticate: Bearer realm="gridgate"`.',
        },
        GATE: {
            "type": "apiKey",
            "in": "header",
            "name": HEADER_SIGNATURE,
            "description": description,
            "x-gridgate-signature": {"algorithm": "Ed25519", "scheme": SCHEME, "example": example},
        },
    }


#: Headers a gate sends besides the signature: declared as parameters of every gate operation.
GATE_HEADERS = (
    (HEADER_GATE_ID, True, {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,128}$"}, "the gate's registered id"),
    (HEADER_TIMESTAMP, True, {"type": "string", "pattern": "^[0-9]{1,12}$"}, "Unix seconds"),
    (HEADER_NONCE, True, {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$"}, "never reused by this gate"),
)
#: The device headers of a decision (signed too).
DEVICE_HEADERS = (
    (HEADER_EVENT_ID, True, {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"}, "unique per passage on this gate"),
    (
        HEADER_CAPTURED_AT,
        True,
        {"type": "string", "format": "date-time"},
        "ISO 8601 with offset; at most 10 minutes old",
    ),
    (HEADER_LIVENESS, False, {"type": "string"}, "the device's liveness score, 0..1 (required for faces)"),
)

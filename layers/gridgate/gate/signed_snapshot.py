"""An estate snapshot a gate can decide from without the cloud, signed so a gate can trust it.

What is in it, and why that is safe to hold on a gate (docs/gate.md, "Offline mode"):

- visitor-pass *public* keys (they verify, they cannot issue) and, for the estate's passes that
  are not over yet, their status, use count and use limit: the revocation list and the counts;
- for each person with a right to *this* estate on the snapshot's day: the right (kind, home, grant)
  and the face templates their consent allows at this estate (`gridgate.compliance.face_purposes`:
  a `device_only` face only when the estate matches on the device) as encodings, never photos, under
  the pseudonymous person id only: no name, ID number, phone or address;
- resident rotating codes: not the per-person secrets (a stolen gate could then mint codes for
  those residents at every estate), but, per resident, keyed digests of the codes that will be
  valid during the snapshot's lifetime (a digest cannot be turned back into a code).

The document is canonical JSON; the envelope carries it base64-encoded with an Ed25519 signature
over ``b"gridgate-gate-snapshot-v1\\n" + payload`` (the prefix keeps a snapshot signature from ever
verifying as some other signed object of the same key). A gate refuses a snapshot that does not
verify, is for another estate, or is past `valid_until`: then it decides nothing offline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime

import numpy as np
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

#: v2: templates are grouped by registry AND encoder id ({"app": {"<encoder id>": base64}}).
FORMAT = "gridgate-gate-snapshot-v2"
#: Floats per face template (face_recognition's encoding), stored little-endian float32.
ENCODING_DIM = 128
_SIGNING_PREFIX = (FORMAT + "\n").encode()


class SnapshotRejected(Exception):
    """The snapshot cannot be trusted (`code`: bad_envelope, unknown_key, bad_signature, wrong_estate,
    expired, bad_document, rolled_back)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def canonical_json(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def seal(document: dict, key_id: str, private_key: bytes) -> dict:
    """The signed envelope of `document` (what the cloud stores in S3 and serves to gates)."""
    payload = canonical_json(document)
    signature = Ed25519PrivateKey.from_private_bytes(private_key).sign(_SIGNING_PREFIX + payload)
    return {
        "format": FORMAT,
        "snapshot_id": document["snapshot_id"],
        "key_id": key_id,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signature": base64.b64encode(signature).decode("ascii"),
    }


def open_envelope(envelope: dict, trusted_keys: dict[str, bytes], estate_id: str, now: datetime) -> dict:
    """The verified document inside `envelope`; raises `SnapshotRejected`.

    `trusted_keys` are the cloud's snapshot public keys the gate was provisioned with, by key id.
    """
    try:
        key_id = envelope["key_id"]
        payload = base64.b64decode(envelope["payload"], validate=True)
        signature = base64.b64decode(envelope["signature"], validate=True)
    except (KeyError, TypeError, binascii.Error, ValueError) as err:
        raise SnapshotRejected("bad_envelope", "the snapshot envelope is malformed") from err
    public_key = trusted_keys.get(key_id)
    if public_key is None:
        raise SnapshotRejected("unknown_key", f"snapshot key {key_id!r} is not trusted by this gate")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, _SIGNING_PREFIX + payload)
    except InvalidSignature as err:
        raise SnapshotRejected("bad_signature", "the snapshot signature does not verify") from err
    try:
        document = json.loads(payload)
    except (ValueError, RecursionError) as err:
        raise SnapshotRejected("bad_document", "the snapshot payload is not JSON") from err
    if not isinstance(document, dict) or document.get("format") != FORMAT or document.get("estate_id") != estate_id:
        raise SnapshotRejected("wrong_estate", "the snapshot is not for this gate's estate")
    if now >= datetime.fromisoformat(document["valid_until"]):
        raise SnapshotRejected("expired", "the snapshot is past its validity; fetch a new one")
    return document


#: Bytes kept of each resident-code digest: 2^-64 chance that a made-up code hits one.
CODE_DIGEST_BYTES = 8


def code_digest(snapshot_id: str, code_text: str) -> bytes:
    """What a snapshot holds instead of a resident code: a keyed digest that cannot be reversed."""
    return hmac.new(snapshot_id.encode(), code_text.encode(), hashlib.sha256).digest()[:CODE_DIGEST_BYTES]


def encode_templates(encodings: list[bytes]) -> str:
    """Face templates (128 float32 each, as stored) as one base64 string of the snapshot."""
    return base64.b64encode(b"".join(encodings)).decode("ascii")


def decode_templates(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").reshape(-1, ENCODING_DIM)

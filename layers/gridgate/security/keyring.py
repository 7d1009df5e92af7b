"""The keyring: every secret gridgate needs, as one JSON document.

In AWS the document is a Secrets Manager secret (``GRIDGATE_KEYRING_SECRET_ID``), encrypted with
the KMS key from ``infra/``; locally it is a file the emulator writes (``GRIDGATE_KEYRING_FILE``).
Keys are loaded once per warm function, never logged, never written to a table.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gridgate.config import Settings, get_settings


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def ed25519_public_key(private_key: bytes) -> bytes:
    """The raw 32-byte public half of a raw Ed25519 private key."""
    return (
        Ed25519PrivateKey.from_private_bytes(private_key)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


@dataclass(frozen=True)
class Keyring:
    """Secrets by purpose. Byte strings are raw key material."""

    field_key: bytes  # AES-256-GCM key for personal identifiers at rest
    id_hash_key: bytes  # HMAC-SHA256 key for identifier look-up hashes
    #: Ed25519 private keys (raw 32 bytes) for visitor passes and other signed payloads, by key id
    signing_keys: dict[str, bytes] = field(default_factory=dict)
    active_signing_key_id: str = ""
    #: Public keys (raw Ed25519, by JWT "kid") that app bearer tokens must be signed with. In AWS
    #: these are copied from the city IdP's JWKS; the API never needs more than these to verify.
    token_verify_keys: dict[str, bytes] = field(default_factory=dict)
    #: The LOCAL token issuer's private key (emulator, tests, demo only; absent in AWS, where the
    #: city IdP issues tokens) and its key id. Its public half is in `token_verify_keys`.
    token_issuer_key: bytes = b""
    token_issuer_key_id: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "field_key": _b64(self.field_key),
                "id_hash_key": _b64(self.id_hash_key),
                "signing_keys": {k: _b64(v) for k, v in self.signing_keys.items()},
                "active_signing_key_id": self.active_signing_key_id,
                "token_verify_keys": {k: _b64(v) for k, v in self.token_verify_keys.items()},
                "token_issuer_key": _b64(self.token_issuer_key),
                "token_issuer_key_id": self.token_issuer_key_id,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        doc = json.loads(text)
        return cls(
            field_key=base64.b64decode(doc["field_key"]),
            id_hash_key=base64.b64decode(doc["id_hash_key"]),
            signing_keys={k: base64.b64decode(v) for k, v in doc.get("signing_keys", {}).items()},
            active_signing_key_id=doc.get("active_signing_key_id", ""),
            token_verify_keys={k: base64.b64decode(v) for k, v in doc.get("token_verify_keys", {}).items()},
            token_issuer_key=base64.b64decode(doc.get("token_issuer_key", "")),
            token_issuer_key_id=doc.get("token_issuer_key_id", ""),
        )

    @classmethod
    def generate(cls, signing_key_id: str = "k1", token_key_id: str = "idp-1") -> Keyring:
        """A fresh keyring with random keys (for a new stage, the emulator, or tests).

        It includes a local token issuer, so the emulator can play the city IdP.
        """
        issuer_key = os.urandom(32)
        return cls(
            field_key=os.urandom(32),
            id_hash_key=os.urandom(32),
            signing_keys={signing_key_id: os.urandom(32)},
            active_signing_key_id=signing_key_id,
            token_verify_keys={token_key_id: ed25519_public_key(issuer_key)},
            token_issuer_key=issuer_key,
            token_issuer_key_id=token_key_id,
        )


def load_keyring(settings: Settings) -> Keyring:
    if settings.keyring_secret_id:
        import boto3

        secret = boto3.client("secretsmanager", region_name=settings.region).get_secret_value(
            SecretId=settings.keyring_secret_id
        )
        return Keyring.from_json(secret["SecretString"])
    if settings.keyring_file:
        return Keyring.from_json(Path(settings.keyring_file).read_text())
    raise RuntimeError("no keyring configured: set GRIDGATE_KEYRING_SECRET_ID (AWS) or GRIDGATE_KEYRING_FILE (local)")


@lru_cache(maxsize=1)
def get_keyring() -> Keyring:
    return load_keyring(get_settings())

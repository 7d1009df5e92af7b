"""Protection of personal identifiers at rest.

An ID number is stored twice, never in clear: as a keyed hash (HMAC-SHA256) so the registry
import and the gate can find a person by it, and as AES-256-GCM ciphertext so an authorised
reader can display it. The ciphertext is bound to its record and field (associated data), so
it cannot be copied onto another person. A leaked table therefore reveals neither the numbers
nor, without the key, whether a given number is present.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import unicodedata

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gridgate.security.keyring import Keyring

_NONCE_BYTES = 12


def normalise_id_number(id_number: str) -> str:
    """Canonical form used for hashing: NFKC, no spaces, upper-case check letter (e.g. trailing X)."""
    return unicodedata.normalize("NFKC", id_number).replace(" ", "").upper()


class IdentifierProtector:
    def __init__(self, keyring: Keyring) -> None:
        self._hash_key = keyring.id_hash_key
        self._aead = AESGCM(keyring.field_key)

    def lookup_hash(self, id_number: str) -> str:
        digest = hmac.new(self._hash_key, normalise_id_number(id_number).encode(), hashlib.sha256)
        return digest.hexdigest()

    def audience_pseudonym(self, value: str, *, audience: str) -> str:
        """A keyed pseudonym of an internal id for one outside audience (a webhook subscriber):
        stable for that audience, so it can follow one person's passages at its own estates,
        but unlinkable across audiences and to the id itself without the key."""
        message = f"audience:{audience}\x00{value}".encode()
        return hmac.new(self._hash_key, message, hashlib.sha256).hexdigest()[:32]

    def encrypt(self, clear: str, *, context: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, clear.encode("utf-8"), context.encode())

    def decrypt(self, sealed: bytes, *, context: str) -> str:
        nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        return self._aead.decrypt(nonce, body, context.encode()).decode("utf-8")

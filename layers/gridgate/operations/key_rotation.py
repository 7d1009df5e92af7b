"""Pass-signing key rotation, and first set-up of a stage's keyring.

Rotation adds a new Ed25519 key and makes it the active one; the previous keys stay in the
keyring so that passes they signed (valid 24 hours at most) keep verifying until they expire.
A pass names its key id, so a gate picks the right public key. Functions load the keyring once
per warm instance: new passes are signed with the new key as instances are recycled, and
verification works with either key throughout.

The keyring lives where `gridgate.security.keyring.load_keyring` reads it: the Secrets Manager
secret (``GRIDGATE_KEYRING_SECRET_ID``, created empty by `infra/`) or the local file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from gridgate.config import Settings
from gridgate.security.keyring import Keyring, load_keyring
from gridgate.security.signed_passes import rotate_signing_key as with_new_signing_key


class KeyringAlreadyExists(Exception):
    """`init` refuses to overwrite a keyring: that would make every stored identifier unreadable."""


@dataclass(frozen=True)
class Rotation:
    previous_key_id: str
    new_key_id: str
    verifying_key_ids: tuple[str, ...]


def next_key_id(existing: list[str] | tuple[str, ...]) -> str:
    """``k<n+1>`` after the highest ``k<n>`` in use (``k1`` for an empty keyring)."""
    numbers = [int(m.group(1)) for key_id in existing if (m := re.fullmatch(r"k(\d+)", key_id))]
    return f"k{max(numbers, default=0) + 1}"


def rotated(keyring: Keyring) -> tuple[Keyring, Rotation]:
    new = with_new_signing_key(keyring, next_key_id(list(keyring.signing_keys)))
    rotation = Rotation(keyring.active_signing_key_id, new.active_signing_key_id, tuple(sorted(new.signing_keys)))
    return new, rotation


def _secrets_client(settings: Settings):
    import boto3

    return boto3.client("secretsmanager", region_name=settings.region)


def _has_stored_value(settings: Settings) -> bool:
    if settings.keyring_secret_id:
        client = _secrets_client(settings)
        try:
            client.get_secret_value(SecretId=settings.keyring_secret_id)
            return True
        except client.exceptions.ResourceNotFoundException:
            return False  # no secret, or (as infra/ creates it) a secret with no value yet
    return bool(settings.keyring_file and Path(settings.keyring_file).is_file())


def store_keyring(settings: Settings, keyring: Keyring) -> str:
    """Write the keyring where the functions read it; returns a description of where."""
    if settings.keyring_secret_id:
        client = _secrets_client(settings)
        try:
            client.put_secret_value(SecretId=settings.keyring_secret_id, SecretString=keyring.to_json())
        except client.exceptions.ResourceNotFoundException:
            client.create_secret(Name=settings.keyring_secret_id, SecretString=keyring.to_json())
        return f"secret {settings.keyring_secret_id}"
    if settings.keyring_file:
        path = Path(settings.keyring_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(path.suffix + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(keyring.to_json())
        partial.replace(path)  # atomic: a reader sees the old or the new keyring, never half
        return f"file {path}"
    raise RuntimeError("no keyring configured: set GRIDGATE_KEYRING_SECRET_ID or GRIDGATE_KEYRING_FILE")


def init_keyring(settings: Settings) -> tuple[Keyring, str]:
    if _has_stored_value(settings):
        raise KeyringAlreadyExists("a keyring is already stored; rotate its signing key instead")
    keyring = Keyring.generate(signing_key_id=next_key_id([]))
    return keyring, store_keyring(settings, keyring)


def rotate_signing_key(settings: Settings) -> tuple[Rotation, str]:
    keyring, rotation = rotated(load_keyring(settings))
    return rotation, store_keyring(settings, keyring)

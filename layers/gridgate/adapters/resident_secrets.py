"""Per-person secrets of the rotating resident QR, sealed in the person's registry item.

The secret is written once, on the person's first request for a code, with a condition that no
secret exists yet: two phones asking at the same moment end up with the same secret. It is
written through the table connection rather than `Model.update`, because the registry item's
version counter is the lock grid workers' corrections use, and a QR secret is not a registry fact.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist, UpdateError

from gridgate.adapters.item_checks import ItemCheck
from gridgate.adapters.tables import PersonTable
from gridgate.security.identifiers import IdentifierProtector


@dataclass(frozen=True)
class SealedSecret:
    secret: bytes
    sealed: bytes  # as stored: changes whenever the secret does


class UnknownPerson(Exception):
    """No registry item for this person id."""


def _context(person_id: str) -> str:
    return f"{person_id}/qr"


class ResidentSecretStore:
    def __init__(self, protector: IdentifierProtector) -> None:
        self._protector = protector

    def get(self, person_id: str) -> bytes | None:
        """The person's secret, or None (no person, or no code requested yet)."""
        found = self.get_sealed(person_id)
        return None if found is None else found.secret

    def get_sealed(self, person_id: str) -> SealedSecret | None:
        """The person's secret with its sealed form, which `unchanged_check` compares."""
        try:
            item = PersonTable.get(person_id, attributes_to_get=["person_id", "qr_secret_enc"])
        except DoesNotExist:
            return None
        if item.qr_secret_enc is None:
            return None
        secret = base64.b64decode(self._protector.decrypt(item.qr_secret_enc, context=_context(person_id)))
        return SealedSecret(secret, bytes(item.qr_secret_enc))

    @staticmethod
    def unchanged_check(person_id: str, sealed: bytes) -> ItemCheck:
        """A write's condition that the person's secret is still the one sealed as `sealed` (a
        warm gate function may verify codes with a secret it read before)."""
        return ItemCheck(PersonTable, person_id, None, PersonTable.qr_secret_enc == sealed)

    def put_if_absent(self, person_id: str, secret: bytes) -> bytes:
        """Store `secret` unless the person already has one; returns the secret in force."""
        sealed = self._protector.encrypt(base64.b64encode(secret).decode("ascii"), context=_context(person_id))
        try:
            PersonTable._get_connection().update_item(
                person_id,
                actions=[PersonTable.qr_secret_enc.set(sealed)],
                condition=PersonTable.person_id.exists() & PersonTable.qr_secret_enc.does_not_exist(),
            )
            return secret
        except UpdateError:
            existing = self.get(person_id)
            if existing is None:
                raise UnknownPerson(person_id) from None
            return existing

"""The resident's own rotating QR: the app asks for the current code; the gate checks one.

The per-person secret is created on the first request (audited: a credential came into being)
and then only read. The gate side is `secret_for`, the look-up `verify_resident_code` needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gridgate.adapters.audit import AuditLog
from gridgate.adapters.resident_secrets import ResidentSecretStore, UnknownPerson
from gridgate.refusals import NotFound
from gridgate.security.resident_qr import STEP_SECONDS, current_code, new_secret, seconds_left


@dataclass(frozen=True)
class ResidentCode:
    code: str
    step_seconds: int
    seconds_left: int


class ResidentCodes:
    def __init__(self, *, secrets: ResidentSecretStore, audit: AuditLog) -> None:
        self._secrets = secrets
        self._audit = audit

    def secret_for(self, person_id: str) -> bytes | None:
        return self._secrets.get(person_id)

    def current(self, person_id: str, now: datetime, request_id: str | None) -> ResidentCode:
        secret = self._secrets.get(person_id)
        if secret is None:
            try:
                secret = self._secrets.put_if_absent(person_id, new_secret())
            except UnknownPerson:
                raise NotFound("unknown_person") from None
            self._audit.record(person_id, "resident_qr.enrol", f"person#{person_id}", request_id=request_id)
        return ResidentCode(current_code(person_id, secret, now), STEP_SECONDS, seconds_left(now))

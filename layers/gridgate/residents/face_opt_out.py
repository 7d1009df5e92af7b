"""A resident opts out of face entirely, in one app call, and keeps entering by QR.

Why more than a withdrawal: withdrawing the consent deletes the app's templates, but the
population registry's template would still open gates. The law says face may not be the only way
in and a resident who refuses it can demand another (SPC provisions on face recognition, 2021,
Art. 10; 2025 CAC/MPS measures Art. 10). An opt-out therefore withdraws every consent, deletes
every template of the person (app and population registry), records the opt-out (the registry
import then no longer brings the population template back: `gridgate.registry.registry_import`)
and invalidates every gallery that may hold the person through the gallery change log, so no gate
matches the face again. The resident QR is untouched. A separate consent given later ends the
opt-out (`gridgate.domain.legal_records.opted_out`).

No face stack is imported here: the API's zip carries no numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gridgate.clock import now as city_now
from gridgate.compliance.consent_ledger import ConsentLedger
from gridgate.domain.legal_records import FaceOptOut
from gridgate.domain.model import AuditRecord
from gridgate.residents.estate_changes import person_changed_everywhere


class Templates(Protocol):
    def delete_for_person(self, person_id: str, source=None) -> int: ...


class OptOuts(Protocol):
    def add(self, opt_out: FaceOptOut) -> None: ...


class Ownerships(Protocol):
    def for_person(self, person_id: str) -> list: ...


class Grants(Protocol):
    def active_for_grantee(self, person_id: str) -> list: ...


class Audit(Protocol):
    def record(
        self, actor: str, action: str, subject: str, *, request_id: str | None = None, detail: dict | None = None
    ) -> AuditRecord: ...


@dataclass(frozen=True)
class OptedOut:
    person_id: str
    at: datetime
    templates_removed: int
    consents_withdrawn: int
    estates_refreshed: list[str]

    def as_dict(self) -> dict:
        return {
            "person_id": self.person_id,
            "opted_out_at": self.at.isoformat(),
            "templates_removed": self.templates_removed,
            "consents_withdrawn": self.consents_withdrawn,
            "estates_refreshed": self.estates_refreshed,
            "entry_by": "resident_qr",
        }


class FaceOptOutService:
    def __init__(
        self,
        *,
        consents: ConsentLedger,
        templates: Templates,
        opt_outs: OptOuts,
        ownerships: Ownerships,
        grants: Grants,
        audit: Audit,
        changed: Callable[..., set[str]] = person_changed_everywhere,
        clock: Callable[[], datetime] = city_now,
    ) -> None:
        self._consents = consents
        self._templates = templates
        self._opt_outs = opt_outs
        self._ownerships = ownerships
        self._grants = grants
        self._audit = audit
        self._changed = changed
        self._clock = clock

    def opt_out(self, person_id: str, *, request_id: str | None) -> OptedOut:
        at = self._clock()
        withdrawn = self._consents.withdraw(person_id, request_id=request_id)
        self._opt_outs.add(FaceOptOut(person_id, at))  # before the deletion: an import meanwhile skips the face
        removed = self._templates.delete_for_person(person_id)
        estates = sorted(self._changed(person_id, self._ownerships, self._grants))
        self._audit.record(
            person_id,
            "face.opt_out",
            f"person#{person_id}",
            request_id=request_id,
            detail={"templates_removed": removed, "consents_withdrawn": withdrawn, "estates_refreshed": estates},
        )
        return OptedOut(person_id, at, removed, withdrawn, estates)

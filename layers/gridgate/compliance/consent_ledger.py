"""The consent ledger of faces: a record before any template, its withdrawal deletes them all.

Why a ledger and not a timestamp on the template: the law asks for the basis, the purposes and
the notice the person saw (PIPL Arts. 28-29; 2025 CAC/MPS face measures Arts. 6-8), a guardian
for a minor, and an easy withdrawal. `require` is what enrolment calls: no record in force that
names the estate purpose and this person's basis, no template. `withdraw` marks every record in
force withdrawn; the caller (`FaceEnrolment.withdraw`) deletes the templates in the same action.
A new record supersedes the person's earlier ones on the same basis (``superseded_at``), so one
record per person and basis is in force and the report counts each consent once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from gridgate.adapters.audit import AuditLog
from gridgate.clock import now as city_now
from gridgate.compliance.rules import check_consent, may_be_under_guardian_age
from gridgate.domain.legal_records import FaceConsent, LegalBasis
from gridgate.domain.model import Person
from gridgate.refusals import Invalid, NotAllowed, NotFound


class ConsentStore(Protocol):
    def add(self, consent: FaceConsent) -> None: ...
    def for_person(self, person_id: str) -> list[FaceConsent]: ...


class People(Protocol):
    def get(self, person_id: str) -> Person | None: ...


class ConsentLedger:
    def __init__(
        self, consents: ConsentStore, people: People, audit: AuditLog, clock: Callable[[], datetime] = city_now
    ) -> None:
        self._consents = consents
        self._people = people
        self._audit = audit
        self._clock = clock

    def record(self, consent: FaceConsent, *, request_id: str | None) -> FaceConsent:
        """Check and store a consent given now (its `given_at` is the clock's, whatever was sent).

        A guardian named for a minor must be a registered adult of the minor's registered home:
        a name typed by the caller is not a guardian."""
        at = self._clock()
        consent = replace(consent, given_at=at, withdrawn_at=None)
        person = self._people.get(consent.person_id)
        if person is None:
            raise NotFound("unknown_person")
        check_consent(consent, birth_year=person.birth_year, at=at)
        if consent.guardian_person_id is not None:
            guardian = self._people.get(consent.guardian_person_id)
            if (
                guardian is None
                or may_be_under_guardian_age(guardian.birth_year, at)
                or guardian.registered_home_id is None
                or guardian.registered_home_id != person.registered_home_id
            ):
                raise Invalid(
                    "guardian_not_recognised",
                    field="guardian_person_id",
                )
        earlier = [c for c in self.in_force(consent.person_id) if c.basis == consent.basis and c.given_at < at]
        self._consents.add(consent)
        for replaced in earlier:  # after the new record is stored: never a moment with none in force
            self._consents.add(replace(replaced, superseded_at=at))
        self._audit.record(
            consent.guardian_person_id or consent.person_id,
            "face.consent.given",
            f"person#{consent.person_id}",
            request_id=request_id,
            detail={
                "basis": consent.basis.value,
                "estates": sorted(consent.estates),
                "matching": consent.matching.value,
                "notice_version": consent.notice_version,
                "guardian": consent.guardian_person_id is not None,
                "guardian_relation": consent.guardian_relation,
                "superseded": len(earlier),
            },
        )
        return consent

    def in_force(self, person_id: str) -> list[FaceConsent]:
        at = self._clock()
        return [c for c in self._consents.for_person(person_id) if c.in_force(at)]

    def require(self, person_id: str, basis: LegalBasis) -> FaceConsent:
        """The person's latest record in force on `basis`, or `NotAllowed` ``consent_required``."""
        held = [c for c in self.in_force(person_id) if c.basis == basis]
        if not held:
            raise NotAllowed(
                "consent_required",
            )
        return max(held, key=lambda c: c.given_at)

    def withdraw(self, person_id: str, *, request_id: str | None) -> int:
        """Mark every record in force withdrawn now; returns how many were."""
        at = self._clock()
        held = self.in_force(person_id)
        for consent in held:
            self._consents.add(replace(consent, withdrawn_at=at))
        self._audit.record(
            person_id,
            "face.consent.withdrawn",
            f"person#{person_id}",
            request_id=request_id,
            detail={"consents_withdrawn": len(held)},
        )
        return len(held)

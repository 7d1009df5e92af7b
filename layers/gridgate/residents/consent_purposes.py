"""Which estates a face consent may name: only those the person lives at or holds a grant for.

Shared by the resident's own consent (`FaceEnrolment.give_consent`) and a guardian's consent for
a minor (`GuardianConsent`): a purpose naming an estate the person has no right at is refused
(``estate_not_yours``), not silently kept.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from gridgate.domain.legal_records import FaceConsent, LegalBasis, Matching
from gridgate.refusals import NotAllowed


class Ownerships(Protocol):
    def current_for_person(self, person_id: str, on: date) -> list: ...


class Grants(Protocol):
    def active_for_grantee(self, person_id: str) -> list: ...


def check_consent_estates(
    person_id: str, estates: frozenset[str], ownerships: Ownerships, grants: Grants, today: date
) -> None:
    entitled = {o.estate_id for o in ownerships.current_for_person(person_id, today)}
    entitled |= {g.estate_id for g in grants.active_for_grantee(person_id)}
    if not estates <= entitled:
        raise NotAllowed("estate_not_yours")


def separate_consent(
    person_id: str,
    estates: frozenset[str],
    ownerships: Ownerships,
    grants: Grants,
    *,
    matching: Matching,
    notice_version: str,
    at: datetime,
    guardian_person_id: str | None = None,
    guardian_relation: str | None = None,
) -> FaceConsent:
    """The separate consent a person (or a minor's guardian) gives at `at`, once its estates are
    checked: the one shape both the resident's own route and the guardian's record."""
    check_consent_estates(person_id, estates, ownerships, grants, at.date())
    return FaceConsent(
        person_id=person_id,
        basis=LegalBasis.SEPARATE_CONSENT,
        estates=estates,
        matching=matching,
        notice_version=notice_version,
        given_at=at,
        guardian_person_id=guardian_person_id,
        guardian_relation=guardian_relation,
    )

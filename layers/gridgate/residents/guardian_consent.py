"""A guardian records the separate face consent of a minor under 14 (2025 CAC/MPS measures Art. 7).

Why a route of the guardian's own: the consent must come from the guardian, so the guardian signs
in with their own token and names the minor; a minor's own token can never name a guardian. The
ledger checks that the guardian is an adult registered at the minor's registered home and that
the person is indeed under 14 (`ConsentLedger.record`, `gridgate.compliance.rules`); the record
says who consented and how they are related, and the audit names the guardian as the actor.
The minor then enrols (or the guardian withdraws) like anyone else. No face stack is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from gridgate.clock import now as city_now
from gridgate.compliance.consent_ledger import ConsentLedger
from gridgate.domain.legal_records import FaceConsent, GuardianRelation, Matching
from gridgate.residents.consent_purposes import Grants, Ownerships, separate_consent


class GuardianConsent:
    def __init__(
        self,
        consents: ConsentLedger,
        ownerships: Ownerships,
        grants: Grants,
        *,
        changed: Callable[[str], object],
        clock: Callable[[], datetime] = city_now,
    ) -> None:
        """`changed(person_id)`: what must follow a change of the person's consent (their estates'
        galleries and snapshots, `residents.estate_changes.person_changed_everywhere`)."""
        self._consents = consents
        self._ownerships = ownerships
        self._grants = grants
        self._changed = changed
        self._clock = clock

    def give(
        self,
        guardian_id: str,
        minor_id: str,
        *,
        relation: GuardianRelation,
        estates: frozenset[str],
        matching: Matching,
        notice_version: str,
        request_id: str | None,
    ) -> FaceConsent:
        consent = separate_consent(
            minor_id,
            estates,
            self._ownerships,
            self._grants,
            matching=matching,
            notice_version=notice_version,
            at=self._clock(),
            guardian_person_id=guardian_id,
            guardian_relation=relation.value,
        )
        recorded = self._consents.record(consent, request_id=request_id)
        self._changed(minor_id)  # its purposes decide where the minor's face is matched, from the next decision
        return recorded

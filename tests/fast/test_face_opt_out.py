"""Face is never the only way in (issue 18 point 2): the opt-out over fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gridgate.compliance.consent_ledger import ConsentLedger
from gridgate.domain.legal_records import FaceConsent, FaceOptOut, LegalBasis, Matching, opted_out
from gridgate.domain.model import Person, Registry
from gridgate.residents.face_opt_out import FaceOptOutService

from .fakes import FakeAudit, FakeConsents, FakeRegistry

pytestmark = pytest.mark.fast

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def consent(at: datetime, basis=LegalBasis.SEPARATE_CONSENT) -> FaceConsent:
    return FaceConsent("P1", basis, frozenset({"E1"}), Matching.CLOUD, "v1", at)


def test_an_opt_out_holds_until_a_later_separate_consent():
    earlier, later = consent(NOW - timedelta(days=1)), consent(NOW + timedelta(days=1))
    assert not opted_out([], [earlier])
    assert opted_out([FaceOptOut("P1", NOW)], [earlier])
    assert opted_out([FaceOptOut("P1", NOW)], [consent(NOW + timedelta(days=1), LegalBasis.STATUTE)])
    assert not opted_out([FaceOptOut("P1", NOW)], [earlier, later])
    assert opted_out([FaceOptOut("P1", NOW - timedelta(days=2)), FaceOptOut("P1", NOW + timedelta(days=2))], [later])


class FakeTemplates:
    def __init__(self, sources):
        self.sources = list(sources)

    def delete_for_person(self, person_id, source=None):
        removed = [s for s in self.sources if source is None or s == source]
        self.sources = [s for s in self.sources if s not in removed]
        return len(removed)


class FakeOptOuts:
    def __init__(self):
        self.records: list[FaceOptOut] = []

    def add(self, opt_out):
        self.records.append(opt_out)


def test_one_call_withdraws_deletes_app_and_registry_templates_and_tells_each_estate():
    consents, audit = FakeConsents(), FakeAudit()
    person = Person("P1", "P1", "", frozenset({Registry.APP}), 1980, "F")
    ledger = ConsentLedger(consents, FakeRegistry(person), audit, clock=lambda: NOW)
    consents.add(consent(NOW - timedelta(days=3)))
    templates, opt_outs, told = FakeTemplates([Registry.APP, Registry.POPULATION]), FakeOptOuts(), []

    def changed(person_id, ownerships, grants):
        told.append(person_id)
        return {"E2", "E1"}

    service = FaceOptOutService(
        consents=ledger,
        templates=templates,
        opt_outs=opt_outs,
        ownerships=None,
        grants=None,
        audit=audit,
        changed=changed,
        clock=lambda: NOW,
    )
    done = service.opt_out("P1", request_id="r1")
    assert (done.templates_removed, done.consents_withdrawn, done.estates_refreshed) == (2, 1, ["E1", "E2"])
    assert templates.sources == [] and told == ["P1"]
    assert opt_outs.records == [FaceOptOut("P1", NOW)]
    assert ledger.in_force("P1") == []
    assert ("P1", "face.opt_out", "person#P1") in audit.records
    assert done.as_dict()["entry_by"] == "resident_qr"

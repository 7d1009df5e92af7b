"""The consent ledger of faces and the approvals of correction tracking, on fakes (issue 18)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from gridgate.compliance.consent_ledger import ConsentLedger
from gridgate.compliance.face_figures import FILING_THRESHOLD_PEOPLE, face_figures
from gridgate.compliance.rules import check_approval, check_consent
from gridgate.domain.legal_records import (
    POPULATION_REGISTRY_STATUTE,
    CorrectionApproval,
    FaceConsent,
    LegalBasis,
    Matching,
    add_months,
    approved_on,
)
from gridgate.domain.model import FaceTemplate, Person, Registry
from gridgate.refusals import Invalid, NotAllowed, NotFound

from .fakes import FakeAudit, FakeConsents, FakeRegistry

pytestmark = pytest.mark.fast

NOW = datetime(2026, 3, 14, 1, 30, tzinfo=UTC)


def person(pid: str, birth_year: int, home: str | None = "H1") -> Person:
    return Person(pid, pid, "", frozenset({Registry.APP}), birth_year, "F", registered_home_id=home)


ADULT, CHILD, PARENT, STRANGER = (
    person("ADULT", 1980),
    person("CHILD", 2015),
    person("PARENT", 1985),
    person("STRANGER", 1970, home="H9"),
)


def consent(pid: str = "ADULT", **changes) -> FaceConsent:
    base = FaceConsent(pid, LegalBasis.SEPARATE_CONSENT, frozenset({"E1"}), Matching.DEVICE_ONLY, "notice-v2", NOW)
    return replace(base, **changes)


class Ledger:
    def __init__(self) -> None:
        self.now = NOW
        self.store, self.audit = FakeConsents(), FakeAudit()
        self.ledger = ConsentLedger(
            self.store, FakeRegistry(ADULT, CHILD, PARENT, STRANGER), self.audit, clock=lambda: self.now
        )


def refused(kind, code: str, call) -> None:
    with pytest.raises(kind) as raised:
        call()
    assert raised.value.code == code


def test_no_record_no_enrolment_and_a_recorded_consent_is_the_basis():
    ledger = Ledger()
    refused(NotAllowed, "consent_required", lambda: ledger.ledger.require("ADULT", LegalBasis.SEPARATE_CONSENT))
    ledger.ledger.record(consent(given_at=NOW - timedelta(days=30)), request_id="r1")
    held = ledger.ledger.require("ADULT", LegalBasis.SEPARATE_CONSENT)
    # the time is the ledger's clock, never the time the caller sent
    assert held.given_at == NOW and held.notice_version == "notice-v2" and held.matching == Matching.DEVICE_ONLY
    assert ledger.audit.records == [("ADULT", "face.consent.given", "person#ADULT")]


def test_a_withdrawal_ends_every_record_in_force_and_is_kept_as_a_fact():
    ledger = Ledger()
    ledger.ledger.record(consent(), request_id=None)
    ledger.now = NOW + timedelta(hours=1)
    assert ledger.ledger.withdraw("ADULT", request_id=None) == 1
    refused(NotAllowed, "consent_required", lambda: ledger.ledger.require("ADULT", LegalBasis.SEPARATE_CONSENT))
    [kept] = ledger.store.for_person("ADULT")
    assert kept.withdrawn_at == NOW + timedelta(hours=1)
    assert ledger.ledger.withdraw("ADULT", request_id=None) == 0  # nothing left in force


def test_a_new_consent_supersedes_the_earlier_one_which_is_kept_as_a_fact():
    ledger = Ledger()
    ledger.ledger.record(consent(estates=frozenset({"E1"})), request_id=None)
    ledger.now = NOW + timedelta(days=3)
    ledger.ledger.record(consent(estates=frozenset({"E1", "E2"})), request_id=None)
    first, second = sorted(ledger.store.for_person("ADULT"), key=lambda c: c.given_at)
    assert first.superseded_at == NOW + timedelta(days=3) and first.withdrawn_at is None  # not a withdrawal
    assert [c.estates for c in ledger.ledger.in_force("ADULT")] == [frozenset({"E1", "E2"})]
    assert ledger.ledger.require("ADULT", LegalBasis.SEPARATE_CONSENT).given_at == ledger.now
    # the day before the new one, the first was the record in force
    assert first.in_force(NOW + timedelta(days=2)) and not first.in_force(ledger.now)
    figures = face_figures([template("ADULT", Registry.APP)], ledger.store.for_person("ADULT"), ledger.now)
    assert (figures.consents_in_force, figures.consents_withdrawn) == (1, 0)


def test_records_stored_before_supersession_count_once_per_person_and_basis():
    legacy = [consent("A"), consent("A", given_at=NOW + timedelta(days=1)), consent("B")]
    assert face_figures([], legacy, NOW + timedelta(days=2)).consents_in_force == 2


def test_a_minor_needs_a_guardian_registered_at_the_same_home():
    ledger = Ledger()
    refused(Invalid, "guardian_consent_required", lambda: ledger.ledger.record(consent("CHILD"), request_id=None))
    refused(
        Invalid,
        "guardian_not_recognised",
        lambda: ledger.ledger.record(
            consent("CHILD", guardian_person_id="STRANGER", guardian_relation="guardian"), request_id=None
        ),
    )
    refused(
        Invalid,
        "guardian_relation_missing",
        lambda: ledger.ledger.record(consent("CHILD", guardian_person_id="PARENT"), request_id=None),
    )
    ledger.ledger.record(consent("CHILD", guardian_person_id="PARENT", guardian_relation="parent"), request_id=None)
    assert ledger.audit.records[-1] == ("PARENT", "face.consent.given", "person#CHILD")
    assert ledger.audit.details[-1]["guardian_relation"] == "parent"
    refused(
        Invalid,
        "not_a_minor",
        lambda: ledger.ledger.record(
            consent("ADULT", guardian_person_id="PARENT", guardian_relation="parent"), request_id=None
        ),
    )


def test_an_unknown_person_and_a_record_without_purpose_or_notice_are_refused():
    ledger = Ledger()
    refused(NotFound, "unknown_person", lambda: ledger.ledger.record(consent("NOBODY"), request_id=None))
    no_purpose = consent(estates=frozenset())
    refused(Invalid, "consent_purpose_missing", lambda: check_consent(no_purpose, birth_year=1980, at=NOW))
    for bad in ("", " ", "x" * 65, "v\n2"):
        refused(
            Invalid,
            "invalid_field",
            lambda bad=bad: check_consent(consent(notice_version=bad), birth_year=1980, at=NOW),
        )


def test_a_statutory_basis_must_name_the_statute():
    statutory = consent(basis=LegalBasis.STATUTE, notice_version="")
    refused(Invalid, "consent_statute_unnamed", lambda: check_consent(statutory, birth_year=1980, at=NOW))
    check_consent(replace(statutory, statute=POPULATION_REGISTRY_STATUTE), birth_year=1980, at=NOW)


def approval(starts: date, ends: date, **changes) -> CorrectionApproval:
    return replace(CorrectionApproval("CC", "2026-NJ-001", "officer-7", starts, ends, NOW), **changes)


@pytest.mark.parametrize(
    ("starts", "ends", "ok"),
    [
        (date(2026, 1, 31), date(2026, 4, 30), True),  # 3 months from 31 Jan ends on 30 Apr
        (date(2026, 1, 31), date(2026, 5, 1), False),
        (date(2026, 11, 30), date(2027, 2, 28), True),
        (date(2026, 3, 1), date(2026, 2, 28), False),
    ],
)
def test_an_approval_lasts_at_most_three_months(starts, ends, ok):
    if ok:
        check_approval(approval(starts, ends))
    else:
        with pytest.raises(Invalid):
            check_approval(approval(starts, ends))


def test_an_approval_names_its_approver_and_case():
    starts, ends = date(2026, 1, 1), date(2026, 2, 1)
    refused(Invalid, "invalid_field", lambda: check_approval(approval(starts, ends, approved_by="")))
    refused(Invalid, "invalid_field", lambda: check_approval(approval(starts, ends, case_no=" ")))


def test_tracking_stops_by_itself_at_the_end_and_a_renewal_continues_it():
    first = approval(date(2026, 1, 1), date(2026, 3, 31))
    assert approved_on([first], date(2026, 3, 31)) == {"CC"}
    assert approved_on([first], date(2026, 4, 1)) == frozenset()
    renewal = approval(date(2026, 4, 1), add_months(date(2026, 4, 1), 3), case_no="2026-NJ-001-R1")
    assert approved_on([first, renewal], date(2026, 4, 1)) == {"CC"}


def template(pid: str, source: Registry, number: int = 0) -> FaceTemplate:
    return FaceTemplate(pid, source, number, b"\0" * 512, NOW)


def test_face_figures_count_people_once_templates_by_basis_and_withdrawals():
    templates = [
        template("A", Registry.APP),
        template("A", Registry.APP, 1),
        template("A", Registry.POPULATION),
        template("B", Registry.POPULATION),
        template("C", Registry.APP),  # no consent in force: a gap the figures show
    ]
    withdrawn = consent("D", withdrawn_at=NOW + timedelta(hours=1))
    consents = [consent("A"), withdrawn]
    later = NOW + timedelta(hours=2)
    figures = face_figures(templates, consents, later)
    assert figures.people_with_faces == 3
    assert figures.templates_by_basis == {"separate_consent": 3, "statute": 2}
    assert (figures.consents_in_force, figures.consents_withdrawn) == (1, 1)
    assert figures.app_templates_without_consent == 1
    assert not figures.filing_due
    # before the withdrawal it was in force and not yet counted withdrawn
    assert face_figures(templates, consents, NOW).consents_withdrawn == 0


def test_the_filing_duty_is_due_at_one_hundred_thousand_people():
    just_below = [template(f"P{n}", Registry.POPULATION) for n in range(FILING_THRESHOLD_PEOPLE - 1)]
    assert not face_figures(just_below, [], NOW).filing_due
    assert face_figures([*just_below, template("LAST", Registry.APP)], [], NOW).filing_due

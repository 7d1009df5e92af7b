"""The checks a consent record or a correction approval must pass before it is stored.

A record that fails is refused with an `Invalid` whose code says which rule it broke, so the app
can say what is missing; nothing half-valid is kept (an enrolment then has no basis and is refused).
"""

from __future__ import annotations

from datetime import date, datetime

from gridgate.domain.legal_records import (
    CORRECTION_APPROVAL_MONTHS,
    GUARDIAN_AGE,
    POPULATION_REGISTRY_STATUTE,
    CorrectionApproval,
    FaceConsent,
    GuardianRelation,
    ImpactAssessment,
    LegalBasis,
    add_months,
)
from gridgate.refusals import Invalid

#: Longest free-text field accepted (a notice version, a case number, an approver's id).
MAX_TEXT = 64


def _text(value: str | None, field: str) -> None:
    if not value or not value.strip() or len(value) > MAX_TEXT or not value.isprintable():
        raise Invalid("invalid_field", field=field, max=MAX_TEXT)


def may_be_under_guardian_age(birth_year: int, at: datetime) -> bool:
    """Only the birth year is stored: a person who may not yet be 14 on `at` counts as a minor."""
    return at.year - birth_year <= GUARDIAN_AGE


def check_consent(consent: FaceConsent, *, birth_year: int, at: datetime) -> None:
    """Refuse a consent record the law would not accept as a basis for holding a face."""
    if consent.basis == LegalBasis.STATUTE:
        if consent.statute != POPULATION_REGISTRY_STATUTE:
            raise Invalid("consent_statute_unnamed", field="statute")
    else:
        _text(consent.notice_version, "notice_version")
        if consent.given_at > at:
            raise Invalid("consent_in_future", field="given_at")
        if may_be_under_guardian_age(birth_year, at):
            if not consent.guardian_person_id or consent.guardian_person_id == consent.person_id:
                raise Invalid(
                    "guardian_consent_required",
                    field="guardian_person_id",
                )
            if consent.guardian_relation not in {r.value for r in GuardianRelation}:
                raise Invalid("guardian_relation_missing", field="relation")
        elif consent.guardian_person_id is not None:
            raise Invalid("not_a_minor", field="person_id")
    # a separate consent names the estates it is for; a statutory record's purpose is the statute's
    if consent.basis == LegalBasis.SEPARATE_CONSENT and not consent.estates:
        raise Invalid("consent_purpose_missing", field="estates")
    for estate_id in consent.estates:
        _text(estate_id, "estates")


def check_approval(approval: CorrectionApproval) -> None:
    """Refuse an approval without approver or case, or longer than three months."""
    _text(approval.approved_by, "approved_by")
    _text(approval.case_no, "case_no")
    if approval.ends < approval.starts:
        raise Invalid("approval_period_invalid", field="ends")
    if approval.ends > add_months(approval.starts, CORRECTION_APPROVAL_MONTHS):
        raise Invalid("approval_too_long", field="ends", months=CORRECTION_APPROVAL_MONTHS)


def check_assessment(assessment: ImpactAssessment, *, today: date) -> None:
    """Refuse an assessment record without version or recorder, or dated in the future."""
    _text(assessment.version, "version")
    _text(assessment.recorded_by, "recorded_by")
    if assessment.assessed_on > today:
        raise Invalid("assessment_in_future", field="date")

"""The compliance report counted from the data (issue 18 point 3): retention against policy, the
impact assessment shown as recorded, opt-outs still in force."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from gridgate.compliance.compliance_report import compliance_report
from gridgate.domain.legal_records import FaceConsent, FaceOptOut, ImpactAssessment, LegalBasis, Matching
from gridgate.domain.model import FaceTemplate, Registry

pytestmark = pytest.mark.fast

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
TODAY = NOW.date()


def template(person: str, age_days: int, source=Registry.APP) -> FaceTemplate:
    return FaceTemplate(person, source, 0, b"\0" * 512, NOW - timedelta(days=age_days))


def report(templates=(), consents=(), opt_outs=(), assessments=(), oldest_event_day=None):
    return compliance_report(
        list(templates),
        list(consents),
        list(opt_outs),
        list(assessments),
        oldest_event_day,
        at=NOW,
        today=TODAY,
        event_retention_days=180,
        template_retention_days=365,
    )


def test_templates_older_than_the_policy_are_counted_and_the_oldest_age_shown():
    held = report([template("A", 10), template("B", 366), template("C", 400, Registry.POPULATION)])
    assert (held.templates.oldest_age_days, held.templates.over_policy, held.templates.within_policy) == (400, 2, False)
    fresh = report([template("A", 365)])
    assert fresh.templates.within_policy and fresh.templates.oldest_age_days == 365
    assert report().templates.oldest_age_days is None and report().templates.within_policy


def test_event_copies_older_than_the_retention_are_days_over_policy():
    assert report(oldest_event_day=TODAY - timedelta(days=180)).events.within_policy
    late = report(oldest_event_day=TODAY - timedelta(days=183))
    assert (late.events.oldest_age_days, late.events.over_policy) == (183, 3)
    assert report().events.oldest_age_days is None and report().events.within_policy


def test_the_latest_impact_assessment_is_shown_and_none_is_said_plainly():
    older = ImpactAssessment(date(2025, 5, 1), "v1", "dpo-1", NOW - timedelta(days=400))
    newer = ImpactAssessment(date(2026, 5, 1), "v2", "dpo-2", NOW - timedelta(days=30))
    assert report(assessments=[newer, older]).assessment == newer
    shown = report(assessments=[older]).as_dict()["impact_assessment"]
    assert shown == {
        "assessed_on": "2025-05-01",
        "version": "v1",
        "recorded_by": "dpo-1",
        "recorded_at": shown["recorded_at"],
    }
    assert report().as_dict()["impact_assessment"] is None


def test_an_opt_out_counts_until_the_person_consents_again():
    again = FaceConsent("B", LegalBasis.SEPARATE_CONSENT, frozenset({"E1"}), Matching.CLOUD, "v1", NOW)
    opted = report(
        consents=[again], opt_outs=[FaceOptOut("A", NOW - timedelta(days=2)), FaceOptOut("B", NOW - timedelta(days=1))]
    )
    assert opted.people_opted_out == 1
    assert opted.as_dict()["people_opted_out"] == 1 and opted.as_dict()["filing_threshold_people"] == 100_000

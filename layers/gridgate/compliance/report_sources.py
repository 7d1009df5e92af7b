"""The compliance report wired to the stored data: one construction for the API and the CLI."""

from __future__ import annotations

from gridgate.adapters.compliance_records import ConsentRepository, FaceOptOutRepository, ImpactAssessmentRepository
from gridgate.adapters.repositories import FaceTemplateRepository
from gridgate.adapters.retention_probe import EventCopies
from gridgate.compliance.compliance_report import ComplianceReporter
from gridgate.config import Settings


def stored_compliance_report(settings: Settings) -> ComplianceReporter:
    """The reporter over the tables and the bucket, with the retention policy of `settings`."""
    return ComplianceReporter(
        FaceTemplateRepository(),
        ConsentRepository(),
        FaceOptOutRepository(),
        ImpactAssessmentRepository(),
        EventCopies(settings),
        event_retention_days=settings.event_retention_days,
        template_retention_days=settings.face_template_retention_days,
    )

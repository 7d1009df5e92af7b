"""Answers of the issue-18 endpoints beside the flow queries: a resident's face opt-out, the
data center's compliance report and the correction staff's alerts, as pydantic models."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api_schemas import FaceConsentAnswer
from gridgate.domain.legal_records import GuardianRelation, Matching


class FaceOptOutAnswer(BaseModel):
    """Face is off for this person: every template deleted, every gallery told; the QR still opens."""

    person_id: str
    opted_out_at: str
    templates_removed: int
    consents_withdrawn: int
    estates_refreshed: list[str]
    entry_by: Literal["resident_qr"]


class RetentionView(BaseModel):
    policy_days: int
    oldest_age_days: int | None
    over_policy: int = Field(description="templates over the policy; for events, days of copies held beyond it")
    within_policy: bool


class AssessmentView(BaseModel):
    assessed_on: str
    version: str
    recorded_by: str
    recorded_at: str


class ComplianceReportAnswer(BaseModel):
    """The data center's compliance figures, counted from the stored data (docs/privacy.md)."""

    people_with_faces: int
    templates_by_basis: dict[str, int]
    consents_in_force: int
    consents_withdrawn: int
    app_templates_without_consent: int
    filing_due: bool
    filing_threshold_people: int
    people_opted_out: int
    event_retention: RetentionView
    template_retention: RetentionView
    impact_assessment: AssessmentView | None


class CorrectionAlertView(BaseModel):
    finding_id: str
    type: Literal["correction_unusual_hours", "correction_absent"]
    severity: str
    grid_id: str
    person_id: str | None
    person_name: str | None = Field(description="the person's name (each one shown is audited)")
    address: str | None = Field(description="where the registry says the person lives, in the reader's language")
    reason: str = Field(description="why the alert was raised, in the reader's language")
    detected_at: str
    evidence: dict


class CorrectionAlertsAnswer(BaseModel):
    """Open correction alerts in the caller's grids, newest first; each one shown is audited."""

    alerts: list[CorrectionAlertView]


class GuardianConsentRequest(BaseModel):
    """A guardian's separate consent for a minor under 14, after reading the notice (Art. 7)."""

    model_config = ConfigDict(extra="forbid")

    relation: GuardianRelation = Field(description="how the caller is related to the minor")
    estates: list[str] = Field(min_length=1, max_length=20, description="estates whose gates may match the face")
    matching: Matching = Field(description="cloud matching, or on the gate device only")
    notice_version: str = Field(min_length=1, max_length=64, description="the version of the notice shown")


class GuardianConsentAnswer(FaceConsentAnswer):
    guardian_relation: GuardianRelation

"""Storage of consent records and correction approvals (`compliance_records` table).

A person's records of one kind are one query (the partition ``<kind>#<person_id>``); the
data-center figures and the nightly alerts read all of one kind by a parallel scan. A consent is
never deleted: its withdrawal is written onto it, so the count of consents withdrawn comes from
the data (a withdrawn consent holds no face data, only the person id and dates).
"""

from __future__ import annotations

from datetime import date, datetime

from gridgate.adapters.tables import ComplianceRecordTable
from gridgate.domain.legal_records import (
    CorrectionApproval,
    FaceConsent,
    FaceOptOut,
    ImpactAssessment,
    LegalBasis,
    Matching,
)

CONSENT = "consent"
CORRECTION = "correction"
OPT_OUT = "face_opt_out"
ASSESSMENT = "impact_assessment"


def consent_to_item(consent: FaceConsent) -> ComplianceRecordTable:
    return ComplianceRecordTable(
        pk=f"{CONSENT}#{consent.person_id}",
        sk=consent.given_at.isoformat(),
        kind=CONSENT,
        person_id=consent.person_id,
        body={
            "basis": consent.basis.value,
            "estates": sorted(consent.estates),
            "matching": consent.matching.value,
            "notice_version": consent.notice_version,
            "given_at": consent.given_at.isoformat(),
            "statute": consent.statute,
            "guardian_person_id": consent.guardian_person_id,
            "guardian_relation": consent.guardian_relation,
            "withdrawn_at": consent.withdrawn_at.isoformat() if consent.withdrawn_at else None,
            "superseded_at": consent.superseded_at.isoformat() if consent.superseded_at else None,
        },
    )


def consent_from_item(item: ComplianceRecordTable) -> FaceConsent:
    body = item.body
    return FaceConsent(
        person_id=item.person_id,
        basis=LegalBasis(body["basis"]),
        estates=frozenset(body["estates"]),
        matching=Matching(body["matching"]),
        notice_version=body["notice_version"],
        given_at=datetime.fromisoformat(body["given_at"]),
        statute=body.get("statute"),
        guardian_person_id=body.get("guardian_person_id"),
        guardian_relation=body.get("guardian_relation"),
        withdrawn_at=datetime.fromisoformat(body["withdrawn_at"]) if body.get("withdrawn_at") else None,
        superseded_at=datetime.fromisoformat(body["superseded_at"]) if body.get("superseded_at") else None,
    )


def approval_to_item(approval: CorrectionApproval) -> ComplianceRecordTable:
    return ComplianceRecordTable(
        pk=f"{CORRECTION}#{approval.person_id}",
        sk=f"{approval.starts.isoformat()}#{approval.case_no}",
        kind=CORRECTION,
        person_id=approval.person_id,
        body={
            "case_no": approval.case_no,
            "approved_by": approval.approved_by,
            "starts": approval.starts.isoformat(),
            "ends": approval.ends.isoformat(),
            "approved_at": approval.approved_at.isoformat(),
        },
    )


def approval_from_item(item: ComplianceRecordTable) -> CorrectionApproval:
    body = item.body
    return CorrectionApproval(
        person_id=item.person_id,
        case_no=body["case_no"],
        approved_by=body["approved_by"],
        starts=date.fromisoformat(body["starts"]),
        ends=date.fromisoformat(body["ends"]),
        approved_at=datetime.fromisoformat(body["approved_at"]),
    )


class ConsentRepository:
    def add(self, consent: FaceConsent) -> None:
        consent_to_item(consent).save()

    def for_person(self, person_id: str) -> list[FaceConsent]:
        """The person's consents, oldest first (strongly consistent: a withdrawal is seen at once)."""
        items = ComplianceRecordTable.query(f"{CONSENT}#{person_id}", consistent_read=True)
        return [consent_from_item(item) for item in items]

    def everyone(self) -> list[FaceConsent]:
        from gridgate.adapters.findings import parallel_scan

        items = parallel_scan(ComplianceRecordTable, ComplianceRecordTable.kind == CONSENT)
        return [consent_from_item(item) for item in items]


class CorrectionApprovalRepository:
    def add(self, approval: CorrectionApproval) -> None:
        approval_to_item(approval).save()

    def for_person(self, person_id: str) -> list[CorrectionApproval]:
        return [approval_from_item(item) for item in ComplianceRecordTable.query(f"{CORRECTION}#{person_id}")]

    def everyone(self) -> list[CorrectionApproval]:
        from gridgate.adapters.findings import parallel_scan

        items = parallel_scan(ComplianceRecordTable, ComplianceRecordTable.kind == CORRECTION)
        return [approval_from_item(item) for item in items]


class FaceOptOutRepository:
    """A resident's opt-outs of face (``face_opt_out#<person>``, one item per opt-out, never deleted)."""

    def add(self, opt_out: FaceOptOut) -> None:
        ComplianceRecordTable(
            pk=f"{OPT_OUT}#{opt_out.person_id}",
            sk=opt_out.at.isoformat(),
            kind=OPT_OUT,
            person_id=opt_out.person_id,
            body={"at": opt_out.at.isoformat()},
        ).save()

    def for_person(self, person_id: str) -> list[FaceOptOut]:
        items = ComplianceRecordTable.query(f"{OPT_OUT}#{person_id}", consistent_read=True)
        return [FaceOptOut(item.person_id, datetime.fromisoformat(item.body["at"])) for item in items]

    def everyone(self) -> list[FaceOptOut]:
        from gridgate.adapters.findings import parallel_scan

        items = parallel_scan(ComplianceRecordTable, ComplianceRecordTable.kind == OPT_OUT)
        return [FaceOptOut(item.person_id, datetime.fromisoformat(item.body["at"])) for item in items]


class ImpactAssessmentRepository:
    """The impact assessments, one partition (``impact_assessment``), sorted by date then version;
    records are only ever added (PIPL Art. 56: kept at least three years)."""

    def add(self, assessment: ImpactAssessment) -> None:
        ComplianceRecordTable(
            pk=ASSESSMENT,
            sk=f"{assessment.assessed_on.isoformat()}#{assessment.version}",
            kind=ASSESSMENT,
            person_id=assessment.recorded_by,
            body={
                "assessed_on": assessment.assessed_on.isoformat(),
                "version": assessment.version,
                "recorded_at": assessment.recorded_at.isoformat(),
            },
        ).save()

    def all(self) -> list[ImpactAssessment]:
        return [
            ImpactAssessment(
                assessed_on=date.fromisoformat(item.body["assessed_on"]),
                version=item.body["version"],
                recorded_by=item.person_id,
                recorded_at=datetime.fromisoformat(item.body["recorded_at"]),
            )
            for item in ComplianceRecordTable.query(ASSESSMENT, consistent_read=True)
        ]

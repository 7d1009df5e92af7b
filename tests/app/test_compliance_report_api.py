"""The compliance report endpoint (issue 18 point 3): data-center staff only, counted from the data."""

from __future__ import annotations

from datetime import date, timedelta

import boto3
from app_helpers import bearer

from gridgate import clock
from gridgate.adapters.compliance_records import ImpactAssessmentRepository
from gridgate.adapters.repositories import FaceTemplateRepository
from gridgate.config import get_settings
from gridgate.domain.legal_records import ImpactAssessment
from gridgate.domain.model import FaceTemplate, Registry


def test_only_data_center_staff_read_the_report_and_it_counts_the_stored_data(client, clean_tables):
    now = clock.now()
    FaceTemplateRepository().add(FaceTemplate("P-1", Registry.POPULATION, 0, b"\0" * 512, now - timedelta(days=10)))
    ImpactAssessmentRepository().add(ImpactAssessment(date(2026, 5, 1), "v3", "dpo-1", now))
    old_day = now.date() - timedelta(days=get_settings().event_retention_days + 2)
    boto3.client("s3").put_object(
        Bucket=get_settings().bucket, Key=f"snapshots/access_events/day={old_day.isoformat()}/part-0.parquet", Body=b"x"
    )
    for roles in (("resident",), ("grid_worker",), ("public_health",), ("correction_staff",)):
        refused = client.http.get("/compliance/report", headers=bearer("someone", roles=roles))
        assert refused.status_code == 403 and refused.json_body["code"] == "forbidden", roles
    answer = client.http.get("/compliance/report", headers=bearer("dc-1", roles=("data_center",)))
    assert answer.status_code == 200, answer.body
    report = answer.json_body
    assert report["people_with_faces"] == 1 and report["templates_by_basis"]["statute"] == 1
    assert report["template_retention"] == {
        "policy_days": 365,
        "oldest_age_days": 10,
        "over_policy": 0,
        "within_policy": True,
    }
    assert report["event_retention"]["oldest_age_days"] == get_settings().event_retention_days + 2
    assert report["event_retention"]["over_policy"] == 2 and report["event_retention"]["within_policy"] is False
    assert report["impact_assessment"]["version"] == "v3" and report["filing_due"] is False

"""`gridgate compliance`: face figures counted from the tables, approvals of correction tracking."""

from __future__ import annotations

import uuid
from datetime import timedelta

from gridgate import clock
from gridgate.adapters.compliance_records import ConsentRepository, CorrectionApprovalRepository
from gridgate.adapters.repositories import FaceTemplateRepository
from gridgate.domain.legal_records import FaceConsent, LegalBasis, Matching
from gridgate.domain.model import FaceTemplate, Registry
from gridgate_cli.commands import app, t


def test_figures_are_counted_from_the_stored_templates_and_consents(runner, clean_tables):
    person = f"P-{uuid.uuid4().hex[:8]}"
    now = clock.now()
    FaceTemplateRepository().add(FaceTemplate(person, Registry.APP, 0, b"\0" * 512, now))
    FaceTemplateRepository().add(FaceTemplate(person, Registry.POPULATION, 0, b"\0" * 512, now))
    consent = FaceConsent(person, LegalBasis.SEPARATE_CONSENT, frozenset({"E1"}), Matching.CLOUD, "v1", now)
    ConsentRepository().add(consent)
    result = runner.invoke(app, ["compliance", "figures"])
    assert result.exit_code == 0, result.output
    rows = [line.split("│") for line in result.output.splitlines() if line.count("│") == 3]
    shown = {row[1].strip(): row[2].strip() for row in rows}
    assert shown[t("cli.compliance.people_with_faces")] == "1"
    assert shown[t("cli.compliance.templates_by_basis", basis="separate_consent")] == "1"
    assert shown[t("cli.compliance.templates_by_basis", basis="statute")] == "1"
    assert shown[t("cli.compliance.consents_in_force")] == "1"
    assert shown[t("cli.compliance.consents_withdrawn")] == "0"


def test_an_approval_is_recorded_only_within_three_months(runner, clean_tables):
    person = f"CC-{uuid.uuid4().hex[:8]}"
    day = clock.today()
    args = ["compliance", "approve-correction", person, "--case", "C-1", "--approved-by", "officer-1"]
    too_long_end = (day + timedelta(days=120)).isoformat()
    too_long = runner.invoke(app, [*args, "--starts", day.isoformat(), "--ends", too_long_end])
    assert too_long.exit_code == 1
    assert CorrectionApprovalRepository().for_person(person) == []
    ok = runner.invoke(app, [*args, "--starts", day.isoformat(), "--ends", (day + timedelta(days=60)).isoformat()])
    assert ok.exit_code == 0, ok.output
    [approval] = CorrectionApprovalRepository().for_person(person)
    assert (approval.case_no, approval.approved_by, approval.ends) == ("C-1", "officer-1", day + timedelta(days=60))


def test_a_flow_query_approval_is_recorded_checked_audited_and_never_overwritten(runner, moto_server):
    from gridgate.adapters.audit import AuditLog
    from gridgate.adapters.flow_approvals import FlowApprovalRepository

    approval_id = f"A-{uuid.uuid4().hex[:8]}"
    now = clock.now()
    args = [
        "compliance",
        "approve-flow-query",
        approval_id,
        "--officer",
        "cdc-officer",
        "--case",
        "宁卫疾控〔2026〕5号",
        "--purpose",
        "密接排查",
        "--estates",
        "E1, E2",
        "--persons",
        "P-index",
        "--from",
        (now - timedelta(days=14)).isoformat(),
        "--to",
        now.isoformat(),
        "--expires",
        (now + timedelta(days=7)).isoformat(),
    ]
    self_granted = runner.invoke(app, [*args, "--approved-by", "cdc-officer"])
    assert self_granted.exit_code == 1 and FlowApprovalRepository().get(approval_id) is None
    ok = runner.invoke(app, [*args, "--approved-by", "cdc-director"])
    assert ok.exit_code == 0, ok.output
    approval = FlowApprovalRepository().get(approval_id)
    assert approval is not None
    assert (approval.estates, approval.persons, approval.export_allowed) == (
        frozenset({"E1", "E2"}),
        frozenset({"P-index"}),
        False,
    )
    again = runner.invoke(app, [*args, "--approved-by", "someone-else", "--export"])
    assert again.exit_code == 1 and FlowApprovalRepository().get(approval_id) == approval
    [audit] = AuditLog().about(f"flow_query#{approval_id}")
    assert (audit.actor, audit.action) == ("cdc-director", "public_health.approval.recorded")


def test_the_impact_assessment_is_recorded_and_the_figures_show_it_with_retention(runner, clean_tables):
    from gridgate.adapters.compliance_records import ImpactAssessmentRepository

    today = clock.today()
    future = runner.invoke(
        app,
        [
            "compliance",
            "record-assessment",
            "--version",
            "v2",
            "--date",
            (today + timedelta(days=1)).isoformat(),
            "--by",
            "dpo",
        ],
    )
    assert future.exit_code == 1 and ImpactAssessmentRepository().all() == []
    missing = runner.invoke(app, ["compliance", "figures"])
    assert t("cli.compliance.assessment.none") in missing.output
    ok = runner.invoke(
        app, ["compliance", "record-assessment", "--version", "v2", "--date", "2026-05-01", "--by", "dpo"]
    )
    assert ok.exit_code == 0, ok.output
    [stored] = ImpactAssessmentRepository().all()
    assert (stored.assessed_on.isoformat(), stored.version, stored.recorded_by) == ("2026-05-01", "v2", "dpo")
    FaceTemplateRepository().add(FaceTemplate("P-old", Registry.APP, 0, b"\0" * 512, clock.now() - timedelta(days=400)))
    shown = runner.invoke(app, ["compliance", "figures"])
    assert shown.exit_code == 0, shown.output
    assert "2026-05-01 v2 (dpo)" in shown.output
    assert f"400 ({t('page.cr.over')}: 1)" in shown.output  # the template is 400 days old against 365

"""`gridgate compliance`: face figures counted from the tables, approvals of correction tracking."""

from __future__ import annotations

import uuid
from datetime import timedelta

from gridgate import clock
from gridgate.adapters.compliance_records import ConsentRepository, CorrectionApprovalRepository
from gridgate.adapters.repositories import FaceTemplateRepository
from gridgate.domain.compliance import FaceConsent, LegalBasis, Matching
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

"""The three flows against the emulator: a synthetic city with planted cases, run as the night runs them.

The city (`local_emulator.synthetic_city`) lists what it planted in `city.truth`; each planted
case must come out as the finding or alert meant to catch it, the corrective actions must be
applied, the outputs published, and a second run on the same data must change nothing.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import timedelta

import boto3
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from flows.run_all import run_nightly
from gridgate import clock
from gridgate.adapters.audit import AuditLog
from gridgate.adapters.findings import (
    StatisticRepository,
    VerificationTaskRepository,
    parallel_scan,
)
from gridgate.adapters.flow_storage import ReportStore
from gridgate.adapters.grant_repository import GrantRepository
from gridgate.adapters.tables import (
    AuditTable,
    FindingTable,
    HomeTable,
    PersonTable,
    VisitorPassTable,
)
from gridgate.analytics.city_frames import local_midnight
from gridgate.config import get_settings
from gridgate.registry.reconciliation_actions import NOTIFY_GRANT_REVOKED


def stored_findings() -> dict[str, list[FindingTable]]:
    by_type: dict[str, list[FindingTable]] = defaultdict(list)
    for item in parallel_scan(FindingTable):
        by_type[item.finding_type].append(item)
    return by_type


def registered(person_ids: list[str]) -> set[str]:
    """Those of `person_ids` with an address in the population registry (the ones a visit can reach)."""
    return {p.person_id for p in PersonTable.batch_get(person_ids) if p.registered_home_id}


@pytest.fixture(scope="module")
def findings(nightly) -> dict[str, list[FindingTable]]:
    return stored_findings()


@pytest.mark.parametrize(
    "planted, finding_type, attribute",
    [
        ("moved_out", "resident_not_seen", "person_id"),
        ("pass_regulars", "visitor_pass_regular", "person_id"),
        ("over_cap_homes", "grants_over_cap", "home_id"),
        ("elderly_not_leaving", "living_alone_no_exit", "person_id"),
        ("night_movement", "correction_unusual_hours", "person_id"),
    ],
)
def test_each_planted_case_is_found(nightly, findings, planted, finding_type, attribute):
    truth = nightly.city.truth[planted]
    expected = registered(truth) if attribute == "person_id" else set(truth)
    assert expected, f"the city planted no {planted}"
    found = {getattr(f, attribute) for f in findings[finding_type]}
    assert expected <= found, f"{planted} missed: {sorted(expected - found)}"


def test_group_rented_homes_are_found(nightly, findings):
    suspects = {f.home_id for kind in ("grants_over_cap", "faces_over_grants") for f in findings[kind]}
    assert set(nightly.city.truth["group_rented_homes"]) <= suspects


def test_grantees_registered_elsewhere_are_found(nightly, findings):
    found = {f.person_id for f in findings["grantee_registered_elsewhere"]}
    revoked_grantees = {f.person_id for f in findings["grant_by_former_owner"]}
    expected = set(nightly.city.truth["grantees_registered_elsewhere"]) - revoked_grantees
    assert expected and expected <= found


def test_grants_of_former_owners_are_revoked_and_the_owners_told(nightly, findings):
    planted = set(nightly.city.truth["grants_by_ex_owners"])
    revoked = {f.evidence["grant_id"]: f for f in findings["grant_by_former_owner"]}
    assert set(revoked) == planted
    grants, audit = GrantRepository(), AuditLog()
    for grant_id, finding in revoked.items():
        grant = grants.get(finding.home_id, grant_id)
        assert grant.status.value == "revoked" and finding.status == "done"
        active = sum(g.status.value == "active" for g in grants.of_home(finding.home_id))
        assert HomeTable.get(finding.home_id).granted_count == active, "the cap counter follows the revocation"
        for owner in finding.evidence["notify"]:
            notes = [r for r in audit.about(f"person#{owner}") if r.action == NOTIFY_GRANT_REVOKED]
            assert any(n.detail["grant_id"] == grant_id for n in notes), f"owner {owner} not told about {grant_id}"
    assert nightly.summary["reconciliation"]["grants_revoked"]["applied"] == len(planted)


def test_expired_passes_are_marked_expired(nightly, findings):
    end = local_midnight(nightly.day + timedelta(days=1), get_settings().city_timezone)
    stale = [p.pass_id for p in VisitorPassTable.scan() if p.status == "active" and p.valid_until < end]
    assert stale == []
    marked = findings["expired_pass_active"]
    assert marked and all(f.status == "done" for f in marked)
    assert all(VisitorPassTable.get(f.subject.removeprefix("pass#")).status == "expired" for f in marked)


def test_every_open_finding_needing_a_visit_has_one_open_task(nightly, findings):
    tasks = VerificationTaskRepository().open_tasks()
    per_finding = defaultdict(int)
    for task in tasks:
        per_finding[task.finding_id] += 1
    assert set(per_finding.values()) == {1}
    for kind in ("resident_not_seen", "living_alone_no_exit", "visitor_pass_regular"):
        assert all(per_finding[f.finding_id] == 1 for f in findings[kind] if f.status == "open"), kind
    assert not any(f.finding_id in per_finding for f in findings["expired_pass_active"])
    # correction tracking serves correction work only: no grid worker visits for it (issue 18.4)
    assert findings["correction_unusual_hours"]
    assert not any(f.finding_id in per_finding for f in findings["correction_unusual_hours"])


def test_grid_lists_are_published_in_walking_order(nightly):
    grids = nightly.summary["tasks"]["grids"]
    assert {g["grid_id"] for g in grids} == {t.grid_id for t in VerificationTaskRepository().open_tasks()}
    for grid in grids:
        text = ReportStore(get_settings()).read(f"tasks/{nightly.day.isoformat()}/{grid['grid_id']}.csv")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == grid["open_tasks"]
        keys = [
            (int(r["priority"]), r["estate_id"], r["building_id"], r["unit"], int(r["floor"]), r["room"]) for r in rows
        ]
        assert keys == sorted(keys)
        assert (nightly.report_dir / "tasks" / nightly.day.isoformat() / f"{grid['grid_id']}.html").is_file()


def test_statistics_are_stored_and_the_report_published(nightly):
    city = nightly.city
    district = city.places.district_ids[0]
    stats = {s.metric: s for s in StatisticRepository().for_scope(f"district#{district}", nightly.day)}
    assert {
        "residents.owners",
        "residents.family",
        "residents.tenants",
        "floating",
        "visitors",
        "entries",
        "exits",
        "occupancy.ratio",
    } <= set(stats)
    assert len(stats["entries"].series) == 24 and sum(stats["entries"].series) == stats["entries"].value > 0
    for estate in city.places.estate_ids:
        assert StatisticRepository().for_scope(f"estate#{estate}", nightly.day)
    report = nightly.summary["statistics"]["report"]
    bucket, key = report["s3"].removeprefix("s3://").split("/", 1)
    html = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    # ECharts draws in the reader's browser (tests/pages/test_statistics_report.py looks at it there);
    # the file carries the library and the heading speaks Chinese by default
    assert "echarts.init(" in html and "重点人群预警" in html
    assert (nightly.report_dir / "statistics" / f"{nightly.day.isoformat()}.html").read_text() == html


def test_artifacts_and_progress_are_in_prefect(nightly):
    keys = [
        "reconciliation-summary",
        "reconciliation-findings",
        "reconciliation-progress",
        "statistics-districts",
        "statistics-alerts",
        "statistics-progress",
        "verification-tasks-index",
        "task-generation-progress",
    ]
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)))
    by_key = defaultdict(list)
    for artifact in artifacts:
        by_key[artifact.key].append(artifact)
    assert set(keys) <= set(by_key)
    assert max(a.data for a in by_key["reconciliation-progress"]) == 100.0
    grid = nightly.summary["tasks"]["grids"][0]["grid_id"]
    with get_client(sync_client=True) as client:
        [latest] = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"tasks-{grid.lower()}"])), limit=1
        )
    assert latest.type == "table"


def test_a_second_run_on_the_same_data_changes_nothing(nightly):
    before_findings = {f.finding_id: (f.status, f.evidence) for f in parallel_scan(FindingTable)}
    before_tasks = {(t.grid_id, t.task_id) for t in VerificationTaskRepository().open_tasks()}
    before_audit = len(list(AuditTable.scan()))
    again = run_nightly(day=nightly.day, report_dir=nightly.report_dir)
    assert again["reconciliation"]["stored"]["created"] == 0 and again["reconciliation"]["stored"]["updated"] == 0
    assert again["reconciliation"]["grants_revoked"]["applied"] == 0
    assert again["reconciliation"]["passes_expired"]["applied"] == 0
    assert again["statistics"]["alerts_stored"]["created"] == 0 and again["statistics"]["tasks_created"] == 0
    assert again["tasks"]["created"] == 0
    assert {f.finding_id: (f.status, f.evidence) for f in parallel_scan(FindingTable)} == before_findings
    assert {(t.grid_id, t.task_id) for t in VerificationTaskRepository().open_tasks()} == before_tasks
    assert len(list(AuditTable.scan())) == before_audit


def test_actions_on_rows_the_table_does_not_have_leave_their_findings_open(nightly):
    """A city seeded only as snapshots: nothing to revoke or expire, so nothing is closed."""
    from gridgate.adapters.findings import FindingRepository
    from gridgate.domain.model import Finding, Severity
    from gridgate.registry.reconciliation_actions import ReconciliationActions

    findings = FindingRepository()
    now = clock.now()
    findings.sync(
        [
            Finding("f-ghost-grant", "grant_by_former_owner", Severity.HIGH, "G-x", "grant#GHOST", {}, now),
            Finding("f-ghost-pass", "expired_pass_active", Severity.LOW, "G-x", "pass#GHOST", {}, now),
        ]
    )
    actions = ReconciliationActions("test")
    revoked = actions.revoke_grants_of_former_owners(
        [
            {
                "grant_id": "GHOST",
                "home_id": "H-none",
                "estate_id": "E-none",
                "grantee_id": "P-x",
                "granted_by": "P-y",
                "notify": [],
                "finding_id": "f-ghost-grant",
            }
        ],
        now,
    )
    expired = actions.expire_passes([{"pass_id": "GHOST", "finding_id": "f-ghost-pass"}], now)
    assert (revoked.missing, revoked.applied, revoked.findings_closed) == (1, 0, 0)
    assert (expired.missing, expired.applied, expired.findings_closed) == (1, 0, 0)
    assert findings.get("f-ghost-grant").status.value == "open" and findings.get("f-ghost-pass").status.value == "open"

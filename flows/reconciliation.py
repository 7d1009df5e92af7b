"""Nightly reconciliation flow: registries vs property records vs rights vs gate logs.

Steps (each visible as progress in Prefect): load the city in bulk; run every check
(`gridgate.analytics.reconciliation_checks`); store the findings compare-before-write (deterministic
ids, so a re-run on the same data writes nothing); revoke grants given by former owners and
tell the owners; mark stale visitor passes expired; send the open findings to their subscribers
(`flows.findings_out`: signed webhooks, scoped). A summary and the findings are published
as Prefect artifacts.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.city_data import check_report_day, default_day, load_city, release_run_files
from flows.findings_out import send_findings_out
from flows.flow_metrics import record_flow_end
from flows.gallery_refresh import refresh_gallery_objects
from flows.notify import notify_failure
from flows.progress import StepProgress
from flows.resilience import COMPUTE_TASK, STORAGE_TASK
from flows.retention_purge import purge_expired_templates
from gridgate.adapters.findings import FindingRepository
from gridgate.analytics.city_frames import CityFrames
from gridgate.analytics.finding_frames import to_findings
from gridgate.analytics.reconciliation_checks import (
    SHARED_FACTS,
    ReconciliationPolicy,
    ReconciliationResult,
    reconcile,
)
from gridgate.clock import now as city_now
from gridgate.registry.reconciliation_actions import ReconciliationActions

ACTOR = "flow:nightly-reconciliation"
#: Rows of the findings table artifact (the full list is in the findings table).
ARTIFACT_ROWS = 500


@task(**COMPUTE_TASK)
def run_checks(city: CityFrames, policy: ReconciliationPolicy) -> ReconciliationResult:
    return reconcile(city, policy)


@task(**STORAGE_TASK)
def store_findings(findings: pl.DataFrame) -> dict:
    return asdict(FindingRepository().sync(to_findings(findings, city_now())))


@task(**STORAGE_TASK)
def revoke_former_owner_grants(rows: list[dict]) -> dict:
    return asdict(ReconciliationActions(ACTOR).revoke_grants_of_former_owners(rows, city_now()))


@task(**STORAGE_TASK)
def expire_stale_passes(rows: list[dict]) -> dict:
    return asdict(ReconciliationActions(ACTOR).expire_passes(rows, city_now()))


def _summary_markdown(day: date, summary: dict) -> str:
    lines = [f"# Reconciliation {day.isoformat()}", "", "| finding type | found |", "|---|---|"]
    lines += [f"| {kind} | {count} |" for kind, count in sorted(summary["by_type"].items())]
    stored = summary["stored"]
    lines += [
        "",
        f"Stored: {stored['created']} new, {stored['updated']} updated, {stored['unchanged']} unchanged, "
        f"{stored['closed_kept']} already closed.",
        f"Grants of former owners revoked: {summary['grants_revoked']['applied']} "
        f"(already revoked: {summary['grants_revoked']['already_done']}, "
        f"not in the table: {summary['grants_revoked']['missing']}); "
        f"stale passes expired: {summary['passes_expired']['applied']}.",
    ]
    if summary["skipped"]:
        lines += ["", "Skipped checks:", *(f"- {reason}" for reason in summary["skipped"])]
    return "\n".join(lines)


@flow(name="nightly-reconciliation", on_completion=[record_flow_end], on_failure=[notify_failure, record_flow_end])
def nightly_reconciliation(
    day: date | None = None,
    policy: ReconciliationPolicy = ReconciliationPolicy(),
    export_snapshots: bool = True,
    snapshots_as_of: date | None = None,
) -> dict:
    """Reconcile the city as of local day `day` (default: yesterday) and act on what is found."""
    logger = get_run_logger()
    day = check_report_day(day or default_day())
    progress = StepProgress(
        "reconciliation",
        [
            "load city",
            "run checks",
            "store findings",
            "revoke grants and expire passes",
            "send findings out",
            "delete templates past retention",
            "refresh gallery objects",
        ],
    )
    with progress.step("load city"):
        city = load_city(
            day, policy.lookback_days, export_snapshots=export_snapshots, as_of=snapshots_as_of, shared=SHARED_FACTS
        )
        logger.info(
            "city: %d persons, %d homes, %d events", city.count("persons"), city.count("homes"), city.event_count()
        )
        estate_ids = city.estate_places()["estate_id"].to_list()  # while the live days are still there
    with progress.step("run checks"):
        result = run_checks(city, policy)
        release_run_files(city)
        for reason in result.skipped:
            logger.warning("check skipped: %s", reason)
    with progress.step("store findings"):
        stored = store_findings(result.findings)
    with progress.step("revoke grants and expire passes"):
        revoking = revoke_former_owner_grants.submit(result.grants_to_revoke.to_dicts())
        expiring = expire_stale_passes.submit(result.passes_to_expire.select("pass_id", "finding_id").to_dicts())
        revoked, expired = revoking.result(), expiring.result()
    with progress.step("send findings out"):
        sent = send_findings_out(result.findings["finding_id"].to_list())
    with progress.step("delete templates past retention"):
        purged = purge_expired_templates()
    with progress.step("refresh gallery objects"):
        galleries = refresh_gallery_objects(estate_ids)
    by_type = dict(result.findings.group_by("finding_type").len().iter_rows())
    summary = {
        "day": day.isoformat(),
        "by_type": by_type,
        "stored": stored,
        "grants_revoked": revoked,
        "passes_expired": expired,
        "sent_out": sent,
        "templates_purged": purged,
        "gallery_objects": galleries,
        "skipped": result.skipped,
    }
    create_markdown_artifact(
        _summary_markdown(day, summary), key="reconciliation-summary", description="nightly reconciliation"
    )
    create_table_artifact(
        result.findings.head(ARTIFACT_ROWS)
        .select("finding_type", "severity", "grid_id", "subject", "explanation")
        .to_dicts(),
        key="reconciliation-findings",
        description=f"first {ARTIFACT_ROWS} of {result.findings.height} findings",
    )
    logger.info("reconciliation %s: %s", day, summary)
    return summary

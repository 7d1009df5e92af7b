"""Population statistics and key-group alerts flow.

Steps: load the city in bulk; compute the statistics of the day for every estate, grid,
community, street and district, the key-group alerts and the visitors-per-day series (three
independent computations, submitted together so a parallel task runner runs them at once);
store the statistics; store the alerts as findings and create a verification task for each
(deterministic ids: a re-run creates nothing new); send the open alerts to the district offices
that subscribed (`flows.findings_out`); render the HTML report with its inline-SVG
charts to S3 and the local report folder; publish table and markdown artifacts.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from pathlib import Path

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.city_data import check_report_day, default_day, load_city, release_run_files
from flows.findings_out import send_findings_out
from flows.flow_metrics import record_flow_end
from flows.notify import notify_failure
from flows.progress import StepProgress
from flows.resilience import COMPUTE_TASK, STORAGE_TASK
from flows.task_generation import DEFAULT_REPORT_DIR, create_tasks_for_findings
from gridgate.adapters.compliance_records import CorrectionApprovalRepository
from gridgate.adapters.findings import FindingRepository, StatisticRepository
from gridgate.adapters.flow_storage import ReportStore
from gridgate.adapters.overview_queries import places_by_id
from gridgate.analytics import key_group_alerts as alerts_of_key_groups
from gridgate.analytics import population_statistics as statistics_of_places
from gridgate.analytics.city_frames import CityFrames
from gridgate.analytics.finding_frames import to_findings
from gridgate.analytics.key_group_alerts import AlertPolicy, key_group_alerts
from gridgate.analytics.population_statistics import (
    population_statistics,
    to_statistics,
    visitors_per_day,
)
from gridgate.analytics.statistics_report import render_report, wide
from gridgate.clock import now as city_now
from gridgate.config import get_settings
from gridgate.domain.legal_records import CorrectionApproval
from gridgate.domain.model import TaskStatus

#: Days of visitors shown in the report's chart (the flow reads at least this many days of events).
VISITOR_CHART_DAYS = 7

#: The facts the statistics and the alerts share, evaluated once per run (`load_city`).
SHARED_FACTS = statistics_of_places.SHARED_FACTS + alerts_of_key_groups.SHARED_FACTS


@task(**COMPUTE_TASK)
def compute_statistics(city: CityFrames, day: date) -> pl.DataFrame:
    return population_statistics(city, day)


@task(**STORAGE_TASK)
def load_correction_approvals() -> list[CorrectionApproval]:
    """Every recorded approval of correction tracking; the alerts keep those covering the day."""
    return CorrectionApprovalRepository().everyone()


@task(**COMPUTE_TASK)
def compute_alerts(city: CityFrames, policy: AlertPolicy, approvals: list[CorrectionApproval]) -> pl.DataFrame:
    return key_group_alerts(city, policy, approvals)


@task(**COMPUTE_TASK)
def compute_visitors_per_day(city: CityFrames) -> pl.DataFrame:
    return visitors_per_day(city)


@task(**STORAGE_TASK)
def store_statistics(stats: pl.DataFrame, day: date) -> int:
    return StatisticRepository().put_many(to_statistics(stats, day))


@task(**STORAGE_TASK)
def store_alerts(alerts: pl.DataFrame) -> tuple[dict, pl.DataFrame]:
    """Sync the alerts as findings; returns the counts and the alerts still open (to get tasks)."""
    repository = FindingRepository()
    counts = repository.sync(to_findings(alerts, city_now()))
    stored = repository.existing(alerts["finding_id"].to_list())
    still_open = [fid for fid, item in stored.items() if item.status == TaskStatus.OPEN.value]
    return asdict(counts), alerts.filter(pl.col("finding_id").is_in(still_open))


@task(**STORAGE_TASK)
def publish_report(html: str, day: date, report_dir: Path | None) -> dict:
    published = ReportStore(get_settings(), report_dir).publish(
        f"statistics/{day.isoformat()}.html", html, "text/html; charset=utf-8"
    )
    return {"s3": published.s3_uri, "local": str(published.local_path) if published.local_path else None}


def place_names(stats: pl.DataFrame) -> dict[str, str]:
    """The names of the places `stats` counts (the report names places, codes in small print)."""
    return {place_id: place.name for place_id, place in places_by_id(set(stats["place_id"].to_list())).items()}


@flow(name="population-statistics", on_completion=[record_flow_end], on_failure=[notify_failure, record_flow_end])
def population_statistics_and_alerts(
    day: date | None = None,
    alert_policy: AlertPolicy = AlertPolicy(),
    export_snapshots: bool = True,
    snapshots_as_of: date | None = None,
    report_dir: Path | None = DEFAULT_REPORT_DIR,
) -> dict:
    """Statistics and key-group alerts of local day `day` (default: yesterday)."""
    logger = get_run_logger()
    day = check_report_day(day or default_day())
    progress = StepProgress(
        "statistics",
        [
            "load city",
            "compute statistics and alerts",
            "store statistics",
            "store alerts and create tasks",
            "send alerts out",
            "publish report",
        ],
    )
    with progress.step("load city"):
        lookback = max(alert_policy.lookback_days, VISITOR_CHART_DAYS)
        city = load_city(day, lookback, export_snapshots=export_snapshots, as_of=snapshots_as_of, shared=SHARED_FACTS)
        approvals = load_correction_approvals()
    with progress.step("compute statistics and alerts"):
        stats_future = compute_statistics.submit(city, day)
        alerts_future = compute_alerts.submit(city, alert_policy, approvals)
        visitors_future = compute_visitors_per_day.submit(city)
        stats, alerts, visitors = stats_future.result(), alerts_future.result(), visitors_future.result()
        logger.info("%d statistics, %d key-group alerts", stats.height, alerts.height)
    with progress.step("store statistics"):
        written = store_statistics(stats, day)
    with progress.step("store alerts and create tasks"):
        stored, open_alerts = store_alerts(alerts)
        tasks_created = create_tasks_for_findings(open_alerts, city.homes_of(open_alerts["home_id"]))
        release_run_files(city)  # the city's last question is answered
    with progress.step("send alerts out"):
        sent = send_findings_out(open_alerts["finding_id"].to_list())
    with progress.step("publish report"):
        report = publish_report(render_report(day, stats, visitors, alerts, names=place_names(stats)), day, report_dir)
    districts = wide(stats, "district")
    create_table_artifact(districts.to_dicts(), key="statistics-districts", description=f"district statistics {day}")
    by_type = dict(alerts.group_by("finding_type").len().iter_rows())
    lines = [
        f"# Statistics {day.isoformat()}",
        "",
        f"{written} statistics stored. Report: {report['local'] or report['s3']}",
        "",
    ]
    lines += ["| alert | count |", "|---|---|", *(f"| {k} | {v} |" for k, v in sorted(by_type.items()))]
    lines += [
        "",
        *(f"- **{r['finding_type']}** ({r['grid_id']}): {r['explanation']}" for r in alerts.head(50).to_dicts()),
    ]
    create_markdown_artifact("\n".join(lines), key="statistics-alerts", description="key-group alerts and report")
    return {
        "day": day.isoformat(),
        "statistics": written,
        "alerts_by_type": by_type,
        "alerts_stored": stored,
        "tasks_created": tasks_created,
        "alerts_sent_out": sent,
        "report": report,
    }

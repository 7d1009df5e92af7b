"""Verification-task generation flow: open findings → door-to-door task lists per grid.

Every open finding that needs a visit gets a task unless it already has an open one (so a
re-run creates nothing new); a finding whose last visit found nobody gets its next attempt.
Each grid's open list is then published, in walking order, as CSV and as a printable HTML page
(S3 ``reports/tasks/<day>/<grid>.*`` and the local report folder) and as a Prefect table
artifact; a markdown artifact indexes them. The sheets of all grids are rendered in one
column-wise pass (`gridgate.analytics.task_sheet_frames`), byte for byte what the grid-worker
function renders for one list.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from itertools import chain
from pathlib import Path

import polars as pl
import pyarrow as pa
from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.city_data import (
    check_report_day,
    default_day,
    export_snapshot,
    local_today,
    read_snapshot,
)
from flows.flow_metrics import record_flow_end
from flows.notify import notify_failure
from flows.progress import StepProgress
from flows.resilience import COMPUTE_TASK, STORAGE_TASK
from gridgate.adapters.findings import FindingRepository, VerificationTaskRepository
from gridgate.adapters.flow_storage import ReportStore
from gridgate.analytics.finding_frames import from_findings
from gridgate.analytics.task_sheet_frames import GridSheets, render_sheets, tasks_frame
from gridgate.analytics.verification_tasks import HOME_COLUMNS, plan_tasks, to_tasks
from gridgate.clock import now as city_now
from gridgate.config import get_settings
from gridgate.data_center.finding_explanations import explain_tasks
from gridgate.domain.model import VerificationTask
from gridgate.grid_work.task_sheets import rows
from gridgate.i18n import translator

DEFAULT_REPORT_DIR = Path(".gridgate/reports")


def artifact_key(prefix: str, name: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return f"{prefix}-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@task(**STORAGE_TASK)
def read_open_findings() -> pl.DataFrame:
    return from_findings(FindingRepository().open_findings())


@task(**STORAGE_TASK)
def read_existing_tasks() -> pl.DataFrame:
    """finding_id and status of every task ever created (what planning must not duplicate)."""
    return pl.DataFrame(
        VerificationTaskRepository().all_tasks(), schema={"finding_id": pl.String, "status": pl.String}, orient="row"
    )


@task(**COMPUTE_TASK)
def plan(open_findings: pl.DataFrame, existing: pl.DataFrame, homes: pa.Table | pl.DataFrame) -> pl.DataFrame:
    return plan_tasks(open_findings, existing, homes)


@task(**STORAGE_TASK)
def create_tasks(planned: pl.DataFrame) -> int:
    return VerificationTaskRepository().add_new(to_tasks(planned, city_now()))


@task(**STORAGE_TASK)
def read_open_tasks() -> dict[str, list[VerificationTask]]:
    by_grid: dict[str, list[VerificationTask]] = defaultdict(list)
    for open_task in VerificationTaskRepository().open_tasks():
        by_grid[open_task.grid_id].append(open_task)
    return dict(sorted(by_grid.items()))


@task(task_run_name="explain-{grid_id}", **STORAGE_TASK)
def explain_grid(grid_id: str, tasks: list[VerificationTask]) -> dict[str, str]:
    """task id -> the reason of its finding in the city's language, for the grid's stored page
    (which names nobody: there is no reader to audit)."""
    return explain_tasks(tasks, FindingRepository().in_grid(grid_id), translator())


@task(**COMPUTE_TASK)
def render_grid_sheets(
    lists: dict[str, list[VerificationTask]], reasons: list[dict[str, str]], day: date
) -> list[GridSheets]:
    """Every grid's CSV and page at once (column-wise: seconds saved at a city's size)."""
    explained = {task_id: reason for grid_reasons in reasons for task_id, reason in grid_reasons.items()}
    return list(render_sheets(tasks_frame(chain.from_iterable(lists.values()), explained), day))


@task(task_run_name="publish-{grid_id}", **STORAGE_TASK)
def publish_grid_list(
    grid_id: str, sheets: GridSheets, tasks: list[VerificationTask], day: date, report_dir: Path | None
) -> dict:
    store = ReportStore(get_settings(), report_dir)
    csv_file = store.publish(f"tasks/{day.isoformat()}/{grid_id}.csv", sheets.csv, "text/csv; charset=utf-8")
    page = store.publish(f"tasks/{day.isoformat()}/{grid_id}.html", sheets.html, "text/html; charset=utf-8")
    create_table_artifact(
        rows(tasks), key=artifact_key("tasks", grid_id), description=f"open verification tasks of grid {grid_id}"
    )
    return {
        "grid_id": grid_id,
        "open_tasks": sheets.open_tasks,
        "csv": csv_file.s3_uri,
        "html": page.s3_uri,
        "local_html": str(page.local_path) if page.local_path else None,
    }


def create_tasks_for_findings(open_findings: pl.DataFrame, homes: pa.Table | pl.DataFrame) -> int:
    """Plan and create tasks for `open_findings` (inside a flow); returns how many are new."""
    return create_tasks(plan(open_findings, read_existing_tasks(), homes))


@flow(
    name="verification-task-generation", on_completion=[record_flow_end], on_failure=[notify_failure, record_flow_end]
)
def generate_verification_tasks(
    day: date | None = None,
    export_snapshots: bool = True,
    snapshots_as_of: date | None = None,
    report_dir: Path | None = DEFAULT_REPORT_DIR,
) -> dict:
    """Create tasks for open findings and publish every grid's open list for `day` (default: yesterday)."""
    logger = get_run_logger()
    day = check_report_day(day or default_day())
    as_of = snapshots_as_of or local_today()
    progress = StepProgress(
        "task-generation", ["load homes and findings", "plan and create tasks", "publish grid lists"]
    )
    with progress.step("load homes and findings"):
        if export_snapshots:
            export_snapshot("homes", as_of)
        homes = read_snapshot("homes", as_of, list(HOME_COLUMNS))
        open_findings, existing = read_open_findings(), read_existing_tasks()
    with progress.step("plan and create tasks"):
        planned = plan(open_findings, existing, homes)
        created = create_tasks(planned)
        logger.info("%d open findings, %d tasks planned, %d created", open_findings.height, planned.height, created)
    with progress.step("publish grid lists"):
        lists = read_open_tasks()
        reasons = [f.result() for f in explain_grid.map(list(lists), list(lists.values()))]
        sheets = render_grid_sheets(lists, reasons, day)
        published = [
            f.result()
            for f in publish_grid_list.map(
                [s.grid_id for s in sheets],
                sheets,
                [lists[s.grid_id] for s in sheets],
                unmapped(day),
                unmapped(report_dir),
            )
        ]
    index = [
        f"# Verification tasks {day.isoformat()}",
        "",
        f"{created} new tasks.",
        "",
        "| grid | open tasks | CSV | page |",
        "|---|---|---|---|",
    ]
    index += [
        f"| {p['grid_id']} | {p['open_tasks']} | {p['csv']} | {p['local_html'] or p['html']} |" for p in published
    ]
    create_markdown_artifact("\n".join(index), key="verification-tasks-index", description="task lists per grid")
    return {
        "day": day.isoformat(),
        "open_findings": open_findings.height,
        "planned": planned.height,
        "created": created,
        "grids": published,
    }

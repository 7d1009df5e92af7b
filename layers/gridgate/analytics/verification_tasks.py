"""Door-to-door verification tasks: which open findings need a visit, and how urgently.

A task is born from an open finding that needs someone at the door (auto-resolved findings do
not). Planning is idempotent: a finding that already has an open task gets nothing new; one
whose earlier task ended without resolving it (nobody reachable) gets its next attempt, with
the attempt number in the task id — so re-running the flow never duplicates an open task.

Each task carries its priority (from the finding's severity) and its walking order (estate,
building, unit, floor, door); `task_sheets` orders a grid's list by them.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pyarrow as pa

from gridgate.adapters.sql_engines import frame_of
from gridgate.analytics.key_group_alerts import ALERT_TYPES
from gridgate.analytics.reconciliation_checks import AUTO_RESOLVED_TYPES, FINDING_TYPES
from gridgate.domain.legal_records import CORRECTION_ALERT_TYPES
from gridgate.domain.model import Severity, TaskStatus, VerificationTask

PRIORITY = {Severity.HIGH.value: 1, Severity.MEDIUM.value: 2, Severity.LOW.value: 3}

#: Finding types that send a grid worker to the door (never a correction alert: its data serves
#: correction work only, Community Correction Law Art. 29).
VISIT_TYPES = (frozenset(FINDING_TYPES) - AUTO_RESOLVED_TYPES | frozenset(ALERT_TYPES)) - CORRECTION_ALERT_TYPES

WALKING_ORDER = ("estate_id", "building_id", "unit", "floor", "room")

#: What planning reads of the homes snapshot.
HOME_COLUMNS = ("home_id", *WALKING_ORDER)

TASK_SCHEMA = {
    "grid_id": pl.String,
    "task_id": pl.String,
    "finding_id": pl.String,
    "finding_type": pl.String,
    "priority": pl.Int64,
    "home_id": pl.String,
    "person_id": pl.String,
    "summary": pl.String,
    "estate_id": pl.String,
    "building_id": pl.String,
    "unit": pl.String,
    "floor": pl.Int64,
    "room": pl.String,
}


def task_id(finding_id: str, attempt: int) -> str:
    return f"t-{finding_id.removeprefix('f-')}-{attempt}"


def plan_tasks(
    open_findings: pl.DataFrame, existing_tasks: pl.DataFrame, homes: pa.Table | pl.DataFrame
) -> pl.DataFrame:
    """New tasks (TASK_SCHEMA rows) for open findings that need a visit and have no open task.

    `open_findings`: finding_id, finding_type, severity, grid_id, home_id, person_id, explanation.
    `existing_tasks`: finding_id, status (every task ever created, open or done).
    `homes`: the homes snapshot, at least HOME_COLUMNS (for the walking order).
    """
    attempts = existing_tasks.group_by("finding_id").agg(
        pl.len().alias("attempts"), (pl.col("status") == TaskStatus.OPEN.value).any().alias("has_open")
    )
    wanted = (
        open_findings.filter(pl.col("finding_type").is_in(sorted(VISIT_TYPES)) & pl.col("home_id").is_not_null())
        .join(attempts, on="finding_id", how="left")
        .filter(~pl.col("has_open").fill_null(False))
        .with_columns((pl.col("attempts").fill_null(0) + 1).alias("attempt"))
    )
    if wanted.is_empty():
        return pl.DataFrame(schema=TASK_SCHEMA)
    if isinstance(homes, pa.Table):  # a snapshot's ids are dictionaries: decoded in Arrow, which is quicker
        types = {column: pa.int64() if column == "floor" else pa.string() for column in HOME_COLUMNS}
        homes = frame_of(homes.select(HOME_COLUMNS).cast(pa.schema(types.items())))
    walk = homes.select(
        *(pl.col(c).cast(pl.String) for c in HOME_COLUMNS if c != "floor"), pl.col("floor").cast(pl.Int64)
    )
    planned = wanted.with_columns(pl.col("home_id").cast(pl.String)).join(walk, on="home_id", how="inner")
    return planned.with_columns(
        # task_id, column-wise
        pl.concat_str(
            pl.lit("t-"), pl.col("finding_id").str.strip_prefix("f-"), pl.lit("-"), pl.col("attempt").cast(pl.String)
        ).alias("task_id"),
        pl.col("severity").replace_strict(PRIORITY, return_dtype=pl.Int64).alias("priority"),
        pl.col("explanation").alias("summary"),
    ).select([pl.col(c).cast(t) for c, t in TASK_SCHEMA.items()])


def to_tasks(planned: pl.DataFrame, created_at: datetime) -> list[VerificationTask]:
    """Domain tasks from planned rows (for the repository)."""
    columns = ["task_id", "grid_id", "finding_id", "priority", *WALKING_ORDER, "home_id", "summary", "person_id"]
    columns.append("finding_type")
    return [
        VerificationTask(
            task_id=task,
            grid_id=grid,
            finding_id=finding,
            priority=priority,
            walking_order=(estate, building, unit, floor, room),
            home_id=home,
            summary=summary,
            created_at=created_at,
            person_id=person,
            finding_type=finding_type,
        )
        for task, grid, finding, priority, estate, building, unit, floor, room, home, summary, person, finding_type in (
            planned.select(columns).iter_rows()
        )
    ]

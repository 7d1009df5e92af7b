"""Repositories for what the flows produce: findings, verification tasks and statistics.

Writes are compare-before-write and keyed by deterministic ids, so a flow re-run on the same
data writes nothing: a finding already stored unchanged is skipped, a closed finding is never
reopened, a task id that exists is never overwritten (conditional put). Reads the flows need
in bulk are parallel scans, never item-by-item gets.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.condition import Condition

from gridgate.adapters.tables import BaseTable, FindingTable, StatisticTable, VerificationTaskTable
from gridgate.domain.model import Finding, Severity, Statistic, TaskResult, TaskStatus, VerificationTask

#: Scan segments read in parallel (DynamoDB parallel scan); enough to keep a few partitions busy.
SCAN_SEGMENTS = 4

_Item = TypeVar("_Item", bound=BaseTable)


def parallel_scan(
    model: type[_Item], condition: Condition | None = None, segments: int = SCAN_SEGMENTS, **kwargs
) -> list[_Item]:
    """Every item of `model` matching `condition`, read as `segments` concurrent scan segments."""

    def segment(n: int) -> list[_Item]:
        return list(model.scan(condition, segment=n, total_segments=segments, **kwargs))

    with ThreadPoolExecutor(max_workers=segments) as pool:
        return [item for part in pool.map(segment, range(segments)) for item in part]


def _is_conditional_failure(error: Exception) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


@dataclass(frozen=True)
class SyncCounts:
    """What a compare-before-write pass did."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    closed_kept: int = 0  # found again but already closed by a grid worker or the flow


def finding_from_item(item: FindingTable) -> Finding:
    return Finding(
        finding_id=item.finding_id,
        finding_type=item.finding_type,
        severity=Severity(item.severity),
        grid_id=item.grid_id,
        subject=item.subject,
        evidence=dict(item.evidence or {}),
        detected_at=item.detected_at,
        status=TaskStatus(item.status),
        home_id=item.home_id,
        person_id=item.person_id,
    )


def finding_to_item(finding: Finding) -> FindingTable:
    return FindingTable(
        finding_id=finding.finding_id,
        finding_type=finding.finding_type,
        severity=finding.severity.value,
        grid_id=finding.grid_id,
        subject=finding.subject,
        evidence=finding.evidence,
        detected_at=finding.detected_at,
        status=finding.status.value,
        home_id=finding.home_id,
        person_id=finding.person_id,
    )


def _same_facts(item: FindingTable, finding: Finding) -> bool:
    return (
        item.finding_type == finding.finding_type
        and item.severity == finding.severity.value
        and item.grid_id == finding.grid_id
        and item.subject == finding.subject
        and (item.evidence or {}) == finding.evidence
        and item.home_id == finding.home_id
        and item.person_id == finding.person_id
    )


class FindingRepository:
    def existing(self, finding_ids: Iterable[str]) -> dict[str, FindingTable]:
        """Stored findings among `finding_ids` (BatchGetItem, 100 keys a request)."""
        return {item.finding_id: item for item in FindingTable.batch_get(list(dict.fromkeys(finding_ids)))}

    def sync(self, findings: Sequence[Finding]) -> SyncCounts:
        """Store new findings, refresh changed evidence of open ones, leave everything else alone.

        The first detection time is kept; a finding a grid worker closed is not reopened.
        """
        stored = self.existing(f.finding_id for f in findings)
        created, updated, unchanged, closed = [], 0, 0, 0
        for finding in findings:
            item = stored.get(finding.finding_id)
            if item is None:
                created.append(finding)
            elif item.status != TaskStatus.OPEN.value:
                closed += 1
            elif _same_facts(item, finding):
                unchanged += 1
            else:
                item.update(
                    actions=[
                        FindingTable.severity.set(finding.severity.value),
                        FindingTable.evidence.set(finding.evidence),
                        FindingTable.grid_id.set(finding.grid_id),
                    ],
                    condition=FindingTable.status == TaskStatus.OPEN.value,
                )
                updated += 1
        with FindingTable.batch_write() as batch:
            for finding in created:
                batch.save(finding_to_item(finding))
        return SyncCounts(created=len(created), updated=updated, unchanged=unchanged, closed_kept=closed)

    def get(self, finding_id: str) -> Finding | None:
        try:
            return finding_from_item(FindingTable.get(finding_id))
        except DoesNotExist:
            return None

    def open_findings(self) -> list[Finding]:
        return [finding_from_item(i) for i in parallel_scan(FindingTable, FindingTable.status == TaskStatus.OPEN.value)]

    def in_grid(self, grid_id: str) -> list[Finding]:
        return [finding_from_item(i) for i in FindingTable.by_grid.query(grid_id)]

    def close(self, finding_id: str) -> bool:
        """Mark an open finding done; False if it was not open (already closed, or unknown)."""
        try:
            FindingTable(finding_id=finding_id).update(
                actions=[FindingTable.status.set(TaskStatus.DONE.value)],
                condition=FindingTable.status == TaskStatus.OPEN.value,
            )
            return True
        except UpdateError as error:
            if _is_conditional_failure(error):
                return False
            raise


def task_to_item(task: VerificationTask) -> VerificationTaskTable:
    return VerificationTaskTable(
        grid_id=task.grid_id,
        task_id=task.task_id,
        finding_id=task.finding_id,
        finding_type=task.finding_type or None,
        priority=task.priority,
        walking_order=list(task.walking_order),
        home_id=task.home_id,
        summary=task.summary,
        created_at=task.created_at,
        status=task.status.value,
        person_id=task.person_id,
    )


def task_from_item(item: VerificationTaskTable) -> VerificationTask:
    estate, building, unit, floor, room = item.walking_order
    return VerificationTask(
        task_id=item.task_id,
        grid_id=item.grid_id,
        finding_id=item.finding_id,
        priority=int(item.priority),
        walking_order=(estate, building, unit, int(floor), room),
        home_id=item.home_id,
        summary=item.summary,
        created_at=item.created_at,
        status=TaskStatus(item.status),
        result=TaskResult(item.result) if item.result else None,
        person_id=item.person_id,
        finding_type=item.finding_type or "",
    )


class VerificationTaskRepository:
    def all_tasks(self) -> list[tuple[str, str]]:
        """(finding_id, status) of every task ever created: what task planning needs to know."""
        items = parallel_scan(VerificationTaskTable, attributes_to_get=["grid_id", "task_id", "finding_id", "status"])
        return [(item.finding_id, item.status) for item in items]

    def open_tasks(self) -> list[VerificationTask]:
        """Every open task of every grid (one parallel scan)."""
        return [
            task_from_item(i)
            for i in parallel_scan(VerificationTaskTable, VerificationTaskTable.status == TaskStatus.OPEN.value)
        ]

    def add_new(self, tasks: Iterable[VerificationTask]) -> int:
        """Create tasks whose id does not exist yet; returns how many were created."""
        created = 0
        for task in tasks:
            try:
                task_to_item(task).save(condition=VerificationTaskTable.task_id.does_not_exist())
                created += 1
            except PutError as error:
                if not _is_conditional_failure(error):
                    raise
        return created

    def in_grid(self, grid_id: str, status: TaskStatus | None = TaskStatus.OPEN) -> list[VerificationTask]:
        condition = VerificationTaskTable.status == status.value if status else None
        return [task_from_item(i) for i in VerificationTaskTable.query(grid_id, filter_condition=condition)]

    def get(self, grid_id: str, task_id: str) -> VerificationTask | None:
        try:
            return task_from_item(VerificationTaskTable.get(grid_id, task_id, consistent_read=True))
        except DoesNotExist:
            return None

    @staticmethod
    def close_item(task: VerificationTask, result: TaskResult, detail: dict, actor: str, at: datetime) -> tuple:
        """The (item, actions, condition) that close `task` if it is still open (for a transaction)."""
        item = VerificationTaskTable(grid_id=task.grid_id, task_id=task.task_id)
        actions = [
            VerificationTaskTable.status.set(TaskStatus.DONE.value),
            VerificationTaskTable.result.set(result.value),
            VerificationTaskTable.result_detail.set(detail),
            VerificationTaskTable.closed_by.set(actor),
            VerificationTaskTable.closed_at.set(at),
        ]
        return item, actions, VerificationTaskTable.status == TaskStatus.OPEN.value


def statistic_to_item(stat: Statistic) -> StatisticTable:
    return StatisticTable(
        scope=stat.scope,
        sk=f"{stat.day.isoformat()}#{stat.metric}",
        value=stat.value,
        series=list(stat.series) if stat.series is not None else None,
    )


def statistic_from_item(item: StatisticTable) -> Statistic:
    day_text, metric = item.sk.split("#", 1)
    return Statistic(
        scope=item.scope,
        day=date.fromisoformat(day_text),
        metric=metric,
        value=float(item.value),
        series=tuple(int(v) for v in item.series) if item.series else None,
    )


class StatisticRepository:
    def put_many(self, stats: Iterable[Statistic]) -> int:
        """Write statistics (BatchWriteItem); a re-run overwrites the same keys with the same values."""
        written = 0
        with StatisticTable.batch_write() as batch:
            for stat in stats:
                batch.save(statistic_to_item(stat))
                written += 1
        return written

    def for_scope(self, scope: str, day: date) -> list[Statistic]:
        return [
            statistic_from_item(i)
            for i in StatisticTable.query(scope, StatisticTable.sk.startswith(f"{day.isoformat()}#"))
        ]

    def days(self, scope: str) -> Iterator[Statistic]:
        return (statistic_from_item(i) for i in StatisticTable.query(scope))

    def scan(self, day: date | None = None, level: str | None = None) -> list[Statistic]:
        """The whole table (a parallel scan), filtered by day and level on the way when given."""
        condition = None
        if day is not None:
            condition = StatisticTable.sk.startswith(f"{day.isoformat()}#")
        if level is not None:
            by_level = StatisticTable.scope.startswith(f"{level}#")
            condition = by_level if condition is None else condition & by_level
        return [statistic_from_item(item) for item in parallel_scan(StatisticTable, condition)]

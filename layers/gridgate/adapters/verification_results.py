"""Storing a grid worker's verification result: registry corrections, task and finding, atomically.

A result touches several items — the persons corrected, the task, the finding — and either all
of it happens or none: one DynamoDB transaction. Each corrected person is written only if their
version is still the one the grid worker saw (PynamoDB's `VersionAttribute` condition), and the
task only if it is still open; so of two conflicting corrections the second is refused, never
silently applied over the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from gridgate.adapters.findings import VerificationTaskRepository
from gridgate.adapters.tables import FindingTable, PersonTable
from gridgate.domain.model import TaskResult, TaskStatus, VerificationTask


@dataclass(frozen=True)
class RegistryEntry:
    """The registry facts a correction may change (no sealed identifiers are read)."""

    person_id: str
    version: int
    registered_home_id: str | None
    registered_grid_id: str | None
    key_groups: frozenset[str]


@dataclass(frozen=True)
class RegistryChange:
    """New values for one person; `key_groups=None` leaves the tags as they are."""

    person_id: str
    seen_version: int
    registered_home_id: str | None
    registered_grid_id: str | None
    key_groups: frozenset[str] | None


class StaleRegistryEntry(Exception):
    """The person changed since the grid worker saw them (another correction came first)."""

    def __init__(self, person_id: str) -> None:
        super().__init__(person_id)
        self.person_id = person_id


class TaskNoLongerOpen(Exception):
    """The task was closed by another submission in the meantime."""


_ENTRY_ATTRIBUTES = ["person_id", "version", "registered_home_id", "registered_grid_id", "key_groups"]


class VerificationResultStore:
    def registry_entry(self, person_id: str) -> RegistryEntry | None:
        try:
            item = PersonTable.get(person_id, consistent_read=True, attributes_to_get=_ENTRY_ATTRIBUTES)
        except DoesNotExist:
            return None
        return RegistryEntry(
            person_id=item.person_id,
            version=int(item.version or 0),
            registered_home_id=item.registered_home_id,
            registered_grid_id=item.registered_grid_id,
            key_groups=frozenset(item.key_groups or ()),
        )

    def commit(
        self,
        task: VerificationTask,
        result: TaskResult,
        detail: dict,
        actor: str,
        at: datetime,
        changes: list[RegistryChange],
        close_finding: bool,
    ) -> None:
        """Apply the corrections, close the task and (if asked) its finding, all or nothing."""
        task_item, task_actions, task_condition = VerificationTaskRepository.close_item(task, result, detail, actor, at)
        connection = Connection(region=PersonTable.Meta.region)
        try:
            with TransactWrite(connection=connection) as transaction:
                for change in changes:
                    transaction.update(
                        PersonTable(person_id=change.person_id, version=change.seen_version),
                        _person_actions(change, at),
                    )
                transaction.update(task_item, task_actions, condition=task_condition, add_version_condition=False)
                if close_finding:
                    transaction.update(
                        FindingTable(finding_id=task.finding_id),
                        [FindingTable.status.set(TaskStatus.DONE.value)],
                        condition=FindingTable.finding_id.exists(),  # an update must not create a stub finding
                    )
        except TransactWriteError as error:
            reasons = list(error.cancellation_reasons or [])
            for change, reason in zip(changes, reasons):
                if reason is not None and reason.code == "ConditionalCheckFailed":
                    raise StaleRegistryEntry(change.person_id) from error
            if len(reasons) > len(changes) and reasons[len(changes)] is not None:
                raise TaskNoLongerOpen(task.task_id) from error
            raise


def _person_actions(change: RegistryChange, at: datetime) -> list:
    actions = [PersonTable.updated_at.set(at)]
    if change.registered_home_id is None:
        actions += [PersonTable.registered_home_id.remove(), PersonTable.registered_grid_id.remove()]
    else:
        actions += [
            PersonTable.registered_home_id.set(change.registered_home_id),
            PersonTable.registered_grid_id.set(change.registered_grid_id)
            if change.registered_grid_id is not None
            else PersonTable.registered_grid_id.remove(),
        ]
    if change.key_groups is not None:
        # DynamoDB has no empty sets: no tags left means no attribute.
        actions.append(
            PersonTable.key_groups.set(set(change.key_groups)) if change.key_groups else PersonTable.key_groups.remove()
        )
    return actions

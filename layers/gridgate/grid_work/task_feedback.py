"""The data-quality loop (paper §3.3): a grid worker's door-to-door result flows back.

A result is one of: confirmed (the facts stand; the finding is closed), corrected (the registry
is updated with the facts the worker found, with an audit record per person, and the finding is
closed), or not reachable (the task is closed, the finding stays open, and the next task run
schedules another visit). Every correction names the person version the worker saw; a
correction made on stale facts is refused with `CorrectionConflict`, never applied over the
other one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Final, Literal, TypeGuard

from gridgate.adapters.audit import AuditLog
from gridgate.adapters.findings import FindingRepository, VerificationTaskRepository
from gridgate.adapters.repositories import HomeRepository
from gridgate.adapters.verification_results import (
    RegistryChange,
    RegistryEntry,
    StaleRegistryEntry,
    TaskNoLongerOpen,
    VerificationResultStore,
)
from gridgate.clock import now as city_now
from gridgate.domain.model import KeyGroup, TaskResult, TaskStatus, VerificationTask
from gridgate.refusals import Conflict, Invalid, NotAllowed, NotFound


class _Unset(Enum):
    """The marker of a fact the correction leaves as it is (``None`` is a fact: moved out)."""

    UNSET = "unset"


_UNSET: Final = _Unset.UNSET


class InvalidSubmission(Invalid):
    """`reason` says which rule the submission broke (worded by ``error.invalid_submission.<reason>``)."""

    def __init__(self, reason: str, **detail) -> None:
        super().__init__("invalid_submission", reason=reason, **detail)


class OutOfScope(NotAllowed):
    def __init__(self, **detail) -> None:
        super().__init__("out_of_scope", **detail)


class TaskNotFound(NotFound):
    def __init__(self, **detail) -> None:
        super().__init__("task_not_found", **detail)


class TaskClosed(Conflict):
    def __init__(self, **detail) -> None:
        super().__init__("task_closed", **detail)


class CorrectionConflict(Conflict):
    def __init__(self, **detail) -> None:
        super().__init__("correction_conflict", **detail)


@dataclass(frozen=True)
class PersonCorrection:
    """Facts found at the door about one person. Omitted facts stay as they are.

    `registered_home_id=None` means the person no longer lives at any home the worker knows
    (moved out); `key_groups` replaces the person's key-group tags.
    """

    person_id: str
    seen_version: int
    registered_home_id: str | None | Literal[_Unset.UNSET] = _UNSET
    key_groups: frozenset[KeyGroup] | None = None

    @classmethod
    def from_json(cls, doc: object) -> PersonCorrection:
        if not isinstance(doc, dict):
            raise InvalidSubmission("correction_not_object")
        unknown = set(doc) - {"person_id", "seen_version", "registered_home_id", "moved_out", "key_groups"}
        if unknown:
            raise InvalidSubmission("correction_unknown_fields", fields=sorted(map(str, unknown)))
        person_id, version = doc.get("person_id"), doc.get("seen_version")
        if not _storable_text(person_id, 128):
            raise InvalidSubmission("correction_person_id")
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise InvalidSubmission("correction_seen_version")
        home: str | None | Literal[_Unset.UNSET] = _UNSET
        if doc.get("moved_out") is True:
            home = None
        elif "registered_home_id" in doc:
            home = doc["registered_home_id"]
            if home is not None and not _storable_text(home, 128):
                raise InvalidSubmission("correction_home_id")
        groups = doc.get("key_groups")
        if groups is not None:
            if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
                raise InvalidSubmission("correction_key_groups")
            try:
                groups = frozenset(KeyGroup(g) for g in groups)
            except ValueError:
                raise InvalidSubmission("correction_key_groups") from None
        if home is _UNSET and groups is None:
            raise InvalidSubmission("correction_changes_nothing")
        return cls(person_id=person_id, seen_version=version, registered_home_id=home, key_groups=groups)


def _storable_text(value: object, max_length: int, *, allow_empty: bool = False) -> TypeGuard[str]:
    """A string DynamoDB and the registry can hold: bounded, and no lone surrogate (which JSON's
    ``\\ud800`` escape lets in but UTF-8 cannot encode)."""
    if not isinstance(value, str) or len(value) > max_length or not (value or allow_empty):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class TaskSubmission:
    result: TaskResult
    note: str = ""
    corrections: tuple[PersonCorrection, ...] = field(default_factory=tuple)

    @classmethod
    def from_json(cls, doc: object) -> TaskSubmission:
        if not isinstance(doc, dict):
            raise InvalidSubmission("not_object")
        try:
            result = TaskResult(doc.get("result"))
        except ValueError:
            raise InvalidSubmission("bad_result", results=[r.value for r in TaskResult]) from None
        note = doc.get("note", "")
        if not _storable_text(note, 2000, allow_empty=True):
            raise InvalidSubmission("bad_note", max=2000)
        raw = doc.get("corrections", [])
        if not isinstance(raw, list) or len(raw) > 20:
            raise InvalidSubmission("too_many_corrections", max=20)
        corrections = tuple(PersonCorrection.from_json(c) for c in raw)
        if (result == TaskResult.CORRECTED) != bool(corrections):
            raise InvalidSubmission("corrections_mismatch")
        if len({c.person_id for c in corrections}) != len(corrections):
            raise InvalidSubmission("duplicate_correction")
        return cls(result=result, note=note, corrections=corrections)


@dataclass(frozen=True)
class GridWorker:
    subject: str
    grids: frozenset[str]


class TaskFeedback:
    """Apply a grid worker's result to the task, its finding and the registry."""

    def __init__(
        self,
        tasks: VerificationTaskRepository | None = None,
        store: VerificationResultStore | None = None,
        homes: HomeRepository | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self._tasks = tasks or VerificationTaskRepository()
        self._findings = FindingRepository()
        self._store = store or VerificationResultStore()
        self._homes = homes or HomeRepository()
        self._audit = audit or AuditLog()

    def open_task(self, worker: GridWorker, grid_id: str, task_id: str) -> VerificationTask:
        if grid_id not in worker.grids:
            raise OutOfScope(grid_id=grid_id)
        task = self._tasks.get(grid_id, task_id)
        if task is None:
            raise TaskNotFound(task_id=task_id, grid_id=grid_id)
        if task.status != TaskStatus.OPEN:
            raise TaskClosed(task_id=task_id)
        return task

    def _resolve(
        self, worker: GridWorker, task: VerificationTask, correction: PersonCorrection
    ) -> tuple[RegistryEntry, RegistryChange]:
        entry = self._store.registry_entry(correction.person_id)
        if entry is None:
            raise InvalidSubmission("unknown_person", person_id=correction.person_id)
        related = correction.person_id == task.person_id or entry.registered_home_id == task.home_id
        if not related and entry.registered_grid_id not in worker.grids:
            raise OutOfScope(person_id=correction.person_id)
        if entry.version != correction.seen_version:
            raise CorrectionConflict(
                person_id=correction.person_id,
                seen_version=correction.seen_version,
                current_version=entry.version,
            )
        home_id, grid_id = entry.registered_home_id, entry.registered_grid_id
        if correction.registered_home_id is not _UNSET:
            home_id = correction.registered_home_id
            grid_id = None
            if home_id is not None:
                home = self._homes.get(home_id)
                if home is None:
                    raise InvalidSubmission("unknown_home", home_id=home_id)
                grid_id = home.grid_id
        groups = frozenset(g.value for g in correction.key_groups) if correction.key_groups is not None else None
        return entry, RegistryChange(correction.person_id, entry.version, home_id, grid_id, groups)

    def submit(
        self, worker: GridWorker, grid_id: str, task_id: str, submission: TaskSubmission, request_id: str | None = None
    ) -> VerificationTask:
        task = self.open_task(worker, grid_id, task_id)
        resolved = [self._resolve(worker, task, c) for c in submission.corrections]
        changes = [change for _, change in resolved]
        at = city_now()
        detail = {
            "note": submission.note,
            "corrections": [_change_record(entry, change) for entry, change in resolved],
        }
        # "not reachable" leaves the finding open (the next task run schedules another visit).
        closes_finding = (
            submission.result != TaskResult.NOT_REACHABLE and self._findings.get(task.finding_id) is not None
        )
        try:
            self._store.commit(task, submission.result, detail, worker.subject, at, changes, closes_finding)
        except StaleRegistryEntry as stale:
            current = self._store.registry_entry(stale.person_id)
            raise CorrectionConflict(
                person_id=stale.person_id,
                current_version=current.version if current else None,
            ) from None
        except TaskNoLongerOpen:
            raise TaskClosed(task_id=task_id) from None
        for entry, change in resolved:
            self._audit.record(
                worker.subject,
                "registry.corrected",
                f"person#{entry.person_id}",
                request_id=request_id,
                detail={"task_id": task.task_id, "finding_id": task.finding_id, **_change_record(entry, change)},
            )
        self._audit.record(
            worker.subject,
            f"task.{submission.result.value}",
            f"task#{task.task_id}",
            request_id=request_id,
            detail={"grid_id": task.grid_id, "finding_id": task.finding_id, "note": submission.note},
        )
        if closes_finding:
            self._audit.record(
                worker.subject,
                "finding.closed",
                f"finding#{task.finding_id}",
                request_id=request_id,
                detail={"task_id": task.task_id, "result": submission.result.value},
            )
        closed = self._tasks.get(grid_id, task_id)
        if closed is None:  # written in the transaction above: gone only if the task was deleted since
            raise TaskNotFound(task_id=task_id, grid_id=grid_id)
        return closed


def _change_record(entry: RegistryEntry, change: RegistryChange) -> dict:
    """Before and after of a correction, for the task's result and the audit log."""
    before = {"registered_home_id": entry.registered_home_id, "key_groups": sorted(entry.key_groups)}
    after = {
        "registered_home_id": change.registered_home_id,
        "key_groups": sorted(change.key_groups) if change.key_groups is not None else sorted(entry.key_groups),
    }
    return {"person_id": entry.person_id, "version_seen": entry.version, "before": before, "after": after}

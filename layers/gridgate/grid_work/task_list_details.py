"""What a grid worker's task list says beyond its codes: who, where and why, in words.

For an authorised reader (a grid worker of the grid) the list and its printed sheet name the
person a task is about, the estate by its name and the reason in the reader's language
(`finding_explanations`); codes stay as small print. A name is personal data: each one read is
audited per person with its purpose, as the roster's reads are. A task about a home as a whole
(e.g. grants over the cap) names nobody.
"""

from __future__ import annotations

from collections.abc import Iterable

from gridgate.adapters.audit import AuditLog
from gridgate.adapters.findings import FindingRepository
from gridgate.adapters.overview_queries import places_by_id
from gridgate.adapters.repositories import PersonRepository
from gridgate.data_center.finding_explanations import explain_tasks
from gridgate.domain.model import VerificationTask
from gridgate.grid_work.task_sheets import TaskListDetails
from gridgate.i18n import Translator


class TaskListDetailsReader:
    def __init__(self, persons: PersonRepository, findings: FindingRepository, audit: AuditLog) -> None:
        self._persons = persons
        self._findings = findings
        self._audit = audit

    def read(
        self,
        reader: str,
        grid_id: str,
        tasks: Iterable[VerificationTask],
        t: Translator,
        purpose: str,
        request_id: str | None = None,
    ) -> TaskListDetails:
        tasks = list(tasks)
        names = {}
        for person_id in sorted({task.person_id for task in tasks if task.person_id}):
            person = self._persons.get(person_id)
            if person is None:
                continue
            self._audit.record(
                reader,
                "personal_data.read",
                f"person#{person_id}",
                request_id=request_id,
                detail={"purpose": purpose, "grid_id": grid_id, "fields": ["name"]},
            )
            names[person_id] = person.name
        estates = places_by_id({task.walking_order[0] for task in tasks})
        return TaskListDetails(
            person_names=names,
            estate_names={place_id: place.name for place_id, place in estates.items()},
            reasons=explain_tasks(tasks, self._findings.in_grid(grid_id), t),
        )

"""Community-correction alerts, for the correction staff role only, every view audited.

Why apart from the data center's lists: an "abnormal movement" alert from gate logs is electronic
location tracking of a person under community correction, and its data may be used only for
correction work (Community Correction Law Art. 29). So the alerts computed under an approval
(`gridgate.analytics.key_group_alerts`) are left out of the data center's overview and of the
grid workers' visits, and are read here: by a ``correction_staff`` caller, only in the grids
their token names (their office's area), each alert shown leaving an audit record under the
person it is about (so "who read what about P" is one query). Staff read the alert as the
other pages read a finding: the person by name, where they are registered (estate, building,
unit, floor, room), the reason in the reader's language; the codes stay as small print.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from gridgate.domain.legal_records import CORRECTION_ALERT_TYPES
from gridgate.domain.model import AuditRecord, Finding, Home, Person, Place, TaskStatus
from gridgate.i18n import Translator

VIEW_ACTION = "correction.alert.viewed"


class Findings(Protocol):
    def in_grid(self, grid_id: str) -> list[Finding]: ...


class Persons(Protocol):
    def get(self, person_id: str) -> Person | None: ...


class Homes(Protocol):
    def get(self, home_id: str) -> Home | None: ...


class Places(Protocol):
    def get(self, place_id: str) -> Place | None: ...


class Audit(Protocol):
    def record(
        self, actor: str, action: str, subject: str, *, request_id: str | None = None, detail: dict | None = None
    ) -> AuditRecord: ...


class CorrectionAlerts:
    def __init__(
        self,
        findings: Findings,
        persons: Persons,
        homes: Homes,
        places: Places,
        audit: Audit,
        explain: Callable[[Finding, Translator], str],
    ) -> None:
        """`explain` words a finding's reason (the data center's `explain_finding`, one wording for
        every page)."""
        self._findings = findings
        self._explain = explain
        self._persons = persons
        self._homes = homes
        self._places = places
        self._audit = audit

    def read(self, staff_id: str, grids: Iterable[str], t: Translator, *, request_id: str | None) -> list[dict]:
        """The open correction alerts in `grids`, newest first, each with the person's name and
        registered address; each one shown is audited (with the personal fields it showed)."""
        alerts = sorted(
            (
                f
                for grid_id in sorted(set(grids))
                for f in self._findings.in_grid(grid_id)
                if f.finding_type in CORRECTION_ALERT_TYPES and f.status == TaskStatus.OPEN
            ),
            key=lambda f: (f.detected_at, f.finding_id),
            reverse=True,
        )
        shown = []
        estate_names: dict[str, str] = {}  # an estate read once however many alerts it has
        for alert in alerts:
            person = self._persons.get(alert.person_id) if alert.person_id else None
            address = self._address(person, t, estate_names)
            fields = [name for name, value in (("name", person), ("address", address)) if value]
            self._audit.record(
                staff_id,
                VIEW_ACTION,
                alert.subject,
                request_id=request_id,
                detail={
                    "finding_id": alert.finding_id,
                    "type": alert.finding_type,
                    "grid_id": alert.grid_id,
                    "fields": fields,
                },
            )
            shown.append(
                {
                    "finding_id": alert.finding_id,
                    "type": alert.finding_type,
                    "severity": alert.severity.value,
                    "grid_id": alert.grid_id,
                    "person_id": alert.person_id,
                    "person_name": person.name if person else None,
                    "address": address,
                    "reason": self._explain(alert, t),
                    "detected_at": alert.detected_at.isoformat(),
                    "evidence": alert.evidence,
                }
            )
        return shown

    def _address(self, person: Person | None, t: Translator, estate_names: dict[str, str]) -> str | None:
        """Where the registry says the person lives, worded as the grid worker's sheet words it."""
        home = self._homes.get(person.registered_home_id) if person and person.registered_home_id else None
        if home is None:
            return None
        if home.estate_id not in estate_names:
            estate = self._places.get(home.estate_id)
            estate_names[home.estate_id] = estate.name if estate else home.estate_id
        return t.home_address(estate_names[home.estate_id], home.building_id, home.unit, home.floor, home.room)

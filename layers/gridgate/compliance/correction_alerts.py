"""Community-correction alerts, for the correction staff role only, every view audited.

Why apart from the data center's lists: an "abnormal movement" alert from gate logs is electronic
location tracking of a person under community correction, and its data may be used only for
correction work (Community Correction Law Art. 29). So the alerts computed under an approval
(`gridgate.analytics.key_group_alerts`) are left out of the data center's overview and of the
grid workers' visits, and are read here: by a ``correction_staff`` caller, only in the grids
their token names (their office's area), each alert shown leaving an audit record under the
person it is about (so "who read what about P" is one query).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from gridgate.domain.legal_records import CORRECTION_ALERT_TYPES
from gridgate.domain.model import AuditRecord, Finding, TaskStatus

VIEW_ACTION = "correction.alert.viewed"


class Findings(Protocol):
    def in_grid(self, grid_id: str) -> list[Finding]: ...


class Audit(Protocol):
    def record(
        self, actor: str, action: str, subject: str, *, request_id: str | None = None, detail: dict | None = None
    ) -> AuditRecord: ...


class CorrectionAlerts:
    def __init__(self, findings: Findings, audit: Audit) -> None:
        self._findings = findings
        self._audit = audit

    def read(self, staff_id: str, grids: Iterable[str], *, request_id: str | None) -> list[dict]:
        """The open correction alerts in `grids`, newest first; each one shown is audited."""
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
        for alert in alerts:
            self._audit.record(
                staff_id,
                VIEW_ACTION,
                alert.subject,
                request_id=request_id,
                detail={"finding_id": alert.finding_id, "type": alert.finding_type, "grid_id": alert.grid_id},
            )
        return [
            {
                "finding_id": a.finding_id,
                "type": a.finding_type,
                "severity": a.severity.value,
                "grid_id": a.grid_id,
                "person_id": a.person_id,
                "detected_at": a.detected_at.isoformat(),
                "evidence": a.evidence,
            }
            for a in alerts
        ]

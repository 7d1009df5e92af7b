"""The audit log: every change, and every read of personal data, is appended here.

Records are keyed by subject (so "who touched person P" is one query) and indexed by actor
(so "what did grid worker W read" is one query). Nothing ever updates or deletes a record.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from gridgate import clock
from gridgate.adapters.tables import AuditTable
from gridgate.domain.model import AuditRecord


class AuditLog:
    def record(
        self,
        actor: str,
        action: str,
        subject: str,
        *,
        request_id: str | None = None,
        detail: dict | None = None,
    ) -> AuditRecord:
        record = AuditRecord(
            audit_id=uuid.uuid4().hex,
            actor=actor,
            action=action,
            subject=subject,
            at=clock.now(),
            request_id=request_id,
            detail=detail or {},
        )
        AuditTable(
            subject=subject,
            sk=f"{record.at.isoformat()}#{record.audit_id}",
            audit_id=record.audit_id,
            actor=actor,
            action=action,
            request_id=request_id,
            detail=record.detail,
        ).save()
        return record

    @staticmethod
    def _from_item(item: AuditTable) -> AuditRecord:
        from datetime import datetime

        at_text, audit_id = item.sk.rsplit("#", 1)
        return AuditRecord(
            audit_id=audit_id,
            actor=item.actor,
            action=item.action,
            subject=item.subject,
            at=datetime.fromisoformat(at_text),
            request_id=item.request_id,
            detail=item.detail or {},
        )

    def about(self, subject: str) -> Iterator[AuditRecord]:
        return (self._from_item(item) for item in AuditTable.query(subject))

    def by_actor(self, actor: str) -> Iterator[AuditRecord]:
        return (self._from_item(item) for item in AuditTable.by_actor.query(actor))

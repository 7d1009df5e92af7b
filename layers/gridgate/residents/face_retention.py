"""The nightly purge of face templates held past the retention policy: deleted, not only counted.

`compliance.template_retention.past_retention` names the templates; this deletes each one and
makes every copy follow, as a withdrawal does: the person's estates get a gallery change naming
them (warm galleries drop the template at their next decision, by a delta; stored snapshots are
deleted), and the night's gallery refresh (which runs after this) rebuilds the stored gallery
objects it must. One audit record says how many templates of how many people went, never who (none when none went).
A resident whose template went enters by resident QR and may enrol again (a new consent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

from gridgate.adapters.audit import AuditLog
from gridgate.adapters.grant_repository import GrantRepository
from gridgate.adapters.repositories import FaceTemplateRepository, OwnershipRepository, PlaceRepository
from gridgate.clock import now as city_now
from gridgate.compliance.template_retention import past_retention
from gridgate.config import Settings, get_settings
from gridgate.residents.estate_changes import person_changed_everywhere


@dataclass(frozen=True)
class RetentionPurge:
    """What one purge deleted: templates, their people, and the estates whose galleries changed."""

    templates_deleted: int
    people: int
    estates_changed: int
    retention_days: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class FaceRetention:
    def __init__(
        self,
        templates: FaceTemplateRepository | None = None,
        ownerships: OwnershipRepository | None = None,
        grants: GrantRepository | None = None,
        places: PlaceRepository | None = None,
        audit: AuditLog | None = None,
        settings: Settings | None = None,
        clock: Callable[[], datetime] = city_now,
    ) -> None:
        self._templates = templates or FaceTemplateRepository()
        self._ownerships = ownerships or OwnershipRepository()
        self._grants = grants or GrantRepository()
        self._places = places or PlaceRepository()
        self._audit = audit or AuditLog()
        self._days = (settings or get_settings()).face_template_retention_days
        self._clock = clock

    def purge(self, *, actor: str = "retention-purge", request_id: str | None = None) -> RetentionPurge:
        """Delete every template past the policy now, and tell each gallery that may hold it."""
        expired = past_retention(self._templates.everyone(), self._clock(), self._days)
        for template in expired:
            self._templates.delete(template)
        people = sorted({t.person_id for t in expired})
        estates: set[str] = set()
        for person_id in people:
            estates |= person_changed_everywhere(person_id, self._ownerships, self._grants, self._places)
        done = RetentionPurge(len(expired), len(people), len(estates), self._days)
        if expired:  # a night with nothing to delete writes nothing: a rerun changes no record
            self._audit.record(
                actor, "face.retention.purged", "face_templates", request_id=request_id, detail=done.as_dict()
            )
        return done

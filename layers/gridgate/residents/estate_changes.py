"""What must follow when a right or an enrolled face at an estate changes: every copy the cloud holds.

Kept apart from `gate_snapshot` (which builds snapshots with numpy) so that the API function,
whose zip carries no numpy, can call it from grant, face and registry services.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import boto3

from gridgate.adapters.repositories import PlaceRepository
from gridgate.config import Settings, get_settings


def snapshot_key(estate_id: str) -> str:
    """Where the estate's signed gate snapshot is stored in the data bucket."""
    return f"gate-snapshots/{estate_id}/latest.json"


def estate_changed(
    estate_id: str,
    person_ids: Iterable[str],
    places: PlaceRepository | None = None,
    settings: Settings | None = None,
) -> None:
    """A right or an enrolled face of `person_ids` at `estate_id` changed: every copy the cloud holds
    must follow.

    Bumps the estate's gallery version with an entry naming those people in the gallery change log
    (warm gate functions re-read those people only, `gridgate.gate.estate_gallery`) and deletes
    the stored gate snapshot at once, so a withdrawn face, a revoked grant or an ended ownership is
    not kept in S3 until some gate happens to ask; the next `GateSnapshotService.locate` builds a
    new one. Gates that hold the earlier snapshot learn at their next fetch; offline, the
    snapshot's short validity (`gate_snapshot_validity_minutes`) bounds how long they act on it.
    """
    settings = settings or get_settings()
    (places or PlaceRepository()).bump_gallery_version(estate_id, person_ids)
    boto3.client("s3").delete_object(Bucket=settings.bucket, Key=snapshot_key(estate_id))


class _Ownerships(Protocol):
    def for_person(self, person_id: str) -> list: ...


class _Grants(Protocol):
    def active_for_grantee(self, person_id: str) -> list: ...


def person_changed_everywhere(
    person_id: str, ownerships: _Ownerships, grants: _Grants, places: PlaceRepository | None = None
) -> set[str]:
    """The person's face changed: `estate_changed` at every estate whose gallery may hold them
    (owned homes, current or past, and active grants); returns those estates. A superset is
    harmless (one extra rebuild); a missed estate is not."""
    estates = {o.estate_id for o in ownerships.for_person(person_id)}
    estates |= {g.estate_id for g in grants.active_for_grantee(person_id)}
    for estate_id in sorted(estates):
        estate_changed(estate_id, [person_id], places)
    return estates

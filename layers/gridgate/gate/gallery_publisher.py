"""Builds an estate's face gallery from the tables and stores it as the estate's object: the one
whole-estate read, always off the request path.

A build reads every member's templates (50,000 people: minutes against moto, tens of seconds
against DynamoDB), far beyond what a gate decision may wait for. It runs where nobody waits: in a
warm gate function's background thread when a decision found no object (that decision and those
after it are refused `gallery_not_ready` until the object exists), and from the operator's
`gridgate gate publish-gallery ESTATE` (for a new estate before its gates go live, or after a
bulk import), and every night (`flows.gallery_refresh`, after the reconciliation): `refresh`
builds the object of each estate that has none, or whose object the change log will soon no longer
reach (stored more than `GALLERY_CHANGE_RETENTION` minus `REFRESH_MARGIN` ago and changed since),
or that is `RESTORE_EVERY_VERSIONS` behind; so no gate ever finds an estate not ready because its
object aged out. Every warm instance and cold start then loads the object
(`gridgate.adapters.gallery_objects`) and keeps it current from the change log
(`gridgate.gate.estate_gallery`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from gridgate import clock
from gridgate.adapters.gallery_objects import GalleryObjectStore
from gridgate.adapters.repositories import GALLERY_CHANGE_RETENTION, FaceTemplateRepository, PlaceRepository
from gridgate.config import get_settings
from gridgate.domain.model import FaceMatching
from gridgate.domain.policy import local_date
from gridgate.gate.consented_faces import ConsentedFaces
from gridgate.gate.gallery_contents import EstateGallery, MembersSource, members_with_upcoming

#: The estate's object is stored again once the warm gallery is this many versions past it, so a
#: cold start never has more than this many change-log entries to apply.
RESTORE_EVERY_VERSIONS = 200
#: The nightly refresh rebuilds an object this long before the change log stops reaching it: two
#: nights missed still leave a night to spare.
REFRESH_MARGIN = timedelta(days=3)


class Refresh(StrEnum):
    """Why the nightly refresh built an estate's object (or `CURRENT`/`ON_DEVICE`: why it did not)."""

    MISSING = "missing"  # none, or one without the version and time it was stored at
    LOG_EXPIRING = "log_expiring"
    FAR_BEHIND = "far_behind"
    CURRENT = "current"
    ON_DEVICE = "on_device"  # the estate's gates match faces themselves: no cloud gallery is needed

    @property
    def builds(self) -> bool:
        return self not in (Refresh.CURRENT, Refresh.ON_DEVICE)


class GalleryPublisher:
    def __init__(
        self,
        *,
        places: PlaceRepository | None = None,
        templates: FaceTemplateRepository | None = None,
        objects: GalleryObjectStore | None = None,
        members: MembersSource = members_with_upcoming,
        consented: ConsentedFaces | None = None,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self._places = places or PlaceRepository()
        self._templates = templates or FaceTemplateRepository()
        self._objects = objects or GalleryObjectStore(get_settings())
        self._members = members
        self._consented = consented or ConsentedFaces()
        self._now = now

    def publish(self, estate_id: str) -> EstateGallery:
        """The estate's gallery from the tables, stored as its object. The version is read BEFORE
        the facts: a change meanwhile has a log entry after it, which every reader applies. Only the
        templates the cloud may match here are kept (their consent's purposes)."""
        started = time.perf_counter()
        version = self._places.gallery_version(estate_id)
        at = self._now()
        rights = self._members(estate_id, local_date(at, get_settings().city_timezone))
        templates = self._consented.keep(
            self._templates.for_people_batched(sorted(rights)), estate_id, at, FaceMatching.CLOUD
        )
        gallery = EstateGallery.of(estate_id, version, rights, templates, started)
        self._objects.save(estate_id, gallery.stored(), at)
        return gallery

    def needs(self, estate_id: str) -> Refresh:
        """Whether the estate's object must be built again: one HEAD and two GetItems (mode, version)."""
        if self._places.face_matching(estate_id) == FaceMatching.DEVICE:
            return Refresh.ON_DEVICE
        state = self._objects.state(estate_id)
        if state is None or state.version is None or state.stored_at is None:
            return Refresh.MISSING
        behind = self._places.gallery_version(estate_id) - state.version
        if behind >= RESTORE_EVERY_VERSIONS:
            return Refresh.FAR_BEHIND
        if behind > 0 and self._now() - state.stored_at >= GALLERY_CHANGE_RETENTION - REFRESH_MARGIN:
            return Refresh.LOG_EXPIRING
        return Refresh.CURRENT

    def refresh(self, estate_id: str) -> Refresh:
        """Build and store the estate's object when `needs` says so; returns why (or why not)."""
        reason = self.needs(estate_id)
        if reason.builds:
            self.publish(estate_id)
        return reason

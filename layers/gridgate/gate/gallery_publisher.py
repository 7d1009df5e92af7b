"""Builds an estate's face gallery from the tables and stores it as the estate's object: the one
whole-estate read, always off the request path.

A build reads every member's templates (50,000 people: minutes against moto, tens of seconds
against DynamoDB), far beyond what a gate decision may wait for. It runs where nobody waits: in a
warm gate function's background thread when a decision found no object (that decision and those
after it are refused `gallery_not_ready` until the object exists), and from the operator's
`gridgate gate publish-gallery ESTATE` (for a new estate before its gates go live, or after a
bulk import). Every warm instance and cold start then loads the object
(`gridgate.adapters.gallery_objects`) and keeps it current from the change log
(`gridgate.gate.estate_gallery`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from gridgate import clock
from gridgate.adapters.gallery_objects import GalleryObjectStore
from gridgate.adapters.repositories import FaceTemplateRepository, PlaceRepository
from gridgate.config import get_settings
from gridgate.domain.model import FaceMatching
from gridgate.domain.policy import local_date
from gridgate.gate.consented_faces import ConsentedFaces
from gridgate.gate.gallery_contents import EstateGallery, MembersSource, members_with_upcoming


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
        self._objects.save(estate_id, gallery.stored())
        return gallery

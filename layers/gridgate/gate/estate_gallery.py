"""Per-estate face galleries, kept warm in the gate function and kept current by deltas.

A gallery holds the templates of the estate's members: everyone with a right there today or from a
later day (`gridgate.residents.entry_rights.gallery_right`), and of their app-registry templates
only those whose consent names this estate for cloud matching (`gridgate.gate.consented_faces`). Every opening re-checks the person's
right at that instant (`GateFacts.right_of`), so membership only has to include everyone who may
open; it is kept exact for every person a change names.

Every change (grant, enrolment, consent given or withdrawn, revocation, ownership) bumps the estate's gallery
version and logs the people it concerned under the new version (`PlaceRepository.bump_gallery_version`).
Before serving an estate's gallery the cache re-reads that one number (a strongly consistent
GetItem), at most every `check_every_seconds` (default 0: before every decision, so a withdrawn face
or a revoked grant never matches at the next decision). When the number moved it reads the log
entries after the version it holds (one Query) and re-reads only the people they name: their
membership and their templates (strongly consistent). A change of five people costs a handful of
reads whether the estate has 500 people or 50,000. Local midnight changes nothing: a right ending
at midnight is refused by the decision's own check.

A cold instance loads the estate's gallery object (`gridgate.adapters.gallery_objects`, one S3 GET
of columns: no Python object per person) and applies the log after its version. No decision ever
waits for a build from the tables: when there is no object, or the log no longer reaches back to
it (`GALLERY_CHANGE_RETENTION`), or a gap in the log outlived `GAP_PATIENCE_SECONDS` (a writer that
died between its two writes), the gallery raises `GalleryNotReady` (the gate denies the face with
`gallery_not_ready`; QR codes still open) and `gridgate.gate.gallery_publisher` builds and stores
the object in the background, once at a time per estate. Entries are applied in version order and
only without a gap; a younger gap (a change whose entry is still being written) holds the gallery
at the last version it could apply and is read again at the next decision.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from gridgate import clock
from gridgate.adapters.gallery_objects import GalleryObjectStore
from gridgate.adapters.repositories import FaceTemplateRepository, GalleryChange, PlaceRepository
from gridgate.config import get_settings
from gridgate.domain.model import FaceMatching
from gridgate.domain.policy import local_date
from gridgate.domain.rights import Right
from gridgate.faces.matcher import FaceMatch
from gridgate.gate.consented_faces import ConsentedFaces
from gridgate.gate.gallery_contents import EstateGallery, MembersSource, members_with_upcoming
from gridgate.gate.gallery_publisher import RESTORE_EVERY_VERSIONS, GalleryPublisher

log = logging.getLogger(__name__)

#: One person's membership of an estate's gallery at an instant (strongly consistent), or None.
MemberRightSource = Callable[[str, str, datetime], Right | None]
#: A change naming more people than this re-reads the estate's membership (two index queries)
#: instead of each person's rights (a few consistent reads each); templates are still read for
#: the named people only.
PER_PERSON_LIMIT = 50
#: How long a gap in the change log is waited for before the gallery is rebuilt.
GAP_PATIENCE_SECONDS = 10.0


def _member_right(person_id: str, estate_id: str, at: datetime) -> Right | None:
    from gridgate.residents.entry_rights import gallery_right

    return gallery_right(person_id, estate_id, at)


class GalleryNotReady(Exception):
    """The estate has no gallery this instance can serve exactly (no object yet, a log that no
    longer reaches it, a gap nobody filled): one is being built off the request path, and the face
    decision is refused meanwhile (`gallery_not_ready`; QR codes are not affected)."""

    def __init__(self, estate_id: str) -> None:
        super().__init__(estate_id)
        self.estate_id = estate_id


@dataclass
class _Entry:
    gallery: EstateGallery
    checked_at: float
    object_version: int  # the version of the estate's stored object
    gap_since: float | None = None  # when a gap in the change log was first met at this version


class EstateGalleryCache:
    """Warm galleries per estate; the least recently used are dropped while the estates held have
    more than `max_people` members together (memory, not a count of estates, is what runs out; the
    estate just asked for is always kept).

    Counters (observability; tests and benchmarks read them): `builds` (galleries this instance
    published from the tables, in the background), `loads` (from the estate's object), `deltas`
    (change-log entries applied)."""

    def __init__(
        self,
        *,
        places: PlaceRepository | None = None,
        templates: FaceTemplateRepository | None = None,
        objects: GalleryObjectStore | None = None,
        members: MembersSource = members_with_upcoming,
        member_right: MemberRightSource = _member_right,
        consented: ConsentedFaces | None = None,
        check_every_seconds: float = 0.0,
        max_people: int | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self._places = places or PlaceRepository()
        self._templates = templates or FaceTemplateRepository()
        self._objects = objects or GalleryObjectStore(get_settings())
        self._members = members
        self._member_right = member_right
        self._consented = consented or ConsentedFaces()
        self._check_every = check_every_seconds
        self._max_people = max_people or get_settings().gate_gallery_max_people
        self._monotonic = monotonic
        self._now = now
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()  # guards `_entries`, `_estate_locks` and `_publishing`
        self._estate_locks: dict[str, threading.Lock] = {}  # one estate's load never blocks another's
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gallery-object")
        self._publishing: dict[str, Future] = {}  # estate -> its build from the tables, in the background
        self.builds = self.loads = self.deltas = 0

    def gallery(self, estate_id: str, at: datetime | None = None) -> EstateGallery:
        """The estate's current gallery (`at`: the instant memberships are judged at, now if None);
        raises `GalleryNotReady` when there is none to serve yet (never waits for a build)."""
        at = at or self._now()
        with self._lock:
            estate_lock = self._estate_locks.setdefault(estate_id, threading.Lock())
        with estate_lock:
            with self._lock:
                entry = self._entries.get(estate_id)
            now = self._monotonic()
            if entry is not None and now - entry.checked_at < self._check_every:
                self._touch(estate_id, entry)
                return entry.gallery
            version = self._places.gallery_version(estate_id)
            if entry is None:
                entry = self._cold(estate_id, version, now)
            entry.checked_at = now
            if entry.gallery.version < version:
                self._advance(entry, version, at, now)
            if entry.gallery.version - entry.object_version >= RESTORE_EVERY_VERSIONS:
                entry.object_version = entry.gallery.version
                self._background.submit(self._store, entry.gallery)
            self._touch(estate_id, entry)
            return entry.gallery

    def match(self, estate_id: str, probe, at: datetime | None = None) -> FaceMatch:
        return self.gallery(estate_id, at).match(probe)

    def wait_for_objects(self) -> None:
        """Wait for the background builds and stores (tests and benchmarks; requests never wait)."""
        self._background.submit(lambda: None).result()

    def _touch(self, estate_id: str, entry: _Entry) -> None:
        with self._lock:
            self._entries[estate_id] = entry
            self._entries.move_to_end(estate_id)
            held = sum(e.gallery.people for e in self._entries.values())
            while held > self._max_people and len(self._entries) > 1:
                dropped, old = self._entries.popitem(last=False)
                self._estate_locks.pop(dropped, None)
                held -= old.gallery.people

    def _cold(self, estate_id: str, version: int, now: float) -> _Entry:
        """The estate's stored object; without one, a build is started and the face is refused."""
        with self._lock:
            building = self._publishing.get(estate_id)
        if building is not None and not building.done():
            raise GalleryNotReady(estate_id)  # not even a GET until that build has stored its object
        started = time.perf_counter()
        stored = self._objects.load(estate_id)
        if stored is None or stored.version > version:  # none yet, damaged, or of a reset table
            self._publish_soon(estate_id)
            raise GalleryNotReady(estate_id)
        self.loads += 1
        gallery = EstateGallery.from_columns(estate_id, stored.version, stored.columns, started)
        return _Entry(gallery, now, object_version=stored.version)

    def _advance(self, entry: _Entry, version: int, at: datetime, now: float) -> None:
        """Apply the log entries after the gallery's version, in order and without a gap."""
        gallery = entry.gallery
        changes = self._places.gallery_changes_since(gallery.estate_id, gallery.version)
        applicable = _contiguous(changes, gallery.version)
        if applicable:
            entry.gallery = self._apply(gallery, applicable, at)
            entry.gap_since = None
            self.deltas += len(applicable)
        if entry.gallery.version >= version:
            return
        # The version moved past what the log holds: an entry still being written, or gone.
        expired = bool(changes) and not applicable  # the log no longer starts right after our version
        entry.gap_since = entry.gap_since if entry.gap_since is not None else now
        if expired or now - entry.gap_since >= GAP_PATIENCE_SECONDS:
            log.warning("gallery %s: change log does not reach v%s, rebuilding", gallery.estate_id, gallery.version)
            with self._lock:
                self._entries.pop(gallery.estate_id, None)  # not exact any more: never served again
            self._publish_soon(gallery.estate_id)
            raise GalleryNotReady(gallery.estate_id)

    def _apply(self, gallery: EstateGallery, changes: list[GalleryChange], at: datetime) -> EstateGallery:
        people = sorted({pid for change in changes for pid in change.person_ids})
        if len(people) > PER_PERSON_LIMIT:
            members = self._members(gallery.estate_id, local_date(at, get_settings().city_timezone))
            rights = {pid: members[pid] for pid in people if pid in members}
        else:
            found = {pid: self._member_right(pid, gallery.estate_id, at) for pid in people}
            rights = {pid: right for pid, right in found.items() if right is not None}
        found_templates = self._templates.for_people_batched(sorted(rights)) if rights else []
        templates = self._consented.keep(found_templates, gallery.estate_id, at, FaceMatching.CLOUD)
        return gallery.updated(changes[-1].version, people, rights, templates)

    def _publish_soon(self, estate_id: str) -> None:
        """Start building the estate's object from the tables in the background (once at a time)."""
        publisher = GalleryPublisher(
            places=self._places,
            templates=self._templates,
            objects=self._objects,
            members=self._members,
            consented=self._consented,
            now=self._now,
        )

        def publish() -> None:
            try:
                publisher.publish(estate_id)
                self.builds += 1
            except Exception:  # the next cold decision at the estate starts another
                log.exception("gallery %s: building its object failed", estate_id)

        with self._lock:
            building = self._publishing.get(estate_id)
            if building is None or building.done():
                self._publishing[estate_id] = self._background.submit(publish)

    def _store(self, gallery: EstateGallery) -> None:
        try:
            self._objects.save(gallery.estate_id, gallery.stored(), self._now())
        except Exception:  # the next cold start applies more of the log; no decision depends on it
            log.exception("gallery %s: storing its object failed", gallery.estate_id)


def _contiguous(changes: list[GalleryChange], after: int) -> list[GalleryChange]:
    """The leading run of `changes` numbered after+1, after+2, ... (stops at the first gap)."""
    run: list[GalleryChange] = []
    for change in changes:
        if change.version != after + len(run) + 1:
            break
        run.append(change)
    return run

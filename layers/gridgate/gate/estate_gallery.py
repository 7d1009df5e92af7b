"""Per-estate face galleries, kept warm in the gate function and kept current by deltas.

A gallery holds the templates of the estate's members: everyone with a right there today or from a
later day (`gridgate.residents.entry_rights.gallery_right`). Every opening re-checks the person's
right at that instant (`GateFacts.right_of`), so membership only has to include everyone who may
open; it is kept exact for every person a change names.

Every change (grant, enrolment, withdrawal, revocation, ownership) bumps the estate's gallery
version and logs the people it concerned under the new version (`PlaceRepository.bump_gallery_version`).
Before serving an estate's gallery the cache re-reads that one number (a strongly consistent
GetItem), at most every `check_every_seconds` (default 0: before every decision, so a withdrawn face
or a revoked grant never matches at the next decision). When the number moved it reads the log
entries after the version it holds (one Query) and re-reads only the people they name: their
membership and their templates (strongly consistent). A change of five people costs a handful of
reads whether the estate has 500 people or 50,000. Local midnight changes nothing: a right ending
at midnight is refused by the decision's own check.

A cold instance loads the estate's gallery object (`gridgate.adapters.gallery_objects`, one S3 GET)
and applies the log after its version. Only when there is no object, or the log no longer reaches
back to it (`GALLERY_CHANGE_RETENTION`), is the gallery built from the tables, and the result is
stored as the estate's object (in the background) so that it is the last time. Entries are
applied in version order and only without a gap; a gap (a change whose entry is still being
written) holds the gallery at the last version it could apply and is read again at the next
decision; a gap older than `GAP_PATIENCE_SECONDS` (a writer that died between its two writes)
rebuilds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime

from gridgate import clock
from gridgate.adapters.gallery_objects import GalleryObjectStore, StoredGallery
from gridgate.adapters.repositories import FaceTemplateRepository, GalleryChange, PlaceRepository
from gridgate.config import get_settings
from gridgate.domain.model import RETIRED_ENCODER_IDS, FaceTemplate
from gridgate.domain.policy import local_date
from gridgate.domain.rights import Right
from gridgate.faces.matcher import (
    RULES,
    DecisionRule,
    EncoderGalleries,
    FaceMatch,
    Gallery,
    galleries_by_encoder,
    match_probe,
)

log = logging.getLogger(__name__)

#: Everyone who belongs in an estate's gallery on a local day (right then or later) -> their right.
MembersSource = Callable[[str, date], Mapping[str, Right]]
#: One person's membership of an estate's gallery at an instant (strongly consistent), or None.
MemberRightSource = Callable[[str, str, datetime], Right | None]
#: A change naming more people than this re-reads the estate's membership (two index queries)
#: instead of each person's rights (a few consistent reads each); templates are still read for
#: the named people only.
PER_PERSON_LIMIT = 50
#: How long a gap in the change log is waited for before the gallery is rebuilt.
GAP_PATIENCE_SECONDS = 10.0
#: The estate's object is stored again once the warm gallery is this many versions past it, so a
#: cold start never has more than this many change-log entries to apply.
RESTORE_EVERY_VERSIONS = 200


def _members(estate_id: str, on: date) -> Mapping[str, Right]:
    from gridgate.residents.entry_rights import people_with_rights

    return people_with_rights(estate_id, on, upcoming=True)


def _member_right(person_id: str, estate_id: str, at: datetime) -> Right | None:
    from gridgate.residents.entry_rights import gallery_right

    return gallery_right(person_id, estate_id, at)


@dataclass(frozen=True)
class EstateGallery:
    """One estate's galleries (app, population; per encoder) as of one gallery version."""

    estate_id: str
    version: int
    rights: Mapping[str, Right]  # the members and the right that made each one a member
    templates: Mapping[str, tuple[FaceTemplate, ...]]  # the members' templates, by person
    encoders: tuple[EncoderGalleries, ...]
    build_seconds: float = field(default=0.0, compare=False)

    @classmethod
    def of(
        cls,
        estate_id: str,
        version: int,
        rights: Mapping[str, Right],
        templates: Iterable[FaceTemplate],
        started: float,
    ) -> EstateGallery:
        """The gallery of `rights`' members, from templates (those of non-members are left out)."""
        by_person: dict[str, list[FaceTemplate]] = {}
        for template in templates:
            if template.person_id in rights:
                by_person.setdefault(template.person_id, []).append(template)
        frozen = {pid: tuple(ts) for pid, ts in by_person.items()}
        return cls(
            estate_id=estate_id,
            version=version,
            rights=dict(rights),
            templates=frozen,
            encoders=galleries_by_encoder([t for ts in frozen.values() for t in ts]),
            build_seconds=time.perf_counter() - started,
        )

    @property
    def app(self) -> Gallery:
        """The current encoder's app-registry gallery (built first, always present)."""
        return self.encoders[0].app

    @property
    def population(self) -> Gallery:
        return self.encoders[0].population

    def match(self, probe, rules: Mapping[str, DecisionRule] = RULES) -> FaceMatch:
        """The paper's order: app registry first, then the population registry; a `ProbeFace` meets
        each encoder's templates with its own encoding of that encoder only."""
        return match_probe(probe, self.encoders, dict(rules))

    def stored(self) -> StoredGallery:
        return StoredGallery(self.version, self.rights, self._all(self.templates))

    def updated(
        self, version: int, people: Iterable[str], rights: Mapping[str, Right], templates: Iterable[FaceTemplate]
    ) -> EstateGallery:
        """This gallery at `version`: `people` re-read, with their new membership (`rights`, only
        members appear) and their current templates; everyone else as they were."""
        started = time.perf_counter()
        changed = set(people)
        members = {pid: rights[pid] for pid in changed if pid in rights}
        fresh = [t for t in templates if t.person_id in members]
        new_rights, new_templates = dict(self.rights), dict(self.templates)
        for pid in changed:
            new_rights.pop(pid, None)
            new_templates.pop(pid, None)
        new_rights.update(members)
        for template in fresh:
            new_templates[template.person_id] = (*new_templates.get(template.person_id, ()), template)
        if {t.encoder for t in fresh} - {group.encoder_id for group in self.encoders} - RETIRED_ENCODER_IDS:
            # a template of an encoder this gallery has no group for: group everything afresh
            return EstateGallery.of(self.estate_id, version, new_rights, self._all(new_templates), started)
        encoders = tuple(
            EncoderGalleries(
                group.encoder_id, group.app.replacing(changed, fresh), group.population.replacing(changed, fresh)
            )
            for group in self.encoders
        )
        elapsed = time.perf_counter() - started
        return EstateGallery(self.estate_id, version, new_rights, new_templates, encoders, elapsed)

    @staticmethod
    def _all(templates: Mapping[str, tuple[FaceTemplate, ...]]) -> list[FaceTemplate]:
        return [t for ts in templates.values() for t in ts]


@dataclass
class _Entry:
    gallery: EstateGallery
    checked_at: float
    object_version: int  # the version of the estate's stored object (or of the gallery when built)
    gap_since: float | None = None  # when a gap in the change log was first met at this version


class EstateGalleryCache:
    """Warm galleries per estate; the least recently used are dropped while the estates held have
    more than `max_people` members together (memory, not a count of estates, is what runs out; the
    estate just asked for is always kept).

    Counters (observability; tests and benchmarks read them): `builds` (galleries built from the
    tables), `loads` (from the estate's object), `deltas` (change-log entries applied)."""

    def __init__(
        self,
        *,
        places: PlaceRepository | None = None,
        templates: FaceTemplateRepository | None = None,
        objects: GalleryObjectStore | None = None,
        members: MembersSource = _members,
        member_right: MemberRightSource = _member_right,
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
        self._check_every = check_every_seconds
        self._max_people = max_people or get_settings().gate_gallery_max_people
        self._monotonic = monotonic
        self._now = now
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()  # guards `_entries` and `_estate_locks`
        self._estate_locks: dict[str, threading.Lock] = {}  # one estate's load never blocks another's
        self._publisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gallery-object")
        self.builds = self.loads = self.deltas = 0

    def gallery(self, estate_id: str, at: datetime | None = None) -> EstateGallery:
        """The estate's current gallery (`at`: the instant memberships are judged at, now if None)."""
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
                cold = self._cold(estate_id, version, at)
                entry = _Entry(cold, now, object_version=cold.version)
            entry.checked_at = now
            if entry.gallery.version < version:
                self._advance(entry, version, at, now)
            if entry.gallery.version - entry.object_version >= RESTORE_EVERY_VERSIONS:
                entry.object_version = entry.gallery.version
                self._publisher.submit(self._store, entry.gallery)
            self._touch(estate_id, entry)
            return entry.gallery

    def match(self, estate_id: str, probe, at: datetime | None = None) -> FaceMatch:
        return self.gallery(estate_id, at).match(probe)

    def wait_for_objects(self) -> None:
        """Wait for the gallery objects being stored (tests and benchmarks; requests never wait)."""
        self._publisher.submit(lambda: None).result()

    def _touch(self, estate_id: str, entry: _Entry) -> None:
        with self._lock:
            self._entries[estate_id] = entry
            self._entries.move_to_end(estate_id)
            held = sum(len(e.gallery.rights) for e in self._entries.values())
            while held > self._max_people and len(self._entries) > 1:
                dropped, old = self._entries.popitem(last=False)
                self._estate_locks.pop(dropped, None)
                held -= len(old.gallery.rights)

    def _cold(self, estate_id: str, version: int, at: datetime) -> EstateGallery:
        """The estate's stored object if the change log still reaches back to it, else a build."""
        stored = self._objects.load(estate_id)
        if stored is not None and stored.version <= version:
            self.loads += 1
            return EstateGallery.of(estate_id, stored.version, stored.rights, stored.templates, time.perf_counter())
        return self._build(estate_id, version, at)

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
            entry.gallery, entry.gap_since = self._build(gallery.estate_id, version, at), None
            entry.object_version = entry.gallery.version

    def _apply(self, gallery: EstateGallery, changes: list[GalleryChange], at: datetime) -> EstateGallery:
        people = sorted({pid for change in changes for pid in change.person_ids})
        if len(people) > PER_PERSON_LIMIT:
            members = self._members(gallery.estate_id, local_date(at, get_settings().city_timezone))
            rights = {pid: members[pid] for pid in people if pid in members}
        else:
            found = {pid: self._member_right(pid, gallery.estate_id, at) for pid in people}
            rights = {pid: right for pid, right in found.items() if right is not None}
        templates = self._templates.for_people_batched(sorted(rights)) if rights else []
        return gallery.updated(changes[-1].version, people, rights, templates)

    def _build(self, estate_id: str, version: int, at: datetime) -> EstateGallery:
        """From the tables (the version read BEFORE the facts: a change meanwhile is applied next),
        then stored as the estate's object off the request path."""
        started = time.perf_counter()
        rights = self._members(estate_id, local_date(at, get_settings().city_timezone))
        templates = self._templates.for_people_batched(sorted(rights))
        gallery = EstateGallery.of(estate_id, version, rights, templates, started)
        self.builds += 1
        self._publisher.submit(self._store, gallery)
        return gallery

    def _store(self, gallery: EstateGallery) -> None:
        try:
            self._objects.save(gallery.estate_id, gallery.stored())
        except Exception:  # the next cold start builds again; no decision depends on the object
            log.exception("gallery %s: storing its object failed", gallery.estate_id)


def _contiguous(changes: list[GalleryChange], after: int) -> list[GalleryChange]:
    """The leading run of `changes` numbered after+1, after+2, ... (stops at the first gap)."""
    run: list[GalleryChange] = []
    for change in changes:
        if change.version != after + len(run) + 1:
            break
        run.append(change)
    return run

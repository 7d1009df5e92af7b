"""Per-estate face galleries, kept warm in the gate function and rebuilt when they go stale.

Building a gallery reads who may enter the estate (`people_with_rights`) and their templates
(BatchGetItem, 100 keys a request): seconds for thousands of people, far too slow to repeat for
every face at the gate, and needless, because it changes only when a grant, an ownership or an enrolled face changes. Every such change bumps the
estate's gallery version (`PlaceRepository.bump_gallery_version`). The cache therefore re-reads
that one number (a strongly consistent GetItem) before serving an estate's gallery, at most every
`check_every_seconds` (default 0: before every decision, so a withdrawn face or a revoked grant
never matches at the next decision), and rebuilds when the version or the local day changed
(grants start and end on local days).

The version is read BEFORE the facts: a change that lands while a gallery is being built bumps
the version past the one stored with it, so the next check rebuilds again.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from gridgate import clock
from gridgate.adapters.repositories import FaceTemplateRepository, PlaceRepository
from gridgate.config import get_settings
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

#: Who may enter an estate on a local day: person id -> their strongest right (the rights service).
RightsSource = Callable[[str, date], Mapping[str, Right]]


def _people_with_rights(estate_id: str, on: date) -> Mapping[str, Right]:
    from gridgate.residents.entry_rights import people_with_rights

    return people_with_rights(estate_id, on)


@dataclass(frozen=True)
class EstateGallery:
    """One estate's galleries (app, population; per encoder) as of one gallery version and local day."""

    estate_id: str
    version: int
    on: date
    rights: Mapping[str, Right]
    encoders: tuple[EncoderGalleries, ...]
    build_seconds: float = field(default=0.0, compare=False)

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


class EstateGalleryCache:
    """Warm galleries per estate (least recently used dropped beyond `max_estates`)."""

    def __init__(
        self,
        *,
        places: PlaceRepository | None = None,
        templates: FaceTemplateRepository | None = None,
        rights: RightsSource = _people_with_rights,
        check_every_seconds: float = 0.0,
        max_estates: int = 16,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self._places = places or PlaceRepository()
        self._templates = templates or FaceTemplateRepository()
        self._rights = rights
        self._check_every = check_every_seconds
        self._max_estates = max_estates
        self._monotonic = monotonic
        self._now = now
        self._entries: OrderedDict[str, tuple[EstateGallery, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.builds = 0  # how many galleries were built (observability; tests read it)

    def gallery(self, estate_id: str, at: datetime | None = None) -> EstateGallery:
        """The estate's current gallery for the local day of `at` (now if None)."""
        on = local_date(at or self._now(), get_settings().city_timezone)
        with self._lock:
            cached = self._entries.get(estate_id)
            now = self._monotonic()
            if cached is not None:
                entry, checked_at = cached
                if entry.on == on and now - checked_at < self._check_every:
                    self._entries.move_to_end(estate_id)
                    return entry
            version = self._places.gallery_version(estate_id)
            if cached is not None and cached[0].version == version and cached[0].on == on:
                entry = cached[0]
            else:
                entry = self._build(estate_id, version, on)
            self._entries[estate_id] = (entry, now)
            self._entries.move_to_end(estate_id)
            while len(self._entries) > self._max_estates:
                self._entries.popitem(last=False)
            return entry

    def match(self, estate_id: str, probe, at: datetime | None = None) -> FaceMatch:
        return self.gallery(estate_id, at).match(probe)

    def _build(self, estate_id: str, version: int, on: date) -> EstateGallery:
        started = time.perf_counter()
        rights = dict(self._rights(estate_id, on))
        templates = self._templates.for_people_batched(sorted(rights))
        self.builds += 1
        return EstateGallery(
            estate_id=estate_id,
            version=version,
            on=on,
            rights=rights,
            encoders=galleries_by_encoder(templates),
            build_seconds=time.perf_counter() - started,
        )

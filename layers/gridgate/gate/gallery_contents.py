"""What one estate's face gallery holds at one gallery version, and how a change alters it.

`EstateGallery` is a value: the members' templates as columns (`GalleryColumns`, what the
estate's object stores) and the same rows grouped for matching, one `Gallery` per registry and
encoder (`gridgate.faces.matcher`). `updated` applies a delta for the people a change names with
array copies; `from_columns` makes the galleries of a stored object without a Python object per
template. Who holds galleries and keeps them current is `gridgate.gate.estate_gallery`; who builds
one from the tables, `gridgate.gate.gallery_publisher`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property

import numpy as np

from gridgate.adapters.gallery_objects import GalleryColumns, StoredGallery
from gridgate.domain.model import CURRENT_ENCODER_ID, RETIRED_ENCODER_IDS, FaceTemplate, Registry
from gridgate.domain.rights import Right
from gridgate.faces.matcher import RULES, DecisionRule, EncoderGalleries, FaceMatch, Gallery, match_probe
from gridgate.gate.delta_gallery import DeltaGallery

#: Everyone who belongs in an estate's gallery on a local day (right then or later) -> their right.
MembersSource = Callable[[str, date], Mapping[str, Right]]


def members_with_upcoming(estate_id: str, on: date) -> Mapping[str, Right]:
    """Everyone with a right at the estate on `on` or from a later day (the default `MembersSource`)."""
    from gridgate.residents.entry_rights import people_with_rights

    return people_with_rights(estate_id, on, upcoming=True)


@dataclass(frozen=True, eq=False)
class EstateGallery:
    """One estate's galleries (app, population; per encoder) as of one gallery version.

    `encoders` are the members' templates grouped for matching (`gridgate.faces.matcher`);
    `columns` the same rows as the estate's object stores them. A delta changes the galleries at
    once and only records itself for the columns (`pending`, after `base`): they are made when
    the object is stored, in the background, so a change costs a decision the galleries' copies
    only."""

    estate_id: str
    version: int
    base: GalleryColumns
    encoders: tuple[EncoderGalleries, ...]
    #: the deltas since `base`, oldest first: the people each named, and their rows then
    pending: tuple[tuple[frozenset[str], GalleryColumns], ...] = ()
    build_seconds: float = 0.0
    #: members with a face, when a delta already counted them (else counted from the galleries)
    member_count: int | None = None

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
        members = GalleryColumns.from_templates(t for t in templates if t.person_id in rights)
        return cls.from_columns(estate_id, version, members, started)

    @classmethod
    def from_columns(cls, estate_id: str, version: int, columns: GalleryColumns, started: float) -> EstateGallery:
        """The galleries of stored rows: one array selection and one `Gallery` per registry and
        encoder, no Python object per template (a cold start at 50,000 people)."""
        order = [CURRENT_ENCODER_ID, *sorted(set(columns.encoder_ids) - {CURRENT_ENCODER_ID})]
        encoders = tuple(
            EncoderGalleries(
                encoder_id,
                _gallery(columns, Registry.APP, encoder_id),
                _gallery(columns, Registry.POPULATION, encoder_id),
            )
            for encoder_id in order
        )
        return cls(estate_id, version, columns, encoders, build_seconds=time.perf_counter() - started)

    @property
    def app(self) -> Gallery:
        """The current encoder's app-registry gallery (built first, always present)."""
        return self.encoders[0].app

    @property
    def population(self) -> Gallery:
        return self.encoders[0].population

    @cached_property
    def people(self) -> int:
        """Members with a face here (what the cache's memory budget counts)."""
        if self.member_count is not None:
            return self.member_count
        return len({pid for group in self.encoders for g in (group.app, group.population) for pid in g.person_ids})

    @cached_property
    def columns(self) -> GalleryColumns:
        """`base` with every pending delta applied, in one pass: each person's rows are those of
        the last delta that named them."""
        if not self.pending:
            return self.base
        named: set[str] = set()
        latest = []
        for people, fresh in reversed(self.pending):
            unclaimed = ~np.isin(fresh.person_ids, np.array(sorted(named), dtype=str)) if named else None
            latest.append(fresh if unclaimed is None else fresh.rows_where(unclaimed))
            named |= people
        return self.base.replacing(named, GalleryColumns.concatenated(latest))

    def match(self, probe, rules: Mapping[str, DecisionRule] = RULES) -> FaceMatch:
        """The paper's order: app registry first, then the population registry; a `ProbeFace` meets
        each encoder's templates with its own encoding of that encoder only."""
        return match_probe(probe, self.encoders, dict(rules))

    def stored(self) -> StoredGallery:
        return StoredGallery(self.version, self.columns)

    def updated(
        self, version: int, people: Iterable[str], rights: Mapping[str, Right], templates: Iterable[FaceTemplate]
    ) -> EstateGallery:
        """This gallery at `version`: `people` re-read, with their new membership (`rights`, only
        members appear) and their current templates; everyone else as they were."""
        started = time.perf_counter()
        changed = frozenset(people)
        fresh = [t for t in templates if t.person_id in changed and t.person_id in rights]
        made = "columns" in self.__dict__  # the background store made them: start from there
        base, pending = (self.columns, ()) if made else (self.base, self.pending)
        pending = (*pending, (changed, GalleryColumns.from_templates(fresh)))
        if {t.encoder for t in fresh} - {group.encoder_id for group in self.encoders} - RETIRED_ENCODER_IDS:
            # a template of an encoder this gallery has no group for: group everything afresh
            columns = EstateGallery(self.estate_id, version, base, self.encoders, pending).columns
            return EstateGallery.from_columns(self.estate_id, version, columns, started)
        # the galleries as delta galleries (`gridgate.gate.delta_gallery`): a change costs the changed
        # people's rows, never a copy of the estate's matrix; members are counted the same way
        before = [
            (group.encoder_id, DeltaGallery.over(group.app), DeltaGallery.over(group.population))
            for group in self.encoders
        ]
        after = [
            (encoder_id, app.replacing(changed, fresh), population.replacing(changed, fresh))
            for encoder_id, app, population in before
        ]
        encoders = tuple(EncoderGalleries(encoder_id, app, population) for encoder_id, app, population in after)
        had = sum(any(g.holds(pid) for _, app, population in before for g in (app, population)) for pid in changed)
        has = sum(any(g.holds(pid) for _, app, population in after for g in (app, population)) for pid in changed)
        members = self.people - had + has
        return EstateGallery(
            self.estate_id, version, base, encoders, pending, time.perf_counter() - started, member_count=members
        )


def _gallery(columns: GalleryColumns, registry: Registry, encoder_id: str) -> Gallery:
    person_ids, encodings = columns.select(registry, encoder_id)
    return Gallery(registry, person_ids.tolist(), encodings, encoder_id=encoder_id)

"""A warm estate gallery that takes a change in work proportional to the people it names.

`Gallery.replacing` (`gridgate.faces.matcher`) copies every row of the gallery but the changed
people's: at 50,000 people a 25 MB matrix per grant or enrolment, on the decision's thread. Here a
change never touches the big matrix. A `DeltaGallery` is a `base` gallery (shared, never copied by
a change), the base people it no longer holds (`dead`: withdrawn, revoked, or re-enrolled, a
tombstone each) and a small `overlay` gallery of the changed people's current templates. A change
adds tombstones and replaces the changed people's rows in the overlay (a copy of the overlay only).
A match takes each base person's nearest template as before, drops the tombstoned ones (so a
withdrawn face cannot match at the very next decision) and meets the overlay's people too. When
the overlay or the tombstones outgrow `COMPACT_SHARE` of the base, one change folds them into a
new base (a copy of the alive rows): spread over the changes before it, a constant per changed
person. The templates searched (what the stranger threshold is taken for) are exact at every step.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from functools import cached_property

import numpy as np

from gridgate.domain.model import FaceTemplate
from gridgate.faces.matcher import Candidates, Gallery, _distance

#: The overlay (rows) or the tombstones (people) may grow to this share of the base before a
#: change compacts them into a new base.
COMPACT_SHARE = 0.125
#: ... but never compacts below this many overlay rows or tombstones (small estates).
COMPACT_MIN = 64


class _Base:
    """One base gallery's look-ups, made once and shared by every `DeltaGallery` over it."""

    def __init__(self, gallery: Gallery) -> None:
        self.gallery = gallery

    @cached_property
    def index(self) -> dict[str, int]:
        return {pid: n for n, pid in enumerate(self.gallery.person_ids)}

    @cached_property
    def rows_of(self) -> np.ndarray:
        """Template rows per base person, in `person_ids` order."""
        starts = self.gallery._starts
        return np.diff(np.r_[starts, self.gallery.templates]) if len(starts) else np.zeros(0, dtype=int)


class DeltaGallery(Gallery):
    """`base` without its `dead` people, plus `overlay`: a `Gallery` to `gridgate.faces.matcher`."""

    def __init__(self, base: _Base, dead: np.ndarray, overlay: Gallery) -> None:
        # no Gallery.__init__: the rows stay where they are (base, overlay)
        self.registry, self.encoder_id = base.gallery.registry, base.gallery.encoder_id
        self._base = base
        self._dead = dead  # sorted unique indices into base.gallery.person_ids
        self._overlay = overlay
        self._dead_rows = int(base.rows_of[dead].sum()) if len(dead) else 0

    @classmethod
    def over(cls, gallery: Gallery) -> DeltaGallery:
        """`gallery` as the base of a delta gallery (itself when it already is one)."""
        if isinstance(gallery, DeltaGallery):
            return gallery
        empty = Gallery.empty(gallery.registry, gallery.encoder_id)
        return cls(_Base(gallery), np.zeros(0, dtype=np.int64), empty)

    @property
    def people(self) -> int:
        return self._base.gallery.people - len(self._dead) + self._overlay.people

    @property
    def templates(self) -> int:
        return self._base.gallery.templates - self._dead_rows + self._overlay.templates

    @cached_property
    def person_ids(self) -> tuple[str, ...]:  # type: ignore[override]
        """Everyone held (base people alive, then the overlay's): built only when asked for."""
        alive = np.ones(self._base.gallery.people, dtype=bool)
        alive[self._dead] = False
        base_ids = self._base.gallery.person_ids
        return tuple(pid for pid, keep in zip(base_ids, alive, strict=True) if keep) + self._overlay.person_ids

    def holds(self, person_id: str) -> bool:
        """Whether `person_id` has a template here (O(1) but for the overlay's small tuple)."""
        position = self._base.index.get(person_id)
        if position is not None and not _contains(self._dead, position):
            return True
        return person_id in self._overlay.person_ids

    def replacing(self, people: Collection[str], templates: Iterable[FaceTemplate]) -> DeltaGallery:
        """The rows of `people` replaced by their `templates` of this registry and encoder: their base
        rows tombstoned, their overlay rows replaced; the base matrix is not copied (unless compacted)."""
        named = [self._base.index[pid] for pid in people if pid in self._base.index]
        dead = np.union1d(self._dead, np.asarray(named, dtype=np.int64)) if named else self._dead
        overlay = self._overlay.replacing(people, templates)
        grown = DeltaGallery(self._base, dead, overlay)
        limit = max(COMPACT_MIN, COMPACT_SHARE * self._base.gallery.templates)
        if overlay.templates > limit or len(dead) > max(COMPACT_MIN, COMPACT_SHARE * self._base.gallery.people):
            return DeltaGallery.over(grown.compacted())
        return grown

    def compacted(self) -> Gallery:
        """The alive base rows and the overlay's as one plain gallery (one copy of the rows)."""
        base = self._base.gallery
        alive = np.ones(base.people, dtype=bool)
        alive[self._dead] = False
        rows = np.repeat(alive, self._base.rows_of)
        owners = np.repeat(np.asarray(base.person_ids, dtype=object), self._base.rows_of)[rows]
        overlay_owners = np.repeat(np.asarray(self._overlay.person_ids, dtype=object), _Base(self._overlay).rows_of)
        return Gallery(
            self.registry,
            [*owners.tolist(), *overlay_owners.tolist()],
            np.concatenate([base._templates[rows], self._overlay._templates]),
            self.encoder_id,
        )

    def nearest(self, probe: np.ndarray) -> Candidates | None:
        """The two nearest different people held: the base's per-person nearest without the dead,
        and the overlay's (positions past the base's people are the overlay's)."""
        probe = np.asarray(probe, dtype=np.float32).reshape(-1)
        base, overlay = self._base.gallery, self._overlay
        nearest_base = _per_person(base, probe)
        if len(self._dead):
            nearest_base[self._dead] = np.inf
        distances = np.concatenate([nearest_base, _per_person(overlay, probe)]) if overlay.people else nearest_base
        alive = self.people
        if not alive:
            return None

        def owner(position: int) -> str:
            return base.person_ids[position] if position < base.people else overlay.person_ids[position - base.people]

        if alive == 1:
            only = int(np.argmin(distances))
            return Candidates(owner(only), _distance(distances[only]), None, float("inf"))
        first, second = (int(n) for n in np.argpartition(distances, 1)[:2])
        if distances[second] < distances[first]:
            first, second = second, first
        return Candidates(owner(first), _distance(distances[first]), owner(second), _distance(distances[second]))


def _per_person(gallery: Gallery, probe: np.ndarray) -> np.ndarray:
    """Each person's nearest squared distance in `gallery` (a fresh array; empty for no one)."""
    if not gallery.people:
        return np.zeros(0, dtype=np.float32)
    squared = gallery._square_norms - 2.0 * (gallery._templates @ probe) + float(probe @ probe)
    return np.minimum.reduceat(squared, gallery._starts)


def _contains(sorted_indices: np.ndarray, position: int) -> bool:
    at = int(np.searchsorted(sorted_indices, position))
    return at < len(sorted_indices) and int(sorted_indices[at]) == position

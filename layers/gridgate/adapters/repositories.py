"""Repositories for the base registries: people, places, homes, ownership and face templates.

Each repository turns domain objects into table items and back; personal identifiers are
sealed here (keyed hash + AES-GCM) and nowhere else, so no other layer handles ciphertext.
Rights (grants, passes), events and the flows' outputs have repositories of their own modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta

from pynamodb.exceptions import DoesNotExist

from gridgate import clock
from gridgate.adapters.item_checks import ItemCheck
from gridgate.adapters.tables import (
    FaceTemplateTable,
    GalleryChangeTable,
    GateTable,
    HomeTable,
    OwnershipTable,
    PersonTable,
    PlaceTable,
)
from gridgate.domain.model import (
    LEGACY_ENCODER_ID,
    FaceMatching,
    FaceTemplate,
    Gate,
    GateDirection,
    Home,
    KeyGroup,
    Ownership,
    Person,
    Place,
    PlaceKind,
    Registry,
)
from gridgate.security.identifiers import IdentifierProtector


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


class PersonRepository:
    """Persons, with ID number, name and phone sealed at rest."""

    def __init__(self, protector: IdentifierProtector) -> None:
        self._protector = protector

    def to_item(self, person: Person, grid_id: str | None = None) -> PersonTable:
        seal = self._protector.encrypt
        pid = person.person_id
        return PersonTable(
            person_id=pid,
            id_hash=self._protector.lookup_hash(person.id_number),
            id_enc=seal(person.id_number, context=f"{pid}/id"),
            name_enc=seal(person.name, context=f"{pid}/name"),
            phone_enc=seal(person.phone, context=f"{pid}/phone") if person.phone else None,
            registries={r.value for r in person.registries},
            birth_year=person.birth_year,
            sex=person.sex,
            registered_home_id=person.registered_home_id,
            registered_grid_id=grid_id,
            key_groups={k.value for k in person.key_groups} or None,
            updated_at=clock.now(),
        )

    def from_item(self, item: PersonTable) -> Person:
        open_ = self._protector.decrypt
        pid = item.person_id
        return Person(
            person_id=pid,
            name=open_(item.name_enc, context=f"{pid}/name"),
            id_number=open_(item.id_enc, context=f"{pid}/id"),
            registries=frozenset(Registry(r) for r in item.registries),
            birth_year=int(item.birth_year),
            sex=item.sex,
            registered_home_id=item.registered_home_id,
            phone=open_(item.phone_enc, context=f"{pid}/phone") if item.phone_enc else None,
            key_groups=frozenset(KeyGroup(k) for k in (item.key_groups or ())),
            version=int(item.version or 0),
        )

    def add(self, person: Person, grid_id: str | None = None) -> None:
        self.to_item(person, grid_id).save()

    def get(self, person_id: str) -> Person | None:
        try:
            return self.from_item(PersonTable.get(person_id))
        except DoesNotExist:
            return None

    def find_id_by_id_number(self, id_number: str) -> str | None:
        """The person id registered under an ID number, found through its keyed hash."""
        hits = PersonTable.by_id_hash.query(self._protector.lookup_hash(id_number), limit=1)
        return next((hit.person_id for hit in hits), None)

    def ids_registered_at(self, home_id: str) -> list[str]:
        return [hit.person_id for hit in PersonTable.by_registered_home.query(home_id)]

    def in_grid(self, grid_id: str) -> Iterator[Person]:
        return (self.from_item(item) for item in PersonTable.by_grid.query(grid_id))


def place_to_item(place: Place) -> PlaceTable:
    return PlaceTable(
        place_id=place.place_id,
        kind=place.kind.value,
        name=place.name,
        parent_id=place.parent_id,
        ancestors={kind.value: pid for kind, pid in place.ancestors.items()},
    )


def place_from_item(item: PlaceTable) -> Place:
    ancestors = item.ancestors.as_dict() if hasattr(item.ancestors, "as_dict") else dict(item.ancestors)
    return Place(
        place_id=item.place_id,
        kind=PlaceKind(item.kind),
        name=item.name,
        parent_id=item.parent_id,
        ancestors={PlaceKind(k): v for k, v in ancestors.items()},
    )


class PlaceRepository:
    def add(self, place: Place) -> None:
        place_to_item(place).save()

    def get(self, place_id: str) -> Place | None:
        try:
            return place_from_item(PlaceTable.get(place_id))
        except DoesNotExist:
            return None

    def children(self, parent_id: str) -> list[Place]:
        return [place_from_item(item) for item in PlaceTable.by_parent.query(parent_id)]

    def gallery_version(self, estate_id: str) -> int:
        """The estate's gallery version: a strongly consistent read of one number."""
        item = PlaceTable.get(estate_id, consistent_read=True, attributes_to_get=["gallery_version"])
        return int(item.gallery_version or 0)

    def bump_gallery_version(self, estate_id: str, person_ids: Iterable[str]) -> int:
        """Call after any change to who may enter an estate or to an enrolled face there, naming the
        people it concerned: bumps the estate's gallery version and logs them under the new version
        (the gallery change log); returns the new version.

        The bump comes first and the entry second (DynamoDB cannot return a counter's new value
        inside a transaction): a reader that sees the version before its entry finds a gap and stays
        at the last version it could apply (`gridgate.gate.estate_gallery`)."""
        people = sorted(set(person_ids))
        # One version per GALLERY_CHANGE_MAX_PEOPLE people: an item holds at most 400 KB.
        chunks = [people[i : i + GALLERY_CHANGE_MAX_PEOPLE] for i in range(0, len(people), GALLERY_CHANGE_MAX_PEOPLE)]
        version = 0
        for chunk in chunks or [[]]:
            place = PlaceTable(place_id=estate_id)
            place.update(actions=[PlaceTable.gallery_version.add(1)])  # refreshes `place` with the new values
            version = int(place.gallery_version)
            GalleryChangeTable(
                estate_id=estate_id,
                version=version,
                person_ids=set(chunk) or None,  # an entry even for nobody: a missing one reads as a gap
                expires_at=clock.now() + GALLERY_CHANGE_RETENTION,
            ).save()
        return version

    def face_matching(self, estate_id: str) -> FaceMatching:
        """Where the estate's gate faces are matched (the cloud unless configured otherwise)."""
        try:
            item = PlaceTable.get(estate_id, attributes_to_get=["face_matching"])
        except DoesNotExist:
            return FaceMatching.CLOUD
        return FaceMatching(item.face_matching or FaceMatching.CLOUD.value)

    def set_face_matching(self, estate_id: str, mode: FaceMatching) -> None:
        """Configure where the estate's gate faces are matched; gates learn it with their next snapshot,
        the cloud within `gridgate.gate.cloud_facts.CachedLookup`'s ttl."""
        PlaceTable(place_id=estate_id).update(
            actions=[PlaceTable.face_matching.set(mode.value)], condition=PlaceTable.place_id.exists()
        )
        self.bump_gallery_version(estate_id, [])  # the stored snapshot (keyed by version) is rebuilt

    def gallery_changes_since(self, estate_id: str, version: int) -> list[GalleryChange]:
        """The estate's gallery changes after `version`, oldest first: one strongly consistent Query,
        so a change a moment ago is seen."""
        items = GalleryChangeTable.query(estate_id, GalleryChangeTable.version > version, consistent_read=True)
        return [GalleryChange(int(item.version), frozenset(item.person_ids or ())) for item in items]


#: How long a gallery change entry is kept; a gallery older than this is loaded afresh.
GALLERY_CHANGE_RETENTION = timedelta(days=30)
#: People named by one change entry (their ids fit one item's 400 KB many times over).
GALLERY_CHANGE_MAX_PEOPLE = 5_000


@dataclass(frozen=True)
class GalleryChange:
    """Version `version` of an estate's face gallery differs from the one before for these people only."""

    version: int
    person_ids: frozenset[str]


def gate_to_item(gate: Gate) -> GateTable:
    return GateTable(
        gate_id=gate.gate_id,
        estate_id=gate.estate_id,
        direction=gate.direction.value,
        device_key_id=gate.device_key_id,
        device_public_key=gate.device_public_key or None,
        name=gate.name,
    )


def gate_from_item(item: GateTable) -> Gate:
    return Gate(
        gate_id=item.gate_id,
        estate_id=item.estate_id,
        direction=GateDirection(item.direction),
        device_key_id=item.device_key_id,
        device_public_key=item.device_public_key or b"",
        name=item.name,
    )


class GateRepository:
    def add(self, gate: Gate) -> None:
        gate_to_item(gate).save()

    def get(self, gate_id: str) -> Gate | None:
        try:
            return gate_from_item(GateTable.get(gate_id))
        except DoesNotExist:
            return None

    def at_estate(self, estate_id: str) -> list[Gate]:
        return [gate_from_item(item) for item in GateTable.by_estate.query(estate_id)]


def home_to_item(home: Home) -> HomeTable:
    return HomeTable(
        home_id=home.home_id,
        estate_id=home.estate_id,
        building_id=home.building_id,
        unit=home.unit,
        floor=home.floor,
        room=home.room,
        floor_area_m2=home.floor_area_m2,
        grid_id=home.grid_id,
    )


def home_from_item(item: HomeTable) -> Home:
    return Home(
        home_id=item.home_id,
        estate_id=item.estate_id,
        building_id=item.building_id,
        unit=item.unit,
        floor=int(item.floor),
        room=item.room,
        floor_area_m2=float(item.floor_area_m2),
        grid_id=item.grid_id,
    )


class HomeRepository:
    def add(self, home: Home) -> None:
        home_to_item(home).save()

    def get(self, home_id: str) -> Home | None:
        try:
            return home_from_item(HomeTable.get(home_id))
        except DoesNotExist:
            return None

    def in_estate(self, estate_id: str) -> list[Home]:
        return [home_from_item(item) for item in HomeTable.by_estate.query(estate_id)]

    def in_grid(self, grid_id: str) -> list[Home]:
        return [home_from_item(item) for item in HomeTable.by_grid.query(grid_id)]


def ownership_to_item(ownership: Ownership) -> OwnershipTable:
    return OwnershipTable(
        person_id=ownership.person_id,
        home_id=ownership.home_id,
        estate_id=ownership.estate_id,
        since=ownership.since.isoformat(),
        until=_iso(ownership.until),
    )


def ownership_from_item(item: OwnershipTable) -> Ownership:
    return Ownership(
        person_id=item.person_id,
        home_id=item.home_id,
        estate_id=item.estate_id,
        since=date.fromisoformat(item.since),
        until=_day(item.until),
    )


class OwnershipRepository:
    """Property-record ownership; owner rights are derived from `current_for_person`."""

    def add(self, ownership: Ownership) -> None:
        ownership_to_item(ownership).save()

    def for_person(self, person_id: str) -> list[Ownership]:
        return [ownership_from_item(item) for item in OwnershipTable.query(person_id)]

    def current_for_person(self, person_id: str, on: date) -> list[Ownership]:
        return [o for o in self.for_person(person_id) if o.is_current(on)]

    def of_home(self, home_id: str) -> list[Ownership]:
        return [ownership_from_item(item) for item in OwnershipTable.by_home.query(home_id)]

    @staticmethod
    def owns_check(person_id: str, home_id: str, on: date) -> ItemCheck:
        """`owns` as a condition of a write: the ownership row is current on `on`."""
        day = on.isoformat()
        current = (OwnershipTable.since <= day) & (OwnershipTable.until.does_not_exist() | (OwnershipTable.until > day))
        return ItemCheck(OwnershipTable, person_id, home_id, current)

    def owns(self, person_id: str, home_id: str, on: date) -> bool:
        """Whether `person_id` owns `home_id` on `on`: a strongly consistent read, so a sale bites at once."""
        try:
            item = OwnershipTable.get(person_id, home_id, consistent_read=True)
        except OwnershipTable.DoesNotExist:
            return False
        return ownership_from_item(item).is_current(on)

    def current_in_estate(self, estate_id: str, on: date, *, upcoming: bool = False) -> list[Ownership]:
        """Every current ownership at an estate (and, if `upcoming`, those starting after `on`): one
        index query (the gate's face gallery)."""
        items = OwnershipTable.by_estate.query(estate_id)
        return [o for o in map(ownership_from_item, items) if o.is_current(on) or (upcoming and o.since > on)]

    def end(self, person_id: str, home_id: str, on: date) -> None:
        OwnershipTable(person_id=person_id, home_id=home_id).update(actions=[OwnershipTable.until.set(on.isoformat())])


#: Template numbers run 0 .. TEMPLATE_SLOTS - 1 within each source: app enrolment keeps at most this
#: many per person, and the population-registry import numbers its templates the same way. Every
#: template of a person therefore has one of 2 x TEMPLATE_SLOTS known keys (`for_people_batched`).
TEMPLATE_SLOTS = 3


def template_key(source: Registry, template_no: int) -> str:
    return f"{source.value}#{template_no}"


def template_to_item(template: FaceTemplate) -> FaceTemplateTable:
    return FaceTemplateTable(
        person_id=template.person_id,
        template_key=template_key(template.source, template.template_no),
        source=template.source.value,
        encoding=template.encoding,
        consent_at=template.consent_at,
        quality=template.quality,
        encoder=template.encoder,
    )


def template_from_item(item: FaceTemplateTable) -> FaceTemplate:
    return FaceTemplate(
        person_id=item.person_id,
        source=Registry(item.source),
        template_no=int(item.template_key.split("#", 1)[1]),
        encoding=item.encoding,
        consent_at=item.consent_at,
        quality=float(item.quality or 0),
        encoder=item.encoder or LEGACY_ENCODER_ID,
    )


class FaceTemplateRepository:
    def add(self, template: FaceTemplate) -> None:
        template_to_item(template).save()

    def for_person(self, person_id: str) -> list[FaceTemplate]:
        return [template_from_item(item) for item in FaceTemplateTable.query(person_id)]

    def everyone(self) -> list[FaceTemplate]:
        """Every stored template of the city (a parallel scan): the enrolment duplicate check
        compares one selfie with all of them, once per enrolment, never per gate decision."""
        from gridgate.adapters.findings import parallel_scan  # findings imports nothing from here

        return [template_from_item(item) for item in parallel_scan(FaceTemplateTable)]

    def for_people(self, person_ids: Iterable[str]) -> list[FaceTemplate]:
        """All templates of many people: one query per person, in the order given."""
        return [t for pid in dict.fromkeys(person_ids) for t in self.for_person(pid)]

    def for_people_concurrently(self, person_ids: Iterable[str], workers: int = 16) -> list[FaceTemplate]:
        """Like `for_people`, with `workers` queries in flight (any template numbers)."""
        unique = list(dict.fromkeys(person_ids))
        if len(unique) < 2:
            return self.for_people(unique)
        with ThreadPoolExecutor(max_workers=min(workers, len(unique))) as pool:
            return [t for templates in pool.map(self.for_person, unique) for t in templates]

    def for_people_batched(self, person_ids: Iterable[str], workers: int = 8) -> list[FaceTemplate]:
        """All templates of many people (numbered below `TEMPLATE_SLOTS`), by strongly consistent
        BatchGetItem on every key they can have: 100 keys per request and `workers` requests in
        flight instead of one query per person, so an estate's face gallery of thousands of people
        loads in seconds, and a template deleted a moment ago is not read back."""
        keys = [
            (pid, template_key(source, number))
            for pid in dict.fromkeys(person_ids)
            for source in Registry
            for number in range(TEMPLATE_SLOTS)
        ]
        chunks = [keys[i : i + 100] for i in range(0, len(keys), 100)]

        def fetch(chunk: list[tuple[str, str]]) -> list[FaceTemplate]:
            return [template_from_item(item) for item in FaceTemplateTable.batch_get(chunk, consistent_read=True)]

        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(chunks)))) as pool:
            return [t for part in pool.map(fetch, chunks) for t in part]

    def delete(self, template: FaceTemplate) -> None:
        """Delete one template (by person, source and number)."""
        FaceTemplateTable(
            person_id=template.person_id, template_key=template_key(template.source, template.template_no)
        ).delete()

    def delete_for_person(self, person_id: str, source: Registry | None = None) -> int:
        """Delete a person's templates (all, or one source's); returns how many were removed.

        The query is strongly consistent: a template enrolled a moment before a withdrawal is deleted too."""
        removed = 0
        with FaceTemplateTable.batch_write() as batch:
            for item in FaceTemplateTable.query(person_id, consistent_read=True):
                if source is None or item.source == source.value:
                    batch.delete(item)
                    removed += 1
        return removed

"""The registry import's homes, persons and ownerships as stored: read, compare, write what differs.

The import (`gridgate.registry.registry_import`) decides what a row means; this adapter is the
only place it touches the tables. Each upsert compares the wanted record with the stored item and
writes only the attributes that differ, so importing the same export again writes nothing:

- a home is updated attribute by attribute, never overwritten whole, because its grant counter
  (`granted_count`) belongs to the grant cap, not to the registry;
- a person's update is conditional on the version read (another writer in between makes it fail
  rather than be lost), and the sealed columns are written sealed;
- an ownership is the (person, home) item.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from pynamodb.exceptions import DoesNotExist

from gridgate.adapters.repositories import PersonRepository, home_from_item, home_to_item, ownership_to_item
from gridgate.adapters.tables import HomeTable, OwnershipTable, PersonTable
from gridgate.clock import now as city_now
from gridgate.domain.model import Home, Ownership, Person

#: The person attributes an import may change, and the sealed column each is stored in.
_PERSON_FIELDS = ("name", "registries", "birth_year", "sex", "registered_home_id", "phone", "key_groups")
_SEALED_COLUMN = {"name": "name_enc", "phone": "phone_enc"}


@dataclass(frozen=True)
class Upserted:
    """What one upsert did: "created", "updated" (with the fields that changed) or "unchanged"."""

    outcome: str
    fields: list[str] = field(default_factory=list)


class RegistryRecords:
    """Reads and compare-then-write upserts of the registry's homes, persons and ownerships."""

    def __init__(self, persons: PersonRepository) -> None:
        self._persons = persons

    def home(self, home_id: str) -> Home | None:
        try:
            return home_from_item(HomeTable.get(home_id))
        except DoesNotExist:
            return None

    def home_place(self, home_id: str) -> tuple[str, str | None] | None:
        """(estate, grid) of a stored home, or None when the home is not stored."""
        try:
            item = HomeTable.get(home_id, attributes_to_get=["estate_id", "grid_id"])
        except DoesNotExist:
            return None
        return item.estate_id, item.grid_id

    def upsert_home(self, home: Home) -> Upserted:
        try:
            item = HomeTable.get(home.home_id)
        except DoesNotExist:
            home_to_item(home).save(condition=HomeTable.home_id.does_not_exist())
            return Upserted("created")
        stored = home_from_item(item)
        changed = [name for name in home.__dataclass_fields__ if getattr(stored, name) != getattr(home, name)]
        if not changed:
            return Upserted("unchanged")
        item.update(actions=[getattr(HomeTable, name).set(getattr(home, name)) for name in changed])
        return Upserted("updated", changed)

    def upsert_person(self, person: Person, new_person_id: str, grid_id: str | None) -> tuple[str, Upserted]:
        """Store `person` (found by its ID number's keyed hash; a new person gets `new_person_id`);
        registries are only ever added by an import (leaving one is a separate, audited act).
        Returns the person's id and what was done."""
        person_id = self._persons.find_id_by_id_number(person.id_number)
        if person_id is None:
            self._persons.to_item(replace(person, person_id=new_person_id), grid_id).save()  # versioned
            return new_person_id, Upserted("created")
        item = PersonTable.get(person_id, consistent_read=True)
        stored = self._persons.from_item(item)
        new = replace(
            person, person_id=person_id, version=stored.version, registries=stored.registries | person.registries
        )
        changed = [name for name in _PERSON_FIELDS if getattr(stored, name) != getattr(new, name)]
        if item.registered_grid_id != grid_id:
            changed.append("registered_grid_id")
        if not changed:
            return person_id, Upserted("unchanged")
        sealed = self._persons.to_item(new, grid_id)
        actions = []
        for name in changed:
            attribute = _SEALED_COLUMN.get(name, name)
            value = getattr(sealed, attribute)
            column = getattr(PersonTable, attribute)
            actions.append(column.set(value) if value is not None else column.remove())
        actions.append(PersonTable.updated_at.set(city_now()))
        item.update(actions=actions)  # conditional on the version read above
        return person_id, Upserted("updated", changed)

    def upsert_ownership(self, wanted: Ownership) -> Upserted:
        try:
            item = OwnershipTable.get(wanted.person_id, wanted.home_id)
        except DoesNotExist:
            ownership_to_item(wanted).save()
            return Upserted("created")
        stored = (item.estate_id, item.since, item.until)
        target = (wanted.estate_id, wanted.since.isoformat(), wanted.until.isoformat() if wanted.until else None)
        if stored == target:
            return Upserted("unchanged")
        ownership_to_item(wanted).save()
        return Upserted(
            "updated", [name for name, a, b in zip(("estate_id", "since", "until"), stored, target) if a != b]
        )

"""A home's roster for the grid worker at the door: who the records say lives there.

Three sources, merged per person: the population registry (registered at this home), the
property records (current owners) and the grants in force (family, tenants). Names are
decrypted here — personal data — so every person shown is an audit record naming the worker,
the home and the request. The ID number is never shown, only its last four characters, enough
to confirm an identity document at the door.

Each person carries the registry `version` the worker sees; a correction must name it.
"""

from __future__ import annotations

from gridgate.adapters.audit import AuditLog
from gridgate.adapters.grant_repository import GrantRepository
from gridgate.adapters.repositories import (
    HomeRepository,
    OwnershipRepository,
    PersonRepository,
)
from gridgate.clock import city_clock
from gridgate.grid_work.task_feedback import GridWorker, OutOfScope
from gridgate.refusals import NotFound

#: Order in which a person's roles at the home are named (the first is their `role`).
ROLE_ORDER = ("owner", "family", "tenant", "registered")


class HomeNotFound(NotFound):
    def __init__(self, **detail) -> None:
        super().__init__("home_not_found", **detail)


class HomeRoster:
    def __init__(
        self,
        persons: PersonRepository,
        homes: HomeRepository | None = None,
        ownerships: OwnershipRepository | None = None,
        grants: GrantRepository | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self._persons = persons
        self._homes = homes or HomeRepository()
        self._ownerships = ownerships or OwnershipRepository()
        self._grants = grants or GrantRepository()
        self._audit = audit or AuditLog()

    def _roles(self, home_id: str) -> dict[str, set[str]]:
        today = city_clock().today()
        roles: dict[str, set[str]] = {}
        for person_id in self._persons.ids_registered_at(home_id):
            roles.setdefault(person_id, set()).add("registered")
        for ownership in self._ownerships.of_home(home_id):
            if ownership.is_current(today):
                roles.setdefault(ownership.person_id, set()).add("owner")
        for grant in self._grants.of_home(home_id):
            if grant.is_effective(today):
                roles.setdefault(grant.grantee_id, set()).add(grant.relation.value)
        return roles

    def read(self, worker: GridWorker, grid_id: str, home_id: str, request_id: str | None = None) -> dict:
        if grid_id not in worker.grids:
            raise OutOfScope(grid_id=grid_id)
        home = self._homes.get(home_id)
        if home is None:
            raise HomeNotFound(home_id=home_id)
        if home.grid_id != grid_id:
            raise OutOfScope(grid_id=grid_id, home_id=home_id)
        residents = []
        for person_id, roles in sorted(self._roles(home_id).items()):
            person = self._persons.get(person_id)
            ordered = [r for r in ROLE_ORDER if r in roles]
            entry = {"person_id": person_id, "roles": ordered, "role": ordered[0], "in_registry": person is not None}
            if person is not None:
                self._audit.record(
                    worker.subject,
                    "personal_data.read",
                    f"person#{person_id}",
                    request_id=request_id,
                    detail={
                        "purpose": "door-to-door verification",
                        "home_id": home_id,
                        "grid_id": grid_id,
                        "fields": ["name", "id_number_tail"],
                    },
                )
                entry.update(
                    name=person.name,
                    id_number_tail=person.id_number[-4:],
                    birth_year=person.birth_year,
                    sex=person.sex,
                    registered_home_id=person.registered_home_id,
                    key_groups=sorted(k.value for k in person.key_groups),
                    version=person.version,
                )
            residents.append(entry)
        return {
            "home": {
                "home_id": home.home_id,
                "estate_id": home.estate_id,
                "building_id": home.building_id,
                "unit": home.unit,
                "floor": home.floor,
                "room": home.room,
                "floor_area_m2": home.floor_area_m2,
                "grid_id": home.grid_id,
            },
            "residents": residents,
        }

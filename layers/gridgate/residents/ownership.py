"""An owner's scope: the homes a resident owns today, and the check every owner action starts with."""

from __future__ import annotations

from datetime import date

from gridgate.adapters.repositories import HomeRepository, OwnershipRepository
from gridgate.domain.model import Home
from gridgate.refusals import NotAllowed, NotFound


class OwnerScope:
    """Reads the property records it is given (the composition root passes the tables' repositories)."""

    def __init__(self, homes: HomeRepository, ownerships: OwnershipRepository) -> None:
        self._homes = homes
        self._ownerships = ownerships

    def homes_owned(self, person_id: str, on: date) -> list[Home]:
        """The homes `person_id` currently owns, per the property records."""
        owned = (self._homes.get(o.home_id) for o in self._ownerships.current_for_person(person_id, on))
        return [home for home in owned if home is not None]

    def owned_home(self, person_id: str, home_id: str, on: date) -> Home:
        """The home, if `person_id` owns it on `on`: `NotFound` unknown_home, `NotAllowed` not_owner."""
        home = self._homes.get(home_id)
        if home is None:
            raise NotFound("unknown_home", home_id=home_id)
        if not self.owns(person_id, home_id, on):
            raise NotAllowed("not_owner")
        return home

    def owns(self, person_id: str, home_id: str, on: date) -> bool:
        return any(o.home_id == home_id for o in self._ownerships.current_for_person(person_id, on))

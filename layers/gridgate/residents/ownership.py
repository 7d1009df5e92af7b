"""An owner's scope: the homes a resident owns today, and the check every owner action starts with."""

from __future__ import annotations

from datetime import date

from gridgate.adapters.repositories import HomeRepository, OwnershipRepository
from gridgate.domain.model import Home
from gridgate.refusals import NotAllowed, NotFound


def homes_owned(person_id: str, on: date) -> list[Home]:
    """The homes `person_id` currently owns, per the property records."""
    homes = HomeRepository()
    owned = (homes.get(o.home_id) for o in OwnershipRepository().current_for_person(person_id, on))
    return [home for home in owned if home is not None]


def owned_home(person_id: str, home_id: str, on: date) -> Home:
    """The home, if `person_id` owns it on `on`: `NotFound` unknown_home, `NotAllowed` not_owner."""
    home = HomeRepository().get(home_id)
    if home is None:
        raise NotFound("unknown_home", f"no home {home_id} in the property records")
    if not any(o.home_id == home_id for o in OwnershipRepository().current_for_person(person_id, on)):
        raise NotAllowed("not_owner", "you can act only on homes you own")
    return home

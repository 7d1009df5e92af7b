"""Who may enter an estate, derived at the moment it is asked (paper §3.1.2).

- Owners: straight from the property records' current ownerships; no grant row exists or is
  needed, and the right ends the day the ownership ends.
- Family and tenants: from grants that are active and inside their dates at that instant, and
  whose grantor still owns the home then. The grant is re-read with a strongly consistent read, so
  a revocation stops the very next decision; an expired grant stops at local midnight after its
  last day, whether or not a job has marked it. A grant lasts "until the owner stops owning"
  (docs/policy.md): the grantor's ownership is part of the right, so a sold home's tenant stops at
  the next decision, not when nightly reconciliation gets round to revoking the grant.

Grant dates are the city's civil dates (`Settings.city_timezone`), so "ends on the 3rd" means
until midnight of the 3rd in the city, whatever the server's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from gridgate.adapters.grant_repository import GrantRepository
from gridgate.adapters.item_checks import ItemCheck
from gridgate.adapters.repositories import OwnershipRepository
from gridgate.config import get_settings
from gridgate.domain.policy import local_date
from gridgate.domain.rights import Right, granted_right, owner_right, strongest

__all__ = [
    "Right",
    "RightBasis",
    "effective_right",
    "effective_right_with_basis",
    "gallery_right",
    "people_with_rights",
]


@dataclass(frozen=True)
class RightBasis:
    """The rows a right stands on: an ownership of `home_id` by `owner_id` (the person, or the
    grant's grantor) and, for a granted right, the grant. `checks(on)` are the conditions that hold
    exactly while the right does on day `on`: a warm gate sends them with the decision's write
    instead of reading the right again (`gridgate.gate.cloud_facts`)."""

    owner_id: str
    home_id: str
    grant_id: str | None = None

    def checks(self, on: date) -> tuple[ItemCheck, ...]:
        owned = OwnershipRepository.owns_check(self.owner_id, self.home_id, on)
        if self.grant_id is None:
            return (owned,)
        return (owned, GrantRepository.effective_check(self.home_id, self.grant_id, on))


def effective_right(
    person_id: str,
    estate_id: str,
    at: datetime,
    *,
    ownerships: OwnershipRepository | None = None,
    grants: GrantRepository | None = None,
) -> Right | None:
    """The strongest right `person_id` has at `estate_id` at instant `at`, or None."""
    return effective_right_with_basis(person_id, estate_id, at, ownerships=ownerships, grants=grants)[0]


def effective_right_with_basis(
    person_id: str,
    estate_id: str,
    at: datetime,
    *,
    ownerships: OwnershipRepository | None = None,
    grants: GrantRepository | None = None,
) -> tuple[Right | None, RightBasis | None]:
    """`effective_right` and the rows it stands on (None, None without a right)."""
    today = local_date(at, get_settings().city_timezone)
    ownerships = ownerships or OwnershipRepository()
    owned = ownerships.current_for_person(person_id, today)
    found = [(owner_right(o), RightBasis(person_id, o.home_id)) for o in owned if o.estate_id == estate_id]
    if not found:  # an owner needs no grant look-up
        active = (grants or GrantRepository()).active_for_grantee(person_id)
        found = [
            (granted_right(g), RightBasis(g.granted_by, g.home_id, g.grant_id))
            for g in active
            if g.estate_id == estate_id and g.is_effective(today) and ownerships.owns(g.granted_by, g.home_id, today)
        ]
    right = strongest(right for right, _ in found)
    return right, next((basis for candidate, basis in found if candidate is right), None)


def gallery_right(
    person_id: str,
    estate_id: str,
    at: datetime,
    *,
    ownerships: OwnershipRepository | None = None,
    grants: GrantRepository | None = None,
) -> Right | None:
    """Whether a person belongs in the estate's face gallery: their right at `at`, or else one that
    starts on a later day (a tenant moving in next week), so that no midnight needs a rebuild.

    Strongly consistent like `effective_right` (the gallery change log applies one person with it).
    The decision still asks `effective_right`: a member whose right starts tomorrow is refused today."""
    ownerships = ownerships or OwnershipRepository()
    today = local_date(at, get_settings().city_timezone)
    owned = [o for o in ownerships.for_person(person_id) if o.estate_id == estate_id]
    now = [owner_right(o) for o in owned if o.is_current(today)]
    later = [owner_right(o) for o in owned if o.since > today]
    for g in (grants or GrantRepository()).active_for_grantee(person_id):  # read once for both
        if g.estate_id != estate_id or not (g.is_effective(today) or g.starts_on > today):
            continue
        if ownerships.owns(g.granted_by, g.home_id, today):
            (now if g.is_effective(today) else later).append(granted_right(g))
    return strongest(now) or strongest(later)


def people_with_rights(
    estate_id: str,
    on: date,
    *,
    upcoming: bool = False,
    ownerships: OwnershipRepository | None = None,
    grants: GrantRepository | None = None,
) -> dict[str, Right]:
    """Everyone with a right at the estate on a (local) day, with their strongest right.

    Two index queries for the whole estate. It is evaluated per day (the offline snapshot asks for
    each day it covers), so an ownership known to end tomorrow ends its grants' rights tomorrow. This is the gate's face-gallery membership; the
    decision itself still asks `effective_right`, so a grant revoked after the gallery was built
    never opens the gate.

    `upcoming`: also everyone whose right starts on a later day (the gallery's membership, see
    `gallery_right`), with the same two queries.
    """
    by_person: dict[str, list[Right]] = {}
    owners_of: set[tuple[str, str]] = set()  # (person, home) owned on `on`: a grant needs its grantor among them
    for ownership in (ownerships or OwnershipRepository()).current_in_estate(estate_id, on, upcoming=upcoming):
        by_person.setdefault(ownership.person_id, []).append(owner_right(ownership))
        if ownership.is_current(on):
            owners_of.add((ownership.person_id, ownership.home_id))
    for grant in (grants or GrantRepository()).active_in_estate(estate_id):
        starts = grant.is_effective(on) or (upcoming and grant.starts_on > on)
        if starts and (grant.granted_by, grant.home_id) in owners_of:
            by_person.setdefault(grant.grantee_id, []).append(granted_right(grant))
    # every list holds at least one right, so each person has a strongest one
    return {person_id: right for person_id, rights in by_person.items() if (right := strongest(rights)) is not None}

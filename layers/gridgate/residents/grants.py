"""Owners grant and revoke access to their homes for family members and tenants (paper §3.1.2).

An owner acts only on a home they own today. The grantee is named by ID number (what an owner
knows) and resolved to the registry's person id through the keyed hash; the number itself is
never stored with the grant. The home's cap comes from its floor area and the city policy and is
enforced atomically by `GrantRepository.create`. Every change is audited and bumps the estate's
gallery version, so warm gate functions reload who may enter.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from gridgate.adapters.audit import AuditLog
from gridgate.adapters.grant_repository import AlreadyGranted, CapReached, GrantNotActive, GrantRepository
from gridgate.adapters.repositories import PersonRepository
from gridgate.clock import now as city_now
from gridgate.config import Settings, get_settings
from gridgate.domain.model import Grant, GrantStatus, Home, Relation
from gridgate.domain.policy import GrantCapPolicy, grant_dates_problem, local_date
from gridgate.domain.rights import grant_status_on
from gridgate.refusals import Conflict, Invalid, NotFound
from gridgate.residents.ownership import OwnerScope


def cap_policy(settings: Settings | None = None) -> GrantCapPolicy:
    settings = settings or get_settings()
    return GrantCapPolicy(settings.grant_area_per_person_m2, settings.grant_cap_min, settings.grant_cap_max)


def _already_granted() -> Conflict:
    return Conflict("already_granted")


@dataclass(frozen=True)
class HomeGrants:
    """A home's grants as its owner sees them, with the cap and the slots in use."""

    home: Home
    cap: int
    slots_used: int
    grants: list[Grant]


class GrantService:
    """A home's grants under its cap; it receives its repositories (built once by a composition root)."""

    def __init__(
        self,
        *,
        people: PersonRepository,
        grants: GrantRepository,
        scope: OwnerScope,
        audit: AuditLog,
        estate_changed: Callable[[str, Iterable[str]], None],  # (estate, people): the gallery change hook
        settings: Settings,
        clock: Callable[[], datetime] = city_now,
    ) -> None:
        self._people = people
        self._grants = grants
        self._scope = scope
        self._audit = audit
        self._estate_changed = estate_changed
        self._clock = clock
        self._settings = settings

    def _today(self) -> date:
        return local_date(self._clock(), self._settings.city_timezone)

    def grant(
        self,
        owner_id: str,
        home_id: str,
        grantee_id_number: str,
        relation: Relation,
        starts_on: date,
        ends_on: date | None,
        request_id: str | None,
    ) -> Grant:
        today = self._today()
        home = self._scope.owned_home(owner_id, home_id, today)
        problem = grant_dates_problem(starts_on, ends_on, today)
        if problem:
            raise Invalid("bad_dates", reason=problem)
        grantee_id = self._people.find_id_by_id_number(grantee_id_number)
        if grantee_id is None:
            raise NotFound("unknown_grantee")
        if self._scope.owns(grantee_id, home_id, today):
            raise Invalid("grantee_is_owner")
        self._grants.expire_due(home_id, today)
        # Read first for grants stored before the home carried its grantee set; the transaction
        # below is what makes two concurrent requests unable to both pass.
        if any(
            g.grantee_id == grantee_id and grant_status_on(g, today) == GrantStatus.ACTIVE
            for g in self._grants.of_home(home_id)
        ):
            raise _already_granted()
        cap = cap_policy(self._settings).cap_for(home.floor_area_m2)
        grant = Grant(
            grant_id=uuid.uuid4().hex,
            home_id=home_id,
            estate_id=home.estate_id,
            grantee_id=grantee_id,
            relation=relation,
            starts_on=starts_on,
            ends_on=ends_on,
            granted_by=owner_id,
            status=GrantStatus.ACTIVE,
            created_at=self._clock(),
        )
        try:
            self._grants.create(grant, cap)
        except AlreadyGranted:
            raise _already_granted() from None
        except CapReached:
            raise Conflict("over_cap", cap=cap, floor_area_m2=home.floor_area_m2) from None
        self._estate_changed(home.estate_id, [grantee_id])
        self._audit.record(
            owner_id,
            "grant.create",
            f"home#{home_id}",
            request_id=request_id,
            detail={
                "grant_id": grant.grant_id,
                "grantee_id": grantee_id,
                "relation": relation.value,
                "starts_on": starts_on.isoformat(),
                "ends_on": ends_on.isoformat() if ends_on else None,
                "cap": cap,
            },
        )
        return grant

    def of_home(self, owner_id: str, home_id: str, request_id: str | None = None) -> HomeGrants:
        """The home's grants, audited as a read: the list names who lives in the owner's home,
        and reads of who lives where are logged like a grid worker's roster read."""
        today = self._today()
        home = self._scope.owned_home(owner_id, home_id, today)
        self._grants.expire_due(home_id, today)
        grants = sorted(self._grants.of_home(home_id), key=lambda g: g.created_at, reverse=True)
        used = sum(1 for g in grants if g.status == GrantStatus.ACTIVE)
        self._audit.record(
            owner_id,
            "grant.read",
            f"home#{home_id}",
            request_id=request_id,
            detail={"grants": [g.grant_id for g in grants]},
        )
        return HomeGrants(home, cap_policy(self._settings).cap_for(home.floor_area_m2), used, grants)

    def revoke(self, owner_id: str, home_id: str, grant_id: str, request_id: str | None) -> Grant:
        home = self._scope.owned_home(owner_id, home_id, self._today())
        try:
            grant = self._grants.revoke(home_id, grant_id, self._clock())
        except GrantNotActive:
            if self._grants.get(home_id, grant_id) is None:
                raise NotFound("unknown_grant") from None
            raise Conflict("grant_not_active") from None
        self._estate_changed(home.estate_id, [grant.grantee_id])
        self._audit.record(
            owner_id,
            "grant.revoke",
            f"home#{home_id}",
            request_id=request_id,
            detail={"grant_id": grant_id, "grantee_id": grant.grantee_id},
        )
        return grant

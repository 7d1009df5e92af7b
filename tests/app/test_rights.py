"""Derived rights: owners from the property records, family/tenants from effective grants only."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

from gridgate import clock
from gridgate.adapters.grant_repository import GrantRepository
from gridgate.adapters.repositories import OwnershipRepository
from gridgate.adapters.tables import GrantTable
from gridgate.domain.model import Grant, GrantStatus, Relation
from gridgate.domain.rights import Right
from gridgate.residents.entry_rights import effective_right, people_with_rights

CST = timezone(timedelta(hours=8))


def at_local(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CST)


def grant_for(
    home_id: str,
    estate_id: str,
    grantee: str,
    owner: str,
    starts_on: date,
    ends_on: date | None = None,
    relation: Relation = Relation.FAMILY,
) -> Grant:
    grant = Grant(
        uuid.uuid4().hex,
        home_id,
        estate_id,
        grantee,
        relation,
        starts_on,
        ends_on,
        owner,
        GrantStatus.ACTIVE,
        clock.now(),
    )
    GrantRepository().create(grant, cap=10)
    return grant


def test_owner_right_is_derived_without_any_grant_row_and_ends_with_ownership(city):
    estate = city.estate(homes=1)
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    assert list(GrantTable.query(home)) == []
    assert effective_right(owner, estate.estate_id, at_local(date(2026, 3, 1))) == Right("owner", home, None)
    assert effective_right(owner, city.estate().estate_id, at_local(date(2026, 3, 1))) is None  # another estate

    OwnershipRepository().end(owner, home, date(2026, 6, 1))  # sold: ownership ends on 1 June
    assert effective_right(owner, estate.estate_id, at_local(date(2026, 5, 31), 23)) == Right("owner", home, None)
    assert effective_right(owner, estate.estate_id, at_local(date(2026, 6, 1), 0)) is None


def test_grant_is_effective_inside_its_local_dates_only(city):
    estate = city.estate(homes=1)
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    tenant, _ = city.person()
    grant = grant_for(home, estate.estate_id, tenant, owner, date(2026, 12, 1), date(2026, 12, 31), Relation.TENANT)
    expected = Right("tenant", home, grant.grant_id)
    assert effective_right(tenant, estate.estate_id, at_local(date(2026, 11, 30), 23)) is None
    assert effective_right(tenant, estate.estate_id, at_local(date(2026, 12, 1), 0)) == expected
    assert effective_right(tenant, estate.estate_id, at_local(date(2026, 12, 31), 23)) == expected
    # local midnight ends it: 16:30 UTC on the 31st is already 1 January in the city
    assert effective_right(tenant, estate.estate_id, datetime(2026, 12, 31, 16, 30, tzinfo=UTC)) is None
    assert effective_right(tenant, estate.estate_id, datetime(2026, 12, 31, 15, 30, tzinfo=UTC)) == expected


def test_revoked_grant_stops_at_the_very_next_check(city):
    estate = city.estate(homes=1)
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    family, _ = city.person()
    grant = grant_for(home, estate.estate_id, family, owner, date(2026, 1, 1))
    now = at_local(date(2026, 11, 24))
    assert effective_right(family, estate.estate_id, now) == Right("family", home, grant.grant_id)
    GrantRepository().revoke(home, grant.grant_id, clock.now())
    assert effective_right(family, estate.estate_id, now) is None


def test_expired_grant_stops_the_next_day_even_before_it_is_marked(city):
    estate = city.estate(homes=1)
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    tenant, _ = city.person()
    grant = grant_for(home, estate.estate_id, tenant, owner, date(2026, 1, 1), date(2026, 11, 23), Relation.TENANT)
    assert effective_right(tenant, estate.estate_id, at_local(date(2026, 11, 23), 23)) is not None
    assert GrantRepository().get(home, grant.grant_id).status == GrantStatus.ACTIVE  # not marked yet
    assert effective_right(tenant, estate.estate_id, at_local(date(2026, 11, 24), 0)) is None


def test_owner_right_wins_over_a_grant_and_people_with_rights_lists_the_estate(city):
    estate = city.estate(homes=2)
    home_a, home_b = estate.homes
    owner_a, owner_b = estate.owners[home_a], estate.owners[home_b]
    family, _ = city.person()
    revoked_tenant, _ = city.person()
    future_tenant, _ = city.person()
    ended_tenant, _ = city.person()
    family_grant = grant_for(home_a, estate.estate_id, family, owner_a, date(2026, 1, 1))
    grant_for(home_a, estate.estate_id, owner_b, owner_a, date(2026, 1, 1))  # owner of B also granted in A
    revoked = grant_for(home_b, estate.estate_id, revoked_tenant, owner_b, date(2026, 1, 1), relation=Relation.TENANT)
    GrantRepository().revoke(home_b, revoked.grant_id, clock.now())
    grant_for(home_b, estate.estate_id, future_tenant, owner_b, date(2027, 1, 1), relation=Relation.TENANT)
    grant_for(home_b, estate.estate_id, ended_tenant, owner_b, date(2026, 1, 1), date(2026, 6, 30), Relation.TENANT)

    day = date(2026, 11, 24)
    assert effective_right(owner_b, estate.estate_id, at_local(day)) == Right("owner", home_b, None)
    assert people_with_rights(estate.estate_id, day) == {
        owner_a: Right("owner", home_a, None),
        owner_b: Right("owner", home_b, None),
        family: Right("family", home_a, family_grant.grant_id),
    }

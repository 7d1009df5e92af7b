"""Grants through the API: owner scope, the per-home cap, revocation, expiry freeing slots."""

from __future__ import annotations

from datetime import timedelta

from app_helpers import call, city_today, grant_body

from gridgate import clock
from gridgate.adapters.grant_repository import GrantRepository
from gridgate.adapters.repositories import (
    HomeRepository,
    PersonRepository,
    PlaceRepository,
)
from gridgate.adapters.tables import HomeTable
from gridgate.domain.model import GrantStatus
from gridgate.residents.entry_rights import effective_right


def test_my_homes_lists_current_homes_with_their_caps(client, city):
    owner, _ = city.person()
    estate = city.estate(homes=2, floor_area_m2=35.0, owner=owner)
    city.estate(homes=1)  # someone else's
    status, body = call(client, "GET", "/me/homes", owner)
    assert status == 200
    assert sorted(h["home_id"] for h in body["homes"]) == sorted(estate.homes)
    assert {h["grant_cap"] for h in body["homes"]} == {3}  # 35 m² / 10 m² per person


def test_grant_list_and_revoke_change_the_right_at_once(client, city):
    estate = city.estate(homes=1)
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    tenant, id_number = city.person()
    version = PlaceRepository().gallery_version(estate.estate_id)

    status, grant = call(client, "POST", f"/homes/{home}/grants", owner, grant_body(id_number, "tenant"))
    assert status == 201 and grant["grantee_id"] == tenant and grant["status"] == "active"
    assert effective_right(tenant, estate.estate_id, clock.now()).grant_id == grant["grant_id"]
    assert PlaceRepository().gallery_version(estate.estate_id) == version + 1

    status, listing = call(client, "GET", f"/homes/{home}/grants", owner)
    assert status == 200 and listing["cap"] == 9 and listing["slots_used"] == 1
    assert [g["grant_id"] for g in listing["grants"]] == [grant["grant_id"]]

    status, revoked = call(client, "DELETE", f"/homes/{home}/grants/{grant['grant_id']}", owner)
    assert status == 200 and revoked["status"] == "revoked" and revoked["revoked_at"]
    assert effective_right(tenant, estate.estate_id, clock.now()) is None
    assert PlaceRepository().gallery_version(estate.estate_id) == version + 2

    status, again = call(client, "DELETE", f"/homes/{home}/grants/{grant['grant_id']}", owner)
    assert (status, again["code"]) == (409, "grant_not_active")
    status, unknown = call(client, "DELETE", f"/homes/{home}/grants/nope", owner)
    assert (status, unknown["code"]) == (404, "unknown_grant")


def test_cap_from_floor_area_and_a_revocation_frees_a_slot(client, city):
    estate = city.estate(homes=1, floor_area_m2=20.0)  # cap 2
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    people = [city.person() for _ in range(3)]
    first, second = (call(client, "POST", f"/homes/{home}/grants", owner, grant_body(idn))[1] for _, idn in people[:2])
    status, refused = call(client, "POST", f"/homes/{home}/grants", owner, grant_body(people[2][1]))
    assert (status, refused["code"]) == (409, "over_cap")
    call(client, "DELETE", f"/homes/{home}/grants/{first['grant_id']}", owner)
    status, third = call(client, "POST", f"/homes/{home}/grants", owner, grant_body(people[2][1]))
    assert status == 201 and third["grantee_id"] == people[2][0]


def test_an_ended_grant_gives_its_slot_back(client, city):
    estate = city.estate(homes=1, floor_area_m2=12.0)  # cap 1
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    (_, tenant_id_number), (newcomer, newcomer_id_number) = city.person(), city.person()
    today = city_today()
    status, tenant = call(
        client, "POST", f"/homes/{home}/grants", owner, grant_body(tenant_id_number, "tenant", today, today)
    )
    assert status == 201
    assert call(client, "POST", f"/homes/{home}/grants", owner, grant_body(newcomer_id_number))[0] == 409

    # tomorrow the grant has ended: the owner's next request expires it and takes the slot
    assert GrantRepository().expire_due(home, today + timedelta(days=1))[0].grant_id == tenant["grant_id"]
    assert GrantRepository().expire_due(home, today + timedelta(days=1)) == []  # released exactly once
    status, grant = call(client, "POST", f"/homes/{home}/grants", owner, grant_body(newcomer_id_number))
    assert status == 201 and grant["grantee_id"] == newcomer
    assert GrantRepository().get(home, tenant["grant_id"]).status == GrantStatus.EXPIRED


def test_duplicate_self_and_unknown_grantees_are_refused(client, city):
    estate = city.estate(homes=1)
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    _, id_number = city.person()
    assert call(client, "POST", f"/homes/{home}/grants", owner, grant_body(id_number))[0] == 201
    cases = {
        "already_granted": grant_body(id_number),
        "unknown_grantee": grant_body("110101199003074514"),
    }
    for code, body in cases.items():
        status, answer = call(client, "POST", f"/homes/{home}/grants", owner, body)
        assert answer["code"] == code and status in (404, 409)


def test_owner_needs_no_grant(client, city, protector):
    estate = city.estate(homes=1)
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    own_id_number = PersonRepository(protector).get(owner).id_number
    status, answer = call(client, "POST", f"/homes/{home}/grants", owner, grant_body(own_id_number))
    assert (status, answer["code"]) == (400, "grantee_is_owner")


def test_revoking_works_even_if_the_home_item_was_rewritten_without_its_counter(client, city):
    """A property-record re-import that rewrites the home item resets `granted_count` to 0;
    revoking must still end the grant (and must not drive the counter negative)."""
    estate = city.estate(homes=1)
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    family, id_number = city.person()
    grant = call(client, "POST", f"/homes/{home}/grants", owner, grant_body(id_number))[1]
    HomeRepository().add(HomeRepository().get(home))  # the rewrite
    status, revoked = call(client, "DELETE", f"/homes/{home}/grants/{grant['grant_id']}", owner)
    assert status == 200 and revoked["status"] == "revoked"
    assert HomeTable.get(home, consistent_read=True).granted_count == 0

"""THE cap test: 50 simultaneous grant requests, room for 3, exactly 3 new grants.

Real HTTP-level concurrency end to end: 50 threads each send a grant request through the Chalice
app, which talks to moto's server over loopback (DynamoDB's atomic conditional writes, see
`local_emulator.atomic_moto`). Nothing is serialised on the client side.
"""

from __future__ import annotations

from collections import Counter

from app_helpers import call, grant_body, race

from gridgate.adapters.grant_repository import GrantRepository
from gridgate.adapters.tables import HomeTable
from gridgate.domain.model import GrantStatus

REQUESTS = 50


def test_fifty_simultaneous_grants_against_room_for_three(client, city):
    estate = city.estate(homes=1, floor_area_m2=50.0)  # cap 5
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    for _ in range(2):  # two slots already taken: room for exactly 3 more
        assert call(client, "POST", f"/homes/{home}/grants", owner, grant_body(city.person()[1]))[0] == 201
    grantees = [city.person() for _ in range(REQUESTS)]

    def request(index: int) -> tuple[int, str]:
        body = grant_body(grantees[index][1], "tenant")
        status, answer = call(
            client, "POST", f"/homes/{home}/grants", owner, body, headers={"Idempotency-Key": f"cap-test-{index:04d}"}
        )
        return status, answer["grantee_id"] if status == 201 else answer["code"]

    results = race(REQUESTS, request)

    outcomes = Counter(status for status, _ in results)
    assert outcomes == {201: 3, 409: REQUESTS - 3}
    assert {code for status, code in results if status == 409} == {"over_cap"}
    active = [g for g in GrantRepository().of_home(home) if g.status == GrantStatus.ACTIVE]
    assert len(active) == 5
    winners = {grantee for status, grantee in results if status == 201}
    assert winners == {g.grantee_id for g in active} - {g.grantee_id for g in active if g.relation.value == "family"}
    assert HomeTable.get(home, consistent_read=True).granted_count == 5

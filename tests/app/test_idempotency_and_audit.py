"""Retries with the same Idempotency-Key return the first result; every change is audited."""

from __future__ import annotations

import json

from app_helpers import bearer, call, grant_body

from gridgate.adapters.audit import AuditLog
from gridgate.adapters.grant_repository import GrantRepository
from gridgate.adapters.pass_repository import PassRepository


def post_grant(client, owner, home, body, key):
    response = client.http.post(
        f"/homes/{home}/grants",
        headers={"Content-Type": "application/json", "Idempotency-Key": key, **bearer(owner)},
        body=json.dumps(body).encode(),
    )
    return response


def test_a_retried_grant_returns_the_first_result_and_creates_nothing_more(client, city):
    estate = city.estate(homes=1)
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    _, id_number = city.person()
    first = post_grant(client, owner, home, grant_body(id_number), "retry-key-0001")
    retry = post_grant(client, owner, home, grant_body(id_number), "retry-key-0001")
    assert first.status_code == retry.status_code == 201
    assert first.json_body == retry.json_body
    assert "Idempotent-Replayed" not in first.headers and retry.headers["Idempotent-Replayed"] == "true"
    assert len(GrantRepository().of_home(home)) == 1
    assert [r.action for r in AuditLog().about(f"home#{home}")] == ["grant.create"]


def test_the_same_key_with_another_body_is_refused(client, city):
    estate = city.estate(homes=1)
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    (_, first_id), (_, other_id) = city.person(), city.person()
    assert post_grant(client, owner, home, grant_body(first_id), "reuse-key-0001").status_code == 201
    reused = post_grant(client, owner, home, grant_body(other_id), "reuse-key-0001")
    assert (reused.status_code, reused.json_body["code"]) == (422, "idempotency_key_reused")
    assert len(GrantRepository().of_home(home)) == 1


def test_keys_are_scoped_per_caller(client, city):
    one, two = city.estate(homes=1), city.estate(homes=1)
    results = []
    for estate in (one, two):
        home = estate.homes[0]
        results.append(post_grant(client, estate.owners[home], home, grant_body(city.person()[1]), "shared-key-0001"))
    assert [r.status_code for r in results] == [201, 201]
    assert results[0].json_body["grant_id"] != results[1].json_body["grant_id"]


def test_a_refused_request_is_not_remembered(client, city):
    estate = city.estate(homes=1, floor_area_m2=10.0)  # cap 1
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    (_, first_id), (_, second_id) = city.person(), city.person()
    taken = post_grant(client, owner, home, grant_body(first_id), "fail-key-0001").json_body
    assert post_grant(client, owner, home, grant_body(second_id), "fail-key-0002").status_code == 409
    call(client, "DELETE", f"/homes/{home}/grants/{taken['grant_id']}", owner)
    assert post_grant(client, owner, home, grant_body(second_id), "fail-key-0002").status_code == 201


def test_a_retried_pass_issue_is_one_pass(client, city, protector):
    estate = city.estate(homes=1)
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    key = {"Idempotency-Key": "pass-key-0001"}
    first = call(client, "POST", f"/homes/{home}/passes", owner, {"visitor_name": "赵六"}, headers=key)
    retry = call(client, "POST", f"/homes/{home}/passes", owner, {"visitor_name": "赵六"}, headers=key)
    assert first == retry and first[0] == 201
    assert [p.pass_id for p in PassRepository(protector).of_home(home)] == [first[1]["pass_id"]]


def test_bad_idempotency_keys_are_refused(client, city):
    estate = city.estate(homes=1)
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    status, answer = call(
        client, "POST", f"/homes/{home}/passes", owner, {"visitor_name": "x"}, headers={"Idempotency-Key": "short"}
    )
    assert (status, answer["code"]) == (400, "invalid_idempotency_key")


def test_every_change_is_audited_with_who_what_when_and_request(client, city):
    estate = city.estate(homes=1)
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    _, id_number = city.person()
    grant = call(client, "POST", f"/homes/{home}/grants", owner, grant_body(id_number, "tenant"))[1]
    call(client, "DELETE", f"/homes/{home}/grants/{grant['grant_id']}", owner)
    issued = call(client, "POST", f"/homes/{home}/passes", owner, {"visitor_name": "钱七", "duration_hours": 2})[1]
    call(client, "DELETE", f"/passes/{issued['pass_id']}", owner)

    records = sorted(AuditLog().about(f"home#{home}"), key=lambda r: r.at)
    assert [r.action for r in records] == ["grant.create", "grant.revoke", "pass.issue", "pass.revoke"]
    assert {r.actor for r in records} == {owner}
    assert all(r.request_id for r in records) and len({r.request_id for r in records}) == 4
    assert records[0].detail["grant_id"] == grant["grant_id"] and records[0].detail["relation"] == "tenant"
    assert records[2].detail["pass_id"] == issued["pass_id"]
    assert [r.action for r in AuditLog().by_actor(owner)] == [r.action for r in records]


def test_listing_visitor_names_is_a_logged_read(client, city):
    estate = city.estate(homes=1)
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    issued = call(client, "POST", f"/homes/{home}/passes", owner, {"visitor_name": "冯二"})[1]
    assert call(client, "GET", f"/homes/{home}/passes", owner)[0] == 200
    reads = [r for r in AuditLog().about(f"home#{home}") if r.action == "pass.read"]
    assert [(r.actor, r.detail["pass_ids"]) for r in reads] == [(owner, [issued["pass_id"]])]

"""Every kind of bad input gets its 4xx with a machine-readable code and a message, never a crash."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from app_helpers import bearer, call, city_today, grant_body

from gridgate import clock
from gridgate.config import get_settings
from gridgate.security.tokens import issue_token


@pytest.fixture
def home(city):
    estate = city.estate(homes=1, floor_area_m2=10.0)  # cap 1
    home_id = estate.homes[0]
    return home_id, estate.owners[home_id]


def refused(status_and_body, status: int, code: str) -> dict:
    got_status, body = status_and_body
    assert (got_status, body["code"]) == (status, code), body
    assert body["detail"]
    return body


def test_unknown_home(client, home):
    _, owner = home
    refused(
        call(client, "POST", "/homes/H-nowhere/grants", owner, grant_body("110101199003074514")), 404, "unknown_home"
    )
    refused(call(client, "POST", "/homes/H-nowhere/passes", owner, {"visitor_name": "x"}), 404, "unknown_home")
    refused(call(client, "GET", "/homes/H-nowhere/grants", owner), 404, "unknown_home")


def test_not_the_owner(client, city, home):
    home_id, _ = home
    stranger, id_number = city.person()
    refused(call(client, "POST", f"/homes/{home_id}/grants", stranger, grant_body(id_number)), 403, "not_owner")
    refused(call(client, "POST", f"/homes/{home_id}/passes", stranger, {"visitor_name": "x"}), 403, "not_owner")
    refused(call(client, "GET", f"/homes/{home_id}/grants", stranger), 403, "not_owner")


def test_over_cap(client, city, home):
    home_id, owner = home
    assert call(client, "POST", f"/homes/{home_id}/grants", owner, grant_body(city.person()[1]))[0] == 201
    refused(call(client, "POST", f"/homes/{home_id}/grants", owner, grant_body(city.person()[1])), 409, "over_cap")


@pytest.mark.parametrize(
    "starts, ends",
    [(-1, None), (0, -1), (400, None)],
    ids=["starts_in_the_past", "ends_before_start", "starts_over_a_year_ahead"],
)
def test_bad_grant_dates(client, city, home, starts, ends):
    home_id, owner = home
    today = city_today()
    body = grant_body(
        city.person()[1],
        "tenant",
        today + timedelta(days=starts),
        today + timedelta(days=ends) if ends is not None else None,
    )
    refused(call(client, "POST", f"/homes/{home_id}/grants", owner, body), 400, "bad_dates")


@pytest.mark.parametrize(
    "window",
    [
        {"valid_from": (clock.now() - timedelta(hours=1)).isoformat()},
        {"valid_from": (clock.now() + timedelta(days=31)).isoformat()},
        {"duration_hours": 0},
        {"duration_hours": -3},
    ],
    ids=["starts_in_the_past", "starts_too_far_ahead", "zero_length", "negative_length"],
)
def test_bad_pass_dates(client, home, window):
    home_id, owner = home
    refused(call(client, "POST", f"/homes/{home_id}/passes", owner, {"visitor_name": "x", **window}), 400, "bad_dates")


@pytest.mark.parametrize("hours", [24.01, 25, 48, 1e12])
def test_validity_over_24_hours(client, home, hours):
    home_id, owner = home
    body = {"visitor_name": "x", "duration_hours": hours}
    refused(call(client, "POST", f"/homes/{home_id}/passes", owner, body), 400, "validity_too_long")


@pytest.mark.parametrize("raw", [b"{bad json", b"", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_malformed_json(client, home, raw):
    home_id, owner = home
    refused(call(client, "POST", f"/homes/{home_id}/grants", owner, raw), 400, "malformed_json")


@pytest.mark.parametrize("missing", ["grantee_id_number", "relation", "starts_on"])
def test_missing_fields(client, home, missing):
    home_id, owner = home
    body = grant_body("110101199003074514")
    del body[missing]
    error = refused(call(client, "POST", f"/homes/{home_id}/grants", owner, body), 400, "missing_field")
    assert error["field"] == missing


@pytest.mark.parametrize(
    "change, field",
    [
        ({"relation": "friend"}, "relation"),
        ({"starts_on": "tomorrow"}, "starts_on"),
        ({"starts_on": 1764000000}, "starts_on"),
        ({"grantee_id_number": "12345"}, "grantee_id_number"),
        ({"is_admin": True}, "is_admin"),
    ],
)
def test_invalid_fields(client, home, change, field):
    home_id, owner = home
    body = {**grant_body("110101199003074514"), **change}
    assert (
        refused(call(client, "POST", f"/homes/{home_id}/grants", owner, body), 400, "invalid_field")["field"] == field
    )


@pytest.mark.parametrize(
    "body, field",
    [
        ({"visitor_name": "x", "valid_from": "2026-11-24T08:00:00"}, "valid_from"),  # no UTC offset
        ({"visitor_name": "x", "max_uses": 0}, "max_uses"),
        ({"visitor_name": "x", "max_uses": "3"}, "max_uses"),
        ({"visitor_name": ""}, "visitor_name"),
    ],
)
def test_invalid_pass_fields(client, home, body, field):
    home_id, owner = home
    assert (
        refused(call(client, "POST", f"/homes/{home_id}/passes", owner, body), 400, "invalid_field")["field"] == field
    )


def test_oversize_body(client, home):
    home_id, owner = home
    body = {**grant_body("110101199003074514"), "padding": "x" * get_settings().app_max_body_bytes}
    refused(call(client, "POST", f"/homes/{home_id}/grants", owner, json.dumps(body)), 413, "body_too_large")


def test_expired_token(client, home):
    home_id, owner = home
    stale = issue_token(owner, ["resident"], ttl_seconds=60, now=clock.now() - timedelta(hours=1))
    response = client.http.get(f"/homes/{home_id}/grants", headers={"Authorization": f"Bearer {stale}"})
    assert response.status_code == 401 and response.json_body["code"] == "token_expired"


@pytest.mark.parametrize(
    "headers, status, code",
    [
        ({}, 401, "missing_token"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401, "missing_token"),
        ({"Authorization": "Bearer not.a.jwt"}, 401, "bad_token"),
    ],
)
def test_missing_or_bad_token(client, headers, status, code):
    response = client.http.get("/me/homes", headers=headers)
    assert response.status_code == status and response.json_body["code"] == code


def test_wrong_role(client, home):
    home_id, owner = home
    response = client.http.get(f"/homes/{home_id}/grants", headers=bearer(owner, roles=("grid_worker",)))
    assert response.status_code == 403 and response.json_body["code"] == "forbidden"

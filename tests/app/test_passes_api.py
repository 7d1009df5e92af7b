"""Visitor passes and the resident QR through the API."""

from __future__ import annotations

import base64
import io
from datetime import datetime, timedelta

import pytest
import zxingcpp
from app_helpers import bearer, call
from PIL import Image

from gridgate import clock
from gridgate.adapters.pass_repository import PassRepository
from gridgate.adapters.resident_secrets import ResidentSecretStore
from gridgate.security.keyring import get_keyring
from gridgate.security.resident_qr import verify_resident_code
from gridgate.security.signed_passes import PassRejected, public_keys, verify_pass_text


def read_qr(png: bytes) -> str:
    return zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))[0].text


def test_issued_pass_is_24_hours_bound_to_the_estate_and_its_png_is_the_text(client, city):
    estate = city.estate(homes=1)
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    status, issued = call(client, "POST", f"/homes/{home}/passes", owner, {"visitor_name": "孙八", "max_uses": 2})
    assert status == 201
    valid_from, valid_until = (datetime.fromisoformat(issued[k]) for k in ("valid_from", "valid_until"))
    assert valid_until - valid_from == timedelta(hours=24)
    assert abs(valid_from - clock.now()) < timedelta(minutes=1)
    assert issued["estate_id"] == estate.estate_id and issued["qr_version"] <= 10
    assert read_qr(base64.b64decode(issued["qr_png_base64"])) == issued["qr_text"]
    claims = verify_pass_text(issued["qr_text"], public_keys(get_keyring()), estate.estate_id, clock.now())
    assert (claims.pass_id, claims.home_id, claims.max_uses) == (issued["pass_id"], home, 2)

    png = client.http.get(f"/passes/{issued['pass_id']}/qr.png", headers={"Accept": "image/png", **bearer(owner)})
    assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"
    assert read_qr(png.body) == issued["qr_text"]


def test_shorter_window_and_listing_and_revocation(client, city, protector):
    owner, _ = city.person()
    estate = city.estate(homes=2, owner=owner)
    start = (clock.now() + timedelta(hours=2)).replace(microsecond=0)
    status, later = call(
        client,
        "POST",
        f"/homes/{estate.homes[0]}/passes",
        owner,
        {"visitor_name": "周九", "valid_from": start.isoformat(), "duration_hours": 1.5},
    )
    assert status == 201 and datetime.fromisoformat(later["valid_until"]) - start == timedelta(minutes=90)
    other = call(client, "POST", f"/homes/{estate.homes[1]}/passes", owner, {"visitor_name": "吴十"})[1]

    status, mine = call(client, "GET", "/me/passes", owner)
    assert status == 200 and [p["pass_id"] for p in mine["passes"]] == [later["pass_id"], other["pass_id"]]
    status, of_home = call(client, "GET", f"/homes/{estate.homes[1]}/passes", owner)
    assert [p["pass_id"] for p in of_home["passes"]] == [other["pass_id"]]

    status, revoked = call(client, "DELETE", f"/passes/{other['pass_id']}", owner)
    assert status == 200 and revoked["status"] == "revoked"
    assert call(client, "DELETE", f"/passes/{other['pass_id']}", owner)[1]["code"] == "pass_not_active"
    with pytest.raises(PassRejected) as rejected:
        PassRepository(protector).consume_use(other["pass_id"], clock.now())
    assert rejected.value.reason == "revoked"


def test_passes_of_other_owners_are_out_of_reach(client, city):
    estate = city.estate(homes=1)
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    stranger, _ = city.person()
    issued = call(client, "POST", f"/homes/{home}/passes", owner, {"visitor_name": "郑一"})[1]
    for method, path in (("DELETE", f"/passes/{issued['pass_id']}"), ("GET", f"/homes/{home}/passes")):
        status, answer = call(client, method, path, stranger)
        assert (status, answer["code"]) == (403, "not_owner")
    png = client.http.get(f"/passes/{issued['pass_id']}/qr.png", headers={"Accept": "image/png", **bearer(stranger)})
    assert png.status_code == 403
    assert call(client, "DELETE", "/passes/0123456789abcdef0123456789abcdef", owner)[0] == 404
    assert call(client, "GET", "/me/passes", stranger)[1] == {"passes": [], "next_cursor": None}


def test_resident_qr_endpoint_gives_a_current_code_and_png(client, city, protector):
    person, _ = city.person()
    status, qr = call(client, "GET", "/me/resident-qr", person)
    assert status == 200 and 0 < qr["seconds_left"] <= qr["step_seconds"] == 30
    assert read_qr(base64.b64decode(qr["png_base64"])) == qr["code"]
    secret_for = ResidentSecretStore(protector).get
    assert verify_resident_code(qr["code"], secret_for, clock.now()) == person
    status, unknown = call(client, "GET", "/me/resident-qr", "P-not-registered")
    assert (status, unknown["code"]) == (404, "unknown_person")

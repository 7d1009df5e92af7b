"""Attacks on the app's endpoints (issue 11), each replayed through the real Chalice app and moto."""

from __future__ import annotations

import json
import uuid
from collections import Counter

import pytest
from app_helpers import call, grant_body, race

from gridgate import clock
from gridgate.adapters.grant_repository import GrantRepository
from gridgate.adapters.tables import HomeTable
from gridgate.domain.model import GrantStatus
from gridgate.residents.entry_rights import effective_right


def test_twenty_concurrent_grants_for_one_person_make_one_and_revoking_it_ends_the_right(client, city):
    estate = city.estate(homes=1)  # 90 m²: cap 9, so the cap alone would let 9 through
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    tenant, id_number = city.person()

    def grant(index: int):
        status, body = call(
            client,
            "POST",
            f"/homes/{home}/grants",
            owner,
            grant_body(id_number, "tenant"),
            headers={"Idempotency-Key": f"dup-grant-{index:04d}"},
        )
        return status, body.get("grant_id") if status == 201 else body["code"]

    results = race(20, grant)
    assert Counter(status for status, _ in results) == {201: 1, 409: 19}
    assert {code for status, code in results if status == 409} == {"already_granted"}
    active = [g for g in GrantRepository().of_home(home) if g.status == GrantStatus.ACTIVE]
    assert len(active) == 1
    assert HomeTable.get(home, consistent_read=True).granted_count == 1

    (granted,) = [grant_id for status, grant_id in results if status == 201]
    assert call(client, "DELETE", f"/homes/{home}/grants/{granted}", owner)[0] == 200
    assert effective_right(tenant, estate.estate_id, clock.now()) is None
    assert HomeTable.get(home, consistent_read=True).granted_count == 0
    # the person may be granted again once the grant ended
    assert call(client, "POST", f"/homes/{home}/grants", owner, grant_body(id_number, "tenant"))[0] == 201


def _signed_token(keyring, claims_json: str) -> str:
    """A token whose payload is `claims_json` verbatim (json.dumps cannot write 1e400), properly signed."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    header = b64(json.dumps({"alg": "EdDSA", "typ": "JWT", "kid": keyring.token_issuer_key_id}).encode())
    signing_input = f"{header}.{b64(claims_json.encode())}"
    signature = Ed25519PrivateKey.from_private_bytes(keyring.token_issuer_key).sign(signing_input.encode())
    return f"{signing_input}.{b64(signature)}"


@pytest.mark.parametrize("exp", ["1e400", "NaN", "Infinity", '"4102444800"', "4102444800.5", "true"])
def test_a_token_with_an_unbounded_or_non_integer_expiry_is_refused(client, city, keyring, exp):
    from gridgate.config import get_settings

    settings = get_settings()
    owner, _ = city.person()
    now = int(clock.now().timestamp())
    claims = (
        f'{{"iss": {json.dumps(settings.token_issuer)}, "aud": {json.dumps(settings.token_audience)}, '
        f'"sub": "{owner}", "iat": {now}, "exp": {exp}, "roles": ["resident"]}}'
    )
    honest = claims.replace(f'"exp": {exp}', f'"exp": {now + 600}')
    assert (
        call(client, "GET", "/me/homes", headers={"Authorization": f"Bearer {_signed_token(keyring, honest)}"})[0]
        == 200
    )
    status, body = call(
        client, "GET", "/me/homes", headers={"Authorization": f"Bearer {_signed_token(keyring, claims)}"}
    )
    assert (status, body["code"]) == (401, "bad_token")


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_an_unknown_path_answers_404_and_never_echoes_the_bearer_token(client, method):
    token = "Bearer eyJhbGciOiJFZERTQSJ9.c2VjcmV0LXRva2Vu.c2lnbmF0dXJl"
    for path in ("/nope", "/homes", "/homes/H1/grants/G1/extra", "/gate/entry"):
        response = client.http.request(method, path, headers={"Authorization": token}, body=b"")
        assert response.status_code == 404
        assert json.loads(response.body)["code"] == "unknown_route"
        assert b"c2VjcmV0LXRva2Vu" not in response.body and b"Bearer" not in response.body


def _every_stored_item() -> str:
    """Every item of every gridgate table, as text (a scan, as someone with table read access would)."""
    import boto3

    from gridgate.adapters.tables import ALL_TABLES

    client = boto3.client("dynamodb")
    items = []
    for table in ALL_TABLES:
        for page in client.get_paginator("scan").paginate(TableName=table.Meta.table_name):
            items += page["Items"]
    return repr(items)


def test_no_table_keeps_a_pass_result_in_clear_and_a_retry_still_gets_it(client, city):
    estate = city.estate(homes=1)
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    visitor = f"访客{uuid.uuid4().hex[:6]}"
    key = {"Idempotency-Key": f"pass-secret-{uuid.uuid4().hex[:8]}"}
    status, issued = call(client, "POST", f"/homes/{home}/passes", owner, {"visitor_name": visitor}, headers=key)
    assert status == 201
    stored = _every_stored_item()
    for secret in (visitor, json.dumps(visitor)[1:-1], issued["qr_text"], issued["qr_png_base64"][:64]):
        assert secret not in stored
    status, replayed = call(client, "POST", f"/homes/{home}/passes", owner, {"visitor_name": visitor}, headers=key)
    assert status == 201 and replayed == issued


def test_a_pass_shorter_than_ten_minutes_is_refused(client, city):
    estate = city.estate(homes=1)
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    for hours in (1e-300, 5e-324, 0.1):
        status, body = call(
            client, "POST", f"/homes/{home}/passes", owner, {"visitor_name": "x", "duration_hours": hours}
        )
        assert (status, body["code"]) == (400, "validity_too_short")
    assert (
        call(client, "POST", f"/homes/{home}/passes", owner, {"visitor_name": "x", "duration_hours": 1 / 6})[0] == 201
    )


def test_reading_a_homes_grants_and_a_grids_tasks_is_audited(client, city):
    from gridgate.adapters.audit import AuditLog
    from gridgate.security.tokens import issue_token

    estate = city.estate(homes=1)
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    assert call(client, "GET", f"/homes/{home}/grants", owner)[0] == 200
    assert [(r.actor, r.action) for r in AuditLog().about(f"home#{home}")] == [(owner, "grant.read")]

    worker = {"Authorization": f"Bearer {issue_token('worker-audit', ['grid_worker'], [estate.grid_id])}"}
    for form in ("json", "csv", "html"):
        assert client.http.get(f"/grid/{estate.grid_id}/tasks?format={form}", headers=worker).status_code == 200
    reads = AuditLog().about(f"grid#{estate.grid_id}")
    assert [(r.actor, r.action) for r in reads] == [("worker-audit", "personal_data.read")] * 3


def test_a_grid_worker_note_with_a_lone_surrogate_is_refused(client, city):
    from gridgate.security.tokens import issue_token

    estate = city.estate(homes=1)
    worker = {
        "Authorization": f"Bearer {issue_token('worker-note', ['grid_worker'], [estate.grid_id])}",
        "Content-Type": "application/json",
    }
    body = b'{"result": "confirmed", "note": "\\ud800 left"}'
    response = client.http.post(f"/grid/{estate.grid_id}/tasks/T-1/result", headers=worker, body=body)
    assert response.status_code == 400, response.body

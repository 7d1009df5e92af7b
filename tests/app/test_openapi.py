"""The OpenAPI document: generated from the app's routes, valid, and checked in up to date."""

from __future__ import annotations

import json
from pathlib import Path

from chalicelib.openapi import build_openapi, render
from openapi_spec_validator import validate

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_checked_in_document_matches_the_routes(chalice_app):
    assert DOCUMENT.is_file(), "docs/openapi.json is missing: run `make openapi`"
    assert DOCUMENT.read_text(encoding="utf-8") == render(chalice_app), "docs/openapi.json is stale: run `make openapi`"


def test_document_is_valid_openapi(chalice_app):
    validate(json.loads(render(chalice_app)))


def test_every_route_is_in_the_document_and_resident_writes_are_described(chalice_app):
    document = build_openapi(chalice_app)
    routes = {(path, method.lower()) for path, methods in chalice_app.routes.items() for method in methods}
    assert routes == {(path, method) for path, ops in document["paths"].items() for method in ops}

    create_grant = document["paths"]["/homes/{home_id}/grants"]["post"]
    assert create_grant["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/GrantRequest"}
    assert create_grant["security"] == [{"bearerAuth": []}] and create_grant["x-required-role"] == "resident"
    assert {p["name"] for p in create_grant["parameters"]} == {"home_id", "Idempotency-Key"}
    assert set(create_grant["responses"]) == {"201", "400", "401", "403", "404", "409", "413", "422"}
    required = document["components"]["schemas"]["GrantRequest"]["required"]
    assert set(required) == {"grantee_id_number", "relation", "starts_on"}
    png = document["paths"]["/passes/{pass_id}/qr.png"]["get"]["responses"]["200"]["content"]
    assert list(png) == ["image/png"]

"""The OpenAPI document: generated from the app's routes, valid, and checked in up to date."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from chalicelib.openapi import build_openapi, render

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
    assert create_grant["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/GrantRequest"
    }
    assert create_grant["security"] == [{"bearerAuth": []}] and create_grant["x-required-role"] == "resident"
    assert {p["name"] for p in create_grant["parameters"]} == {"home_id", "Idempotency-Key"}
    assert set(create_grant["responses"]) == {"201", "400", "401", "403", "404", "409", "413", "415", "422", "500"}
    required = document["components"]["schemas"]["GrantRequest"]["required"]
    assert set(required) == {"grantee_id_number", "relation", "starts_on"}
    png = document["paths"]["/passes/{pass_id}/qr.png"]["get"]["responses"]["200"]["content"]
    assert list(png) == ["image/png"]


def test_every_operation_documents_its_bodies_and_every_status(chalice_app):
    document = build_openapi(chalice_app)
    pages_refusing = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            successes = [s for s in responses if s[0] in "23"]
            assert successes and all(responses[s].get("content") for s in successes if s[0] == "2"), (method, path)
            assert all("Location" in responses[s]["headers"] for s in successes if s[0] == "3"), (method, path)
            errors = [s for s in responses if s[0] in "45"]
            assert "500" in errors and "415" in errors, (method, path)
            assert all("application/problem+json" in responses[s]["content"] for s in errors), (method, path)
            if any(len(responses[s]["content"]) > 1 for s in errors):  # a refusal shown as a page too
                pages_refusing.add((method, path))
            assert all("X-Request-Id" in responses[s]["headers"] for s in responses), (method, path)
            if operation["security"]:
                assert "401" in errors and "WWW-Authenticate" in responses["401"]["headers"], (method, path)
    # only the sign-in's browser steps show a person a refusal as a page (besides the problem)
    assert pages_refusing == {("get", "/auth/login"), ("get", "/auth/callback")}
    lists = {
        p
        for p, ops in document["paths"].items()
        for op in ops.values()
        if {"limit", "cursor"} <= {q["name"] for q in op.get("parameters", [])}
    }
    assert lists == {
        "/me/homes",
        "/me/passes",
        "/homes/{home_id}/grants",
        "/homes/{home_id}/passes",
        "/grid/{grid_id}/tasks",
        "/pages/data-center/findings",
        "/events/subscriptions",
        "/events/subscriptions/{subscription_id}/dead-letters",
    }
    gate = document["paths"]["/gate/entry/face"]["post"]
    assert gate["security"] == [{"gateSignature": []}]
    assert {"X-Gate-Id", "X-Gate-Timestamp", "X-Gate-Nonce", "X-Device-Event-Id", "X-Captured-At"} <= {
        p["name"] for p in gate["parameters"]
    }


def test_the_signature_example_verifies_with_the_real_verifier(chalice_app):
    """A device maker following the document's worked example gets a request the server accepts."""
    import base64
    from datetime import datetime

    from gridgate.domain.model import Gate, GateDirection
    from gridgate.security.device_auth import DeviceAuthenticator, DeviceAuthError

    scheme = build_openapi(chalice_app)["components"]["securitySchemes"]["gateSignature"]
    example = scheme["x-gridgate-signature"]["example"]
    assert "```json" in scheme["description"] and example["string_to_sign"] in scheme["description"].replace(
        "\\n", "\n"
    )
    headers = example["headers"]
    public_key = base64.b64decode(example["public_key_base64"])
    gate = Gate(headers["X-Gate-Id"], "E-example", GateDirection.BOTH, "k1", public_key)
    at = datetime.fromtimestamp(int(headers["X-Gate-Timestamp"]), UTC)
    verifier = DeviceAuthenticator({gate.gate_id: gate}.get, lambda claim: True, window_seconds=120, clock=lambda: at)
    method, path = example["request"].split(" ")
    body = example["body"].encode()
    assert verifier.verify(method, path, headers, body).gate_id == gate.gate_id
    assert example["string_to_sign"].split("\n")[6] == example["body_sha256"]
    with pytest.raises(DeviceAuthError):  # the example is not a blank cheque: another body fails
        verifier.verify(method, path, headers, body + b" ")

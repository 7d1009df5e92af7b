"""One error shape (issue 17): every 4xx/5xx is RFC 9457 problem+json, whoever produced it.

The app's own refusals, Chalice's 405/415, the gateway's unknown route and an unexpected crash all
answer the same document, carry the request id in ``X-Request-Id`` and the body, and the request's
log lines carry that id as ``correlation_id``.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
import yaml
from app_helpers import bearer
from problems import problem

ROOT = Path(__file__).resolve().parents[2]


def test_an_app_refusal_is_a_problem_with_its_request_id(client, city):
    estate = city.estate(homes=1)
    home_id = estate.homes[0]
    response = client.http.get(f"/homes/{home_id}/grants", headers=bearer("someone-else"))
    document = problem(response, 403, "not_owner")
    assert document["title"] == "Forbidden" and document["instance"] == f"urn:gridgate:request:{document['request_id']}"
    assert home_id not in document["instance"]
    assert document["detail"] and document["request_id"]


def test_the_detail_is_worded_in_the_callers_language_chinese_first(client, city):
    """The problem's ``detail`` is the catalogue's text for its code (issue 16.1), in the language
    of ``Accept-Language``: Simplified Chinese without one, English when asked, the code the same."""
    home_id = city.estate(homes=1).homes[0]
    path = f"/homes/{home_id}/grants"
    plain = problem(client.http.get(path, headers=bearer("someone-else")), 403, "not_owner")
    english = client.http.get(path, headers={**bearer("someone-else"), "Accept-Language": "en-GB,en;q=0.9"})
    chinese = client.http.get(path, headers={**bearer("someone-else"), "Accept-Language": "zh-CN"})
    assert plain["detail"] == "您只能操作自己名下的房屋。" == problem(chinese, 403, "not_owner")["detail"]
    assert problem(english, 403, "not_owner")["detail"] == "You can act only on homes you own."
    assert (chinese.headers["Content-Language"], english.headers["Content-Language"]) == ("zh-CN", "en")


def test_a_detail_carries_the_refusals_members(client):
    response = client.http.get("/me/homes?limit=5000", headers={**bearer("p-1"), "Accept-Language": "en"})
    document = problem(response, 400, "bad_limit")
    assert document["max"] == 200 and document["detail"] == "limit must be a whole number from 1 to 200."


def test_every_answer_has_a_request_id_and_each_request_its_own(client):
    first = client.http.get("/me/homes", headers=bearer("p-1"))
    second = client.http.get("/me/homes", headers=bearer("p-1"))
    assert first.status_code == 200 and first.headers["X-Request-Id"]
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]


def test_chalice_method_not_allowed_is_a_problem_and_keeps_allow(client):
    response = client.http.request("PATCH", "/me/homes", headers=bearer("p-1"))
    problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_chalice_unsupported_media_type_is_a_problem(client):
    response = client.http.post("/faces/me", headers={**bearer("p-1"), "Content-Type": "text/plain"}, body=b"x")
    problem(response, 415, "unsupported_media_type")


def test_unknown_route_is_a_problem_from_the_local_gateway(client):
    response = client.http.get("/no/such/thing", headers={"Authorization": "Bearer secret-token"})
    document = problem(response, 404, "unknown_route")
    assert "secret-token" not in response.body.decode() and document["instance"].endswith(document["request_id"])


def test_the_deployed_gateway_answers_the_same_shape():
    """serverless.yml's gateway responses cannot import Python: check their templates here."""
    from local_emulator.gateway_responses import UNKNOWN_ROUTE_BODY

    resources = {}
    for block in yaml.safe_load((ROOT / "serverless.yml").read_text())["resources"]:
        if isinstance(block, dict):
            resources.update(block.get("Resources", {}))
    responses = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::ApiGateway::GatewayResponse"}
    assert "UnknownRouteResponse" in responses
    for props in responses.values():
        template = props["ResponseTemplates"]["application/json"].replace("$context.requestId", "rid")
        document = json.loads(template)
        assert document.keys() == {*UNKNOWN_ROUTE_BODY, "instance", "request_id"}
        assert document["instance"] == "urn:gridgate:request:rid"
        assert document["status"] == int(props["StatusCode"]) and document["type"].endswith(document["code"])
        assert props["ResponseParameters"]["gatewayresponse.header.Content-Type"] == "'application/problem+json'"
        assert props["ResponseParameters"]["gatewayresponse.header.X-Request-Id"] == "context.requestId"
    unknown = json.loads(responses["UnknownRouteResponse"]["ResponseTemplates"]["application/json"])
    assert {k: unknown[k] for k in UNKNOWN_ROUTE_BODY} == UNKNOWN_ROUTE_BODY


def test_401_names_the_scheme_to_use(client):
    app_route = client.http.get("/me/homes")
    problem(app_route, 401, "missing_token")
    assert app_route.headers["WWW-Authenticate"].startswith("Bearer ")
    gate_route = client.http.get("/gate/snapshot")
    assert gate_route.status_code == 401 and gate_route.headers["WWW-Authenticate"].startswith("GridgateEd25519 ")


def test_an_unexpected_crash_is_a_500_problem_without_internals(client, monkeypatch):
    from chalicelib.blueprints import residents

    def broken(*args, **kwargs):
        raise RuntimeError("table gridgate-secret-internal exploded")

    monkeypatch.setattr(residents, "api_services", broken)
    response = client.http.get("/homes/H-1/grants", headers=bearer("p-1"))
    document = problem(response, 500, "internal_error")
    assert "exploded" not in response.body.decode() and "Traceback" not in response.body.decode()
    assert document["title"] == "Internal Server Error"


@pytest.fixture
def api_log():
    """The API logger's lines as Powertools formats them (JSON with the appended keys)."""
    from chalicelib.logs import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    target = logging.getLogger(logger.name)
    target.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    finally:
        target.removeHandler(handler)


def test_every_log_line_of_a_request_carries_its_request_id(client, monkeypatch, api_log):
    from chalicelib.blueprints import residents

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(residents, "api_services", broken)
    response = client.http.get("/homes/H-1/grants", headers=bearer("p-1"))
    rid = response.headers["X-Request-Id"]
    lines = api_log()
    assert {line["message"] for line in lines} >= {"unhandled error", "request refused"}
    assert all(line["correlation_id"] == rid and line["path"] == "/homes/{home_id}/grants" for line in lines)
    client.http.get("/me/homes", headers=bearer("p-1"))
    from chalicelib.logs import logger

    logger.info("outside any request")
    assert "correlation_id" not in api_log()[-1] or api_log()[-1]["correlation_id"] is None

"""The contract test (issue 17): schemathesis drives the real app from docs/openapi.json.

Every operation of the checked-in document is called with generated requests, valid ones and
invalid ones (positive and negative generation), through the real Chalice app on moto's server,
with a bearer token holding every role and gate requests signed as a registered gate (see
`chalice_wsgi.ChaliceWsgi`). Generated path parameters are, half of the time, the ids of a real
home of the caller, its grant and pass, and the caller's grid, so requests reach the answers
behind the look-ups, not only the 404s. Each answer must be no 5xx, a status and content type the
document lists for that operation, and headers and a body that match its schemas.

Bounded for CI: a fixed number of examples per operation, derandomised (the same requests every
run), no deadline per example (moto's latency is not under test), no example database.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from app_helpers import CityBuilder, bearer, call, grant_body
from chalice_wsgi import ChaliceWsgi
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
#: Per operation: 27 operations in about a minute on 2 cores.
EXAMPLES_PER_OPERATION = 30
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CALLER = "contract-caller"

#: The real ids path parameters may take; filled by the `app_under_contract` fixture.
REAL_IDS: dict[str, str] = {}

schema = schemathesis.openapi.from_dict(json.loads(DOCUMENT.read_text(encoding="utf-8")))


@schema.hook
def map_path_parameters(context, path_parameters):
    """About half the examples (those whose generated id has an even length) name the caller's real
    home, grant, pass and grid instead: the rule is deterministic, like the rest of the run."""
    if not path_parameters:
        return path_parameters
    return {
        name: REAL_IDS.get(name, value) if len(str(value)) % 2 == 0 else value
        for name, value in path_parameters.items()
    }


@pytest.fixture(scope="module")
def app_under_contract(chalice_app, protector):
    from chalice.test import Client

    city = CityBuilder(protector)
    estate = city.estate(homes=2, owner=CALLER)
    gate_id, key = city.gate(estate.estate_id)
    home = estate.homes[0]
    token = bearer(CALLER)
    with Client(chalice_app) as client:
        status, grant = call(client, "POST", f"/homes/{home}/grants", CALLER, grant_body(city.person()[1]))
        assert status == 201, grant
        status, issued = call(client, "POST", f"/homes/{home}/passes", CALLER, {"visitor_name": "访客"}, headers=token)
        assert status == 201, issued
        REAL_IDS.update(home_id=home, grant_id=grant["grant_id"], pass_id=issued["pass_id"], grid_id=estate.grid_id)
        yield ChaliceWsgi(client, sign_gate_as=(gate_id, key))
    REAL_IDS.clear()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_is_in_the_contract(case, app_under_contract):
    token = bearer(CALLER, roles=("resident", "grid_worker", "data_center"), grids=(REAL_IDS["grid_id"],))
    case.call_and_validate(app=app_under_contract, headers=token, checks=CHECKS)

"""No request from outside produces a 5xx: every Chalice route, swept with hostile bodies.

Each route of the real app is called, as a caller its guard accepts (a resident, a grid worker, the
data center, a signed gate), with malformed, oversized, deeply nested and wrongly typed bodies,
odd content types, odd numbers, lone surrogates and odd path and query values. Every answer must
be below 500 and, when it is JSON, an error must come in the project's shape. The routes are
read from the app itself, so a route added later is swept too.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from datetime import date, timedelta

import pytest
from PIL import Image
from problems import is_problem

_NUMBERS = (
    b'{"duration_hours": 1e400, "max_uses": 1e400, "text": "x", "events": [{"score": 1e400}], '
    b'"starts_on": "9999-12-31", "valid_from": "0001-01-01T00:00:00+00:00", "result": "confirmed", "note": 1e400}'
)


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height)).save(out, "PNG")
    return out.getvalue()


BODIES = {
    "empty": b"",
    "malformed": b'{"visitor_name": ',
    "nested_lists": b"[" * 3000 + b"]" * 3000,
    "nested_objects": b'{"a":' * 2000 + b"1" + b"}" * 2000,
    "nested_in_field": b'{"text": ' + b"[" * 900 + b"]" * 900 + b', "events": ' + b"[" * 900 + b"]" * 900 + b"}",
    "oversized": b'{"visitor_name": "' + b"a" * (4 * 1024 * 1024 + 10) + b'"}',
    "array": b"[]",
    "string": b'"text"',
    "number": b"123",
    "null": b"null",
    "wrong_types": (
        b'{"visitor_name": 5, "duration_hours": "24", "max_uses": 1.5, "grantee_id_number": [], "relation": {},'
        b' "starts_on": 20240101, "text": 7, "events": {}, "result": [], "corrections": "x"}'
    ),
    "odd_numbers": _NUMBERS,
    "non_finite": b'{"duration_hours": NaN, "max_uses": Infinity, "events": [{"score": NaN}], "text": "x"}',
    "huge_integer": b'{"max_uses": 1'
    + b"0" * 4000
    + b', "duration_hours": -0.0, "events": [{"score": 1'
    + b"0" * 400
    + b"}]}",
    "lone_surrogate": b'{"visitor_name": "\\ud800", "text": "\\udfff", "note": "\\ud800", "result": "confirmed"}',
    "bad_utf8": b"\xff\xfe\xfd{",
    "tiny_png": _png(1, 1),
    "sliver_png": _png(640, 1),
    "truncated_jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "events_garbage": json.dumps(
        {"events": [None, 1, "x", [], {}, {"event_id": "\ud800"}]}, ensure_ascii=True
    ).encode(),
}
CONTENT_TYPES = (
    "application/json",
    "text/plain",
    "image/png",
    "application/octet-stream",
    "multipart/form-data; boundary=x",
    "application/json; charset=utf-16",
)
#: Substituted for every path parameter, next to a real value.
ODD_PARAMETERS = ("x" * 3000, "%00", "..%2F..", "'\"<>", "%F0%9F%98%80")


@pytest.fixture(scope="module")
def callers(gate_world, gate, protector):
    """Tokens and ids of callers each route's guard accepts: a resident with a home of their own, a
    grid worker of that home's grid, the data center, and gate_world's signed gate."""
    from gridgate.adapters.repositories import HomeRepository, OwnershipRepository, PersonRepository, PlaceRepository
    from gridgate.domain.model import Home, Ownership, Person, Place, PlaceKind, Registry
    from gridgate.security.tokens import issue_token

    tag = uuid.uuid4().hex[:6]
    estate_id, grid_id, home_id, person_id = f"E-sweep-{tag}", f"G-sweep-{tag}", f"H-sweep-{tag}", f"P-sweep-{tag}"
    PlaceRepository().add(Place(estate_id, PlaceKind.ESTATE, "sweep", grid_id, {PlaceKind.GRID: grid_id}))
    HomeRepository().add(Home(home_id, estate_id, "B-sweep", "1", 1, "101", 60.0, grid_id))
    PersonRepository(protector).add(
        Person(person_id, "sweeper", f"32010219900101{tag[:4]}", frozenset({Registry.APP}), 1990, "F")
    )
    OwnershipRepository().add(Ownership(person_id, home_id, estate_id, date(2020, 1, 1)))
    approval_id = f"A-sweep-{tag}"
    _record_flow_approval(approval_id, "ph-sweep", estate_id, person_id)

    def bearer(subject, roles, grids=()):
        return {"Authorization": f"Bearer {issue_token(subject, list(roles), list(grids))}"}

    return {
        "resident": bearer(person_id, ["resident"]),
        "grid": bearer("worker-sweep", ["grid_worker"], [grid_id]),
        "data_center": bearer("dc-sweep", ["data_center"]),
        "public_health": bearer("ph-sweep", ["public_health"]),
        "params": {
            "home_id": home_id,
            "grid_id": grid_id,
            "grant_id": "g-1",
            "pass_id": "0" * 32,
            "task_id": "t-1",
            "subscription_id": "sub_" + "0" * 32,
            "approval_id": approval_id,
            "estate_id": estate_id,
            "person_id": person_id,
        },
    }


def _record_flow_approval(approval_id: str, officer: str, estate_id: str, person_id: str) -> None:
    """An approval the public-health routes can reach past the look-up with (their whole window)."""
    from datetime import UTC, datetime

    from gridgate import clock
    from gridgate.adapters.flow_approvals import FlowApprovalRepository
    from gridgate.domain.flow_query_records import FlowQueryApproval

    now = clock.now()
    day = datetime(now.year, now.month, now.day, tzinfo=UTC)
    FlowApprovalRepository().add(
        FlowQueryApproval(
            approval_id,
            officer,
            "ph-director",
            "case-sweep",
            "sweep",
            frozenset({estate_id}),
            frozenset(),
            frozenset({person_id}),
            day - timedelta(days=7),
            day + timedelta(days=1),
            now + timedelta(days=1),
            True,
            now,
        )
    )


def _routes():
    from app import app

    return [(method, path) for path, methods in sorted(app.routes.items()) for method in sorted(methods)]


def _paths(path: str, params: dict) -> list[str]:
    names = re.findall(r"{(\w+)}", path)
    real = path.format(**{n: params[n] for n in names})
    odd = [path.format(**{n: value for n in names}) for value in ODD_PARAMETERS] if names else []
    from gridgate import clock

    today = clock.today()  # inside the sweep approval's window (a week back, a day ahead)
    window = f"from={today - timedelta(days=1)}T00:00:00%2B00:00&to={today}T00:00:00%2B00:00&minutes=30"
    return [
        real,
        *odd,
        f"{real}?format=%ff&day=9999-99-99&parent={'x' * 2000}&replace=1e400",
        f"{real}?{window}&format=csv",
        f"{real}?from=1e400&to=%ff&minutes=99999999999999999999",
    ]


def _send(api, gate, callers, method: str, path: str, body: bytes, content_type: str):
    if path.startswith("/gate/"):
        return gate.send(path, body, content_type, method=method, kind="qr" if b"text" in body else None)
    role = (
        "grid"
        if path.startswith("/grid/")
        else "data_center"
        if path.startswith("/pages/")
        else "public_health"
        if path.startswith("/public-health/")
        else "resident"
    )
    headers = {**callers[role], "Content-Type": content_type}
    return api.http.request(method, path, headers=headers, body=body)


@pytest.mark.parametrize("method, route", _routes())
def test_no_hostile_request_to_any_route_gets_a_5xx(api, gate, callers, method, route):
    failures = []
    for path in _paths(route, callers["params"]):
        for name, body in BODIES.items():
            for content_type in CONTENT_TYPES:
                response = _send(api, gate, callers, method, path, body, content_type)
                if response.status_code >= 500:
                    failures.append((path[:60], name, content_type, response.status_code, response.body[:200]))
                elif response.status_code >= 400 and not (is_problem(response) or _refusal_page(path, response)):
                    failures.append((path[:60], name, content_type, response.status_code, "not the error shape"))
    assert failures == []


#: The sign-in's browser steps show a person a refused sign-in as a page (the contract lists it).
_PAGE_REFUSING = ("/auth/login", "/auth/callback")


def _refusal_page(path: str, response) -> bool:
    """A refusal shown as an HTML page, on a route that does so (every other error: a problem)."""
    page = response.headers.get("Content-Type", "").startswith("text/html")
    return page and path.split("?")[0] in _PAGE_REFUSING

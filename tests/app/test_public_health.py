"""Epidemic flow queries through the real app on moto (issue 18 point 5): role, approval, scope, audit.

Events are stored with `EventRepository` (sharded, keyed by UTC day) and read back by the flow
queries' window reads, including a window and a ±N minutes span that cross UTC midnight.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from problems import is_problem

from gridgate import clock
from gridgate.adapters.audit import AuditLog
from gridgate.adapters.events import EventRepository
from gridgate.adapters.flow_approvals import FlowApprovalRepository
from gridgate.adapters.repositories import PlaceRepository
from gridgate.domain.flow_query_records import FlowQueryApproval
from gridgate.domain.model import AccessEvent, AccessMethod, Direction, Outcome, Place, PlaceKind
from gridgate.security.tokens import issue_token

#: The tests run at 10:00 in Nanjing on 2026-12-05; the passages are on the night of 12-01/12-02 UTC.
T0 = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
OFFICER = "cdc-officer"


@dataclass
class World:
    tag: str
    grid: str
    near_estate: str  # named by the approval
    grid_estate: str  # in the approval's grid
    foreign_estate: str  # outside the approval
    index: str
    approval_id: str

    def path(self, tail: str, **query) -> str:
        return f"/public-health/approvals/{self.approval_id}{tail}?{urlencode(query)}"


def _event(n, estate, person, minutes, direction=Direction.IN, outcome=Outcome.OPEN, gate=None) -> AccessEvent:
    return AccessEvent(
        event_id=f"{gate or estate + '-G1'}:{n}",
        gate_id=gate or f"{estate}-G1",
        estate_id=estate,
        direction=direction,
        occurred_at=MIDNIGHT + timedelta(minutes=minutes),
        method=AccessMethod.FACE,
        outcome=outcome,
        reason="matched",
        person_id=person,
    )


def _approval(world: World, approval_id: str, **changes) -> FlowQueryApproval:
    fields = dict(
        approval_id=approval_id,
        granted_to=OFFICER,
        approved_by="cdc-director",
        case_ref="宁卫疾控〔2026〕88号",
        purpose="密接排查",
        estates=frozenset({world.near_estate}),
        grids=frozenset({world.grid}),
        persons=frozenset({world.index}),
        window_from=MIDNIGHT - timedelta(days=2),
        window_to=MIDNIGHT + timedelta(days=2),
        expires_at=T0 + timedelta(days=7),
        export_allowed=False,
        approved_at=T0,
    )
    fields.update(changes)
    return FlowQueryApproval(**fields)


@pytest.fixture
def world(moto_server):
    tag = uuid.uuid4().hex[:8]
    w = World(tag, f"GR-{tag}", f"EA-{tag}", f"EB-{tag}", f"EX-{tag}", f"P-index-{tag}", f"A-{tag}")
    places = PlaceRepository()
    other_grid = f"GR-other-{tag}"
    for estate, grid in ((w.near_estate, other_grid), (w.grid_estate, w.grid), (w.foreign_estate, f"GR-x-{tag}")):
        places.add(Place(estate, PlaceKind.ESTATE, "测试小区", grid, {PlaceKind.GRID: grid}))
    events = EventRepository()
    for n, event in enumerate(
        [
            _event(1, w.near_estate, w.index, -10),  # 23:50 UTC on 12-01
            _event(2, w.near_estate, f"P-near-{tag}", 15),  # 00:15 UTC on 12-02: 25 min later, same gate
            _event(3, w.near_estate, f"P-far-{tag}", 65),  # 35 min after the exit: not a co-passer
            _event(4, w.near_estate, f"P-denied-{tag}", -9, outcome=Outcome.DENY),
            _event(5, w.near_estate, w.index, 30, Direction.OUT, Outcome.RECORDED),
            _event(6, w.grid_estate, w.index, 60),
            _event(7, w.foreign_estate, w.index, 120),
        ]
    ):
        assert events.append(event), n
    with clock.pinned(T0):
        FlowApprovalRepository().add(_approval(w, w.approval_id))
        yield w


def _as(client, path: str, roles=("public_health",), subject=OFFICER):
    token = issue_token(subject, list(roles))
    response = client.http.get(path, headers={"Authorization": f"Bearer {token}"})
    body = json.loads(response.body) if "json" in response.headers.get("Content-Type", "") else response.body
    return response, body


def _window(**extra):
    return {
        "from": (MIDNIGHT - timedelta(hours=1)).isoformat(),
        "to": (MIDNIGHT + timedelta(hours=3)).isoformat(),
        **extra,
    }


def _audits(approval_id: str) -> list:
    return [r for r in AuditLog().about(f"flow_query#{approval_id}") if r.action == "public_health.flow_query"]


def test_only_the_public_health_role_may_query(client, world):
    paths = [
        world.path(f"/estates/{world.near_estate}/passages", **_window()),
        world.path(f"/persons/{world.index}/trace", **_window(minutes=10)),
        world.path("/flows", **_window()),
    ]
    for path in paths:
        for roles in (("data_center",), ("grid_worker",), ("resident",), ("correction_staff",)):
            response, body = _as(client, path, roles)
            assert response.status_code == 403 and is_problem(response), (path, roles)
            assert body["code"] == "forbidden"
        assert client.http.get(path).status_code == 401
    assert _audits(world.approval_id) == []


def test_who_entered_or_left_an_estate_and_the_audit_counts_rows_never_keeps_them(client, world):
    response, body = _as(client, world.path(f"/estates/{world.near_estate}/passages", **_window()))
    assert response.status_code == 200, body
    assert [(p["person_id"], p["direction"]) for p in body["passages"]] == [
        (world.index, "in"),
        (f"P-near-{world.tag}", "in"),
        (world.index, "out"),
        (f"P-far-{world.tag}", "in"),
    ]
    assert body["case_ref"] == "宁卫疾控〔2026〕88号" and body["export_allowed"] is False
    [audit] = _audits(world.approval_id)
    assert audit.actor == OFFICER and audit.request_id == response.headers["X-Request-Id"]
    assert audit.detail["rows"] == 4 and audit.detail["outcome"] == "answered"
    assert audit.detail["estate_id"] == world.near_estate
    assert "P-near" not in json.dumps(audit.detail, ensure_ascii=False)


def test_queries_outside_the_approval_are_refused_with_their_code_and_audited(client, world):
    refused = [
        (world.path(f"/estates/{world.foreign_estate}/passages", **_window()), OFFICER, 403, "outside_approval_scope"),
        (
            world.path(
                f"/estates/{world.near_estate}/passages",
                **{"from": (MIDNIGHT - timedelta(days=3)).isoformat(), "to": MIDNIGHT.isoformat()},
            ),
            OFFICER,
            403,
            "outside_approval_window",
        ),
        (
            world.path(f"/estates/{world.near_estate}/passages", **_window()),
            "another-officer",
            403,
            "approval_not_yours",
        ),
        (
            world.path(f"/estates/{world.near_estate}/passages", **_window(format="csv")),
            OFFICER,
            403,
            "export_not_approved",
        ),
        (
            world.path(f"/persons/P-near-{world.tag}/trace", **_window(minutes=10)),
            OFFICER,
            403,
            "person_not_in_approval",
        ),
        (world.path(f"/persons/{world.index}/trace", **_window(minutes=31)), OFFICER, 400, "bad_minutes"),
        (world.path("/flows", **{"from": "yesterday", "to": "now"}), OFFICER, 400, "bad_range"),
        (
            world.path("/flows", **{"from": MIDNIGHT.isoformat(), "to": (MIDNIGHT + timedelta(days=15)).isoformat()}),
            OFFICER,
            400,
            "window_too_long",
        ),
        (f"/public-health/approvals/A-none-{world.tag}/flows?{urlencode(_window())}", OFFICER, 404, "approval_unknown"),
    ]
    for path, officer, status, code in refused:
        response, body = _as(client, path, subject=officer)
        assert (response.status_code, body.get("code")) == (status, code), path
        assert is_problem(response)
    outcomes = sorted(a.detail["outcome"] for a in _audits(world.approval_id))
    # every refusal after the window was read is audited on its approval (bad_range comes before)
    assert outcomes == sorted(
        [
            "outside_approval_scope",
            "outside_approval_window",
            "approval_not_yours",
            "export_not_approved",
            "person_not_in_approval",
            "bad_minutes",
            "window_too_long",
        ]
    )


def test_an_expired_approval_answers_nothing(client, world):
    with clock.pinned(T0 + timedelta(days=7)):
        response, body = _as(client, world.path("/flows", **_window()))
    assert (response.status_code, body["code"]) == (403, "approval_expired")


def test_the_export_leaves_as_csv_only_when_the_approval_allows_it(client, world):
    exporting = f"{world.approval_id}-x"
    FlowApprovalRepository().add(_approval(world, exporting, export_allowed=True))
    path = (
        f"/public-health/approvals/{exporting}/estates/{world.near_estate}/passages?{urlencode(_window(format='csv'))}"
    )
    response, body = _as(client, path)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body if isinstance(body, str) else body.decode())))
    assert [r["person_id"] for r in rows] == [world.index, f"P-near-{world.tag}", world.index, f"P-far-{world.tag}"]
    [audit] = _audits(exporting)
    assert audit.detail["export"] is True and audit.detail["rows"] == 4


def test_a_persons_estates_and_co_passers_across_utc_midnight(client, world):
    response, body = _as(client, world.path(f"/persons/{world.index}/trace", **_window(minutes=30)))
    assert response.status_code == 200, body
    assert [(e["estate_id"], e["entries"], e["exits"]) for e in body["estates"]] == [
        (world.near_estate, 1, 1),
        (world.grid_estate, 1, 0),
    ]
    assert [(c["person_id"], c["minutes_apart"]) for c in body["co_passages"]] == [(f"P-near-{world.tag}", 15.0)]
    assert body["passages_outside_scope"] == 1
    assert world.foreign_estate not in json.dumps(body)


def test_daily_flows_between_estates_and_grids(client, world):
    response, body = _as(client, world.path("/flows", **_window()))
    assert response.status_code == 200, body
    # 23:50 UTC is 07:50 on 12-02 in Nanjing: every passage is on one city day
    assert {(r["estate_id"], r["day"], r["entries"], r["exits"]) for r in body["estates"]} == {
        (world.near_estate, "2026-12-02", 3, 1),
        (world.grid_estate, "2026-12-02", 1, 0),
    }
    assert [(f["from_estate"], f["to_estate"], f["to_grid"], f["people"]) for f in body["between_estates"]] == [
        (world.near_estate, world.grid_estate, world.grid, 1)
    ]
    assert [(g["from_grid"], g["to_grid"]) for g in body["between_grids"]] == [(f"GR-other-{world.tag}", world.grid)]

"""The epidemic flow queries over fakes (issue 18 point 5, paper §3.3.1): approval, scope, audit."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from gridgate.domain.flow_query_records import FlowQueryApproval
from gridgate.domain.model import AccessEvent, AccessMethod, Direction, Outcome, Place, PlaceKind
from gridgate.public_health.approval_rules import check_flow_approval
from gridgate.public_health.flow_queries import AUDIT_ACTION, FlowQueries
from gridgate.public_health.flow_tables import passages_csv
from gridgate.refusals import Conflict, Invalid, NotAllowed, NotFound

from .fakes import FakeAudit

pytestmark = pytest.mark.fast

NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
DAY1 = datetime(2026, 3, 10, 0, 0, tzinfo=UTC)  # 08:00 in Nanjing
OFFICER, APPROVER = "cdc-officer-1", "cdc-director"


class FakeApprovals:
    def __init__(self) -> None:
        self.approvals: dict[str, FlowQueryApproval] = {}

    def add(self, approval: FlowQueryApproval) -> bool:
        if approval.approval_id in self.approvals:
            return False
        self.approvals[approval.approval_id] = approval
        return True

    def get(self, approval_id: str) -> FlowQueryApproval | None:
        return self.approvals.get(approval_id)


class FakeEvents:
    def __init__(self, events: list[AccessEvent]) -> None:
        self.events = events

    def at_estate(self, estate_id, start, end):
        return [e for e in self.events if e.estate_id == estate_id and start <= e.occurred_at < end]

    def of_person(self, person_id, start, end):
        return [e for e in self.events if e.person_id == person_id and start <= e.occurred_at < end]


class FakePlaces:
    #: estates EA, EB in grid GR1; EC in grid GR2; EX in grid GRX (never in scope)
    GRID = {"EA": "GR1", "EB": "GR1", "EC": "GR2", "EX": "GRX"}

    def get(self, place_id):
        grid = self.GRID.get(place_id)
        return Place(place_id, PlaceKind.ESTATE, place_id, grid, {PlaceKind.GRID: grid}) if grid else None

    def children(self, parent_id):
        return [p for p in (self.get(e) for e, g in self.GRID.items() if g == parent_id) if p]


_serial = iter(range(10**6))


def passage(estate, person, minutes, direction=Direction.IN, outcome=Outcome.OPEN, pass_id=None, gate=None):
    return AccessEvent(
        event_id=f"ev-{next(_serial)}",
        gate_id=gate or f"{estate}-G1",
        estate_id=estate,
        direction=direction,
        occurred_at=DAY1 + timedelta(minutes=minutes),
        method=AccessMethod.VISITOR_PASS if pass_id else AccessMethod.RESIDENT_QR,
        outcome=outcome,
        reason="ok",
        person_id=person,
        pass_id=pass_id,
    )


def approval(**changes) -> FlowQueryApproval:
    base = FlowQueryApproval(
        approval_id="A-1",
        granted_to=OFFICER,
        approved_by=APPROVER,
        case_ref="宁卫疾控〔2026〕17号",
        purpose="密接排查",
        estates=frozenset({"EA"}),
        grids=frozenset({"GR2"}),
        persons=frozenset({"INDEX"}),
        window_from=DAY1 - timedelta(days=3),
        window_to=DAY1 + timedelta(days=4),
        expires_at=NOW + timedelta(days=5),
        export_allowed=False,
        approved_at=NOW - timedelta(days=1),
    )
    return replace(base, **changes)


EVENTS = [
    passage("EA", "INDEX", 0),  # the index person enters EA at gate EA-G1
    passage("EA", "NEAR", 10),  # 10 min later, same gate
    passage("EA", "FAR", 45),  # 45 min later, same gate: outside ±30
    passage("EA", "OTHERGATE", 5, gate="EA-G2"),  # same time, another gate
    passage("EA", None, 12, pass_id="V-1"),  # a visitor's pass, same gate
    passage("EA", "DENIED", 3, outcome=Outcome.DENY),  # refused: no passage
    passage("EA", "INDEX", 120, direction=Direction.OUT, outcome=Outcome.RECORDED),
    passage("EC", "INDEX", 150),  # EC is in scope through grid GR2
    passage("EX", "INDEX", 300),  # EX is outside the approval's scope
    passage("EA", "MOVER", 30, direction=Direction.OUT, outcome=Outcome.RECORDED),
    passage("EC", "MOVER", 90),
]


def service(events=EVENTS, *approvals: FlowQueryApproval, clock=NOW):
    store, audit = FakeApprovals(), FakeAudit()
    for a in approvals or (approval(),):
        store.add(a)
    return FlowQueries(store, FakeEvents(events), FakePlaces(), audit, clock=lambda: clock), audit


WINDOW = (DAY1 - timedelta(hours=1), DAY1 + timedelta(days=1))


def test_an_approval_needs_approver_case_scope_and_bounded_window_and_validity():
    check_flow_approval(approval())
    for changes, code in (
        ({"approved_by": OFFICER}, "approval_self_granted"),
        ({"case_ref": " "}, "invalid_field"),
        ({"estates": frozenset(), "grids": frozenset()}, "approval_scope_missing"),
        ({"window_to": DAY1 - timedelta(days=4)}, "approval_period_invalid"),
        ({"window_to": DAY1 + timedelta(days=26)}, "approval_too_long"),
        ({"expires_at": NOW + timedelta(days=31)}, "approval_too_long"),
        ({"window_from": DAY1.replace(tzinfo=None)}, "bad_range"),
    ):
        with pytest.raises(Invalid) as refused:
            check_flow_approval(approval(**changes))
        assert refused.value.code == code, changes


def test_recording_an_approval_stamps_the_clock_audits_and_never_overwrites():
    queries, audit = service(EVENTS, approval(approval_id="other"))
    recorded = queries.record_approval(approval(approved_at=datetime(2000, 1, 1, tzinfo=UTC)))
    assert recorded.approved_at == NOW
    assert audit.records == [(APPROVER, "public_health.approval.recorded", "flow_query#A-1")]
    with pytest.raises(Conflict):
        queries.record_approval(approval())


def test_who_entered_or_left_an_estate_passages_only_and_the_audit_counts_without_rows():
    queries, audit = service()
    answer = queries.estate_passages(OFFICER, "A-1", "EA", *WINDOW, request_id="r-1")
    seen = [(row["person_id"], row["pass_id"], row["direction"]) for row in answer["passages"]]
    assert seen == [
        ("INDEX", None, "in"),
        ("OTHERGATE", None, "in"),
        ("NEAR", None, "in"),
        (None, "V-1", "in"),
        ("MOVER", None, "out"),
        ("FAR", None, "in"),
        ("INDEX", None, "out"),
    ]
    assert audit.records == [(OFFICER, AUDIT_ACTION, "flow_query#A-1")]
    [detail] = audit.details
    assert detail["rows"] == 7 and detail["outcome"] == "answered" and detail["estate_id"] == "EA"
    assert "INDEX" not in str(detail) and "NEAR" not in str(detail)


def test_estates_in_a_named_grid_are_in_scope_and_others_refused():
    queries, _ = service()
    assert [r["person_id"] for r in queries.estate_passages(OFFICER, "A-1", "EC", *WINDOW)["passages"]] == [
        "MOVER",
        "INDEX",
    ]
    for estate in ("EB", "EX", "E-unknown"):
        with pytest.raises(NotAllowed) as refused:
            queries.estate_passages(OFFICER, "A-1", estate, *WINDOW)
        assert refused.value.code == "outside_approval_scope"


@pytest.mark.parametrize(
    "caller, approval_id, window, clock, kind, code",
    [
        ("someone-else", "A-1", WINDOW, NOW, NotAllowed, "approval_not_yours"),
        (OFFICER, "A-missing", WINDOW, NOW, NotFound, "approval_unknown"),
        (OFFICER, "A-1", WINDOW, NOW + timedelta(days=5), NotAllowed, "approval_expired"),
        (OFFICER, "A-1", (DAY1 - timedelta(days=4), DAY1), NOW, NotAllowed, "outside_approval_window"),
        (OFFICER, "A-1", (DAY1, DAY1 + timedelta(days=15)), NOW, Invalid, "window_too_long"),
        (OFFICER, "A-1", (DAY1, DAY1), NOW, Invalid, "bad_range"),
    ],
)
def test_a_query_outside_its_approval_is_refused_and_still_audited(caller, approval_id, window, clock, kind, code):
    queries, audit = service(EVENTS, approval(), clock=clock)
    with pytest.raises(kind) as refused:
        queries.estate_passages(caller, approval_id, "EA", *window)
    assert refused.value.code == code
    assert audit.records == [(caller, AUDIT_ACTION, f"flow_query#{approval_id}")]
    assert audit.details[0]["outcome"] == code and audit.details[0]["rows"] == 0


def test_results_are_exported_only_when_the_approval_allows_it():
    queries, audit = service()
    with pytest.raises(NotAllowed) as refused:
        queries.estate_passages(OFFICER, "A-1", "EA", *WINDOW, export=True)
    assert refused.value.code == "export_not_approved"
    exporting, _ = service(EVENTS, approval(export_allowed=True))
    rows = exporting.estate_passages(OFFICER, "A-1", "EA", *WINDOW, export=True)["passages"]
    lines = passages_csv(rows).splitlines()
    assert lines[0] == "occurred_at,direction,gate_id,method,person_id,pass_id"
    assert len(lines) == 8 and lines[1].endswith(",in,EA-G1,resident_qr,INDEX,")


def test_a_named_persons_estates_and_who_passed_the_same_gate_within_n_minutes():
    queries, audit = service()
    answer = queries.person_trace(OFFICER, "A-1", "INDEX", *WINDOW, 30)
    assert [(e["estate_id"], e["grid_id"], e["entries"], e["exits"]) for e in answer["estates"]] == [
        ("EA", "GR1", 1, 1),
        ("EC", "GR2", 1, 0),
    ]
    near = sorted((row["person_id"] or row["pass_id"], row["minutes_apart"]) for row in answer["co_passages"])
    # NEAR (10 min) and the visitor (12 min) at EA-G1; MOVER left EA-G1 30 min after INDEX came in
    # and 90 min before INDEX left; at EC MOVER came in 60 min before INDEX: too far
    assert near == [("MOVER", 30.0), ("NEAR", 10.0), ("V-1", 12.0)]
    assert answer["passages_outside_scope"] == 1  # EX: counted, never shown
    assert "EX" not in str(answer["estates"]) + str(answer["co_passages"])
    assert audit.details[0]["rows"] == 5 and audit.details[0]["person_id"] == "INDEX"
    tighter = queries.person_trace(OFFICER, "A-1", "INDEX", *WINDOW, 11)
    assert sorted(row["person_id"] or row["pass_id"] for row in tighter["co_passages"]) == ["NEAR"]


def test_tracing_needs_a_person_the_approval_names_and_at_most_thirty_minutes():
    queries, _ = service()
    with pytest.raises(NotAllowed) as refused:
        queries.person_trace(OFFICER, "A-1", "NEAR", *WINDOW, 10)
    assert refused.value.code == "person_not_in_approval"
    for minutes in (0, 31, -5):
        with pytest.raises(Invalid) as bad:
            queries.person_trace(OFFICER, "A-1", "INDEX", *WINDOW, minutes)
        assert bad.value.code == "bad_minutes"


def test_daily_flows_between_estates_and_grids_in_the_approvals_scope():
    queries, _ = service()
    answer = queries.daily_flows(OFFICER, "A-1", *WINDOW)
    day = "2026-03-10"
    by_estate = {(r["day"], r["estate_id"]): (r["entries"], r["exits"], r["people"]) for r in answer["estates"]}
    # EA: INDEX, OTHERGATE, NEAR, V-1 (no person), FAR in; MOVER and INDEX out; EX is out of scope
    assert by_estate == {(day, "EA"): (5, 2, 5), (day, "EC"): (2, 0, 2)}
    assert [
        (r["from_estate"], r["to_estate"], r["from_grid"], r["to_grid"], r["people"]) for r in answer["between_estates"]
    ] == [("EA", "EC", "GR1", "GR2", 2)]
    assert answer["between_grids"] == [{"day": day, "from_grid": "GR1", "to_grid": "GR2", "people": 2}]


def test_a_city_day_is_nanjings_day_not_utcs():
    late = [passage("EA", "P", 15 * 60 + 59), passage("EC", "P", 16 * 60 + 1)]  # 23:59 and 00:01 local
    queries, _ = service(late)
    answer = queries.daily_flows(OFFICER, "A-1", DAY1, DAY1 + timedelta(days=2))
    assert [(r["day"], r["estate_id"]) for r in answer["estates"]] == [("2026-03-10", "EA"), ("2026-03-11", "EC")]
    assert [r["day"] for r in answer["between_estates"]] == ["2026-03-11"]

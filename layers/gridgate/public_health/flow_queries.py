"""The epidemic flow queries (paper §3.3.1): each one checked against its approval and audited.

Why every query goes through one approval: the gate logs are movements of identified people, so
a query is lawful only for a named case and purpose, inside the estates, grids, people and time
window someone approved, and only while the approval lasts (PIPL Arts. 13, 28; the paper's
§3.3.1 use). Each query, answered or refused, leaves an audit record: who asked, on which
approval, what was asked and how many rows came back, never the rows themselves. Results leave
the system as files only when the approval allows export (`export_not_approved` otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Protocol

from gridgate.clock import city_clock
from gridgate.clock import now as city_now
from gridgate.domain.flow_query_records import FlowQueryApproval
from gridgate.domain.model import AccessEvent, AuditRecord, Place, PlaceKind
from gridgate.public_health.approval_rules import (
    authorise,
    check_flow_approval,
    check_minutes,
    check_window,
    estate_in_scope,
)
from gridgate.public_health.flow_tables import (
    DailyFlows,
    co_passages,
    daily_flows,
    estates_visited,
    passage_rows,
    passages,
)
from gridgate.refusals import Conflict, NotAllowed, NotFound, Refused

AUDIT_ACTION = "public_health.flow_query"


class Approvals(Protocol):
    def add(self, approval: FlowQueryApproval) -> bool: ...
    def get(self, approval_id: str) -> FlowQueryApproval | None: ...


class FlowEvents(Protocol):
    def at_estate(self, estate_id: str, start: datetime, end: datetime) -> list[AccessEvent]: ...
    def of_person(self, person_id: str, start: datetime, end: datetime) -> list[AccessEvent]: ...


class Places(Protocol):
    def get(self, place_id: str) -> Place | None: ...
    def children(self, parent_id: str) -> list[Place]: ...


class Audit(Protocol):
    def record(
        self, actor: str, action: str, subject: str, *, request_id: str | None = None, detail: dict | None = None
    ) -> AuditRecord: ...


def _subject(approval_id: str) -> str:
    return f"flow_query#{approval_id}"


class FlowQueries:
    def __init__(
        self,
        approvals: Approvals,
        events: FlowEvents,
        places: Places,
        audit: Audit,
        clock: Callable[[], datetime] = city_now,
        local_date: Callable[[datetime], date] | None = None,
    ) -> None:
        self._approvals = approvals
        self._events = events
        self._places = places
        self._audit = audit
        self._clock = clock
        self._local_date = local_date or (lambda at: city_clock().local_date(at))

    # --- approvals -------------------------------------------------------------------------------

    def record_approval(self, approval: FlowQueryApproval) -> FlowQueryApproval:
        """Check and store an approval given now (its `approved_at` is the clock's)."""
        approval = replace(approval, approved_at=self._clock())
        check_flow_approval(approval)
        if not self._approvals.add(approval):
            raise Conflict("approval_exists", field="approval_id")
        self._audit.record(
            approval.approved_by,
            "public_health.approval.recorded",
            _subject(approval.approval_id),
            detail={
                "granted_to": approval.granted_to,
                "case_ref": approval.case_ref,
                "estates": sorted(approval.estates),
                "grids": sorted(approval.grids),
                "persons": len(approval.persons),
                "window_from": approval.window_from.isoformat(),
                "window_to": approval.window_to.isoformat(),
                "expires_at": approval.expires_at.isoformat(),
                "export_allowed": approval.export_allowed,
            },
        )
        return approval

    # --- the three queries -----------------------------------------------------------------------

    def estate_passages(
        self,
        caller: str,
        approval_id: str,
        estate_id: str,
        start: datetime,
        end: datetime,
        *,
        export: bool = False,
        request_id: str | None = None,
    ) -> dict:
        """Who entered or left one estate in [start, end)."""
        asked = {"query": "estate_passages", "estate_id": estate_id, **_window(start, end), "export": export}

        def answer(approval: FlowQueryApproval) -> tuple[dict, int]:
            if export and not approval.export_allowed:
                raise NotAllowed("export_not_approved")
            self._require_estate(approval, estate_id)
            rows = passage_rows(self._events.at_estate(estate_id, start, end))
            return {"estate_id": estate_id, "passages": rows}, len(rows)

        return self._audited(caller, approval_id, start, end, asked, answer, request_id)

    def person_trace(
        self,
        caller: str,
        approval_id: str,
        person_id: str,
        start: datetime,
        end: datetime,
        minutes: int,
        *,
        request_id: str | None = None,
    ) -> dict:
        """Which estates of the approval's scope a named person passed, and who passed the same gate
        within ±`minutes` of them. Passages outside the scope are counted, never shown."""
        asked = {"query": "person_trace", "person_id": person_id, **_window(start, end), "minutes": minutes}

        def answer(approval: FlowQueryApproval) -> tuple[dict, int]:
            check_minutes(minutes)
            if person_id not in approval.persons:
                raise NotAllowed("person_not_in_approval")
            grids = self._grids()
            own = passages(self._events.of_person(person_id, start, end))
            inside = [e for e in own if estate_in_scope(approval, e.estate_id, grids(e.estate_id))]
            around = [
                e
                for estate_id, low, high in _spans(inside, timedelta(minutes=minutes))
                for e in self._events.at_estate(estate_id, low, high)
            ]
            estates = estates_visited(inside, grids)
            near = co_passages(person_id, inside, around, minutes)
            body = {
                "person_id": person_id,
                "minutes": minutes,
                "estates": estates,
                "co_passages": near,
                "passages_outside_scope": len(own) - len(inside),
            }
            return body, len(estates) + len(near)

        return self._audited(caller, approval_id, start, end, asked, answer, request_id)

    def daily_flows(
        self, caller: str, approval_id: str, start: datetime, end: datetime, *, request_id: str | None = None
    ) -> dict:
        """Per city day: each estate's entries and exits, movements between estates and between grids."""
        asked = {"query": "daily_flows", **_window(start, end)}

        def answer(approval: FlowQueryApproval) -> tuple[dict, int]:
            grids = self._grids()
            events = [
                e for estate_id in self._estates_of(approval) for e in self._events.at_estate(estate_id, start, end)
            ]
            flows = daily_flows(events, grids, self._local_date)
            body = {
                "estates": flows.estates,
                "between_estates": flows.between_estates,
                "between_grids": flows.between_grids,
                "place_names": self._place_names(flows),
            }
            return body, flows.rows()

        return self._audited(caller, approval_id, start, end, asked, answer, request_id)

    # --- checks and audit ------------------------------------------------------------------------

    def _audited(
        self,
        caller: str,
        approval_id: str,
        start: datetime,
        end: datetime,
        asked: dict,
        answer: Callable[[FlowQueryApproval], tuple[dict, int]],
        request_id: str | None,
    ) -> dict:
        """Run `answer` under the approval, auditing the query either way (rows counted, never kept)."""
        try:
            check_window(start, end)
            approval = self._approvals.get(approval_id)
            if approval is None:
                raise NotFound("approval_unknown")
            authorise(approval, caller, self._clock(), start, end)
            body, rows = answer(approval)
        except Refused as refused:
            self._audit.record(
                caller,
                AUDIT_ACTION,
                _subject(approval_id),
                request_id=request_id,
                detail={**asked, "outcome": refused.code, "rows": 0},
            )
            raise
        self._audit.record(
            caller,
            AUDIT_ACTION,
            _subject(approval_id),
            request_id=request_id,
            detail={**asked, "outcome": "answered", "rows": rows},
        )
        return {
            "approval_id": approval.approval_id,
            "case_ref": approval.case_ref,
            "export_allowed": approval.export_allowed,
            **_window(start, end),
            **body,
        }

    def _place_names(self, flows: DailyFlows) -> dict[str, str]:
        """The name of every estate and grid the tables name: officers read places by name, and the
        page shows the id only beside it."""
        ids = {row[key] for row in flows.estates for key in ("estate_id", "grid_id")}
        ids |= {
            row[key] for row in flows.between_estates for key in ("from_estate", "to_estate", "from_grid", "to_grid")
        }
        ids |= {row[key] for row in flows.between_grids for key in ("from_grid", "to_grid")}
        places = (self._places.get(place_id) for place_id in sorted(i for i in ids if i))
        return {place.place_id: place.name for place in places if place is not None}

    def _grids(self) -> Callable[[str], str | None]:
        """The grid of an estate, each estate read once per query."""
        known: dict[str, str | None] = {}

        def grid_of(estate_id: str) -> str | None:
            if estate_id not in known:
                place = self._places.get(estate_id)
                known[estate_id] = place.ancestor(PlaceKind.GRID) if place else None
            return known[estate_id]

        return grid_of

    def _require_estate(self, approval: FlowQueryApproval, estate_id: str) -> None:
        if not estate_in_scope(approval, estate_id, self._grids()(estate_id)):
            raise NotAllowed("outside_approval_scope")

    def _estates_of(self, approval: FlowQueryApproval) -> list[str]:
        """The estates the approval names, and those of the grids it names."""
        estates = set(approval.estates)
        for grid_id in approval.grids:
            estates.update(p.place_id for p in self._places.children(grid_id) if p.kind == PlaceKind.ESTATE)
        return sorted(estates)


def _window(start: datetime, end: datetime) -> dict:
    return {"from": start.isoformat(), "to": end.isoformat()}


def _spans(events: list[AccessEvent], margin: timedelta) -> list[tuple[str, datetime, datetime]]:
    """Per estate, the merged windows of ±`margin` around the events (one read for overlapping ones)."""
    spans: list[tuple[str, datetime, datetime]] = []
    for event in sorted(events, key=lambda e: (e.estate_id, e.occurred_at)):
        low, high = event.occurred_at - margin, event.occurred_at + margin + timedelta(microseconds=1)
        if spans and spans[-1][0] == event.estate_id and low <= spans[-1][2]:
            spans[-1] = (event.estate_id, spans[-1][1], max(high, spans[-1][2]))
        else:
            spans.append((event.estate_id, low, high))
    return spans

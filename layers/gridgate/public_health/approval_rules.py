"""The checks of a flow-query approval before it is stored, and of each query against its approval.

Why refusals with their own codes: a public-health officer must learn exactly which limit a
query broke (another estate, a longer window, an expired approval) and ask for an approval that
covers it, instead of the system quietly returning less.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from gridgate.domain.flow_query_records import (
    MAX_APPROVAL_VALIDITY_DAYS,
    MAX_APPROVAL_WINDOW_DAYS,
    MAX_CO_PASSAGE_MINUTES,
    MAX_QUERY_DAYS,
    FlowQueryApproval,
)
from gridgate.refusals import Invalid, NotAllowed

#: Longest free-text field of an approval (an id, a case reference); a purpose may be longer.
MAX_TEXT = 64
MAX_PURPOSE = 200
#: Most places (estates + grids) and people one approval may name.
MAX_SCOPE = 200


def _text(value: str, field: str, limit: int = MAX_TEXT) -> None:
    if not value or not value.strip() or len(value) > limit or not value.isprintable():
        raise Invalid("invalid_field", field=field, max=limit)


def _ids(values: Iterable[str], field: str) -> None:
    values = list(values)
    if len(values) > MAX_SCOPE:
        raise Invalid("invalid_field", reason="too_many", field=field, max=MAX_SCOPE)
    for value in values:
        _text(value, field)


def _aware(moment: datetime, field: str) -> None:
    if moment.tzinfo is None:
        raise Invalid("bad_range", reason="no_offset", field=field)


def check_flow_approval(approval: FlowQueryApproval) -> None:
    """Refuse an approval without approver, case, purpose or scope, or wider than the bounds."""
    for value, field in (
        (approval.approval_id, "approval_id"),
        (approval.granted_to, "granted_to"),
        (approval.approved_by, "approved_by"),
        (approval.case_ref, "case_ref"),
    ):
        _text(value, field)
    _text(approval.purpose, "purpose", MAX_PURPOSE)
    if approval.approved_by == approval.granted_to:
        raise Invalid("approval_self_granted", field="approved_by")
    if not approval.estates and not approval.grids:
        raise Invalid("approval_scope_missing", field="estates")
    _ids(approval.estates, "estates")
    _ids(approval.grids, "grids")
    _ids(approval.persons, "persons")
    for moment, field in ((approval.window_from, "window_from"), (approval.window_to, "window_to")):
        _aware(moment, field)
    _aware(approval.expires_at, "expires_at")
    if approval.window_to <= approval.window_from:
        raise Invalid("approval_period_invalid", field="window_to")
    if approval.window_to - approval.window_from > timedelta(days=MAX_APPROVAL_WINDOW_DAYS):
        raise Invalid("approval_too_long", reason="window", field="window_to", days=MAX_APPROVAL_WINDOW_DAYS)
    if (
        not approval.approved_at
        < approval.expires_at
        <= approval.approved_at + timedelta(days=MAX_APPROVAL_VALIDITY_DAYS)
    ):
        raise Invalid(
            "approval_too_long",
            reason="validity",
            field="expires_at",
            days=MAX_APPROVAL_VALIDITY_DAYS,
        )


def check_window(start: datetime, end: datetime) -> None:
    """A query's own window: aware times, in order, at most `MAX_QUERY_DAYS` long."""
    _aware(start, "from")
    _aware(end, "to")
    if end <= start:
        raise Invalid("bad_range", reason="order", field="to")
    if end - start > timedelta(days=MAX_QUERY_DAYS):
        raise Invalid("window_too_long", field="to", days=MAX_QUERY_DAYS)


def check_minutes(minutes: int) -> None:
    if not 1 <= minutes <= MAX_CO_PASSAGE_MINUTES:
        raise Invalid("bad_minutes", field="minutes", max=MAX_CO_PASSAGE_MINUTES)


def authorise(approval: FlowQueryApproval, caller: str, at: datetime, start: datetime, end: datetime) -> None:
    """Refuse a query the approval does not cover: another officer's, an expired one, another window."""
    if approval.granted_to != caller:
        raise NotAllowed("approval_not_yours")
    if not approval.usable(at):
        raise NotAllowed("approval_expired")
    if start < approval.window_from or end > approval.window_to:
        raise NotAllowed(
            "outside_approval_window",
            window_from=approval.window_from.isoformat(),
            window_to=approval.window_to.isoformat(),
        )


def estate_in_scope(approval: FlowQueryApproval, estate_id: str, grid_id: str | None) -> bool:
    """An estate named by the approval, or one in a grid it names."""
    return estate_id in approval.estates or (grid_id is not None and grid_id in approval.grids)

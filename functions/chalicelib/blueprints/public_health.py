"""Epidemic flow queries (mounted at /public-health), paper §3.3.1: role ``public_health`` only.

Every route names the approval it rests on (recorded with ``gridgate compliance approve-flow-query``);
the service refuses a query outside its estates, grids, people or window, an expired approval or
another officer's, and audits every query (docs/privacy.md). Any other role gets 403 ``forbidden``.

- ``GET /public-health/approvals/{approval_id}/estates/{estate_id}/passages?from=&to=[&format=csv]``
  who entered or left the estate (CSV only when the approval allows export)
- ``GET /public-health/approvals/{approval_id}/persons/{person_id}/trace?from=&to=&minutes=``
  the estates the person passed and who passed the same gate within ±minutes (≤ 30)
- ``GET /public-health/approvals/{approval_id}/flows?from=&to=``
  per day: entries and exits per estate, movements between estates and between grids
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from chalice import Blueprint, Response

from chalicelib.auth import require
from chalicelib.bootstrap import api_services
from chalicelib.openapi import Param, documented
from chalicelib.public_health_schemas import DailyFlowsAnswer, EstatePassagesAnswer, PersonTraceAnswer
from chalicelib.request_context import current_request, request_id
from gridgate.domain.flow_query_records import MAX_CO_PASSAGE_MINUTES, MAX_QUERY_DAYS
from gridgate.public_health.flow_tables import passages_csv
from gridgate.refusals import Invalid

bp = Blueprint(__name__)
PUBLIC_HEALTH = "public_health"
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_WINDOW = (
    Param("from", "query", {"type": "string", "format": "date-time"}, "start, ISO time with offset", True),
    Param(
        "to",
        "query",
        {"type": "string", "format": "date-time"},
        f"end (exclusive), at most {MAX_QUERY_DAYS} days later",
        True,
    ),
)
_ERRORS = (400, 404)


def _officer() -> str:
    return require(current_request(), PUBLIC_HEALTH).subject


def _params() -> Mapping[str, str]:
    return current_request().query_params or {}


def _id(value: str, field: str) -> str:
    if not _ID.match(value):
        raise Invalid("bad_id", field=field)
    return value


def _instant(name: str) -> datetime:
    text = _params().get(name) or ""
    try:
        moment = datetime.fromisoformat(text) if len(text) <= 40 else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise Invalid("bad_range", reason="not_a_time", field=name)
    return moment


@bp.route("/approvals/{approval_id}/estates/{estate_id}/passages", methods=["GET"])
@documented(
    responses={200: (EstatePassagesAnswer, "text/csv")},
    errors=_ERRORS,
    role=PUBLIC_HEALTH,
    params=(*_WINDOW, Param("format", "query", {"type": "string", "enum": ["json", "csv"], "default": "json"})),
)
def estate_passages(approval_id, estate_id):
    """Who entered or left an estate in [from, to), under an approval (CSV only if it allows export)."""
    officer = _officer()
    form = _params().get("format", "json")
    if form not in ("json", "csv"):
        raise Invalid("bad_format", reason="json_csv", field="format")
    answer = api_services().flow_queries.estate_passages(
        officer,
        _id(approval_id, "approval_id"),
        _id(estate_id, "estate_id"),
        _instant("from"),
        _instant("to"),
        export=form == "csv",
        request_id=request_id(current_request()),
    )
    if form == "json":
        return answer
    return Response(
        body=passages_csv(answer["passages"]),
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="passages-{estate_id}.csv"',
        },
    )


@bp.route("/approvals/{approval_id}/persons/{person_id}/trace", methods=["GET"])
@documented(
    responses={200: PersonTraceAnswer},
    errors=_ERRORS,
    role=PUBLIC_HEALTH,
    params=(
        *_WINDOW,
        Param(
            "minutes",
            "query",
            {"type": "integer", "minimum": 1, "maximum": MAX_CO_PASSAGE_MINUTES},
            "± minutes at the same gate",
            True,
        ),
    ),
)
def person_trace(approval_id, person_id):
    """The estates a person the approval names passed in [from, to), and who passed the same gate within ±minutes."""
    officer = _officer()
    text = _params().get("minutes") or ""
    if not (text.isascii() and text.isdigit() and len(text) <= 3):
        raise Invalid("bad_minutes", field="minutes", max=MAX_CO_PASSAGE_MINUTES)
    return api_services().flow_queries.person_trace(
        officer,
        _id(approval_id, "approval_id"),
        _id(person_id, "person_id"),
        _instant("from"),
        _instant("to"),
        int(text),
        request_id=request_id(current_request()),
    )


@bp.route("/approvals/{approval_id}/flows", methods=["GET"])
@documented(responses={200: DailyFlowsAnswer}, errors=_ERRORS, role=PUBLIC_HEALTH, params=_WINDOW)
def daily_flows(approval_id):
    """Per city day in [from, to): each estate's entries and exits, movements between estates and between grids."""
    officer = _officer()
    return api_services().flow_queries.daily_flows(
        officer,
        _id(approval_id, "approval_id"),
        _instant("from"),
        _instant("to"),
        request_id=request_id(current_request()),
    )

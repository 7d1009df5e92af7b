"""Events out (mounted at /events): webhook subscriptions, their dead letters, and exports.

A property company (its estates in the token), a street office (its grids), a district's
civil-affairs or justice office (its districts) or the data center subscribes a URL to the kinds
of event its scope may receive (access events, findings, key-group alerts); deliveries are signed
webhooks (docs/events-out.md).

- ``POST   /events/subscriptions``                       subscribe (201, with the secret, once)
- ``GET    /events/subscriptions``                       my subscriptions
- ``DELETE /events/subscriptions/{subscription_id}``     stop deliveries
- ``GET    /events/subscriptions/{subscription_id}/dead-letters``  what could not be delivered
- ``GET    /events/export?from=&to=[&kind=access|finding|alert][&estate_ids=|grid_ids=|district_ids=]``
  events of a time range, as CSV
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from chalice import Blueprint, Response

from chalicelib.auth import require_any
from chalicelib.bootstrap import api_services
from chalicelib.events_out_schemas import (
    CreatedSubscription,
    DeadLettersView,
    DeadLetterView,
    SubscriptionRequest,
    SubscriptionsView,
)
from chalicelib.json_body import parse_body
from chalicelib.openapi import Param, documented
from chalicelib.paging import page_request, paged
from chalicelib.request_context import current_request, query_params
from gridgate.events_out.event_extract import event_record_columns, render_csv, scoped_finding_rows, scoped_rows
from gridgate.events_out.event_scope import ACCESS, KINDS, PLACE_FIELDS, scope_for
from gridgate.events_out.event_subscriptions import subscription_view
from gridgate.events_out.finding_records import finding_columns
from gridgate.refusals import Invalid
from gridgate.security.tokens import Principal

bp = Blueprint(__name__)
ROLES = ("property_company", "street_office", "civil_affairs_office", "justice_office", "data_center")
_ERRORS = (401, 403)


def _caller() -> Principal:
    return require_any(current_request(), ROLES)


@bp.route("/subscriptions", methods=["POST"], content_types=["application/json"])
@documented(
    request=SubscriptionRequest,
    responses={201: CreatedSubscription},
    errors=(400, *_ERRORS, 413),
    role="property_company",
)
def create_subscription():
    """Subscribe a URL to the events of my places (signed webhooks, at least once).

    Which kinds a scope may receive: docs/events-out.md (a property company: access events and
    findings, never key-group alerts: 403 `kind_not_allowed`). The answer carries the signing
    secret once; it cannot be read back.
    """
    principal = _caller()
    body, _ = parse_body(current_request(), SubscriptionRequest)
    subscription, secret = api_services().event_subscriptions.create(principal, body.model_dump(exclude_unset=True))
    return Response(body={**subscription_view(subscription), "secret": secret}, status_code=201)


@bp.route("/subscriptions", methods=["GET"])
@documented(responses={200: SubscriptionsView}, errors=_ERRORS, role="property_company", paged=True)
def list_subscriptions():
    """My active subscriptions, oldest first, a page at a time (never their secrets)."""
    request, principal = current_request(), _caller()
    page = page_request(request, principal.subject)
    shown, position = page.keyset(
        api_services().event_subscriptions.owned(principal),
        lambda s: [s.created_at.isoformat(), s.subscription_id],
    )
    return paged(request, page, {"subscriptions": [subscription_view(s) for s in shown]}, position)


@bp.route("/subscriptions/{subscription_id}", methods=["DELETE"])
@documented(responses={204: ""}, errors=(*_ERRORS, 404), role="property_company")
def delete_subscription(subscription_id):
    """Stop deliveries to one of my subscriptions."""
    api_services().event_subscriptions.delete(_caller(), subscription_id)
    return Response(body="", status_code=204)


@bp.route("/subscriptions/{subscription_id}/dead-letters", methods=["GET"])
@documented(responses={200: DeadLettersView}, errors=(*_ERRORS, 404), role="property_company", paged=True)
def dead_letters(subscription_id):
    """Events that could not be delivered to one of my subscriptions after the last retry, by
    event id, a page at a time."""
    request, principal = current_request(), _caller()
    page = page_request(request, principal.subject)
    letters, position = page.keyset(
        api_services().event_subscriptions.dead_letters(principal, subscription_id), lambda d: [d.event_id]
    )
    view = DeadLettersView(
        subscription_id=subscription_id,
        dead_letters=[
            DeadLetterView(event_id=d.event_id, attempts=d.attempts, last_error=d.last_error, payload=d.payload)
            for d in letters
        ],
    )
    return paged(request, page, view.model_dump(mode="json", exclude={"next_cursor"}), position)


def _instant(params: Mapping[str, str], name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(params.get(name) or "")
    except ValueError:
        raise Invalid("bad_range", reason="not_a_time", field=name) from None
    if moment.tzinfo is None:
        raise Invalid("bad_range", reason="no_offset", field=name)
    return moment


_TIME = {"type": "string", "format": "date-time", "maxLength": 40}
_PLACES = {"type": "string", "maxLength": 4096}
EXPORT_PARAMS = (
    Param("from", "query", _TIME, "start (inclusive), ISO time with offset, e.g. 2026-12-01T00:00:00+08:00", True),
    Param("to", "query", _TIME, "end (exclusive), ISO time with offset; at most 31 days after from", True),
    Param("kind", "query", {"type": "string", "enum": list(KINDS), "default": ACCESS}, "what to export"),
    Param("format", "query", {"type": "string", "enum": ["csv"], "default": "csv"}, "csv (Parquet: the CLI)"),
    *(Param(f, "query", _PLACES, "comma-separated places of the caller's scope") for f in PLACE_FIELDS),
)


@bp.route("/export", methods=["GET"])
@documented(responses={200: "text/csv"}, errors=(400, *_ERRORS), role="property_company", params=EXPORT_PARAMS)
def export_events():
    """The events of my places in [from, to) as CSV, scoped like a webhook.

    Query: `from`, `to` (ISO times with offset), `kind` (`access`, default; `finding`; `alert`:
    only what my scope may receive, else 403 `kind_not_allowed`), optional places of my scope
    (`estate_ids`, `grid_ids` or `district_ids`, comma-separated). Times are labelled `*_utc` /
    `*_local`. Parquet: `gridgate events export` (the API's zip carries no Parquet writer).
    """
    principal = _caller()
    request = current_request()
    params = query_params(request)
    form = params.get("format", "csv")
    if form != "csv":
        raise Invalid("bad_format", reason="api_export")
    kind = params.get("kind", ACCESS)
    if kind not in KINDS:
        raise Invalid("bad_kinds", kinds=", ".join(KINDS))
    places = {f: [p for p in params[f].split(",") if p] or None for f in PLACE_FIELDS if f in params}
    scope = scope_for(principal, places, [kind])
    start, end = _instant(params, "from"), _instant(params, "to")
    protector = api_services().protector
    if kind == ACCESS:
        body = render_csv(scoped_rows(scope, start, end, protector), event_record_columns(scope))
    else:
        body = render_csv(scoped_finding_rows(scope, kind, start, end, protector), finding_columns(scope))
    name = f"{kind}-{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}.{form}"
    return Response(
        body=body,
        status_code=200,
        headers={"Content-Type": "text/csv; charset=utf-8", "Content-Disposition": f'attachment; filename="{name}"'},
    )

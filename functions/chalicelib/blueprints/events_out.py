"""Events out (mounted at /events): webhook subscriptions, their dead letters, and exports.

A property company (role ``property_company``, its estates in the token) or the data center
(role ``data_center``) subscribes a URL; deliveries are signed webhooks (docs/events-out.md).

- ``POST   /events/subscriptions``                       subscribe (201, with the secret, once)
- ``GET    /events/subscriptions``                       my subscriptions
- ``DELETE /events/subscriptions/{subscription_id}``     stop deliveries
- ``GET    /events/subscriptions/{subscription_id}/dead-letters``  what could not be delivered
- ``GET    /events/export?from=&to=&format=csv|parquet[&estate_ids=E1,E2]``  events of a time range
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
from chalicelib.openapi import documented
from chalicelib.request_context import current_request, query_params, request_locale
from gridgate import i18n
from gridgate.events_out.event_extract import render_csv, scoped_rows
from gridgate.events_out.event_scope import scope_for
from gridgate.refusals import Invalid
from gridgate.security.tokens import Principal

bp = Blueprint(__name__)
ROLES = ("property_company", "data_center")
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
    """Subscribe a URL to the access events of my estates (signed webhooks, at least once).

    The answer carries the signing secret once; it cannot be read back.
    """
    principal = _caller()
    body, _ = parse_body(current_request(), SubscriptionRequest)
    subscription, secret = api_services().event_subscriptions.create(principal, body.model_dump(exclude_unset=True))
    return Response(body={**subscription.public(), "secret": secret}, status_code=201)


@bp.route("/subscriptions", methods=["GET"])
@documented(responses={200: SubscriptionsView}, errors=_ERRORS, role="property_company")
def list_subscriptions():
    """My active subscriptions (never their secrets)."""
    return {"subscriptions": [s.public() for s in api_services().event_subscriptions.owned(_caller())]}


@bp.route("/subscriptions/{subscription_id}", methods=["DELETE"])
@documented(responses={204: ""}, errors=(*_ERRORS, 404), role="property_company")
def delete_subscription(subscription_id):
    """Stop deliveries to one of my subscriptions."""
    api_services().event_subscriptions.delete(_caller(), subscription_id)
    return Response(body="", status_code=204)


@bp.route("/subscriptions/{subscription_id}/dead-letters", methods=["GET"])
@documented(responses={200: DeadLettersView}, errors=(*_ERRORS, 404), role="property_company")
def dead_letters(subscription_id):
    """Events that could not be delivered to one of my subscriptions after the last retry."""
    letters = api_services().event_subscriptions.dead_letters(_caller(), subscription_id)
    return DeadLettersView(
        subscription_id=subscription_id,
        dead_letters=[
            DeadLetterView(event_id=d.event_id, attempts=d.attempts, last_error=d.last_error, payload=d.payload)
            for d in letters
        ],
    ).model_dump(mode="json")


def _instant(params: Mapping[str, str], name: str, t: i18n.Translator) -> datetime:
    try:
        moment = datetime.fromisoformat(params.get(name) or "")
    except ValueError:
        raise Invalid("bad_range", t("error.export_bad_time", name=name)) from None
    if moment.tzinfo is None:
        raise Invalid("bad_range", t("error.export_no_offset", name=name))
    return moment


@bp.route("/export", methods=["GET"])
@documented(responses={200: "text/csv"}, errors=(400, *_ERRORS), role="property_company")
def export_events():
    """The access events of my estates in [from, to) as CSV, scoped like a webhook.

    Query: `from`, `to` (ISO times with offset), optional `estate_ids` (comma-separated). Columns
    are labelled `occurred_at_utc` / `occurred_at_local`. Parquet: `gridgate events export`
    (the API's zip carries no Parquet writer).
    """
    principal = _caller()
    request = current_request()
    params, t = query_params(request), i18n.translator(request_locale(request))
    form = params.get("format", "csv")
    if form != "csv":
        raise Invalid("bad_format", t("error.export_format"))
    estates = [e for e in (params.get("estate_ids") or "").split(",") if e] or None
    scope = scope_for(principal, estates)
    start, end = _instant(params, "from", t), _instant(params, "to", t)
    body = render_csv(scoped_rows(scope, start, end, api_services().protector), scope)
    name = f"events-{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}.{form}"
    return Response(
        body=body,
        status_code=200,
        headers={"Content-Type": "text/csv; charset=utf-8", "Content-Disposition": f'attachment; filename="{name}"'},
    )

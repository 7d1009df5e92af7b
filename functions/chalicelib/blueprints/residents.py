"""The city app's endpoints for residents: my homes, grants, visitor passes, my identity QR.

Every route needs a bearer token with the ``resident`` role; the token's subject is the caller's
person id. Handlers stay thin: authenticate, read the body, call one service, shape the answer.
Writes honour ``Idempotency-Key`` and are audited by the services. Owner scope (only homes the
caller owns today; 404 ``unknown_home``, 403 ``not_owner``) is checked by the services, whose
refusals get their status from `chalicelib.refusal_statuses` (no handler catches them).
"""

from __future__ import annotations

import base64

from chalice import Blueprint, Response

from chalicelib.auth import require
from chalicelib.bootstrap import api_services
from chalicelib.errors import Headers
from chalicelib.idempotency import REPLAY_FLAG, IdempotentOperation
from chalicelib.json_body import parse_body
from chalicelib.openapi import documented
from chalicelib.paging import page_request, paged
from chalicelib.request_context import current_request, request_id
from chalicelib.resident_schemas import (
    GrantRequest,
    GrantView,
    HomeGrantsView,
    HomesView,
    HomeView,
    IssuedPassView,
    PassesView,
    PassRequest,
    PassView,
    ResidentQrView,
)
from gridgate.clock import city_clock
from gridgate.clock import now as city_now
from gridgate.qr.render import qr_png, qr_version
from gridgate.residents.grants import cap_policy

bp = Blueprint(__name__)

RESIDENT = "resident"
_create_grant = IdempotentOperation("grant.create")
_revoke_grant = IdempotentOperation("grant.revoke")
_issue_pass = IdempotentOperation("pass.issue")
_revoke_pass = IdempotentOperation("pass.revoke")


def _today():
    return city_clock().today()


def _json(result: dict) -> Response:
    headers: Headers = {"Content-Type": "application/json"}
    if result.get(REPLAY_FLAG):
        headers["Idempotent-Replayed"] = "true"
    return Response(body=result["body"], status_code=result["status"], headers=headers)


def _ok(body: dict, status: int = 200) -> dict:
    return {"status": status, "body": body}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@bp.route("/me/homes", methods=["GET"])
@documented(responses={200: HomesView}, role=RESIDENT, paged=True)
def my_homes():
    """The homes I own today, with each home's grant cap, by home id (a page at a time)."""
    request = current_request()
    principal = require(request, RESIDENT)
    page = page_request(request, principal.subject)
    policy = cap_policy()
    homes, position = page.keyset(
        api_services().owner_scope.homes_owned(principal.subject, _today()), lambda h: [h.home_id]
    )
    view = HomesView(homes=[HomeView.of(h, policy.cap_for(h.floor_area_m2)) for h in homes])
    return paged(request, page, view.model_dump(mode="json"), position)


@bp.route("/homes/{home_id}/grants", methods=["POST"])
@documented(
    request=GrantRequest,
    responses={201: GrantView},
    errors=(400, 404, 409, 413),
    role=RESIDENT,
    idempotent=True,
)
def create_grant(home_id):
    """Grant a family member or tenant access to one of my homes.

    The grantee is named by ID number. The home's cap (from its floor area) holds even under
    concurrent requests: 409 over_cap when no slot is free.
    """
    request = current_request()
    principal = require(request, RESIDENT)
    body, document = parse_body(request, GrantRequest)

    def create() -> dict:
        grant = api_services().grants.grant(
            principal.subject,
            home_id,
            body.grantee_id_number,
            body.relation,
            body.starts_on,
            body.ends_on,
            request_id(request),
        )
        return _ok(GrantView.of(grant, _today()).model_dump(mode="json"), 201)

    return _json(_create_grant(request, principal.subject, {"home_id": home_id, **document}, create))


@bp.route("/homes/{home_id}/grants", methods=["GET"])
@documented(responses={200: HomeGrantsView}, errors=(404,), role=RESIDENT, paged=True)
def list_grants(home_id):
    """The grants of one of my homes, newest first (a page at a time), with the cap and the slots in use."""
    request = current_request()
    principal = require(request, RESIDENT)
    page = page_request(request, principal.subject)
    listing = api_services().grants.of_home(principal.subject, home_id, request_id(request))
    grants, position = page.keyset(listing.grants, lambda g: [g.created_at.isoformat(), g.grant_id], descending=True)
    today = _today()
    view = HomeGrantsView(
        home_id=home_id,
        cap=listing.cap,
        slots_used=listing.slots_used,
        grants=[GrantView.of(g, today) for g in grants],
    )
    return paged(request, page, view.model_dump(mode="json"), position)


@bp.route("/homes/{home_id}/grants/{grant_id}", methods=["DELETE"])
@documented(responses={200: GrantView}, errors=(404, 409), role=RESIDENT, idempotent=True)
def revoke_grant(home_id, grant_id):
    """Revoke a grant of one of my homes; it stops opening the gate at the next decision."""
    request = current_request()
    principal = require(request, RESIDENT)

    def revoke() -> dict:
        grant = api_services().grants.revoke(principal.subject, home_id, grant_id, request_id(request))
        return _ok(GrantView.of(grant, _today()).model_dump(mode="json"))

    return _json(_revoke_grant(request, principal.subject, {"home_id": home_id, "grant_id": grant_id}, revoke))


@bp.route("/homes/{home_id}/passes", methods=["POST"])
@documented(
    request=PassRequest,
    responses={201: IssuedPassView},
    errors=(400, 404, 413),
    role=RESIDENT,
    idempotent=True,
)
def issue_pass(home_id):
    """Issue a visitor pass for one of my homes: 24 hours by default, never longer.

    Returns the signed QR text and a PNG of it; the visitor shows either at the gate.
    """
    request = current_request()
    principal = require(request, RESIDENT)
    body, document = parse_body(request, PassRequest)

    def issue() -> dict:
        visitor_pass, text = api_services().passes.issue(
            principal.subject,
            home_id,
            body.visitor_name,
            body.valid_from,
            body.duration_hours,
            body.max_uses,
            request_id(request),
        )
        view = PassView.of(visitor_pass, city_now())
        issued = IssuedPassView(
            **view.model_dump(), qr_text=text, qr_version=qr_version(text), qr_png_base64=_b64(qr_png(text))
        )
        return _ok(issued.model_dump(mode="json"), 201)

    return _json(_issue_pass(request, principal.subject, {"home_id": home_id, **document}, issue))


@bp.route("/homes/{home_id}/passes", methods=["GET"])
@documented(responses={200: PassesView}, errors=(404,), role=RESIDENT, paged=True)
def list_home_passes(home_id):
    """The visitor passes of one of my homes, newest first (a page at a time: one DynamoDB query page)."""
    request = current_request()
    principal = require(request, RESIDENT)
    page = page_request(request, principal.subject)
    now = city_now()
    passes, start = api_services().passes.of_home(
        principal.subject, home_id, request_id(request), limit=page.limit, start=page.position
    )
    return paged(request, page, PassesView(passes=[PassView.of(p, now) for p in passes]).model_dump(mode="json"), start)


@bp.route("/me/passes", methods=["GET"])
@documented(responses={200: PassesView}, role=RESIDENT, paged=True)
def my_passes():
    """The visitor passes of every home I own, newest first (a page at a time)."""
    request = current_request()
    principal = require(request, RESIDENT)
    page = page_request(request, principal.subject)
    now = city_now()
    passes = api_services().passes.of_owner(principal.subject, request_id(request))
    shown, position = page.keyset(passes, lambda p: [p.valid_from.isoformat(), p.pass_id], descending=True)
    return paged(
        request, page, PassesView(passes=[PassView.of(p, now) for p in shown]).model_dump(mode="json"), position
    )


@bp.route("/passes/{pass_id}", methods=["DELETE"])
@documented(responses={200: PassView}, errors=(404, 409), role=RESIDENT, idempotent=True)
def revoke_pass(pass_id):
    """Revoke a visitor pass of one of my homes; no gate accepts it afterwards."""
    request = current_request()
    principal = require(request, RESIDENT)

    def revoke() -> dict:
        revoked = api_services().passes.revoke(principal.subject, pass_id, request_id(request))
        return _ok(PassView.of(revoked, city_now()).model_dump(mode="json"))

    return _json(_revoke_pass(request, principal.subject, {"pass_id": pass_id}, revoke))


@bp.route("/passes/{pass_id}/qr.png", methods=["GET"])
@documented(responses={200: "image/png"}, errors=(400, 404), role=RESIDENT)
def pass_qr_png(pass_id):
    """The QR code of one of my visitor passes, as a PNG image.

    Send ``Accept: image/png``: without it the gateway cannot answer a binary body (400
    ``accept_header_required``).
    """
    principal = require(current_request(), RESIDENT)
    text = api_services().passes.qr_text(principal.subject, pass_id)
    return Response(body=qr_png(text), status_code=200, headers={"Content-Type": "image/png"})


@bp.route("/me/resident-qr", methods=["GET"])
@documented(responses={200: ResidentQrView}, errors=(404,), role=RESIDENT)
def my_resident_qr():
    """My identity QR for the gate: a code that changes every 30 seconds.

    A code stops verifying within 60 seconds, so a screenshot is useless a minute later.
    """
    request = current_request()
    principal = require(request, RESIDENT)
    code = api_services().resident_codes.current(principal.subject, city_now(), request_id(request))
    view = ResidentQrView(
        code=code.code,
        step_seconds=code.step_seconds,
        seconds_left=code.seconds_left,
        png_base64=_b64(qr_png(code.code)),
    )
    return _json(_ok(view.model_dump(mode="json")))

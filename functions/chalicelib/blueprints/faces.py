"""A resident's own face (mounted at /faces): enrol, replace, withdraw, see what is stored.

Every route needs a bearer token with the ``resident`` role and acts on the token's own person
only. The body of an upload is the selfie itself (``image/jpeg`` or ``image/png``); it is
encoded and dropped, never stored (`gridgate.residents.face_enrolment`).

- ``GET    /faces/me``   the stored templates' slots, consent times and sizes (never encodings)
- ``POST   /faces/me``   enrol one more selfie (at most 3 kept; the oldest consent is replaced)
- ``PUT    /faces/me``   replace: this selfie becomes the only app template
- ``DELETE /faces/me``   withdraw: the consent is withdrawn and every app-registry template deleted
- ``POST   /faces/me/opt-out`` opt out of face entirely: every consent withdrawn, every template
  (app and population registry) deleted, the registry import stops re-adding it; the QR still opens
- ``PUT    /faces/me/consent`` record the separate consent enrolment needs (JSON: estates, matching,
  notice version; a person who may be under 14 is refused ``guardian_consent_required``);
  without one in force ``POST``/``PUT /faces/me`` answer 403 ``consent_required``
- ``PUT    /faces/minors/{person_id}/consent`` a guardian (the caller: an adult registered at the
  minor's home) records the consent of a minor under 14, with their relation

Refusals: 400 ``empty_body`` / ``not_an_image`` / ``unsupported_format`` / ``truncated_image``,
413 ``image_too_large``, 422 ``no_face`` / ``ambiguous_faces`` / ``face_too_small`` (the
selfie is an image, but not one usable face), 409 ``duplicate_face`` (the face is another
enrolled person's: not stored, audited, held for review): the face path's own errors, given their
status by `chalicelib.refusal_statuses`. ``GET`` says ``reenrolment_required`` while any template is by
the legacy dlib encoder (it still opens the gate until replaced).
"""

from __future__ import annotations

import re

from chalice import Blueprint

from chalicelib.api_schemas import (
    FaceConsentAnswer,
    FaceConsentRequest,
    FaceEnrolledAnswer,
    FaceStatusAnswer,
    FaceWithdrawnAnswer,
)
from chalicelib.auth import require
from chalicelib.bootstrap import api_services
from chalicelib.compliance_schemas import FaceOptOutAnswer, GuardianConsentAnswer, GuardianConsentRequest
from chalicelib.json_body import parse_body
from chalicelib.openapi import documented
from chalicelib.request_context import body_bytes, current_request, request_id
from gridgate.domain.legal_records import FaceConsent
from gridgate.refusals import Invalid

bp = Blueprint(__name__)
_PERSON_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
RESIDENT = "resident"
_IMAGE_TYPES = ["image/jpeg", "image/png", "application/octet-stream"]
#: not an image (400), too large (413), no single usable face (422)
_SELFIE_ERRORS = (400, 413, 422)


def _resident() -> str:
    return require(current_request(), RESIDENT).subject


def _request_id() -> str | None:
    return request_id(current_request())


def _enrol(replace_all: bool) -> dict:
    person_id = _resident()
    face = (
        api_services()
        .face_enrolment()
        .enrol(person_id, body_bytes(current_request()), replace_all=replace_all, request_id=_request_id())
    )
    return {
        "person_id": person_id,
        "enrolled": face.as_dict(),
        **api_services().face_enrolment().status(person_id, request_id=_request_id()).as_dict(),
    }


@bp.route("/me", methods=["GET"])
@documented(responses={200: FaceStatusAnswer}, role=RESIDENT)
def face_status():
    """What is stored of my face: the app templates' slots, consent times and face sizes (never encodings)."""
    person_id = _resident()
    return {
        "person_id": person_id,
        **api_services().face_enrolment().status(person_id, request_id=_request_id()).as_dict(),
    }


@bp.route("/me", methods=["POST"], content_types=_IMAGE_TYPES)
@documented(media=tuple(_IMAGE_TYPES), responses={200: FaceEnrolledAnswer}, errors=_SELFIE_ERRORS, role=RESIDENT)
def enrol_face():
    """Enrol one more selfie (at most 3 kept; the oldest consent is replaced); the photo itself is not stored."""
    return _enrol(replace_all=False)


@bp.route("/me", methods=["PUT"], content_types=_IMAGE_TYPES)
@documented(media=tuple(_IMAGE_TYPES), responses={200: FaceEnrolledAnswer}, errors=_SELFIE_ERRORS, role=RESIDENT)
def replace_face():
    """Replace my face: this selfie becomes the only app template."""
    return _enrol(replace_all=True)


@bp.route("/me", methods=["DELETE"])
@documented(responses={200: FaceWithdrawnAnswer}, role=RESIDENT)
def withdraw_face():
    """Withdraw my face: every app-registry template is deleted, and every gate's gallery forgets it."""
    person_id = _resident()
    removed = api_services().face_enrolment().withdraw(person_id, request_id=_request_id())
    return {
        "person_id": person_id,
        "removed_templates": removed,
        **api_services().face_enrolment().status(person_id, request_id=_request_id()).as_dict(),
    }


@bp.route("/me/consent", methods=["PUT"], content_types=["application/json"])
@documented(request=FaceConsentRequest, responses={200: FaceConsentAnswer}, errors=(400, 403, 404, 413), role=RESIDENT)
def give_face_consent():
    """Record my separate consent to face recognition at the estates named (the notice version I read)."""
    person_id = _resident()
    body, _ = parse_body(current_request(), FaceConsentRequest)
    consent = (
        api_services()
        .face_enrolment()
        .give_consent(
            person_id,
            estates=frozenset(body.estates),
            matching=body.matching,
            notice_version=body.notice_version,
            guardian_person_id=None,
            request_id=_request_id(),
        )
    )
    return _consent_answer(consent)


def _consent_answer(consent: FaceConsent) -> dict:
    return {
        "person_id": consent.person_id,
        "basis": consent.basis.value,
        "estates": sorted(consent.estates),
        "matching": consent.matching.value,
        "notice_version": consent.notice_version,
        "given_at": consent.given_at.isoformat(),
        "guardian_person_id": consent.guardian_person_id,
    }


@bp.route("/me/opt-out", methods=["POST"])
@documented(responses={200: FaceOptOutAnswer}, role=RESIDENT)
def opt_out_of_face():
    """Opt out of face entirely: every template deleted everywhere, no gate matches me; I enter by my resident QR."""
    person_id = _resident()
    return api_services().face_opt_out.opt_out(person_id, request_id=_request_id()).as_dict()


@bp.route("/minors/{person_id}/consent", methods=["PUT"], content_types=["application/json"])
@documented(
    request=GuardianConsentRequest, responses={200: GuardianConsentAnswer}, errors=(400, 403, 404, 413), role=RESIDENT
)
def give_minor_face_consent(person_id):
    """As a minor's guardian (an adult registered at their home), record their consent to face recognition."""
    guardian_id = _resident()
    if not _PERSON_ID.match(person_id):
        raise Invalid("bad_id", field="person_id")
    body, _ = parse_body(current_request(), GuardianConsentRequest)
    consent = api_services().guardian_consent.give(
        guardian_id,
        person_id,
        relation=body.relation,
        estates=frozenset(body.estates),
        matching=body.matching,
        notice_version=body.notice_version,
        request_id=_request_id(),
    )
    return {**_consent_answer(consent), "guardian_relation": consent.guardian_relation}

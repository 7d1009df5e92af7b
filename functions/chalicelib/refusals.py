"""The one table from a refusal to its HTTP status: services, pure computations and the gate alike.

Services raise a kind of `gridgate.refusals.Refused`; the face and QR computations, the
bearer tokens and the device signatures raise their own exceptions (they do not depend on the
services); a gate decision that refuses the request carries a `Reason`. All of them reach an
answer through `status_of` (called by `errors.problem_middleware`, the only code that builds an
error response) or `decision_status`: no blueprint picks a status for a refusal itself. The
``code`` and message are the refusal's own; extra members come from its ``detail``.
"""

from __future__ import annotations

from gridgate.faces.rejections import FaceRejected, ImageRejected
from gridgate.gate.decision import INPUT_REASONS, Reason
from gridgate.qr.read_failures import QrNotRead
from gridgate.refusals import Conflict, Invalid, NotAllowed, NotFound
from gridgate.security.device_auth import DeviceAuthError
from gridgate.security.oidc import SignInRefused
from gridgate.security.tokens import TokenError

#: Every refusal type and its status, most specific first (the first `isinstance` match wins).
_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (Invalid, 400),
    (TokenError, 401),  # not a valid bearer token: WWW-Authenticate says what to send
    (DeviceAuthError, 401),  # not a trusted gate's fresh, signed request
    (NotAllowed, 403),
    (NotFound, 404),
    (Conflict, 409),
    (ImageRejected, 400),  # not a usable image (too large: 413, below)
    (FaceRejected, 422),  # an image, but not one usable face
    (QrNotRead, 422),  # an image, but no single readable QR code
    (SignInRefused, 400),  # a step of a person's sign-in (session and IdP codes below)
)
#: Codes whose status is more specific than their type's.
_CODE_STATUS = {
    "image_too_large": 413,
    "duplicate_face": 409,  # another person's face: held for review
    # a person's sign-in: no session any more, no role for the pages, no IdP on this stage or
    # an IdP that cannot be used right now
    "bad_session": 401,
    "session_ended": 401,
    "session_replayed": 401,
    "no_page_role": 403,
    "sign_in_not_configured": 404,
    "idp_unavailable": 503,
    "idp_misconfigured": 503,
}

#: Gate decisions answered with an error status (the deny is still recorded and returned): an
#: unusable request, and a gate asking for the direction it is not registered for.
_DECISION_STATUS = {
    **{reason.value: 400 for reason in INPUT_REASONS},
    Reason.IMAGE_TOO_LARGE.value: 413,
    Reason.WRONG_DIRECTION.value: 403,
}

#: Every status a refusal can be answered with (the OpenAPI document lists them per operation).
REFUSAL_STATUSES = frozenset(
    {status for _, status in _STATUS} | set(_CODE_STATUS.values()) | set(_DECISION_STATUS.values())
)


def status_of(error: BaseException) -> int | None:
    """The HTTP status of a refusal, or None when `error` is no refusal (a bug: 500)."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return _CODE_STATUS.get(getattr(error, "code", ""), status)
    return None


def decision_status(reason: str) -> int | None:
    """The error status of a gate decision's reason, or None when the decision is a 200."""
    return _DECISION_STATUS.get(reason)

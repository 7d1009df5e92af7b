"""The one table from a refusal to its HTTP status: services, pure computations and the gate alike.

Services raise a kind of `gridgate.refusals.Refused`; the face and QR computations, the
bearer tokens and the device signatures raise their own exceptions (they do not depend on the
services); a gate decision that refuses the request carries a `Reason`. `Refusal` names every
type of that family and `status_of` is total over it: a kind without a status cannot be passed
(the type checker says so, and `tests/app/test_one_mapper.py` checks the table covers the
family). `errors.ApiError.refused` (used by `errors.problem_middleware`, the only code that builds
an error response) is the one place a refusal becomes a status, code and message: no blueprint
picks a status for a refusal itself. Extra members come from the refusal's ``detail``.
"""

from __future__ import annotations

from typing import TypeGuard

from gridgate.faces.rejections import FaceRejected, ImageRejected
from gridgate.gate.decision import INPUT_REASONS, Reason
from gridgate.qr.read_failures import QrNotRead
from gridgate.refusals import Conflict, GateRequestRefused, Invalid, NotAllowed, NotFound, Unavailable
from gridgate.security.device_auth import DeviceAuthError
from gridgate.security.oidc import SignInRefused
from gridgate.security.tokens import TokenError

#: Every type a refusal is raised as; each carries a stable ``code`` and a ``message``.
Refusal = (
    Invalid
    | NotAllowed
    | NotFound
    | Conflict
    | Unavailable
    | GateRequestRefused
    | TokenError
    | DeviceAuthError
    | ImageRejected
    | FaceRejected
    | QrNotRead
    | SignInRefused
)

#: Every refusal type and its status, most specific first (the first `isinstance` match wins).
_STATUS: tuple[tuple[type[Refusal], int], ...] = (
    (Invalid, 400),
    (TokenError, 401),  # not a valid bearer token: WWW-Authenticate says what to send
    (DeviceAuthError, 401),  # not a trusted gate's fresh, signed request
    (NotAllowed, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Unavailable, 503),
    (ImageRejected, 400),  # not a usable image (too large: 413, below)
    (FaceRejected, 422),  # an image, but not one usable face
    (QrNotRead, 422),  # an image, but no single readable QR code
    (SignInRefused, 400),  # a step of a person's sign-in (session and IdP codes below)
)
#: Codes whose status is more specific than their type's.
_CODE_STATUS = {
    "image_too_large": 413,
    "payload_too_large": 413,  # a gate's body over the upload limit
    "body_too_large": 413,  # an app's JSON body over its limit
    "idempotency_key_reused": 422,  # the same Idempotency-Key with another request
    "duplicate_face": 409,  # another person's face: held for review
    # a person's sign-in: no session (any more), no role for the pages, no IdP on this stage or
    # an IdP that cannot be used right now
    "not_signed_in": 401,
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

#: The refusal types, for `isinstance` (the members of `Refusal`).
REFUSAL_TYPES: tuple[type[Refusal], ...] = (GateRequestRefused, *(kind for kind, _ in _STATUS))

#: Every status a refusal can be answered with (the OpenAPI document lists them per operation).
REFUSAL_STATUSES = frozenset(
    {status for _, status in _STATUS} | set(_CODE_STATUS.values()) | set(_DECISION_STATUS.values())
)


def is_refusal(error: BaseException) -> TypeGuard[Refusal]:
    """Whether `error` is one of the family (anything else reaching the API is a bug: 500)."""
    return isinstance(error, REFUSAL_TYPES)


def status_of(error: Refusal) -> int:
    """The HTTP status of a refusal: its code's if that is more specific, else its type's."""
    if isinstance(error, GateRequestRefused):
        return _DECISION_STATUS[error.code]
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return _CODE_STATUS.get(error.code, status)
    raise TypeError(f"{type(error).__name__} is in `Refusal` but not in the status table")


def decision_status(reason: str) -> int | None:
    """The error status of a gate decision's reason, or None when the decision is a 200."""
    return _DECISION_STATUS.get(reason)

"""Who is calling: the bearer token of an app request, checked, and the role the route needs.

A page signed in through the city IdP sends its session's access token (``gsa.…``, see
`gridgate.sign_in.people_sign_in`) in the same header; it is checked against its session, so a
sign-out ends it at once.

Every app route starts with ``principal = require(request, "resident")`` (grid-worker routes with
``"grid_worker"``). A missing, malformed, expired or foreign token is 401 with the token's own
code; a valid token without the role is 403 ``forbidden``. Scope inside the role (an owner only
for their homes, a worker only for their grids) is the service's business, not this module's.
"""

from __future__ import annotations

from chalice.app import Request

from gridgate.refusals import NotAllowed
from gridgate.security.tokens import Principal, TokenError, verify_bearer
from gridgate.sign_in.people_sign_in import ACCESS_PREFIX, people_sign_in

_SCHEME = "bearer"


def bearer_token(request: Request) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; 401 ``missing_token`` otherwise."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != _SCHEME or not token.strip():
        raise TokenError("missing_token")
    return token.strip()


def _verified(request: Request) -> Principal:
    """The caller behind the bearer token; a `TokenError` is a 401 (`chalicelib.refusal_statuses`)."""
    token = bearer_token(request)
    # a page's session token (people signed in through the city IdP) or the city app's JWT
    return people_sign_in().principal(token) if token.startswith(ACCESS_PREFIX) else verify_bearer(token)


def require(request: Request, role: str) -> Principal:
    """The verified caller, who must hold `role`; raises 401 (no or a bad token) or 403."""
    principal = _verified(request)
    if role not in principal.roles:
        raise NotAllowed("forbidden", roles=[role])
    return principal


def require_any(request: Request, roles: tuple[str, ...]) -> Principal:
    """The verified caller, who must hold one of `roles`; raises `TokenError` (401) or `NotAllowed` (403)."""
    principal = _verified(request)
    if not principal.roles & set(roles):
        raise NotAllowed("forbidden", roles=list(roles))
    return principal

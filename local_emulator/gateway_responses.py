"""API Gateway's answer to a path no route serves, as gridgate configures it, for Chalice's local gateway.

API Gateway answers an unknown path 403 "Missing Authentication Token", or, when the request
carries an ``Authorization`` header, a message that repeats the header: a bearer token sent to a
mistyped path comes back in the body (and into whatever logs the answer). Chalice's local gateway
imitates that. gridgate answers such a path like every other refusal: 404 in the project's error
shape (RFC 9457 problem+json, code ``unknown_route``, see `functions/chalicelib/errors.py`), naming
neither the path nor any credential, with the gateway's request id in ``X-Request-Id`` and the body. `serverless.yml` configures the deployed gateway's MISSING_AUTHENTICATION_TOKEN
response so; `install` makes the local gateway (``chalice.test.Client``, `local_emulator.app_server`)
answer the same, so tests see what the deployment does.
"""

from __future__ import annotations

import json
import uuid

from chalice import local

#: The document `serverless.yml`'s MISSING_AUTHENTICATION_TOKEN template renders (there the request
#: id is ``$context.requestId``); `tests/app/test_problem_shape.py` checks the two agree.
UNKNOWN_ROUTE_BODY = {
    "type": "urn:gridgate:problem:unknown_route",
    "title": "Not Found",
    "status": 404,
    "detail": "no such endpoint",
    "code": "unknown_route",
}


def unknown_route_body(request_id: str) -> dict:
    return {**UNKNOWN_ROUTE_BODY, "instance": f"urn:gridgate:request:{request_id}", "request_id": request_id}


def _problem_headers(request_id: str, **extra: str) -> dict[str, str]:
    return {"Content-Type": "application/problem+json", "X-Request-Id": request_id, **extra}


class UnknownRoute(local.LocalGatewayException):
    CODE = 404


class OptionsNotAllowed(local.LocalGatewayException):
    """OPTIONS on a route without CORS: the local gateway would answer an empty 200 (or crash in
    `chalice.test`); gridgate declares no OPTIONS, so it is a 405 like any other undeclared method."""

    CODE = 405


def install() -> None:
    """Make `chalice.local.LocalGateway` answer unknown paths 404 ``unknown_route`` (idempotent)."""
    gateway = local.LocalGateway
    if getattr(gateway.handle_request, "_gridgate_unknown_route", False):
        return
    original = gateway.handle_request

    def handle_request(self, method, path, headers, body):
        request_id = str(uuid.uuid4())  # the local gateway's stand-in for API Gateway's id
        try:
            route = self.event_converter._route_matcher.match_route(path).route
        except ValueError:
            raise UnknownRoute(
                _problem_headers(request_id), json.dumps(unknown_route_body(request_id)).encode()
            ) from None
        methods = self._app_object.routes[route]
        if method == "OPTIONS" and "OPTIONS" not in methods and not any(entry.cors for entry in methods.values()):
            allowed = ", ".join(sorted(methods))
            document = {
                "type": "urn:gridgate:problem:method_not_allowed",
                "title": "Method Not Allowed",
                "status": 405,
                "detail": f"this endpoint answers {allowed}",
                "code": "method_not_allowed",
                "instance": f"urn:gridgate:request:{request_id}",
                "request_id": request_id,
            }
            raise OptionsNotAllowed(_problem_headers(request_id, Allow=allowed), json.dumps(document).encode())
        return original(self, method, path, headers, body)

    # Chalice has no hook for an unknown route: its method is replaced, marked so installing twice is a no-op
    setattr(handle_request, "_gridgate_unknown_route", True)  # noqa: B010
    setattr(gateway, "handle_request", handle_request)  # noqa: B010

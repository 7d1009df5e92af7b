"""API Gateway's answer to a path no route serves, as gridgate configures it, for Chalice's local gateway.

API Gateway answers an unknown path 403 "Missing Authentication Token", or, when the request
carries an ``Authorization`` header, a message that repeats the header: a bearer token sent to a
mistyped path comes back in the body (and into whatever logs the answer). Chalice's local gateway
imitates that. gridgate answers such a path like every other refusal: 404 in the project's error
shape (``{"error": {"code": "unknown_route", ...}}``), naming neither the path's parameters nor any
credential. `serverless.yml` configures the deployed gateway's MISSING_AUTHENTICATION_TOKEN
response so; `install` makes the local gateway (``chalice.test.Client``, `local_emulator.app_server`)
answer the same, so tests see what the deployment does.
"""

from __future__ import annotations

import json

from chalice import local

UNKNOWN_ROUTE_BODY = {"error": {"code": "unknown_route", "message": "no such endpoint"}}


class UnknownRoute(local.LocalGatewayException):
    CODE = 404


def install() -> None:
    """Make `chalice.local.LocalGateway` answer unknown paths 404 ``unknown_route`` (idempotent)."""
    gateway = local.LocalGateway
    if getattr(gateway.handle_request, "_gridgate_unknown_route", False):
        return
    original = gateway.handle_request

    def handle_request(self, method, path, headers, body):
        try:
            self.event_converter._route_matcher.match_route(path)
        except ValueError:
            raise UnknownRoute(
                {"Content-Type": "application/json"}, json.dumps(UNKNOWN_ROUTE_BODY).encode()
            ) from None
        return original(self, method, path, headers, body)

    handle_request._gridgate_unknown_route = True
    gateway.handle_request = handle_request

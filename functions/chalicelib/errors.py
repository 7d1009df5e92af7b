"""One error shape for every endpoint: ``{"error": {"code": ..., "message": ...}}``.

Handlers raise `ApiError` (or a domain error mapped to one); the app turns it into a JSON
response with the right status, logs it with the request id, and never lets an unexpected
exception escape as a stack trace (a gate must get a clean deny, not a 502).
"""

from __future__ import annotations

import functools

from aws_lambda_powertools import Logger
from chalice import Chalice, Response
from gridgate.adapters.ops_metrics import refusal

logger = Logger(service="gridgate-api")


class ApiError(Exception):
    """A client-visible error: HTTP status, machine-readable code, human message."""

    def __init__(self, status: int, code: str, message: str, **detail) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail

    def to_response(self) -> Response:
        body = {"error": {"code": self.code, "message": self.message, **self.detail}}
        return Response(body=body, status_code=self.status, headers={"Content-Type": "application/json"})


def install_error_handling(app: Chalice) -> None:
    """Wrap every route registered on `app` (and its blueprints) with the error contract."""
    original_register = app._register_route

    def register(name, user_handler, kwargs, **unused):
        @functools.wraps(user_handler)
        def guarded(*args, **kw):
            try:
                return user_handler(*args, **kw)
            except ApiError as err:
                logger.warning("request refused", extra={"code": err.code, "status": err.status})
                refusal(err.code)
                return err.to_response()
            except Exception:
                logger.exception("unhandled error")
                return ApiError(500, "internal_error", "internal error; the request was not applied").to_response()

        return original_register(name, guarded, kwargs, **unused)

    app._register_route = register

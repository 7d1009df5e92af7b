"""The request being handled, per thread: a safe `current_request` and its id for the audit log.

Chalice keeps `app.current_request` as one attribute of the app object. A Lambda container handles
one request at a time, so that is fine in AWS, but any process that serves requests from several
threads (the local server, a threaded test of the cap under 50 simultaneous grants) would let one
request read another's headers. Chalice hands each http middleware call its own request object,
so `bind_current_request` (registered in `app.py`) stores it in a context variable, which every
thread sees separately.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

from chalice.app import Request

from gridgate import i18n

_current: ContextVar[Request | None] = ContextVar("gridgate_current_request", default=None)
_request_id: ContextVar[str | None] = ContextVar("gridgate_request_id", default=None)


def bind_current_request(request: Request, get_response: Callable[[Request], Any]) -> Any:
    token = _current.set(request)
    try:
        return get_response(request)
    finally:
        _current.reset(token)


def current_request() -> Request:
    request = _current.get()
    if request is None:
        raise RuntimeError("no request bound: is bind_current_request registered as http middleware?")
    return request


def query_params(request: Request) -> Mapping[str, str]:
    """The query string's parameters (a repeated one: its last value); empty without a query string."""
    return request.query_params or {}


def request_locale(request: Request) -> str:
    """The language to answer a person in: ``?lang=``, else the browser's ``Accept-Language``, else Chinese."""
    return i18n.negotiate(query_params(request).get("lang"), request.headers.get("accept-language"))


def body_bytes(request: Request) -> bytes:
    """The request's body as bytes (``b""`` when it has none)."""
    # Chalice types `raw_body` as `str | bytes`, but it always hands back bytes: base64-decoded,
    # UTF-8-encoded, or as received
    return cast(bytes, request.raw_body)


@contextmanager
def bind_request_id(value: str) -> Iterator[None]:
    """The id `errors.problem_middleware` chose for this request, for `request_id` to return."""
    token = _request_id.set(value)
    try:
        yield
    finally:
        _request_id.reset(token)


def request_id(request: Request) -> str | None:
    """This request's id: the one bound for it (the id the client sees in ``X-Request-Id``), else
    API Gateway's request id, else the Lambda invocation id where there is no gateway (local)."""
    bound = _request_id.get()
    if bound is not None:
        return bound
    gateway_id = (request.context or {}).get("requestId")
    return gateway_id or getattr(request.lambda_context, "aws_request_id", None)

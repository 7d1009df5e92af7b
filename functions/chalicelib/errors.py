"""One error shape for every answer with a 4xx/5xx status: RFC 9457 ``application/problem+json``.

Body: ``type`` (a stable URN per code), ``title`` (the status phrase), ``status``, ``detail`` (what
went wrong, for a person: the catalogue's ``error.<code>`` filled with the refusal's members, in
the language of the request's ``Accept-Language``, Simplified Chinese by default; no code words a
refusal itself), ``instance`` (``urn:gridgate:request:<request id>``: this occurrence; not the
concrete path, which carries home and pass ids into whatever logs the client keeps), ``code`` (the stable machine code that
clients switch on) and ``request_id`` (also in the ``X-Request-Id`` header and in every log line of
the request). A 401 also carries ``WWW-Authenticate`` naming the scheme the caller must use.

Why one place: integrators parse one shape, not three. The errors come from three layers, and
all of them end up in `problem_middleware`, the only code that builds an error response:
- handlers let a refusal (a service's, a token's, a face's, their own) escape, which gets the
  status `refusal_statuses.status_of` gives it (the one table of refusals to statuses), or raise
  `ApiError.refused` where the answer needs a header of its own (a cookie to forget); the route wrapper
  installed by `install_error_handling` lets it escape Chalice's view-level ``except Exception``
  (which would turn it into Chalice's own 500) by wrapping it in a `ChaliceUnhandledError`;
- Chalice itself answers 405, 415 and its binary-``Accept`` 400 as ``{"Code", "Message"}`` before
  or after the view; the middleware rewrites those answers;
- anything unexpected becomes a 500 ``internal_error`` without a stack trace (a gate must get a
  clean deny, not a 502).
Unknown paths never reach the app: API Gateway answers them, configured in `serverless.yml`, and
`local_emulator/gateway_responses.py` makes the local gateway answer alike; both use `problem_body`'s
shape (the YAML template cannot import Python, so `tests/app/test_problem_shape.py` checks it).
"""

from __future__ import annotations

import functools
import http
import re
import uuid
from collections.abc import Callable
from typing import Any

from chalice import Chalice, Response
from chalice.app import ChaliceUnhandledError, ChaliceViewError, Request

from chalicelib.logs import logger
from chalicelib.refusal_statuses import Refusal, is_refusal, status_of
from chalicelib.request_context import bind_request_id, request_id
from gridgate import i18n
from gridgate.adapters.ops_metrics import refusal

PROBLEM_CONTENT_TYPE = "application/problem+json"
REQUEST_ID_HEADER = "X-Request-Id"
TYPE_PREFIX = "urn:gridgate:problem:"

#: What a 401 asks for, per family of routes: gates sign requests, everyone else sends a bearer token.
BEARER_CHALLENGE = 'Bearer realm="gridgate"'
GATE_CHALLENGE = (
    'GridgateEd25519 realm="gridgate-gate", headers="X-Gate-Id X-Gate-Timestamp X-Gate-Nonce X-Gate-Signature"'
)

#: Chalice's own error codes (``{"Code": ...}``) as gridgate's stable codes.
_CHALICE_CODES = {
    "MethodNotAllowedError": "method_not_allowed",
    "UnsupportedMediaType": "unsupported_media_type",
    "BadRequest": "accept_header_required",
    "InternalServerError": "internal_error",
}


#: Response headers as Chalice takes them (a list: one header line per value, e.g. Set-Cookie).
Headers = dict[str, str | list[str]]


class ApiError(Exception):
    """A client-visible error: HTTP status, stable code and extension members (``extra``: also the
    values the catalogue's words for the code are filled with)."""

    def __init__(self, status: int, code: str, *, headers: Headers | None = None, **extra: Any) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.headers: Headers = headers or {}
        self.extra = extra

    @property
    def detail(self) -> dict[str, Any]:
        """The members `i18n.refusal_text` words the problem with (the same shape as a refusal's)."""
        return self.extra

    @classmethod
    def refused(cls, refusal: Refusal, *, headers: Headers | None = None) -> ApiError:
        """A refusal with the status the one table gives it, its code and detail members."""
        return cls(status_of(refusal), refusal.code, headers=headers, **refusal.detail)


class _Escaped(ChaliceUnhandledError):
    """Carries an exception from a view past Chalice's own handling to `problem_middleware`."""


INSTANCE_PREFIX = "urn:gridgate:request:"


def problem_body(status: int, code: str, detail: str, *, request_id: str, **extra: Any) -> dict:
    """The RFC 9457 document; `extra` members (e.g. a gate's ``decision``) never override the core ones."""
    core = {
        "type": TYPE_PREFIX + code,
        "title": _title(status),
        "status": status,
        "detail": detail,
        "instance": INSTANCE_PREFIX + request_id,
        "code": code,
        "request_id": request_id,
    }
    return {**extra, **core}


def _title(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name.removesuffix("Error")).lower() or "error"


def _challenge(path: str) -> str:
    return GATE_CHALLENGE if path.startswith("/gate") else BEARER_CHALLENGE


def _from_exception(err: BaseException) -> ApiError:
    """An `ApiError` as raised, a refusal with the status `refusal_statuses.status_of` gives it, anything else a 500."""
    if isinstance(err, ApiError):
        return err
    if is_refusal(err):
        return ApiError.refused(err)
    logger.exception("unhandled error")
    return ApiError(500, "internal_error")


def _from_chalice(response: Response) -> ApiError:
    """Chalice's ``{"Code", "Message"}`` answer (or any non-problem error answer) as an `ApiError`."""
    body = response.body if isinstance(response.body, dict) else {}
    chalice_code = str(body.get("Code", ""))
    code = _CHALICE_CODES.get(chalice_code) or (
        _snake(chalice_code) if chalice_code else _snake(_title(response.status_code).replace(" ", ""))
    )
    kept: Headers = {
        k: v for k, v in response.headers.items() if k.lower() in ("allow", "retry-after", "www-authenticate")
    }
    return ApiError(response.status_code, code, headers=kept)


def _content_type(response: Response) -> str:
    value = {k.lower(): v for k, v in response.headers.items()}.get("content-type", "")
    return value if isinstance(value, str) else ""  # only Set-Cookie is ever a list


def _is_problem(response: Response) -> bool:
    return _content_type(response).startswith(PROBLEM_CONTENT_TYPE)


def _is_page(response: Response) -> bool:
    return _content_type(response).startswith("text/html")


def _problem_response(err: ApiError, request: Request | None, rid: str) -> Response:
    path = getattr(request, "path", None) or "/"
    log = logger.warning if err.status < 500 else logger.error
    log("request refused", extra={"code": err.code, "status": err.status})
    refusal(err.code)  # refusals by code, as a metric (EMF)
    headers: Headers = {"Content-Type": PROBLEM_CONTENT_TYPE, **err.headers}
    if err.status == 401:
        headers.setdefault("WWW-Authenticate", _challenge(path))
    locale = i18n.negotiate(None, _header(request, "accept-language"))
    headers["Content-Language"] = i18n.HTML_LANG[locale]
    body = problem_body(err.status, err.code, i18n.refusal_text(err, locale), request_id=rid, **err.extra)
    return Response(body=body, status_code=err.status, headers=headers)


def _header(request: Request | None, name: str) -> str | None:
    headers = getattr(request, "headers", None) or {}
    return headers.get(name)


def new_request_id(request: Request | None) -> str:
    """API Gateway's id (or Lambda's invocation id); a fresh UUID only where neither exists.

    A client-sent id is not trusted: it would let a caller write arbitrary text into our logs and
    collide with another request's id.
    """
    return (request_id(request) if request is not None else None) or str(uuid.uuid4())


def problem_middleware(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """The one place an error becomes a response; also stamps the request id on every answer and log line."""
    rid = new_request_id(request)
    path = getattr(request, "path", None)
    # Per-thread keys (the local server and the concurrency tests serve requests from threads);
    # `correlation_id` is the key Powertools' own `set_correlation_id` writes.
    logger.thread_safe_append_keys(correlation_id=rid, path=path, method=getattr(request, "method", None))
    try:
        with bind_request_id(rid):
            try:
                response = get_response(request)
            except _Escaped as escaped:
                response = _problem_response(_from_exception(escaped.__cause__ or escaped), request, rid)
            except Exception as err:  # noqa: BLE001 - a middleware or Chalice itself failed: still a problem
                response = _problem_response(_from_exception(err), request, rid)
            # an error page a person's browser is shown (the sign-in's) stays a page; any other
            # error answer, Chalice's own included, becomes a problem
            if response.status_code >= 400 and not _is_problem(response) and not _is_page(response):
                response = _problem_response(_from_chalice(response), request, rid)
            if not isinstance(response.body, (str, bytes)) and not _content_type(response):
                # a handler's dict: API Gateway would label it JSON; every answer says what it is
                response.headers["Content-Type"] = "application/json"
            response.headers[REQUEST_ID_HEADER] = rid
            return response
    finally:
        logger.thread_safe_remove_keys(["correlation_id", "path", "method"])


def install_error_handling(app: Chalice) -> None:
    """Let every route's exception reach `problem_middleware` instead of Chalice's 500, and register it.

    Registered before any other http middleware, so it is the outermost: a failure in another
    middleware is mapped too.
    """
    original_register = app._register_route

    def register(name, user_handler, kwargs, **unused):
        @functools.wraps(user_handler)
        def guarded(*args, **kw):
            try:
                return user_handler(*args, **kw)
            except (ChaliceUnhandledError, ChaliceViewError):
                raise  # Chalice answers these itself ({"Code", ...}); the middleware rewrites them
            except Exception as err:
                raise _Escaped(str(err)) from err

        return original_register(name, guarded, kwargs, **unused)

    # Chalice has no hook around every route: its registration method is replaced on this app
    setattr(app, "_register_route", register)  # noqa: B010
    app.register_middleware(problem_middleware, "http")

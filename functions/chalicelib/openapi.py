"""The OpenAPI 3.1 document of the Chalice app, generated from its routes (``make openapi``).

Every route the app registers appears, whatever blueprint it comes from: path, method, path
parameters, and summary/description from the handler's docstring. Each handler declares the rest
with `@documented(...)` (placed *under* ``@bp.route``): the request model or media types, the
answers by status, the statuses of its own refusals, the role its bearer token needs (or that it
is a signed gate request), its query and header parameters, whether it pages and whether it
honours ``Idempotency-Key``. The statuses every such operation shares are added here
(`error_statuses`: 401/403 with a role, 401 for gates, 400 for bodies and pages, 404 with path
parameters, 415 and 500 always), each error as the `Problem` schema. Schemas come from the same
pydantic models that validate requests and shape answers.

`tests/app/test_openapi.py` regenerates the document and fails when `docs/openapi.json` differs,
so the checked-in contract always matches the code; `tests/app/test_contract.py` checks the
running app against it. After changing routes: ``make openapi``.
"""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalice import Chalice
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from chalicelib.errors import PROBLEM_CONTENT_TYPE
from chalicelib.openapi_security import BEARER, DEVICE_HEADERS, GATE, GATE_HEADERS, security_schemes
from chalicelib.paging import DEFAULT_LIMIT, MAX_CURSOR_CHARS, MAX_LIMIT

_REF = "#/components/schemas/{model}"


class Problem(BaseModel):
    """Every 4xx/5xx: an RFC 9457 problem (``application/problem+json``), built in `errors.problem_body`.

    Switch on ``code`` (stable); ``detail`` is for people. ``request_id`` equals the ``X-Request-Id``
    header and appears in the API's logs as ``correlation_id``. Some refusals add members (a gate
    refusal its recorded ``decision``, a field error its ``field``).
    """

    model_config = {"extra": "allow"}

    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str
    request_id: str


@dataclass(frozen=True)
class Param:
    """A query or header parameter of an operation."""

    name: str
    where: str  # "query" or "header"
    schema: dict
    description: str = ""
    required: bool = False

    def as_openapi(self) -> dict:
        parameter = {"name": self.name, "in": self.where, "required": self.required, "schema": self.schema}
        if self.description:
            parameter["description"] = self.description
        return parameter


#: A response body: a JSON model, or the media type of a body that is not JSON.
Body = type[BaseModel] | str


@dataclass(frozen=True)
class Documented:
    #: the JSON body's model, as it is validated
    request: type[BaseModel] | None = None
    #: media types of raw bodies accepted besides (or instead of) the JSON model: images
    media: tuple[str, ...] = ()
    #: status -> the body (or bodies, one per media type) of a success
    responses: dict[int, Body | tuple[Body, ...]] = field(default_factory=dict)
    #: the statuses of this operation's own refusals (the ones every operation shares are added)
    errors: tuple[int, ...] = ()
    #: the role a bearer token must hold; None with `gate`: a signed gate request; neither: public
    role: str | None = None
    gate: bool = False
    idempotent: bool = False
    paged: bool = False
    params: tuple[Param, ...] = ()


def documented(**details) -> Callable[[Callable], Callable]:
    """Attach OpenAPI details to a route handler (the error wrapper copies them onto the route)."""

    def attach(handler: Callable) -> Callable:
        # a function declares no attributes for the checker; `build_openapi` reads it back with getattr
        setattr(handler, "__openapi__", Documented(**details))  # noqa: B010
        return handler

    return attach


#: The signed device headers of a gate decision.
DEVICE_PARAMS = tuple(Param(name, "header", schema, text, required) for name, required, schema, text in DEVICE_HEADERS)
LANG = Param(
    "lang",
    "query",
    {"type": "string", "maxLength": 35},
    "zh-CN or en (else: Accept-Language's first of them, else zh-CN)",
)
_ID = {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,128}$"}
_LIMIT = Param(
    "limit",
    "query",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    f"items per page (1-{MAX_LIMIT}, default {DEFAULT_LIMIT}); otherwise 400 bad_limit",
)
_CURSOR = Param(
    "cursor",
    "query",
    {"type": "string", "maxLength": MAX_CURSOR_CHARS},
    "the next_cursor of the previous page, unchanged, with the same other parameters (otherwise 400 bad_cursor)",
)
_IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "header",
    {"type": "string", "pattern": "^[A-Za-z0-9._:-]{8,128}$"},
    "a retry with the same key returns the first result (422 for the same key with another body, 409 while it runs)",
)

_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    302: "On to the next step of the sign-in (Location)",
    400: "Bad input (the code says which)",
    401: "Not authenticated: missing, invalid or expired bearer token, or an unsigned, stale or replayed gate request",
    403: "Not allowed for this caller (role, ownership, scope; a gate asking for its other direction)",
    404: "Not found (what the path names, or no such route)",
    409: "Conflict with the current state (or the same Idempotency-Key still running)",
    413: "Body too large",
    415: "Content-Type not accepted by this operation",
    422: "Well-formed but unusable (an image without one usable face, no readable QR), or an Idempotency-Key reused for another body",
    500: "Unexpected fault; the request was not applied (the request id identifies it in the logs)",
    503: "Not able to serve right now: the city identity provider, a failed health check, or a missing asset",
}
_HEADERS = {
    "X-Request-Id": {
        "description": "this request's id (also request_id of a problem, correlation_id in the logs)",
        "schema": {"type": "string"},
    },
}
_LINK = {
    "description": 'rel="next": the next page (same query, next cursor); absent on the last page',
    "schema": {"type": "string"},
}
_CHALLENGE = {
    "description": "the scheme to authenticate with (Bearer, or GridgateEd25519 on /gate)",
    "schema": {"type": "string"},
}


def build_openapi(app: Chalice, title: str = "gridgate", version: str = "0.1.0") -> dict:
    details_by_route = {
        (path, method): getattr(entry.view_function, "__openapi__", Documented())
        for path, methods in app.routes.items()
        for method, entry in methods.items()
    }
    schemas = _schemas(details_by_route.values())
    paths: dict[str, dict] = {}
    for path in sorted(app.routes):
        for method in sorted(app.routes[path]):
            entry = app.routes[path][method]
            paths.setdefault(path, {})[method.lower()] = _operation(entry, details_by_route[(path, method)])
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": _INFO},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": security_schemes()},
    }


_INFO = """The gridgate API: the city app (residents), gate devices (signed requests), grid workers and
the data center. Every error is an RFC 9457 problem (`application/problem+json`) with a stable
`code`; every answer carries `X-Request-Id`. Lists page with `limit` and an opaque `cursor`; the
answer's `next_cursor` (and its `Link` header) leads to the next page. Generated from the code
(`make openapi`)."""


def _bodies(body: Body | tuple[Body, ...]) -> tuple[Body, ...]:
    return body if isinstance(body, tuple) else (body,)


def _schemas(all_details) -> dict:
    """Request models as they are validated, response models as they are serialised."""
    modes: dict[type[BaseModel], JsonSchemaMode] = {Problem: "serialization"}
    for details in all_details:
        for bodies in details.responses.values():
            modes.update((m, "serialization") for m in _bodies(bodies) if isinstance(m, type))
        if details.request is not None:
            modes[details.request] = "validation"
    pairs = sorted(modes.items(), key=lambda pair: pair[0].__name__)
    _, top = models_json_schema(pairs, ref_template=_REF)
    return dict(sorted(top.get("$defs", {}).items()))


def _ref(model: type[BaseModel]) -> dict:
    return {"$ref": _REF.format(model=model.__name__)}


def _media_schema(media: str) -> dict:
    if media.startswith("text/"):
        return {"type": "string"}
    return {"type": "string", "format": "binary"}


def _operation(entry, details: Documented) -> dict:
    doc = inspect.getdoc(entry.view_function) or entry.view_name
    summary, _, description = doc.partition("\n\n")  # first paragraph, however it is wrapped
    operation: dict = {"operationId": entry.view_name, "summary": " ".join(summary.split())}
    if description.strip():
        operation["description"] = description.strip()
    parameters = [{"name": name, "in": "path", "required": True, "schema": _ID} for name in entry.view_args]
    parameters += [p.as_openapi() for p in _params(details)]
    if parameters:
        operation["parameters"] = parameters
    content = {}
    if details.request is not None:
        content["application/json"] = {"schema": _ref(details.request)}
    content.update((media, {"schema": _media_schema(media)}) for media in details.media)
    if content:
        operation["requestBody"] = {"required": True, "content": content}
    operation["responses"] = _responses(details, bool(entry.view_args))
    if details.role:
        operation["security"] = [{BEARER: []}]
        operation["x-required-role"] = details.role
    elif details.gate:
        operation["security"] = [{GATE: []}]
    else:
        operation["security"] = []
    return operation


def _params(details: Documented) -> list[Param]:
    params = list(details.params)
    if details.paged:
        params += [_LIMIT, _CURSOR]
    if details.idempotent:
        params.append(_IDEMPOTENCY_KEY)
    if details.gate:
        params += [Param(name, "header", schema, text, required) for name, required, schema, text in GATE_HEADERS]
    return params


def error_statuses(details: Documented, has_path_params: bool) -> set[int]:
    """Every error status the operation can answer: its own, and those every such operation shares."""
    statuses = {*details.errors, 415, 500}  # Chalice refuses a Content-Type the route does not take; a bug is a 500
    if details.role:
        statuses |= {401, 403}
    if details.gate:
        statuses.add(401)
    if details.request is not None or details.media or details.paged:
        statuses.add(400)
    if details.idempotent:
        statuses |= {400, 409, 422}
    if has_path_params:
        statuses.add(404)
    return statuses


def _responses(details: Documented, has_path_params: bool) -> dict:
    responses: dict[str, dict] = {}
    for status, bodies in sorted((details.responses or {200: ()}).items()):
        response: dict[str, Any] = {"description": _STATUS_TEXT.get(status, "OK"), "headers": dict(_HEADERS)}
        if details.paged:
            response["headers"]["Link"] = _LINK
        if 300 <= status < 400:
            response["headers"]["Location"] = {
                "schema": {"type": "string"},
                "description": "where the browser goes next",
            }
        content = {}
        for body in _bodies(bodies):
            if isinstance(body, type):
                content["application/json"] = {"schema": _ref(body)}
            else:
                content[body] = {"schema": _media_schema(body)}
        if content:
            response["content"] = content
        responses[str(status)] = response
    for status in sorted(error_statuses(details, has_path_params)):
        headers = dict(_HEADERS)
        if status == 401:
            headers["WWW-Authenticate"] = _CHALLENGE
        content = {PROBLEM_CONTENT_TYPE: {"schema": _ref(Problem)}}
        if str(status) in responses:  # a refusal a browser is shown as a page (the sign-in's), or a problem
            content = {**responses[str(status)].get("content", {}), **content}
        responses[str(status)] = {"description": _STATUS_TEXT[status], "headers": headers, "content": content}
    return responses


def render(app: Chalice) -> str:
    return json.dumps(build_openapi(app), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> None:
    from app import app

    Path(argv[0]).write_text(render(app), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])

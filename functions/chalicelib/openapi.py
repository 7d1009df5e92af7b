"""The OpenAPI 3.1 document of the Chalice app, generated from its routes (``make openapi``).

Every route the app registers appears, whatever blueprint it comes from: path, method, path
parameters, and summary/description from the handler's docstring. A handler may declare more
with `@documented(...)` (placed *under* ``@bp.route``): the pydantic request model, response models
by status, the error statuses it can answer, the role its bearer token needs, and whether it
honours ``Idempotency-Key``. Schemas come from the same pydantic models that validate requests.

`tests/app/test_openapi.py` regenerates the document and fails when `docs/openapi.json` differs,
so the checked-in contract always matches the code. After adding routes: ``make openapi``.
"""

from __future__ import annotations

import inspect
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from chalice import Chalice
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.errors import PROBLEM_CONTENT_TYPE

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
class Documented:
    request: type[BaseModel] | None = None
    #: status -> response model, or a media type string for non-JSON bodies (e.g. "image/png")
    responses: dict[int, type[BaseModel] | str] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    role: str | None = None
    idempotent: bool = False


def documented(**details) -> Callable[[Callable], Callable]:
    """Attach OpenAPI details to a route handler (the error wrapper copies them onto the route)."""

    def attach(handler: Callable) -> Callable:
        handler.__openapi__ = Documented(**details)
        return handler

    return attach


_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    400: "Bad input",
    401: "Missing, invalid or expired bearer token",
    403: "Not allowed for this caller",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Body too large",
    422: "Idempotency-Key reused for a different request",
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
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _schemas(all_details) -> dict:
    """Request models as they are validated, response models as they are serialised."""
    modes: dict[type[BaseModel], str] = {Problem: "serialization"}
    for details in all_details:
        modes.update((m, "serialization") for m in details.responses.values() if isinstance(m, type))
        if details.request is not None:
            modes[details.request] = "validation"
    pairs = sorted(modes.items(), key=lambda pair: pair[0].__name__)
    _, top = models_json_schema(pairs, ref_template=_REF)
    return dict(sorted(top.get("$defs", {}).items()))


def _ref(model: type[BaseModel]) -> dict:
    return {"$ref": _REF.format(model=model.__name__)}


def _operation(entry, details: Documented) -> dict:
    doc = inspect.getdoc(entry.view_function) or entry.view_name
    summary, _, description = doc.partition("\n\n")  # first paragraph, however it is wrapped
    operation: dict = {"operationId": entry.view_name, "summary": " ".join(summary.split())}
    if description.strip():
        operation["description"] = description.strip()
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in entry.view_args
    ]
    if details.idempotent:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "a retry with the same key returns the first result",
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{8,128}$"},
            }
        )
    if parameters:
        operation["parameters"] = parameters
    if details.request is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(details.request)}}}
    operation["responses"] = _responses(details)
    if details.role:
        operation["security"] = [{"bearerAuth": []}]
        operation["x-required-role"] = details.role
    return operation


def _responses(details: Documented) -> dict:
    responses: dict[str, dict] = {}
    for status, body in sorted((details.responses or {200: ""}).items()):
        response = {"description": _STATUS_TEXT.get(status, "OK")}
        if isinstance(body, type):
            response["content"] = {"application/json": {"schema": _ref(body)}}
        elif body:
            response["content"] = {body: {"schema": {"type": "string", "format": "binary"}}}
        responses[str(status)] = response
    for status in sorted(set(details.errors)):
        responses[str(status)] = {
            "description": _STATUS_TEXT.get(status, "Error"),
            "content": {PROBLEM_CONTENT_TYPE: {"schema": _ref(Problem)}},
        }
    return responses


def render(app: Chalice) -> str:
    return json.dumps(build_openapi(app), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> None:
    from app import app

    Path(argv[0]).write_text(render(app), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])

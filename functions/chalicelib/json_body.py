"""Reading a JSON request body into a declared schema, refusing everything else with a clear 4xx.

Order of checks: size first (413 ``body_too_large``, before any parsing work), then JSON syntax
(400 ``malformed_json``), then shape against the pydantic model in strict JSON mode (400
``missing_field`` / ``invalid_field``, naming the field). Strict mode means a date must be an ISO
date string and a count an integer: nothing is guessed from a number or a float string.
"""

from __future__ import annotations

import json
from typing import TypeVar

from chalice.app import Request
from pydantic import BaseModel, ValidationError

from chalicelib.errors import ApiError
from gridgate.config import get_settings

M = TypeVar("M", bound=BaseModel)


def parse_body(request: Request, model: type[M]) -> tuple[M, dict]:
    """The body as `model`, and as the plain JSON object it was (for idempotency fingerprints)."""
    raw = request.raw_body or b""
    limit = get_settings().app_max_body_bytes
    if len(raw) > limit:
        raise ApiError(413, "body_too_large", f"request body is larger than {limit} bytes")
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "malformed_json", "request body is not valid JSON") from None
    if not isinstance(document, dict):
        raise ApiError(400, "malformed_json", "request body must be a JSON object")
    try:
        return model.model_validate_json(raw, strict=True), document
    except ValidationError as exc:
        raise _field_error(exc) from None


def _field_error(exc: ValidationError) -> ApiError:
    first = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or "body"
    if first["type"] == "missing":
        return ApiError(400, "missing_field", f"'{field}' is required", field=field)
    return ApiError(400, "invalid_field", f"'{field}': {first['msg']}", field=field)

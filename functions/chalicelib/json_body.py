"""Reading a JSON request body into a declared schema, refusing everything else with a clear 4xx.

`parse_json` is the one place a request body becomes a JSON value: every JSON endpoint (app, gate,
grid worker) reads through it, so a body the parser cannot handle (bad syntax, bad UTF-8, or
nesting deep enough to exhaust Python's recursion: 3,000 ``[`` are only 6 KB) is a 400, never a
500 from a RecursionError.

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

from chalicelib.request_context import body_bytes
from gridgate.config import get_settings
from gridgate.refusals import Invalid

M = TypeVar("M", bound=BaseModel)


#: Deeper than any body gridgate accepts (its documents nest 3 levels); far below the recursion limit.
MAX_JSON_DEPTH = 32


def parse_json(
    raw: bytes,
    code: str = "malformed_json",
    *,
    non_finite: bool = False,
):
    """`raw` as a JSON value; `Invalid` (400) `code` when it is not JSON, not UTF-8 or nested too deep.

    The depth is checked on the bytes before parsing, so the parser never recurses deeper than
    `MAX_JSON_DEPTH`. NaN and Infinity (which JSON does not have) are refused, unless `non_finite`:
    a gate's upload may carry them in one event's score, and that event, not the batch, is refused.
    """
    if _nesting_depth(raw) > MAX_JSON_DEPTH:
        raise Invalid(code, max_depth=MAX_JSON_DEPTH)
    try:
        return json.loads(raw) if non_finite else json.loads(raw, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Invalid(code) from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _nesting_depth(raw: bytes) -> int:
    """The deepest bracket nesting outside strings (a linear scan; no parsing)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def parse_body(request: Request, model: type[M]) -> tuple[M, dict]:
    """The body as `model`, and as the plain JSON object it was (for idempotency fingerprints)."""
    raw = body_bytes(request)
    limit = get_settings().app_max_body_bytes
    if len(raw) > limit:
        raise Invalid("body_too_large", limit=limit)
    document = parse_json(raw)
    if not isinstance(document, dict):
        raise Invalid("malformed_json")
    try:
        return model.model_validate_json(raw, strict=True), document
    except ValidationError as exc:
        raise _field_error(exc) from None


def _field_error(exc: ValidationError) -> Invalid:
    first = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or "body"
    if first["type"] == "missing":
        return Invalid("missing_field", field=field)
    return Invalid("invalid_field", field=field)

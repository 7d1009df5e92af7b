"""Service refusals as HTTP answers: each kind of `gridgate.services.errors.Refused` has one status."""

from __future__ import annotations

import functools
from typing import Callable

from chalicelib.errors import ApiError
from gridgate.services.errors import Conflict, Invalid, NotAllowed, NotFound, Refused

_STATUS: dict[type[Refused], int] = {Invalid: 400, NotAllowed: 403, NotFound: 404, Conflict: 409}


def as_api_error(refused: Refused) -> ApiError:
    return ApiError(_STATUS.get(type(refused), 400), refused.code, refused.message)


def translate_refusals(handler: Callable) -> Callable:
    """Route decorator: a service's refusal becomes its 4xx instead of an internal error."""

    @functools.wraps(handler)
    def translated(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except Refused as refused:
            raise as_api_error(refused) from None

    return translated

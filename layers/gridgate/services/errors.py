"""Refusals a service states in its own terms; the API layer maps each kind to an HTTP status.

Services never speak HTTP. They raise one of these with a stable machine-readable `code` (the
app branches on it) and a message for people; `chalicelib` turns `NotFound` into 404,
`NotAllowed` into 403, `Conflict` into 409 and `Invalid` into 400.
"""

from __future__ import annotations


class Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Invalid(Refused):
    """The request contradicts the rules (dates, durations, relations)."""


class NotFound(Refused):
    """What the request names does not exist."""


class NotAllowed(Refused):
    """The caller may not act on what the request names."""


class Conflict(Refused):
    """The request cannot be applied in the current state (cap reached, already revoked)."""

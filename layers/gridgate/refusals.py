"""The one family of refusals every service raises: a kind, a stable code, a message for people.

Services never speak HTTP. They raise one of these kinds with a stable machine-readable `code`
(clients branch on it), a message for people and, where it helps the caller, extra members
(`detail`: the field, the version seen). Exactly one table turns a kind into an HTTP status:
`chalicelib.refusals` in the API; the CLI prints the message. Pure computations that do not
depend on services (`gridgate.faces.rejections`, `gridgate.qr.read_failures`, the tokens' and device
signatures' errors) keep their own exceptions; the same table maps them.
"""

from __future__ import annotations


class Refused(Exception):
    """Base of the family: never raised itself, always one of the kinds below."""

    def __init__(self, code: str, message: str, **detail) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


class Invalid(Refused):
    """The request contradicts the rules (dates, durations, relations, a malformed document)."""


class NotFound(Refused):
    """What the request names does not exist."""


class NotAllowed(Refused):
    """The caller may not act on what the request names."""


class Conflict(Refused):
    """The request cannot be applied in the current state (cap reached, already revoked, stale)."""


class Unavailable(Refused):
    """What the answer needs is not there right now (a readiness check failed, a library is missing)."""


class GateRequestRefused(Refused):
    """A gate's request refused as a request (unusable, too large, the wrong direction) though its
    deny is recorded: `code` is the decision's reason, ``detail["decision"]`` the decision."""

"""The one family of refusals every service raises: a kind, a stable code, the facts of the case.

Services never speak HTTP and never word a refusal. They raise one of these kinds with a stable
machine-readable `code` (clients branch on it) and, where it helps the caller, `detail` members
(the field, the limit, the version seen). The words a person reads are the message catalogue's
``error.<code>`` (`gridgate.i18n`, Simplified Chinese first), filled with those members, in the
reader's language: the API picks it from ``Accept-Language`` (`chalicelib.errors`), the CLI from
``--lang``/``LANG``. Exactly one table turns a kind into an HTTP status: `chalicelib.refusal_statuses`.
Pure computations that do not depend on services (`gridgate.faces.rejections`,
`gridgate.qr.read_failures`, the tokens' and device signatures' errors) keep their own exceptions
with the same ``code``/``detail`` shape; the same table maps them and the same catalogue words them.
"""

from __future__ import annotations


class Refused(Exception):
    """Base of the family: never raised itself, always one of the kinds below. It takes no words:
    a second positional argument is a type error, so no sentence can slip into a refusal."""

    def __init__(self, code: str, /, **detail) -> None:
        super().__init__(code)
        self.code = code
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


class CodedError(Exception):
    """The shape of the pure computations' own refusals (face, QR, token, device, sign-in): a
    stable `code` and `detail` members, worded by the catalogue like every `Refused`."""

    def __init__(self, code: str, /, **detail) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail

"""A resident's own identity QR: a code that changes every 30 s, so a screenshot is useless a minute later.

Text format (v1)::

    GGR1:<person_id>:<16 base32 characters>

The code part is TOTP-like (RFC 6238 in spirit): HMAC-SHA256 under a per-person secret over
``"gridgate-resident-qr-v1" | person_id | time step`` with 30-second steps, truncated to 80 bits.
The person id is in the text so the gate knows whose secret to check against; it is the opaque
registry id, never the ID number. The secret is random per person and stored sealed
(`PersonTable.qr_secret_enc`); the app fetches the current code over an authenticated call.

Why a code dies within a minute: the verifier accepts the current step and `skew_steps` either
side (phone and gate clocks differ a little). A code made at time t belongs to step s = t // 30
and is accepted up to the end of step s + 1, i.e. before 30 (s + 2) <= t + 60 seconds. A code
from the future beyond the skew is refused too, so a leaked secret cannot pre-compute far ahead
without also verifying only then.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from datetime import datetime

PREFIX = "GGR1:"
STEP_SECONDS = 30
_CODE_BYTES = 10  # 80 bits: 16 base32 characters
_DOMAIN = b"gridgate-resident-qr-v1"
_MAX_TEXT = 256


class ResidentCodeRejected(Exception):
    """A resident code that identifies nobody: `reason` is bad_format, unknown_person or expired
    (a well-formed code that matches no step near now: stale, from the future, or forged)."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason


def new_secret() -> bytes:
    return os.urandom(20)


def is_resident_code(text: str) -> bool:
    """Whether a QR text is a resident code (as opposed to a visitor pass), by its scheme prefix."""
    return isinstance(text, str) and text.startswith(PREFIX)


def time_step(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def code_for_step(person_id: str, secret: bytes, step: int) -> str:
    """The QR text valid during one time step (the offline snapshot digests these ahead)."""
    message = _DOMAIN + b"|" + person_id.encode("utf-8") + b"|" + step.to_bytes(8, "big")
    mac = hmac.new(secret, message, hashlib.sha256).digest()[:_CODE_BYTES]
    return f"{PREFIX}{person_id}:{base64.b32encode(mac).decode('ascii')}"


def current_code(person_id: str, secret: bytes, now: datetime) -> str:
    return code_for_step(person_id, secret, time_step(now))


def seconds_left(now: datetime) -> int:
    """How long the current code is the newest one (the app redraws it then)."""
    return STEP_SECONDS - int(now.timestamp()) % STEP_SECONDS


def verify_resident_code(
    text: str,
    secret_for: Callable[[str], bytes | None],
    now: datetime,
    skew_steps: int = 1,
) -> str:
    """The person id a code belongs to, if it is theirs and current; raises `ResidentCodeRejected`."""
    person_id = person_of_code(text)
    secret = secret_for(person_id)
    if secret is None:
        raise ResidentCodeRejected("unknown_person", "no resident QR secret for this person")
    step = time_step(now)
    for candidate in range(step - skew_steps, step + skew_steps + 1):
        if hmac.compare_digest(code_for_step(person_id, secret, candidate), text):
            return person_id
    raise ResidentCodeRejected("expired", "resident code is not current (a screenshot or a forgery)")


def person_of_code(text: str) -> str:
    """The person id a well-formed code names (not yet verified); raises `ResidentCodeRejected`."""
    if not is_resident_code(text) or len(text) > _MAX_TEXT:
        raise ResidentCodeRejected("bad_format", "not a gridgate resident code")
    person_id, _, code = text[len(PREFIX) :].rpartition(":")
    if not person_id or len(code) != 16:
        raise ResidentCodeRejected("bad_format", "resident code is malformed")
    return person_id

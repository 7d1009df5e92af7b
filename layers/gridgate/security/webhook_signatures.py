"""Signatures of the webhooks gridgate sends: HMAC-SHA256 over ``timestamp + "." + body``.

A subscriber must be able to tell that a POST came from gridgate, was not altered, and is not an
old request replayed: the signature covers the exact body bytes and the send time, with a secret
only gridgate and that subscriber hold (one per subscription). The header, as Stripe's and Kisi's:

    Gridgate-Signature: t=1767196800,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd

``t`` is the send time (Unix seconds); ``v1`` is the lowercase hex HMAC-SHA256, keyed with the
subscription's secret (its UTF-8 bytes), of ``f"{t}.{body}"``. A receiver recomputes it over the
raw body it received, compares in constant time, and refuses a ``t`` further than a few minutes
from its clock. Retries are signed afresh (new ``t``), with the same ``Gridgate-Event-Id``.
docs/events-out.md has a worked example and a receiver's code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Gridgate-Signature"
EVENT_ID_HEADER = "Gridgate-Event-Id"
ATTEMPT_HEADER = "Gridgate-Delivery-Attempt"
#: How far a receiver should accept ``t`` from its own clock (what `verify` defaults to).
DEFAULT_TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """A subscriber's signing secret: 32 random bytes, shown once at creation ("whsec_" + hex)."""
    return "whsec_" + secrets.token_hex(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> bool:
    """What a receiver does: True only for a well-formed header, a fresh `t`, and a matching `v1`."""
    fields = dict(part.partition("=")[::2] for part in header.split(","))
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(fields.get("v1", ""), signature(secret, timestamp, body))

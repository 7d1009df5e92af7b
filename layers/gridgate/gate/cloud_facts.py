"""The cloud's answers to the gate rules (`GateFacts`), and the gate records' cache.

`CloudGateFacts` asks DynamoDB (events, passes, rights, resident secrets) and the per-estate
face-gallery cache (`gridgate.gate.estate_gallery.EstateGalleryCache`); `gridgate.gate.bootstrap`
wires it once per warm function, so caches (galleries, gate records, pass public keys) outlive
one request.

A live decision request's nonce is not claimed by the authenticator: `GateServices.decider` binds
it to that request's facts (`CloudGateFacts.claiming`), whose `record` claims it in the write that
stores the decision (`gridgate.adapters.gate_writes`). The rules never see it; offline there is none.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Generic, TypeVar

from gridgate.adapters.events import EventRepository
from gridgate.adapters.gate_writes import GateEventWriter
from gridgate.domain.model import AccessEvent
from gridgate.domain.rights import Right
from gridgate.gate.decision import (
    RESIDENT_CODE_SKEW_STEPS,
    Identified,
    PassUse,
    Reason,
    Refused,
    identified_from_match,
    refused_from_pass,
    refused_from_resident_code,
    verified_pass,
)
from gridgate.gate.estate_gallery import EstateGalleryCache, GalleryNotReady
from gridgate.residents.entry_rights import effective_right
from gridgate.security.device_auth import NonceClaim
from gridgate.security.resident_qr import ResidentCodeRejected, person_of_code, verify_resident_code
from gridgate.security.signed_passes import PassClaims, PassRejected

Value = TypeVar("Value")


@dataclass(frozen=True)
class CloudGateFacts:
    """`GateFacts` from the cloud's tables: strongly consistent where a revocation must bite at once.

    `nonce`: the verified request whose decision these facts record (see `claiming`); None for
    the warm function's shared facts, which record events that come with no request of their own
    to claim (offline uploads claim theirs up front).
    """

    pass_keys: dict[str, bytes]
    events: EventRepository
    writer: GateEventWriter
    galleries: EstateGalleryCache
    secret_for: Callable[[str], bytes | None]
    #: Runs the reads a decision can start before it needs them (`face_coming`, `resident_of_code`).
    reads_ahead: Executor
    nonce: NonceClaim | None = None
    #: This request's reads started ahead: estate -> its gallery; (person, estate, at) -> the right.
    galleries_ahead: dict[str, Future] = field(default_factory=dict, compare=False)
    rights_ahead: dict[tuple[str, str, datetime], Future] = field(default_factory=dict, compare=False)

    def claiming(self, nonce: NonceClaim) -> CloudGateFacts:
        """These facts for one decision request: `record` claims `nonce` in the write that stores the
        event, and raises `ReplayedRequest` (storing nothing) when it was used before."""
        return replace(self, nonce=nonce, galleries_ahead={}, rights_ahead={})

    def stored_event(self, event_id: str, estate_id: str, occurred_at: datetime) -> AccessEvent | None:
        return self.events.get(estate_id, occurred_at, event_id)

    def face_coming(self, estate_id: str) -> None:
        """The gallery's version check (and any delta) runs while the face model works."""
        if self.nonce is not None:  # bound to one request: the future is this request's alone
            self.galleries_ahead[estate_id] = self.reads_ahead.submit(self.galleries.gallery, estate_id)

    def match_face(self, estate_id: str, probe) -> Identified:
        ahead = self.galleries_ahead.pop(estate_id, None)
        try:
            gallery = ahead.result() if ahead is not None else self.galleries.gallery(estate_id)
        except GalleryNotReady as not_ready:
            raise Refused(Reason.GALLERY_NOT_READY) from not_ready
        return identified_from_match(gallery.match(probe))

    def right_of(self, person_id: str, estate_id: str, at: datetime) -> Right | None:
        ahead = self.rights_ahead.pop((person_id, estate_id, at), None)
        return ahead.result() if ahead is not None else effective_right(person_id, estate_id, at)

    def verify_pass(self, text: str, estate_id: str, at: datetime) -> PassClaims:
        return verified_pass(text, self.pass_keys, estate_id, at)

    def resident_of_code(self, text: str, estate_id: str, at: datetime) -> str:
        """The secret's read and the named person's right are read together (one round trip's
        wait, not two); the right is only used once the code proved to be that person's."""
        try:
            if self.nonce is not None:
                claimed = person_of_code(text)
                self.rights_ahead[(claimed, estate_id, at)] = self.reads_ahead.submit(
                    effective_right, claimed, estate_id, at
                )
            return verify_resident_code(text, self.secret_for, at, skew_steps=RESIDENT_CODE_SKEW_STEPS)
        except ResidentCodeRejected as rejected:
            raise refused_from_resident_code(rejected) from rejected

    def record(self, event: AccessEvent, pass_use: PassUse | None = None) -> bool:
        if pass_use is None:
            return self.writer.append(event, self.nonce)
        try:
            return self.writer.append_with_pass_use(event, pass_use.pass_id, pass_use.at, self.nonce)
        except PassRejected as rejected:
            raise refused_from_pass(rejected) from rejected


class CachedLookup(Generic[Value]):
    """A per-key lookup cached for `ttl` seconds: a gate request costs no read of the gates table
    (or of the estate's face-matching mode), and a replaced or withdrawn device key, or a changed
    mode, takes effect within `ttl`."""

    def __init__(self, fetch: Callable[[str], Value], ttl: float = 60.0) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Value]] = {}

    def get(self, key: str) -> Value:
        hit = self._cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < self._ttl:
            return hit[1]
        value = self._fetch(key)
        self._cache[key] = (time.monotonic(), value)
        return value

"""The cloud's answers to the gate rules (`GateFacts`), and the gate records' cache.

`CloudGateFacts` asks DynamoDB (events, passes, rights, resident secrets) and the per-estate
face-gallery cache (`gridgate.gate.estate_gallery.EstateGalleryCache`); `gridgate.gate.wiring`
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
from gridgate.adapters.item_checks import CheckFailed, ItemCheck
from gridgate.adapters.resident_secrets import ResidentSecretStore, SealedSecret
from gridgate.config import get_settings
from gridgate.domain.model import AccessEvent
from gridgate.domain.policy import local_date
from gridgate.domain.rights import Right
from gridgate.gate.decision import (
    RESIDENT_CODE_SKEW_STEPS,
    Denied,
    Identified,
    PassUse,
    Reason,
    denied_from_pass,
    denied_from_resident_code,
    identified_from_match,
    verified_pass,
)
from gridgate.gate.estate_gallery import EstateGalleryCache, GalleryNotReady
from gridgate.gate.resident_facts import FactsChanged, ResidentFacts
from gridgate.residents.entry_rights import effective_right, effective_right_with_basis
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
    secret_for: Callable[[str], SealedSecret | None]
    #: Runs the reads a decision can start before it needs them (`face_coming`, `resident_of_code`).
    reads_ahead: Executor
    #: Secrets and rights earlier live decisions read (`gridgate.gate.resident_facts`).
    remembered: ResidentFacts
    nonce: NonceClaim | None = None
    #: This request's reads started ahead: estate -> its gallery; (person, estate, at) -> the right.
    galleries_ahead: dict[str, Future] = field(default_factory=dict, compare=False)
    rights_ahead: dict[tuple[str, str, datetime], Future] = field(default_factory=dict, compare=False)
    #: This request's remembered facts: the conditions its write carries, and whose facts they are.
    checks: list[ItemCheck] = field(default_factory=list, compare=False)
    relied_on: set[str] = field(default_factory=set, compare=False)

    def claiming(self, nonce: NonceClaim) -> CloudGateFacts:
        """These facts for one decision request: `record` claims `nonce` in the write that stores the
        event, and raises `ReplayedRequest` (storing nothing) when it was used before."""
        return replace(self, nonce=nonce, galleries_ahead={}, rights_ahead={}, checks=[], relied_on=set())

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
            raise Denied(Reason.GALLERY_NOT_READY) from not_ready
        return identified_from_match(gallery.match(probe))

    def right_of(self, person_id: str, estate_id: str, at: datetime) -> Right | None:
        """A live decision uses a right remembered here, its rows checked by the write; else it is read
        (and remembered when it opens)."""
        if self.nonce is None:
            return effective_right(person_id, estate_id, at)
        ahead = self.rights_ahead.pop((person_id, estate_id, at), None)
        if ahead is None and (known := self.remembered.right(person_id, estate_id)) is not None:
            remembered_right, its_basis = known
            self._rely_on(person_id, its_basis.checks(local_date(at, get_settings().city_timezone)))
            return remembered_right
        right, basis = ahead.result() if ahead is not None else effective_right_with_basis(person_id, estate_id, at)
        if right is not None and basis is not None:
            self.remembered.remember_right(person_id, estate_id, right, basis)
        return right

    def verify_pass(self, text: str, estate_id: str, at: datetime) -> PassClaims:
        return verified_pass(text, self.pass_keys, estate_id, at)

    def resident_of_code(self, text: str, estate_id: str, at: datetime) -> str:
        """A live decision checks the code with the person's secret remembered here (the write
        checks that it is still theirs) or reads it; a right not remembered is read together with
        it (one round trip's wait, not two) and only used once the code proved to be that person's."""
        try:
            if self.nonce is None:
                return verify_resident_code(text, self._secret, at, skew_steps=RESIDENT_CODE_SKEW_STEPS)
            claimed = person_of_code(text)
            if self.remembered.right(claimed, estate_id) is None:
                self.rights_ahead[(claimed, estate_id, at)] = self.reads_ahead.submit(
                    effective_right_with_basis, claimed, estate_id, at
                )
            sealed = self.remembered.secret(claimed)
            if sealed is not None:
                self._rely_on(claimed, [ResidentSecretStore.unchanged_check(claimed, sealed.sealed)])
            else:
                sealed = self.secret_for(claimed)
                if sealed is not None:
                    self.remembered.remember_secret(claimed, sealed)
            secret = None if sealed is None else sealed.secret
            return verify_resident_code(
                text, lambda pid: secret if pid == claimed else None, at, skew_steps=RESIDENT_CODE_SKEW_STEPS
            )
        except ResidentCodeRejected as rejected:
            raise denied_from_resident_code(rejected) from rejected

    def _secret(self, person_id: str) -> bytes | None:
        sealed = self.secret_for(person_id)
        return None if sealed is None else sealed.secret

    def _rely_on(self, person_id: str, checks) -> None:
        self.checks.extend(checks)
        self.relied_on.add(person_id)

    def record(self, event: AccessEvent, pass_use: PassUse | None = None) -> bool:
        """Raises `FactsChanged` (nothing stored, the facts relied on forgotten) when a remembered
        fact no longer held."""
        checks = tuple(self.checks)
        try:
            if pass_use is None:
                return self.writer.append(event, self.nonce, checks)
            return self.writer.append_with_pass_use(event, pass_use.pass_id, pass_use.at, self.nonce, checks)
        except PassRejected as rejected:
            raise denied_from_pass(rejected) from rejected
        except CheckFailed as failed:
            for person_id in self.relied_on:
                self.remembered.forget(person_id)
            raise FactsChanged() from failed


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

"""What a warm gate function remembers about residents between decisions, and why that is safe.

A resident code needs the person's QR secret (to check the code) and the person's right here;
read every time, that is a round trip before the decision's write, where a visitor pass needs none
(its signature is checked with public keys the function holds). So a live decision uses what an
earlier one read, and sends the conditions under which it is still true with its own write
(`ItemCheck`s: the secret's sealed value unchanged, the right's ownership and grant rows still
current today; `gridgate.adapters.gate_writes`). If one no longer holds, the write stores nothing,
the person is forgotten here and the decision is made again from fresh reads (`FactsChanged`):
a revoked grant, a sold home or a new secret is refused at the very next decision, as before.

Only facts that open are remembered: "no right here" cannot be written as a condition on an item
(a new grant is a new row), so it is always read. Entries live `ttl` seconds, which bounds how
long a stronger right granted meanwhile (a tenant who bought the home) is still reported as the
weaker one that is remembered; what opens is exact either way.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from gridgate.adapters.resident_secrets import SealedSecret
from gridgate.domain.rights import Right
from gridgate.residents.entry_rights import RightBasis

#: How long a remembered secret or right is used before it is read again.
REMEMBER_SECONDS = 300.0
#: Residents remembered per warm function (a few hundred bytes each).
REMEMBER_AT_MOST = 100_000


class FactsChanged(Exception):
    """A remembered fact no longer held at the decision's write; nothing was stored: decide again."""


class ResidentFacts:
    def __init__(
        self,
        ttl: float = REMEMBER_SECONDS,
        at_most: int = REMEMBER_AT_MOST,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl, self._at_most, self._monotonic = ttl, at_most, monotonic
        self._entries: OrderedDict[tuple[str, ...], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def secret(self, person_id: str) -> SealedSecret | None:
        return self._get(("secret", person_id))

    def remember_secret(self, person_id: str, sealed: SealedSecret) -> None:
        self._put(("secret", person_id), sealed)

    def right(self, person_id: str, estate_id: str) -> tuple[Right, RightBasis] | None:
        return self._get(("right", person_id, estate_id))

    def remember_right(self, person_id: str, estate_id: str, right: Right, basis: RightBasis) -> None:
        self._put(("right", person_id, estate_id), (right, basis))

    def forget(self, person_id: str) -> None:
        with self._lock:
            for key in [key for key in self._entries if key[1] == person_id]:
                del self._entries[key]

    def _get(self, key: tuple[str, ...]):
        with self._lock:
            found = self._entries.get(key)
            if found is None or self._monotonic() - found[0] >= self._ttl:
                return None
            return found[1]

    def _put(self, key: tuple[str, ...], value) -> None:
        with self._lock:
            self._entries[key] = (self._monotonic(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._at_most:
                self._entries.popitem(last=False)

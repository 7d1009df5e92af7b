"""Helpers of the app-functions tests: a city builder with fresh ids per test, tokens, JSON calls."""

from __future__ import annotations

import json
import os
import threading
import uuid
from dataclasses import dataclass, field
from datetime import date

from gridgate import clock


@dataclass
class Estate:
    """One estate with homes; `owners[home_id]` is the owning person id."""

    estate_id: str
    grid_id: str
    homes: list[str] = field(default_factory=list)
    owners: dict[str, str] = field(default_factory=dict)


@dataclass
class CityBuilder:
    """Writes registry facts through the foundation's repositories, each test with fresh ids."""

    protector: object
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    _serial: int = 0

    def _next(self, kind: str) -> str:
        self._serial += 1
        return f"{kind}-{self.tag}-{self._serial}"

    def person(self, name: str = "测试") -> tuple[str, str]:
        """A new person in the app registry; returns (person_id, ID number)."""
        from gridgate.adapters.repositories import PersonRepository
        from gridgate.domain.model import Person, Registry

        person_id = self._next("P")
        id_number = f"320102{uuid.uuid4().int % 10**12:012d}"
        PersonRepository(self.protector).add(Person(person_id, name, id_number, frozenset({Registry.APP}), 1985, "F"))
        return person_id, id_number

    def estate(self, homes: int = 1, floor_area_m2: float = 90.0, owner: str | None = None) -> Estate:
        """An estate with `homes` homes, all owned (since 2020) by `owner` or by one new person each."""
        from gridgate.adapters.repositories import (
            HomeRepository,
            OwnershipRepository,
            PlaceRepository,
        )
        from gridgate.domain.model import Home, Ownership, Place, PlaceKind

        estate = Estate(self._next("E"), self._next("G"))
        PlaceRepository().add(
            Place(estate.estate_id, PlaceKind.ESTATE, "测试小区", estate.grid_id, {PlaceKind.GRID: estate.grid_id})
        )
        for n in range(homes):
            home_id = f"H-{estate.estate_id}-{n + 1}"
            HomeRepository().add(
                Home(
                    home_id,
                    estate.estate_id,
                    f"B-{estate.estate_id}",
                    "1",
                    3,
                    f"30{n + 1}",
                    floor_area_m2,
                    estate.grid_id,
                )
            )
            owner_id = owner or self.person("房主")[0]
            OwnershipRepository().add(Ownership(owner_id, home_id, estate.estate_id, date(2020, 1, 1)))
            estate.homes.append(home_id)
            estate.owners[home_id] = owner_id
        return estate

    def gate(self, estate_id: str) -> tuple[str, bytes]:
        """A gate of the estate (both directions) with a fresh Ed25519 key; returns (gate id, private key)."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from gridgate.adapters.repositories import GateRepository
        from gridgate.domain.model import Gate, GateDirection
        from gridgate.security.keyring import ed25519_public_key

        gate_id = self._next("gate")
        private = Ed25519PrivateKey.generate().private_bytes_raw()
        GateRepository().add(Gate(gate_id, estate_id, GateDirection.BOTH, f"{gate_id}-k1", ed25519_public_key(private)))
        return gate_id, private


def bearer(subject: str, roles=("resident",), **kwargs) -> dict[str, str]:
    from gridgate.security.tokens import issue_token

    return {"Authorization": f"Bearer {issue_token(subject, roles, **kwargs)}"}


def call(client, method: str, path: str, who: str | None = None, body=None, headers: dict | None = None):
    """One JSON request as resident `who` (no token when None); returns (status, parsed body)."""
    all_headers = {"Content-Type": "application/json", **(bearer(who) if who else {}), **(headers or {})}
    raw = body if isinstance(body, (bytes, str)) else (json.dumps(body) if body is not None else b"")
    response = client.http.request(
        method, path, headers=all_headers, body=raw.encode() if isinstance(raw, str) else raw
    )
    content_type = response.headers.get("Content-Type", "")
    return response.status_code, json.loads(
        response.body
    ) if "json" in content_type and response.body else response.body


def city_today() -> date:
    """Today in the city's time zone (grant dates are local dates)."""
    return clock.today()


def grant_body(
    id_number: str, relation: str = "family", starts_on: date | None = None, ends_on: date | None = None
) -> dict:
    body = {"grantee_id_number": id_number, "relation": relation, "starts_on": (starts_on or city_today()).isoformat()}
    if ends_on is not None:
        body["ends_on"] = ends_on.isoformat()
    return body


def race(count: int, request) -> list:
    """`request(i)` from `count` threads released at once; their results in completion order."""
    start = threading.Barrier(count)
    results, lock = [], threading.Lock()

    def run(index: int) -> None:
        start.wait()
        result = request(index)
        with lock:
            results.append(result)

    environment = os.environ  # Chalice's test client swaps os.environ per request, which threads interleave
    try:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        os.environ = environment  # noqa: B003 (puts back the very object Chalice swapped out)
    return results

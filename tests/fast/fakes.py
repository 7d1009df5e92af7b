"""Fakes at the ports: what the rules and the use cases ask for, held in dicts.

They keep the adapters' contracts (a home's cap and grantee set taken in one step, a pass use
refused once revoked or used up, an event stored once per id) so the rules around them run as
they do against DynamoDB; that the tables really do this atomically is what the moto tests show.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from gridgate.adapters.grant_repository import AlreadyGranted, CapReached, GrantNotActive
from gridgate.domain.model import AccessEvent, Grant, GrantStatus, Home, Ownership, PassStatus, VisitorPass
from gridgate.domain.rights import Right, pass_status_at
from gridgate.gate.decision import (
    Denied,
    Identified,
    PassUse,
    Reason,
    denied_from_pass,
    denied_from_resident_code,
    verified_pass,
)
from gridgate.security.resident_qr import ResidentCodeRejected, verify_resident_code
from gridgate.security.signed_passes import PassClaims, PassRejected


class DictGateFacts:
    """`GateFacts` from dicts: faces by probe, rights by (person, estate), passes by id, secrets."""

    def __init__(self, pass_keys: dict[str, bytes]) -> None:
        self.pass_keys = pass_keys
        self.faces: dict[object, Identified] = {}
        self.rights: dict[tuple[str, str], Right] = {}
        self.passes: dict[str, VisitorPass] = {}
        self.secrets: dict[str, bytes] = {}
        self.events: dict[str, AccessEvent] = {}
        self.galleries_not_ready: set[str] = set()  # estates whose gallery is still being built

    def stored_event(self, event_id: str, estate_id: str, occurred_at: datetime) -> AccessEvent | None:
        return self.events.get(event_id)

    def face_coming(self, estate_id: str) -> None:
        """Dicts need no fetching ahead."""

    def match_face(self, estate_id: str, probe) -> Identified:
        if estate_id in self.galleries_not_ready:
            raise Denied(Reason.GALLERY_NOT_READY)
        return self.faces.get(probe, Identified(score=0.1))

    def right_of(self, person_id: str, estate_id: str, at: datetime) -> Right | None:
        return self.rights.get((person_id, estate_id))

    def verify_pass(self, text: str, estate_id: str, at: datetime) -> PassClaims:
        return verified_pass(text, self.pass_keys, estate_id, at)

    def resident_of_code(self, text: str, estate_id: str, at: datetime) -> str:
        try:
            return verify_resident_code(text, self.secrets.get, at)
        except ResidentCodeRejected as rejected:
            raise denied_from_resident_code(rejected) from rejected

    def record(self, event: AccessEvent, pass_use: PassUse | None = None) -> bool:
        if event.event_id in self.events:
            return False
        if pass_use is not None:
            known = self.passes.get(pass_use.pass_id)
            if known is None:
                raise denied_from_pass(PassRejected("unknown_pass"))
            status = pass_status_at(known, pass_use.at)
            if status != PassStatus.ACTIVE:
                raise denied_from_pass(PassRejected(status.value))
            self.passes[known.pass_id] = replace(known, uses=known.uses + 1)
        self.events[event.event_id] = event
        return True


class FakeHomes:
    def __init__(self, *homes: Home) -> None:
        self.homes = {h.home_id: h for h in homes}

    def get(self, home_id: str) -> Home | None:
        return self.homes.get(home_id)


class FakeOwnerships:
    def __init__(self, *ownerships: Ownership) -> None:
        self.ownerships = list(ownerships)

    def current_for_person(self, person_id: str, on: date) -> list[Ownership]:
        return [o for o in self.ownerships if o.person_id == person_id and o.is_current(on)]


class FakePeople:
    """The registry's look-up by ID number (stored sealed in the cloud; plain here)."""

    def __init__(self, by_id_number: dict[str, str]) -> None:
        self.by_id_number = by_id_number

    def find_id_by_id_number(self, id_number: str) -> str | None:
        return self.by_id_number.get(id_number)


class FakeGrants:
    """A home's grants, its cap counter and its grantee set, changed together like the table's transaction."""

    def __init__(self) -> None:
        self.grants: dict[tuple[str, str], Grant] = {}
        self.expired_up_to: dict[str, date] = {}

    def _active(self, home_id: str) -> list[Grant]:
        return [g for (h, _), g in self.grants.items() if h == home_id and g.status == GrantStatus.ACTIVE]

    def create(self, grant: Grant, cap: int) -> None:
        active = self._active(grant.home_id)
        if any(g.grantee_id == grant.grantee_id for g in active):
            raise AlreadyGranted(grant.grantee_id)
        if len(active) >= cap:
            raise CapReached(f"home {grant.home_id} has no free grant slot (cap {cap})")
        self.grants[(grant.home_id, grant.grant_id)] = grant

    def expire_due(self, home_id: str, today: date) -> None:
        self.expired_up_to[home_id] = today
        for key, g in list(self.grants.items()):
            if key[0] == home_id and g.status == GrantStatus.ACTIVE and g.ends_on is not None and g.ends_on < today:
                self.grants[key] = replace(g, status=GrantStatus.EXPIRED)

    def of_home(self, home_id: str) -> list[Grant]:
        return [g for (h, _), g in self.grants.items() if h == home_id]

    def get(self, home_id: str, grant_id: str) -> Grant | None:
        return self.grants.get((home_id, grant_id))

    def revoke(self, home_id: str, grant_id: str, at: datetime) -> Grant:
        grant = self.grants.get((home_id, grant_id))
        if grant is None or grant.status != GrantStatus.ACTIVE:
            raise GrantNotActive(f"no grant {grant_id} at home {home_id}")
        revoked = replace(grant, status=GrantStatus.REVOKED, revoked_at=at)
        self.grants[(home_id, grant_id)] = revoked
        return revoked


class FakePasses:
    def __init__(self) -> None:
        self.passes: dict[str, VisitorPass] = {}

    def create(self, visitor_pass: VisitorPass) -> None:
        self.passes[visitor_pass.pass_id] = visitor_pass

    def get(self, pass_id: str) -> VisitorPass | None:
        return self.passes.get(pass_id)

    def of_home(self, home_id: str) -> list[VisitorPass]:
        return [p for p in self.passes.values() if p.home_id == home_id]

    def page_of_home(
        self, home_id: str, limit: int, start: dict | None = None
    ) -> tuple[list[VisitorPass], dict | None]:
        """Newest first, `limit` at a time; the resume key is the position (DynamoDB's is a key)."""
        ordered = sorted(self.of_home(home_id), key=lambda p: p.valid_from, reverse=True)
        at = start["position"] if start else 0
        page = ordered[at : at + limit]
        return page, {"position": at + limit} if at + limit < len(ordered) else None

    def revoke(self, pass_id: str, at: datetime) -> VisitorPass:
        known = self.passes.get(pass_id)
        if known is None:
            raise PassRejected("unknown_pass")
        status = pass_status_at(known, at)
        if status != PassStatus.ACTIVE:
            raise PassRejected(status.value)
        revoked = replace(known, status=PassStatus.REVOKED, revoked_at=at)
        self.passes[pass_id] = revoked
        return revoked


class FakeAudit:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, str]] = []
        self.details: list[dict] = []

    def record(self, actor: str, action: str, subject: str, *, request_id=None, detail=None) -> None:
        self.records.append((actor, action, subject))
        self.details.append({"request_id": request_id, **(detail or {})})


class FakeConsents:
    """Consent records keyed like the table: (person, given_at); a re-add replaces (a withdrawal)."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, datetime], object] = {}

    def add(self, consent) -> None:
        self.records[(consent.person_id, consent.given_at)] = consent

    def for_person(self, person_id: str) -> list:
        return [c for (pid, _), c in sorted(self.records.items(), key=lambda kv: kv[0][1]) if pid == person_id]


class FakeRegistry:
    """People by person id (`ConsentLedger`'s look-up of a birth year and a registered home)."""

    def __init__(self, *people) -> None:
        self.people = {p.person_id: p for p in people}

    def get(self, person_id: str):
        return self.people.get(person_id)

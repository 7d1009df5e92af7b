"""Who may receive which access events, and how much of each: the scope of an outside system.

Two scopes (docs/events-out.md):

* ``estates`` — a property company (token role ``property_company``): only the estates its token
  names, and of each event only what managing a gate needs: when, which gate, in or out, how
  (face / QR), open or deny and why, which right and home. The person is a pseudonym keyed for
  that company (`IdentifierProtector.audience_pseudonym`): it can tell the same resident passed
  twice, never who it is, and two companies' pseudonyms do not link. No pass id, no match score,
  no registry. Events carry no name, phone, ID number or face in any scope.
* ``city`` — a city platform (police, the city's data hub), created by a ``data_center`` caller:
  every estate (or the estates it names), with gridgate's internal person and pass ids (pseudonymous ids the platform can
  resolve through the registries it is already entitled to), the registry and the match score.

The scope is always taken from the caller's verified token, never from what it asks for: a
property company asking for an estate its token does not name is refused (`NotAllowed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from gridgate.domain.model import AccessEvent
from gridgate.refusals import Invalid, NotAllowed
from gridgate.security.identifiers import IdentifierProtector
from gridgate.security.tokens import Principal

ESTATES, CITY = "estates", "city"
MAX_ESTATES = 200


@dataclass(frozen=True)
class Scope:
    kind: str  # ESTATES (a company's detail) or CITY (the city's detail)
    estate_ids: frozenset[str]  # CITY: empty for every estate
    audience: str  # whose pseudonyms: the company (token subject) that owns the subscription

    def covers(self, estate_id: str) -> bool:
        return estate_id in self.estate_ids or (self.kind == CITY and not self.estate_ids)


def scope_for(principal: Principal, requested: list[str] | None) -> Scope:
    """The scope `principal` may have for the estates it asks for (None / empty: all it may have)."""
    if requested is not None and (
        not isinstance(requested, list) or not all(isinstance(e, str) and e for e in requested)
    ):
        raise Invalid("bad_estates", "estate_ids must be a list of estate ids")
    wanted = frozenset(requested or ())
    if len(wanted) > MAX_ESTATES:
        raise Invalid("bad_estates", f"at most {MAX_ESTATES} estates per subscription")
    if "data_center" in principal.roles:
        return Scope(CITY, wanted, principal.subject)
    if "property_company" in principal.roles:
        if not principal.estates:
            raise NotAllowed("out_of_scope", "this token names no estates")
        foreign = wanted - principal.estates
        if foreign:
            raise NotAllowed("out_of_scope", f"estates not managed by this company: {', '.join(sorted(foreign))}")
        return Scope(ESTATES, wanted or principal.estates, principal.subject)
    raise NotAllowed("forbidden", "events go out only to property companies and the data center")


def event_record(event: AccessEvent, scope: Scope, protector: IdentifierProtector, city_timezone) -> dict:
    """One event as `scope` may see it: the webhook's ``data`` and a row of an export. Times are
    labelled: ``occurred_at_utc`` (Z) and ``occurred_at_local`` (the city's civil time, +08:00)."""
    occurred = event.occurred_at.astimezone(UTC)
    record: dict[str, object] = {
        "event_id": event.event_id,
        "occurred_at_utc": occurred.isoformat().replace("+00:00", "Z"),
        "occurred_at_local": occurred.astimezone(city_timezone).isoformat(),
        "estate_id": event.estate_id,
        "gate_id": event.gate_id,
        "direction": event.direction.value,
        "method": event.method.value,
        "outcome": event.outcome.value,
        "reason": event.reason,
        "right": event.right,
        "home_id": event.home_id,
    }
    if scope.kind == CITY:
        record.update(
            person_id=event.person_id,
            pass_id=event.pass_id,
            registry=event.registry.value if event.registry else None,
            score=event.score,
        )
    else:
        record["person_ref"] = (
            protector.audience_pseudonym(event.person_id, audience=scope.audience) if event.person_id else None
        )
    return record

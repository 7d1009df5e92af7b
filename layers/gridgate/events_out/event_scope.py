"""Who may receive which events, and how much of each: the scope of an outside system.

Three kinds of event go out: ``access`` (a gate passage), ``finding`` (a reconciliation finding)
and ``alert`` (a key-group alert). Which scope may receive which kind is decided here, once, in
`RULES` (docs/events-out.md has the table and the reasons), and enforced twice: when a
subscription is created (`scope_for`: 403 ``kind_not_allowed`` / ``out_of_scope``) and again at
every delivery (`Scope.may_receive`, against the rules in force, not what was stored).

* ``estates`` — a property company (role ``property_company``): the estates its token names;
  access events and findings about its homes. Never alerts: whether a resident is elderly and
  alone or under community correction is sensitive personal information (PIPL Art. 28) that no
  law gives a property company.
* ``grids`` — a street office (role ``street_office``): the grids its token names; findings
  (what its grid workers act on). No access events, no alerts.
* ``civil_affairs`` / ``justice`` — a district's civil-affairs office (role
  ``civil_affairs_office``: elderly-alone welfare alerts) or justice office (role
  ``justice_office``: community-correction alerts, Community Correction Law Art. 29): the
  districts its token names, only the alert types its law covers.
* ``city`` — a city platform (police, the city's data hub), created by a ``data_center`` caller:
  every estate (or the estates it names), access events and findings with gridgate's internal
  person and pass ids (pseudonymous ids the platform resolves through the registries it is
  already entitled to), the registry and the match score. No alerts.

Every scope but ``city`` sees a person only as a pseudonym keyed for that subscriber
(`IdentifierProtector.audience_pseudonym`): it can tell the same person twice, never who, and
two subscribers' pseudonyms do not link. No scope receives a name, phone, ID number or face.

The scope is always taken from the caller's verified token, never from what it asks for: a
caller asking for a place its token does not name is refused (`NotAllowed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from gridgate.domain.model import AccessEvent
from gridgate.refusals import Invalid, NotAllowed
from gridgate.security.identifiers import IdentifierProtector
from gridgate.security.tokens import Principal

ACCESS, FINDING, ALERT = "access", "finding", "alert"
KINDS = (ACCESS, FINDING, ALERT)
ESTATES, GRIDS, CIVIL_AFFAIRS, JUSTICE, CITY = "estates", "grids", "civil_affairs", "justice", "city"
MAX_PLACES = 200
#: Key-group alert types (the same strings as `gridgate.analytics.key_group_alerts.ALERT_TYPES`,
#: a test keeps them equal; not imported: that module needs polars, which the API does not ship).
WELFARE_ALERTS = frozenset({"living_alone_no_exit"})
CORRECTION_ALERTS = frozenset({"correction_unusual_hours", "correction_absent"})
ALERT_TYPES = WELFARE_ALERTS | CORRECTION_ALERTS


@dataclass(frozen=True)
class ScopeRule:
    """What one scope is: whose it is, which places it names and where, what it may receive."""

    role: str  # the token role that gets this scope
    claim: str | None  # the `Principal` field naming its places; None: any place (the city)
    field: str  # the request's and answer's field for its places
    kinds: frozenset[str]
    alert_types: frozenset[str] = frozenset()


#: Which scope may receive which kind (in the order a token's roles are tried).
RULES: dict[str, ScopeRule] = {
    CITY: ScopeRule("data_center", None, "estate_ids", frozenset({ACCESS, FINDING})),
    ESTATES: ScopeRule("property_company", "estates", "estate_ids", frozenset({ACCESS, FINDING})),
    GRIDS: ScopeRule("street_office", "grids", "grid_ids", frozenset({FINDING})),
    CIVIL_AFFAIRS: ScopeRule("civil_affairs_office", "districts", "district_ids", frozenset({ALERT}), WELFARE_ALERTS),
    JUSTICE: ScopeRule("justice_office", "districts", "district_ids", frozenset({ALERT}), CORRECTION_ALERTS),
}
PLACE_FIELDS = ("estate_ids", "grid_ids", "district_ids")


@dataclass(frozen=True)
class FindingPlace:
    """Where a finding is, at every level a scope can name."""

    grid_id: str
    estate_id: str | None
    district_id: str | None


@dataclass(frozen=True)
class Scope:
    kind: str  # one of RULES
    places: frozenset[str]  # its estates, grids or districts; CITY: empty for every estate
    audience: str  # whose pseudonyms: the subscriber (token subject) that owns the subscription
    kinds: frozenset[str] = frozenset({ACCESS})

    @property
    def rule(self) -> ScopeRule:
        return RULES[self.kind]

    def covers(self, estate_id: str) -> bool:
        """Whether an access event at `estate_id` is in this scope's places."""
        return estate_id in self.places or (self.kind == CITY and not self.places)

    def covers_place(self, place: FindingPlace) -> bool:
        """Whether a finding at `place` is in this scope's places."""
        if self.kind in (ESTATES, CITY):
            return (self.kind == CITY and not self.places) or place.estate_id in self.places
        if self.kind == GRIDS:
            return place.grid_id in self.places
        return place.district_id in self.places

    def may_receive(self, kind: str, finding_type: str | None = None) -> bool:
        """The rules in force, checked at every delivery: the kind was asked for and the scope may
        have it (an alert: only the alert types of this scope's law)."""
        if kind not in self.kinds or kind not in self.rule.kinds:
            return False
        return kind != ALERT or finding_type in self.rule.alert_types


def kind_of_finding(finding_type: str) -> str:
    return ALERT if finding_type in ALERT_TYPES else FINDING


def _rule_for(principal: Principal) -> tuple[str, ScopeRule]:
    for name, rule in RULES.items():
        if rule.role in principal.roles:
            return name, rule
    raise NotAllowed("forbidden", reason="events_out")


def _places(requested, field: str) -> frozenset[str]:
    if requested is not None and (
        not isinstance(requested, list) or not all(isinstance(e, str) and e for e in requested)
    ):
        raise Invalid("bad_places", field=field)
    wanted = frozenset(requested or ())
    if len(wanted) > MAX_PLACES:
        raise Invalid("bad_places", reason="too_many", field=field, max=MAX_PLACES)
    return wanted


def _kinds(requested, rule: ScopeRule) -> frozenset[str]:
    if requested is None:  # what a scope gets unless it asks: access events where it may have them
        return frozenset({ACCESS}) if ACCESS in rule.kinds else rule.kinds
    if not isinstance(requested, list) or not requested or not all(k in KINDS for k in requested):
        raise Invalid("bad_kinds", kinds=", ".join(KINDS))
    refused = set(requested) - rule.kinds
    if refused:
        raise NotAllowed("kind_not_allowed", kinds=sorted(refused))
    return frozenset(requested)


def scope_for(principal: Principal, requested: dict, kinds=None) -> Scope:
    """The scope `principal` may have for the places (by field: `PLACE_FIELDS`) and kinds it asks
    for (places None / empty: all its token names; kinds None: `_kinds`'s default)."""
    name, rule = _rule_for(principal)
    foreign_fields = sorted(f for f in PLACE_FIELDS if f != rule.field and requested.get(f) is not None)
    if foreign_fields:
        raise NotAllowed("out_of_scope", reason="wrong_field", field=foreign_fields[0], expected=rule.field)
    wanted = _places(requested.get(rule.field), rule.field)
    chosen = _kinds(kinds, rule)
    if rule.claim is None:
        return Scope(name, wanted, principal.subject, chosen)
    entitled: frozenset[str] = getattr(principal, rule.claim)
    if not entitled:
        raise NotAllowed("out_of_scope", reason="no_claim", claim=rule.claim)
    foreign = wanted - entitled
    if foreign:
        raise NotAllowed("out_of_scope", reason="not_in_token", places=", ".join(sorted(foreign)))
    return Scope(name, wanted or entitled, principal.subject, chosen)


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

"""DynamoDB tables as PynamoDB models: one class per table, its keys and its indexes.

`docs/data-model.md` lists every access pattern and the key or index below that serves it.
All tables are on-demand (gate traffic is spiky). Repositories (`gridgate.adapters.repositories`)
are the only code that touches these classes outside table creation.
"""

from __future__ import annotations

from typing import Any, cast

from pynamodb.attributes import (
    BinaryAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import MetaProtocol, Model

from gridgate.config import get_settings

_settings = get_settings()


def _meta(name: str) -> MetaProtocol:
    class Meta:
        table_name = _settings.table_name(name)
        region = _settings.region
        billing_mode = "PAY_PER_REQUEST"

    # PynamoDB's stubs type `Model.Meta` as a protocol of every option, but its metaclass fills in
    # the options a Meta leaves out (capacity, timeouts, credentials); only these three are ours.
    return cast(MetaProtocol, Meta)


def _index_meta(name: str, projection) -> type:
    class Meta:
        index_name = name
        projection = None

    Meta.projection = projection
    return Meta


class BaseTable(Model):
    """Common base; `TTL_ATTRIBUTE` names the attribute DynamoDB's TTL expires on, if any;
    `STREAM_VIEW` the view of the table's DynamoDB stream, if deployed with one."""

    TTL_ATTRIBUTE: str | None = None
    STREAM_VIEW: str | None = None


# --- people -------------------------------------------------------------------------------------


class PersonByIdHash(GlobalSecondaryIndex):
    Meta = _index_meta("by_id_hash", KeysOnlyProjection())
    id_hash = UnicodeAttribute(hash_key=True)


class PersonByRegisteredHome(GlobalSecondaryIndex):
    Meta = _index_meta("by_registered_home", KeysOnlyProjection())
    registered_home_id = UnicodeAttribute(hash_key=True)
    person_id = UnicodeAttribute(range_key=True)


class PersonByGrid(GlobalSecondaryIndex):
    Meta = _index_meta("by_grid", AllProjection())
    registered_grid_id = UnicodeAttribute(hash_key=True)
    person_id = UnicodeAttribute(range_key=True)


class PersonTable(BaseTable):
    """A person from the app's real-name registry and/or the actual-population registry."""

    Meta = _meta("persons")
    person_id = UnicodeAttribute(hash_key=True)
    id_hash = UnicodeAttribute()  # HMAC of the ID number, for look-up
    id_enc = BinaryAttribute(legacy_encoding=False)  # AES-GCM ciphertext of the ID number
    name_enc = BinaryAttribute(legacy_encoding=False)
    phone_enc = BinaryAttribute(legacy_encoding=False, null=True)
    registries = UnicodeSetAttribute()
    birth_year = NumberAttribute()
    sex = UnicodeAttribute()
    registered_home_id = UnicodeAttribute(null=True)
    registered_grid_id = UnicodeAttribute(null=True)
    key_groups = UnicodeSetAttribute(null=True)
    qr_secret_enc = BinaryAttribute(legacy_encoding=False, null=True)  # resident rotating-QR secret
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()

    by_id_hash = PersonByIdHash()
    by_registered_home = PersonByRegisteredHome()
    by_grid = PersonByGrid()


class FaceTemplateTable(BaseTable):
    """Face encodings (templates, never photos), several per person, each with source and consent."""

    Meta = _meta("face_templates")
    person_id = UnicodeAttribute(hash_key=True)
    template_key = UnicodeAttribute(range_key=True)  # "<source>#<n>"
    source = UnicodeAttribute()
    encoding = BinaryAttribute(legacy_encoding=False)  # 128 x float32 little-endian
    consent_at = UTCDateTimeAttribute()
    quality = NumberAttribute(default=0)
    #: The encoder that made `encoding`; absent on templates stored before encoder ids (legacy dlib).
    encoder = UnicodeAttribute(null=True)


# --- places and property ---------------------------------------------------------------------


class PlaceByParent(GlobalSecondaryIndex):
    Meta = _index_meta("by_parent", AllProjection())
    parent_id = UnicodeAttribute(hash_key=True)
    place_id = UnicodeAttribute(range_key=True)


class PlaceTable(BaseTable):
    """District, street, community, grid, estate and building: one item each, with its ancestors."""

    Meta = _meta("places")
    place_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    name = UnicodeAttribute()
    parent_id = UnicodeAttribute(null=True)
    ancestors: MapAttribute[str, str] = MapAttribute(default=dict)  # {"district": "D01", "street": "D01-S02", ...}
    #: Estates only: bumped whenever a right or an enrolled face at the estate changes, so warm
    #: gate functions know their cached face gallery is stale (see `gallery_version`).
    gallery_version = NumberAttribute(default=0)
    #: Estates only: `FaceMatching` value; absent means the cloud matches.
    face_matching = UnicodeAttribute(null=True)

    by_parent = PlaceByParent()


class GalleryChangeTable(BaseTable):
    """An estate's gallery change log: which people one bump of `PlaceTable.gallery_version` was
    about, so a warm gate function applies a change by re-reading those people only."""

    TTL_ATTRIBUTE = "expires_at"
    Meta = _meta("gallery_changes")
    estate_id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(range_key=True)  # the gallery version this change produced
    person_ids = UnicodeSetAttribute(null=True)  # DynamoDB stores no empty set: absent = nobody
    expires_at = TTLAttribute()


class GateByEstate(GlobalSecondaryIndex):
    Meta = _index_meta("by_estate", AllProjection())
    estate_id = UnicodeAttribute(hash_key=True)
    gate_id = UnicodeAttribute(range_key=True)


class GateTable(BaseTable):
    Meta = _meta("gates")
    gate_id = UnicodeAttribute(hash_key=True)
    estate_id = UnicodeAttribute()
    direction = UnicodeAttribute()
    device_key_id = UnicodeAttribute()
    device_public_key = BinaryAttribute(legacy_encoding=False, null=True)
    name = UnicodeAttribute(default="")

    by_estate = GateByEstate()


class HomeByEstate(GlobalSecondaryIndex):
    Meta = _index_meta("by_estate", AllProjection())
    estate_id = UnicodeAttribute(hash_key=True)
    home_id = UnicodeAttribute(range_key=True)


class HomeByGrid(GlobalSecondaryIndex):
    Meta = _index_meta("by_grid", AllProjection())
    grid_id = UnicodeAttribute(hash_key=True)
    home_id = UnicodeAttribute(range_key=True)


class HomeTable(BaseTable):
    """A home from the property records. `granted_count` is the cap counter (atomic updates).

    `grantee_ids`: the people holding an active grant here, changed only in the transaction that
    creates or ends their grant. It is the uniqueness condition on (home, grantee): a check that
    reads the grants first and then writes lets concurrent requests each see "none yet".
    """

    Meta = _meta("homes")
    home_id = UnicodeAttribute(hash_key=True)
    estate_id = UnicodeAttribute()
    building_id = UnicodeAttribute()
    unit = UnicodeAttribute()
    floor = NumberAttribute()
    room = UnicodeAttribute()
    floor_area_m2 = NumberAttribute()
    grid_id = UnicodeAttribute()
    granted_count = NumberAttribute(default=0)
    grantee_ids = UnicodeSetAttribute(null=True)

    by_estate = HomeByEstate()
    by_grid = HomeByGrid()


class OwnershipByHome(GlobalSecondaryIndex):
    Meta = _index_meta("by_home", AllProjection())
    home_id = UnicodeAttribute(hash_key=True)
    person_id = UnicodeAttribute(range_key=True)


class OwnershipByEstate(GlobalSecondaryIndex):
    """All owners at an estate in one query (the gate's per-estate face gallery)."""

    Meta = _index_meta("by_estate", AllProjection())
    estate_id = UnicodeAttribute(hash_key=True)
    person_id = UnicodeAttribute(range_key=True)


class OwnershipTable(BaseTable):
    """Who owns which home (property records). Owner rights are derived from these rows."""

    Meta = _meta("ownerships")
    person_id = UnicodeAttribute(hash_key=True)
    home_id = UnicodeAttribute(range_key=True)
    estate_id = UnicodeAttribute()
    since = UnicodeAttribute()  # ISO date
    until = UnicodeAttribute(null=True)  # ISO date, exclusive; None while owned

    by_home = OwnershipByHome()
    by_estate = OwnershipByEstate()


# --- rights ----------------------------------------------------------------------------------


class GrantByGrantee(GlobalSecondaryIndex):
    Meta = _index_meta("by_grantee", AllProjection())
    grantee_id = UnicodeAttribute(hash_key=True)
    grant_id = UnicodeAttribute(range_key=True)


class GrantByEstate(GlobalSecondaryIndex):
    """All grants at an estate in one query (the gate's per-estate face gallery)."""

    Meta = _index_meta("by_estate", AllProjection())
    estate_id = UnicodeAttribute(hash_key=True)
    grant_id = UnicodeAttribute(range_key=True)


class GrantTable(BaseTable):
    Meta = _meta("grants")
    home_id = UnicodeAttribute(hash_key=True)
    grant_id = UnicodeAttribute(range_key=True)
    estate_id = UnicodeAttribute()
    grantee_id = UnicodeAttribute()
    relation = UnicodeAttribute()
    starts_on = UnicodeAttribute()  # ISO date
    ends_on = UnicodeAttribute(null=True)  # ISO date, inclusive
    granted_by = UnicodeAttribute()
    status = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)

    by_grantee = GrantByGrantee()
    by_estate = GrantByEstate()


class PassByHome(GlobalSecondaryIndex):
    Meta = _index_meta("by_home", AllProjection())
    home_id = UnicodeAttribute(hash_key=True)
    valid_from = UTCDateTimeAttribute(range_key=True)


class PassByEstate(GlobalSecondaryIndex):
    Meta = _index_meta("by_estate", AllProjection())
    estate_id = UnicodeAttribute(hash_key=True)
    valid_until = UTCDateTimeAttribute(range_key=True)


class VisitorPassTable(BaseTable):
    TTL_ATTRIBUTE = "expires_at"
    Meta = _meta("visitor_passes")
    pass_id = UnicodeAttribute(hash_key=True)
    estate_id = UnicodeAttribute()
    home_id = UnicodeAttribute()
    issued_by = UnicodeAttribute()
    visitor_name_enc = BinaryAttribute(legacy_encoding=False)
    valid_from = UTCDateTimeAttribute()
    valid_until = UTCDateTimeAttribute()
    key_id = UnicodeAttribute()
    max_uses = NumberAttribute(null=True)
    uses = NumberAttribute(default=0)
    status = UnicodeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)  # removal after the retention period; reads filter on validity

    by_home = PassByHome()
    by_estate = PassByEstate()


# --- access events -----------------------------------------------------------------------------


class EventByPerson(GlobalSecondaryIndex):
    Meta = _index_meta("by_person", AllProjection())
    person_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class AccessEventTable(BaseTable):
    """Entries and exits. pk = "<estate>#<yyyy-mm-dd>#<shard>", sk = "<occurred_at iso>#<event_id>".

    The shard is a stable hash of the event id, so an estate-day is spread over
    `event_write_shards` partitions and a retried upload lands on the very same key.
    """

    TTL_ATTRIBUTE = "expires_at"
    Meta = _meta("access_events")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    event_id = UnicodeAttribute()
    gate_id = UnicodeAttribute()
    estate_id = UnicodeAttribute()
    direction = UnicodeAttribute()
    occurred_at = UTCDateTimeAttribute()
    method = UnicodeAttribute()
    outcome = UnicodeAttribute()
    reason = UnicodeAttribute()
    person_id = UnicodeAttribute(null=True)
    pass_id = UnicodeAttribute(null=True)
    home_id = UnicodeAttribute(null=True)
    registry = UnicodeAttribute(null=True)
    score = NumberAttribute(null=True)
    right = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()

    by_person = EventByPerson()
    #: Deployed, the table's stream feeds webhook delivery (`chalicelib.event_stream`); infra
    #: declares it from this attribute. Not enabled in the emulator: see docs/events-out.md.
    STREAM_VIEW = "NEW_IMAGE"


# --- events out ----------------------------------------------------------------------------------


class SubscriptionByOwner(GlobalSecondaryIndex):
    Meta = _index_meta("by_owner", AllProjection())
    owner = UnicodeAttribute(hash_key=True)
    subscription_id = UnicodeAttribute(range_key=True)


class EventSubscriptionTable(BaseTable):
    """A system that receives events (access, findings, alerts) by signed webhook, scoped to
    places (docs/events-out.md: estates, grids, districts, or the city)."""

    Meta = _meta("event_subscriptions")
    subscription_id = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute()  # the token subject that created it
    scope = UnicodeAttribute()  # estates / grids / civil_affairs / justice / city
    place_ids = UnicodeSetAttribute(null=True)  # the scope's estates, grids or districts; city: none = all
    kinds = UnicodeSetAttribute(null=True)  # access / finding / alert; none: access (the first subscriptions)
    url = UnicodeAttribute()
    secret_enc = BinaryAttribute(legacy_encoding=False)  # the signing secret, AES-GCM sealed
    description = UnicodeAttribute(default="")
    status = UnicodeAttribute()  # active / deleted
    created_at = UTCDateTimeAttribute()

    by_owner = SubscriptionByOwner()


class DeliveryByStatus(GlobalSecondaryIndex):
    """Pending deliveries due for a retry: status "pending", ordered by when the next attempt is due."""

    Meta = _index_meta("by_status", AllProjection())
    status = UnicodeAttribute(hash_key=True)
    next_attempt_at = UnicodeAttribute(range_key=True)


class EventDeliveryTable(BaseTable):
    """One event for one subscriber: pending (retries due), delivered, or a dead letter."""

    TTL_ATTRIBUTE = "expires_at"
    Meta = _meta("event_deliveries")
    subscription_id = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    next_attempt_at = UnicodeAttribute()  # ISO UTC; "-" once delivered or dead
    payload = UnicodeAttribute()  # the JSON body, already reduced to the subscription's scope
    last_error = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()

    by_status = DeliveryByStatus()


# --- flows' outputs ------------------------------------------------------------------------------


class FindingByGrid(GlobalSecondaryIndex):
    Meta = _index_meta("by_grid", AllProjection())
    grid_id = UnicodeAttribute(hash_key=True)
    finding_id = UnicodeAttribute(range_key=True)


class FindingTable(BaseTable):
    Meta = _meta("findings")
    finding_id = UnicodeAttribute(hash_key=True)
    finding_type = UnicodeAttribute()
    severity = UnicodeAttribute()
    grid_id = UnicodeAttribute()
    subject = UnicodeAttribute()
    evidence = JSONAttribute()
    detected_at = UTCDateTimeAttribute()
    status = UnicodeAttribute()
    home_id = UnicodeAttribute(null=True)
    person_id = UnicodeAttribute(null=True)

    by_grid = FindingByGrid()


class VerificationTaskTable(BaseTable):
    """Door-to-door tasks, partitioned by grid: a grid worker's list is one query."""

    Meta = _meta("verification_tasks")
    grid_id = UnicodeAttribute(hash_key=True)
    task_id = UnicodeAttribute(range_key=True)
    finding_id = UnicodeAttribute()
    priority = NumberAttribute()
    walking_order: ListAttribute[Any] = ListAttribute()  # [estate, building, unit, floor number, room]
    home_id = UnicodeAttribute()
    summary = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    status = UnicodeAttribute()
    result = UnicodeAttribute(null=True)
    result_detail = JSONAttribute(null=True)
    person_id = UnicodeAttribute(null=True)
    closed_by = UnicodeAttribute(null=True)
    closed_at = UTCDateTimeAttribute(null=True)
    version = VersionAttribute()
    finding_type = UnicodeAttribute(null=True)


class StatisticTable(BaseTable):
    """pk = scope ("estate#E1", "grid#G1", ...), sk = "<yyyy-mm-dd>#<metric>"."""

    Meta = _meta("statistics")
    scope = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    value = NumberAttribute()
    # PynamoDB types `of` as the elements' type, but it takes their attribute class (the items are floats)
    series: ListAttribute[float] = ListAttribute(of=NumberAttribute, null=True)  # type: ignore[arg-type]  # 24 local-hour values


class AuditByActor(GlobalSecondaryIndex):
    Meta = _index_meta("by_actor", AllProjection())
    actor = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class AuditTable(BaseTable):
    """Append-only audit log. pk = subject ("person#P1"), sk = "<at iso>#<audit_id>"."""

    Meta = _meta("audit_log")
    subject = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    audit_id = UnicodeAttribute()
    actor = UnicodeAttribute()
    action = UnicodeAttribute()
    request_id = UnicodeAttribute(null=True)
    detail = JSONAttribute(default=dict)

    by_actor = AuditByActor()


# --- compliance (issue 18) -----------------------------------------------------------------------


class ComplianceRecordTable(BaseTable):
    """Consent records of faces and approvals of correction tracking. pk = "<kind>#<person_id>"
    (``consent#P1``, ``correction#P1``), sk = the record's own key (the consent's time, the case)."""

    Meta = _meta("compliance_records")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    person_id = UnicodeAttribute()
    body = JSONAttribute()


# --- request hygiene -----------------------------------------------------------------------------


class IdempotencyTable(BaseTable):
    """Powertools idempotency records (key attribute "id", TTL "expiration")."""

    TTL_ATTRIBUTE = "expiration"
    Meta = _meta("idempotency")
    id = UnicodeAttribute(hash_key=True)


class DeviceNonceTable(BaseTable):
    """Nonces gate devices have used; a conditional put refuses a replay until the TTL expires."""

    TTL_ATTRIBUTE = "expires_at"
    Meta = _meta("device_nonces")
    nonce_key = UnicodeAttribute(hash_key=True)  # "<gate_id>#<nonce>"
    expires_at = TTLAttribute()


class SignInTable(BaseTable):
    """People's sign-ins on the pages: a login in progress (``login#<state>``: nonce and PKCE
    verifier, minutes) and a signed-in session (``session#<id>``: who, hashes of the current
    access and refresh secrets, a working day). TTL removes them; reads check the expiry too."""

    TTL_ATTRIBUTE = "expires_at"
    Meta = _meta("sign_ins")
    key = UnicodeAttribute(hash_key=True)
    data = JSONAttribute(default=dict)
    #: a session's current refresh-secret hash: the condition of its rotation
    refresh_hash = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()


ALL_TABLES: tuple[type[BaseTable], ...] = (
    PersonTable,
    FaceTemplateTable,
    PlaceTable,
    GalleryChangeTable,
    GateTable,
    HomeTable,
    OwnershipTable,
    GrantTable,
    VisitorPassTable,
    AccessEventTable,
    EventSubscriptionTable,
    EventDeliveryTable,
    FindingTable,
    VerificationTaskTable,
    StatisticTable,
    AuditTable,
    ComplianceRecordTable,
    IdempotencyTable,
    DeviceNonceTable,
    SignInTable,
)

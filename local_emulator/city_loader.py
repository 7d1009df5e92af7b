"""Seed the emulator's DynamoDB tables with a synthetic city, in bulk.

Items are built column-wise from the city's Arrow tables (`city_tables`) in exactly the form
PynamoDB stores them (the repositories read them back; tests check the round trip), and written
with `BulkWriter`. Personal identifiers are sealed with `IdentifierProtector`, as
`PersonRepository` seals them: keyed hash plus AES-GCM ciphertext bound to the person and field,
never clear text. Small tables (places, gates, passes) go through the repositories' own
item builders.

Access events: the finished UTC days of the history go to the daily Parquet exports in S3 (where
the flows read them), a day still open (see docs/time.md) wholly into the table, and of the last
finished day only the most recent events (at most `max_table_events`) into the table,
because the emulator writes about 2,000-6,000 items a second and a large city makes millions of
events a day. See docs/data-model.md, "Events".

Two ways in (`strategy`): BatchWriteItem from a few threads (`BulkWriter`), which works on any
table; and DynamoDB's ImportTable from S3 (`TableImporter`), which only loads empty tables but
skips the per-request work. Measured against moto's server on this 2-core machine: batch writes
~1,800-3,000 items/s; ImportTable ~740 items/s with moto's own JSON parser and 4,000-8,000
items/s with `moto_speedups` (which the emulator's server installs). A fresh emulator is
therefore seeded by import; tables that already hold items get batch writes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from gridgate import clock
from gridgate.adapters.compliance_records import consent_to_item
from gridgate.adapters.events import event_shard, partition_key
from gridgate.adapters.parquet_exports import write_events_day
from gridgate.adapters.pass_repository import PassRepository
from gridgate.adapters.repositories import gate_to_item, place_to_item
from gridgate.config import Settings
from gridgate.domain.legal_records import FaceConsent, LegalBasis, Matching
from gridgate.domain.model import (
    Gate,
    GateDirection,
    GrantStatus,
    PassStatus,
    Place,
    PlaceKind,
    Registry,
    VisitorPass,
)
from gridgate.security.identifiers import IdentifierProtector
from gridgate.security.keyring import get_keyring
from local_emulator import city_tables
from local_emulator.bulk_writer import BulkWriter, Item
from local_emulator.synthetic_city import GATE_DIRECTIONS, SOURCES
from local_emulator.table_import import TableImporter

if TYPE_CHECKING:
    from local_emulator.synthetic_city import City

#: Events written to the table when seeding (the most recent ones); the rest only to Parquet.
DEFAULT_MAX_TABLE_EVENTS = 20_000
#: The notice version the synthetic city's residents read before consenting.
SYNTHETIC_NOTICE_VERSION = "face-notice-2026-01"
_LEVELS = ("district", "street", "community", "grid", "estate")


@dataclass
class LoadReport:
    """What the load wrote: items per table, event partitions in S3, and how long it took."""

    items: dict[str, int]
    event_days_in_s3: list[date]
    seconds: float
    imported: list[str]  # tables bulk-loaded with ImportTable (the others were batch-written)

    @property
    def total_items(self) -> int:
        return sum(self.items.values())


def _utc_text(epoch_seconds: np.ndarray) -> list[str]:
    """PynamoDB's UTCDateTimeAttribute text for each epoch second."""
    stamps = np.datetime_as_string(np.asarray(epoch_seconds, dtype="datetime64[s]").astype("datetime64[us]"), unit="us")
    return [f"{text}+0000" for text in stamps.tolist()]


def _optional(value, kind: str = "S") -> dict | None:
    return None if value is None else {kind: value}


def _item(**attributes) -> Item:
    """A low-level item, leaving out attributes that are None (as PynamoDB does for nulls)."""
    return {name: value for name, value in attributes.items() if value is not None}


# --- item builders, one per table -------------------------------------------------------------------


def person_items(city: City, protector: IdentifierProtector) -> Iterator[Item]:
    table = city_tables.persons_table(city).to_pydict()
    rows = np.arange(city.n_persons)
    id_numbers = [value.decode() for value in city.id_numbers(rows).tolist()]
    names = city.names(rows)
    phones = city.person_phone.tolist()
    updated_at = _utc_text(np.array([int(city.now.timestamp())]))[0]
    seal = protector.encrypt
    for i, pid in enumerate(table["person_id"]):
        phone = str(phones[i]) if phones[i] else None
        yield _item(
            person_id={"S": pid},
            id_hash={"S": protector.lookup_hash(id_numbers[i])},
            id_enc={"B": seal(id_numbers[i], context=f"{pid}/id")},
            name_enc={"B": seal(names[i], context=f"{pid}/name")},
            phone_enc={"B": seal(phone, context=f"{pid}/phone")} if phone else None,
            registries={"SS": table["registries"][i]},
            birth_year={"N": str(table["birth_year"][i])},
            sex={"S": table["sex"][i]},
            registered_home_id=_optional(table["registered_home_id"][i]),
            registered_grid_id=_optional(table["registered_grid_id"][i]),
            key_groups={"SS": table["key_groups"][i]} if table["key_groups"][i] else None,
            updated_at={"S": updated_at},
            version={"N": "1"},
        )


def face_template_items(city: City, chunk: int = 20_000) -> Iterator[Item]:
    person_ids = city.person_ids(city.template_person).to_pylist()
    consent = _utc_text(city.template_consent)
    sources = np.array(SOURCES)[city.template_source].tolist()
    for start in range(0, len(person_ids), chunk):
        rows = np.arange(start, min(start + chunk, len(person_ids)))
        encodings = city.face_encodings(rows).astype("<f4")
        for offset, row in enumerate(rows.tolist()):
            yield {
                "person_id": {"S": person_ids[row]},
                "template_key": {"S": f"{sources[row]}#0"},
                "source": {"S": sources[row]},
                "encoding": {"B": encodings[offset].tobytes()},
                "consent_at": {"S": consent[row]},
                "quality": {"N": "0"},
            }


def consent_items(city: City) -> Iterator[Item]:
    """The separate consent each app-registry face was enrolled under (issue 18; the gates match an
    app face only where its consent says): cloud matching at every estate the person owns a home in
    or holds a grant for, given at their earliest app template's consent time."""
    estates: dict[str, set[str]] = {}
    owned = city_tables.ownerships_table(city).to_pydict()
    granted = city_tables.grants_table(city).to_pydict()
    for person_id, estate_id in [
        *zip(owned["person_id"], owned["estate_id"], strict=True),
        *(
            (grantee, estate)
            for grantee, estate, status in zip(
                granted["grantee_id"], granted["estate_id"], granted["status"], strict=True
            )
            if status == GrantStatus.ACTIVE.value
        ),
    ]:
        estates.setdefault(person_id, set()).add(estate_id)
    given: dict[str, int] = {}
    person_ids = city.person_ids(city.template_person).to_pylist()
    for row in np.flatnonzero(city.template_source == SOURCES.index(Registry.APP.value)).tolist():
        seconds = int(city.template_consent[row])
        given[person_ids[row]] = min(seconds, given.get(person_ids[row], seconds))
    for person_id, seconds in sorted(given.items()):
        yield consent_item(person_id, estates.get(person_id, set()), datetime.fromtimestamp(seconds, UTC))


def synthetic_consent(person_id: str, estates: set[str], given_at: datetime) -> FaceConsent:
    """A synthetic resident's separate consent to cloud matching at `estates` (also what the
    benchmarks give with their templates)."""
    return FaceConsent(
        person_id=person_id,
        basis=LegalBasis.SEPARATE_CONSENT,
        estates=frozenset(estates),
        matching=Matching.CLOUD,
        notice_version=SYNTHETIC_NOTICE_VERSION,
        given_at=given_at,
    )


def consent_item(person_id: str, estates: set[str], given_at: datetime) -> Item:
    """`synthetic_consent` as the table stores it (for bulk writes)."""
    return consent_to_item(synthetic_consent(person_id, estates, given_at)).serialize()


def home_items(city: City) -> Iterator[Item]:
    t = city_tables.homes_table(city).to_pydict()
    for i, home_id in enumerate(t["home_id"]):
        yield {
            "home_id": {"S": home_id},
            "estate_id": {"S": t["estate_id"][i]},
            "building_id": {"S": t["building_id"][i]},
            "unit": {"S": t["unit"][i]},
            "floor": {"N": str(t["floor"][i])},
            "room": {"S": t["room"][i]},
            "floor_area_m2": {"N": repr(t["floor_area_m2"][i])},
            "grid_id": {"S": t["grid_id"][i]},
            "granted_count": {"N": str(t["granted_count"][i])},
        }


def ownership_items(city: City) -> Iterator[Item]:
    t = city_tables.ownerships_table(city).to_pydict()
    for i, person_id in enumerate(t["person_id"]):
        until = t["until"][i]
        yield _item(
            person_id={"S": person_id},
            home_id={"S": t["home_id"][i]},
            estate_id={"S": t["estate_id"][i]},
            since={"S": t["since"][i].isoformat()},
            until={"S": until.isoformat()} if until else None,
        )


def grant_items(city: City) -> Iterator[Item]:
    t = city_tables.grants_table(city).to_pydict()
    created = _utc_text(city.grant_created)
    for i, grant_id in enumerate(t["grant_id"]):
        ends = t["ends_on"][i]
        yield _item(
            home_id={"S": t["home_id"][i]},
            grant_id={"S": grant_id},
            estate_id={"S": t["estate_id"][i]},
            grantee_id={"S": t["grantee_id"][i]},
            relation={"S": t["relation"][i]},
            starts_on={"S": t["starts_on"][i].isoformat()},
            ends_on={"S": ends.isoformat()} if ends else None,
            granted_by={"S": t["granted_by"][i]},
            status={"S": t["status"][i]},
            created_at={"S": created[i]},
        )


def place_items(city: City) -> Iterator[Item]:
    for row in city_tables.places_table(city).to_pylist():
        ancestors = {level: row[f"{level}_id"] for level in _LEVELS if row[f"{level}_id"] and level != row["kind"]}
        place = Place(
            place_id=row["place_id"],
            kind=PlaceKind(row["kind"]),
            name=row["name"],
            parent_id=row["parent_id"],
            ancestors={PlaceKind(k): v for k, v in ancestors.items()},
        )
        yield place_to_item(place).serialize()


def gate_items(city: City) -> Iterator[Item]:
    keys, key_ids = city.gate_public_keys(), city.gate_key_ids()
    for i, gate_id in enumerate(city.gate_ids):
        gate = Gate(
            gate_id=gate_id,
            estate_id=city.places.estate_ids[city.gate_estate[i]],
            direction=GateDirection(GATE_DIRECTIONS[city.gate_direction[i]]),
            device_key_id=key_ids[i],
            device_public_key=keys[i],
            name=f"{'入口' if city.gate_direction[i] == 0 else '出口'} {gate_id}",
        )
        yield gate_to_item(gate).serialize()


def pass_items(city: City, protector: IdentifierProtector, key_id: str) -> Iterator[Item]:
    table = city_tables.passes_table(city).to_pylist()
    visitors = city_tables.pass_visitors(city)
    known = np.flatnonzero(visitors >= 0)
    names = dict(zip(known.tolist(), city.names(visitors[known])))
    repository = PassRepository(protector)
    for i, row in enumerate(table):
        visitor_pass = VisitorPass(
            pass_id=row["pass_id"],
            estate_id=row["estate_id"],
            home_id=row["home_id"],
            issued_by=row["issued_by"],
            visitor_name=names.get(i, "访客"),
            valid_from=row["valid_from"],
            valid_until=row["valid_until"],
            key_id=key_id,
            max_uses=row["max_uses"],
            uses=row["uses"],
            status=PassStatus(row["status"]),
        )
        yield repository.to_item(visitor_pass).serialize()


def finished_event_days(city: City) -> list[date]:
    """The city's event partitions whose UTC day is over: these are exported to S3, as the
    nightly export does; a partition still open (16:00-24:00 UTC, the city's yesterday is
    today's UTC date) lives only in the table, where the flows read it."""
    open_from = clock.now().date()
    return [day for day in city.event_days if day < open_from]


def recent_event_items(city: City, settings: Settings, limit: int) -> Iterator[Item]:
    """The events the table holds, as the gate functions store them: every event of an open
    partition, and the last `limit` events of the last finished one."""
    finished = finished_event_days(city)
    tables = [city_tables.events_table(city, day) for day in city.event_days if day not in finished]
    if finished and limit > 0:
        last = city_tables.events_table(city, finished[-1])
        tables.insert(0, last.slice(max(0, last.num_rows - limit)))
    retention = timedelta(days=settings.event_retention_days)
    for row in (row for table in tables for row in table.to_pylist()):
        at: datetime = row["occurred_at"].astimezone(UTC)
        event_id = row["event_id"]
        yield _item(
            pk={"S": partition_key(row["estate_id"], at.date(), event_shard(event_id, settings.event_write_shards))},
            sk={"S": f"{at.isoformat(timespec='microseconds')}#{event_id}"},
            event_id={"S": event_id},
            gate_id={"S": row["gate_id"]},
            estate_id={"S": row["estate_id"]},
            direction={"S": row["direction"]},
            occurred_at={"S": at.strftime("%Y-%m-%dT%H:%M:%S.%f+0000")},
            method={"S": row["method"]},
            outcome={"S": row["outcome"]},
            reason={"S": row["reason"]},
            person_id=_optional(row["person_id"]),
            pass_id=_optional(row["pass_id"]),
            home_id=_optional(row["home_id"]),
            registry=_optional(row["registry"]),
            score={"N": repr(row["score"])} if row["score"] is not None else None,
            right=_optional(row["right"]),
            expires_at={"N": str(int((at + retention).timestamp()))},
        )


# --- the load ------------------------------------------------------------------------------------


def load_into_dynamodb(
    city: City,
    settings: Settings,
    *,
    protector: IdentifierProtector | None = None,
    max_table_events: int = DEFAULT_MAX_TABLE_EVENTS,
    strategy: str = "auto",
    threads: int = 4,
) -> LoadReport:
    """Write `city` into the provisioned tables and its event history into S3.

    `strategy`: "import" stages each table's items in S3 and bulk-loads it with ImportTable (the
    tables must be empty); "batch" uses BatchWriteItem from `threads` threads (any table);
    "auto" imports into the tables that are empty and batch-writes the others.
    """
    if strategy not in ("auto", "import", "batch"):
        raise ValueError(f"unknown strategy {strategy!r}")
    started = time.perf_counter()
    protector = protector or IdentifierProtector(get_keyring())
    key_id = get_keyring().active_signing_key_id
    sources = {
        "places": lambda: place_items(city),
        "gates": lambda: gate_items(city),
        "homes": lambda: home_items(city),
        "persons": lambda: person_items(city, protector),
        "ownerships": lambda: ownership_items(city),
        "grants": lambda: grant_items(city),
        "face_templates": lambda: face_template_items(city),
        "compliance_records": lambda: consent_items(city),
        "visitor_passes": lambda: pass_items(city, protector, key_id),
        "access_events": lambda: recent_event_items(city, settings, max_table_events),
    }
    writer = BulkWriter(settings.region, threads=threads)
    importer = TableImporter(settings.region, settings.bucket)
    items: dict[str, int] = {}
    imported: list[str] = []
    for name, source in sources.items():
        table_name = settings.table_name(name)
        if strategy == "import" or (strategy == "auto" and importer.is_empty(table_name)):
            importer.start(table_name, source())
            imported.append(name)
        else:
            items[name] = writer.write(table_name, source())
    days = []
    for day in finished_event_days(city):  # written while the server imports
        write_events_day(day, city_tables.events_table(city, day), settings)
        days.append(day)
    counts = importer.wait()
    items.update({name: counts.get(settings.table_name(name), 0) for name in imported})
    return LoadReport(items=items, event_days_in_s3=days, seconds=time.perf_counter() - started, imported=imported)

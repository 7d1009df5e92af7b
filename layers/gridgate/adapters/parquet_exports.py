"""Bulk, data-minimised Parquet snapshots of the tables in S3: what the flows read.

The nightly flows look at every person, home, grant and event of the city. Reading those item by
item would cost millions of requests, so they read columnar snapshots instead:

* ``s3://<bucket>/snapshots/<name>/as_of=<yyyy-mm-dd>/part-*.parquet`` for the registries and
  rights, made by `export_table` with a *parallel scan* (``Segment``/``TotalSegments``, one
  thread per segment). In AWS the same files can come from DynamoDB's export to S3.
* ``s3://<bucket>/snapshots/access_events/day=<yyyy-mm-dd>/part-*.parquet`` for the events of one
  UTC day. The nightly flows make them with DynamoDB's native export (`event_export`);
  `export_events_day` (one query per estate-day write shard) remains for tools and tests.

Snapshots are data-minimised: only the analytic columns of `SNAPSHOT_SCHEMAS` are ever read from
the table (a ``ProjectionExpression``), so ciphertexts, names, ID numbers and face encodings never
reach S3. Items past their TTL are left out. Identifier columns come back dictionary-encoded
(`DICTIONARY_COLUMNS`), which is what keeps a week of a million-person city's events in memory.
"""

from __future__ import annotations

import io
import tempfile
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from botocore.config import Config

from gridgate import clock
from gridgate.adapters.event_files import write_event_file
from gridgate.adapters.events import partition_key
from gridgate.config import Settings
from gridgate.domain.model import PlaceKind

_TS = pa.timestamp("ms", tz="UTC")
_STR = pa.string()
_STRS = pa.list_(pa.string())

#: The columns of every snapshot, by snapshot name. The flows code against exactly these.
SNAPSHOT_SCHEMAS: dict[str, pa.Schema] = {
    "persons": pa.schema(
        [
            ("person_id", _STR),
            ("registries", _STRS),
            ("birth_year", pa.int32()),
            ("sex", _STR),
            ("registered_home_id", _STR),
            ("registered_grid_id", _STR),
            ("key_groups", _STRS),
        ]
    ),
    "homes": pa.schema(
        [
            ("home_id", _STR),
            ("estate_id", _STR),
            ("building_id", _STR),
            ("unit", _STR),
            ("floor", pa.int32()),
            ("room", _STR),
            ("floor_area_m2", pa.float64()),
            ("grid_id", _STR),
            ("granted_count", pa.int32()),
        ]
    ),
    "ownerships": pa.schema(
        [("person_id", _STR), ("home_id", _STR), ("estate_id", _STR), ("since", pa.date32()), ("until", pa.date32())]
    ),
    "grants": pa.schema(
        [
            ("home_id", _STR),
            ("grant_id", _STR),
            ("estate_id", _STR),
            ("grantee_id", _STR),
            ("relation", _STR),
            ("starts_on", pa.date32()),
            ("ends_on", pa.date32()),
            ("granted_by", _STR),
            ("status", _STR),
            ("created_at", _TS),
        ]
    ),
    "visitor_passes": pa.schema(
        [
            ("pass_id", _STR),
            ("estate_id", _STR),
            ("home_id", _STR),
            ("issued_by", _STR),
            ("valid_from", _TS),
            ("valid_until", _TS),
            ("max_uses", pa.int32()),
            ("uses", pa.int32()),
            ("status", _STR),
        ]
    ),
    "places": pa.schema(
        [
            ("place_id", _STR),
            ("kind", _STR),
            ("name", _STR),
            ("parent_id", _STR),
            ("district_id", _STR),
            ("street_id", _STR),
            ("community_id", _STR),
            ("grid_id", _STR),
            ("estate_id", _STR),
        ]
    ),
    "face_templates": pa.schema([("person_id", _STR), ("source", _STR)]),
    "access_events": pa.schema(
        [
            ("event_id", _STR),
            ("gate_id", _STR),
            ("estate_id", _STR),
            ("direction", _STR),
            ("occurred_at", _TS),
            ("method", _STR),
            ("outcome", _STR),
            ("reason", _STR),
            ("person_id", _STR),
            ("pass_id", _STR),
            ("home_id", _STR),
            ("registry", _STR),
            ("score", pa.float64()),
            ("right", _STR),
        ]
    ),
}

#: Table (logical name, as in `Settings.table_name`) each snapshot is exported from.
SNAPSHOT_TABLES = {
    "persons": "persons",
    "homes": "homes",
    "ownerships": "ownerships",
    "grants": "grants",
    "visitor_passes": "visitor_passes",
    "places": "places",
    "face_templates": "face_templates",
    "access_events": "access_events",
}

#: String columns read back dictionary-encoded: everything but free text and unique event ids.
DICTIONARY_COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(f.name for f in schema if f.type == _STR and f.name not in ("event_id", "name"))
    for name, schema in SNAPSHOT_SCHEMAS.items()
}

#: Rows per Parquet part file: big enough for good compression, small enough to stream.
ROWS_PER_PART = 1_000_000
#: Rows per row group of a snapshot part (DuckDB's own size): a reader splits a file among its
#: threads by row group, and a part in one group of a million rows was read by one thread
#: (a join of persons, homes and grants at 1 M persons: 1.22 s against 0.98 s).
ROWS_PER_ROW_GROUP = 122_880
_PLACE_LEVELS = (PlaceKind.DISTRICT, PlaceKind.STREET, PlaceKind.COMMUNITY, PlaceKind.GRID, PlaceKind.ESTATE)


# --- where snapshots live ---------------------------------------------------------------------


def snapshot_prefix(name: str, as_of: date) -> str:
    return f"snapshots/{name}/as_of={as_of.isoformat()}/"


def events_prefix(day: date) -> str:
    return f"snapshots/access_events/day={day.isoformat()}/"


def _s3():
    return boto3.client("s3", config=Config(max_pool_connections=16))


def _dynamodb():
    return boto3.client("dynamodb", config=Config(max_pool_connections=32, retries={"mode": "standard"}))


# --- writing and reading Parquet in S3 ------------------------------------------------------------


def _conform(name: str, table: pa.Table) -> pa.Table:
    """`table` with exactly the snapshot's columns, in order and type.

    Identifier columns may come dictionary-encoded (the synthetic city writes them so): they are
    stored that way, which is also how they are read back. Any other dictionary is decoded.
    """
    schema = SNAPSHOT_SCHEMAS[name]
    missing = [f.name for f in schema if f.name not in table.column_names]
    if missing:
        raise ValueError(f"snapshot {name!r} lacks columns {missing}")
    fields, columns = [], []
    for field in schema:
        column = table.column(field.name)
        if pa.types.is_dictionary(column.type) and field.name in DICTIONARY_COLUMNS[name]:
            column = column.cast(pa.dictionary(pa.int32(), field.type))
        elif pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type).cast(field.type)
        else:
            column = column.cast(field.type)
        fields.append(pa.field(field.name, column.type))
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _write_parts(name: str, table: pa.Table, settings: Settings, prefix: str) -> str:
    """Replace the files under `prefix` with `table` in parts; returns the s3:// prefix."""
    table = _conform(name, table)
    s3 = _s3()
    stale = {obj["Key"] for obj in _list(s3, settings.bucket, prefix)}
    offsets = range(0, max(table.num_rows, 1), ROWS_PER_PART)

    def put(part: tuple[int, int]) -> str:
        number, offset = part
        key = f"{prefix}part-{number:05d}.parquet"
        sink = io.BytesIO()
        pq.write_table(table.slice(offset, ROWS_PER_PART), sink, compression="zstd", row_group_size=ROWS_PER_ROW_GROUP)
        s3.put_object(Bucket=settings.bucket, Key=key, Body=sink.getvalue())
        return key

    with ThreadPoolExecutor(max_workers=4) as pool:
        written = set(pool.map(put, enumerate(offsets)))
    for key in sorted(stale - written):
        s3.delete_object(Bucket=settings.bucket, Key=key)
    return f"s3://{settings.bucket}/{prefix}"


def _list(s3, bucket: str, prefix: str) -> Iterator[dict]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        yield from page.get("Contents", [])


def _read_parts(name: str, settings: Settings, prefixes: list[str], columns: list[str] | None = None) -> pa.Table:
    """The parts under `prefixes` as one table typed as `SNAPSHOT_SCHEMAS` says (ids as
    dictionaries), whichever writer made them (DuckDB writes instants in microseconds)."""
    s3 = _s3()
    read_schema = _as_dictionaries(name, SNAPSHOT_SCHEMAS[name].empty_table()).schema
    keys = sorted(
        obj["Key"]
        for prefix in prefixes
        for obj in _list(s3, settings.bucket, prefix)
        if obj["Key"].endswith(".parquet")
    )

    def get(key: str) -> pa.Table:
        body = s3.get_object(Bucket=settings.bucket, Key=key)["Body"].read()
        part = pq.read_table(pa.BufferReader(body), columns=columns, read_dictionary=list(DICTIONARY_COLUMNS[name]))
        return part.cast(pa.schema([read_schema.field(column) for column in part.column_names]))

    with ThreadPoolExecutor(max_workers=4) as pool:
        parts = list(pool.map(get, keys))
    if not parts:
        empty = _as_dictionaries(name, SNAPSHOT_SCHEMAS[name].empty_table())
        return empty.select(columns) if columns is not None else empty
    return pa.concat_tables(parts).unify_dictionaries()


def _as_dictionaries(name: str, table: pa.Table) -> pa.Table:
    for column in DICTIONARY_COLUMNS[name]:
        index = table.schema.get_field_index(column)
        table = table.set_column(index, column, pc.dictionary_encode(table.column(column)))
    return table


def write_snapshot(name: str, table: pa.Table, settings: Settings, as_of: date) -> str:
    """Store `table` as snapshot `name` as of `as_of` (replacing an earlier one of that day)."""
    return _write_parts(name, table, settings, snapshot_prefix(name, as_of))


def write_events_day(day: date, table: pa.Table, settings: Settings) -> str:
    """Store the access events of UTC day `day` (replacing that day's earlier export), laid out
    as every events file is (`event_files`)."""
    with tempfile.TemporaryDirectory(prefix="gridgate-events-") as work:
        path = write_event_file(_conform("access_events", table), Path(work) / f"{day.isoformat()}.parquet")
        return replace_events_day(_s3(), settings, day, path)


def replace_events_day(s3, settings: Settings, day: date, path: Path) -> str:
    """Upload one day's events file as its partition's only part (stale parts of an earlier
    export go); returns the s3:// prefix."""
    prefix = events_prefix(day)
    key = f"{prefix}part-00000.parquet"
    s3.upload_file(str(path), settings.bucket, key)
    for obj in list(_list(s3, settings.bucket, prefix)):
        if obj["Key"] != key:
            s3.delete_object(Bucket=settings.bucket, Key=obj["Key"])
    return f"s3://{settings.bucket}/{prefix}"


def read_snapshot(name: str, settings: Settings, as_of: date, columns: list[str] | None = None) -> pa.Table:
    """Snapshot `name` as of `as_of` (empty, with the right columns, if none was written); only
    `columns` if given."""
    if name not in SNAPSHOT_SCHEMAS or name == "access_events":
        raise ValueError(f"unknown snapshot {name!r}; events are read with read_events")
    return _read_parts(name, settings, [snapshot_prefix(name, as_of)], columns)


def read_events(start_day: date, end_day: date, settings: Settings, columns: list[str] | None = None) -> pa.Table:
    """Access events of UTC days `start_day` .. `end_day` (both inclusive) from the daily exports.

    `columns` reads only those (Parquet column projection): a week of a large city's events
    without, say, the unique event ids is a fraction of the memory.
    """
    if end_day < start_day:
        raise ValueError("end_day is before start_day")
    days = [start_day + timedelta(days=n) for n in range((end_day - start_day).days + 1)]
    return _read_parts("access_events", settings, [events_prefix(day) for day in days], columns)


def stage_events_day(day: date, settings: Settings, folder: Path) -> list[str]:
    """Copy UTC day `day`'s event Parquet parts from S3 into `folder`; returns the local paths.

    Why staged and not read: the SQL engines read Parquet files lazily, column by column, and
    DuckDB's S3 reader (httpfs) is an extension this deployment cannot download. Files are
    streamed to disk (`download_file`), never held in memory. A local file is named by the
    part's ETag, so a re-run reuses what it staged, a re-export is staged afresh, and two flows
    staging the same day at once never see each other's half-written file.
    """
    return _stage(events_prefix(day), settings, folder / f"day={day.isoformat()}")


def snapshot_uris(name: str, settings: Settings, as_of: date) -> list[str]:
    """Snapshot `name` as of `as_of` as ``s3a://`` URIs, for Spark on a cluster to read in place."""
    return _part_uris(snapshot_prefix(name, as_of), settings)


def events_day_uris(day: date, settings: Settings) -> list[str]:
    """UTC day `day`'s event parts as ``s3a://`` URIs (see `snapshot_uris`)."""
    return _part_uris(events_prefix(day), settings)


def _part_uris(prefix: str, settings: Settings) -> list[str]:
    keys = sorted(o["Key"] for o in _list(_s3(), settings.bucket, prefix) if o["Key"].endswith(".parquet"))
    return [f"s3a://{settings.bucket}/{key}" for key in keys]


def write_live_events(day: date, table: pa.Table, settings: Settings) -> str:
    """The unfinished day's events, read live, as one S3 object for a cluster to read; returns
    its ``s3a://`` URI. Kept apart from the day's export (``live=``, not ``day=``) so it is never
    taken for a finished partition; `remove_live_events` deletes it after the run."""
    key = f"snapshots/access_events/live={day.isoformat()}/{uuid.uuid4().hex}.parquet"
    with tempfile.TemporaryDirectory(prefix="gridgate-events-") as work:
        path = write_event_file(_conform("access_events", table), Path(work) / "live.parquet")
        _s3().upload_file(str(path), settings.bucket, key)
    return f"s3a://{settings.bucket}/{key}"


def remove_live_events(locations: list[str], settings: Settings) -> int:
    """Delete live-day copies (local files or ``s3a://`` objects under ``live=``); returns how many.

    Only live copies are touched: a path outside a ``live=`` folder is refused, so a mistake
    here can never delete an exported day or a snapshot.
    """
    removed = 0
    for location in locations:
        if "/live=" not in location:
            raise ValueError(f"not a live-day copy: {location}")
        if location.startswith("s3a://"):
            bucket, key = location.removeprefix("s3a://").split("/", 1)
            _s3().delete_object(Bucket=bucket, Key=key)
            removed += 1
        elif Path(location).exists():
            Path(location).unlink()
            removed += 1
    return removed


def stage_snapshot(name: str, settings: Settings, as_of: date, folder: Path) -> list[str]:
    """Copy snapshot `name` as of `as_of` from S3 into `folder` (as `stage_events_day` does a
    day); returns the local paths. No snapshot written: one empty file with its columns, so the
    engines still see the table."""
    if name not in SNAPSHOT_SCHEMAS or name == "access_events":
        raise ValueError(f"unknown snapshot {name!r}; events are staged with stage_events_day")
    target = folder / name / f"as_of={as_of.isoformat()}"
    staged = _stage(snapshot_prefix(name, as_of), settings, target)
    if staged:
        return staged
    empty = target / "empty.parquet"
    pq.write_table(SNAPSHOT_SCHEMAS[name].empty_table(), empty)
    return [str(empty)]


def _stage(prefix: str, settings: Settings, target: Path) -> list[str]:
    target.mkdir(parents=True, exist_ok=True)
    s3 = _s3()
    parts = sorted(
        (o["Key"], o["ETag"].strip('"')) for o in _list(s3, settings.bucket, prefix) if o["Key"].endswith(".parquet")
    )

    def get(part: tuple[str, str]) -> str:
        key, etag = part
        path = target / f"{etag}-{key.rsplit('/', 1)[-1]}"
        if not path.exists():
            partial = path.with_suffix(f".{uuid.uuid4().hex}.partial")
            s3.download_file(settings.bucket, key, str(partial))
            partial.replace(path)
        return str(path)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(get, parts))


def write_local_events(table: pa.Table, path: Path) -> str:
    """Write events (e.g. the live, unfinished day) to a local Parquet file; returns its path."""
    return str(write_event_file(_conform("access_events", table), path))


# --- from DynamoDB items to columns --------------------------------------------------------------

Extract = Callable[[dict[str, Any]], Any]


def _s(attribute: str) -> Extract:
    return lambda item: item[attribute]["S"] if attribute in item else None


def _n(attribute: str, cast: type = int) -> Extract:
    return lambda item: cast(item[attribute]["N"]) if attribute in item else None


def _set(attribute: str) -> Extract:
    return lambda item: sorted(item[attribute]["SS"]) if attribute in item else []


def _day(attribute: str) -> Extract:
    return lambda item: date.fromisoformat(item[attribute]["S"]) if attribute in item else None


def _instant(attribute: str) -> Extract:
    return lambda item: datetime.fromisoformat(item[attribute]["S"]) if attribute in item else None


def _ancestor(kind: PlaceKind) -> Extract:
    def extract(item: dict[str, Any]) -> str | None:
        if item["kind"]["S"] == kind.value:
            return item["place_id"]["S"]
        value = item.get("ancestors", {}).get("M", {}).get(kind.value)
        return value["S"] if value else None

    return extract


@dataclass(frozen=True)
class _Export:
    """How one snapshot's columns come out of its table's items, and which attributes to read."""

    attributes: tuple[str, ...]
    columns: dict[str, Extract]


def _plain(name: str, overrides: dict[str, Extract] | None = None, extra: tuple[str, ...] = ()) -> _Export:
    overrides = overrides or {}
    columns: dict[str, Extract] = {}
    for field in SNAPSHOT_SCHEMAS[name]:
        if field.name in overrides:
            columns[field.name] = overrides[field.name]
        elif field.type == _STR:
            columns[field.name] = _s(field.name)
        elif field.type == _STRS:
            columns[field.name] = _set(field.name)
        elif field.type == pa.date32():
            columns[field.name] = _day(field.name)
        elif field.type == _TS:
            columns[field.name] = _instant(field.name)
        elif field.type == pa.float64():
            columns[field.name] = _n(field.name, float)
        else:
            columns[field.name] = _n(field.name)
    attributes = tuple(n for n in columns if n not in overrides) + extra
    return _Export(attributes, columns)


_EXPORTS: dict[str, _Export] = {
    "persons": _plain("persons"),
    "homes": _plain("homes"),
    "ownerships": _plain("ownerships"),
    "grants": _plain("grants"),
    "visitor_passes": _plain("visitor_passes", extra=("expires_at",)),
    "places": _plain(
        "places",
        {f"{kind.value}_id": _ancestor(kind) for kind in _PLACE_LEVELS},
        extra=("ancestors",),
    ),
    "face_templates": _plain("face_templates"),
    "access_events": _plain("access_events", extra=("expires_at",)),
}


def _projection(attributes: tuple[str, ...]) -> dict[str, Any]:
    """A ProjectionExpression reading only `attributes` (aliased: many are reserved words)."""
    names = {f"#a{i}": attribute for i, attribute in enumerate(attributes)}
    return {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}


def _live(item: dict[str, Any], now_epoch: int) -> bool:
    expires = item.get("expires_at")
    return expires is None or int(expires["N"]) > now_epoch


def _all_items(call: Callable[..., dict[str, Any]], request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item a Scan or Query (`call`) returns, following `LastEvaluatedKey` page by page."""
    request = dict(request)
    while True:
        page = call(**request)
        yield from page["Items"]
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _to_table(name: str, items: list[dict[str, Any]]) -> pa.Table:
    export, schema = _EXPORTS[name], SNAPSHOT_SCHEMAS[name]
    arrays = [pa.array([export.columns[f.name](item) for item in items], type=f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def scan_table(name: str, settings: Settings, segments: int = 8) -> pa.Table:
    """Snapshot `name` read now from its table by a parallel scan of `segments` segments."""
    export = _EXPORTS[name]
    table_name = settings.table_name(SNAPSHOT_TABLES[name])
    client = _dynamodb()
    now_epoch = int(clock.now().timestamp())

    def scan(segment: int) -> list[dict[str, Any]]:
        request = {
            "TableName": table_name,
            "Segment": segment,
            "TotalSegments": segments,
            **_projection(export.attributes),
        }
        return [item for item in _all_items(client.scan, request) if _live(item, now_epoch)]

    with ThreadPoolExecutor(max_workers=segments) as pool:
        items = [item for part in pool.map(scan, range(segments)) for item in part]
    return _to_table(name, items)


def export_table(name: str, settings: Settings, as_of: date, segments: int = 8) -> str:
    """Parallel-scan one table into its Parquet snapshot as of `as_of`; returns the s3:// prefix."""
    if name == "access_events":
        raise ValueError("events are exported per day with export_events_day")
    return write_snapshot(name, scan_table(name, settings, segments), settings, as_of)


def _estate_ids(client, settings: Settings) -> list[str]:
    """Every estate id (the places table is small: one item per place, not per person)."""
    request = {
        "TableName": settings.table_name("places"),
        "FilterExpression": "#k = :estate",
        "ProjectionExpression": "place_id",
        "ExpressionAttributeNames": {"#k": "kind"},
        "ExpressionAttributeValues": {":estate": {"S": PlaceKind.ESTATE.value}},
    }
    return sorted(item["place_id"]["S"] for item in _all_items(client.scan, request))


def events_of_day(day: date, settings: Settings) -> pa.Table:
    """The live events of UTC day `day` from the table: one query per estate and write shard."""
    client = _dynamodb()
    export = _EXPORTS["access_events"]
    now_epoch = int(clock.now().timestamp())
    keys = [
        partition_key(estate, day, shard)
        for estate in _estate_ids(client, settings)
        for shard in range(settings.event_write_shards)
    ]

    def query(pk: str) -> list[dict[str, Any]]:
        request = {
            "TableName": settings.table_name("access_events"),
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            **_projection(export.attributes),
        }
        return [item for item in _all_items(client.query, request) if _live(item, now_epoch)]

    with ThreadPoolExecutor(max_workers=16) as pool:
        items = [item for part in pool.map(query, keys) for item in part]
    table = _to_table("access_events", items)
    return table.sort_by([("occurred_at", "ascending"), ("event_id", "ascending")])


def export_events_day(day: date, settings: Settings) -> str:
    """Export the events of UTC day `day` from the table to Parquet; returns the s3:// prefix.

    The export replaces that day's partition: run it once the day is over (the nightly flow
    exports yesterday). Note the emulator seeds large cities' history straight into Parquet,
    not the table, so do not re-export seeded history days there.
    """
    return write_events_day(day, events_of_day(day, settings), settings)

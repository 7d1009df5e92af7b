"""Parquet snapshots: a parallel-scan export reads back as the city, holds no personal data, drops
expired items, and event days round-trip."""

from __future__ import annotations

from datetime import date, timedelta

import boto3
import numpy as np
import pyarrow as pa
import pytest

from gridgate import clock
from gridgate.adapters import parquet_exports as snapshots
from gridgate.adapters.tables import VisitorPassTable
from gridgate.config import get_settings
from local_emulator import city_tables

_KEYS = {
    "persons": ["person_id"],
    "homes": ["home_id"],
    "ownerships": ["person_id", "home_id"],
    "grants": ["home_id", "grant_id"],
    "visitor_passes": ["pass_id"],
    "places": ["place_id"],
    "face_templates": ["person_id", "source"],
    "access_events": ["event_id"],
}


def _plain(name: str, table: pa.Table) -> list[dict]:
    """Rows with dictionaries decoded, ordered by the snapshot's key."""
    columns = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns]
    decoded = pa.Table.from_arrays(columns, names=table.column_names)
    return decoded.sort_by([(k, "ascending") for k in _KEYS[name]]).to_pylist()


@pytest.mark.parametrize("name", list(city_tables.CITY_SNAPSHOTS))
def test_export_by_parallel_scan_reads_back_as_the_city(seeded, name):
    city, _ = seeded
    settings = get_settings()
    as_of = city.today
    location = snapshots.export_table(name, settings, as_of, segments=4)
    assert location == f"s3://{settings.bucket}/snapshots/{name}/as_of={as_of.isoformat()}/"
    read = snapshots.read_snapshot(name, settings, as_of)
    assert read.column_names == snapshots.SNAPSHOT_SCHEMAS[name].names
    for column in snapshots.DICTIONARY_COLUMNS[name]:
        assert pa.types.is_dictionary(read.schema.field(column).type)
    assert _plain(name, read) == _plain(name, city_tables.CITY_SNAPSHOTS[name](city))


def test_snapshots_hold_no_personal_data(seeded):
    city, _ = seeded
    settings = get_settings()
    for name in ("persons", "visitor_passes", "face_templates"):
        snapshots.export_table(name, settings, city.today)
    s3 = boto3.client("s3")
    blobs = b"".join(
        s3.get_object(Bucket=settings.bucket, Key=o["Key"])["Body"].read()
        for o in s3.list_objects_v2(Bucket=settings.bucket, Prefix="snapshots/")["Contents"]
    )
    names = city.names(np.arange(city.n_persons))
    numbers = [n for n in city.id_numbers().tolist()]
    assert not [n for n in numbers if n in blobs]
    assert not [n for n in names if len(n) >= 3 and n.encode() in blobs]
    assert not [
        c
        for schema in snapshots.SNAPSHOT_SCHEMAS.values()
        for c in schema.names
        if c.endswith("_enc") or c == "encoding"
    ]


def test_expired_passes_stay_out_of_the_export(seeded, protector):
    city, _ = seeded
    settings = get_settings()
    passes = city_tables.passes_table(city).to_pylist()
    expired = VisitorPassTable.get(passes[0]["pass_id"])
    expired.update(actions=[VisitorPassTable.expires_at.set(clock.now() - timedelta(days=1))])
    exported = snapshots.read_snapshot("visitor_passes", settings, date(2001, 1, 1))
    assert exported.num_rows == 0 and exported.column_names == snapshots.SNAPSHOT_SCHEMAS["visitor_passes"].names
    snapshots.export_table("visitor_passes", settings, date(2001, 1, 1))
    ids = snapshots.read_snapshot("visitor_passes", settings, date(2001, 1, 1))["pass_id"].to_pylist()
    assert passes[0]["pass_id"] not in ids and len(ids) == len(passes) - 1


def test_events_export_of_a_day_and_reading_a_range(seeded):
    city, _ = seeded
    settings = get_settings()
    last = city.event_days[-1]
    table_events = snapshots.events_of_day(last, settings)  # what the table holds: the latest 800
    assert table_events.num_rows == 800
    expected = city_tables.events_table(city, last)
    assert _plain("access_events", table_events) == _plain("access_events", expected.slice(expected.num_rows - 800))
    # an export replaces the day's partition (here, in a day of its own so the seeded history stays)
    other = last + timedelta(days=30)
    snapshots.write_events_day(other, expected, settings)
    snapshots.write_events_day(other, expected.slice(0, 10), settings)
    assert snapshots.read_events(other, other, settings).num_rows == 10
    both = snapshots.read_events(city.event_days[0], last, settings)
    assert both.num_rows == sum(city_tables.events_table(city, d).num_rows for d in city.event_days)
    assert both["occurred_at"].type == pa.timestamp("ms", tz="UTC")
    with pytest.raises(ValueError):
        snapshots.read_events(last, city.event_days[0], settings)


def test_a_snapshot_must_have_its_columns(seeded):
    with pytest.raises(ValueError, match="lacks columns"):
        snapshots.write_snapshot("homes", pa.table({"home_id": ["H1"]}), get_settings(), date(2001, 1, 2))


def test_every_page_of_a_scan_or_query_is_read():
    from gridgate.adapters.parquet_exports import _all_items

    pages = [
        {"Items": [1, 2], "LastEvaluatedKey": {"k": 1}},
        {"Items": [3], "LastEvaluatedKey": {"k": 2}},
        {"Items": [4]},
    ]
    asked = []

    def call(**request):
        asked.append(request.get("ExclusiveStartKey"))
        return pages[len(asked) - 1]

    request = {"TableName": "t"}
    assert list(_all_items(call, request)) == [1, 2, 3, 4]
    assert asked == [None, {"k": 1}, {"k": 2}] and request == {"TableName": "t"}

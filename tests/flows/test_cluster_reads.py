"""Spark on a cluster reads the snapshots and event days in S3 in place; live-day copies do not pile up.

Why: staging a whole city through the flow's disk is what one node does; a cluster's executors
must read ``s3a://`` themselves (`Settings.analytics_read_s3`), and nothing the flow writes
for the unfinished day may outlive the run (every night reads it afresh). The S3 side runs
against moto's server; Spark's own s3a reader needs hadoop-aws, which a cluster has and this
machine does not, so the test stops at the URIs and the session configuration Spark is given.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
from pydantic import ValidationError

from gridgate.adapters import parquet_exports as snapshots
from gridgate.adapters.sql_engines import SparkEngine, engine_for
from gridgate.config import Settings, get_settings

DAY = date(2020, 3, 1)  # a day no other test writes events for


def _events(estate: str) -> pa.Table:
    at = datetime(DAY.year, DAY.month, DAY.day, 9, tzinfo=UTC)
    rows = [
        {
            "event_id": f"{estate}:1",
            "gate_id": f"{estate}-G1",
            "estate_id": estate,
            "direction": "in",
            "occurred_at": at,
            "method": "face",
            "outcome": "open",
            "person_id": "P-s3",
        }
    ]
    return pa.Table.from_pylist(rows, schema=snapshots.SNAPSHOT_SCHEMAS["access_events"])


def test_reading_s3_in_place_is_for_spark_only():
    with pytest.raises(ValidationError, match="analytics_read_s3 needs analytics_engine='spark'"):
        Settings(analytics_read_s3=True)
    engine = engine_for(Settings(analytics_engine="spark", analytics_read_s3=True))
    assert isinstance(engine, SparkEngine) and engine.read_s3


def test_spark_is_configured_for_s3a_with_the_emulators_endpoint():
    conf = SparkEngine(read_s3=True, s3_endpoint="http://127.0.0.1:5123").conf()
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:5123"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert conf["spark.sql.session.timeZone"] == "UTC"
    on_aws = SparkEngine(read_s3=True).conf()
    assert "spark.hadoop.fs.s3a.endpoint" not in on_aws  # the cluster's own region and role
    assert "spark.hadoop.fs.s3a.aws.credentials.provider" in on_aws
    assert not any(key.startswith("spark.hadoop.fs.s3a") for key in SparkEngine().conf())


def test_days_and_snapshots_are_named_by_their_s3a_uris(moto_server):
    settings = get_settings()
    estate = f"E-s{uuid.uuid4().hex[:6]}"
    snapshots.write_events_day(DAY, _events(estate), settings)
    uris = snapshots.events_day_uris(DAY, settings)
    assert uris and all(u.startswith(f"s3a://{settings.bucket}/{snapshots.events_prefix(DAY)}") for u in uris)
    as_of = date(2020, 3, 2)
    snapshots.write_snapshot("homes", snapshots.SNAPSHOT_SCHEMAS["homes"].empty_table(), settings, as_of)
    assert all(
        u.startswith(f"s3a://{settings.bucket}/{snapshots.snapshot_prefix('homes', as_of)}")
        for u in snapshots.snapshot_uris("homes", settings, as_of)
    )


def test_live_day_copies_are_removed_after_the_run(moto_server, tmp_path):
    import boto3

    settings = get_settings()
    estate = f"E-l{uuid.uuid4().hex[:6]}"
    in_s3 = snapshots.write_live_events(DAY, _events(estate), settings)
    on_disk = snapshots.write_local_events(_events(estate), tmp_path / f"live={DAY.isoformat()}" / "run.parquet")
    bucket, key = in_s3.removeprefix("s3a://").split("/", 1)
    s3 = boto3.client("s3")
    assert "/live=" in key and s3.head_object(Bucket=bucket, Key=key)
    # A finished day's export sits beside it and must survive.
    snapshots.write_events_day(DAY, _events(estate), settings)
    exported = snapshots.events_day_uris(DAY, settings)

    assert snapshots.remove_live_events([in_s3, on_disk], settings) == 2
    assert s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount") == 0
    assert not (tmp_path / f"live={DAY.isoformat()}" / "run.parquet").exists()
    assert snapshots.events_day_uris(DAY, settings) == exported
    with pytest.raises(ValueError, match="not a live-day copy"):
        snapshots.remove_live_events(exported, settings)

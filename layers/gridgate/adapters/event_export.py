"""The nightly bulk path out of DynamoDB: the table's native export to S3, turned into day Parquet.

Why: reading a day of events item by item (Query per estate-day shard, one Python dict per
item) costs about 3.4 KB of memory and a read unit per event — at Nanjing's tens of millions
of events a day that is hours and ~150 GB. DynamoDB's `ExportTableToPointInTime` writes the
table to S3 itself (no read capacity consumed, billed per GB exported; the table has point-in-
time recovery on), and DuckDB converts the exported DynamoDB-JSON files to the day-partitioned
Parquet the flows query — columnar, out of core, never one Python object per event.

Incremental exports are requested (AWS exports and bills only the items written in each window,
which may be 15 min to 24 h long): one per 24 h of *write* time from the first day's midnight
up to `now`, so an event of day D uploaded late by an offline gate on D+1 is still in D's
partition. The conversion keeps each event in the UTC day it *occurred*. The emulator (moto)
writes the whole table whatever the type and in the full-export shape (``Item`` instead of
``NewImage``); the conversion reads both, and filters on `occurred_at` itself, so the result is
the same; an item seen by two exports (moto's full dumps, or a retried export) is kept once.
docs/flows.md has the cost per night at Nanjing's size.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import boto3

from gridgate.adapters.event_files import copy_statement
from gridgate.adapters.parquet_exports import _list, _s3, replace_events_day
from gridgate.config import Settings

#: How the exported items' attributes are read: each a DynamoDB-JSON typed value.
_ATTRIBUTES = {
    "event_id": "S",
    "gate_id": "S",
    "estate_id": "S",
    "direction": "S",
    "occurred_at": "S",
    "method": "S",
    "outcome": "S",
    "reason": "S",
    "person_id": "S",
    "pass_id": "S",
    "home_id": "S",
    "registry": "S",
    "score": "N",
    "right": "S",
}
_ITEM_TYPE = "STRUCT(" + ", ".join(f'"{a}" STRUCT("{t}" VARCHAR)' for a, t in _ATTRIBUTES.items()) + ")"
#: Longest window of one incremental export (DynamoDB's limit).
_MAX_WINDOW = timedelta(hours=24)


def _column(attribute: str) -> str:
    value = f'Item."{attribute}"."{_ATTRIBUTES[attribute]}"'
    if attribute == "occurred_at":  # PynamoDB's UTCDateTimeAttribute: 2026-11-23T16:00:00.000000+0000
        return f"strptime({value}, '%Y-%m-%dT%H:%M:%S.%f%z') AS occurred_at"
    if attribute == "score":
        return f"CAST({value} AS DOUBLE) AS score"
    return f'{value} AS "{attribute}"'


def request_export(settings: Settings, start: datetime, end: datetime, timeout_s: float = 900) -> list[str]:
    """Export the events table to S3 (changes in [start, end)); returns the data files' S3 keys."""
    client = boto3.client("dynamodb")
    table_arn = client.describe_table(TableName=settings.table_name("access_events"))["Table"]["TableArn"]
    prefix = f"exports/access_events/{start:%Y%m%dT%H%M}-{uuid.uuid4().hex[:8]}"
    export = client.export_table_to_point_in_time(
        TableArn=table_arn,
        S3Bucket=settings.bucket,
        S3Prefix=prefix,
        ExportFormat="DYNAMODB_JSON",
        ExportType="INCREMENTAL_EXPORT",
        IncrementalExportSpecification={"ExportFromTime": start, "ExportToTime": end, "ExportViewType": "NEW_IMAGE"},
    )["ExportDescription"]
    deadline = time.monotonic() + timeout_s
    while export["ExportStatus"] == "IN_PROGRESS":
        if time.monotonic() > deadline:
            raise TimeoutError(f"export {export['ExportArn']} still in progress after {timeout_s} s")
        time.sleep(0.5)
        export = client.describe_export(ExportArn=export["ExportArn"])["ExportDescription"]
    if export["ExportStatus"] != "COMPLETED":
        raise RuntimeError(f"export {export['ExportArn']} {export['ExportStatus']}: {export.get('FailureMessage')}")
    return sorted(o["Key"] for o in _list(_s3(), settings.bucket, prefix + "/") if "/data/" in o["Key"])


def write_windows(start: datetime, now: datetime) -> list[tuple[datetime, datetime]]:
    """[start, now) cut into windows an incremental export accepts (at most 24 h each)."""
    windows = []
    while start < now:
        windows.append((start, min(start + _MAX_WINDOW, now)))
        start += _MAX_WINDOW
    return windows


def export_event_days(
    days: list[date], settings: Settings, work_dir: Path, now: datetime, memory_limit: str = "512MB"
) -> dict[date, str]:
    """Export finished UTC `days` through native exports; returns each day's s3:// prefix.

    Each day's partition is replaced by exactly the events that occurred in it, whenever they
    were written up to `now` (a re-run writes the same rows again, so nothing changes). The
    exports' own files are deleted once converted.
    """
    import duckdb

    if not days:
        return {}
    start = datetime.combine(min(days), datetime.min.time(), tzinfo=UTC)
    run = work_dir / f"export-{uuid.uuid4().hex}"
    run.mkdir(parents=True)
    s3 = _s3()
    local: list[str] = []
    for window_start, window_end in write_windows(start, now):
        for key in request_export(settings, window_start, window_end):
            path = run / f"{len(local):05d}.json.gz"
            s3.download_file(settings.bucket, key, str(path))
            s3.delete_object(Bucket=settings.bucket, Key=key)
            local.append(str(path))
    con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": str(run / "spill")})
    written: dict[date, str] = {}
    try:
        con.execute("SET TimeZone = 'UTC'")
        listed = ", ".join(f"'{p}'" for p in local)
        source = (
            f"(SELECT COALESCE(NewImage, Item) AS Item FROM read_json([{listed}], format = 'newline_delimited', "
            f"compression = 'gzip', columns = {{'Item': '{_ITEM_TYPE}', 'NewImage': '{_ITEM_TYPE}'}}))"
            if local
            else None
        )
        for day in days:
            out = run / f"{day.isoformat()}.parquet"
            select = ", ".join(_column(a) for a in _ATTRIBUTES)
            lo = f"TIMESTAMPTZ '{day.isoformat()} 00:00:00+00'"
            hi = f"TIMESTAMPTZ '{(day + timedelta(days=1)).isoformat()} 00:00:00+00'"
            query = (
                f"SELECT DISTINCT * FROM (SELECT {select} FROM {source}) WHERE occurred_at >= {lo} AND occurred_at < {hi}"
                if source
                else f"SELECT {', '.join(_EMPTY)} LIMIT 0"
            )
            con.execute(copy_statement(query, out))
            written[day] = replace_events_day(s3, settings, day, out)
    finally:
        con.close()
        for path in sorted(run.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        run.rmdir()
    return written


_EMPTY = [
    f'CAST(NULL AS {"TIMESTAMPTZ" if a == "occurred_at" else "DOUBLE" if a == "score" else "VARCHAR"}) AS "{a}"'
    for a in _ATTRIBUTES
]

"""Where the oldest copy of the access events is, for the compliance report's retention figure.

The events table itself is bounded item by item (each carries ``expires_at``; DynamoDB's TTL
deletes it and every read drops it past that), so what can outlive the policy is a copy: the
nightly Parquet partitions in S3, one per UTC day (``snapshots/access_events/day=<day>/``). One
prefix listing finds the oldest day still held, without reading any event. Plain boto3: the API
carries no pyarrow.
"""

from __future__ import annotations

import re
from datetime import date

import boto3

from gridgate.config import Settings, get_settings

EVENTS_PREFIX = "snapshots/access_events/"
_DAY = re.compile(r"day=(\d{4}-\d{2}-\d{2})/$")


class EventCopies:
    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings or get_settings()

    def oldest_day(self) -> date | None:
        """The oldest UTC day of which event partitions are held, None when there are none."""
        pages = (
            boto3.client("s3")
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self._settings.bucket, Prefix=EVENTS_PREFIX, Delimiter="/")
        )
        days = [
            date.fromisoformat(match.group(1))
            for page in pages
            for prefix in page.get("CommonPrefixes", [])
            if (match := _DAY.search(prefix["Prefix"]))
        ]
        return min(days, default=None)

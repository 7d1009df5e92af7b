"""S3 objects the flows need besides the snapshots themselves.

- whether a UTC day's access events have been exported to Parquet yet (a day is exported once,
  after it is over; the emulator may have seeded history days straight into Parquet, and those
  must never be overwritten by an export of the — empty — table);
- publishing what a flow produces for people (task sheets, the statistics report): to S3 under
  ``reports/`` and, when a local directory is given, to disk as well (the demo opens those).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import boto3

from gridgate.adapters.parquet_exports import events_prefix
from gridgate.config import Settings

REPORTS_PREFIX = "reports/"


def events_day_exported(day: date, settings: Settings) -> bool:
    listing = boto3.client("s3").list_objects_v2(Bucket=settings.bucket, Prefix=events_prefix(day), MaxKeys=1)
    return listing.get("KeyCount", 0) > 0


@dataclass(frozen=True)
class Published:
    s3_uri: str
    local_path: Path | None


class ReportStore:
    """Where flow outputs for people go: ``s3://<bucket>/reports/<path>`` and ``<local_dir>/<path>``."""

    def __init__(self, settings: Settings, local_dir: Path | None = None) -> None:
        self._settings = settings
        self._local_dir = local_dir

    def publish(self, path: str, body: str | bytes, content_type: str) -> Published:
        """Store `body` (text, or text already UTF-8 encoded) at `path`."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        key = REPORTS_PREFIX + path
        boto3.client("s3").put_object(Bucket=self._settings.bucket, Key=key, Body=data, ContentType=content_type)
        local = None
        if self._local_dir is not None:
            local = self._local_dir / path
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(data)
        return Published(f"s3://{self._settings.bucket}/{key}", local)

    def read(self, path: str) -> str:
        obj = boto3.client("s3").get_object(Bucket=self._settings.bucket, Key=REPORTS_PREFIX + path)
        return obj["Body"].read().decode("utf-8")

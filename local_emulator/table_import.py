"""Bulk-load empty tables with DynamoDB's ImportTable from S3 (DYNAMODB_JSON, gzip).

ImportTable is how AWS loads a table in bulk: items are staged in S3 as newline-delimited
DynamoDB JSON and the service creates the table from them, with no per-request overhead. It
only creates *new* tables, so an empty table is first described (keys, indexes, TTL), dropped
and re-created by the import with the very same definition; a table that already holds items
is never touched here (the caller writes those with batch writes). In the emulator, the import
runs inside moto's server (made fast by `local_emulator.moto_speedups`).

Items are staged and imports started one table after the other, so the server imports one
table while the next one's items are being built.
"""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import time
from collections.abc import Iterable
from typing import Any

import boto3
from botocore.config import Config

from local_emulator.bulk_writer import Item

#: Items per staged S3 object.
ITEMS_PER_PART = 50_000


class ImportFailed(RuntimeError):
    pass


def _json_value(value: dict[str, Any]) -> dict[str, Any]:
    """An attribute value as DynamoDB JSON text wants it: binaries base64-encoded."""
    if "B" in value:
        return {"B": base64.b64encode(value["B"]).decode("ascii")}
    if "BS" in value:
        return {"BS": [base64.b64encode(b).decode("ascii") for b in value["BS"]]}
    return value


def _line(item: Item) -> str:
    return json.dumps({"Item": {name: _json_value(value) for name, value in item.items()}}, ensure_ascii=False)


class TableImporter:
    def __init__(self, region: str, bucket: str, prefix: str = "seed-import") -> None:
        config = Config(retries={"mode": "standard", "max_attempts": 10})
        self._dynamodb = boto3.client("dynamodb", region_name=region, config=config)
        self._s3 = boto3.client("s3", region_name=region, config=config)
        self._bucket = bucket
        self._prefix = prefix
        self._started: dict[str, tuple[str, dict, bool, list[str]]] = {}

    def is_empty(self, table_name: str) -> bool:
        return not self._dynamodb.scan(TableName=table_name, Limit=1, Select="COUNT")["Count"]

    def start(self, table_name: str, items: Iterable[Item]) -> None:
        """Stage `items` in S3 and start importing them into `table_name`, which must be empty."""
        if not self.is_empty(table_name):
            raise ImportFailed(f"{table_name} is not empty; ImportTable only loads new tables")
        definition = self._dynamodb.describe_table(TableName=table_name)["Table"]
        ttl = self._dynamodb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
        # Kept like TTL: the nightly flows export the events table, which needs point-in-time recovery.
        pitr = self._dynamodb.describe_continuous_backups(TableName=table_name)["ContinuousBackupsDescription"]
        recovery = pitr.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED"
        prefix = f"{self._prefix}/{table_name}/"
        keys = self._stage(prefix, items)
        if not keys:
            return
        self._dynamodb.delete_table(TableName=table_name)
        parameters: dict[str, Any] = {
            "TableName": table_name,
            "AttributeDefinitions": definition["AttributeDefinitions"],
            "KeySchema": definition["KeySchema"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        indexes = [
            {"IndexName": gsi["IndexName"], "KeySchema": gsi["KeySchema"], "Projection": gsi["Projection"]}
            for gsi in definition.get("GlobalSecondaryIndexes", [])
        ]
        if indexes:
            parameters["GlobalSecondaryIndexes"] = indexes
        response = self._dynamodb.import_table(
            S3BucketSource={"S3Bucket": self._bucket, "S3KeyPrefix": prefix},
            InputFormat="DYNAMODB_JSON",
            InputCompressionType="GZIP",
            TableCreationParameters=parameters,
        )
        self._started[table_name] = (response["ImportTableDescription"]["ImportArn"], ttl, recovery, keys)

    def _stage(self, prefix: str, items: Iterable[Item]) -> list[str]:
        """Write `items` as gzip DynamoDB-JSON parts under `prefix`; the keys written (none if no items)."""
        keys: list[str] = []
        iterator = iter(items)
        while lines := [_line(item) for item in itertools.islice(iterator, ITEMS_PER_PART)]:
            key = f"{prefix}part-{len(keys):05d}.json.gz"
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=gzip.compress("\n".join(lines).encode(), 1))
            keys.append(key)
        return keys

    def wait(self, poll_seconds: float = 0.2) -> dict[str, int]:
        """Wait for every started import; re-enable TTL and point-in-time recovery; remove the staged files. Items per table."""
        imported: dict[str, int] = {}
        for table_name, (arn, ttl, recovery, keys) in self._started.items():
            while True:
                status = self._dynamodb.describe_import(ImportArn=arn)["ImportTableDescription"]
                if status["ImportStatus"] != "IN_PROGRESS":
                    break
                time.sleep(poll_seconds)
            if status["ImportStatus"] != "COMPLETED":
                raise ImportFailed(f"{table_name}: import {status['ImportStatus']}: {status.get('FailureMessage')}")
            if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
                self._dynamodb.update_time_to_live(
                    TableName=table_name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
                )
            if recovery:
                self._dynamodb.update_continuous_backups(
                    TableName=table_name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
                )
            for key in keys:
                self._s3.delete_object(Bucket=self._bucket, Key=key)
            imported[table_name] = int(status.get("ImportedItemCount", 0))
        self._started.clear()
        return imported

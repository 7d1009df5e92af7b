"""Create gridgate's tables and bucket where they do not exist yet (emulator, tests, first deploy).

In AWS the same resources are declared in `infra/` and created by the deployment; this is the
code path for moto's server and for tests, and it is idempotent.
"""

from __future__ import annotations

import boto3
from botocore.exceptions import ClientError

from gridgate.adapters.tables import ALL_TABLES, AccessEventTable
from gridgate.config import Settings


def create_tables(settings: Settings) -> list[str]:
    """Create every missing table and switch on TTL where the table has one. Returns all names.

    Point-in-time recovery is switched on for the access events, as `infra/` declares it: the
    nightly flows' bulk export (`event_export`) needs it.
    """
    client = boto3.client("dynamodb", region_name=settings.region)
    for table in ALL_TABLES:
        if not table.exists():
            table.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
            if table.TTL_ATTRIBUTE:
                client.update_time_to_live(
                    TableName=table.Meta.table_name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": table.TTL_ATTRIBUTE},
                )
    # Idempotent, and also for a table created before this was provisioned.
    client.update_continuous_backups(
        TableName=AccessEventTable.Meta.table_name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    return [table.Meta.table_name for table in ALL_TABLES]


def create_bucket(settings: Settings) -> str:
    s3 = boto3.client("s3", region_name=settings.region)
    try:
        if settings.region == "us-east-1":
            s3.create_bucket(Bucket=settings.bucket)
        else:
            s3.create_bucket(
                Bucket=settings.bucket,
                CreateBucketConfiguration={"LocationConstraint": settings.region},
            )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise
    return settings.bucket


def provision(settings: Settings) -> dict[str, list[str] | str]:
    return {"tables": create_tables(settings), "bucket": create_bucket(settings)}

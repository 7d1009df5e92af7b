"""The stateful resources of a gridgate stage: tables, data bucket, encryption key, keyring secret.

Tables are derived from the PynamoDB models (`gridgate.adapters.tables.ALL_TABLES`): keys,
indexes and TTL attribute come from the same classes the code uses, so a new index in the
code is a new index in the template the next time `python -m infra.generate` runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gridgate.adapters.tables import ALL_TABLES, BaseTable, DeviceNonceTable, IdempotencyTable, SignInTable
from infra.naming import SNAPSHOTS_PREFIX, logical_id, table_name_sub

KEY_ID = "DataKey"
BUCKET_ID = "DataBucket"
SECRET_ID = "KeyringSecret"

#: Short-lived tables (request hygiene, sign-ins): items live minutes to a day, a restore would be pointless.
_NO_POINT_IN_TIME_RECOVERY = (IdempotencyTable, DeviceNonceTable, SignInTable)

PARAMETERS = {
    "Stage": {
        "Type": "String",
        "Default": "dev",
        "AllowedPattern": "^[a-z][a-z0-9-]{0,15}$",
        "Description": "Deployment stage; the functions read it as GRIDGATE_STAGE.",
    },
    "TablePrefix": {
        "Type": "String",
        "Default": "gridgate",
        "AllowedPattern": "^[a-z][a-z0-9-]{1,30}$",
        "Description": "Name prefix of tables, bucket and secret (GRIDGATE_TABLE_PREFIX); "
        "choose one unique to your city, since bucket names are global.",
    },
    "SnapshotRetentionDays": {
        "Type": "Number",
        "Default": 180,
        "MinValue": 8,
        "Description": "Days the flows' Parquet snapshots (tables, each day's access events) are "
        "kept; keep it equal to GRIDGATE_EVENT_RETENTION_DAYS, the events' own TTL.",
    },
}

CONDITIONS = {"IsProduction": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}}


def _key_schema(schema: Iterable[Mapping[str, object]]) -> list[dict[str, object]]:
    """HASH before RANGE, as DynamoDB expects (PynamoDB does not keep that order)."""
    return sorted(
        ({"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in schema),
        key=lambda k: k["KeyType"] != "HASH",
    )


def table_resource(table: type[BaseTable]) -> dict:
    schema = table._get_schema()
    attributes = {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]}
    properties: dict = {
        "TableName": table_name_sub(table),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": attributes[name]} for name in sorted(attributes)
        ],
        "KeySchema": _key_schema(schema["key_schema"]),
        "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": {"Ref": KEY_ID}},
        "DeletionProtectionEnabled": {"Fn::If": ["IsProduction", True, False]},
    }
    indexes = sorted(schema["global_secondary_indexes"], key=lambda index: index["index_name"])
    if indexes:
        properties["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index["index_name"],
                "KeySchema": _key_schema(index["key_schema"]),
                "Projection": {"ProjectionType": index["projection"]["ProjectionType"]},
            }
            for index in indexes
        ]
    if table.STREAM_VIEW:
        properties["StreamSpecification"] = {"StreamViewType": table.STREAM_VIEW}
    if table.TTL_ATTRIBUTE:
        properties["TimeToLiveSpecification"] = {"AttributeName": table.TTL_ATTRIBUTE, "Enabled": True}
    if table not in _NO_POINT_IN_TIME_RECOVERY:
        properties["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    return {
        "Type": "AWS::DynamoDB::Table",
        # Registries, rights and access records outlive a stack: deleting the stack keeps them.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


def key_resources() -> dict:
    """One customer-managed key for tables, bucket and secret; IAM policies decide who uses it."""
    return {
        KEY_ID: {
            "Type": "AWS::KMS::Key",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": {"Fn::Sub": "gridgate ${Stage}: tables, data bucket and keyring secret"},
                "EnableKeyRotation": True,
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountIamPoliciesDecide",
                            "Effect": "Allow",
                            "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ],
                },
            },
        },
        "DataKeyAlias": {
            "Type": "AWS::KMS::Alias",
            "Properties": {
                "AliasName": {"Fn::Sub": "alias/${TablePrefix}-${Stage}-data"},
                "TargetKeyId": {"Ref": KEY_ID},
            },
        },
    }


def bucket_resources() -> dict:
    """Data bucket: KMS-encrypted, never public, TLS only; snapshots expire with the retention
    of the events they hold, and a replaced snapshot's old version is gone a day later."""
    rules = [
        {
            "Id": "ExpireSnapshots",
            "Status": "Enabled",
            "Prefix": SNAPSHOTS_PREFIX,
            "ExpirationInDays": {"Ref": "SnapshotRetentionDays"},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
        },
        {
            "Id": "AbortIncompleteUploads",
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2},
        },
    ]
    return {
        BUCKET_ID: {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketName": {"Fn::Sub": "${TablePrefix}-${Stage}-data"},
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": {"Fn::GetAtt": [KEY_ID, "Arn"]},
                            },
                            "BucketKeyEnabled": True,
                        }
                    ]
                },
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "VersioningConfiguration": {"Status": "Enabled"},
                "LifecycleConfiguration": {"Rules": rules},
            },
        },
        "DataBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": BUCKET_ID},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [
                                {"Fn::GetAtt": [BUCKET_ID, "Arn"]},
                                {"Fn::Sub": "${" + BUCKET_ID + ".Arn}/*"},
                            ],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        },
    }


def secret_resources() -> dict:
    """The keyring secret, created empty: `gridgate keys init` writes the first keyring into it,
    so key material never passes through CloudFormation (templates and events are not secret)."""
    return {
        SECRET_ID: {
            "Type": "AWS::SecretsManager::Secret",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Name": {"Fn::Sub": "${TablePrefix}/${Stage}/keyring"},
                "Description": "gridgate keyring: field key, identifier hash key, pass-signing keys",
                "KmsKeyId": {"Ref": KEY_ID},
            },
        }
    }


def stateful_resources() -> dict:
    resources = {logical_id(table): table_resource(table) for table in ALL_TABLES}
    resources.update(key_resources())
    resources.update(bucket_resources())
    resources.update(secret_resources())
    return resources


def outputs() -> dict:
    values = {
        "DataBucketName": {"Ref": BUCKET_ID},
        "DataKeyArn": {"Fn::GetAtt": [KEY_ID, "Arn"]},
        "KeyringSecretArn": {"Ref": SECRET_ID},
    }
    return {name: {"Value": value} for name, value in values.items()}

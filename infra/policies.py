"""Least-privilege IAM: which principal may do what to which table, prefix and secret.

Written by hand (Chalice's generated policy does not see PynamoDB's DynamoDB calls) and kept
as data, so a reviewer reads one table per principal:

- the API function (city app, grid workers, data-center pages) changes rights, passes, faces
  and task results, but never touches access events or device nonces, and scans only the two
  small tables the data-center page lists (places for the districts, open findings);
- the gate function only reads what a decision needs and writes exactly three things:
  access events, device nonces and pass use counts (conditional writes), plus the audit log;
- the flows' worker (Prefect) reads everything in bulk and writes findings, tasks, statistics,
  reconciliation repairs, registry imports and the delivery records of the findings and alerts
  it sends out, but never access events.

No principal may delete a table item except where deletion is the feature (face withdrawal,
idempotency records, statistics re-runs).
"""

from __future__ import annotations

from infra.naming import (
    API_FUNCTION,
    EVENTS_FUNCTION,
    FACES_FUNCTION,
    GALLERIES_PREFIX,
    GATE_FUNCTION,
    RETRIES_FUNCTION,
    SNAPSHOTS_PREFIX,
    logical_id,
    table_by_short_name,
)
from infra.resources import BUCKET_ID, KEY_ID, SECRET_ID

EVENT_COPIES_PREFIX = SNAPSHOTS_PREFIX + "access_events/"

READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem")
PUT = ("dynamodb:PutItem",)
UPDATE = ("dynamodb:UpdateItem",)
DELETE = ("dynamodb:DeleteItem",)
BATCH_WRITE = ("dynamodb:BatchWriteItem",)
SCAN = ("dynamodb:Scan",)
BULK_READ = SCAN + ("dynamodb:DescribeTable",)
APPEND = ("dynamodb:PutItem", "dynamodb:ConditionCheckItem")

#: principal -> table short name -> allowed actions (tables not listed: no access at all)
TABLE_ACCESS: dict[str, dict[str, tuple[str, ...]]] = {
    "api": {
        "persons": READ + PUT + UPDATE,  # corrections from grid workers, resident QR secret
        # enrolment, withdrawal and opt-out (every source); the duplicate check and the compliance
        # report read all templates
        "face_templates": READ + PUT + UPDATE + DELETE + SCAN,
        "places": READ + SCAN + UPDATE,  # data-center page lists districts; gallery_version bump
        "gallery_changes": PUT,  # who a gallery_version bump was about (the gate applies deltas)
        "gates": READ,
        "homes": READ + UPDATE,  # granted_count, the per-home cap counter
        "ownerships": READ,
        "grants": READ + PUT + UPDATE,
        "visitor_passes": READ + PUT + UPDATE,
        "findings": READ + SCAN + UPDATE,  # data-center page; a verified correction closes one
        "verification_tasks": READ + UPDATE,
        "statistics": READ,
        "audit_log": APPEND,
        "idempotency": READ + PUT + UPDATE + DELETE,
        "sign_ins": READ + PUT + UPDATE + DELETE,  # people's sign-ins: a login is taken once, sign-out deletes
        "access_events": READ,  # events export (key queries per estate-day shard)
        "event_subscriptions": READ + PUT + UPDATE,
        "event_deliveries": READ,  # a subscriber's dead letters
        # face consents (given, withdrawn: re-put with the date), opt-outs, flow-query approvals;
        # the compliance report counts them all
        "compliance_records": READ + PUT + SCAN,
    },
    "events": {  # the stream consumer and the retry schedule (chalicelib/event_stream.py)
        "event_subscriptions": READ + SCAN,  # the active subscriptions, once per batch
        "event_deliveries": READ + PUT + UPDATE,
    },
    "gate": {
        "persons": READ,
        "face_templates": READ,
        "places": READ,
        "gallery_changes": READ,  # deltas of the warm face galleries
        "gates": READ,
        "homes": READ,
        "ownerships": READ,
        "grants": READ,
        "visitor_passes": READ + UPDATE,  # conditional use-count increment only
        "access_events": READ + PUT,  # conditional put: a retried event never lands twice
        "device_nonces": APPEND,  # conditional put: a replayed nonce is refused
        "audit_log": APPEND,
        "idempotency": READ + PUT + UPDATE + DELETE,
    },
    "flows": {
        **{name: READ + BULK_READ for name in table_by_short_name() if name != "sign_ins"},  # not people's sessions
        "persons": READ + BULK_READ + PUT + UPDATE + BATCH_WRITE,  # registry import, corrections
        "face_templates": READ + BULK_READ + PUT + BATCH_WRITE,  # registry faces on import
        "places": READ + BULK_READ + PUT + UPDATE + BATCH_WRITE,
        "gallery_changes": READ + BULK_READ + PUT,  # registry import and reconciliation change estates
        "homes": READ + BULK_READ + PUT + UPDATE + BATCH_WRITE,
        "ownerships": READ + BULK_READ + PUT + UPDATE + BATCH_WRITE,
        "grants": READ + BULK_READ + UPDATE,  # revoke grants of former owners
        "visitor_passes": READ + BULK_READ + UPDATE,  # mark expired passes
        "findings": READ + BULK_READ + PUT + UPDATE + BATCH_WRITE,
        "verification_tasks": READ + BULK_READ + PUT + UPDATE + BATCH_WRITE,
        "statistics": READ + BULK_READ + PUT + BATCH_WRITE + DELETE,
        "audit_log": READ + BULK_READ + PUT + BATCH_WRITE,
        "compliance_records": READ + BULK_READ + PUT,  # correction approvals recorded by the CLI
        "event_deliveries": READ + BULK_READ + PUT + UPDATE,  # findings and alerts out (flows/findings_out.py)
    },
}

#: principal -> (bucket prefix, S3 actions). The gate function keeps one object per estate, its
#: face gallery, so a cold instance loads it instead of reading the tables (`adapters/gallery_objects.py`).
#: A prefix with no object actions is only listed: the API's compliance report finds the oldest
#: day of event copies from the prefix names alone (`adapters/retention_probe.py`).
BUCKET_ACCESS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "api": ((EVENT_COPIES_PREFIX, ()),),
    "events": (),
    "gate": ((GALLERIES_PREFIX, ("s3:GetObject", "s3:PutObject")),),
    "flows": ((SNAPSHOTS_PREFIX, ("s3:DeleteObject", "s3:GetObject", "s3:PutObject")),),
}

_VIA_SERVICES = [
    {"Fn::Sub": "dynamodb.${AWS::Region}.amazonaws.com"},
    {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"},
    {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"},
]


def _table_statements(principal: str) -> list[dict]:
    tables = table_by_short_name()
    statements = []
    for name, actions in sorted(TABLE_ACCESS[principal].items()):
        table_id = logical_id(tables[name])
        statements.append(
            {
                "Sid": table_id,
                "Effect": "Allow",
                "Action": sorted(set(actions)),
                "Resource": [
                    {"Fn::GetAtt": [table_id, "Arn"]},
                    {"Fn::Sub": "${" + table_id + ".Arn}/index/*"},
                ],
            }
        )
    return statements


def _bucket_statements(principal: str) -> list[dict]:
    grants = BUCKET_ACCESS[principal]
    if not grants:
        return []
    statements = [
        {
            "Sid": "DataBucket" + "".join(word.capitalize() for word in prefix.strip("/").split("-")),
            "Effect": "Allow",
            "Action": sorted(actions),
            "Resource": {"Fn::Sub": "${" + BUCKET_ID + ".Arn}/" + prefix + "*"},
        }
        for prefix, actions in grants
        if actions
    ]
    statements.append(
        {
            "Sid": "DataBucketList",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": {"Fn::GetAtt": [BUCKET_ID, "Arn"]},
            "Condition": {"StringLike": {"s3:prefix": [prefix + "*" for prefix, _ in grants]}},
        }
    )
    return statements


def _secret_and_key_statements() -> list[dict]:
    return [
        {
            "Sid": "ReadKeyring",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": {"Ref": SECRET_ID},
        },
        {
            "Sid": "UseDataKeyThroughServices",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
            "Resource": {"Fn::GetAtt": [KEY_ID, "Arn"]},
            "Condition": {"StringEquals": {"kms:ViaService": _VIA_SERVICES}},
        },
    ]


def log_statement(log_group_patterns: list[str]) -> dict:
    """Write access to the functions' own log groups (the groups themselves are stack resources)."""
    prefix = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
    return {
        "Sid": "WriteOwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [{"Fn::Sub": prefix + pattern + ":*"} for pattern in log_group_patterns],
    }


def policy_document(principal: str, log_group_patterns: list[str] | None = None) -> dict:
    statements = _table_statements(principal) + _bucket_statements(principal) + _secret_and_key_statements()
    if log_group_patterns:
        statements.append(log_statement(log_group_patterns))
    return {"Version": "2012-10-17", "Statement": statements}


def _xray_statement() -> dict:
    """Tracing is on for both functions; X-Ray has no resource-level permissions."""
    return {
        "Sid": "WriteTraces",
        "Effect": "Allow",
        "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
        "Resource": "*",
    }


def _stream_statement() -> dict:
    """The events function reads the access-events table's stream (its event source mapping)."""
    table_id = logical_id(table_by_short_name()["access_events"])
    return {
        "Sid": "ReadAccessEventsStream",
        "Effect": "Allow",
        "Action": [
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:ListStreams",
        ],
        "Resource": {"Fn::GetAtt": [table_id, "StreamArn"]},
    }


def _lambda_role(principal: str, functions: tuple[str, ...], extra: tuple[dict, ...] = ()) -> dict:
    document = policy_document(principal, ["/aws/lambda/${TablePrefix}-${Stage}-" + f for f in functions])
    document["Statement"].extend([*extra, _xray_statement()])
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Description": {"Fn::Sub": f"gridgate ${{Stage}}: the {' and '.join(functions)} function(s), nothing else"},
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            },
            "Policies": [
                {
                    "PolicyName": f"gridgate-{principal}",
                    "PolicyDocument": document,
                }
            ],
        },
    }


def iam_resources() -> dict:
    """Roles the serverless functions run as, and the Prefect worker's role and policy."""
    return {
        "ApiFunctionRole": _lambda_role("api", (API_FUNCTION, FACES_FUNCTION)),
        "GateFunctionRole": _lambda_role("gate", (GATE_FUNCTION,)),
        "EventsFunctionRole": _lambda_role("events", (EVENTS_FUNCTION, RETRIES_FUNCTION), (_stream_statement(),)),
        "FlowsWorkerPolicy": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "Description": {
                    "Fn::Sub": "gridgate ${Stage}: what the Prefect flows may touch; "
                    "attach to the worker's role wherever the data center runs it"
                },
                "PolicyDocument": policy_document("flows"),
            },
        },
        "FlowsWorkerRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": {"Fn::Sub": "gridgate ${Stage}: Prefect flow runs on ECS"},
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "ManagedPolicyArns": [{"Ref": "FlowsWorkerPolicy"}],
            },
        },
    }


def iam_outputs() -> dict:
    return {
        "ApiFunctionRoleArn": {"Value": {"Fn::GetAtt": ["ApiFunctionRole", "Arn"]}},
        "GateFunctionRoleArn": {"Value": {"Fn::GetAtt": ["GateFunctionRole", "Arn"]}},
        "EventsFunctionRoleArn": {"Value": {"Fn::GetAtt": ["EventsFunctionRole", "Arn"]}},
        "FlowsWorkerRoleArn": {"Value": {"Fn::GetAtt": ["FlowsWorkerRole", "Arn"]}},
        "FlowsWorkerPolicyArn": {"Value": {"Ref": "FlowsWorkerPolicy"}},
    }

"""The generated deployment files are current and describe the tables the code uses."""

from __future__ import annotations

import json
import uuid

import boto3

from gridgate.adapters.tables import ALL_TABLES
from infra import generate
from infra.naming import logical_id, short_name
from infra.policies import TABLE_ACCESS


def test_checked_in_files_equal_what_the_generator_writes():
    stale = generate.stale_files()
    assert stale == [], f"stale generated files {stale}: run `python -m infra.generate` and commit"


def test_every_table_of_the_code_is_in_the_template_with_its_ttl_and_recovery():
    resources = generate.resources_template()["Resources"]
    tables = {rid: r for rid, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table"}
    assert set(tables) == {logical_id(t) for t in ALL_TABLES}
    for table in ALL_TABLES:
        props = tables[logical_id(table)]["Properties"]
        assert props["TableName"] == {"Fn::Sub": "${TablePrefix}-${Stage}-" + short_name(table)}
        assert props["SSESpecification"]["KMSMasterKeyId"] == {"Ref": "DataKey"}
        ttl = props.get("TimeToLiveSpecification")
        assert (ttl or {}).get("AttributeName") == table.TTL_ATTRIBUTE
    assert tables["PersonsTable"]["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
    assert "PointInTimeRecoverySpecification" not in tables["DeviceNoncesTable"]["Properties"]


def test_template_tables_are_the_tables_the_code_creates(moto_server):
    """Create the template's tables through (moto's) CloudFormation and compare each with the
    table PynamoDB created for the same model: same keys, attributes, indexes, projections."""
    stage = "cfn" + uuid.uuid4().hex[:6]
    template = generate.resources_template()
    tables_only = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": template["Parameters"],
        "Conditions": template["Conditions"],
        "Resources": {
            rid: r for rid, r in template["Resources"].items() if r["Type"] in ("AWS::DynamoDB::Table", "AWS::KMS::Key")
        },
    }
    cloudformation = boto3.client("cloudformation", endpoint_url=moto_server.url, region_name="us-east-1")
    cloudformation.create_stack(
        StackName=f"gridgate-{stage}",
        TemplateBody=json.dumps(tables_only),
        Parameters=[{"ParameterKey": "Stage", "ParameterValue": stage}],
    )
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_server.url, region_name="us-east-1")

    def shape(name: str) -> dict:
        table = dynamodb.describe_table(TableName=name)["Table"]
        return {
            "keys": table["KeySchema"],
            "attributes": sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]),
            "indexes": sorted(
                (i["IndexName"], json.dumps(i["KeySchema"]), i["Projection"]["ProjectionType"])
                for i in table.get("GlobalSecondaryIndexes", [])
            ),
        }

    try:
        for table in ALL_TABLES:
            from_template = shape(f"gridgate-{stage}-{short_name(table)}")
            from_code = shape(table.Meta.table_name)
            assert from_template == from_code, short_name(table)
    finally:
        cloudformation.delete_stack(StackName=f"gridgate-{stage}")
        for table in ALL_TABLES:
            try:
                dynamodb.delete_table(TableName=f"gridgate-{stage}-{short_name(table)}")
            except dynamodb.exceptions.ResourceNotFoundException:
                pass


def test_iam_grants_each_principal_only_its_tables():
    resources = generate.resources_template()["Resources"]

    def granted(role_statements: list[dict]) -> dict[str, set[str]]:
        tables = {}
        for statement in role_statements:
            resource = statement["Resource"]
            if (
                isinstance(resource, list)
                and "Fn::GetAtt" in resource[0]
                and resource[0]["Fn::GetAtt"][0].endswith("Table")
            ):
                tables[resource[0]["Fn::GetAtt"][0]] = set(statement["Action"])
        return tables

    gate = granted(resources["GateFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"])
    api = granted(resources["ApiFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"])
    flows = granted(resources["FlowsWorkerPolicy"]["Properties"]["PolicyDocument"]["Statement"])

    # The gate writes only events, nonces, pass use counts and the audit log; it reads rights.
    writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
    gate_writes = {table for table, actions in gate.items() if actions & writes}
    assert gate_writes == {
        "AccessEventsTable",
        "DeviceNoncesTable",
        "VisitorPassesTable",
        "AuditLogTable",
        "IdempotencyTable",
    }
    assert gate["VisitorPassesTable"] & writes == {"dynamodb:UpdateItem"}
    assert "GrantsTable" in gate and not gate["GrantsTable"] & writes
    # The gate never scans; the API scans only what the data-center page lists and what the
    # compliance report counts (templates, consent records; docs/privacy.md).
    assert all("dynamodb:Scan" not in actions for actions in gate.values())
    assert {table for table, actions in api.items() if "dynamodb:Scan" in actions} == {
        "PlacesTable",
        "FindingsTable",
        "FaceTemplatesTable",
        "ComplianceRecordsTable",
    }
    # The API reads access events only for an estate's export (key queries), never writes them.
    assert (
        api["AccessEventsTable"]
        == {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"}
        and "DeviceNoncesTable" not in api
    )
    assert "dynamodb:Scan" in flows["AccessEventsTable"] and not flows["AccessEventsTable"] & writes
    # The audit log is append-only for both functions.
    assert api["AuditLogTable"] == gate["AuditLogTable"] == {"dynamodb:PutItem", "dynamodb:ConditionCheckItem"}
    assert set(TABLE_ACCESS) == {"api", "gate", "flows", "events"}
    # Webhook delivery touches only subscriptions and delivery records (events come from the stream).
    events = granted(resources["EventsFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"])
    assert {t for t in events if t.endswith("Table")} == {"EventSubscriptionsTable", "EventDeliveriesTable"}
    assert not events["EventSubscriptionsTable"] & writes


def test_routes_go_to_the_function_that_has_what_they_need():
    from infra.routes import function_for

    assert function_for("/gate/entry/face") == "gate"
    assert function_for("/gate/snapshot") == "gate"
    assert function_for("/me/face") == "faces"
    assert function_for("/me/faces/{template_no}") == "faces"
    assert function_for("/homes/{home_id}/grants") == "api"
    assert function_for("/pages/data-center") == "api"
    assert function_for("/surface") == "api"  # a segment, not a substring

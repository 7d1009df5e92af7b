"""The two ways into the tables (ImportTable and batch writes) store the same items; the emulator's
speed fixes keep DynamoDB's item-size limit."""

from __future__ import annotations

import subprocess
import sys

import boto3
import pytest
from botocore.exceptions import ClientError

from gridgate.adapters.repositories import PersonRepository
from gridgate.config import get_settings
from local_emulator.city_loader import load_into_dynamodb
from local_emulator.synthetic_city import build_city

from .conftest import TODAY, reset_emulator

_TABLES = (
    "places",
    "gates",
    "homes",
    "persons",
    "ownerships",
    "grants",
    "face_templates",
    "compliance_records",
    "visitor_passes",
    "access_events",
)
#: Sealed attributes: AES-GCM uses a fresh nonce each time, so only their clear text can be compared.
_SEALED = {"id_enc", "name_enc", "phone_enc", "visitor_name_enc"}


def _dump() -> dict[str, dict]:
    client = boto3.client("dynamodb")
    settings = get_settings()
    dump = {}
    for name in _TABLES:
        table_name = settings.table_name(name)
        keys = [k["AttributeName"] for k in client.describe_table(TableName=table_name)["Table"]["KeySchema"]]
        items, request = {}, {"TableName": table_name}
        while True:
            page = client.scan(**request)
            for item in page["Items"]:
                items[tuple(item[k]["S"] for k in keys)] = {a: v for a, v in item.items() if a not in _SEALED}
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        dump[name] = items
    return dump


def test_import_and_batch_writes_store_the_same_city(moto_server, protector):
    city = build_city(250, seed=9, history_days=1, today=TODAY)
    settings = get_settings()
    reset_emulator(moto_server)
    imported = load_into_dynamodb(city, settings, strategy="import", max_table_events=300)
    by_import = _dump()
    person = PersonRepository(protector).get("P0000042")
    reset_emulator(moto_server)
    written = load_into_dynamodb(city, settings, strategy="batch", max_table_events=300)
    by_batch = _dump()
    assert imported.imported == list(_TABLES) and written.imported == []
    assert imported.items == written.items
    assert by_import == by_batch
    assert PersonRepository(protector).get("P0000042") == person
    # "auto" never imports into a table that holds items: the second load is batch-written
    again = load_into_dynamodb(city, settings, strategy="auto", max_table_events=300)
    assert again.imported == [] and _dump() == by_batch


def test_import_refuses_a_table_that_holds_items(moto_server):
    from local_emulator.table_import import ImportFailed, TableImporter

    settings = get_settings()
    table = settings.table_name("device_nonces")
    boto3.client("dynamodb").put_item(TableName=table, Item={"nonce_key": {"S": "already-here"}})
    importer = TableImporter(settings.region, settings.bucket)
    with pytest.raises(ImportFailed, match="not empty"):
        importer.start(table, iter([{"nonce_key": {"S": "new"}}]))
    assert boto3.client("dynamodb").get_item(TableName=table, Key={"nonce_key": {"S": "already-here"}})["Item"]


def test_the_emulator_still_refuses_items_over_400_kb(moto_server):
    client = boto3.client("dynamodb")
    table = get_settings().table_name("device_nonces")
    client.put_item(TableName=table, Item={"nonce_key": {"S": "size-ok"}, "blob": {"B": b"x" * 390_000}})
    with pytest.raises(ClientError, match="Item size"):
        client.put_item(TableName=table, Item={"nonce_key": {"S": "size-too-big"}, "blob": {"B": b"x" * 410_000}})
    with pytest.raises(ClientError, match="Item size"):  # the limit counts every attribute together
        client.put_item(
            TableName=table,
            Item={"nonce_key": {"S": "size-split"}, **{f"part{n}": {"B": b"x" * 100_000} for n in range(5)}},
        )


_SPEEDUP_CHECK = """
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from local_emulator import moto_speedups
assert moto_speedups.install()
item = Item(DynamoType({"S": "k"}), None, {"k": {"S": "k"}, "n": {"N": "1"}, "m": {"M": {"a": {"S": "b"}}}})
assert item.attrs["m"].type == "M" and item.attrs["n"].value == "1"
try:
    Item(DynamoType({"S": "k"}), None, {f"a{n}": {"S": "x" * 90_000} for n in range(5)})
except ItemSizeTooLarge:
    print("refused")
"""


def test_speed_fixes_install_and_keep_item_semantics():
    """In a child process: the fixes patch moto's classes, which this test process must not see."""
    result = subprocess.run([sys.executable, "-c", _SPEEDUP_CHECK], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "refused"

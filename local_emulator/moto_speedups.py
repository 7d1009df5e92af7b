"""Behaviour-preserving speed fixes for moto's DynamoDB, applied inside the emulator process.

Seeding a 100,000-person city writes about 400,000 items; two spots in moto 5.2 make that
minutes instead of seconds:

1. Building an item checks DynamoDB's 400 KB item-size limit after *each* attribute by re-sizing
   every attribute added so far (quadratic in the attribute count). Sizes only grow while an item
   is built, so checking the finished item once accepts and refuses exactly the same items.
   Later in-place updates keep moto's own per-attribute check.
2. ImportTable (DynamoDB's bulk load from S3) parses its DYNAMODB_JSON input with a pure-Python
   tokenizer (~6,000 lines/s). That format is one JSON object per line, which `json.loads` reads
   per line; any text that is not line-wise JSON still goes to moto's parser. Only the import
   thread uses the fast path; every other use of the parser is left alone.

Reading and transacting against big tables (the gate at a 50,000-owner estate) hits two more:

3. A main-table Query gathers its candidates from `all_items()`, which lists and sorts every item
   of the table, and then keeps those whose hash key equals the queried one (421 ms per look-up
   at 50,000 owners). The items are stored per partition (`table.items[hash][range]`), so the
   query is handed that one partition instead; moto's own code still filters, sorts, pages,
   reverses, projects and counts them, so results, `LastEvaluatedKey`, `ScannedCount` and errors
   are unchanged. Index queries keep moto's path (an index is not stored per partition).
4. TransactWriteItems snapshots, for rollback, a deep copy of every table it touches, once per
   action (2 s for a two-action transaction on a 50,000-item table). A transaction can change
   only the items its actions name, so the prior state of exactly those items is kept instead, and
   put back when moto's own code decides to roll back; whether it rolls back, and what it raises,
   is still moto's decision. Tables with a stream keep moto's snapshot (a rollback also retracts
   their stream records), and so does any transaction whose keys cannot be read up front.

Every request pays for one more:

5. moto's server picks the service of a request by checking its host against
   `moto.backends.list_of_moto_modules()`, which lists moto's package directory and stats each
   entry, on every request: 0.4 ms of a 1 ms GetItem served in-process. The installed modules do
   not change while the server runs, so the listing is read once and kept (the same names, in
   the same order).

`install()` patches moto's classes in this process only; it does nothing if moto's internals are
not what this module expects (another moto version), so the emulator then just runs slower.
Fixes 3 and 4 rely on how moto's `query` and `transact_write_items` run, not only on their
signatures, so they are applied only on the moto version they were checked against.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger(__name__)
_importing = threading.local()
#: `partition` = (table, hash key) while this thread runs a main-table Query of that table (fix 3)
_querying = threading.local()
_installed: bool | None = None  # what the first install() answered
#: moto versions whose `Table.query` and `DynamoDBBackend.transact_write_items` were read for fixes 3-4.
_REVIEWED_MOTO_VERSIONS = frozenset({"5.2.5"})
#: Key attribute types: the only ones a partition can be stored under.
_KEY_TYPES = frozenset({"S", "N", "B"})
_TRANSACTION_ACTIONS = frozenset({"ConditionCheck", "Put", "Delete", "Update"})


def _linear_item_init(dynamo_type, bytesize, too_large, limit: int):
    def __init__(self, hash_key, range_key, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        values = {key: dynamo_type.DynamoType(value) for key, value in attrs.items()}
        if sum(bytesize(key) + value.size() for key, value in values.items()) > limit:
            raise too_large
        self.attrs = dynamo_type.LimitedSizeDict()
        dict.update(self.attrs, values)  # the plain dict update: sizes were checked above

    return __init__


def _line_wise(original_parse):
    def parse(original: str) -> Iterator[Any]:
        if getattr(_importing, "active", False):
            try:
                return iter([json.loads(line) for line in original.splitlines() if line.strip()])
            except ValueError:
                pass
        return original_parse(original)

    return staticmethod(parse)


def _flagged_run(original_run):
    def run(self) -> None:
        _importing.active = True
        try:
            original_run(self)
        finally:
            _importing.active = False

    return run


def _is_partition_key(hash_key: Any) -> bool:
    """A queried hash key moto's item dict can be looked up by; anything else keeps moto's path (and its errors)."""
    if getattr(hash_key, "type", None) not in _KEY_TYPES:
        return False
    try:
        hash(hash_key)
    except (TypeError, ArithmeticError):
        return False
    return True


def _partition_query(original_query):
    """Table.query that marks, for `all_items`, the one partition a main-table query may read."""
    signature = inspect.signature(original_query)

    def query(self, *args: Any, **kwargs: Any):
        arguments = signature.bind(self, *args, **kwargs).arguments
        if arguments.get("index_name") or not _is_partition_key(arguments["hash_key"]):
            return original_query(self, *args, **kwargs)
        _querying.partition = (self, arguments["hash_key"])
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _querying.partition = None

    return query


def _partition_only_all_items(original_all_items):
    """Table.all_items: the marked partition's items inside a main-table query, every item elsewhere."""

    def all_items(self) -> list:
        marked = getattr(_querying, "partition", None)  # (table, hash key) of the query under way
        if marked is None or marked[0] is not self:
            return original_all_items(self)
        hash_key = marked[1]
        stored = self.items.get(hash_key)  # not items[...]: a defaultdict would add an empty partition
        if stored is None:
            return []
        # moto's query keeps the items whose hash key equals the queried one and sorts them by range key
        return list(stored.values()) if self.range_key_attr else [stored]

    return all_items


class _TouchedItems:
    """The state, before a transaction, of every item it names: what moto's rollback must bring back.

    A transaction's actions write only the items their keys name, so putting these back is what
    restoring moto's whole-table snapshots does (also removing a partition that only appeared
    because moto looked a missing key up in its defaultdict).
    """

    def __init__(self) -> None:
        self._tables: dict[str, Any] = {}
        self._before: dict[
            tuple[str, Any, Any], tuple[bool, Any]
        ] = {}  # (table, hash, range) -> (partition existed, item)

    @classmethod
    def read(cls, tables: dict[str, Any], transact_items: list[dict[str, Any]], dynamo_type) -> _TouchedItems | None:
        """None when moto's own snapshots must do: an entry that is not one known action with a
        readable key (moto then fails it its own way), or a table with a stream."""
        touched = cls()
        try:
            for action in transact_items:
                ((kind, op),) = action.items()
                name = op.get("TableName")
                if kind not in _TRANSACTION_ACTIONS:
                    return None
                if not name or name not in tables:
                    continue  # moto keeps no snapshot of it either (a table named by its ARN)
                table = tables[name]
                if table.stream_shard is not None:
                    return None  # its rollback also retracts stream records
                key = op["Item"] if kind == "Put" else op["Key"]
                hash_key = dynamo_type.DynamoType(key[table.hash_key_attr])
                range_key = dynamo_type.DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
                touched._tables[name] = table
                if (name, hash_key, range_key) not in touched._before:
                    touched._before[(name, hash_key, range_key)] = cls._state(table, hash_key, range_key)
        except Exception:  # whatever moto would make of it, it does so on its own path
            return None
        return touched

    @staticmethod
    def _state(table, hash_key, range_key) -> tuple[bool, Any]:
        stored = table.items.get(hash_key)
        item = stored if range_key is None or stored is None else stored.get(range_key)
        return stored is not None, copy.deepcopy(item)  # an Update changes the stored item in place

    def restore(self, table_names: set[str]) -> None:
        for (name, hash_key, range_key), (existed, item) in self._before.items():
            if name not in table_names:
                continue
            items = self._tables[name].items
            if range_key is None:
                if existed:
                    items[hash_key] = item
                else:
                    items.pop(hash_key, None)
            elif item is not None:
                items[hash_key][range_key] = item
            elif (partition := items.get(hash_key)) is not None:
                partition.pop(range_key, None)
                if not partition and not existed:
                    del items[hash_key]


class _SnapshotRecorder:
    """What moto's transact_write_items sees as the backend's `tables` mapping.

    moto snapshots a table with ``copy.deepcopy(self.tables[name])`` and rolls back with
    ``self.tables[name] = snapshot``: here the "snapshot" is the table's name (copying a str is
    free) and the rollback is only recorded, for `_TouchedItems` to carry out.
    """

    def __init__(self, tables: dict[str, Any]) -> None:
        self._tables = tables
        self.rolled_back: set[str] = set()

    def __contains__(self, name: object) -> bool:
        return name in self._tables

    def __getitem__(self, name: str) -> str:
        return name

    def __setitem__(self, name: str, snapshot: str) -> None:
        self.rolled_back.add(name)


class _BackendView:
    """The backend with `tables` replaced by a `_SnapshotRecorder`; everything else is the real backend's."""

    def __init__(self, backend, tables: _SnapshotRecorder) -> None:
        self._backend = backend
        self.tables = tables

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


def _item_level_rollback(original_transact, dynamo_type):
    def transact_write_items(self, transact_items: list[dict[str, Any]]) -> None:
        touched = _TouchedItems.read(self.tables, transact_items, dynamo_type)
        if touched is None:
            return original_transact(self, transact_items)
        recorder = _SnapshotRecorder(self.tables)
        try:
            return original_transact(_BackendView(self, recorder), transact_items)
        finally:
            touched.restore(recorder.rolled_back)

    return transact_write_items


def _install_read_and_transaction_fixes() -> bool:
    """Fixes 3 and 4, on a moto version whose query and transaction code they were checked against."""
    try:
        import moto
        from moto.dynamodb.models import DynamoDBBackend, dynamo_type
        from moto.dynamodb.models.table import Table

        if moto.__version__ not in _REVIEWED_MOTO_VERSIONS:
            raise AttributeError(f"moto {moto.__version__} is not one of {sorted(_REVIEWED_MOTO_VERSIONS)}")
        query_args = Table.query.__code__.co_varnames[:9]
        if query_args[:2] != ("self", "hash_key") or "index_name" not in query_args:
            raise AttributeError(f"unexpected moto Table.query{query_args}")
        if DynamoDBBackend.transact_write_items.__code__.co_varnames[:2] != ("self", "transact_items"):
            raise AttributeError("unexpected moto DynamoDBBackend.transact_write_items")
    except (ImportError, AttributeError) as exc:
        logger.warning("moto query/transaction speed fixes not applied (%s); big tables will be slower", exc)
        return False
    # moto's methods replaced in place (setattr: the checker rightly refuses assigning to a method)
    setattr(Table, "query", _partition_query(Table.query))  # noqa: B010
    setattr(Table, "all_items", _partition_only_all_items(Table.all_items))  # noqa: B010
    rollback = _item_level_rollback(DynamoDBBackend.transact_write_items, dynamo_type)
    setattr(DynamoDBBackend, "transact_write_items", rollback)  # noqa: B010
    return True


def install() -> bool:
    """Apply the fixes (once). True when all of them are in place."""
    global _installed
    if _installed is None:
        applied = [_install_seeding_fixes(), _install_read_and_transaction_fixes(), _install_routing_fix()]
        _installed = all(applied)
    return _installed


def _install_routing_fix() -> bool:
    """Fix 5: moto's module listing, read once."""
    try:
        from moto import backends

        listing = backends.list_of_moto_modules
    except (ImportError, AttributeError) as exc:
        logger.warning("moto routing speed fix not applied (%s)", exc)
        return False
    modules = tuple(listing())
    backends.list_of_moto_modules = lambda: modules
    return True


def _install_seeding_fixes() -> bool:
    """Fixes 1 and 2."""
    try:
        import py_partiql_parser
        from moto.dynamodb.exceptions import ItemSizeTooLarge
        from moto.dynamodb.models import dynamo_type
        from moto.dynamodb.models.table_import import TableImport
        from moto.dynamodb.models.utilities import bytesize

        item_init_args = dynamo_type.Item.__init__.__code__.co_varnames[:4]
        if item_init_args != ("self", "hash_key", "range_key", "attrs") or not hasattr(dynamo_type, "LimitedSizeDict"):
            raise AttributeError(f"unexpected moto Item.__init__{item_init_args}")
        if not hasattr(py_partiql_parser.JsonParser, "parse") or not hasattr(TableImport, "run"):
            raise AttributeError("unexpected moto ImportTable internals")
    except (ImportError, AttributeError) as exc:
        logger.warning("moto speed fixes not applied (%s); seeding will be slower", exc)
        return False
    # moto's methods replaced in place (setattr: the checker rightly refuses assigning to a method)
    setattr(dynamo_type.Item, "__init__", _linear_item_init(dynamo_type, bytesize, ItemSizeTooLarge, 405_000))  # noqa: B010
    setattr(py_partiql_parser.JsonParser, "parse", _line_wise(py_partiql_parser.JsonParser.parse))  # noqa: B010
    setattr(TableImport, "run", _flagged_run(TableImport.run))  # noqa: B010
    return True

"""Two behaviour-preserving speed fixes for moto's DynamoDB, applied inside the emulator process.

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

`install()` patches moto's classes in this process only; it does nothing if moto's internals are
not what this module expects (another moto version), so the emulator then just runs slower.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Iterator

logger = logging.getLogger(__name__)
_importing = threading.local()
_installed = False


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


def install() -> bool:
    """Apply both fixes (once). True when they are in place."""
    global _installed
    if _installed:
        return True
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
    dynamo_type.Item.__init__ = _linear_item_init(dynamo_type, bytesize, ItemSizeTooLarge, 405_000)
    py_partiql_parser.JsonParser.parse = _line_wise(py_partiql_parser.JsonParser.parse)
    TableImport.run = _flagged_run(TableImport.run)
    _installed = True
    return True

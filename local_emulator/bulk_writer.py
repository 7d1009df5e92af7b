"""Bulk loading of DynamoDB items: BatchWriteItem, 25 items a request, from several threads.

Seeding the emulator with a city means hundreds of thousands of items. PynamoDB's batch writer
builds a model object per item and sends from one thread; here items arrive already in the
low-level attribute-value form, botocore's per-parameter validation is switched off (the items
are built by code, not typed in), and a few threads keep requests in flight while the next ones
are built. Unprocessed items (throttling) are retried with backoff, so nothing is dropped.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import boto3
from botocore.config import Config

Item = dict[str, dict[str, Any]]
_BATCH = 25  # DynamoDB's BatchWriteItem limit


def _batches(items: Iterable[Item]) -> Iterator[list[Item]]:
    """`items` in lists of `_BATCH`, read lazily (a city's items are never all in memory)."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, _BATCH)):
        yield batch


class BulkWriter:
    def __init__(self, region: str, threads: int = 4) -> None:
        self._threads = threads
        self._client = boto3.client(
            "dynamodb",
            region_name=region,
            config=Config(
                parameter_validation=False,
                max_pool_connections=threads * 2,
                retries={"mode": "standard", "max_attempts": 10},
            ),
        )

    def write(self, table_name: str, items: Iterable[Item]) -> int:
        """Put every item into `table_name`; returns how many were written."""
        written = 0
        pending: set[Future] = set()
        with ThreadPoolExecutor(max_workers=self._threads) as pool:
            for batch in _batches(items):
                if len(pending) >= self._threads * 3:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    written += sum(f.result() for f in done)
                pending.add(pool.submit(self._put, table_name, batch))
            written += sum(f.result() for f in pending)
        return written

    def _put(self, table_name: str, batch: list[Item]) -> int:
        request = {table_name: [{"PutRequest": {"Item": item}} for item in batch]}
        for attempt in range(12):
            response = self._client.batch_write_item(RequestItems=request)
            request = response.get("UnprocessedItems") or {}
            if not request:
                return len(batch)
            time.sleep(min(2.0, 0.05 * 2**attempt))
        raise RuntimeError(f"{table_name}: items still unprocessed after retries")

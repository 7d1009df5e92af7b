"""Conditions on items that a write must find true (a transaction's ``ConditionCheck``s).

A warm gate function keeps facts it read once (a resident's QR secret, the rows a right stands on)
and, instead of reading them again, sends their conditions with the decision's own write
(`gridgate.adapters.gate_writes`): the write goes through only if they still hold, so a revoked
grant, a sold home or a new secret is seen by the very next decision as if it had been read.
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.expressions.condition import Condition
from pynamodb.models import Model


@dataclass(frozen=True)
class ItemCheck:
    """`condition` must hold for the item (`hash_key`, `range_key`) of `table`."""

    table: type[Model]
    hash_key: str
    range_key: str | None
    condition: Condition


class CheckFailed(Exception):
    """A write was cancelled because an `ItemCheck` no longer held: nothing was stored."""

"""The Lambda handler of a gate shard function (``gate-<n>``, `infra.gate_shards`).

A shard's routes sit on the one REST API under ``/shard-<n>/gate/...``, so the device's base URL
names its shard while the device still signs and means ``/gate/...``. Chalice dispatches on the
event's resource path, so the prefix is taken off the event before the app sees it: the app, its
routes and the device signature check are the ones the unsharded gate function runs.
"""

from __future__ import annotations

from typing import Any

from app import app

from gridgate.config import get_settings

_PATH_KEYS = (("resource",), ("path",), ("requestContext", "resourcePath"), ("requestContext", "path"))


def shard_prefix() -> str:
    """``/shard-<n>`` of this function (`GRIDGATE_GATE_SHARD`), or "" when it is the unsharded one."""
    shard = get_settings().gate_shard
    return "" if shard is None else f"/shard-{shard}"


def strip_prefix(event: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The event as the unsharded function would receive it (a path without the prefix is kept)."""
    if not prefix:
        return event
    event = {**event, "requestContext": dict(event.get("requestContext") or {})}
    for keys in _PATH_KEYS:
        holder = event if len(keys) == 1 else event["requestContext"]
        value = holder.get(keys[-1])
        if isinstance(value, str) and value.startswith(prefix + "/"):
            holder[keys[-1]] = value[len(prefix) :]
    return event


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app(strip_prefix(event, shard_prefix()), context)

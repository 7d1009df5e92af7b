"""Which gate function shard serves an estate: how a city of thousands of estates keeps each estate's
gallery warm without one instance holding them all.

A city-wide gate function has no estate affinity: every instance would meet every estate, hold a
few in its people budget (`gate_gallery_max_people`) and load the others from their objects over
and over. Instead the gate image is deployed as `gate_shards` functions (docs/gate.md,
"Affinity"); an estate belongs to one shard, a stable hash of its id (so the answer never changes
between processes, deployments or Python versions), unless `gate_shard_map` places it by hand. A
gate device is provisioned with its shard's base URL (`shard_url`, `gridgate gate shard ESTATE`),
so all of an estate's passages reach the instances that hold its gallery.

Routing is for warmth, not for correctness: a request that reaches another shard (a device with an
old URL) is decided exactly the same, only logged and counted (`GateOffShard`) so it gets fixed.
"""

from __future__ import annotations

import hashlib

from gridgate.config import Settings


def shard_of(estate_id: str, settings: Settings) -> int:
    """The shard of `estate_id`: its place in `gate_shard_map`, else sha256(id) mod `gate_shards`."""
    placed = settings.gate_shard_map.get(estate_id)
    if placed is not None:
        return placed
    digest = hashlib.sha256(estate_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % settings.gate_shards


def shard_url(estate_id: str, settings: Settings) -> str:
    """The base URL the estate's gate devices call."""
    return settings.gate_shard_url.format(shard=shard_of(estate_id, settings))


def serves(estate_id: str, settings: Settings) -> bool:
    """Whether this gate function (`gate_shard`) is the estate's shard; an unsharded one serves all."""
    return settings.gate_shard is None or shard_of(estate_id, settings) == settings.gate_shard

"""The gate function's shards as Serverless functions, generated from the shard table the code routes by.

`gridgate.gate.affinity` gives every estate one shard (a stable hash of its id, or a hand placement
in `gate_shard_map`); docs/gate.md ("Affinity") explains why. This module turns the deployment's
shard table (`SHARD_TABLE`: the count and the hand placements) into ``gate-<n>`` functions for
`serverless.yml` (``infra/serverless/gate-shards.json``), each started with the whole table and its
own number in its environment, so the running `affinity.serves` and the device URL the operator
prints (`gridgate gate shard ESTATE`) are computed from the very values the template was made from.

A shard is reached on the one REST API under ``/shard-<n>/gate/...``: the device's base URL is
``https://<api domain>/shard-<n>`` and it still signs and calls ``/gate/...``;
`chalicelib.gate_shard_entry` strips the prefix before the Chalice app dispatches. The unsharded
``gate`` function stays at ``/gate/...`` for devices not yet moved to their shard (decided the same,
counted as off-shard only by a sharded function).

Memory per shard comes from the measured cost of a warm gallery (README, `gallery_changes`: 1,224 B
per person held, and 1,050 B more per person of the one estate being loaded at its peak) and the
process with the face models loaded (320 MB, `ru_maxrss` after three face probes), for the shard's
share of the city's app users, bounded by the instance's people budget (`gate_gallery_max_people`),
with a quarter of headroom. Lambda gives CPU in proportion to memory, and the face model's time is
most of a decision, so a shard never gets less than the unsharded gate function's CPU
(`CPU_FLOOR_MB`): the derived need is written beside it in each function's description.
"""

from __future__ import annotations

import json
import math

from gridgate.config import Settings
from infra.naming import GATE_FUNCTION
from infra.routes import GATE_ROUTE_PREFIXES

#: The deployment's shard table: 16 shards, no estate placed by hand yet (docs/gate.md, "Memory").
SHARD_TABLE = Settings(gate_shards=16, gate_shard_map={})
#: Nanjing's app users (the mission's figure): every one could be in some estate's gallery.
CITY_APP_USERS = 5_160_000
#: The largest estate a shard loads at once (its load peak is on top of what the shard holds).
LARGEST_ESTATE_PEOPLE = 50_000
#: Measured (README, `gallery_changes` at 50,000 people): bytes per warm person, and the extra per
#: person of the estate whose object is being loaded (113.7 MB peak - 61.2 MB held, over 50,000).
BYTES_PER_PERSON = 1_224
LOAD_PEAK_BYTES_PER_PERSON = 1_050
#: Measured: the gate process's peak RSS with the face models loaded and three probes run.
PROCESS_MB = 320
HEADROOM = 1.25
#: The unsharded gate function's memory (serverless.yml `gateMemory`): Lambda's CPU share with it.
CPU_FLOOR_MB = 3_008
LAMBDA_MAX_MB = 10_240
#: The path prefix of shard n on the REST API (and of its devices' base URL).
SHARD_PATH = "shard-{shard}"


def people_per_shard(table: Settings = SHARD_TABLE) -> int:
    """The people one shard warms at most: its share of the city, within one instance's budget."""
    return min(math.ceil(CITY_APP_USERS / table.gate_shards), table.gate_gallery_max_people)


def needed_memory_mb(table: Settings = SHARD_TABLE) -> int:
    """What a shard's galleries and models need, rounded up to Lambda's 1 MB steps."""
    held = people_per_shard(table) * BYTES_PER_PERSON
    loading = LARGEST_ESTATE_PEOPLE * LOAD_PEAK_BYTES_PER_PERSON
    return math.ceil((PROCESS_MB + (held + loading) / 2**20) * HEADROOM)


def shard_memory_mb(table: Settings = SHARD_TABLE) -> int:
    need = needed_memory_mb(table)
    if need > LAMBDA_MAX_MB:
        raise ValueError(f"a shard needs {need} MB, more than Lambda's {LAMBDA_MAX_MB}: deploy more shards")
    return max(need, CPU_FLOOR_MB)


def shard_function_name(shard: int) -> str:
    return f"{GATE_FUNCTION}-{shard}"


def shard_environment(shard: int, table: Settings = SHARD_TABLE) -> dict[str, str]:
    """What `Settings` reads in shard `shard`: the whole table and its own number."""
    return {
        "POWERTOOLS_SERVICE_NAME": "gridgate-gate",
        "GRIDGATE_GATE_SHARDS": str(table.gate_shards),
        "GRIDGATE_GATE_SHARD": str(shard),
        "GRIDGATE_GATE_SHARD_MAP": json.dumps(table.gate_shard_map, sort_keys=True),
        "GRIDGATE_GATE_SHARD_URL": "https://${param:gateDomain}/" + SHARD_PATH,
    }


def shard_functions(gate_events: list[dict], table: Settings = SHARD_TABLE) -> dict[str, dict]:
    """``gate-<n>`` for every shard: the gate image and role, the gate's routes under its prefix."""
    memory = shard_memory_mb(table)
    functions = {}
    for shard in range(table.gate_shards):
        prefix = SHARD_PATH.format(shard=shard)
        events = []
        for event in gate_events:
            http = dict(event["http"])
            if not ("/" + http["path"]).startswith(GATE_ROUTE_PREFIXES):
                raise ValueError(f"{http['path']} is not a gate route")
            events.append({"http": {**http, "path": f"{prefix}/{http['path']}"}})
        functions[shard_function_name(shard)] = {
            "name": "${param:prefix}-${sls:stage}-" + shard_function_name(shard),
            "description": (
                f"Gate shard {shard} of {table.gate_shards}: {people_per_shard(table)} people, "
                f"{needed_memory_mb(table)} MB needed, {memory} MB for the CPU"
            ),
            "image": {"uri": "${param:gateImage}", "command": ["chalicelib.gate_shard_entry.handler"]},
            "memorySize": memory,
            "timeout": 29,
            "role": "GateFunctionRole",
            "environment": shard_environment(shard, table),
            "events": events,
        }
    return functions

"""The deployment has one gate function per shard of the table `gridgate.gate.affinity` routes by
(issue 13): each shard function's own environment routes an estate exactly as the table does, its
routes sit under the prefix of the URL its devices are given, and the prefix comes off before the
app dispatches."""

from __future__ import annotations

import json

from gridgate.config import Settings
from gridgate.gate.affinity import serves, shard_of, shard_url
from infra import generate
from infra.gate_shards import SHARD_TABLE, needed_memory_mb, shard_function_name
from infra.routes import GATE_ROUTE_PREFIXES, chalice_app, function_for

ESTATES = [f"E-{n:05d}" for n in range(2_000)]


def _settings_of(environment: dict[str, str], monkeypatch) -> Settings:
    """The Settings a shard function starts with: its generated environment, nothing else."""
    for name, value in environment.items():
        if name.startswith("GRIDGATE_"):
            monkeypatch.setenv(name, value.replace("${param:gateDomain}", "gate.test"))
    return Settings()


def test_the_committed_file_has_one_function_per_shard_routed_as_affinity_says(monkeypatch):
    committed = json.loads(generate.GATE_SHARDS.read_text())
    assert committed == generate.gate_shards()  # and test_generated_files checks the bytes
    assert sorted(committed) == sorted(shard_function_name(n) for n in range(SHARD_TABLE.gate_shards))
    gate_routes = {
        (path, verb.lower())
        for path, verbs in chalice_app().routes.items()
        for verb in verbs
        if function_for(path) == "gate"
    }
    assert gate_routes and all(path.startswith(GATE_ROUTE_PREFIXES) for path, _ in gate_routes)
    served_by: dict[str, list[int]] = {estate: [] for estate in ESTATES}
    for shard in range(SHARD_TABLE.gate_shards):
        function = committed[shard_function_name(shard)]
        assert function["role"] == "GateFunctionRole"
        assert function["image"]["command"] == ["chalicelib.gate_shard_entry.handler"]
        settings = _settings_of(function["environment"], monkeypatch)
        assert (settings.gate_shard, settings.gate_shards) == (shard, SHARD_TABLE.gate_shards)
        assert settings.gate_shard_map == SHARD_TABLE.gate_shard_map
        routes = {(event["http"]["path"], event["http"]["method"]) for event in function["events"]}
        assert routes == {(f"shard-{shard}{path}", verb) for path, verb in gate_routes}
        for estate in ESTATES:
            if serves(estate, settings):
                served_by[estate].append(shard)
                # the device's base URL leads to exactly this function's routes
                assert shard_url(estate, settings) == f"https://gate.test/shard-{shard}"
    assert all(shards == [shard_of(estate, SHARD_TABLE)] for estate, shards in served_by.items())
    assert len({shards[0] for shards in served_by.values()}) == SHARD_TABLE.gate_shards


def test_shard_memory_is_derived_from_the_measured_bytes_per_person():
    # 5.16 M people over 16 shards at 1,224 B, the 50,000-person load peak, the models, 25 % headroom
    assert needed_memory_mb() == 934
    fewer = Settings(gate_shards=4, gate_gallery_max_people=1_290_000)
    assert needed_memory_mb(fewer) > 2 * needed_memory_mb()
    function = generate.gate_shards()[shard_function_name(0)]
    assert function["memorySize"] == max(needed_memory_mb(), 3_008)
    assert "934 MB needed" in function["description"]


def test_the_shard_handler_gives_the_app_the_unsharded_path(monkeypatch):
    from chalicelib import gate_shard_entry
    from gridgate.config import get_settings

    event = {
        "resource": "/shard-5/gate/snapshot",
        "path": "/shard-5/gate/snapshot",
        "httpMethod": "GET",
        "requestContext": {"resourcePath": "/shard-5/gate/snapshot", "path": "/prod/shard-5/gate/snapshot"},
    }
    monkeypatch.setenv("GRIDGATE_GATE_SHARDS", "16")
    monkeypatch.setenv("GRIDGATE_GATE_SHARD", "5")
    get_settings.cache_clear()
    stripped = gate_shard_entry.strip_prefix(event, gate_shard_entry.shard_prefix())
    assert stripped["resource"] == stripped["path"] == stripped["requestContext"]["resourcePath"] == "/gate/snapshot"
    assert stripped["requestContext"]["path"] == "/prod/shard-5/gate/snapshot"  # the stage's own path is kept
    assert event["requestContext"]["resourcePath"] == "/shard-5/gate/snapshot"  # the caller's event untouched
    monkeypatch.delenv("GRIDGATE_GATE_SHARD")
    get_settings.cache_clear()
    assert gate_shard_entry.strip_prefix(event, gate_shard_entry.shard_prefix()) is event

"""Gate function shards (`gridgate.gate.affinity`): every estate has one shard, the same in every
process, estates spread evenly, and a hand-placed estate goes where it was put."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from gridgate.config import Settings
from gridgate.gate.affinity import serves, shard_of, shard_url

pytestmark = pytest.mark.fast


def test_estates_spread_over_the_shards_evenly_and_stably():
    settings = Settings(gate_shards=16)
    estates = [f"E-{n:05d}" for n in range(8_000)]  # about Nanjing's residential estates
    counts = Counter(shard_of(estate, settings) for estate in estates)
    assert sorted(counts) == list(range(16))
    assert max(counts.values()) < 1.15 * len(estates) / 16  # no shard holds 15 % more than its share
    # the same answer in a fresh interpreter (no per-process hash seed): a device's URL never moves
    again = subprocess.run(
        [
            sys.executable,
            "-c",
            "from gridgate.config import Settings; from gridgate.gate.affinity import shard_of;"
            "print([shard_of(f'E-{n:05d}', Settings(gate_shards=16)) for n in range(50)])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert again.stdout.strip() == str([shard_of(estate, settings) for estate in estates[:50]])


def test_a_placed_estate_and_this_functions_shard():
    settings = Settings(gate_shards=4, gate_shard=2, gate_shard_map={"E-big": 2})
    assert shard_of("E-big", settings) == 2 and serves("E-big", settings)
    elsewhere = next(e for e in (f"E-{n}" for n in range(100)) if shard_of(e, settings) != 2)
    assert not serves(elsewhere, settings)
    assert serves(elsewhere, Settings(gate_shards=4))  # an unsharded function serves every estate
    assert shard_url("E-big", settings) == "https://gate-2.gridgate.local"


@pytest.mark.parametrize(
    "bad",
    [{"gate_shards": 4, "gate_shard": 4}, {"gate_shards": 2, "gate_shard_map": {"E-1": 5}}, {"gate_shard_url": "x"}],
)
def test_a_shard_that_does_not_exist_is_refused_at_start(bad):
    with pytest.raises(ValueError):
        Settings(**bad)

"""Seeding benchmark: a 100,000-person city into a fresh emulator, and a 1,000,000-person city with a
week of events straight to the Parquet snapshots.

    python -m bench seeding [--persons=100000] [--snapshot-persons=1000000] [--snapshot-days=7]

Each part runs against its own moto server on loopback (the emulator's launcher, with its speed
fixes), started and stopped here. Results: bench/results/seeding.json.
"""

from __future__ import annotations

import json
import os
import resource
import tempfile
import time
from pathlib import Path

from gridgate import clock

RESULTS = Path(__file__).parent / "results" / "seeding.json"


def _options(argv: list[str]) -> dict[str, int]:
    options = {"persons": 100_000, "snapshot-persons": 1_000_000, "snapshot-days": 7}
    for arg in argv:
        name, _, value = arg.lstrip("-").partition("=")
        if name in options:
            options[name] = int(value)
    return options


def _environment() -> None:
    keyring = Path(tempfile.mkdtemp(prefix="gridgate-bench-")) / "keyring.json"
    os.environ.update(GRIDGATE_STAGE="bench", GRIDGATE_KEYRING_FILE=str(keyring))
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(name, value)
    from gridgate.security.keyring import Keyring

    keyring.write_text(Keyring.generate().to_json())


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def seed_emulator(persons: int) -> dict:
    from gridgate.adapters.provisioning import provision
    from gridgate.config import get_settings
    from local_emulator.city_loader import load_into_dynamodb
    from local_emulator.server import running_moto_server
    from local_emulator.synthetic_city import build_city

    with running_moto_server() as server:
        settings = get_settings()
        provision(settings)
        server_cpu = _cpu_seconds(server.process.pid)
        client_cpu = time.process_time()
        started = time.perf_counter()
        city = build_city(persons, seed=7, history_days=3)
        built = time.perf_counter() - started
        report = load_into_dynamodb(city, settings)
        total = time.perf_counter() - started
        return {
            "persons": persons,
            "build_seconds": round(built, 2),
            "load_seconds": round(report.seconds, 2),
            "seed_seconds": round(total, 2),
            "items": report.items,
            "total_items": report.total_items,
            "items_per_second": round(report.total_items / report.seconds),
            "imported_tables": report.imported,
            "event_days_in_s3": len(report.event_days_in_s3),
            "server_cpu_seconds": round(_cpu_seconds(server.process.pid) - server_cpu, 1),
            "client_cpu_seconds": round(time.process_time() - client_cpu, 1),
        }


def snapshot_city(persons: int, days: int) -> dict:
    import boto3

    from gridgate.adapters.provisioning import create_bucket
    from gridgate.config import get_settings
    from local_emulator.city_tables import write_city_snapshots
    from local_emulator.server import running_moto_server
    from local_emulator.synthetic_city import build_city

    with running_moto_server() as server:
        settings = get_settings()
        create_bucket(settings)
        started = time.perf_counter()
        city = build_city(persons, seed=7, history_days=days)
        built = time.perf_counter() - started
        rows = write_city_snapshots(city, settings)
        total = time.perf_counter() - started
        objects = [
            o
            for page in boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=settings.bucket)
            for o in page.get("Contents", [])
        ]
        return {
            "persons": persons,
            "history_days": days,
            "build_seconds": round(built, 2),
            "snapshot_seconds": round(total - built, 2),
            "total_seconds": round(total, 2),
            "rows": rows,
            "parquet_objects": len(objects),
            "parquet_mb": round(sum(o["Size"] for o in objects) / 1e6, 1),
            "peak_rss_mb_of_this_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "moto_server_pid": server.process.pid,
        }


def main(argv: list[str]) -> None:
    options = _options(argv)
    _environment()
    load_1 = os.getloadavg()[0]
    seeded = seed_emulator(options["persons"])
    print(
        f"seeded {seeded['persons']:,} persons into the emulator in {seeded['seed_seconds']} s "
        f"({seeded['total_items']:,} items, {seeded['items_per_second']:,}/s)",
        flush=True,
    )
    snap = snapshot_city(options["snapshot-persons"], options["snapshot-days"])
    snap.pop("moto_server_pid")
    print(
        f"built {snap['persons']:,} persons in {snap['build_seconds']} s; snapshots with "
        f"{snap['rows']['access_events']:,} events in {snap['snapshot_seconds']} s, "
        f"{snap['parquet_mb']} MB Parquet, peak RSS {snap['peak_rss_mb_of_this_process']} MB",
        flush=True,
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "measured_at": clock.now().isoformat(timespec="seconds"),
                "machine": {"cpus": os.cpu_count(), "load_average_1min_at_start": round(load_1, 2)},
                "emulator_seeding": seeded,
                "snapshot_city": snap,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"results: {RESULTS}")

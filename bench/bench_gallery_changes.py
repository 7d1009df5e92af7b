"""The estate face gallery under change, against moto's server, at 5,000 and 50,000 enrolled people.
Writes ``bench/results/gallery_changes.json``.

Per size, one estate of synthetic owners with one unit-length template each (no photos needed):

- ``first_decision_at_new_estate_ms``: the first gallery read at an estate without an object: it
  refuses (`GalleryNotReady`, the gate's `gallery_not_ready`) instead of building;
- ``build_from_tables_s``: the one full build from the tables that read starts in the background
  (`GalleryPublisher`: the first instance ever, or after the change log's retention), which stores
  the estate's gallery object; no decision waits for it;
- ``cold_start_s``: a fresh instance's first gallery: one S3 GET of that (columnar) object plus the
  change log after it (target <= 2 s at 50,000); ``memory``: what the loaded gallery holds, per person;
- ``first_decision_after_change_ms``: per kind of change (a new owner with a face, a grant, an
  enrolment, a withdrawal, a revocation, an ownership ended), the first gallery read of a warm
  instance right after the change (target <= 1,000 ms at 50,000), with the DynamoDB calls and read
  units it made (``reads``), counted from the responses: a strongly consistent read costs one unit
  per 4 KB of each item (GetItem, BatchGetItem) or of the items together (Query), rounded up;
- ``storm``: a warm instance matching a probe against the gallery as fast as it can for
  `STORM_SECONDS` while another thread makes `STORM_CHANGES_PER_MINUTE` grants a minute at the
  estate, against the same loop with no changes: decisions per second and p50/p95 per decision
  (gallery check + delta + match; the face model is left out, `bench_gate_latency` times it).

``--quick``: 500 and 5,000 people, a shorter storm (a smoke run; results are not written).
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the tables read their names from the settings: imported once moto runs
    from gridgate.adapters.tables import BaseTable

from bench.bench_gate_latency import _environment, _percentiles
from gridgate import clock

RESULTS = Path(__file__).resolve().parent / "results" / "gallery_changes.json"
SIZES = (5_000, 50_000)
QUICK_SIZES = (500, 5_000)
STORM_SECONDS = 30.0
STORM_CHANGES_PER_MINUTE = 100
SEED = 13
NANJING_APP_USERS = 5_160_000


class ReadCounter:
    """Counts DynamoDB calls and the read units their responses cost (botocore's one call path)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.units = 0.0
        self._lock = threading.Lock()
        self.active = False

    def install(self) -> None:
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        counter = self

        def counted(client, operation_name, api_params):
            response = original(client, operation_name, api_params)
            if counter.active and client.meta.service_model.service_name == "dynamodb":
                counter.note(operation_name, api_params, response)
            return response

        BaseClient._make_api_call = counted

    def note(self, operation: str, params: dict, response: dict) -> None:
        def size(item: dict) -> int:
            return len(json.dumps(item, default=str))

        consistent = params.get("ConsistentRead", False)
        if operation == "GetItem":
            items = [response["Item"]] if "Item" in response else []
            units = sum(max(1, math.ceil(size(i) / 4096)) for i in items) or 1
        elif operation == "BatchGetItem":
            items = [i for table in response.get("Responses", {}).values() for i in table]
            units = sum(max(1, math.ceil(size(i) / 4096)) for i in items)
            consistent = all(t.get("ConsistentRead", False) for t in params.get("RequestItems", {}).values())
        elif operation == "Query":
            units = max(1, math.ceil(sum(size(i) for i in response.get("Items", [])) / 4096))
        else:
            units = 0
        with self._lock:
            self.calls[operation] += 1
            self.units += units if consistent else units / 2

    def take(self) -> dict:
        with self._lock:
            out = {"calls": dict(self.calls), "read_units": round(self.units, 1)}
            self.calls.clear()
            self.units = 0.0
        return out


def _load_estate(estate_id: str, people: int, rng) -> list[str]:
    """An estate with `people` owners, one home and one app template each (bulk-written)."""
    from gridgate.adapters.repositories import (
        HomeRepository,
        PlaceRepository,
        ownership_to_item,
        template_to_item,
    )
    from gridgate.adapters.tables import ComplianceRecordTable, FaceTemplateTable, OwnershipTable
    from gridgate.config import get_settings
    from gridgate.domain.model import FaceTemplate, Home, Ownership, Place, PlaceKind, Registry
    from local_emulator.bulk_writer import BulkWriter
    from local_emulator.city_loader import consent_item

    PlaceRepository().add(Place(estate_id, PlaceKind.ESTATE, "bench estate", "G-bench", {PlaceKind.GRID: "G-bench"}))
    owners = [f"{estate_id}-S{n:06d}" for n in range(people)]
    faces = rng.normal(0.0, 1.0, size=(people, 128))
    faces = (faces / np.linalg.norm(faces, axis=1, keepdims=True)).astype("<f4")
    consent, since = datetime(2024, 1, 1, tzinfo=UTC), date(2020, 1, 1)
    writer = BulkWriter(get_settings().region, threads=4)
    writer.write(
        _table_name(OwnershipTable),
        (ownership_to_item(Ownership(pid, f"H-{pid}", estate_id, since)).serialize() for pid in owners),
    )
    writer.write(
        _table_name(FaceTemplateTable),
        (
            template_to_item(FaceTemplate(pid, Registry.APP, 0, faces[n].tobytes(), consent)).serialize()
            for n, pid in enumerate(owners)
        ),
    )
    writer.write(  # an app face is matched only where its consent says (issue 18)
        _table_name(ComplianceRecordTable), (consent_item(pid, {estate_id}, consent) for pid in owners)
    )
    HomeRepository().add(Home(f"H-{owners[0]}", estate_id, "B1", "1", 1, "101", 120.0, "G-bench"))
    PlaceRepository().bump_gallery_version(estate_id, owners)
    return owners


class Changes:
    """The changes the residents' services make, each followed by the change-log hook they call."""

    def __init__(self, estate_id: str, owners: list[str], rng) -> None:
        self.estate_id, self.owners, self.rng = estate_id, owners, rng
        self.serial = 0

    def _face(self, person_id: str, number: int = 0) -> None:
        from gridgate.adapters.compliance_records import ConsentRepository
        from gridgate.adapters.repositories import FaceTemplateRepository
        from gridgate.domain.model import FaceTemplate, Registry
        from local_emulator.city_loader import synthetic_consent

        vector = self.rng.normal(0.0, 1.0, 128)
        vector = (vector / np.linalg.norm(vector)).astype("<f4").tobytes()
        ConsentRepository().add(synthetic_consent(person_id, {self.estate_id}, clock.now()))  # before enrolling
        FaceTemplateRepository().add(FaceTemplate(person_id, Registry.APP, number, vector, clock.now()))

    def _changed(self, person_id: str) -> None:
        from gridgate.residents.estate_changes import estate_changed

        estate_changed(self.estate_id, [person_id])

    def _next(self, kind: str) -> str:
        self.serial += 1
        return f"{self.estate_id}-{kind}{self.serial:05d}"

    def new_owner(self) -> str:
        from gridgate.adapters.repositories import OwnershipRepository
        from gridgate.domain.model import Ownership

        person = self._next("O")
        OwnershipRepository().add(Ownership(person, f"H-{person}", self.estate_id, date(2020, 1, 1)))
        self._face(person)
        self._changed(person)
        return person

    def grant(self) -> str:
        from gridgate.adapters.grant_repository import GrantRepository
        from gridgate.domain.model import Grant, GrantStatus, Relation

        person = self._next("T")
        self._face(person)
        owner = self.owners[0]
        grant = Grant(
            f"G-{person}",
            f"H-{owner}",
            self.estate_id,
            person,
            Relation.TENANT,
            date(2020, 1, 1),
            None,
            owner,
            GrantStatus.ACTIVE,
            clock.now(),
        )
        GrantRepository().create(grant, cap=1_000_000)
        self._changed(person)
        return grant.grant_id

    def revoke(self, grant_id: str) -> None:
        from gridgate.adapters.grant_repository import GrantRepository

        grant = GrantRepository().revoke(f"H-{self.owners[0]}", grant_id, clock.now())
        self._changed(grant.grantee_id)

    def enrol(self) -> None:
        person = self.owners[1]
        self._face(person, number=1)
        self._changed(person)

    def withdraw(self) -> None:
        from gridgate.adapters.repositories import FaceTemplateRepository

        person = self.owners[2]
        FaceTemplateRepository().delete_for_person(person)
        self._changed(person)

    def end_ownership(self) -> None:
        from gridgate.adapters.repositories import OwnershipRepository

        person = self.owners[3]
        OwnershipRepository().end(person, f"H-{person}", date(2021, 1, 1))
        self._changed(person)


def _first_decisions_after_changes(cache, changes: Changes, reads: ReadCounter) -> dict:
    estate = changes.estate_id
    out = {}
    grant_id = None

    def grant() -> None:
        nonlocal grant_id
        grant_id = changes.grant()

    for kind, change in (
        ("new_owner_with_face", changes.new_owner),
        ("grant", grant),
        ("enrolment", changes.enrol),
        ("withdrawal", changes.withdraw),
        ("revocation", lambda: changes.revoke(grant_id or "")),
        ("ownership_ended", changes.end_ownership),
    ):
        change()
        reads.active = True
        started = time.perf_counter()
        cache.gallery(estate)
        elapsed = (time.perf_counter() - started) * 1000
        reads.active = False
        out[kind] = {"ms": round(elapsed, 1), "reads": reads.take()}
    return out


def _table_name(table: type[BaseTable]) -> str:
    return table.Meta.table_name


def _storm(cache, estate_id: str, changes: Changes | None, seconds: float) -> dict:
    """Decisions (gallery + match of a random probe) for `seconds`, with grants meanwhile if `changes`."""
    probe_rng = np.random.default_rng(SEED + 1)
    stop = threading.Event()
    made = [0]

    def storm() -> None:
        interval = 60.0 / STORM_CHANGES_PER_MINUTE
        next_at = time.perf_counter()
        while changes is not None and not stop.is_set():
            changes.grant()
            made[0] += 1
            next_at += interval
            stop.wait(max(0.0, next_at - time.perf_counter()))

    from gridgate.faces.matcher import match as match_vectors

    thread = threading.Thread(target=storm, daemon=True) if changes else None
    if thread:
        thread.start()
    latencies: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        probe = probe_rng.normal(0.0, 1.0, 128).astype("<f4")
        probe /= np.linalg.norm(probe)
        t0 = time.perf_counter()
        gallery = cache.gallery(estate_id)
        match_vectors(probe, gallery.app, gallery.population)
        latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    stop.set()
    if thread:
        thread.join()
    return {
        "seconds": round(elapsed, 1),
        "decisions": len(latencies),
        "decisions_per_s": round(len(latencies) / elapsed, 1),
        "decision_ms": _percentiles(latencies),
        "changes_made": made[0],
    }


def _size_run(size: int, rng, reads: ReadCounter, storm_seconds: float) -> dict:
    from gridgate.gate.estate_gallery import EstateGalleryCache, GalleryNotReady

    estate_id = f"E-galbench-{size}"
    started = time.perf_counter()
    owners = _load_estate(estate_id, size, rng)
    run: dict = {"people": size, "load_s": round(time.perf_counter() - started, 1)}

    first = EstateGalleryCache()
    started = time.perf_counter()
    try:
        first.gallery(estate_id)
        run["first_decision_at_new_estate"] = "served"  # would mean a build inside the decision
    except GalleryNotReady:
        run["first_decision_at_new_estate"] = "gallery_not_ready"
    run["first_decision_at_new_estate_ms"] = round((time.perf_counter() - started) * 1000, 1)
    first.wait_for_objects()  # the background build from the tables, stored as the estate's object
    run["build_from_tables_s"] = round(time.perf_counter() - started, 2)

    changes = Changes(estate_id, owners, rng)
    changes.new_owner()  # a change after the object: the cold start applies the log too
    cold = EstateGalleryCache()
    reads.active = True
    started = time.perf_counter()
    gallery = cold.gallery(estate_id)
    run["cold_start_s"] = round(time.perf_counter() - started, 2)
    reads.active = False
    run["cold_start_reads"] = reads.take()
    run["cold_start_counters"] = {"builds": cold.builds, "loads": cold.loads, "deltas": cold.deltas}
    run["gallery_templates"] = gallery.app.templates
    run["memory"] = _memory(estate_id)

    run["first_decision_after_change"] = _first_decisions_after_changes(cold, changes, reads)
    run["midnight"] = _midnight(cold, estate_id)
    run["storm_baseline"] = _storm(cold, estate_id, None, storm_seconds / 2)
    run["storm"] = _storm(cold, estate_id, changes, storm_seconds)
    run["storm_counters"] = {"builds": cold.builds, "loads": cold.loads, "deltas": cold.deltas}
    return run


def _memory(estate_id: str) -> dict:
    """What one warm gallery holds, traced by Python's allocator (numpy reports its arrays to it):
    bytes per person after the cold start, and the peak while loading."""
    import tracemalloc

    from gridgate.gate.estate_gallery import EstateGalleryCache

    cache = EstateGalleryCache()
    tracemalloc.start()
    gallery = cache.gallery(estate_id)
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "people": gallery.people,
        "held_mb": round(held / 1e6, 1),
        "peak_mb": round(peak / 1e6, 1),
        "bytes_per_person": round(held / gallery.people),
    }


def _midnight(cache, estate_id: str) -> dict:
    """The first gallery read after local midnight: no rebuild, the same gallery object."""
    before = cache.gallery(estate_id)
    builds = cache.builds
    tomorrow = clock.now() + timedelta(days=1)
    started = time.perf_counter()
    after = cache.gallery(estate_id, tomorrow)
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    return {"ms": elapsed_ms, "rebuilt": cache.builds > builds or after is not before}


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    sizes = QUICK_SIZES if quick else SIZES
    storm_seconds = 8.0 if quick else STORM_SECONDS
    _environment()
    from local_emulator.server import running_moto_server

    reads = ReadCounter()
    reads.install()
    with running_moto_server():
        from gridgate.adapters.provisioning import provision
        from gridgate.config import get_settings

        provision(get_settings())
        rng = np.random.default_rng(SEED)
        results: dict = {
            "machine_cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "targets": {"first_decision_after_change_ms": 1000, "cold_start_s": 2.0},
            "nanjing_app_users": NANJING_APP_USERS,
            "sizes": {},
        }
        for size in sizes:
            run = _size_run(size, rng, reads, storm_seconds)
            results["sizes"][str(size)] = run
            print(f"{size:>6} people: {json.dumps(run)}", flush=True)
        largest = results["sizes"][str(max(sizes))]["memory"]["bytes_per_person"]
        results["nanjing_galleries_gb"] = round(largest * NANJING_APP_USERS / 1e9, 2)  # every estate warm somewhere
        results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if not quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])

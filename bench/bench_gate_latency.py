"""Gate decision latency through the Chalice app, against moto's server, with 100 / 5,000 / 50,000
enrolled people; QR decision latency. Writes ``bench/results/gate_latency.json``.

Face: for each gallery size an estate gets that many enrolled people (synthetic 128-d templates,
drawn around the real encodings' mean with the spread real different people have, so no synthetic
face is near a real one) plus REAL_PEOPLE real residents enrolled with two photos each from
``../shared/testdata/faces``. The frames are 640x480 JPEGs (`bench.face_frames`) of the real
residents' *other* photos and of strangers. Each frame goes through the whole gate path: signed
request -> `chalice.test.Client` -> device auth -> face pipeline -> warm gallery (its version
re-read in moto) -> calibrated match -> right (moto) -> event write with the nonce (moto). The
reference is the models' own decode+detect+encode (`bench.face_frames.model_detect_encode`: HOG
at the frame's size, upsampled once exactly where the gate's detector upsamples, YuNet's 5 points,
SFace) on the very
same bytes, timed alternately with the gate request so both see the same machine load.
Synthetic templates are unit-length, as SFace's are. Targets: p95 <= 200 ms per 640x480 frame;
gate / reference <= 1.3. The detectors (HOG vs YuNet) are also timed alone on the same frames,
with how many faces of the real residents each found (`detectors`).

QR: a visitor pass's decoded text (signature, estate, window; then nonce, use count and event in
one transaction) and a resident's rotating code (after the person's first code at the warm
function: the secret and the right remembered, checked by the write; nonce, event and those checks
in one transaction), through the same client and moto's server, measured right after the smallest
estate is loaded. Target: p95 <= 20 ms.

Each size also reports `moto_query_ms`: one ownership look-up by person at that table size, the
cost the rights check of every opened face pays (a deny makes no rights look-up, hence
`gate_ms_by_outcome`). moto as shipped reads every item of a table for a Query; the emulator's
speed fix (`local_emulator/moto_speedups.py`) reads only the queried partition, like DynamoDB.

``--quick`` runs 100 and 5,000 people with fewer frames (a smoke run, not the reported numbers);
``--sizes=100,5000`` chooses the gallery sizes of a full run.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

from gridgate import clock

TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"
RESULTS = Path(__file__).resolve().parent / "results" / "gate_latency.json"
GALLERY_SIZES = (100, 5_000, 50_000)
REAL_PEOPLE = 12
FRAMES_PER_SIZE = 40
QR_DECISIONS = 200
SEED = 11


def _percentiles(values_ms: list[float]) -> dict[str, float]:
    ordered = sorted(values_ms)
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))], 1),
        "mean": round(statistics.fmean(ordered), 1),
    }


def _environment() -> None:
    """A throw-away keyring (unless one is configured) before anything reads the settings."""
    if not os.environ.get("GRIDGATE_KEYRING_FILE") and not os.environ.get("GRIDGATE_KEYRING_SECRET_ID"):
        from gridgate.security.keyring import Keyring

        path = Path(tempfile.mkdtemp(prefix="gridgate-bench-keys-")) / "keyring.json"
        path.write_text(Keyring.generate().to_json())
        os.environ["GRIDGATE_KEYRING_FILE"] = str(path)


class Residents:
    """Real people from testdata: two photos enrolled, the others kept as probe frames."""

    def __init__(self) -> None:
        from bench.face_frames import to_gate_frame
        from gridgate.faces.pipeline import probe_face
        from gridgate.faces.rejections import FaceInputRejected

        people = sorted(p for p in (TESTDATA / "faces").iterdir() if p.is_dir())
        self.enrolled: dict[str, list[bytes]] = {}  # identity -> template encodings
        self.probes: list[tuple[str, bytes]] = []  # (identity, frame)
        self.strangers: list[bytes] = []
        for folder in people:
            photos = sorted(folder.iterdir())
            frames = [to_gate_frame(p.read_bytes()) for p in photos]
            if len(self.enrolled) < REAL_PEOPLE and len(photos) >= 3:
                try:
                    encodings = [probe_face(f).encoding.astype("<f4").tobytes() for f in frames[:2]]
                except FaceInputRejected:
                    continue
                self.enrolled[folder.name] = encodings
                self.probes += [(folder.name, f) for f in frames[2:]]
            else:
                self.strangers += frames[:2]

    def mean_and_spread(self) -> tuple[np.ndarray, float]:
        matrix = np.array([np.frombuffer(e, "<f4") for es in self.enrolled.values() for e in es])
        return matrix.mean(axis=0), float(matrix.std(axis=0).mean())


def _load_estate(estate_id: str, people: int, residents: Residents, gate_key: bytes, rng) -> dict[str, str]:
    """Estate, gate, `people` synthetic enrolled owners and the real residents; returns identity -> person id."""
    from gridgate.adapters.repositories import (
        GateRepository,
        PlaceRepository,
        ownership_to_item,
        template_to_item,
    )
    from gridgate.adapters.tables import ComplianceRecordTable, FaceTemplateTable, OwnershipTable
    from gridgate.config import get_settings
    from gridgate.domain.model import (
        FaceTemplate,
        Gate,
        GateDirection,
        Ownership,
        Place,
        PlaceKind,
        Registry,
    )
    from gridgate.security.keyring import ed25519_public_key
    from local_emulator.bulk_writer import BulkWriter
    from local_emulator.city_loader import consent_item

    settings = get_settings()
    PlaceRepository().add(Place(estate_id, PlaceKind.ESTATE, "bench estate", "G-bench", {PlaceKind.GRID: "G-bench"}))
    GateRepository().add(Gate(f"{estate_id}-G1", estate_id, GateDirection.BOTH, "k1", ed25519_public_key(gate_key)))
    mean, spread = residents.mean_and_spread()
    consent = datetime(2024, 1, 1, tzinfo=UTC)
    since = date(2020, 1, 1)
    synthetic = [f"{estate_id}-S{n:06d}" for n in range(people)]
    real = {identity: f"{estate_id}-R-{identity}" for identity in residents.enrolled}
    faces = mean + rng.normal(0.0, spread, size=(people, 128))
    faces = (faces / np.linalg.norm(faces, axis=1, keepdims=True)).astype("<f4")
    ownerships = (
        ownership_to_item(Ownership(pid, f"H-{pid}", estate_id, since)).serialize()
        for pid in [*synthetic, *real.values()]
    )
    templates = [
        template_to_item(FaceTemplate(pid, Registry.APP, 1, faces[n].tobytes(), consent)).serialize()
        for n, pid in enumerate(synthetic)
    ]
    templates += [
        template_to_item(FaceTemplate(real[identity], Registry.APP, number, encoding, consent)).serialize()
        for identity, encodings in residents.enrolled.items()
        for number, encoding in enumerate(encodings, start=1)
    ]
    writer = BulkWriter(settings.region, threads=4)
    writer.write(OwnershipTable.Meta.table_name, ownerships)
    writer.write(FaceTemplateTable.Meta.table_name, templates)
    writer.write(  # an app face is matched only where its consent says (issue 18)
        ComplianceRecordTable.Meta.table_name,
        (consent_item(pid, {estate_id}, consent) for pid in [*synthetic, *real.values()]),
    )
    PlaceRepository().bump_gallery_version(estate_id, [*synthetic, *real.values()])
    return real


def _face_run(client, gate_id: str, key: bytes, residents: Residents, real: dict[str, str], frames: int, rng) -> dict:
    from bench.face_frames import model_detect_encode
    from gridgate.gate.estate_gallery import EstateGalleryCache
    from gridgate.security.device_auth import sign_request

    estate_id = gate_id.rsplit("-", 1)[0]
    inspected = EstateGalleryCache()

    def send(frame: bytes) -> tuple[float, dict]:
        headers = sign_request(
            key,
            gate_id,
            "POST",
            "/gate/entry/face",
            frame,
            {
                "X-Device-Event-Id": uuid.uuid4().hex[:16],
                "X-Captured-At": clock.now().isoformat(),
                "X-Liveness-Score": "0.9",
            },
        )
        headers["Content-Type"] = "image/jpeg"
        started = time.perf_counter()
        response = client.http.post("/gate/entry/face", headers=headers, body=frame)
        elapsed = (time.perf_counter() - started) * 1000
        return elapsed, response.json_body["decision"]

    from gridgate.gate.gallery_publisher import GalleryPublisher

    published_started = time.perf_counter()
    GalleryPublisher().publish(estate_id)  # off the request path: the estate's object, before its gates go live
    publish_s = time.perf_counter() - published_started
    warm_started = time.perf_counter()
    send(residents.probes[0][1])  # a cold warm-function gallery: one GET of the object
    first_request_s = time.perf_counter() - warm_started
    picks = [residents.probes[i % len(residents.probes)] for i in rng.permutation(frames)]
    picks = [(identity, frame) for identity, frame in picks[: frames * 3 // 4]]
    picks += [(None, residents.strangers[i % len(residents.strangers)]) for i in range(frames - len(picks))]
    gate_ms, bare_ms, outcomes = [], [], {"genuine_open": 0, "genuine_other": 0, "stranger_open": 0, "stranger_deny": 0}
    by_outcome: dict[str, list[float]] = {}
    rule_inputs: list[dict] = []
    for n, (identity, frame) in enumerate(picks):
        order = (0, 1) if n % 2 == 0 else (1, 0)
        for which in order:
            if which == 0:
                elapsed, decision = send(frame)
                gate_ms.append(elapsed)
                by_outcome.setdefault(decision["outcome"], []).append(elapsed)
            else:
                started = time.perf_counter()
                model_detect_encode(frame)
                bare_ms.append((time.perf_counter() - started) * 1000)
        opened = decision["outcome"] == "open"
        if identity is None:
            outcomes["stranger_open" if opened else "stranger_deny"] += 1
        else:
            correct = opened and decision["person_id"] == real[identity]
            outcomes["genuine_open" if correct else "genuine_other"] += 1
            rule_inputs.append(_rule_inputs(inspected.gallery(estate_id), frame, real[identity], correct))
    gate, bare = _percentiles(gate_ms), _percentiles(bare_ms)
    return {
        "gate_ms": gate,
        "gate_ms_by_outcome": {outcome: _percentiles(values) for outcome, values in sorted(by_outcome.items())},
        "model_decode_detect_encode_ms": bare,
        "ratio_p50": round(gate["p50"] / bare["p50"], 3),
        "ratio_p95": round(gate["p95"] / bare["p95"], 3),
        "gallery_publish_s": round(publish_s, 2),
        "first_request_cold_load_s": round(first_request_s, 2),
        "outcomes": outcomes,
        "residents_rule_inputs": rule_inputs,
    }


def _rule_inputs(gallery, frame: bytes, resident_id: str, opened: bool) -> dict:
    """What the gate's rule weighed for one resident's frame, read from the same estate gallery the
    gate builds (moto's templates): nearest person, distances, the threshold for the templates
    searched (or the pipeline's refusal). It explains a deny without trusting the response."""
    from gridgate.faces.pipeline import probe_face
    from gridgate.faces.rejections import FaceInputRejected

    try:
        probe = probe_face(frame)
    except FaceInputRejected as rejected:
        return {"opened": opened, "pipeline": rejected.code}
    found = gallery.match(probe)
    nearest = gallery.app.nearest(probe.encoding)
    return {
        "opened": opened,
        "templates_searched": sum(group.templates for group in gallery.encoders),
        "threshold": round(found.threshold, 4),
        "nearest_is_the_resident": nearest.person_id == resident_id,
        "distance": round(nearest.distance, 4),
        "runner_up_distance": round(nearest.runner_up_distance, 4),
        "runner_up_is_synthetic": "-S" in (nearest.runner_up_id or ""),
    }


def _qr_run(client, gate_id: str, key: bytes, estate_id: str, resident_id: str, decisions: int) -> dict:
    from gridgate.adapters.pass_repository import PassRepository
    from gridgate.adapters.repositories import GateRepository, PersonRepository
    from gridgate.adapters.resident_secrets import ResidentSecretStore
    from gridgate.domain.model import PassStatus, Person, Registry, VisitorPass
    from gridgate.security.device_auth import sign_request
    from gridgate.security.identifiers import IdentifierProtector
    from gridgate.security.keyring import get_keyring
    from gridgate.security.resident_qr import current_code, new_secret
    from gridgate.security.signed_passes import PassClaims, new_pass_id, sign_pass

    keyring = get_keyring()
    protector = IdentifierProtector(keyring)
    now = clock.now().replace(microsecond=0)
    claims = PassClaims(
        new_pass_id(),
        estate_id,
        f"H-{resident_id}",
        now - timedelta(minutes=1),
        now + timedelta(hours=20),
        keyring.active_signing_key_id,
        None,
    )
    PassRepository(protector).create(
        VisitorPass(
            claims.pass_id,
            estate_id,
            claims.home_id,
            resident_id,
            "bench visitor",
            claims.valid_from,
            claims.valid_until,
            claims.key_id,
            status=PassStatus.ACTIVE,
        )
    )
    PersonRepository(protector).add(
        Person(resident_id, "bench", "320102198001010000", frozenset({Registry.APP}), 1980, "F")
    )
    secret = ResidentSecretStore(protector).put_if_absent(resident_id, new_secret())

    def timed(text: str) -> tuple[float, str]:
        body = json.dumps({"text": text}).encode()
        headers = sign_request(
            key,
            gate_id,
            "POST",
            "/gate/entry/qr",
            body,
            {"X-Device-Event-Id": uuid.uuid4().hex[:16], "X-Captured-At": clock.now().isoformat()},
        )
        headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        response = client.http.post("/gate/entry/qr", headers=headers, body=body)
        return (time.perf_counter() - started) * 1000, response.json_body["decision"]["outcome"]

    pass_text = sign_pass(claims, keyring)
    for _ in range(5):
        timed(pass_text)
    round_trips: list[float] = []
    visitor: list[tuple[float, str]] = []
    resident: list[tuple[float, str]] = []
    for _ in range(decisions // 2):  # interleaved, so that the floor and both kinds see the same load
        started = time.perf_counter()
        GateRepository().get(gate_id)
        round_trips.append((time.perf_counter() - started) * 1000)
        visitor += [timed(pass_text), timed(pass_text)]
        resident.append(timed(current_code(resident_id, secret, clock.now())))
    return {
        # the floor: one GetItem from moto's server (a visitor decision makes 1 round trip: one
        # transaction of nonce, pass use and event; a resident decision too once its secret and
        # right are remembered: nonce, event and their checks in one transaction)
        "moto_get_item_ms": _percentiles(round_trips),
        "visitor_pass_ms": _percentiles([ms for ms, _ in visitor]),
        "visitor_pass_opened": sum(outcome == "open" for _, outcome in visitor),
        "resident_code_ms": _percentiles([ms for ms, _ in resident]),
        "resident_code_opened": sum(outcome == "open" for _, outcome in resident),
    }


def _detectors(residents: Residents) -> dict:
    """HOG vs YuNet alone on the residents' probe frames: time and whether the one face was found."""
    import cv2

    from gridgate.faces.pipeline import DEFAULT_POLICY, FacePolicy, detect_faces

    out = {}
    for name in ("hog", "yunet"):
        policy = FacePolicy(detector=name) if name != DEFAULT_POLICY.detector else DEFAULT_POLICY
        times, found = [], 0
        for _, frame in residents.probes:
            bgr = cv2.imdecode(np.frombuffer(frame, np.uint8), cv2.IMREAD_COLOR)
            if bgr is None:  # the probes are the test set's JPEGs: each decodes
                raise ValueError("a probe frame is not an image")
            rgb = bgr[:, :, ::-1]
            started = time.perf_counter()
            boxes = detect_faces(np.ascontiguousarray(rgb), policy)
            times.append((time.perf_counter() - started) * 1000)
            found += bool(boxes)
        out[name] = {"detect_ms": _percentiles(times), "frames_with_a_face": found, "frames": len(residents.probes)}
    return out


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    chosen = next((a.split("=", 1)[1] for a in argv if a.startswith("--sizes=")), None)
    sizes = GALLERY_SIZES[:2] if quick else tuple(int(n) for n in chosen.split(",")) if chosen else GALLERY_SIZES
    frames = 12 if quick else FRAMES_PER_SIZE
    _environment()
    from local_emulator.server import running_moto_server
    from local_emulator.synthetic_city import emulator_device_private_key

    with running_moto_server():
        from chalice.test import Client

        from gridgate.adapters.provisioning import provision
        from gridgate.config import get_settings

        provision(get_settings())
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))
        from app import app

        rng = np.random.default_rng(SEED)
        residents = Residents()
        results: dict = {
            "machine_cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "frames_per_size": frames,
            "real_people": len(residents.enrolled),
            "face": {},
            "targets": {"face_p95_ms": 200, "face_ratio": 1.3, "qr_p95_ms": 20},
        }
        results["detectors"] = _detectors(residents)
        print(f"detectors: {json.dumps(results['detectors'])}", flush=True)
        with Client(app) as client:
            for number, size in enumerate(sizes):
                estate_id = f"E-bench-{size}"
                gate_id = f"{estate_id}-G1"
                key = emulator_device_private_key(SEED, gate_id)
                started = time.perf_counter()
                real = _load_estate(estate_id, size, residents, key, rng)
                load_s = time.perf_counter() - started
                run = _face_run(client, gate_id, key, residents, real, frames, rng)
                run["enrolled_people"] = size + len(real)
                run["load_s"] = round(load_s, 1)
                run["moto_query_ms"] = _moto_query_ms(next(iter(real.values())))
                results["face"][str(size)] = run
                print(f"{size:>6} people: {json.dumps(run)}", flush=True)
                if number == 0:
                    resident = next(iter(real.values()))
                    results["qr"] = _qr_run(client, gate_id, key, estate_id, resident, 40 if quick else QR_DECISIONS)
                    print(f"qr: {json.dumps(results['qr'])}", flush=True)
        results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        results["floor"] = _floor(results)
    if not quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


def _floor(results: dict) -> dict:
    """Each decision against its floor, from this one run: the face model's own time plus one round
    trip to moto (a GetItem) for a face, one round trip for a QR code; ratios at p50 and p95."""
    trip = results["qr"]["moto_get_item_ms"]
    out: dict = {"round_trip_ms": trip, "face": {}, "qr": {}}
    for size, run in results["face"].items():
        model = run["model_decode_detect_encode_ms"]
        out["face"][size] = {q: round(run["gate_ms"][q] / (model[q] + trip[q]), 3) for q in ("p50", "p95")}
    for kind in ("visitor_pass_ms", "resident_code_ms"):
        out["qr"][kind] = {q: round(results["qr"][kind][q] / trip[q], 2) for q in ("p50", "p95")}
    return out


def _moto_query_ms(person_id: str, repeats: int = 5) -> float:
    """One ownership look-up by person (a DynamoDB Query of one partition) at the current table size."""
    from gridgate.adapters.repositories import OwnershipRepository

    started = time.perf_counter()
    for _ in range(repeats):
        OwnershipRepository().for_person(person_id)
    return round((time.perf_counter() - started) * 1000 / repeats, 1)


if __name__ == "__main__":
    main(sys.argv[1:])

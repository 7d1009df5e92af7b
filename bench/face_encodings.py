"""Encode a folder of face photos once per (encoder, detector) and cache it outside the repository.

Every photo goes through the gate's own pipeline (`gridgate.faces.pipeline`: decode, detect with
the policy's detector, choose the face, 5-point landmarks), then EVERY known encoder encodes the
same chosen face, so dlib and SFace are compared on identical faces. Encoding thousands of photos
takes minutes on a shared machine, so results are cached under
``~/.cache/gridgate/encodings/<encoder id>/<detector>/<dataset>.npz`` (override the root with
GRIDGATE_ENCODING_CACHE), keyed by encoder id, detector and each photo's path and size: a change
of encoder or detector never reuses another's vectors.

Run directly to fill a cache in the background: ``python -m bench.face_encodings faces_lfw hog``.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from gridgate.faces.encoders import ENCODERS
from gridgate.faces.images import decode_image
from gridgate.faces.pipeline import DEFAULT_POLICY, choose_face, detect_faces, face_landmarks
from gridgate.faces.rejections import FaceInputRejected

TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"
CACHE_ROOT = Path(os.environ.get("GRIDGATE_ENCODING_CACHE", Path.home() / ".cache" / "gridgate" / "encodings"))


@dataclass(frozen=True)
class EncodedSet:
    """One dataset through one detector: per photo its identity, path, status, face size, encodings."""

    identities: np.ndarray  # (n,) str
    paths: np.ndarray  # (n,) str, relative to the testdata root
    status: np.ndarray  # (n,) str: "ok" or the pipeline's refusal code
    face_px: np.ndarray  # (n,) int
    encodings: dict[str, np.ndarray]  # encoder id -> (n, 128) float32 (zeros where status != ok)

    @property
    def ok(self) -> np.ndarray:
        return self.status == "ok"


def photos(dataset: str) -> list[Path]:
    root = TESTDATA / dataset
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in {".jpg", ".jpeg", ".png"})


def _cache_file(encoder_id: str, detector: str, dataset: str) -> Path:
    return CACHE_ROOT / encoder_id.replace("/", "+") / detector / f"{dataset}.npz"


def _key(files: list[Path]) -> np.ndarray:
    return np.array([f"{p.relative_to(TESTDATA)}:{p.stat().st_size}" for p in files])


def load(dataset: str, detector: str = "hog", *, encode_missing: bool = True, progress: bool = False) -> EncodedSet:
    """The dataset's encodings by every known encoder (from the cache, or encoded now and cached)."""
    files = photos(dataset)
    key = _key(files)
    cached: dict[str, dict] = {}
    for encoder_id in ENCODERS:
        path = _cache_file(encoder_id, detector, dataset)
        if path.exists():
            data = np.load(path, allow_pickle=False)
            if np.array_equal(data["key"], key):
                cached[encoder_id] = dict(data)
    missing = [encoder_id for encoder_id in ENCODERS if encoder_id not in cached]
    if missing:
        if not encode_missing:
            raise FileNotFoundError(f"no complete encoding cache for {dataset}/{detector} under {CACHE_ROOT}")
        cached.update(_encode(files, key, detector, dataset, progress, missing))
    # a photo counts only where EVERY encoder's pass accepted it (the current pipeline also needs
    # YuNet's points on the chosen face), so all encoders are compared on the same photos
    status = np.array(cached[next(iter(ENCODERS))]["status"], dtype=object)
    for data in cached.values():
        refused = (status == "ok") & (data["status"] != "ok")
        status[refused] = data["status"][refused]
    first = cached[next(iter(ENCODERS))]
    return EncodedSet(
        identities=np.array([p.parent.name for p in files]),
        paths=np.array([str(p.relative_to(TESTDATA)) for p in files]),
        status=status.astype(str),
        face_px=first["face_px"],
        encodings={encoder_id: cached[encoder_id]["encodings"] for encoder_id in ENCODERS},
    )


def _encode(
    files: list[Path], key: np.ndarray, detector: str, dataset: str, progress: bool, encoder_ids: list[str]
) -> dict[str, dict]:
    """Encode `files` with the encoders in `encoder_ids` only (the others come from their caches)."""
    policy = replace(DEFAULT_POLICY, detector=detector) if detector != DEFAULT_POLICY.detector else DEFAULT_POLICY
    status, face_px = [], []
    vectors = {encoder_id: np.zeros((len(files), 128), dtype=np.float32) for encoder_id in encoder_ids}
    started = time.monotonic()
    for index, path in enumerate(files):
        try:
            rgb = decode_image(path.read_bytes())
            box = choose_face(detect_faces(rgb, policy), policy)
            points = face_landmarks(rgb, box)
            for encoder_id in encoder_ids:
                vectors[encoder_id][index] = ENCODERS[encoder_id].encode(rgb, points)
            status.append("ok")
            face_px.append(box.width)
        except FaceInputRejected as rejected:
            status.append(rejected.code)
            face_px.append(0)
        if progress and index % 500 == 0:
            print(f"{dataset}/{detector}: {index}/{len(files)} in {time.monotonic() - started:.0f} s", flush=True)
    result = {}
    for encoder_id in encoder_ids:
        path = _cache_file(encoder_id, detector, dataset)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"key": key, "status": np.array(status), "face_px": np.array(face_px), "encodings": vectors[encoder_id]}
        np.savez(path, key=key, status=data["status"], face_px=data["face_px"], encodings=data["encodings"])
        result[encoder_id] = data
    return result


if __name__ == "__main__":
    dataset_arg = sys.argv[1] if len(sys.argv) > 1 else "faces_lfw"
    detector_arg = sys.argv[2] if len(sys.argv) > 2 else "hog"
    encoded = load(dataset_arg, detector_arg, progress=True)
    print(f"{dataset_arg}/{detector_arg}: {int(encoded.ok.sum())}/{len(encoded.ok)} photos encoded")

"""From an image to the ONE face the gate judges, as a 128-d encoding: detect, choose, check, encode.

Detection is dlib's HOG detector (through face_recognition), encoding dlib's ResNet model with the
face aligned on dlib's 68-point landmarks, one jitter: the same settings the thresholds in
`matcher` were calibrated with (docs/face-matching.md). The 68-point alignment costs about 4 ms
more than face_recognition's default 5-point one and, on the test photos, accepted 1-2 points
more genuine residents at the same stranger-accept (docs/face-matching.md, section 1).

Which face is judged (the security rule):
- the largest face (the person nearest the camera, i.e. the one at the barrier) is judged;
- if any other face is at least `FacePolicy.dominance_ratio` (0.7) of its width, two people are at
  about the same distance and the device cannot know who is passing: the frame is refused as
  ``ambiguous_faces`` (each person passes alone). A stranger standing behind a resident is never
  the one judged (their face is smaller), and a stranger beside a resident is never let in on
  the resident's face;
- the judged face must be at least `FacePolicy.min_face_px` wide (``face_too_small``): smaller
  faces give encodings the calibration does not cover.

HOG's detection window is 80 px, so one pass over the image at its own size misses faces smaller
than that. The image is scanned once at its own size; it is scanned again at twice its size
(faces down to 40 px) when nothing was found, or when a face small enough to make the frame
ambiguous (`dominance_ratio` x the largest) could have been missed. A gate frame whose largest face
is at least 115 px wide (80 / 0.7) therefore costs one pass, and the ambiguity rule never depends on
which pass found which face.
"""

from __future__ import annotations

from dataclasses import dataclass

import face_recognition
import numpy as np
from face_recognition import api as _fr_api

from gridgate.faces.errors import FaceRejected, NoFace
from gridgate.faces.images import decode_image

#: Smallest face dlib's HOG detector finds without upsampling (its sliding window is 80x80).
HOG_WINDOW_PX = 80
#: face_recognition's 68-point landmark model aligns the face for the encoder ("small" is 5-point).
LANDMARK_MODEL = "large"
JITTERS = 1
#: The encoder settings stored templates and calibrated thresholds belong to: caches of encodings
#: (the calibration benchmark's, the tests') are keyed by it, so a change never mixes encoders.
ENCODER_ID = f"dlib_resnet_v1/{LANDMARK_MODEL}_landmarks/jitter{JITTERS}"


@dataclass(frozen=True)
class FacePolicy:
    """Which faces may be judged. Defaults are the documented gate rule (docs/face-matching.md)."""

    min_face_px: int = 50
    dominance_ratio: float = 0.7
    #: Upsampling passes allowed after the first (1: faces down to 40 px; each pass costs 4x).
    max_upsample: int = 1


@dataclass(frozen=True)
class FaceBox:
    """A detected face in decoded-image pixels (face_recognition's (top, right, bottom, left))."""

    top: int
    right: int
    bottom: int
    left: int
    detector_score: float = 0.0

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def css(self) -> tuple[int, int, int, int]:
        return (self.top, self.right, self.bottom, self.left)


@dataclass(frozen=True)
class ProbeFace:
    """The judged face: its encoding, where it was, how many faces the frame held."""

    encoding: np.ndarray  # (128,) float32
    box: FaceBox
    faces_found: int

    @property
    def face_px(self) -> int:
        return self.box.width


DEFAULT_POLICY = FacePolicy()


def probe_face(data: bytes, policy: FacePolicy = DEFAULT_POLICY, *, max_bytes: int | None = None) -> ProbeFace:
    """Image bytes -> the face to judge. Raises `ImageRejected` or `FaceRejected` (incl. `NoFace`)."""
    rgb = decode_image(data) if max_bytes is None else decode_image(data, max_bytes=max_bytes)
    return probe_image(rgb, policy)


def probe_image(rgb: np.ndarray, policy: FacePolicy = DEFAULT_POLICY) -> ProbeFace:
    """An already decoded RGB array -> the face to judge (see the module docstring for the rule)."""
    boxes = detect_faces(rgb, policy)
    chosen = choose_face(boxes, policy)
    return ProbeFace(encoding=encode_face(rgb, chosen), box=chosen, faces_found=len(boxes))


def detect_faces(rgb: np.ndarray, policy: FacePolicy = DEFAULT_POLICY) -> list[FaceBox]:
    """Every face the HOG detector finds, scanning finer only when a missed face could matter."""
    boxes: list[FaceBox] = []
    for upsample in range(policy.max_upsample + 1):
        boxes = _hog(rgb, upsample)
        smallest_seen = HOG_WINDOW_PX / (2**upsample)
        largest = max((box.width for box in boxes), default=0)
        if boxes and policy.dominance_ratio * largest >= smallest_seen:
            break
    return boxes


def _hog(rgb: np.ndarray, upsample: int) -> list[FaceBox]:
    rects, scores, _ = _fr_api.face_detector.run(rgb, upsample, 0.0)
    height, width = rgb.shape[:2]
    return [
        FaceBox(
            top=max(rect.top(), 0),
            right=min(rect.right(), width),
            bottom=min(rect.bottom(), height),
            left=max(rect.left(), 0),
            detector_score=float(score),
        )
        for rect, score in zip(rects, scores)
    ]


def choose_face(boxes: list[FaceBox], policy: FacePolicy = DEFAULT_POLICY) -> FaceBox:
    """The face to judge: the largest, if no other face rivals it and it is big enough."""
    if not boxes:
        raise NoFace()
    ranked = sorted(boxes, key=lambda box: box.width, reverse=True)
    largest = ranked[0]
    if len(ranked) > 1 and ranked[1].width >= policy.dominance_ratio * largest.width:
        raise FaceRejected(
            "ambiguous_faces",
            f"{len(ranked)} faces of similar size ({largest.width} px and {ranked[1].width} px): "
            "one person at a time",
        )
    if largest.width < policy.min_face_px:
        raise FaceRejected(
            "face_too_small", f"the face is {largest.width} px wide; at least {policy.min_face_px} px are needed"
        )
    return largest


def encode_face(rgb: np.ndarray, box: FaceBox) -> np.ndarray:
    """The 128-d dlib encoding of one face (68-point alignment, one jitter), as float32."""
    (encoding,) = face_recognition.face_encodings(rgb, [box.css], num_jitters=JITTERS, model=LANDMARK_MODEL)
    return np.asarray(encoding, dtype=np.float32)

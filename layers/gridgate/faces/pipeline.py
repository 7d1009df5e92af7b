"""From an image to the ONE face the gate judges, as a 128-d encoding: detect, choose, check, encode.

Detection is dlib's HOG detector (through face_recognition) by default, or OpenCV Zoo's YuNet
(`FacePolicy.detector`); both are measured side by side in bench/ (docs/face-matching.md). The
judged face is aligned on dlib's 5-point landmarks (face_recognition's ``pose_predictor_5_point``,
trained on CC0 annotations; the 68-point model, trained on iBUG 300-W with no commercial use, is
no longer loaded) and encoded by the CURRENT encoder (`encoders.CURRENT_ENCODER_ID`, SFace). The
legacy dlib encoding of the same face is computed only when asked for (`ProbeFace.encoding_for`),
i.e. only while a gallery still holds legacy templates.

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
which pass found which face. YuNet finds faces from about 10 px in one pass.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from face_recognition import api as _fr_api

from gridgate.faces.encoders import (
    CURRENT_ENCODER_ID,
    SFACE_ENCODER,
    Landmarks5,
    encoder,
    landmarks_from_dlib,
)
from gridgate.faces.errors import FaceRejected, NoFace
from gridgate.faces.images import decode_image
from gridgate.faces.models import YUNET, model_path

#: Smallest face dlib's HOG detector finds without upsampling (its sliding window is 80x80).
HOG_WINDOW_PX = 80
#: The encoder new templates and gate probes use; caches of encodings are keyed by it.
ENCODER_ID = CURRENT_ENCODER_ID
#: YuNet's score below which a detection is not a face (OpenCV Zoo's demo default is 0.9; lower
#: finds more of the smaller faces that decide the ambiguity rule).
YUNET_SCORE_THRESHOLD = 0.7


@dataclass(frozen=True)
class FacePolicy:
    """Which faces may be judged. Defaults are the documented gate rule (docs/face-matching.md)."""

    min_face_px: int = 50
    dominance_ratio: float = 0.7
    #: Upsampling passes allowed after the first (1: faces down to 40 px; each pass costs 4x). HOG only.
    max_upsample: int = 1
    #: "hog" (dlib, through face_recognition) or "yunet" (OpenCV Zoo).
    detector: str = "hog"


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
    """The judged face: its current-encoder encoding, where it was, how many faces the frame held.

    The decoded pixels stay (in memory only, never stored) so the legacy encoding can be made on
    demand by `encoding_for` while legacy templates still exist.
    """

    encoding: np.ndarray  # (128,) float32, by ENCODER_ID
    box: FaceBox
    faces_found: int
    rgb: np.ndarray | None = field(default=None, repr=False, compare=False)
    landmarks: Landmarks5 | None = field(default=None, repr=False, compare=False)
    _others: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def face_px(self) -> int:
        return self.box.width

    @property
    def encoder_id(self) -> str:
        return ENCODER_ID

    def encoding_for(self, encoder_id: str) -> np.ndarray:
        """This face's encoding by `encoder_id` (computed once; KeyError for an unknown encoder)."""
        if encoder_id == ENCODER_ID:
            return self.encoding
        if encoder_id not in self._others:
            if self.rgb is None or self.landmarks is None:
                raise KeyError(f"this probe holds no pixels to encode with {encoder_id}")
            self._others[encoder_id] = encoder(encoder_id).encode(self.rgb, self.landmarks)
        return self._others[encoder_id]


DEFAULT_POLICY = FacePolicy()


def probe_face(data: bytes, policy: FacePolicy = DEFAULT_POLICY, *, max_bytes: int | None = None) -> ProbeFace:
    """Image bytes -> the face to judge. Raises `ImageRejected` or `FaceRejected` (incl. `NoFace`)."""
    rgb = decode_image(data) if max_bytes is None else decode_image(data, max_bytes=max_bytes)
    return probe_image(rgb, policy)


def probe_image(rgb: np.ndarray, policy: FacePolicy = DEFAULT_POLICY) -> ProbeFace:
    """An already decoded RGB array -> the face to judge (see the module docstring for the rule)."""
    boxes = detect_faces(rgb, policy)
    chosen = choose_face(boxes, policy)
    points = face_landmarks(rgb, chosen)
    return ProbeFace(
        encoding=SFACE_ENCODER.encode(rgb, points), box=chosen, faces_found=len(boxes), rgb=rgb, landmarks=points
    )


def detect_faces(rgb: np.ndarray, policy: FacePolicy = DEFAULT_POLICY) -> list[FaceBox]:
    """Every face the policy's detector finds (HOG scans finer only when a missed face could matter)."""
    if policy.detector == "yunet":
        return _yunet(rgb)
    boxes: list[FaceBox] = []
    for upsample in range(policy.max_upsample + 1):
        boxes = _hog(rgb, upsample)
        smallest_seen = HOG_WINDOW_PX / (2**upsample)
        largest = max((box.width for box in boxes), default=0)
        if boxes and policy.dominance_ratio * largest >= smallest_seen:
            break
    return boxes


def _clip_box(top: float, right: float, bottom: float, left: float, shape, score: float) -> FaceBox:
    height, width = shape[:2]
    return FaceBox(
        top=max(int(top), 0),
        right=min(int(right), width),
        bottom=min(int(bottom), height),
        left=max(int(left), 0),
        detector_score=float(score),
    )


def _hog(rgb: np.ndarray, upsample: int) -> list[FaceBox]:
    rects, scores, _ = _fr_api.face_detector.run(rgb, upsample, 0.0)
    return [
        _clip_box(rect.top(), rect.right(), rect.bottom(), rect.left(), rgb.shape, score)
        for rect, score in zip(rects, scores)
    ]


_yunet_local = threading.local()


def _yunet(rgb: np.ndarray) -> list[FaceBox]:
    import cv2

    net = getattr(_yunet_local, "net", None)
    if net is None:
        net = cv2.FaceDetectorYN.create(str(model_path(YUNET)), "", (320, 320), YUNET_SCORE_THRESHOLD, 0.3, 50)
        _yunet_local.net = net
    height, width = rgb.shape[:2]
    net.setInputSize((width, height))
    _, faces = net.detect(np.ascontiguousarray(rgb[:, :, ::-1]))
    if faces is None:
        return []
    return [_clip_box(y, x + w, y + h, x, rgb.shape, score) for x, y, w, h, *_, score in faces.tolist()]


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


def face_landmarks(rgb: np.ndarray, box: FaceBox) -> Landmarks5:
    """dlib's 5-point landmarks of one face (CC0-trained model), the input of every encoder."""
    import dlib

    rect = dlib.rectangle(box.left, box.top, box.right, box.bottom)
    return landmarks_from_dlib(_fr_api.pose_predictor_5_point(rgb, rect))


def encode_face(rgb: np.ndarray, box: FaceBox, encoder_id: str = ENCODER_ID) -> np.ndarray:
    """The encoding of one face by `encoder_id` (default: the current encoder), as float32."""
    return np.asarray(encoder(encoder_id).encode(rgb, face_landmarks(rgb, box)), dtype=np.float32)

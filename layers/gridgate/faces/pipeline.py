"""From an image to the ONE face the gate judges, as a 128-d encoding: detect, choose, check, encode.

Detection is dlib's HOG detector (through face_recognition) by default, or OpenCV Zoo's YuNet
(`FacePolicy.detector`); both are measured side by side in bench/ (docs/face-matching.md). The
face-choice rule below picks the judged face from the detector's boxes; then `face_landmarks`
places two sets of points on THAT face: YuNet's five points (eyes, nose tip, mouth corners), from
which OpenCV's ``FaceRecognizerSF.alignCrop`` makes the crop the CURRENT encoder (SFace,
`encoders.CURRENT_ENCODER_ID`) reads, and dlib's 5-point shape (face_recognition's
``pose_predictor_5_point``, trained on CC0 annotations) for the legacy dlib encoder. With HOG,
YuNet runs on a padded crop around the chosen box and its detection must be the same face (each
box's centre inside the other, the largest overlap wins); if YuNet finds no such face the frame is
refused as ``no_face`` rather than aligned some other way. The 68-point model (iBUG 300-W, no
commercial use) is not loaded. The legacy dlib encoding of the same face is computed only when
asked for (`ProbeFace.encoding_for`), i.e. only while a gallery still holds legacy templates.

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
from gridgate.faces.images import decode_image
from gridgate.faces.models import YUNET, model_path
from gridgate.faces.rejections import FaceRejected, NoFace

#: Smallest face dlib's HOG detector finds without upsampling (its sliding window is 80x80).
HOG_WINDOW_PX = 80
#: The encoder new templates and gate probes use; caches of encodings are keyed by it.
ENCODER_ID = CURRENT_ENCODER_ID
#: YuNet's score below which a detection is not a face (OpenCV Zoo's demo default is 0.9; lower
#: finds more of the smaller faces that decide the ambiguity rule).
YUNET_SCORE_THRESHOLD = 0.7
#: YuNet's score below which it places no landmarks on a face the pipeline already chose (the face
#: is already detected; YuNet only has to find its points).
YUNET_LANDMARK_SCORE_THRESHOLD = 0.5
#: The crop YuNet searches for the chosen face's points: the box widened by this fraction of its
#: width on every side, scaled up so its shorter side is at least `YUNET_CROP_MIN_PX`.
YUNET_CROP_PAD = 0.6
YUNET_CROP_MIN_PX = 160


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
    #: YuNet's row for this face (15 floats, image pixels) when YuNet detected it.
    yunet_face: tuple[float, ...] | None = field(default=None, repr=False, compare=False)

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


def _clip_box(top: float, right: float, bottom: float, left: float, shape, score: float, yunet_face=None) -> FaceBox:
    height, width = shape[:2]
    return FaceBox(
        top=max(int(top), 0),
        right=min(int(right), width),
        bottom=min(int(bottom), height),
        left=max(int(left), 0),
        detector_score=float(score),
        yunet_face=yunet_face,
    )


def _hog(rgb: np.ndarray, upsample: int) -> list[FaceBox]:
    rects, scores, _ = _fr_api.face_detector.run(rgb, upsample, 0.0)
    return [
        _clip_box(rect.top(), rect.right(), rect.bottom(), rect.left(), rgb.shape, score)
        for rect, score in zip(rects, scores)
    ]


_yunet_local = threading.local()


def _yunet_net(score_threshold: float):
    """One YuNet net per thread and score threshold (OpenCV DNN nets are not re-entrant)."""
    import cv2

    nets = getattr(_yunet_local, "nets", None)
    if nets is None:
        nets = _yunet_local.nets = {}
    if score_threshold not in nets:
        nets[score_threshold] = cv2.FaceDetectorYN.create(
            str(model_path(YUNET)), "", (320, 320), score_threshold, 0.3, 50
        )
    return nets[score_threshold]


def _yunet_rows(bgr: np.ndarray, score_threshold: float) -> list[list[float]]:
    net = _yunet_net(score_threshold)
    height, width = bgr.shape[:2]
    net.setInputSize((width, height))
    _, faces = net.detect(bgr)
    return [] if faces is None else faces.tolist()


def _yunet(rgb: np.ndarray) -> list[FaceBox]:
    rows = _yunet_rows(np.ascontiguousarray(rgb[:, :, ::-1]), YUNET_SCORE_THRESHOLD)
    return [
        _clip_box(row[1], row[0] + row[2], row[1] + row[3], row[0], rgb.shape, row[14], yunet_face=tuple(row))
        for row in rows
    ]


def _same_face(row: list[float], box: FaceBox) -> float:
    """The overlap (IoU) of a YuNet row with `box` if each one's centre lies inside the other, else 0."""
    x, y, w, h = row[:4]
    cx, cy = x + w / 2, y + h / 2
    bx, by = (box.left + box.right) / 2, (box.top + box.bottom) / 2
    if not (box.left <= cx <= box.right and box.top <= cy <= box.bottom and x <= bx <= x + w and y <= by <= y + h):
        return 0.0
    inter_w = max(0.0, min(x + w, box.right) - max(x, box.left))
    inter_h = max(0.0, min(y + h, box.bottom) - max(y, box.top))
    inter = inter_w * inter_h
    union = w * h + box.width * (box.bottom - box.top) - inter
    return inter / union if union > 0 else 0.0


def yunet_points(rgb: np.ndarray, box: FaceBox) -> tuple[float, ...] | None:
    """YuNet's row (box, five points, score; image pixels) for the face in `box`, or None.

    YuNet searches a padded crop around the box (scaled up when small); only a detection that is
    the same face as `box` (`_same_face`) counts, so the points always belong to the chosen face.
    """
    if box.yunet_face is not None:
        return box.yunet_face
    import cv2

    height, width = rgb.shape[:2]
    pad = YUNET_CROP_PAD * box.width
    left, top = max(int(box.left - pad), 0), max(int(box.top - pad), 0)
    right, bottom = min(int(box.right + pad), width), min(int(box.bottom + pad), height)
    if right - left < 2 or bottom - top < 2:
        return None
    crop = np.ascontiguousarray(rgb[top:bottom, left:right, ::-1])
    scale = max(1.0, YUNET_CROP_MIN_PX / min(crop.shape[:2]))
    if scale > 1.0:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    best, best_overlap = None, 0.0
    for row in _yunet_rows(crop, YUNET_LANDMARK_SCORE_THRESHOLD):
        mapped = [v / scale + (left if i % 2 == 0 else top) for i, v in enumerate(row[:14])] + [row[14]]
        mapped[2], mapped[3] = row[2] / scale, row[3] / scale  # width and height are not shifted
        overlap = _same_face(mapped, box)
        if overlap > best_overlap:
            best, best_overlap = tuple(mapped), overlap
    return best


def choose_face(boxes: list[FaceBox], policy: FacePolicy = DEFAULT_POLICY) -> FaceBox:
    """The face to judge: the largest, if no other face rivals it and it is big enough."""
    if not boxes:
        raise NoFace()
    ranked = sorted(boxes, key=lambda box: box.width, reverse=True)
    largest = ranked[0]
    if len(ranked) > 1 and ranked[1].width >= policy.dominance_ratio * largest.width:
        raise FaceRejected("ambiguous_faces", count=len(ranked))
    if largest.width < policy.min_face_px:
        raise FaceRejected("face_too_small", width=largest.width, min_width=policy.min_face_px)
    return largest


def face_landmarks(rgb: np.ndarray, box: FaceBox) -> Landmarks5:
    """The chosen face's landmarks for every encoder: YuNet's five points (SFace, via alignCrop) and
    dlib's 5-point shape (CC0-trained model; the legacy encoder). Raises `NoFace` when YuNet finds
    no face matching `box`: the current encoder is never fed some other alignment."""
    import dlib

    row = yunet_points(rgb, box)
    if row is None:
        raise NoFace()
    rect = dlib.rectangle(box.left, box.top, box.right, box.bottom)
    dlib5 = landmarks_from_dlib(_fr_api.pose_predictor_5_point(rgb, rect))
    return Landmarks5(dlib5.points, dlib_shape=dlib5.dlib_shape, yunet_face=np.asarray(row, dtype=np.float32))


def encode_face(rgb: np.ndarray, box: FaceBox, encoder_id: str = ENCODER_ID) -> np.ndarray:
    """The encoding of one face by `encoder_id` (default: the current encoder), as float32."""
    return np.asarray(encoder(encoder_id).encode(rgb, face_landmarks(rgb, box)), dtype=np.float32)

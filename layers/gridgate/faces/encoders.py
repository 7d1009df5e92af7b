"""Face encoders: one detected face -> a 128-d vector, each under a stable encoder id.

Two encoders exist, and every stored template says which one made it (`FaceTemplate.encoder`):
- `SFACE` (``CURRENT_ENCODER_ID``): OpenCV Zoo's SFace (int8 block-quantised ONNX, run by
  ``cv2.FaceRecognizerSF``) on the 112x112 crop OpenCV's own ``FaceRecognizerSF.alignCrop`` makes
  from YuNet's five points (eyes, nose TIP, mouth corners) of the chosen face: the alignment SFace
  was trained for. (The first SFace pipeline mapped dlib's eye centres and nose BASE onto SFace's
  nose-tip template; on 736 LFW photos its 1:1 TAR at FAR 0.1 % was 97.2 % against 99.1 % with
  alignCrop, bench/face_alignment_check.py; its id is retired, `RETIRED_ENCODER_IDS`.) The face
  is still chosen by the pipeline's detector and face-choice rule; YuNet only places the points on
  that face (`gridgate.faces.pipeline.face_landmarks`). The vector is L2-normalised, so the
  matcher's Euclidean distance is ``sqrt(2 - 2 cos)``: the same order as SFace's cosine score.
- `DLIB_LEGACY` (``LEGACY_ENCODER_ID``): dlib's ResNet, the encoder every template stored before
  issue 12 was made with. Those templates keep working until their owner re-enrols: a probe is
  encoded with the legacy encoder only when the gallery still holds legacy templates, and only
  ever compared with them. The stored templates were made on 68-point alignment, whose model is
  trained on iBUG 300-W (no commercial use), so the probe side now aligns on dlib's 5-point model
  instead; the ResNet vectors of the two alignments are close (both are face_recognition's
  supported modes) and the legacy rule stays the one calibrated for them.

A probe is never compared across encoders: distances between vectors of different models mean
nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from gridgate.domain.model import CURRENT_ENCODER_ID, LEGACY_ENCODER_ID
from gridgate.faces.models import SFACE, model_path

ENCODING_DIM = 128
__all__ = ["CURRENT_ENCODER_ID", "LEGACY_ENCODER_ID", "ENCODERS", "encoder"]

#: SFace's alignment template (the ArcFace 112x112 five points: eye, eye, nose tip, mouth corners),
#: as in OpenCV's FaceRecognizerSF::alignCrop.
_SFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
)
_SFACE_SIZE = 112


@dataclass(frozen=True)
class Landmarks5:
    """The chosen face's landmarks, in image pixels, as each encoder needs them.

    - `yunet_face`: YuNet's detection row of this face (x, y, w, h, right eye, left eye, nose tip,
      right and left mouth corner, score; 15 floats): what ``FaceRecognizerSF.alignCrop`` reads.
    - `points` / `dlib_shape`: dlib's 5-point shape (eye centres, nose base) for the legacy encoder.
    """

    points: np.ndarray  # (3, 2) float64: image-left eye, image-right eye, nose base (dlib)
    dlib_shape: object | None = None  # dlib.full_object_detection, reused by the legacy encoder
    yunet_face: np.ndarray | None = None  # (15,) float32, YuNet's row for this face


def landmarks_from_dlib(shape) -> Landmarks5:
    """dlib's 5 points (two corners per eye, nose base) -> eye centres and nose, left eye first."""
    parts = np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], dtype=np.float64)
    eyes = sorted([parts[0:2].mean(axis=0), parts[2:4].mean(axis=0)], key=lambda p: p[0])
    return Landmarks5(np.vstack([eyes[0], eyes[1], parts[4]]), dlib_shape=shape)


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 least-squares similarity (rotation, uniform scale, shift) mapping source onto target
    (Umeyama 1991): a face is never sheared or stretched to fit the template."""
    src_mean, dst_mean = source.mean(axis=0), target.mean(axis=0)
    src, dst = source - src_mean, target - dst_mean
    covariance = dst.T @ src / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rotation = u @ sign @ vt
    scale = np.trace(np.diag(singular) @ sign) / src.var(axis=0).sum()
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


class FaceEncoder(Protocol):
    """What the pipeline needs of an encoder: its stored id and one aligned face -> a vector."""

    encoder_id: str

    def encode(self, rgb: np.ndarray, landmarks: Landmarks5) -> np.ndarray: ...


class SFaceEncoder:
    """SFace on an aligned crop. One cv2 model per thread (OpenCV DNN nets are not re-entrant)."""

    encoder_id = CURRENT_ENCODER_ID

    def __init__(self) -> None:
        self._local = threading.local()

    def _net(self):
        net = getattr(self._local, "net", None)
        if net is None:
            net = cv2.FaceRecognizerSF.create(str(model_path(SFACE)), "")
            self._local.net = net
        return net

    def aligned_crop(self, rgb: np.ndarray, landmarks: Landmarks5) -> np.ndarray:
        """The 112x112 BGR crop SFace expects: OpenCV's alignCrop on YuNet's five points."""
        if landmarks.yunet_face is None:
            raise ValueError("SFace needs YuNet's five points of the face (pipeline.face_landmarks)")
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        return self._net().alignCrop(bgr, np.asarray(landmarks.yunet_face, dtype=np.float32).reshape(1, -1))

    def encode(self, rgb: np.ndarray, landmarks: Landmarks5) -> np.ndarray:
        feature = np.asarray(self._net().feature(self.aligned_crop(rgb, landmarks)), dtype=np.float32).reshape(-1)
        return feature / max(float(np.linalg.norm(feature)), 1e-12)


class DlibLegacyEncoder:
    """dlib's ResNet through face_recognition, on the 5-point shape (one jitter, as before)."""

    encoder_id = LEGACY_ENCODER_ID

    def encode(self, rgb: np.ndarray, landmarks: Landmarks5) -> np.ndarray:
        from face_recognition import api

        return np.asarray(api.face_encoder.compute_face_descriptor(rgb, landmarks.dlib_shape, 1), dtype=np.float32)


SFACE_ENCODER = SFaceEncoder()
DLIB_LEGACY = DlibLegacyEncoder()
ENCODERS: dict[str, FaceEncoder] = {SFACE_ENCODER.encoder_id: SFACE_ENCODER, DLIB_LEGACY.encoder_id: DLIB_LEGACY}
KNOWN_ENCODERS = frozenset(ENCODERS)

Encode = Callable[[np.ndarray, Landmarks5], np.ndarray]


def encoder(encoder_id: str) -> FaceEncoder:
    """The encoder for a stored id (KeyError for an id this code cannot reproduce)."""
    return ENCODERS[encoder_id]

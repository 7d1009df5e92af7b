"""Gate-camera-like 640x480 frames made from the real face photos, for latency benchmarks.

A gate camera sees one person at arm's length: a 640x480 frame with a face some 150-300 px wide.
The test photos are 150x150 LFW crops and phone/press photos up to 1024 px; each is scaled to fit
640x480 (aspect kept, letterboxed on grey) and JPEG-encoded as a camera would send it. Faces then
span roughly 150-350 px, i.e. what `gridgate.faces.pipeline` sees at a gate.

`model_detect_encode` is the reference a latency benchmark divides by: the models alone on the very
same bytes: decode, dlib HOG at the frame's own size (the gate's first and, for a gate-sized face,
only pass; twice the size only when nothing is found, as the gate does), then for every face found
YuNet's five points on a padded crop around it (what the gate runs to align), OpenCV's alignCrop
and the SFace feature. (The gate also places dlib's 5 points for the legacy encoder; the
reference does not, so the gate's ratio carries that cost too.) `bare_detect_encode` is face_recognition used
the plain way (its default upsample 1 and dlib encoder), kept for comparison with earlier runs.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

FRAME_SIZE = (640, 480)
_LETTERBOX_GREY = (118, 118, 118)


@dataclass(frozen=True)
class GateFrame:
    identity: str  # the testdata folder name (one real person)
    source: str  # path relative to the testdata root
    jpeg: bytes


def face_photos(testdata: Path) -> list[Path]:
    """Every face photo in testdata/faces/<identity>/, sorted (stable order across runs)."""
    return sorted(p for p in (testdata / "faces").glob("*/*") if p.is_file())


def to_gate_frame(photo: bytes, size: tuple[int, int] = FRAME_SIZE, quality: int = 90) -> bytes:
    """One photo as a `size` JPEG frame: upright (EXIF applied), scaled to fit, letterboxed."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(photo))).convert("RGB")
    scale = min(size[0] / image.width, size[1] / image.height)
    scaled = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    frame = Image.new("RGB", size, _LETTERBOX_GREY)
    frame.paste(scaled, ((size[0] - scaled.width) // 2, (size[1] - scaled.height) // 2))
    out = io.BytesIO()
    frame.save(out, "JPEG", quality=quality)
    return out.getvalue()


def gate_frames(testdata: Path, count: int | None = None, *, seed: int = 0) -> list[GateFrame]:
    """`count` frames (all photos if None; photos repeat when `count` exceeds them), seeded order."""
    photos = face_photos(testdata)
    order = np.random.default_rng(seed).permutation(len(photos))
    if count is not None:
        order = np.resize(order, count)
    cache: dict[int, bytes] = {}
    frames = []
    for index in order:
        photo = photos[int(index)]
        if int(index) not in cache:
            cache[int(index)] = to_gate_frame(photo.read_bytes())
        frames.append(GateFrame(photo.parent.name, str(photo.relative_to(testdata)), cache[int(index)]))
    return frames


def bare_detect_encode(jpeg: bytes, *, upsample: int = 1) -> list[np.ndarray]:
    """face_recognition with nothing around it: decode, detect (HOG, its default upsample 1), encode all."""
    import face_recognition

    pixels = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))
    locations = face_recognition.face_locations(pixels, number_of_times_to_upsample=upsample)
    return face_recognition.face_encodings(pixels, locations)


def model_detect_encode(jpeg: bytes, *, detector: str = "hog") -> list[np.ndarray]:
    """The face models alone on `jpeg`: decode, detect, YuNet's 5 points, alignCrop + SFace on every face.

    HOG runs at the frame's own size and is run again upsampled exactly where the gate's detector
    runs it again: nothing found, or the largest face too small for HOG at size to rule out a
    competing smaller face (`FacePolicy.dominance_ratio`, `HOG_WINDOW_PX`). The reference thus does
    the gate's detection work and no more, so gate / reference is the cost of everything else.
    """
    import cv2
    from face_recognition import api

    from gridgate.faces.encoders import SFACE_ENCODER, Landmarks5
    from gridgate.faces.pipeline import DEFAULT_POLICY, HOG_WINDOW_PX, _clip_box, _yunet, yunet_points

    bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("not an image OpenCV can decode")
    rgb = bgr[:, :, ::-1]
    if detector == "yunet":
        boxes = _yunet(rgb)
    else:
        rects = list(api.face_detector(rgb, 0))
        largest = max((r.width() for r in rects), default=0)
        if DEFAULT_POLICY.dominance_ratio * largest < HOG_WINDOW_PX:
            rects = list(api.face_detector(rgb, 1))
        boxes = [_clip_box(r.top(), r.right(), r.bottom(), r.left(), rgb.shape, 0.0) for r in rects]
    out = []
    for box in boxes:
        row = yunet_points(rgb, box)
        if row is not None:
            out.append(SFACE_ENCODER.encode(rgb, Landmarks5(np.zeros((3, 2)), yunet_face=np.asarray(row, np.float32))))
    return out

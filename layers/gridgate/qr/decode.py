"""Read the one QR code a visitor or resident holds up to the gate camera.

A gate camera sees phone screens and paper passes at an angle, small, blurred, on a T-shirt.
zxing-cpp reads most of them on its first try; the rest need the image presented differently.
So decoding is a short *ladder* of attempts, cheapest first, stopping at the first one that reads
a code. Each rung exists because it recovered real photos in ``../shared/testdata/qr_photos``
that the rungs above it missed (``bench/bench_qr_decode.py`` reports which rung read which photo):

1. zxing-cpp as it comes (its own rotation, downscale and inversion tries are on);
2. zxing-cpp with the global-histogram binariser (uneven blur defeats the local-average one);
3. zxing-cpp on a half-size copy (codes so large that their modules look like noise);
4. zxing-cpp on a double-size copy (codes so small that modules are 2-3 pixels);
5. OpenCV's ``QRCodeDetector`` (different finder-pattern search; the fallback the issue asks for);
6. zxing-cpp on the code's label flattened along its own bent outline
   (`gridgate.qr.label_flattening`: codes printed on creased fabric or curved stickers).

Not on the ladder, on purpose: CLAHE, Otsu/adaptive thresholds, unsharp masking, perspective
re-sampling of the code's quad, OpenCV's curved-code decoder, zbar, OpenCV's WeChat decoder
(without its CNN models, which cannot be shipped here) and a sweep of scales 0.6-3.0 x rotations
+-8 degrees recovered none of the creased-fabric photos; one of them decodes only at one scale,
one angle *and* a 3-pixel shift, which is luck tuned to the test set, not a method. Flattening
the label (rung 6) is a method: it undoes the bend the label's edges show.

A frame with *two different* codes is refused (``ambiguous_qr``): the gate cannot know which one
the person meant to show, and guessing could open the gate for the wrong pass. Line endings are
normalised to ``\\n`` (zxing returns a code's ``\\r\\n`` as stored; signed payloads never contain one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp

from gridgate.faces.images import MIN_SHORT_SIDE, decode_image
from gridgate.qr.label_flattening import flatten_label
from gridgate.qr.read_failures import QrNotRead

_Attempt = Callable[[np.ndarray], list[str]]


@dataclass(frozen=True)
class DecodedQr:
    text: str
    attempt: str  # which rung of the ladder read it (for the benchmark and the logs)


def read_with_zxing(grey: np.ndarray, binarizer: zxingcpp.Binarizer = zxingcpp.Binarizer.LocalAverage) -> list[str]:
    found = zxingcpp.read_barcodes(
        grey, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode), binarizer=binarizer
    )
    return [code.text for code in found if code.valid]


def _resized(grey: np.ndarray, factor: float) -> np.ndarray:
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    return cv2.resize(grey, None, fx=factor, fy=factor, interpolation=interpolation)


def read_with_opencv(grey: np.ndarray) -> list[str]:
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(grey)
    return [text] if text else []


def read_flattened_label(grey: np.ndarray) -> list[str]:
    flat = flatten_label(grey)
    return [] if flat is None else read_with_zxing(flat)


LADDER: tuple[tuple[str, _Attempt], ...] = (
    ("zxing", read_with_zxing),
    ("zxing_global_histogram", lambda g: read_with_zxing(g, zxingcpp.Binarizer.GlobalHistogram)),
    ("zxing_half_size", lambda g: read_with_zxing(_resized(g, 0.5))),
    ("zxing_double_size", lambda g: read_with_zxing(_resized(g, 2.0))),
    ("opencv", read_with_opencv),
    ("zxing_flattened_label", read_flattened_label),
)

#: Doubling a frame larger than VGA costs more than it can rescue: its codes are not 2-3 px/module.
_MAX_PIXELS_FOR_UPSCALING = 640 * 480


def to_grey(image: np.ndarray) -> np.ndarray:
    """An RGB (as `gridgate.faces.images.decode_image` returns) or grey array as 8-bit grey."""
    if image.ndim == 2:
        return np.ascontiguousarray(image, dtype=np.uint8)
    return cv2.cvtColor(np.ascontiguousarray(image, dtype=np.uint8), cv2.COLOR_RGB2GRAY)


def decode_qr(image: np.ndarray) -> DecodedQr:
    """The text of the single QR code in `image`; raises `QrNotRead` (``no_qr`` / ``ambiguous_qr``)."""
    grey = to_grey(image)
    if min(grey.shape[:2]) < MIN_SHORT_SIDE:  # arrays may come from elsewhere than `decode_image`
        raise QrNotRead("no_qr")
    for name, attempt in LADDER:
        if name == "zxing_double_size" and grey.size > _MAX_PIXELS_FOR_UPSCALING:
            continue
        texts = list(dict.fromkeys(text.replace("\r\n", "\n") for text in attempt(grey)))
        if len(texts) > 1:
            raise QrNotRead("ambiguous_qr", count=len(texts))
        if texts:
            return DecodedQr(text=texts[0], attempt=name)
    raise QrNotRead("no_qr")


def read_qr_bytes(data: bytes, *, max_bytes: int | None = None) -> str:
    """Uploaded image bytes -> the text of the one QR code in them.

    Raises `gridgate.faces.rejections.ImageRejected` (not an image, truncated, too large) or `QrNotRead`.
    """
    pixels = decode_image(data) if max_bytes is None else decode_image(data, max_bytes=max_bytes)
    return decode_qr(pixels).text

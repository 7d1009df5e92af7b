"""Turn uploaded bytes into one RGB pixel array the face detector can trust.

Gate cameras and phones send what they send: JPEGs whose pixels are stored sideways with an EXIF
orientation tag (face_recognition's own loader ignores the tag, and a face lying on its side is
not found), PNGs with an alpha channel, greyscale or palette images, 16-bit scans, 50-megapixel
selfies, and sometimes half an upload or bytes that are no image at all. This module is the one
place that copes with all of that, so the detector always sees an upright 8-bit RGB image of
bounded size, and everything else becomes an `ImageRejected` with a stable code.

Limits (and why):
- `DEFAULT_MAX_BYTES` = 4 MiB: a Lambda behind API Gateway takes at most 6 MB of request
  payload, and a binary body arrives base64-encoded (4/3 larger).
- `MAX_SOURCE_PIXELS` = 40 megapixels, checked from the header before any pixel is decoded:
  a decompression bomb (a small PNG that inflates to gigabytes) is refused without inflating it.
- `MIN_SHORT_SIDE` = 16 px, checked from the header and again after downscaling (a 40000x30 strip
  becomes 1280x1): below that no QR code (21x21 modules) and no face can be seen, while
  1-pixel-high images made OpenCV's resizes in the QR ladder raise (a 500 at the gate).
- `MAX_LONG_SIDE` = 1280 px: larger images are downscaled (JPEGs already while decoding, via
  libjpeg's DCT scaling). A face that fills a phone selfie still spans several hundred pixels at
  this size, far above what the encoder needs (it resamples every face to 150x150), and HOG
  detection time grows with the pixel count.
"""

from __future__ import annotations

import io
import threading
import warnings
import zlib

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from gridgate.faces.rejections import ImageRejected

DEFAULT_MAX_BYTES = 4 * 1024 * 1024
MAX_SOURCE_PIXELS = 40_000_000
MAX_LONG_SIDE = 1280
MIN_SHORT_SIDE = 16
#: Formats a gate device or the app may send. MPO is how Pillow names many phone-camera JPEGs.
ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG"})
#: Transparent pixels are shown on white, as any image viewer would; their stored colour is arbitrary.
_BACKGROUND = (255, 255, 255, 255)
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})
#: What Pillow raises on corrupt or cut-off pixel data, depending on the codec.
_CORRUPT_DATA_ERRORS = (OSError, SyntaxError, ValueError, EOFError, zlib.error)
_STRICT_LOADING = threading.Lock()


def decode_image(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_long_side: int = MAX_LONG_SIDE,
) -> np.ndarray:
    """Decode `data` to an upright ``(height, width, 3)`` uint8 RGB array, long side <= `max_long_side`.

    Raises `ImageRejected` with code ``empty_body``, ``image_too_large``, ``image_too_small``,
    ``not_an_image``, ``unsupported_format`` or ``truncated_image``.
    """
    if not data:
        raise ImageRejected("empty_body")
    if len(data) > max_bytes:
        raise ImageRejected("image_too_large", reason="bytes", size=len(data), limit=max_bytes)
    image = _open(data)
    _reduce_while_decoding(image, max_long_side)
    _load_strictly(image)
    rgb = _downscale(_to_rgb(_upright(image)), max_long_side)
    _refuse_if_too_small(*rgb.size)
    return np.ascontiguousarray(np.asarray(rgb), dtype=np.uint8)


def _refuse_if_too_small(width: int, height: int) -> None:
    if min(width, height) < MIN_SHORT_SIDE:
        raise ImageRejected("image_too_small", width=width, height=height, min_side=MIN_SHORT_SIDE)


def _open(data: bytes) -> Image.Image:
    """Read only the header: format and size are known before any pixel is inflated."""
    try:
        with warnings.catch_warnings():
            # Pillow warns above ~89 MP; the explicit, lower limit below refuses those images anyway.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as err:
        raise ImageRejected("not_an_image") from err
    except Image.DecompressionBombError as err:
        raise ImageRejected("image_too_large", reason="pixels", megapixels=MAX_SOURCE_PIXELS // 1_000_000) from err
    except _CORRUPT_DATA_ERRORS as err:
        raise ImageRejected("truncated_image") from err
    if image.format not in ACCEPTED_FORMATS:
        raise ImageRejected("unsupported_format", format=str(image.format))
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageRejected("not_an_image")
    _refuse_if_too_small(width, height)
    if width * height > MAX_SOURCE_PIXELS:
        raise ImageRejected("image_too_large", reason="pixels", megapixels=MAX_SOURCE_PIXELS // 1_000_000)
    return image


def _load_strictly(image: Image.Image) -> None:
    """Decode the pixels, refusing cut-off data whatever Pillow's process-wide setting says.

    face_recognition sets ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES = True`` when it is imported,
    after which Pillow fills a half-uploaded image with grey instead of failing. A gate must not
    judge a face from half a frame, so the flag is held False for this one load.
    """
    with _STRICT_LOADING:
        tolerant = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            image.load()
        except Image.DecompressionBombError as err:
            raise ImageRejected("image_too_large", reason="pixels", megapixels=MAX_SOURCE_PIXELS // 1_000_000) from err
        except _CORRUPT_DATA_ERRORS as err:
            raise ImageRejected("truncated_image") from err
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = tolerant


def _reduce_while_decoding(image: Image.Image, max_long_side: int) -> None:
    """Let libjpeg decode a big JPEG at 1/2, 1/4 or 1/8 scale (never below the target size)."""
    width, height = image.size
    long_side = max(width, height)
    if image.format in {"JPEG", "MPO"} and long_side > max_long_side:
        scale = max_long_side / long_side
        image.draft("RGB", (max(1, round(width * scale)), max(1, round(height * scale))))


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag, so pixels are stored the way the camera saw the scene.

    A malformed EXIF block is not a reason to refuse the image: the pixels are then taken as
    stored (a sideways face is simply not found, which denies; it never opens).
    """
    try:
        return ImageOps.exif_transpose(image)
    except _CORRUPT_DATA_ERRORS + (KeyError, TypeError):
        return image


def _downscale(image: Image.Image, max_long_side: int) -> Image.Image:
    width, height = image.size
    long_side = max(width, height)
    if long_side <= max_long_side:
        return image
    scale = max_long_side / long_side
    return image.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.LANCZOS)


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or "transparency" in image.info


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any PNG/JPEG pixel mode to 8-bit RGB: alpha over white, 16-bit scaled (not clipped) to 8 bits."""
    if image.mode in _SIXTEEN_BIT_MODES:
        # Pillow's own I;16 -> L conversion clips everything above 255 to white; scale instead.
        grey = np.asarray(image, dtype=np.float32)
        return Image.fromarray(np.clip(np.rint(grey / 257.0), 0, 255).astype(np.uint8), "L").convert("RGB")
    if _has_alpha(image):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _BACKGROUND)
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")

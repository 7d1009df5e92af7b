"""Flatten a QR code printed on a curved or creased label, using the label's own outline.

A code on a T-shirt patch, a sticker on a bottle or a pass folded in a pocket is not a plane:
zxing and OpenCV sample the module grid through a perspective (at most one alignment pattern
corrects it), and a bent code defeats that however it is scaled, sharpened or thresholded.
Such codes are usually printed on a light label whose edges bend with the surface, so the edges
show the bend. This module finds the label (the largest bright region, its outline traced
around the dark modules inside it), splits the outline at its four corners into four curves,
and resamples the image on the Coons patch those curves bound: the bilinearly blended surface
whose edges are exactly the four curves. Straight label edges give a plain perspective-like
mapping; bent ones straighten the code with them.

It cannot help a code printed straight onto a dark or patterned surface (no label outline) or a
label bent inside its outline without its edges showing it. In ``../shared/testdata/qr_photos``
it recovers two of the four creased-fabric photos no other rung reads (``bench/bench_qr_decode.py``).
"""

from __future__ import annotations

import cv2
import numpy as np

#: The label covers this share of the frame: a smaller bright blob is a reflection, not a pass; a
#: larger one is the background (nothing bent shows in the frame's own edges).
_MIN_LABEL_SHARE, _MAX_LABEL_SHARE = 0.05, 0.9
#: Flattened label size (pixels a side), from its measured edge length, within these bounds.
_MIN_SIDE, _MAX_SIDE = 200, 800
#: White border added around the flattened label (decoders want a quiet zone).
_BORDER = 40


def flatten_label(grey: np.ndarray) -> np.ndarray | None:
    """The largest bright label in `grey`, resampled flat onto a square; None if there is none."""
    outline = _label_outline(grey)
    if outline is None:
        return None
    corners = _corner_positions(outline)
    top, right, bottom, left = (
        _arc(outline, corners[i], corners[(i + 1) % 4]) for i in range(4)
    )  # clockwise: top and right run forwards, bottom and left backwards
    side = int(np.clip(max(_length(curve) for curve in (top, right, bottom, left)), _MIN_SIDE, _MAX_SIDE))
    map_x, map_y = _coons_patch(top, right, bottom[::-1], left[::-1], side)
    flat = cv2.remap(grey, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return cv2.copyMakeBorder(flat, _BORDER, _BORDER, _BORDER, _BORDER, cv2.BORDER_CONSTANT, value=255)


def _label_outline(grey: np.ndarray) -> np.ndarray | None:
    """The outer contour of the largest bright region, clockwise on screen, as (N, 2) float32."""
    blurred = cv2.GaussianBlur(grey, (5, 5), 0)
    _, bright = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # close the gaps dark modules cut into the label's edge; holes inside do not matter (outer contour)
    kernel = max(3, min(grey.shape[:2]) // 15) | 1
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((kernel, kernel), np.uint8))
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    largest = max(contours, key=cv2.contourArea)
    share = cv2.contourArea(largest) / (grey.shape[0] * grey.shape[1])
    if not _MIN_LABEL_SHARE <= share <= _MAX_LABEL_SHARE or len(largest) < 8:
        return None
    outline = largest[:, 0, :].astype(np.float32)
    # shoelace sum > 0 in image coordinates (y down) means clockwise on screen; keep the code's
    # handedness (a mirrored code does not decode)
    x, y = outline[:, 0], outline[:, 1]
    if float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) < 0:
        outline = outline[::-1].copy()
    return outline


def _corner_positions(outline: np.ndarray) -> list[int]:
    """Indices of the outline points nearest the corners of its minimum-area rectangle, in outline order.

    The rectangle follows the label at any rotation; a rounded or dog-eared corner still has one
    point nearest the rectangle's corner.
    """
    box = cv2.boxPoints(cv2.minAreaRect(outline))
    nearest = [int(np.argmin(np.linalg.norm(outline - corner, axis=1))) for corner in box]
    return sorted(nearest)


def _arc(outline: np.ndarray, start: int, end: int) -> np.ndarray:
    """The outline from index `start` to `end` (inclusive), wrapping around its end."""
    if start <= end:
        return outline[start : end + 1]
    return np.vstack([outline[start:], outline[: end + 1]])


def _length(curve: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(curve, axis=0), axis=1).sum())


def _resampled(curve: np.ndarray, points: int) -> np.ndarray:
    """`points` points evenly spaced by arc length along `curve`."""
    along = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(curve, axis=0), axis=1))]
    at = np.linspace(0.0, along[-1], points)
    return np.stack([np.interp(at, along, curve[:, 0]), np.interp(at, along, curve[:, 1])], axis=1)


def _coons_patch(
    top: np.ndarray, right: np.ndarray, bottom: np.ndarray, left: np.ndarray, side: int
) -> tuple[np.ndarray, np.ndarray]:
    """remap() maps for a `side` x `side` square whose edges are the four curves.

    `top` and `bottom` run left to right, `left` and `right` top to bottom; the patch is the sum
    of the two ruled surfaces between opposite edges minus the bilinear surface of the corners.
    """
    t, b, l, r = (  # noqa: E741 (the Coons-patch letters: top, bottom, left, right)
        _resampled(curve, side) for curve in (top, bottom, left, right)
    )
    u = np.linspace(0.0, 1.0, side)[None, :, None]
    v = np.linspace(0.0, 1.0, side)[:, None, None]
    ruled = (1 - v) * t[None] + v * b[None] + (1 - u) * l[:, None] + u * r[:, None]
    corners = (1 - u) * (1 - v) * t[0] + u * (1 - v) * t[-1] + (1 - u) * v * b[0] + u * v * b[-1]
    patch = (ruled - corners).astype(np.float32)
    return patch[..., 0], patch[..., 1]

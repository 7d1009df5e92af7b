"""Why a face image was refused, as a machine-readable code plus a message for people.

Every refusal of the face path (undecodable bytes, no usable face, an ambiguous scene) is one of
these, so an endpoint maps them all to one 4xx/deny shape without knowing which stage refused.
"""

from __future__ import annotations

from gridgate.refusals import CodedError


class FaceInputRejected(CodedError):
    """Base of every face-path refusal: `code` is stable (clients branch on it), `detail` holds
    the measurements behind it; the words are the catalogue's ``error.<code>``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.detail!r})"


class ImageRejected(FaceInputRejected):
    """The bytes are not a usable image (empty, too large, not an image, truncated)."""


class FaceRejected(FaceInputRejected):
    """The image decoded, but holds no single usable face (none, too small, blurred, ambiguous)."""


class NoFace(FaceRejected):
    def __init__(self) -> None:
        super().__init__("no_face")

"""Why no QR code was read (kept apart from the decoder, which needs OpenCV and zxing-cpp)."""

from __future__ import annotations

from gridgate.refusals import CodedError


class QrNotRead(CodedError):
    """No QR code could be read (``no_qr``), or the frame holds several (``ambiguous_qr``)."""

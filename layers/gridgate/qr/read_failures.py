"""Why no QR code was read (kept apart from the decoder, which needs OpenCV and zxing-cpp)."""

from __future__ import annotations


class QrNotRead(Exception):
    """No QR code could be read (``no_qr``), or the frame holds several (``ambiguous_qr``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

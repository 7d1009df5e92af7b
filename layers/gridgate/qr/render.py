"""Drawing QR codes (the app's visitor passes and resident codes) as PNG images with `qrcode`.

Error correction M (15 % of the code may be lost) is the usual choice for codes shown on a phone
screen: screens do not crease or stain, and a lower level keeps the code at a version a gate
camera resolves from arm's length. 8-pixel modules with the standard 4-module quiet zone give a
~450-pixel image for a version-8 pass, sharp on any phone.
"""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M

_BOX_PIXELS = 8
_QUIET_ZONE_MODULES = 4


def _code(text: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=_BOX_PIXELS, border=_QUIET_ZONE_MODULES)
    code.add_data(text)  # qrcode picks the densest mode per segment (alphanumeric for passes)
    code.make(fit=True)
    return code


def qr_version(text: str) -> int:
    """The QR version (1-40) `text` needs at level M: 21 + 4 (version - 1) modules a side."""
    return _code(text).version


def qr_png(text: str) -> bytes:
    buffer = io.BytesIO()
    _code(text).make_image().save(buffer)
    return buffer.getvalue()

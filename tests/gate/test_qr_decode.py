"""Reading QR codes from gate-camera images (`gridgate.qr.decode`)."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
import qrcode
from PIL import Image

from gridgate.faces.images import decode_image
from gridgate.qr.decode import LADDER, decode_qr, read_with_zxing, to_grey
from gridgate.qr.label_flattening import flatten_label
from gridgate.qr.read_failures import QrNotRead


def _code(text: str, box: int = 4) -> Image.Image:
    return qrcode.make(text, box_size=box, border=4).get_image().convert("L")


def test_a_phone_screen_code_tilted_and_scaled_is_read():
    scene = Image.new("L", (640, 480), 90)
    code = _code("GGP1:ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", box=5).rotate(17, expand=True, fillcolor=90)
    scene.paste(code, (150, 60))
    assert decode_qr(np.asarray(scene)).text == "GGP1:ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def test_two_different_codes_in_one_frame_are_refused():
    scene = Image.new("L", (640, 320), 255)
    scene.paste(_code("first"), (20, 20))
    scene.paste(_code("second"), (340, 20))
    with pytest.raises(QrNotRead) as refused:
        decode_qr(np.asarray(scene))
    assert refused.value.code == "ambiguous_qr"


def test_a_frame_without_a_code_is_no_qr(testdata):
    for photo in sorted((testdata / "no_face").iterdir()):
        with pytest.raises(QrNotRead) as refused:
            decode_qr(decode_image(photo.read_bytes()))
        assert refused.value.code == "no_qr"


def test_rgb_and_grey_inputs_read_the_same(testdata):
    photo = testdata / "qr_photos" / "jsqr_angel-hotel.png"
    rgb = decode_image(photo.read_bytes())
    assert decode_qr(rgb).text == decode_qr(to_grey(rgb)).text


@pytest.mark.testdata
def test_the_ladder_reads_every_photo_zxing_reads_and_more(testdata):
    """The fallbacks only add: no photo zxing alone reads is lost, and some it misses are read."""
    extra = 0
    for photo in sorted((testdata / "qr_photos").glob("*.png")):
        expected = photo.with_suffix(".txt").read_text(encoding="utf-8").replace("\r\n", "\n")
        grey = to_grey(decode_image(photo.read_bytes()))
        plain = expected in [t.replace("\r\n", "\n") for t in read_with_zxing(grey)]
        try:
            laddered = decode_qr(grey).text == expected
        except QrNotRead:
            laddered = False
        assert laddered or not plain, photo.name
        extra += laddered and not plain
    assert extra >= 1


def test_a_pass_printed_in_grey_on_a_png_with_alpha_is_read():
    code = _code("GGR1:P-1:ABCDEFGHIJKLMNOP").convert("RGBA")
    out = io.BytesIO()
    code.save(out, "PNG")
    assert decode_qr(decode_image(out.getvalue())).text == "GGR1:P-1:ABCDEFGHIJKLMNOP"


def _bent_label(text: str, amplitude: float, waves: float) -> np.ndarray:
    """A code on a white label on a dark shirt, every row bent by the same sine (a creased patch)."""
    label = np.asarray(_code(text, box=6))
    height, width = label.shape
    ys, xs = np.mgrid[0 : height + 160, 0 : width + 160].astype(np.float32)
    src_x = xs - 80
    src_y = ys - 80 - amplitude * np.sin(np.pi * waves * src_x / width)
    return cv2.remap(label, src_x, src_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=40)


@pytest.mark.parametrize("amplitude,waves", [(12, 1.0), (12, 2.0), (20, 1.0)])
def test_a_code_on_a_bent_label_is_read_by_flattening_the_label(amplitude, waves):
    text = "GGP1:ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    frame = _bent_label(text, amplitude, waves)
    other_rungs = [name for name, attempt in LADDER if name != "zxing_flattened_label" and attempt(frame)]
    assert other_rungs == [], "the bend must defeat every plain rung, or this test shows nothing"
    decoded = decode_qr(frame)
    assert (decoded.text, decoded.attempt) == (text, "zxing_flattened_label")


def test_a_frame_without_a_bright_label_has_nothing_to_flatten():
    assert flatten_label(np.full((240, 320), 30, dtype=np.uint8)) is None
    speck = np.full((240, 320), 30, dtype=np.uint8)
    speck[100:110, 100:110] = 255  # a reflection, not a label
    assert flatten_label(speck) is None


@pytest.mark.testdata
@pytest.mark.parametrize("name", ["zxing_qrcode-4_05.png", "zxing_qrcode-4_13.png"])
def test_codes_on_creased_fabric_are_read_once_flattened(testdata, name):
    """Two real photos of codes on T-shirt patches no plain rung reads."""
    photo = testdata / "qr_photos" / name
    decoded = decode_qr(decode_image(photo.read_bytes()))
    expected = photo.with_suffix(".txt").read_text(encoding="utf-8").replace("\r\n", "\n")
    assert (decoded.text, decoded.attempt) == (expected, "zxing_flattened_label")

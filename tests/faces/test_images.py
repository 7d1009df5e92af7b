"""decode_image on the inputs gates and phones really send, and on what they must not get past."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from gridgate.faces.images import MAX_LONG_SIDE, decode_image
from gridgate.faces.rejections import ImageRejected

from .helpers import jpeg_bytes, png_bytes


def rejected_code(data: bytes, **kwargs) -> str:
    with pytest.raises(ImageRejected) as caught:
        decode_image(data, **kwargs)
    return caught.value.code


@pytest.mark.parametrize("name", ["sfas_image_F1.jpg", "sfas_image_F2.jpg", "sfas_image_T1.jpg"])
def test_exif_orientation_is_applied(photo, name):
    data = photo(f"adversarial/{name}")
    stored = Image.open(io.BytesIO(data))
    assert stored.size == (640, 480) and stored.getexif().get(0x0112) == 6  # stored sideways
    rgb = decode_image(data)
    assert rgb.shape == (640, 480, 3) and rgb.dtype == np.uint8  # upright: portrait
    # the same pixels rotated back are exactly what is stored
    assert np.array_equal(np.rot90(rgb, k=1), np.asarray(stored.convert("RGB")))


def test_exif_rotation_is_what_makes_the_face_findable(photo):
    import face_recognition

    from gridgate.faces.pipeline import detect_faces

    data = photo("adversarial/sfas_image_T1.jpg")
    as_stored = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert face_recognition.face_locations(as_stored) == []
    assert len(detect_faces(decode_image(data))) == 1


def test_rgba_png_from_testdata(photo):
    rgb = decode_image(photo("adversarial/fr_32bit.png"))
    assert rgb.shape == (1200, 626, 3) and rgb.dtype == np.uint8


def test_transparent_pixels_are_shown_on_white():
    rgba = np.zeros((20, 30, 4), dtype=np.uint8)
    rgba[:, :, 0] = 255  # stored colour: red everywhere
    rgba[:, 15:, 3] = 255  # right half opaque, left half fully transparent
    rgb = decode_image(png_bytes(Image.fromarray(rgba, "RGBA")))
    assert (rgb[:, :15] == 255).all()  # transparent -> white, not the stored red
    assert (rgb[:, 15:] == [255, 0, 0]).all()


def test_greyscale_png_from_testdata(photo):
    rgb = decode_image(photo("no_face/skimage_brick.png"))
    assert rgb.shape == (512, 512, 3)
    assert (rgb[:, :, 0] == rgb[:, :, 1]).all() and (rgb[:, :, 1] == rgb[:, :, 2]).all()


def test_sixteen_bit_greyscale_is_scaled_not_clipped():
    ramp = np.linspace(0, 65535, 256 * 64).reshape(64, 256).astype(np.uint16)
    data = png_bytes(Image.fromarray(ramp))
    assert Image.open(io.BytesIO(data)).mode.startswith("I;16")
    rgb = decode_image(data)
    assert rgb.min() == 0 and rgb.max() == 255
    assert 120 <= rgb[32, 128, 0] <= 135  # mid-grey stays mid-grey (Pillow's own convert gives 255)


def test_palette_with_transparency_and_cmyk():
    palette = Image.new("P", (40, 30), 0)
    palette.putpalette([0, 0, 255] + [0] * 765)
    assert (decode_image(png_bytes(palette, transparency=0)) == 255).all()
    cmyk = Image.new("CMYK", (40, 30), (0, 255, 255, 0))  # red in CMYK
    rgb = decode_image(jpeg_bytes(cmyk))
    assert rgb.shape == (30, 40, 3) and rgb[15, 20, 0] > 200 and rgb[15, 20, 1] < 60


def test_huge_image_is_downscaled_keeping_its_aspect():
    big = Image.new("RGB", (6000, 3000), (30, 120, 200))
    rgb = decode_image(jpeg_bytes(big, quality=80), max_bytes=50 * 1024 * 1024)
    assert rgb.shape == (MAX_LONG_SIDE // 2, MAX_LONG_SIDE, 3)
    assert abs(int(rgb[100, 100, 2]) - 200) <= 3


def test_decompression_bomb_is_refused_before_decoding():
    bomb = png_bytes(Image.new("L", (9000, 9000)))  # ~80 KB that would inflate to 81 megapixels
    assert len(bomb) < 200_000
    assert rejected_code(bomb) == "image_too_large"


def test_body_over_the_byte_limit():
    assert rejected_code(b"\xff\xd8" + b"\0" * 2000, max_bytes=1000) == "image_too_large"


def test_truncated_jpeg_even_after_face_recognition_relaxed_pillow(photo):
    import face_recognition  # noqa: F401  (its import sets PIL's LOAD_TRUNCATED_IMAGES = True)
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES is True
    data = photo("faces/obama/obama.jpg")
    assert rejected_code(data[: len(data) // 2]) == "truncated_image"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # the process-wide setting is left as found


def test_truncated_png():
    data = png_bytes(Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)))
    assert rejected_code(data[: len(data) // 3]) == "truncated_image"


@pytest.mark.parametrize(
    "data, code",
    [
        (b"", "empty_body"),
        (np.random.default_rng(7).bytes(4096), "not_an_image"),
        (b"%PDF-1.4\n" + b"x" * 500, "not_an_image"),
        (b'{"face": "me"}', "not_an_image"),
    ],
)
def test_non_images_are_rejected(data, code):
    assert rejected_code(data) == code


def test_formats_other_than_jpeg_and_png_are_refused():
    out = io.BytesIO()
    Image.new("RGB", (20, 20)).save(out, "GIF")
    assert rejected_code(out.getvalue()) == "unsupported_format"

"""The face pipeline on real photos: which face is judged, what is refused, and why."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from gridgate.faces.pipeline import FaceBox, FacePolicy, choose_face, probe_face
from gridgate.faces.rejections import FaceRejected, NoFace

from .helpers import jpeg_bytes

RESIDENT = "faces/deepface_person01/img5.jpg"  # one face, ~180 px
STRANGER = "faces/Aaron_Peirsol/Aaron_Peirsol_0002.jpg"  # LFW crop, one face ~63 px


def refusal(data: bytes, policy: FacePolicy | None = None) -> str:
    with pytest.raises(FaceRejected) as caught:
        probe_face(data) if policy is None else probe_face(data, policy)
    return caught.value.code


def distance(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a.encoding) - np.asarray(b.encoding)))


def scene(photo, people: list[tuple[str, float, tuple[int, int]]], size=(860, 480)) -> bytes:
    """A camera frame with each (photo, scale, top-left) pasted in: people at different distances."""
    frame = Image.new("RGB", size, (120, 120, 120))
    for relative, scale, at in people:
        person = Image.open(io.BytesIO(photo(relative))).convert("RGB")
        frame.paste(person.resize((round(person.width * scale), round(person.height * scale))), at)
    return jpeg_bytes(frame, quality=92)


# --- the choice rule, on boxes alone ---------------------------------------------------------------


def box(width: int, left: int = 0) -> FaceBox:
    return FaceBox(top=0, right=left + width, bottom=width, left=left)


def test_the_largest_face_is_judged_when_no_other_rivals_it():
    assert choose_face([box(60, 300), box(150, 10), box(100, 500)]).width == 150


def test_a_rival_face_makes_the_frame_ambiguous():
    with pytest.raises(FaceRejected) as caught:
        choose_face([box(150), box(105, 300)])  # 105 >= 0.7 * 150
    assert caught.value.code == "ambiguous_faces"


def test_no_face_and_too_small():
    with pytest.raises(NoFace):
        choose_face([])
    with pytest.raises(FaceRejected) as caught:
        choose_face([box(45)])
    assert caught.value.code == "face_too_small"


# --- real photos ---------------------------------------------------------------------------------------


def test_a_stranger_behind_the_resident_is_not_the_one_judged(photo, probe_of):
    frame = scene(photo, [(RESIDENT, 480 / 512, (0, 0)), (STRANGER, 1.6, (500, 100))])
    judged = probe_face(frame)
    assert judged.faces_found == 2  # both faces were seen ...
    assert distance(judged, probe_of(RESIDENT)) < 0.2  # ... and the nearer one, the resident's, judged
    assert distance(judged, probe_of(STRANGER)) > 0.5


def test_a_stranger_beside_the_resident_makes_the_frame_ambiguous(photo):
    frame = scene(photo, [(RESIDENT, 480 / 512, (0, 0)), (STRANGER, 3.0, (380, 15))])
    assert refusal(frame) == "ambiguous_faces"


@pytest.mark.parametrize(
    "name",
    [
        "fr_two_people.jpg",
        "deepface_couple.jpg",
        "fr_obama_and_biden.jpg",
        "fr_kit_with_rose.jpg",
        "deepface_selfie-many-people.jpg",
        "dlib_bald_guys.jpg",
    ],
)
def test_multi_face_scenes_are_refused(photo, name):
    assert refusal(photo(f"adversarial/{name}")) == "ambiguous_faces"


@pytest.mark.parametrize(
    "name",
    [
        "dlib_dogs.jpg",
        "skimage_brick.png",
        "skimage_chelsea.png",
        "skimage_coffee.png",
        "skimage_grass.png",
        "skimage_rocket.jpg",
    ],
)
def test_photos_without_a_face(photo, name):
    assert refusal(photo(f"no_face/{name}")) == "no_face"


@pytest.mark.parametrize(
    "name", ["zxing_qrcode-1_16_badge_with_printed_face.png", "zxing_qrcode-1_20_badge_with_printed_face.png"]
)
def test_the_printed_face_on_a_badge_is_not_judged(photo, name):
    assert refusal(photo(f"adversarial/{name}")) in {"no_face", "face_too_small"}


@pytest.mark.parametrize("name", ["sfas_image_F1.jpg", "sfas_image_F2.jpg", "sfas_image_T1.jpg"])
def test_a_face_on_a_phone_screen_passes_the_pipeline(probe_of, name):
    """Spoofs are faces to a detector: stopping them is the device's liveness score (gate floor)."""
    judged = probe_of(f"adversarial/{name}")
    assert judged.faces_found == 1 and judged.face_px >= 150
    assert judged.encoding.shape == (128,) and judged.encoding.dtype == np.float32


def test_small_lfw_faces_are_found_by_the_finer_pass(probe_of):
    judged = probe_of(STRANGER)  # 150x150 image: the face is below HOG's 80 px window
    assert 50 <= judged.face_px < 80


def test_the_enrolment_policy_wants_exactly_one_big_face(photo):
    strict = FacePolicy(min_face_px=80, dominance_ratio=0.0)
    frame = scene(photo, [(RESIDENT, 480 / 512, (0, 0)), (STRANGER, 1.6, (500, 100))])
    assert refusal(frame, strict) == "ambiguous_faces"  # fine at the gate, not for a template
    assert refusal(photo(STRANGER), strict) == "face_too_small"


# --- alignment: YuNet's five points, on the face the choice rule picked ----------------------------


def test_sface_is_aligned_on_yunet_points_of_the_chosen_face(photo):
    """The points SFace's alignCrop reads lie on the judged face, never on the stranger behind."""
    from gridgate.faces.images import decode_image
    from gridgate.faces.pipeline import choose_face, detect_faces, face_landmarks

    rgb = decode_image(scene(photo, [(RESIDENT, 480 / 512, (0, 0)), (STRANGER, 1.6, (500, 100))]))
    chosen = choose_face(detect_faces(rgb))
    row = face_landmarks(rgb, chosen).yunet_face
    assert row is not None and row.shape == (15,)
    eyes_nose_mouth = row[4:14].reshape(5, 2)
    assert ((eyes_nose_mouth[:, 0] >= chosen.left) & (eyes_nose_mouth[:, 0] <= chosen.right)).all()
    assert ((eyes_nose_mouth[:, 1] >= chosen.top) & (eyes_nose_mouth[:, 1] <= chosen.bottom)).all()


def test_a_box_yunet_finds_no_face_in_is_refused_not_aligned_otherwise(photo):
    from gridgate.faces.pipeline import face_landmarks

    rgb = np.full((300, 300, 3), 120, dtype=np.uint8)  # a blank wall where a detector saw a "face"
    with pytest.raises(NoFace):
        face_landmarks(rgb, FaceBox(top=100, right=200, bottom=200, left=100))


def test_the_probe_carries_the_current_encoder_id():
    from gridgate.domain.model import CURRENT_ENCODER_ID, RETIRED_ENCODER_IDS

    assert CURRENT_ENCODER_ID == "sface_2021dec_int8bq/yunet5_aligncrop"
    assert CURRENT_ENCODER_ID not in RETIRED_ENCODER_IDS
    assert "sface_2021dec_int8bq/dlib5_align" in RETIRED_ENCODER_IDS

"""The enrolment duplicate-face check judges a selfie against the whole city at the city's size.

A real selfie's SFace encoding is the probe; the other people's templates are built at exact
cosines to it (a known answer for every case), with fillers orthogonal to it (cosine 0) to make
the city as large as a test needs.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from gridgate.domain.model import CURRENT_ENCODER_ID, FaceTemplate, Registry
from gridgate.faces.matcher import SFACE_RULE
from gridgate.residents.face_enrolment import duplicate_search

from .helpers import template_bytes

SELFIE = "faces/deepface_person01/img5.jpg"
CONSENT = datetime(2026, 1, 1, tzinfo=UTC)


def _cosine(distance: float) -> float:
    return 1 - distance**2 / 2


def _at_cosine(probe: np.ndarray, cosine: float, rng) -> np.ndarray:
    """A unit vector at exactly `cosine` to the unit vector `probe`."""
    other = rng.normal(size=probe.shape)
    other -= (other @ probe) * probe
    other /= np.linalg.norm(other)
    return (cosine * probe + math.sqrt(1 - cosine**2) * other).astype(np.float32)


def _city(probe: np.ndarray, lookalike_cosine: float, fillers: int, rng) -> list[FaceTemplate]:
    """One other person at `lookalike_cosine`, plus `fillers` people at cosine 0."""
    templates = [
        FaceTemplate("lookalike", Registry.APP, 0, template_bytes(_at_cosine(probe, lookalike_cosine, rng)), CONSENT)
    ]
    vectors = rng.normal(size=(fillers, probe.size))
    vectors -= np.outer(vectors @ probe, probe)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    templates += [
        FaceTemplate(f"filler{n}", Registry.POPULATION, 0, template_bytes(v), CONSENT) for n, v in enumerate(vectors)
    ]
    return templates


@pytest.fixture(scope="module")
def selfie(probe_of):
    probe = probe_of(SELFIE)
    assert np.linalg.norm(probe.encoding) == pytest.approx(1.0, abs=1e-5)
    return probe


def test_a_face_the_one_template_line_calls_a_duplicate_is_no_duplicate_in_a_big_city(selfie):
    """Between the acceptance line for one template and for 50,001 (a stranger's best over 50,001
    templates is that near with more than the rule's chance): a duplicate against one other
    template, only a look-alike held for review against the city."""
    rng = np.random.default_rng(7)
    big = 50_001
    line_one, line_big = _cosine(SFACE_RULE.threshold(1)), _cosine(SFACE_RULE.threshold(big))
    review_big = _cosine(SFACE_RULE.runner_up_floor(big))
    cosine = (max(line_one, review_big) + line_big) / 2
    assert line_one < cosine < line_big and review_big < cosine

    alone = duplicate_search(selfie, _city(selfie.encoding, cosine, 0, rng))
    assert alone is not None and alone.refused and alone.person_id == "lookalike"
    assert (alone.city_templates, alone.encoder_id) == (1, CURRENT_ENCODER_ID)

    city = duplicate_search(selfie, _city(selfie.encoding, cosine, big - 1, rng))
    assert city is not None and not city.refused and city.person_id == "lookalike"
    assert city.city_templates == big
    assert city.threshold == pytest.approx(SFACE_RULE.threshold(big))
    assert city.threshold < city.distance < city.review_line == pytest.approx(SFACE_RULE.runner_up_floor(big))
    detail = city.as_detail()
    assert detail["matches_person"] == "lookalike" and detail["registry"] == "app" and detail["city_templates"] == big


def test_the_same_face_is_refused_at_any_city_size_and_a_far_face_is_nothing(selfie):
    rng = np.random.default_rng(8)
    big = 50_001
    # a re-upload of the same photo (cosine 0.999): against 50,001 templates the rule needs 0.997
    same = duplicate_search(selfie, _city(selfie.encoding, 0.999, big - 1, rng))
    assert same is not None and same.refused and same.distance < same.threshold
    far_cosine = _cosine(SFACE_RULE.runner_up_floor(big)) - 0.05
    assert duplicate_search(selfie, _city(selfie.encoding, far_cosine, big - 1, rng)) is None
    assert duplicate_search(selfie, []) is None

"""Face enrolment and withdrawal through the real Chalice app, against moto's server."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from gridgate import clock
from gridgate.adapters.audit import AuditLog
from gridgate.adapters.repositories import FaceTemplateRepository, PlaceRepository
from gridgate.domain.model import CURRENT_ENCODER_ID, LEGACY_ENCODER_ID, Registry
from gridgate.faces.matcher import SFACE_RULE
from gridgate.faces.pipeline import probe_face
from gridgate.gate.estate_gallery import EstateGalleryCache
from gridgate.gate.gallery_publisher import GalleryPublisher
from gridgate.residents.face_enrolment import ENROLMENT_POLICY, MAX_APP_TEMPLATES

from .helpers import give_consent, send

SELFIES = ["faces/deepface_person01/img5.jpg", "faces/deepface_person01/img10.jpg"]
GATE_FRAME = "faces/deepface_person01/img11.jpg"


def app_templates(person_id: str):
    return sorted(
        (t for t in FaceTemplateRepository().for_person(person_id) if t.source == Registry.APP),
        key=lambda t: t.template_no,
    )


def enrolment_encoding(photo, relative: str) -> np.ndarray:
    """What enrolment computes (its stricter policy scans finer, so the box can differ slightly)."""
    return probe_face(photo(relative), ENROLMENT_POLICY).encoding


def actions(person_id: str) -> list[str]:
    return [record.action for record in AuditLog().about(f"person#{person_id}")]


@pytest.fixture
def resident(clean_tables, face_city, client):
    estate = face_city.estate()
    person = face_city.owner(estate)
    assert give_consent(client, person, estate)[0] == 200
    return estate, person


def test_no_enrolment_without_a_separate_consent_and_none_after_withdrawal(client, photo, face_city, clean_tables):
    estate = face_city.estate()
    person = face_city.owner(estate)
    status, body = send(client, "POST", "/faces/me", photo(SELFIES[0]), who=person)
    assert (status, body["code"]) == (403, "consent_required")
    assert app_templates(person) == []
    status, consent = give_consent(client, person, estate, given_at="2020-01-01T00:00:00Z")
    assert (status, consent["code"]) == (400, "invalid_field")  # the time is the server's, never sent
    status, consent = give_consent(client, person, estate)
    assert status == 200 and consent["basis"] == "separate_consent" and consent["estates"] == [estate]
    assert send(client, "POST", "/faces/me", photo(SELFIES[0]), who=person)[0] == 200
    # withdrawal is one action: the consent ends and the templates go together
    status, body = send(client, "DELETE", "/faces/me", who=person, content_type="application/json")
    assert status == 200 and body["removed_templates"] == 1 and app_templates(person) == []
    status, body = send(client, "POST", "/faces/me", photo(SELFIES[0]), who=person)
    assert (status, body["code"]) == (403, "consent_required")
    assert {"face.consent.given", "face.consent.withdrawn", "face.withdraw"} <= set(actions(person))


def test_a_consent_names_only_the_callers_estates_and_a_known_matching_mode(client, face_city, clean_tables):
    estate, elsewhere = face_city.estate(), face_city.estate()
    person = face_city.owner(estate)
    status, body = give_consent(client, person, elsewhere)
    assert (status, body["code"]) == (403, "estate_not_yours")
    status, body = give_consent(client, person, estate, matching="everywhere")
    assert status == 400 and body["field"] == "matching"
    status, body = give_consent(client, person, estate, notice_version="")
    assert status == 400 and body["field"] == "notice_version"


def test_a_selfie_becomes_a_template_not_a_stored_photo(client, photo, resident):
    estate, person = resident
    version = PlaceRepository().gallery_version(estate)
    before = clock.now()
    status, body = send(client, "POST", "/faces/me", photo(SELFIES[0]), who=person)
    assert status == 200, body
    assert body["enrolled"]["template_no"] == 0 and body["enrolled"]["face_px"] >= 80
    assert [t["template_no"] for t in body["app_templates"]] == [0]

    (stored,) = app_templates(person)
    assert len(stored.encoding) == 128 * 4  # 128 float32: an encoding, nothing else
    encoding = np.frombuffer(stored.encoding, dtype="<f4")
    assert np.linalg.norm(encoding - enrolment_encoding(photo, SELFIES[0])) < 1e-5
    assert before - timedelta(seconds=1) <= stored.consent_at <= clock.now()
    assert PlaceRepository().gallery_version(estate) == version + 1  # warm gates will reload
    assert "face.enrol" in actions(person)


def test_the_enrolled_face_opens_the_match_at_the_gate_and_withdrawal_closes_it(
    client, photo, probe_of, resident, face_city
):
    estate, person = resident
    face_city.template(person, probe_of(SELFIES[1]).encoding, "population")  # from the registry import
    for selfie in SELFIES:
        assert send(client, "POST", "/faces/me", photo(selfie), who=person)[0] == 200
    GalleryPublisher().publish(estate)  # the estate's object, as its gates find it
    cache = EstateGalleryCache()
    probe = probe_of(GATE_FRAME)
    before = cache.match(estate, probe)
    assert before.accepted and (before.person_id, before.registry) == (person, Registry.APP)

    status, body = send(client, "DELETE", "/faces/me", who=person, content_type="application/json")
    assert status == 200 and body["removed_templates"] == 2
    assert body["app_templates"] == [] and body["population_templates"] == 1
    assert app_templates(person) == []
    after = cache.match(estate, probe)  # the very next decision: the app templates are gone
    assert (cache.loads, cache.deltas) == (1, 1) and cache.gallery(estate).app.people == 0
    assert after.registry in (None, Registry.POPULATION)  # only the registry's own face is left
    assert "face.withdraw" in actions(person)


def test_at_most_three_templates_and_the_oldest_consent_is_replaced(client, photo, resident):
    _, person = resident
    for n in range(MAX_APP_TEMPLATES + 1):
        status, body = send(client, "POST", "/faces/me", photo(SELFIES[n % 2]), who=person)
        assert status == 200, body
    stored = app_templates(person)
    assert [t.template_no for t in stored] == list(range(MAX_APP_TEMPLATES))
    newest = max(stored, key=lambda t: t.consent_at)
    assert newest.template_no == 0 and body["enrolled"]["template_no"] == 0  # slot 0 was the oldest


def test_replace_keeps_only_the_new_selfie(client, photo, resident, face_city, probe_of):
    _, person = resident
    face_city.template(person, probe_of(SELFIES[0]).encoding, "population")
    for selfie in SELFIES:
        send(client, "POST", "/faces/me", photo(selfie), who=person)
    status, body = send(client, "PUT", "/faces/me", photo(SELFIES[1]), who=person)
    assert status == 200 and len(body["app_templates"]) == 1 and body["population_templates"] == 1
    (only,) = app_templates(person)
    assert np.linalg.norm(np.frombuffer(only.encoding, "<f4") - enrolment_encoding(photo, SELFIES[1])) < 1e-5
    assert "face.replace" in actions(person)


def test_status_shows_metadata_only(client, photo, resident):
    _, person = resident
    send(client, "POST", "/faces/me", photo(SELFIES[0]), who=person)
    status, body = send(client, "GET", "/faces/me", who=person, content_type="application/json")
    assert status == 200 and body["max_app_templates"] == MAX_APP_TEMPLATES
    (face,) = body["app_templates"]
    assert set(face) == {"template_no", "consent_at", "face_px", "encoder"}
    assert face["encoder"] == body["current_encoder"] == CURRENT_ENCODER_ID
    assert body["reenrolment_required"] is False


def test_a_selfie_of_another_enrolled_person_is_refused_audited_and_not_stored(client, photo, resident, face_city):
    estate, first = resident
    assert send(client, "POST", "/faces/me", photo(SELFIES[0]), who=first)[0] == 200
    second = face_city.owner(estate)  # another account presents the same person's face
    give_consent(client, second, estate)
    status, body = send(client, "POST", "/faces/me", photo(SELFIES[1]), who=second)
    assert (status, body["code"]) == (409, "duplicate_face")
    assert first not in body["detail"]  # the resident is told why, not who
    assert app_templates(second) == []
    (record,) = [r for r in AuditLog().about(f"person#{second}") if r.action == "face.enrol.duplicate_refused"]
    assert record.detail["matches_person"] == first and record.detail["reason"] == "duplicate_face"
    assert record.detail["distance"] < record.detail["threshold"]
    # a different person's selfie is not a duplicate
    other = face_city.owner(estate)
    give_consent(client, other, estate)
    assert send(client, "POST", "/faces/me", photo("faces/obama/obama.jpg"), who=other)[0] == 200
    assert "face.enrol.lookalike_review" not in actions(other)


def test_a_lookalike_in_the_grey_zone_is_stored_and_held_for_review(client, photo, resident, face_city):
    """Another person's template nearer than the rule's runner-up line at the city's size but not
    within its threshold (a look-alike, not the same face): the selfie is stored, and the pair is
    audited for the data centre's review with the lines it was judged against."""
    estate, person = resident
    selfie = enrolment_encoding(photo, SELFIES[0])
    city = len([t for t in FaceTemplateRepository().everyone() if t.person_id != person]) + 1
    line, review = 1 - SFACE_RULE.threshold(city) ** 2 / 2, 1 - SFACE_RULE.runner_up_floor(city) ** 2 / 2
    cosine = (line + review) / 2
    rng = np.random.default_rng(3)
    other = rng.normal(size=selfie.shape)
    other -= (other @ selfie) * selfie
    other /= np.linalg.norm(other)
    twin = face_city.owner(estate)
    face_city.template(twin, cosine * selfie + np.sqrt(1 - cosine**2) * other, "population")

    status, body = send(client, "POST", "/faces/me", photo(SELFIES[0]), who=person)
    assert status == 200 and len(app_templates(person)) == 1
    (record,) = [r for r in AuditLog().about(f"person#{person}") if r.action == "face.enrol.lookalike_review"]
    assert record.detail["matches_person"] == twin and record.detail["review"] == "pending"
    assert record.detail["threshold"] < record.detail["distance"] < record.detail["review_line"]
    assert record.detail["city_templates"] == city


def test_a_legacy_template_opens_the_gate_until_re_enrolment_replaces_it(client, photo, probe_of, resident, face_city):
    """The migration: a dlib template keeps matching (through the dlib encoding of the probe,
    never the SFace one), the resident is asked to re-enrol, and re-enrolment retires it."""
    estate, person = resident
    legacy = probe_of(SELFIES[0]).encoding_for(LEGACY_ENCODER_ID)
    face_city.template(person, legacy, "app", encoder=LEGACY_ENCODER_ID)
    status, body = send(client, "GET", "/faces/me", who=person, content_type="application/json")
    assert body["reenrolment_required"] is True and body["app_templates"][0]["encoder"] == LEGACY_ENCODER_ID

    GalleryPublisher().publish(estate)
    cache = EstateGalleryCache()
    found = cache.match(estate, probe_of(GATE_FRAME))
    assert found.accepted and found.person_id == person and found.encoder_id == LEGACY_ENCODER_ID
    assert cache.gallery(estate).app.templates == 0  # nothing by the current encoder yet

    status, body = send(client, "POST", "/faces/me", photo(SELFIES[1]), who=person)
    assert status == 200 and body["reenrolment_required"] is False
    assert [t.encoder for t in app_templates(person)] == [CURRENT_ENCODER_ID]
    found = cache.match(estate, probe_of(GATE_FRAME))
    assert found.accepted and found.person_id == person and found.encoder_id == CURRENT_ENCODER_ID


@pytest.mark.parametrize(
    "source, content_type, expected",
    [
        ("adversarial/fr_two_people.jpg", "image/jpeg", (422, "ambiguous_faces")),
        ("faces/Aaron_Peirsol/Aaron_Peirsol_0002.jpg", "image/jpeg", (422, "face_too_small")),
        ("no_face/skimage_coffee.png", "image/png", (422, "no_face")),
        ("truncated", "image/jpeg", (400, "truncated_image")),
        ("random", "application/octet-stream", (400, "not_an_image")),
        ("empty", "image/jpeg", (400, "empty_body")),
        ("oversize", "image/jpeg", (413, "image_too_large")),
    ],
)
def test_unusable_selfies_are_refused_and_nothing_is_stored(client, photo, resident, source, content_type, expected):
    _, person = resident
    synthetic = {
        "truncated": photo(SELFIES[0])[:5000],
        "random": np.random.default_rng(5).bytes(3000),
        "empty": b"",
        "oversize": b"\xff\xd8\xff" + b"\0" * (4 * 1024 * 1024 + 10),
    }
    body = synthetic[source] if source in synthetic else photo(source)
    status, answer = send(client, "POST", "/faces/me", body, who=person, content_type=content_type)
    assert (status, answer["code"]) == expected
    assert answer["detail"]
    assert app_templates(person) == []


def test_only_a_resident_token_may_enrol(client, photo, resident):
    _, person = resident
    status, body = send(client, "POST", "/faces/me", photo(SELFIES[0]))
    assert (status, body["code"]) == (401, "missing_token")
    from gridgate.security.tokens import issue_token

    worker = {"Authorization": f"Bearer {issue_token(person, ['grid_worker'], ['G1'])}", "Content-Type": "image/jpeg"}
    response = client.http.request("POST", "/faces/me", headers=worker, body=photo(SELFIES[0]))
    assert response.status_code == 403
    assert app_templates(person) == []

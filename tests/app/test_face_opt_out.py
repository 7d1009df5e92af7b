"""A resident opts out of face in one app call and still enters by QR (issue 18 point 2).

Through the real app on moto: every template of the person (app and population registry) is
deleted, every consent withdrawn, the opt-out recorded and audited, each gallery that may hold
the person told through the gallery change log; the resident QR still opens the gate; the next
registry import does not bring the population template back (and records a statutory basis for
the people it does import a face for).
"""

from __future__ import annotations

import base64
import json
import uuid

from app_helpers import bearer, call

from gridgate import clock
from gridgate.adapters.audit import AuditLog
from gridgate.adapters.compliance_records import ConsentRepository, FaceOptOutRepository
from gridgate.adapters.repositories import FaceTemplateRepository, PlaceRepository
from gridgate.domain.legal_records import POPULATION_REGISTRY_STATUTE, FaceConsent, LegalBasis, Matching
from gridgate.domain.model import FaceTemplate, Registry
from gridgate.security.device_auth import sign_request


def _templates(person_id: str) -> list[FaceTemplate]:
    return FaceTemplateRepository().for_person(person_id)


def _enrolled(city):
    estate = city.estate()
    person = estate.owners[estate.homes[0]]
    now = clock.now()
    for source in (Registry.APP, Registry.POPULATION):
        FaceTemplateRepository().add(FaceTemplate(person, source, 0, b"\0" * 512, now))
    consent = FaceConsent(person, LegalBasis.SEPARATE_CONSENT, frozenset({estate.estate_id}), Matching.CLOUD, "v1", now)
    ConsentRepository().add(consent)
    return estate, person


def _qr_entry(client, gate_id: str, key: bytes, text: str) -> dict:
    body = json.dumps({"text": text}).encode()
    device = {"X-Device-Event-Id": uuid.uuid4().hex[:16], "X-Captured-At": clock.now().isoformat()}
    headers = {**sign_request(key, gate_id, "POST", "/gate/entry/qr", body, device), "Content-Type": "application/json"}
    response = client.http.request("POST", "/gate/entry/qr", headers=headers, body=body)
    return response.json_body["decision"]


def test_one_call_removes_every_template_and_tells_every_gallery(client, city):
    estate, person = _enrolled(city)
    places = PlaceRepository()
    before = places.gallery_version(estate.estate_id)
    status, answer = call(client, "POST", "/faces/me/opt-out", person)
    assert status == 200, answer
    assert (answer["templates_removed"], answer["consents_withdrawn"], answer["entry_by"]) == (2, 1, "resident_qr")
    assert answer["estates_refreshed"] == [estate.estate_id]
    assert _templates(person) == []
    assert all(c.withdrawn_at is not None for c in ConsentRepository().for_person(person))
    assert [o.at.isoformat() for o in FaceOptOutRepository().for_person(person)] == [answer["opted_out_at"]]
    changes = places.gallery_changes_since(estate.estate_id, before)
    assert changes and person in changes[-1].person_ids
    [audit] = [r for r in AuditLog().about(f"person#{person}") if r.action == "face.opt_out"]
    assert audit.detail["templates_removed"] == 2


def test_after_opting_out_the_resident_still_enters_by_qr(client, city):
    estate, person = _enrolled(city)
    gate_id, key = city.gate(estate.estate_id)
    assert call(client, "POST", "/faces/me/opt-out", person)[0] == 200
    status, qr = call(client, "GET", "/me/resident-qr", person)
    assert status == 200
    decision = _qr_entry(client, gate_id, key, qr["code"])
    assert (decision["outcome"], decision["person_id"]) == ("open", person), decision


def test_only_the_callers_own_face_and_only_with_a_resident_token(client, city):
    estate, person = _enrolled(city)
    other = city.person()[0]
    assert call(client, "POST", "/faces/me/opt-out", other)[1]["templates_removed"] == 0
    assert len(_templates(person)) == 2  # another resident's opt-out touched nothing of this person's
    response = client.http.post("/faces/me/opt-out", headers=bearer(person, roles=("data_center",)))
    assert response.status_code == 403 and response.json_body["code"] == "forbidden"
    assert client.http.post("/faces/me/opt-out").status_code == 401
    assert len(_templates(person)) == 2


def _id_number(serial: int) -> str:
    from gridgate.domain.id_numbers import check_character

    first17 = f"320102{1970 + serial % 40}0{1 + serial % 9}1{serial % 10}{serial % 1000:03d}"
    return first17 + check_character(first17)


def _write_export(directory, tag: str, people: list[str], faces: bool) -> None:
    from gridgate.domain.id_numbers import sex_of
    from gridgate.domain.model import Place, PlaceKind

    estate, grid = f"E-imp-{tag}", f"G-imp-{tag}"
    PlaceRepository().add(Place(grid, PlaceKind.GRID, "网格", None, {}))
    PlaceRepository().add(Place(estate, PlaceKind.ESTATE, "小区", grid, {PlaceKind.GRID: grid}))
    building = {PlaceKind.GRID: grid, PlaceKind.ESTATE: estate}
    PlaceRepository().add(Place(f"{estate}-B1", PlaceKind.BUILDING, "1幢", estate, building))
    (directory / "homes.csv").write_text(
        f"home_id,estate_id,building_id,unit,floor,room,floor_area_m2\nH-{tag},{estate},{estate}-B1,1,5,0501,89.5\n",
        encoding="utf-8",
    )
    rows = "".join(
        f"{n},居民{i},{sex_of(n)},{n[6:10]}-{n[10:12]}-{n[12:14]},population,H-{tag},,\n" for i, n in enumerate(people)
    )
    (directory / "persons.csv").write_text(
        "id_number,name,sex,birth_date,registries,registered_home_id,phone,key_groups\n" + rows, encoding="utf-8"
    )
    (directory / "ownership.csv").write_text(
        f"owner_id_number,home_id,since,until\n{people[0]},H-{tag},2015-06-01,\n", encoding="utf-8"
    )
    encoding, at = base64.b64encode(b"\0" * 512).decode(), clock.now().isoformat()
    if faces:
        (directory / "faces.csv").write_text(
            "id_number,encoding_base64,consent_at\n" + "".join(f"{n},{encoding},{at}\n" for n in people),
            encoding="utf-8",
        )


def test_the_registry_import_keeps_an_opted_out_face_out_and_records_the_statute_for_others(
    client, protector, tmp_path
):
    from gridgate.adapters.repositories import PersonRepository
    from gridgate.registry.registry_import import import_registry_export

    tag = uuid.uuid4().hex[:6]
    people = [_id_number(int(tag, 16) + n) for n in range(2)]
    _write_export(tmp_path, tag, people, faces=False)
    first = import_registry_export(tmp_path, protector)
    assert first.created["person"] == 2, [str(e) for e in first.errors]
    opted, kept = (PersonRepository(protector).find_id_by_id_number(n) for n in people)
    assert opted and kept
    assert call(client, "POST", "/faces/me/opt-out", opted)[0] == 200
    _write_export(tmp_path, tag, people, faces=True)
    report = import_registry_export(tmp_path, protector)
    assert report.opted_out["face"] == 1 and report.created["face"] == 1, report.summary()
    assert _templates(opted) == []
    assert [t.source for t in _templates(kept)] == [Registry.POPULATION]
    [basis] = ConsentRepository().for_person(kept)
    assert (basis.basis, basis.statute, basis.withdrawn_at) == (LegalBasis.STATUTE, POPULATION_REGISTRY_STATUTE, None)
    again = import_registry_export(tmp_path, protector)
    assert again.opted_out["face"] == 1 and again.unchanged["face"] == 1
    assert len(ConsentRepository().for_person(kept)) == 1

"""A guardian's consent for a minor under 14 (issue 18 point 1; 2025 CAC/MPS measures Art. 7).

Through the real app on moto: the minor cannot consent alone; a guardian with their own token,
an adult registered at the minor's home, records it with their relation; the record says who
consented and how; the audit names the guardian; a stranger, an adult "minor" and an estate the
minor has no right at are refused with their codes.
"""

from __future__ import annotations

import uuid
from datetime import date

from app_helpers import call, grant_body

from gridgate import clock
from gridgate.adapters.audit import AuditLog
from gridgate.adapters.compliance_records import ConsentRepository
from gridgate.adapters.repositories import OwnershipRepository, PersonRepository, PlaceRepository
from gridgate.domain.model import Ownership, Person, Registry

BODY = {"relation": "parent", "matching": "cloud", "notice_version": "face-notice-2026-01"}


def _family(city, protector):
    estate = city.estate(owner=None)
    home = estate.homes[0]
    tag = uuid.uuid4().hex[:8]
    people = PersonRepository(protector)
    born = clock.today().year - 9

    def person(pid: str, birth_year: int, home_id: str | None) -> str:
        id_number = f"320102{uuid.uuid4().int % 10**12:012d}"
        people.add(
            Person(pid, "测试", id_number, frozenset({Registry.APP}), birth_year, "F", registered_home_id=home_id)
        )
        return id_number

    parent, child, adult, stranger = (f"{role}-{tag}" for role in ("PARENT", "CHILD", "ADULT", "STRANGER"))
    person(parent, 1985, home)
    child_id_number = person(child, born, home)
    person(adult, 1990, home)
    person(stranger, 1980, None)
    OwnershipRepository().add(Ownership(parent, home, estate.estate_id, date(2020, 1, 1)))
    return estate, home, parent, child, child_id_number, adult, stranger


def test_a_guardian_consents_for_a_minor_who_cannot_consent_alone(client, city, protector):
    estate, home, parent, child, child_id_number, adult, stranger = _family(city, protector)
    status, granted = call(client, "POST", f"/homes/{home}/grants", parent, grant_body(child_id_number))
    assert status == 201, granted
    body = {**BODY, "estates": [estate.estate_id]}
    status, alone = call(client, "PUT", "/faces/me/consent", child, {k: v for k, v in body.items() if k != "relation"})
    assert (status, alone["code"]) == (400, "guardian_consent_required")
    status, refused = call(client, "PUT", f"/faces/minors/{child}/consent", stranger, body)
    assert (status, refused["code"]) == (400, "guardian_not_recognised")
    version = PlaceRepository().gallery_version(estate.estate_id)
    status, answer = call(client, "PUT", f"/faces/minors/{child}/consent", parent, body)
    assert status == 200, answer
    # its purposes decide where the minor's face is matched: the estate's gallery re-reads the minor
    [change] = PlaceRepository().gallery_changes_since(estate.estate_id, version)
    assert child in change.person_ids
    assert (answer["person_id"], answer["guardian_person_id"], answer["guardian_relation"]) == (child, parent, "parent")
    [stored] = ConsentRepository().for_person(child)
    assert (stored.guardian_person_id, stored.guardian_relation, stored.estates) == (
        parent,
        "parent",
        frozenset({estate.estate_id}),
    )
    [given] = [r for r in AuditLog().about(f"person#{child}") if r.action == "face.consent.given"]
    assert given.actor == parent and given.detail["guardian_relation"] == "parent"


def test_refusals_an_adult_another_estate_a_bad_relation(client, city, protector):
    estate, home, parent, child, child_id_number, adult, stranger = _family(city, protector)
    call(client, "POST", f"/homes/{home}/grants", parent, grant_body(child_id_number))
    body = {**BODY, "estates": [estate.estate_id]}
    # an adult of the same home holds no right at the estate: the estates check comes first
    status, not_theirs = call(
        client, "PUT", f"/faces/minors/{child}/consent", parent, {**body, "estates": ["E-elsewhere"]}
    )
    assert (status, not_theirs["code"]) == (403, "estate_not_yours")
    status, bad = call(client, "PUT", f"/faces/minors/{child}/consent", parent, {**body, "relation": "neighbour"})
    assert status == 400
    status, odd = call(client, "PUT", f"/faces/minors/{'x' * 300}/consent", parent, body)
    assert (status, odd["code"]) == (400, "bad_id")
    OwnershipRepository().add(Ownership(adult, home, estate.estate_id, date(2020, 1, 1)))
    status, grown = call(client, "PUT", f"/faces/minors/{adult}/consent", parent, body)
    assert (status, grown["code"]) == (400, "not_a_minor")
    assert ConsentRepository().for_person(child) == [] and ConsentRepository().for_person(adult) == []

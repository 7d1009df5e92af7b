"""A consent's purposes hold at the gate (issue 18): a face is matched only at the estates the
person's latest consent names, a `device_only` face never by the cloud, and a narrowed consent
reaches the warm gallery as a delta before the next decision. Real Chalice app, moto's server."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from datetime import date

import pytest
from gate_helpers import SignedGate, decision_of

from gridgate import clock

pytestmark = [pytest.mark.testdata, pytest.mark.usefixtures("enrolled_faces")]


@dataclass(frozen=True)
class TwoEstates:
    person_id: str
    estate_a: str
    estate_b: str
    gate_a: SignedGate
    gate_b: SignedGate


@pytest.fixture
def two_estates(api, gate_world, protector) -> TwoEstates:
    """A resident owning a home at each of two new estates, with the face of the world's owner
    (copied templates: no other member of these estates has it), and a gate at each estate."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from gridgate.adapters.repositories import (
        FaceTemplateRepository,
        GateRepository,
        HomeRepository,
        OwnershipRepository,
        PersonRepository,
        PlaceRepository,
    )
    from gridgate.adapters.resident_secrets import ResidentSecretStore
    from gridgate.domain.model import Gate, GateDirection, Home, Ownership, Person, Place, PlaceKind, Registry
    from gridgate.gate.gallery_publisher import GalleryPublisher
    from gridgate.security.keyring import ed25519_public_key
    from gridgate.security.resident_qr import new_secret

    tag = uuid.uuid4().hex[:6]
    person_id = f"P-cp-{tag}"
    estates, gates = [f"E-cpA-{tag}", f"E-cpB-{tag}"], []
    PersonRepository(protector).add(
        Person(person_id, "同意测试", f"32010219800101{tag[:4]}", frozenset({Registry.APP}), 1980, "F")
    )
    ResidentSecretStore(protector).put_if_absent(person_id, new_secret())
    for estate_id in estates:
        home_id = f"H-{estate_id}"
        PlaceRepository().add(Place(estate_id, PlaceKind.ESTATE, "同意小区", "G-gt", {PlaceKind.GRID: "G-gt"}))
        HomeRepository().add(Home(home_id, estate_id, "B1", "1", 2, "201", 90.0, "G-gt"))
        OwnershipRepository().add(Ownership(person_id, home_id, estate_id, date(2020, 1, 1)))
        key = Ed25519PrivateKey.generate().private_bytes_raw()
        gate_id = f"GT-{estate_id}"
        GateRepository().add(Gate(gate_id, estate_id, GateDirection.BOTH, f"{gate_id}-k1", ed25519_public_key(key)))
        gates.append(SignedGate(api, gate_id, key))
    owner = gate_world.residents["owner"].person_id
    for template in FaceTemplateRepository().for_person(owner):
        FaceTemplateRepository().add(replace(template, person_id=person_id))
    for estate_id in estates:
        PlaceRepository().bump_gallery_version(estate_id, [person_id])
        GalleryPublisher().publish(estate_id)
    return TwoEstates(person_id, estates[0], estates[1], gates[0], gates[1])


def consent(api, person_id: str, estates: list[str], matching: str = "cloud") -> None:
    from gridgate.security.tokens import issue_token

    body = {"estates": estates, "matching": matching, "notice_version": "face-notice-2026-01"}
    response = api.http.put(
        "/faces/me/consent",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {issue_token(person_id, ('resident',))}",
        },
        body=json.dumps(body),
    )
    assert response.status_code == 200, response.body


def face_at(gate: SignedGate, gate_world) -> dict:
    return decision_of(gate.face("/gate/entry/face", gate_world.probe_frame("owner")))


def qr_at(gate: SignedGate, person_id: str, protector) -> dict:
    from gridgate.adapters.resident_secrets import ResidentSecretStore
    from gridgate.security.resident_qr import current_code

    code = current_code(person_id, ResidentSecretStore(protector).get(person_id), clock.now())
    return decision_of(gate.qr("/gate/entry/qr", code))


def test_a_face_consented_for_estate_a_only_is_matched_at_a_and_not_at_b_where_qr_still_opens(
    api, gate_world, protector, two_estates
):
    world, person = two_estates, two_estates.person_id
    consent(api, person, [world.estate_a])
    at_a = face_at(world.gate_a, gate_world)
    assert (at_a["outcome"], at_a["person_id"]) == ("open", person)
    at_b = face_at(world.gate_b, gate_world)
    assert (at_b["outcome"], at_b["person_id"]) == ("deny", None)  # the face is not in B's gallery at all
    by_code = qr_at(world.gate_b, person, protector)
    assert (by_code["outcome"], by_code["person_id"]) == ("open", person)  # face is never the only way


def test_a_consent_narrowed_from_a_and_b_to_a_stops_matching_at_b_at_the_next_decision_by_a_delta(
    api, gate_world, two_estates
):
    from chalicelib.bootstrap import gate_services

    world, person = two_estates, two_estates.person_id
    consent(api, person, [world.estate_a, world.estate_b])
    assert face_at(world.gate_b, gate_world)["person_id"] == person  # warm gallery of B, with the face
    cache = gate_services().facts.galleries
    before = (cache.builds, cache.loads, cache.deltas)
    consent(api, person, [world.estate_a])
    at_b = face_at(world.gate_b, gate_world)  # the very next decision
    assert (at_b["outcome"], at_b["person_id"]) == ("deny", None)
    assert (cache.builds, cache.loads, cache.deltas) == (before[0], before[1], before[2] + 1)  # one delta
    assert face_at(world.gate_a, gate_world)["person_id"] == person  # A still named


def test_a_device_only_face_is_never_matched_by_the_cloud_and_rides_only_in_a_device_estates_snapshot(
    api, gate_world, keyring, protector, two_estates
):
    from gridgate.adapters.pass_repository import PassRepository
    from gridgate.adapters.repositories import PlaceRepository
    from gridgate.adapters.resident_secrets import ResidentSecretStore
    from gridgate.config import get_settings
    from gridgate.domain.model import FaceMatching
    from gridgate.gate.snapshot_publisher import GateSnapshotService

    world, person = two_estates, two_estates.person_id
    consent(api, person, [world.estate_a, world.estate_b], matching="device_only")
    for gate in (world.gate_a, world.gate_b):
        decided = face_at(gate, gate_world)
        assert (decided["outcome"], decided["person_id"]) == ("deny", None)
    snapshots = GateSnapshotService(
        get_settings(), keyring, PassRepository(protector), ResidentSecretStore(protector).get
    )
    # a cloud-matching estate's gates match only while offline, and send faces to the cloud when online:
    # a device-only face is not theirs to hold
    assert snapshots.build(world.estate_a, clock.now())["people"][person]["templates"] == {}
    PlaceRepository().set_face_matching(world.estate_b, FaceMatching.DEVICE)
    held = snapshots.build(world.estate_b, clock.now())["people"][person]["templates"]
    assert set(held) == {"app"} and held["app"]  # matched on B's gates themselves, never in the cloud
    consent(api, person, [world.estate_a], matching="device_only")  # B no longer named
    assert snapshots.build(world.estate_b, clock.now())["people"][person]["templates"] == {}

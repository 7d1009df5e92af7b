"""Fixtures of the gate area: one small world (two estates, residents with rights and resident
codes, gates with their own keys), signed device requests through the real Chalice app, and passes.

The world needs no external test data, so device authentication, passes and resident codes are
tested wherever the suite runs. Real faces are enrolled into it only by `enrolled_faces`, which the
face tests use and which skips (with the `testdata` fixture's reason) when ../shared/testdata is
absent. Face encodings of the test photos are cached in pytest's cache directory (they cost ~0.15 s
each and never change); the probes themselves always run the real pipeline.
"""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from gate_helpers import ROLES, STRANGER, GateWorld, Resident, SignedGate

from gridgate import clock


def _frames(testdata: Path) -> dict[str, bytes]:
    from bench.face_frames import to_gate_frame

    wanted = [(identity, photo) for identity, _, enrolled, probe in ROLES.values() for photo in (*enrolled, probe)]
    wanted.append(STRANGER)
    return {f"{i}/{p}": to_gate_frame((testdata / "faces" / i / p).read_bytes()) for i, p in wanted}


def _encodings(frames: dict[str, bytes], cache) -> dict[str, bytes]:
    """Enrolment templates of the ROLES' enrolled photos (cached: the photos never change)."""
    from gridgate.faces.pipeline import ENCODER_ID, probe_face

    key = f"gridgate/gate-enrolment/{ENCODER_ID}"
    cached = cache.get(key, None)
    if cached is None:
        cached = {}
        for identity, _, enrolled, _ in ROLES.values():
            for photo in enrolled:
                name = f"{identity}/{photo}"
                cached[name] = probe_face(frames[name]).encoding.astype("<f4").tobytes().hex()
        cache.set(key, cached)
    return {name: bytes.fromhex(value) for name, value in cached.items()}


def _gate(gate_id: str, estate_id: str, direction: str = "both"):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from gridgate.adapters.repositories import GateRepository
    from gridgate.domain.model import Gate, GateDirection
    from gridgate.security.keyring import ed25519_public_key

    private = Ed25519PrivateKey.generate().private_bytes_raw()
    GateRepository().add(
        Gate(gate_id, estate_id, GateDirection(direction), f"{gate_id}-k1", ed25519_public_key(private))
    )
    return private


@pytest.fixture(scope="session")
def gate_world(moto_server, protector) -> GateWorld:
    """Both estates, their gates, the ROLES' residents with rights and code secrets; no faces yet."""
    from gridgate.adapters.grant_repository import GrantRepository
    from gridgate.adapters.repositories import (
        HomeRepository,
        OwnershipRepository,
        PersonRepository,
        PlaceRepository,
    )
    from gridgate.adapters.resident_secrets import ResidentSecretStore
    from gridgate.domain.model import (
        Grant,
        GrantStatus,
        Home,
        Ownership,
        Person,
        Place,
        PlaceKind,
        Registry,
        Relation,
    )
    from gridgate.security.resident_qr import new_secret

    tag = uuid.uuid4().hex[:6]
    estate, other_estate = f"E-gt-{tag}", f"E-gt2-{tag}"
    home, other_home = f"H-{estate}-1", f"H-{other_estate}-1"
    for estate_id, home_id in ((estate, home), (other_estate, other_home)):
        PlaceRepository().add(Place(estate_id, PlaceKind.ESTATE, "gate test estate", "G-gt", {PlaceKind.GRID: "G-gt"}))
        HomeRepository().add(Home(home_id, estate_id, f"B-{estate_id}", "1", 2, "201", 120.0, "G-gt"))

    world = GateWorld(
        tag=tag,
        estate_id=estate,
        other_estate_id=other_estate,
        home_id=home,
        other_home_id=other_home,
        gate_id=f"GT-{tag}-A",
        gate_key=_gate(f"GT-{tag}-A", estate),
        other_gate_id=f"GT-{tag}-B",
        other_gate_key=_gate(f"GT-{tag}-B", other_estate),
    )
    for n, (role, (identity, registry, _, probe)) in enumerate(ROLES.items()):
        person_id = f"P-gt-{tag}-{role}"
        PersonRepository(protector).add(
            Person(
                person_id,
                f"resident {n}",
                f"32010219800101{n:03d}{tag[:1]}",
                frozenset({Registry(registry)}),
                1980,
                "M",
            )
        )
        ResidentSecretStore(protector).put_if_absent(person_id, new_secret())
        world.residents[role] = Resident(person_id, identity, probe)

    owners = OwnershipRepository()
    owners.add(Ownership(world.residents["owner"].person_id, home, estate, date(2020, 1, 1)))
    owners.add(Ownership(world.residents["other_estate_owner"].person_id, other_home, other_estate, date(2020, 1, 1)))
    for role, relation in (("tenant", Relation.TENANT), ("family_pop", Relation.FAMILY)):
        GrantRepository().create(
            Grant(
                grant_id=f"GR-{tag}-{role}",
                home_id=home,
                estate_id=estate,
                grantee_id=world.residents[role].person_id,
                relation=relation,
                starts_on=date(2020, 1, 1),
                ends_on=None,
                granted_by=world.residents["owner"].person_id,
                status=GrantStatus.ACTIVE,
                created_at=clock.now(),
            ),
            cap=5,
        )
    _bump_galleries(world)
    return world


@pytest.fixture(scope="session")
def enrolled_faces(gate_world, testdata, pytestconfig) -> GateWorld:
    """gate_world with the ROLES' real photos enrolled and every test frame loaded (needs testdata).

    It completes the one session world rather than building a second one, so face and non-face
    tests see the same residents; the gallery versions are bumped so warm galleries and snapshots
    built before the enrolment are rebuilt with the new templates.
    """
    from gridgate.adapters.compliance_records import ConsentRepository
    from gridgate.adapters.repositories import FaceTemplateRepository
    from gridgate.domain.legal_records import FaceConsent, LegalBasis, Matching
    from gridgate.domain.model import FaceTemplate, Registry

    frames = _frames(testdata)
    encodings = _encodings(frames, pytestconfig.cache)
    consent = clock.now() - timedelta(days=30)
    for role, (identity, registry, enrolled, _) in ROLES.items():
        person_id = gate_world.residents[role].person_id
        if Registry(registry) == Registry.APP:  # the separate consent an app enrolment needs (issue 18)
            estates = frozenset({gate_world.estate_id, gate_world.other_estate_id})
            notice = "face-notice-2026-01"
            ConsentRepository().add(
                FaceConsent(person_id, LegalBasis.SEPARATE_CONSENT, estates, Matching.CLOUD, notice, consent)
            )
        for number, photo in enumerate(enrolled, start=1):
            FaceTemplateRepository().add(
                FaceTemplate(person_id, Registry(registry), number, encodings[f"{identity}/{photo}"], consent)
            )
    gate_world.frames.update(frames)
    _bump_galleries(gate_world)
    return gate_world


def _bump_galleries(world: GateWorld) -> None:
    """A change naming everyone, then the estates' gallery objects published, as an estate's
    gates find them when they go live (`gridgate gate publish-gallery`)."""
    from gridgate.adapters.repositories import PlaceRepository
    from gridgate.gate.gallery_publisher import GalleryPublisher

    everyone = [resident.person_id for resident in world.residents.values()]
    for estate_id in (world.estate_id, world.other_estate_id):
        PlaceRepository().bump_gallery_version(estate_id, everyone)
        GalleryPublisher().publish(estate_id)


@pytest.fixture(scope="session")
def faceless_frame() -> bytes:
    """A 640x480 camera JPEG with no face in it, for requests refused before any face is looked for
    (bad signature, replay, low liveness, unknown capture kind), so they need no test photos."""
    from PIL import Image

    out = io.BytesIO()
    Image.linear_gradient("L").resize((640, 480)).convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


@pytest.fixture(scope="session")
def api(moto_server):
    from app import app
    from chalice.test import Client

    with Client(app) as client:
        yield client


@pytest.fixture(scope="session")
def gate(api, gate_world) -> SignedGate:
    return SignedGate(api, gate_world.gate_id, gate_world.gate_key)


@pytest.fixture(scope="session")
def one_way_gates(api, gate_world) -> dict[str, SignedGate]:
    """An entry-only and an exit-only gate at the test estate: direction -> the signed device."""
    gates = {}
    for direction in ("entry", "exit"):
        gate_id = f"GT-{gate_world.tag}-{direction}"
        gates[direction] = SignedGate(api, gate_id, _gate(gate_id, gate_world.estate_id, direction))
    return gates


@pytest.fixture(scope="session")
def pass_issuer(moto_server, keyring, protector):
    """issue(estate_id, home_id, ...) -> QR text of a stored, signed visitor pass."""
    from gridgate.adapters.pass_repository import PassRepository
    from gridgate.domain.model import PassStatus, VisitorPass
    from gridgate.security.signed_passes import PassClaims, new_pass_id, sign_pass

    def issue(
        estate_id: str,
        home_id: str,
        *,
        max_uses: int | None = None,
        valid_from=None,
        valid_until=None,
        stored: bool = True,
    ) -> tuple[str, str]:
        now = clock.now().replace(microsecond=0)
        claims = PassClaims(
            pass_id=new_pass_id(),
            estate_id=estate_id,
            home_id=home_id,
            valid_from=valid_from or now - timedelta(minutes=5),
            valid_until=valid_until or now + timedelta(hours=24),
            key_id=keyring.active_signing_key_id,
            max_uses=max_uses,
        )
        if stored:
            PassRepository(protector).create(
                VisitorPass(
                    pass_id=claims.pass_id,
                    estate_id=estate_id,
                    home_id=home_id,
                    issued_by="P-issuer",
                    visitor_name="visitor",
                    valid_from=claims.valid_from,
                    valid_until=claims.valid_until,
                    key_id=claims.key_id,
                    max_uses=max_uses,
                    status=PassStatus.ACTIVE,
                )
            )
        return claims.pass_id, sign_pass(claims, keyring)

    return issue

"""Plain helpers of the gate tests (the fixtures that build on them are in conftest.py)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gridgate import clock


@dataclass(frozen=True)
class Resident:
    person_id: str
    identity: str  # testdata/faces/<identity>
    probe_photo: str  # a photo of theirs that was NOT enrolled


@dataclass
class GateWorld:
    tag: str
    estate_id: str
    other_estate_id: str
    home_id: str
    other_home_id: str
    gate_id: str
    gate_key: bytes
    other_gate_id: str
    other_gate_key: bytes
    residents: dict[str, Resident] = field(default_factory=dict)
    #: "<identity>/<photo>" -> 640x480 JPEG; filled (with the faces enrolled) by the `enrolled_faces` fixture
    frames: dict[str, bytes] = field(default_factory=dict)

    def frame(self, identity: str, photo: str) -> bytes:
        name = f"{identity}/{photo}"
        if name not in self.frames:
            raise LookupError(f"no frame {name}: a test that shows faces must use the `enrolled_faces` fixture")
        return self.frames[name]

    def probe_frame(self, role: str) -> bytes:
        resident = self.residents[role]
        return self.frame(resident.identity, resident.probe_photo)


#: role -> (identity, registry of the enrolled photos, enrolled photos, probe photo)
ROLES = {
    "owner": ("Aaron_Peirsol", "app", ("Aaron_Peirsol_0001.jpg", "Aaron_Peirsol_0002.jpg"), "Aaron_Peirsol_0003.jpg"),
    "tenant": ("Boris_Becker", "app", ("Boris_Becker_0001.jpg", "Boris_Becker_0002.jpg"), "Boris_Becker_0003.jpg"),
    "family_pop": (
        "Charles_Taylor",
        "population",
        ("Charles_Taylor_0001.jpg", "Charles_Taylor_0002.jpg"),
        "Charles_Taylor_0003.jpg",
    ),
    "other_estate_owner": (
        "Edmund_Stoiber",
        "app",
        ("Edmund_Stoiber_0001.jpg", "Edmund_Stoiber_0002.jpg"),
        "Edmund_Stoiber_0003.jpg",
    ),
}
STRANGER = ("Nelson_Mandela", "Nelson_Mandela_0003.jpg")


class SignedGate:
    """Acts as one gate device: signs every request with its own key, like the firmware does."""

    def __init__(self, client, gate_id: str, private_key: bytes) -> None:
        self.client = client
        self.gate_id = gate_id
        self.private_key = private_key

    def send(
        self,
        path: str,
        body: bytes,
        content_type: str,
        *,
        event_id: str | None = None,
        captured_at: datetime | None = None,
        liveness: float | None = 0.95,
        kind: str | None = None,
        method: str = "POST",
        tamper=None,
    ):
        """The response to a signed request; `tamper(headers)` may alter the headers after signing."""
        from gridgate.security.device_auth import sign_request

        device = {
            "X-Device-Event-Id": event_id or uuid.uuid4().hex[:16],
            "X-Captured-At": (captured_at or clock.now()).isoformat(),
        }
        if liveness is not None:
            device["X-Liveness-Score"] = str(liveness)
        if kind is not None:
            device["X-Capture-Kind"] = kind
        headers = sign_request(self.private_key, self.gate_id, method, path, body, device)
        headers["Content-Type"] = content_type
        if tamper is not None:
            tamper(headers)
        return self.client.http.request(method, path, headers=headers, body=body)

    def face(self, path: str, image: bytes, **kw):
        return self.send(path, image, "image/jpeg", **kw)

    def qr(self, path: str, text: str, **kw):
        return self.send(path, json.dumps({"text": text}).encode(), "application/json", **kw)


def new_estate_of_the_owner(api, world: GateWorld) -> tuple[str, SignedGate]:
    """A brand-new estate where the world's owner owns a home (and consents to cloud matching), with
    one gate: its id and the signed device. No gallery object exists for it yet."""
    from datetime import date

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from gridgate.adapters.compliance_records import ConsentRepository
    from gridgate.adapters.repositories import GateRepository, OwnershipRepository, PlaceRepository
    from gridgate.domain.legal_records import FaceConsent, LegalBasis, Matching
    from gridgate.domain.model import Gate, GateDirection, Ownership, Place, PlaceKind
    from gridgate.security.keyring import ed25519_public_key

    tag = uuid.uuid4().hex[:6]
    estate, gate_id = f"E-new-{tag}", f"GT-new-{tag}"
    owner = world.residents["owner"].person_id
    PlaceRepository().add(Place(estate, PlaceKind.ESTATE, "新小区", "G-gt", {PlaceKind.GRID: "G-gt"}))
    OwnershipRepository().add(Ownership(owner, f"H-{estate}-1", estate, date(2020, 1, 1)))
    # the owner's consent now names the new estate too: without it their face is never matched there
    estates = frozenset({world.estate_id, world.other_estate_id, estate})
    notice = "face-notice-2026-01"
    ConsentRepository().add(
        FaceConsent(owner, LegalBasis.SEPARATE_CONSENT, estates, Matching.CLOUD, notice, clock.now())
    )
    PlaceRepository().bump_gallery_version(estate, [owner])
    key = Ed25519PrivateKey.generate().private_bytes_raw()
    GateRepository().add(Gate(gate_id, estate, GateDirection.BOTH, f"{gate_id}-k1", ed25519_public_key(key)))
    return estate, SignedGate(api, gate_id, key)


def decision_of(response) -> dict:
    """The decision of a gate answer (200, or a 4xx for unusable input, which still decides)."""
    body = response.json_body
    assert "decision" in body, body
    return body["decision"]


def events_of(estate_id: str, event_id: str):
    """Every stored event with this id at the estate today (to count duplicates)."""
    from gridgate.adapters.events import EventRepository

    today = clock.today()
    return [
        e
        for day in (today - timedelta(days=1), today)
        for e in EventRepository().for_estate_day(estate_id, day)
        if e.event_id == event_id
    ]


def pass_uses(protector, pass_id: str) -> int:
    """How many times the stored pass has been used."""
    from gridgate.adapters.pass_repository import PassRepository

    return PassRepository(protector).get(pass_id).uses

"""The gate function's composition root: the gate's repositories, caches and services, built once.

`build_gate_services` wires the cloud's facts (`gridgate.gate.cloud_facts`), the device
authenticator, the decider, the offline-upload intake and the snapshot service for one warm
function, so caches (galleries, gate records, pass public keys) outlive one request; the API's
root (`chalicelib.bootstrap`) calls it on the first gate request.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from gridgate.adapters.device_nonces import DeviceNonceStore
from gridgate.adapters.events import EventRepository
from gridgate.adapters.gate_writes import GateEventWriter
from gridgate.adapters.pass_repository import PassRepository
from gridgate.adapters.repositories import GateRepository, PlaceRepository
from gridgate.adapters.resident_secrets import ResidentSecretStore
from gridgate.clock import now as city_now
from gridgate.config import Settings
from gridgate.domain.model import FaceMatching
from gridgate.faces.pipeline import probe_face
from gridgate.gate.cloud_facts import CachedLookup, CloudGateFacts
from gridgate.gate.decision import GateDecider, GateFacts
from gridgate.gate.estate_gallery import EstateGalleryCache
from gridgate.gate.offline_uploads import OfflineUploads
from gridgate.gate.resident_facts import ResidentFacts
from gridgate.gate.snapshot_publisher import GateSnapshotService
from gridgate.qr.decode import read_qr_bytes
from gridgate.refusals import NotAllowed
from gridgate.security.device_auth import DeviceAuthenticator, NonceClaim
from gridgate.security.identifiers import IdentifierProtector
from gridgate.security.keyring import Keyring, get_keyring
from gridgate.security.signed_passes import public_keys


@dataclass(frozen=True)
class GateServices:
    authenticator: DeviceAuthenticator
    facts: CloudGateFacts
    decider_for: Callable[[GateFacts], GateDecider]
    uploads: OfflineUploads
    snapshots: GateSnapshotService
    face_matching: Callable[[str], FaceMatching]  # estate -> where its faces are matched (cached)

    def decider(self, nonce: NonceClaim) -> GateDecider:
        """The decider of one verified request (`DeviceAuthenticator.verify`): it claims the request's
        nonce in the write that records its decision, or refuses it as `ReplayedRequest`."""
        return self.decider_for(self.facts.claiming(nonce))

    def accept_face_image(self, estate_id: str) -> None:
        """Refuse (`NotAllowed` ``face_matched_on_device``) a face image from an estate whose gates
        match on the device: that estate's faces never cross the internet, not even by mistake.
        Nothing is decided or recorded; the gate's own decision arrives as an event."""
        if self.face_matching(estate_id) == FaceMatching.DEVICE:
            raise NotAllowed(
                "face_matched_on_device",
            )


def build_gate_services(settings: Settings, keyring: Keyring | None = None) -> GateServices:
    keyring = keyring or get_keyring()
    protector = IdentifierProtector(keyring)
    passes = PassRepository(protector)
    secrets = ResidentSecretStore(protector)
    nonces = DeviceNonceStore()
    events = EventRepository(settings)
    facts = CloudGateFacts(
        pass_keys=public_keys(keyring),
        events=events,
        writer=GateEventWriter(events, passes, nonces, settings),
        galleries=EstateGalleryCache(),
        secret_for=secrets.get_sealed,
        reads_ahead=ThreadPoolExecutor(max_workers=8, thread_name_prefix="gate-reads-ahead"),
        remembered=ResidentFacts(),
    )
    authenticator = DeviceAuthenticator(
        CachedLookup(GateRepository().get).get,
        nonces.claim,
        window_seconds=settings.gate_request_window_seconds,
        clock=city_now,
    )
    decider_for = partial(
        GateDecider,
        liveness_floor=settings.gate_liveness_floor,
        probe_face=lambda data: probe_face(data, max_bytes=settings.gate_max_upload_bytes),
        read_qr=lambda data: read_qr_bytes(data, max_bytes=settings.gate_max_upload_bytes),
        clock=city_now,
    )
    return GateServices(
        authenticator=authenticator,
        facts=facts,
        decider_for=decider_for,
        uploads=OfflineUploads(facts, clock=city_now, retention_days=settings.event_retention_days),
        snapshots=GateSnapshotService(settings, keyring, passes, secrets.get),
        face_matching=CachedLookup(PlaceRepository().face_matching).get,
    )

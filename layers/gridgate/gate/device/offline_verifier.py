"""The gate's own decider for when the cloud is unreachable: the online rules over a signed snapshot.

`OfflineVerifier` runs `gridgate.gate.decision.GateDecider`, the very class the cloud runs,
with `SnapshotFacts` in place of the cloud's tables. Face matching is the same `gridgate.faces`
pipeline and matcher on the snapshot's templates; a pass gets the same signature check
(`gridgate.security.signed_passes.verify_pass_text`) with the snapshot's public keys. Only where a fact
comes from differs:

- a pass's revocation and use count: the snapshot's list, plus the uses this gate has seen since
  the snapshot was made (its own offline openings and the online ones it was told about), kept in
  the buffer's database so a reboot does not forget them. A pass issued after the snapshot is
  judged by its signature and its own use limit;
- a resident code: the snapshot's digests of the codes valid in its window, not the secret;
- a right: the snapshot's right of the person for that (city-local) day;
- a retried device event: the local buffer (one event per event id, as in the cloud).

What the offline gate cannot know: a grant or pass revoked after its snapshot was made. It
fetches a new snapshot whenever it can (docs/gate.md says how often), which bounds that window.
A snapshot older than the one held is refused (``rolled_back``): an older snapshot is a
well-signed document, so without this, whoever can feed the gate a file (a replayed download, a
swapped SD card) could bring back a revoked pass or grant until that snapshot's end. "Older" is
by (`gallery_version`, `generated_at`): the estate's version moves with every change of rights
or faces, the time with every rebuild.

Without a valid snapshot (none yet, or past `valid_until`) nothing opens offline: entries are
denied and exits recorded with ``offline_unavailable``, so the log still holds every passage.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np

from gridgate.clock import now as city_now
from gridgate.domain.model import (
    CURRENT_ENCODER_ID,
    RETIRED_ENCODER_IDS,
    AccessEvent,
    Direction,
    FaceMatching,
    Gate,
    Registry,
)
from gridgate.domain.policy import local_date
from gridgate.domain.rights import Right
from gridgate.faces.matcher import EncoderGalleries, Gallery, match_probe
from gridgate.faces.pipeline import probe_face
from gridgate.gate.decision import (
    RESIDENT_CODE_SKEW_STEPS,
    Denied,
    DeviceEvent,
    GateDecider,
    GateDecision,
    Identified,
    PassUse,
    Reason,
    denied_from_pass,
    denied_from_resident_code,
    identified_from_match,
    verified_pass,
)
from gridgate.gate.device.event_buffer import EventBuffer
from gridgate.gate.signed_snapshot import (
    CODE_DIGEST_BYTES,
    SnapshotRejected,
    code_digest,
    decode_templates,
    open_envelope,
)
from gridgate.qr.decode import read_qr_bytes
from gridgate.security.resident_qr import (
    ResidentCodeRejected,
    person_of_code,
    time_step,
)
from gridgate.security.signed_passes import PassClaims, PassRejected

#: A gate clock a little behind the cloud's must not make a fresh snapshot unusable.
CLOCK_SLACK = timedelta(minutes=5)


def snapshot_version(document: dict) -> tuple[int, datetime]:
    """The order of an estate's snapshots: its gallery version, then its build time."""
    return int(document.get("gallery_version", 0)), datetime.fromisoformat(document["generated_at"])


class SnapshotFacts:
    """`GateFacts` answered from one verified snapshot document and the gate's local buffer."""

    def __init__(self, document: dict, buffer: EventBuffer, clock: Callable[[], datetime]) -> None:
        self.document = document
        self._buffer = buffer
        self._clock = clock
        self.generated_at = datetime.fromisoformat(document["generated_at"])
        self.valid_until = datetime.fromisoformat(document["valid_until"])
        self._public_keys = {k: base64.b64decode(v) for k, v in document["pass_public_keys"].items()}
        self._people: dict[str, dict] = document["people"]
        self._galleries = self._encoder_galleries()
        self._codes = document["resident_codes"]

    def _encoder_galleries(self) -> tuple[EncoderGalleries, ...]:
        """One app and one population gallery per encoder id in the snapshot (current first)."""
        present = {e for person in self._people.values() for by in person["templates"].values() for e in by}
        present -= RETIRED_ENCODER_IDS  # no probe of a retired encoder is ever made
        order = [CURRENT_ENCODER_ID, *sorted(present - {CURRENT_ENCODER_ID})]
        return tuple(
            EncoderGalleries(
                encoder_id, self._gallery(Registry.APP, encoder_id), self._gallery(Registry.POPULATION, encoder_id)
            )
            for encoder_id in order
        )

    def _gallery(self, registry: Registry, encoder_id: str) -> Gallery:
        owners: list[str] = []
        blocks: list[np.ndarray] = []
        for person_id, person in self._people.items():
            if encoded := person["templates"].get(registry.value, {}).get(encoder_id):
                block = decode_templates(encoded)
                owners += [person_id] * len(block)
                blocks.append(block)
        if not blocks:
            return Gallery.empty(registry, encoder_id)
        return Gallery(registry, owners, np.vstack(blocks), encoder_id)

    def usable_at(self, at: datetime) -> bool:
        return self.generated_at - CLOCK_SLACK <= at < self.valid_until

    # --- GateFacts ------------------------------------------------------------------------------------

    def stored_event(self, event_id: str, estate_id: str, occurred_at: datetime) -> AccessEvent | None:
        return self._buffer.get(event_id)

    def face_coming(self, estate_id: str) -> None:
        """The snapshot's galleries are in memory: nothing to fetch ahead."""

    def match_face(self, estate_id: str, probe) -> Identified:
        return identified_from_match(match_probe(probe, self._galleries))

    def right_of(self, person_id: str, estate_id: str, at: datetime) -> Right | None:
        day = local_date(at, self.document["city_timezone"]).isoformat()
        right = self._people.get(person_id, {}).get("rights", {}).get(day)
        return Right(right["kind"], right["home_id"], right.get("grant_id")) if right else None

    def verify_pass(self, text: str, estate_id: str, at: datetime) -> PassClaims:
        return verified_pass(text, self._public_keys, estate_id, at)

    def resident_of_code(self, text: str, estate_id: str, at: datetime) -> str:
        try:
            person_id = person_of_code(text)
        except ResidentCodeRejected as rejected:
            raise denied_from_resident_code(rejected) from rejected
        encoded = self._codes["digests"].get(person_id)
        if encoded is None:
            # Nobody outside the snapshot has a right here today. The code cannot be checked,
            # so, unlike the cloud, the deny names no person: an unverified name is not evidence.
            raise Denied(Reason.NO_RIGHT)
        digests = base64.b64decode(encoded)
        presented = code_digest(self.document["snapshot_id"], text)
        now_step = time_step(at)
        for step in range(now_step - RESIDENT_CODE_SKEW_STEPS, now_step + RESIDENT_CODE_SKEW_STEPS + 1):
            offset = (step - self._codes["first_step"]) * CODE_DIGEST_BYTES
            if 0 <= offset < len(digests) and hmac.compare_digest(
                digests[offset : offset + CODE_DIGEST_BYTES], presented
            ):
                return person_id
        raise denied_from_resident_code(ResidentCodeRejected("expired"))

    def record(self, event: AccessEvent, pass_use: PassUse | None = None) -> bool:
        if pass_use is not None and self._buffer.get(event.event_id) is None:
            self._check_pass_use(pass_use)
        # the buffer counts the use of an opening on a pass as it stores the event
        return self._buffer.add(event, decided_at=self._clock())

    def _check_pass_use(self, pass_use: PassUse) -> None:
        """The snapshot's revocation list and count, plus the uses this gate saw since it was made."""
        known = self.document["passes"].get(pass_use.pass_id)
        if known is not None and known["status"] != "active":
            raise denied_from_pass(PassRejected(known["status"]))
        used = (known["uses"] if known else 0) + self._buffer.pass_uses_since(pass_use.pass_id, self.generated_at)
        limit = known["max_uses"] if known else pass_use.max_uses
        if limit is not None and used >= limit:
            raise denied_from_pass(PassRejected("used_up"))


class NoSnapshotFacts:
    """The facts of a gate with no valid snapshot: it knows nobody, so it opens for nobody."""

    def __init__(self, buffer: EventBuffer, clock: Callable[[], datetime]) -> None:
        self._buffer = buffer
        self._clock = clock

    def stored_event(self, event_id: str, estate_id: str, occurred_at: datetime) -> AccessEvent | None:
        return self._buffer.get(event_id)

    def _unavailable(self, *args):
        raise Denied(Reason.OFFLINE_UNAVAILABLE)

    match_face = right_of = verify_pass = resident_of_code = _unavailable

    def face_coming(self, estate_id: str) -> None:
        """Nothing to fetch: the face is refused when it is matched."""

    def record(self, event: AccessEvent, pass_use: PassUse | None = None) -> bool:
        return self._buffer.add(event, decided_at=self._clock())


class OfflineVerifier:
    """Decides passages on the gate from the latest verified snapshot; events go to the buffer."""

    def __init__(
        self,
        gate: Gate,
        trusted_snapshot_keys: dict[str, bytes],
        buffer: EventBuffer,
        *,
        clock: Callable[[], datetime] = city_now,
    ) -> None:
        self._gate = gate
        self._trusted = trusted_snapshot_keys
        self._buffer = buffer
        self._clock = clock
        self._facts: SnapshotFacts | None = None
        self._fail_closed = self._decider(NoSnapshotFacts(buffer, clock), liveness_floor=0.0)
        self._decider_from_snapshot: GateDecider | None = None
        #: Where this estate's faces are matched, as the last verified snapshot said (kept after it
        #: expires: a device-matching gate never starts sending images because a snapshot is old).
        self._face_matching = FaceMatching.CLOUD

    def _decider(self, facts, *, liveness_floor: float) -> GateDecider:
        return GateDecider(
            facts, liveness_floor=liveness_floor, probe_face=probe_face, read_qr=read_qr_bytes, clock=self._clock
        )

    def load_snapshot(self, envelope: dict) -> None:
        """Verify and adopt a snapshot; raises `SnapshotRejected` (and keeps the previous one)."""
        document = open_envelope(envelope, self._trusted, self._gate.estate_id, self._clock())
        if self._facts is not None and snapshot_version(document) < snapshot_version(self._facts.document):
            raise SnapshotRejected("rolled_back", "the snapshot is older than the one this gate holds")
        self._facts = SnapshotFacts(document, self._buffer, self._clock)
        self._decider_from_snapshot = self._decider(self._facts, liveness_floor=document["liveness_floor"])
        self._face_matching = FaceMatching(document.get("face_matching", FaceMatching.CLOUD.value))

    @property
    def matches_faces_locally(self) -> bool:
        """The estate is configured for edge matching: faces are decided here, online or not."""
        return self._face_matching == FaceMatching.DEVICE

    @property
    def snapshot_id(self) -> str | None:
        return self._facts.document["snapshot_id"] if self._facts else None

    def note_pass_use(self, pass_id: str, event_id: str) -> None:
        """A pass use the cloud counted after this snapshot was made: offline counts it too."""
        self._buffer.note_pass_use(event_id, pass_id, self._clock())

    @property
    def decider(self) -> GateDecider:
        """The snapshot's decider while the snapshot is valid; otherwise one that opens nothing."""
        snapshot_decider = self._decider_from_snapshot  # set with `_facts`
        if self._facts is not None and snapshot_decider is not None and self._facts.usable_at(self._clock()):
            return snapshot_decider
        return self._fail_closed

    def device_event(self, device_event_id: str, captured_at: datetime, direction: Direction, liveness=None):
        return DeviceEvent(self._gate, device_event_id, captured_at, direction, liveness)

    def face(self, device_event_id: str, captured_at: datetime, direction: Direction, liveness, image: bytes):
        return self.decider.face(self.device_event(device_event_id, captured_at, direction, liveness), image)

    def qr_text(self, device_event_id: str, captured_at: datetime, direction: Direction, text: str) -> GateDecision:
        return self.decider.qr_text(self.device_event(device_event_id, captured_at, direction), text)

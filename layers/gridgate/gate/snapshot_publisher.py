"""Build, sign and store the snapshot an estate's gates decide from when the cloud is unreachable.

The document's contents, and why each part is safe on a gate, are described in
`gridgate.gate.signed_snapshot`; the gate-side reader is `gridgate.gate.device.offline_verifier.SnapshotFacts`.
Snapshots live in S3 under ``gate-snapshots/<estate_id>/latest.json`` (the signed envelope), with
their times and gallery version as object metadata. `locate` hands an authenticated gate a
short-lived presigned URL of the stored one, and never builds one on the request's thread: a build
reads every resident's rights, templates and code secret (50,000 people: minutes), while a request
makes one HEAD and one GetItem (the gallery version) whatever the estate's size. When the stored
one is older than `refresh_after` (a third of its validity), has less than that left, or the
estate's gallery version moved (a right or an enrolled face changed), a rebuild starts on the
service's background thread, once per estate at a time; meanwhile a stored snapshot still valid and
of the current version is served, and otherwise (none, or one a change made wrong) the gate is told
`snapshot_not_ready` (409, with the seconds to retry after) and keeps deciding from the one it
holds. A change also deletes the stored copy at once (`estate_changed`). A snapshot is valid for `gate_snapshot_validity_minutes` (30): that is
the longest a gate cut off from the cloud can act on a withdrawn face, a revoked grant or pass or
an ended ownership; an online gate fetching every 5 minutes sees it within 5. A URL, not the body: a large estate's snapshot (templates and
code digests of thousands of residents) is far beyond a Lambda response's 6 MB.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from datetime import date, datetime, timedelta

import boto3
from botocore.exceptions import ClientError

from gridgate.adapters.pass_repository import PassRepository
from gridgate.adapters.repositories import FaceTemplateRepository, PlaceRepository
from gridgate.clock import now as city_now
from gridgate.config import Settings
from gridgate.domain.model import Registry
from gridgate.domain.policy import local_date
from gridgate.domain.rights import Right
from gridgate.gate.consented_faces import ConsentedFaces
from gridgate.gate.signed_snapshot import FORMAT, code_digest, encode_templates, seal
from gridgate.refusals import Conflict
from gridgate.residents.entry_rights import people_with_rights
from gridgate.residents.estate_changes import snapshot_key
from gridgate.security.keyring import Keyring
from gridgate.security.resident_qr import STEP_SECONDS, code_for_step, time_step
from gridgate.security.signed_passes import public_keys

log = logging.getLogger(__name__)

#: How long the presigned URL a gate receives stays usable.
URL_SECONDS = 300
#: What a gate told `snapshot_not_ready` waits before it asks again.
RETRY_AFTER_SECONDS = 2


class SnapshotNotReady(Conflict):
    """No stored snapshot may be served yet; one is being built in the background."""

    def __init__(self, estate_id: str) -> None:
        super().__init__(
            "snapshot_not_ready",
            estate_id=estate_id,
            retry_after_seconds=RETRY_AFTER_SECONDS,
        )


def refresh_after(settings: Settings) -> timedelta:
    """A stored snapshot older than this, or with less validity left, is rebuilt before it is served."""
    return timedelta(minutes=settings.gate_snapshot_validity_minutes) / 3


class GateSnapshotService:
    def __init__(
        self,
        settings: Settings,
        keyring: Keyring,
        passes: PassRepository,
        secret_for: Callable[[str], bytes | None],
        *,
        templates: FaceTemplateRepository | None = None,
        places: PlaceRepository | None = None,
        consented: ConsentedFaces | None = None,
        background: Executor | None = None,
    ) -> None:
        self._settings = settings
        self._keyring = keyring
        self._passes = passes
        self._secret_for = secret_for
        self._templates = templates or FaceTemplateRepository()
        self._places = places or PlaceRepository()
        self._consented = consented or ConsentedFaces()
        self._background = background or ThreadPoolExecutor(max_workers=1, thread_name_prefix="gate-snapshots")
        self._building: dict[str, Future] = {}
        self._lock = threading.Lock()

    def build(self, estate_id: str, now: datetime) -> dict:
        """The snapshot document of `estate_id` as of `now` (unsigned)."""
        settings = self._settings
        valid_until = now + timedelta(minutes=settings.gate_snapshot_validity_minutes)
        snapshot_id = f"{estate_id}@{now.isoformat(timespec='seconds')}"
        rights_by_day = {
            day.isoformat(): people_with_rights(estate_id, day) for day in self._local_days(now, valid_until)
        }
        person_ids = sorted({pid for rights in rights_by_day.values() for pid in rights})
        # The estate's gates match on the device (DEVICE) or only while the cloud is out of reach (CLOUD):
        # a `device_only` consent's templates ride along only in the first case (see `face_purposes`).
        face_matching = self._places.face_matching(estate_id)
        templates = self._consented.keep(
            self._templates.for_people_concurrently(person_ids), estate_id, now, face_matching
        )
        # person -> registry -> encoder id -> templates: the gate compares a probe with each encoder's
        # templates using its own encoding of that encoder only.
        encodings: dict[str, dict[str, dict[str, list[bytes]]]] = {}
        for template in templates:
            by_encoder = encodings.setdefault(template.person_id, {}).setdefault(template.source.value, {})
            by_encoder.setdefault(template.encoder, []).append(template.encoding)
        first_step = time_step(now) - 1
        steps = settings.gate_snapshot_resident_code_hours * 3600 // STEP_SECONDS + 2
        return {
            "format": FORMAT,
            "snapshot_id": snapshot_id,
            "estate_id": estate_id,
            "generated_at": now.isoformat(),
            "valid_until": valid_until.isoformat(),
            "gallery_version": self._places.gallery_version(estate_id),
            "face_matching": face_matching.value,  # where the gate matches faces
            "city_timezone": settings.city_timezone,
            "liveness_floor": settings.gate_liveness_floor,
            "pass_public_keys": {k: _b64(v) for k, v in public_keys(self._keyring).items()},
            "passes": {
                p.pass_id: {"status": p.status.value, "uses": p.uses, "max_uses": p.max_uses}
                for p in self._passes.not_over_in_estate(estate_id, now)
            },
            "people": {
                pid: {
                    "rights": {day: _right(rights[pid]) for day, rights in rights_by_day.items() if pid in rights},
                    "templates": {
                        registry.value: {
                            encoder_id: encode_templates(blocks)
                            for encoder_id, blocks in sorted(encodings[pid][registry.value].items())
                        }
                        for registry in Registry
                        if registry.value in encodings.get(pid, {})
                    },
                }
                for pid in person_ids
            },
            "resident_codes": {
                "first_step": first_step,
                "digests": self._code_digests(snapshot_id, person_ids, first_step, steps),
            },
        }

    def _local_days(self, start: datetime, end: datetime) -> list[date]:
        first = local_date(start, self._settings.city_timezone)
        last = local_date(end, self._settings.city_timezone)
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

    def _code_digests(self, snapshot_id: str, person_ids: list[str], first_step: int, steps: int) -> dict[str, str]:
        """Per resident, the digests of their codes for `steps` steps from `first_step`, concatenated."""
        digests = {}
        for person_id in person_ids:
            secret = self._secret_for(person_id)
            if secret is None:
                continue
            joined = b"".join(
                code_digest(snapshot_id, code_for_step(person_id, secret, step))
                for step in range(first_step, first_step + steps)
            )
            digests[person_id] = _b64(joined)
        return digests

    def publish(self, estate_id: str, now: datetime) -> dict:
        """Build, sign with the active signing key, store in S3; returns the envelope."""
        key_id = self._keyring.active_signing_key_id
        document = self.build(estate_id, now)
        envelope = seal(document, key_id, self._keyring.signing_keys[key_id])
        _s3().put_object(
            Bucket=self._settings.bucket,
            Key=snapshot_key(estate_id),
            Body=json.dumps(envelope).encode(),
            ContentType="application/json",
            Metadata={
                "snapshot-id": document["snapshot_id"],
                "generated-at": document["generated_at"],
                "valid-until": document["valid_until"],
                "gallery-version": str(document["gallery_version"]),
            },
        )
        return envelope

    def locate(self, estate_id: str, now: datetime | None = None) -> dict:
        """Where a gate downloads the estate's snapshot: id, validity and a presigned URL. One HEAD and
        one GetItem; `SnapshotNotReady` while no stored snapshot may be served (a build is running)."""
        now = now or city_now()
        metadata = self._stored_metadata(estate_id)
        current = metadata is not None and int(metadata["gallery-version"]) == self._places.gallery_version(estate_id)
        if metadata is None or not current or not self._fresh(metadata, now):
            self._publish_soon(estate_id)
            if metadata is None or not current or datetime.fromisoformat(metadata["valid-until"]) <= now:
                raise SnapshotNotReady(estate_id)
        url = _s3().generate_presigned_url(
            "get_object",
            Params={"Bucket": self._settings.bucket, "Key": snapshot_key(estate_id)},
            ExpiresIn=URL_SECONDS,
        )
        return {"snapshot_id": metadata["snapshot-id"], "valid_until": metadata["valid-until"], "url": url}

    def wait_for_builds(self) -> None:
        """Block until the background builds started so far are done (tests, benchmarks)."""
        with self._lock:
            running = list(self._building.values())
        for future in running:
            future.exception()

    def _publish_soon(self, estate_id: str) -> None:
        def publish() -> None:
            try:
                self.publish(estate_id, city_now())
            except Exception:  # the next request for the estate starts another
                log.exception("snapshot %s: building it failed", estate_id)

        with self._lock:
            building = self._building.get(estate_id)
            if building is None or building.done():
                self._building[estate_id] = self._background.submit(publish)

    def _stored_metadata(self, estate_id: str) -> dict | None:
        try:
            head = _s3().head_object(Bucket=self._settings.bucket, Key=snapshot_key(estate_id))
        except ClientError as err:
            if err.response["Error"]["Code"] in {"NoSuchKey", "404"}:
                return None
            raise
        return head["Metadata"]

    def _fresh(self, metadata: dict, now: datetime) -> bool:
        generated_at = datetime.fromisoformat(metadata["generated-at"])
        valid_until = datetime.fromisoformat(metadata["valid-until"])
        refresh = refresh_after(self._settings)
        return now - generated_at < refresh and valid_until - now > refresh


def _right(right: Right) -> dict:
    return {"kind": right.kind, "home_id": right.home_id, "grant_id": right.grant_id}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _s3():
    return boto3.client("s3")

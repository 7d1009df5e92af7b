"""An estate's face gallery as one S3 object: how a cold gate function gets it in a fraction of a second.

Building a gallery from the tables reads every template of the estate's people (50,000 people:
about 100,000 BatchGetItem keys, tens of seconds). The gate function instead stores what it built
as one object, ``gate-galleries/<estate>.bin``, at the gallery version it holds; a cold instance
loads it (one GET, ~30 MB at 50,000 people) and applies the gallery change log after that version
(`PlaceRepository.gallery_changes_since`). The object therefore never has to be current, only
younger than the change log's retention.

The object is templates and membership (the right each person had when it was written), never a
photo. Layout: a 4-byte big-endian header length, the JSON header, then every template's 128
float32 values in header order.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import boto3
from botocore.exceptions import ClientError

from gridgate.config import Settings
from gridgate.domain.model import FaceTemplate, Registry
from gridgate.domain.rights import Right

#: The bucket prefix the gate function may read and write (`infra.naming.GALLERIES_PREFIX`).
GALLERIES_PREFIX = "gate-galleries/"
_ENCODING_BYTES = 128 * 4


@dataclass(frozen=True)
class StoredGallery:
    """What a gallery object holds: the version it was current at, membership and templates."""

    version: int
    rights: Mapping[str, Right]
    templates: Sequence[FaceTemplate]


def encode_gallery(gallery: StoredGallery) -> bytes:
    header = {
        "version": gallery.version,
        "rights": {pid: [r.kind, r.home_id, r.grant_id] for pid, r in gallery.rights.items()},
        "templates": [
            [t.person_id, t.source.value, t.template_no, t.encoder, t.quality, t.consent_at.isoformat()]
            for t in gallery.templates
        ],
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    return b"".join([struct.pack(">I", len(head)), head, *(t.encoding for t in gallery.templates)])


def decode_gallery(data: bytes) -> StoredGallery:
    """The inverse of `encode_gallery`; ValueError on a truncated or malformed object."""
    if len(data) < 4:
        raise ValueError("gallery object too short")
    (length,) = struct.unpack(">I", data[:4])
    header = json.loads(data[4 : 4 + length])
    body = memoryview(data)[4 + length :]
    rows = header["templates"]
    if len(body) != len(rows) * _ENCODING_BYTES:
        raise ValueError("gallery object's encodings do not match its header")
    templates = [
        FaceTemplate(
            person_id=pid,
            source=Registry(source),
            template_no=int(number),
            encoding=bytes(body[i * _ENCODING_BYTES : (i + 1) * _ENCODING_BYTES]),
            consent_at=datetime.fromisoformat(consent_at),
            quality=float(quality),
            encoder=encoder,
        )
        for i, (pid, source, number, encoder, quality, consent_at) in enumerate(rows)
    ]
    rights = {pid: Right(kind, home_id, grant_id) for pid, (kind, home_id, grant_id) in header["rights"].items()}
    return StoredGallery(int(header["version"]), rights, templates)


class GalleryObjectStore:
    """Reads and writes estates' gallery objects in the data bucket (one client: connections reused)."""

    def __init__(self, settings: Settings) -> None:
        self._bucket = settings.bucket

    @cached_property
    def _s3(self):
        return boto3.client("s3")

    @staticmethod
    def key(estate_id: str) -> str:
        return f"{GALLERIES_PREFIX}{estate_id}.bin"

    def load(self, estate_id: str) -> StoredGallery | None:
        """The estate's stored gallery, or None when there is none (or it cannot be read back)."""
        try:
            data = self._s3.get_object(Bucket=self._bucket, Key=self.key(estate_id))["Body"].read()
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise
        try:
            return decode_gallery(data)
        except (ValueError, KeyError, TypeError):  # a damaged object is rebuilt, never trusted
            return None

    def save(self, estate_id: str, gallery: StoredGallery) -> None:
        self._s3.put_object(Bucket=self._bucket, Key=self.key(estate_id), Body=encode_gallery(gallery))

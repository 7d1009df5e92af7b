"""An estate's face gallery as one columnar S3 object: how a cold gate function gets it in a fraction
of a second.

Building a gallery from the tables reads every template of the estate's people (50,000 people:
about 100,000 BatchGetItem keys, minutes against moto, tens of seconds against DynamoDB). That is
done once, off the request path (`gridgate.gate.gallery_publisher`), and stored as one object,
``gate-galleries/<estate>.npz``, at the gallery version it was current at; a cold instance loads it
(one GET) and applies the gallery change log after that version
(`PlaceRepository.gallery_changes_since`). The object therefore never has to be current, only
younger than the change log's retention.

The object is columnar (`GalleryColumns`): one float32 matrix of every template and, per row, the
owner's person id, the registry and the encoder, as numpy arrays in an uncompressed ``.npz``
(loaded without pickle). Reading it creates no Python object per person, which is what made the
first format (a JSON header of every template and right, then the vectors) cost seconds at 50,000
people. It holds what matching needs and nothing more: no photo, no right, no home, no consent
date (data minimisation: a member's right is re-read at every opening anyway).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import boto3
import numpy as np
from botocore.exceptions import ClientError

from gridgate.config import Settings
from gridgate.domain.model import RETIRED_ENCODER_IDS, FaceTemplate, Registry

#: The bucket prefix the gate function may read and write (`infra.naming.GALLERIES_PREFIX`).
GALLERIES_PREFIX = "gate-galleries/"
ENCODING_DIM = 128
#: Registry codes in the `registries` column.
REGISTRIES: tuple[Registry, ...] = tuple(Registry)
_FORMAT = "gridgate-gallery-columns-v1"


@dataclass(frozen=True, eq=False)
class GalleryColumns:
    """Templates as columns, one row each: `person_ids[i]` (unicode array) owns `encodings[i]`
    (float32, 128 wide), of registry `REGISTRIES[registries[i]]`, made by `encoder_ids[encoders[i]]`.
    Templates of a retired encoder are never held (no probe is made with it any more)."""

    person_ids: np.ndarray
    registries: np.ndarray  # uint8
    encoders: np.ndarray  # uint8
    encoder_ids: tuple[str, ...]
    encodings: np.ndarray  # (rows, 128) float32

    @classmethod
    def from_templates(cls, templates: Iterable[FaceTemplate]) -> GalleryColumns:
        chosen = [t for t in templates if t.encoder not in RETIRED_ENCODER_IDS]
        encoder_ids = tuple(sorted({t.encoder for t in chosen}))
        encoder_code = {encoder: n for n, encoder in enumerate(encoder_ids)}
        registry_code = {registry: n for n, registry in enumerate(REGISTRIES)}
        return cls(
            person_ids=np.array([t.person_id for t in chosen], dtype=str),
            registries=np.array([registry_code[t.source] for t in chosen], dtype=np.uint8),
            encoders=np.array([encoder_code[t.encoder] for t in chosen], dtype=np.uint8),
            encoder_ids=encoder_ids,
            encodings=np.frombuffer(b"".join(t.encoding for t in chosen), dtype="<f4").reshape(-1, ENCODING_DIM),
        )

    @property
    def rows(self) -> int:
        return len(self.person_ids)

    def select(self, registry: Registry, encoder_id: str) -> tuple[np.ndarray, np.ndarray]:
        """The person ids and encodings of one registry and encoder (empty when there are none)."""
        if encoder_id not in self.encoder_ids:
            return self.person_ids[:0], self.encodings[:0]
        mask = (self.registries == REGISTRIES.index(registry)) & (self.encoders == self.encoder_ids.index(encoder_id))
        return self.person_ids[mask], self.encodings[mask]

    def replacing(self, people: Collection[str], fresh: GalleryColumns) -> GalleryColumns:
        """These rows without those of `people`, plus `fresh` (array copies; no Python per row)."""
        kept = ~np.isin(self.person_ids, np.array(sorted(people), dtype=str)) if people else np.ones(self.rows, bool)
        encoder_ids = tuple(sorted({*self.encoder_ids, *fresh.encoder_ids}))
        recode = np.array([encoder_ids.index(e) for e in self.encoder_ids] or [0], dtype=np.uint8)
        fresh_recode = np.array([encoder_ids.index(e) for e in fresh.encoder_ids] or [0], dtype=np.uint8)
        return GalleryColumns(
            person_ids=np.concatenate([self.person_ids[kept], fresh.person_ids]),
            registries=np.concatenate([self.registries[kept], fresh.registries]),
            encoders=np.concatenate([recode[self.encoders[kept]], fresh_recode[fresh.encoders]]),
            encoder_ids=encoder_ids,
            encodings=np.concatenate([self.encodings[kept], fresh.encodings]),
        )

    def rows_where(self, mask: np.ndarray) -> GalleryColumns:
        return GalleryColumns(
            self.person_ids[mask], self.registries[mask], self.encoders[mask], self.encoder_ids, self.encodings[mask]
        )

    @classmethod
    def concatenated(cls, parts: list[GalleryColumns]) -> GalleryColumns:
        """All rows of `parts`, in order (an empty list gives no rows)."""
        joined = cls.from_templates([])
        for part in parts:
            joined = joined.replacing((), part)
        return joined

    def sorted_by_person(self) -> GalleryColumns:
        """The same rows grouped by person (a stored object is, so its galleries need no regrouping)."""
        order = np.argsort(self.person_ids, kind="stable")
        return GalleryColumns(
            self.person_ids[order],
            self.registries[order],
            self.encoders[order],
            self.encoder_ids,
            np.ascontiguousarray(self.encodings[order]),
        )


@dataclass(frozen=True)
class StoredGallery:
    """What a gallery object holds: the gallery version it was current at and its template rows."""

    version: int
    columns: GalleryColumns


def encode_gallery(gallery: StoredGallery) -> bytes:
    columns = gallery.columns.sorted_by_person()
    out = io.BytesIO()
    np.savez(
        out,
        format=np.array(_FORMAT),
        version=np.array(gallery.version, dtype=np.int64),
        person_ids=columns.person_ids.astype(str),
        registries=columns.registries.astype(np.uint8),
        encoders=columns.encoders.astype(np.uint8),
        encoder_ids=np.array(columns.encoder_ids, dtype=str),
        encodings=columns.encodings.astype("<f4"),
    )
    return out.getvalue()


def decode_gallery(data: bytes) -> StoredGallery:
    """The inverse of `encode_gallery`; ValueError on a truncated, malformed or foreign object."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            if str(arrays["format"]) != _FORMAT:
                raise ValueError("not a gallery object of this format")
            version = int(arrays["version"])
            columns = GalleryColumns(
                person_ids=arrays["person_ids"],
                registries=arrays["registries"],
                encoders=arrays["encoders"],
                encoder_ids=tuple(str(e) for e in arrays["encoder_ids"]),
                encodings=arrays["encodings"],
            )
    except (KeyError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"damaged gallery object: {err}") from err
    rows = columns.rows
    if (
        columns.person_ids.dtype.kind != "U"
        or columns.encodings.dtype != np.dtype("<f4")
        or columns.encodings.shape != (rows, ENCODING_DIM)
        or columns.registries.shape != (rows,)
        or columns.encoders.shape != (rows,)
        or (rows and int(columns.registries.max()) >= len(REGISTRIES))
        or (rows and int(columns.encoders.max()) >= len(columns.encoder_ids))
    ):
        raise ValueError("gallery object's columns do not agree")
    return StoredGallery(version, columns)


@dataclass(frozen=True)
class StoredObjectState:
    """What an object's metadata says without reading it: its gallery version and when it was stored
    (the project's clock at the writer). None of either: an object from before they were recorded."""

    version: int | None
    stored_at: datetime | None


_VERSION_METADATA = "gallery-version"
_STORED_AT_METADATA = "stored-at"


class GalleryObjectStore:
    """Reads and writes estates' gallery objects in the data bucket (one client: connections reused)."""

    def __init__(self, settings: Settings) -> None:
        self._bucket = settings.bucket

    @cached_property
    def _s3(self):
        return boto3.client("s3")

    @staticmethod
    def key(estate_id: str) -> str:
        return f"{GALLERIES_PREFIX}{estate_id}.npz"

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
        except ValueError:  # a damaged object is rebuilt, never trusted
            return None

    def state(self, estate_id: str) -> StoredObjectState | None:
        """The stored object's version and time (one HEAD, no body), or None when there is none."""
        try:
            metadata = self._s3.head_object(Bucket=self._bucket, Key=self.key(estate_id))["Metadata"]
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise
        version, stored_at = metadata.get(_VERSION_METADATA), metadata.get(_STORED_AT_METADATA)
        try:
            return StoredObjectState(
                int(version) if version is not None else None,
                datetime.fromisoformat(stored_at) if stored_at is not None else None,
            )
        except ValueError:  # metadata someone else wrote: as good as none
            return StoredObjectState(None, None)

    def save(self, estate_id: str, gallery: StoredGallery, stored_at: datetime) -> None:
        self._s3.put_object(
            Bucket=self._bucket,
            Key=self.key(estate_id),
            Body=encode_gallery(gallery),
            Metadata={_VERSION_METADATA: str(gallery.version), _STORED_AT_METADATA: stored_at.isoformat()},
        )

"""Reads the consents an estate's face templates need and keeps only those their purposes allow.

Every path that hands a gate templates to match goes through `ConsentedFaces.keep`: the gallery
build (`gate.gallery_publisher`), the warm gallery's deltas (`gate.estate_gallery`) and the signed
offline snapshot (`gate.snapshot_publisher`). The rule itself is pure
(`gridgate.compliance.face_purposes`); this module only reads the records it needs: the consents
of the people with an app-registry template among those templates (strongly consistent, a few in
flight at once), never the statutory records of population-registry faces, which the rule does
not ask for.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Protocol

from gridgate.compliance.face_purposes import consented_templates, people_needing_consent
from gridgate.domain.legal_records import FaceConsent
from gridgate.domain.model import FaceMatching, FaceTemplate


class ConsentSource(Protocol):
    def for_person(self, person_id: str) -> list[FaceConsent]: ...


class ConsentedFaces:
    def __init__(self, consents: ConsentSource | None = None, workers: int = 8) -> None:
        if consents is None:
            from gridgate.adapters.compliance_records import ConsentRepository

            consents = ConsentRepository()
        self._consents = consents
        self._workers = workers

    def keep(
        self, templates: Iterable[FaceTemplate], estate_id: str, at: datetime, where: FaceMatching
    ) -> list[FaceTemplate]:
        """Of `templates`, those that may be matched at `estate_id` at `at`, in the cloud or on the
        gate device (`where`)."""
        templates = list(templates)
        people = people_needing_consent(templates)
        if len(people) < 2:
            consents = {pid: self._consents.for_person(pid) for pid in people}
        else:
            with ThreadPoolExecutor(max_workers=min(self._workers, len(people))) as pool:
                consents = dict(zip(people, pool.map(self._consents.for_person, people), strict=True))
        return consented_templates(templates, consents, estate_id, at, where)

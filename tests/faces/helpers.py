"""Helpers of the face tests: image bytes, templates, a tiny city, and app requests."""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from PIL import Image

from gridgate import clock


def png_bytes(image: Image.Image, **save_args) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", **save_args)
    return out.getvalue()


def jpeg_bytes(image: Image.Image, **save_args) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", **save_args)
    return out.getvalue()


def template_bytes(encoding: np.ndarray) -> bytes:
    return np.asarray(encoding, dtype="<f4").tobytes()


@dataclass
class FaceCity:
    """One estate, its owners, and helpers to store templates: fresh ids per test."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    serial: int = 0
    estates: list[str] = field(default_factory=list)

    def next_id(self, kind: str) -> str:
        self.serial += 1
        return f"{kind}-{self.tag}-{self.serial}"

    def estate(self) -> str:
        from gridgate.adapters.repositories import PlaceRepository
        from gridgate.domain.model import Place, PlaceKind

        estate_id = self.next_id("E")
        PlaceRepository().add(Place(estate_id, PlaceKind.ESTATE, "测试小区", None))
        self.estates.append(estate_id)
        return estate_id

    def owner(self, estate_id: str, person_id: str | None = None) -> str:
        """An adult registered at a home they own at the estate since 2020 (an owner's right is derived)."""
        from gridgate.adapters.repositories import HomeRepository, OwnershipRepository, PersonRepository
        from gridgate.domain.model import Home, Ownership, Person, Registry
        from gridgate.security.identifiers import IdentifierProtector
        from gridgate.security.keyring import get_keyring

        person_id = person_id or self.next_id("P")
        home_id = self.next_id("H")
        HomeRepository().add(Home(home_id, estate_id, "B1", "1", 3, home_id, 90.0, "G1"))
        OwnershipRepository().add(Ownership(person_id, home_id, estate_id, date(2020, 1, 1)))
        id_number = f"320102{uuid.uuid4().int % 10**12:012d}"
        PersonRepository(IdentifierProtector(get_keyring())).add(
            Person(person_id, "测试", id_number, frozenset({Registry.APP}), 1985, "F", registered_home_id=home_id)
        )
        return person_id

    def template(
        self,
        person_id: str,
        encoding: np.ndarray,
        source: str = "app",
        number: int = 0,
        encoder: str | None = None,
        *,
        consent_estates: list[str] | None = None,
    ) -> None:
        """Store one template (by the current encoder unless `encoder` names another). An app-registry
        one comes with the separate consent enrolment needs: cloud matching at `consent_estates`
        (every estate of this city unless given), so the gates may match it (issue 18)."""
        from gridgate.adapters.repositories import FaceTemplateRepository
        from gridgate.domain.model import CURRENT_ENCODER_ID, FaceTemplate, Registry

        if Registry(source) == Registry.APP:
            self.consent(person_id, self.estates if consent_estates is None else consent_estates)

        FaceTemplateRepository().add(
            FaceTemplate(
                person_id,
                Registry(source),
                number,
                template_bytes(encoding),
                clock.now(),
                encoder=encoder or CURRENT_ENCODER_ID,
            )
        )

    def consent(self, person_id: str, estates: list[str], matching: str = "cloud") -> None:
        """Record the person's separate consent (as `PUT /faces/me/consent` stores it) now."""
        from gridgate.adapters.compliance_records import ConsentRepository
        from gridgate.domain.legal_records import FaceConsent, LegalBasis, Matching

        ConsentRepository().add(
            FaceConsent(
                person_id=person_id,
                basis=LegalBasis.SEPARATE_CONSENT,
                estates=frozenset(estates),
                matching=Matching(matching),
                notice_version="face-notice-2026-01",
                given_at=clock.now(),
            )
        )


def bearer(subject: str, roles=("resident",)) -> dict[str, str]:
    from gridgate.security.tokens import issue_token

    return {"Authorization": f"Bearer {issue_token(subject, roles)}"}


def send(
    client, method: str, path: str, body: bytes = b"", *, who: str | None = None, content_type: str = "image/jpeg"
):
    """One request as resident `who` (no token when None); returns (status, parsed JSON body)."""
    headers = {"Content-Type": content_type, **(bearer(who) if who else {})}
    response = client.http.request(method, path, headers=headers, body=body)
    return response.status_code, json.loads(response.body) if response.body else None


def give_consent(client, person_id: str, estate_id: str, **fields):
    """The resident's separate consent to face recognition at `estate_id` (issue 18), through the app."""
    body = {"estates": [estate_id], "matching": "cloud", "notice_version": "face-notice-2026-01", **fields}
    document = json.dumps(body).encode()
    return send(client, "PUT", "/faces/me/consent", document, who=person_id, content_type="application/json")

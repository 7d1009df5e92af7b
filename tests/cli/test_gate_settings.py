"""`gridgate gate face-matching`: an estate switched to edge matching, and what is refused."""

from __future__ import annotations

import uuid

from gridgate.adapters.repositories import PlaceRepository
from gridgate.domain.model import FaceMatching, Place, PlaceKind
from gridgate_cli.commands import app


def test_an_estate_is_switched_to_device_matching_and_back(runner, moto_server):
    estate = f"E-cli-{uuid.uuid4().hex[:6]}"
    places = PlaceRepository()
    places.add(Place(estate, PlaceKind.ESTATE, "测试小区", None))
    version = places.gallery_version(estate)
    assert places.face_matching(estate) == FaceMatching.CLOUD  # the default
    switched = runner.invoke(app, ["gate", "face-matching", estate, "device"])
    assert switched.exit_code == 0, switched.output
    assert places.face_matching(estate) == FaceMatching.DEVICE
    assert places.gallery_version(estate) == version + 1  # the stored snapshot is rebuilt with the mode
    assert runner.invoke(app, ["gate", "face-matching", estate, "cloud"]).exit_code == 0
    assert places.face_matching(estate) == FaceMatching.CLOUD


def test_an_unknown_mode_or_estate_changes_nothing(runner, moto_server):
    estate = f"E-cli-{uuid.uuid4().hex[:6]}"
    PlaceRepository().add(Place(estate, PlaceKind.ESTATE, "测试小区", None))
    assert runner.invoke(app, ["gate", "face-matching", estate, "phone"]).exit_code != 0
    assert runner.invoke(app, ["gate", "face-matching", "E-nowhere", "device"]).exit_code != 0
    assert PlaceRepository().face_matching(estate) == FaceMatching.CLOUD


def test_publishing_an_estates_gallery_stores_the_object_a_cold_gate_loads(runner, moto_server):
    from datetime import date

    import numpy as np

    from gridgate import clock
    from gridgate.adapters.compliance_records import ConsentRepository
    from gridgate.adapters.repositories import FaceTemplateRepository, OwnershipRepository
    from gridgate.domain.legal_records import FaceConsent, LegalBasis, Matching
    from gridgate.domain.model import FaceTemplate, Ownership, Registry
    from gridgate.gate.estate_gallery import EstateGalleryCache

    estate = f"E-cli-{uuid.uuid4().hex[:6]}"
    PlaceRepository().add(Place(estate, PlaceKind.ESTATE, "测试小区", None))
    owners = [f"P-{estate}-{n}" for n in range(3)]
    for n, owner in enumerate(owners):
        OwnershipRepository().add(Ownership(owner, f"H-{estate}-{n}", estate, date(2020, 1, 1)))
        vector = np.zeros(128, dtype="<f4")
        vector[n] = 1.0
        FaceTemplateRepository().add(FaceTemplate(owner, Registry.APP, 0, vector.tobytes(), clock.now()))
        consent = FaceConsent(
            owner, LegalBasis.SEPARATE_CONSENT, frozenset({estate}), Matching.CLOUD, "face-notice-2026-01", clock.now()
        )
        ConsentRepository().add(consent)  # an app face is matched only where its consent says (issue 18)
    PlaceRepository().bump_gallery_version(estate, owners)

    published = runner.invoke(app, ["gate", "publish-gallery", estate])
    assert published.exit_code == 0, published.output
    assert "3" in published.output
    cold = EstateGalleryCache()
    gallery = cold.gallery(estate)
    assert (cold.builds, cold.loads) == (0, 1) and sorted(gallery.app.person_ids) == owners
    assert runner.invoke(app, ["gate", "publish-gallery", "E-nowhere"]).exit_code != 0

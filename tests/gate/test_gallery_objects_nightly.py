"""The night builds the gallery objects gates would otherwise find missing (issue 13): the nightly
reconciliation flow, run on Prefect against moto, stores the object of a brand-new estate, and that
estate's very first face decision then opens without `gallery_not_ready`; objects the change log
will soon not reach, or too far behind, are rebuilt; current ones are left alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from gate_helpers import decision_of, new_estate_of_the_owner

from gridgate import clock
from gridgate.adapters.gallery_objects import GalleryObjectStore
from gridgate.adapters.repositories import GALLERY_CHANGE_RETENTION, PlaceRepository
from gridgate.config import get_settings
from gridgate.gate.gallery_publisher import REFRESH_MARGIN, RESTORE_EVERY_VERSIONS, GalleryPublisher, Refresh

pytestmark = [pytest.mark.testdata, pytest.mark.usefixtures("enrolled_faces")]


def test_the_nightly_flow_builds_a_missing_object_and_the_first_face_then_opens(api, gate_world, prefect_server):
    from flows.reconciliation import nightly_reconciliation

    objects = GalleryObjectStore(get_settings())
    estate, gate = new_estate_of_the_owner(api, gate_world)
    known = objects.state(gate_world.estate_id)
    assert objects.state(estate) is None and known is not None

    summary = nightly_reconciliation(export_snapshots=True)

    assert summary["gallery_objects"]["missing"] >= 1
    stored = objects.state(estate)
    assert stored is not None and stored.version == PlaceRepository().gallery_version(estate)
    assert objects.state(gate_world.estate_id) == known  # current: not built again
    face = decision_of(gate.face("/gate/entry/face", gate_world.probe_frame("owner")))
    assert (face["outcome"], face["reason"], face["person_id"]) == (
        "open",
        "resident_right",
        gate_world.residents["owner"].person_id,
    )


def test_an_object_is_rebuilt_before_the_log_stops_reaching_it_or_when_far_behind(api, gate_world):
    places, objects = PlaceRepository(), GalleryObjectStore(get_settings())
    estate, _ = new_estate_of_the_owner(api, gate_world)
    owner = gate_world.residents["owner"].person_id
    GalleryPublisher().publish(estate)
    stored_at = objects.state(estate).stored_at
    later = stored_at + GALLERY_CHANGE_RETENTION - REFRESH_MARGIN
    assert GalleryPublisher(now=lambda: later).needs(estate) == Refresh.CURRENT  # old, but nothing changed

    places.bump_gallery_version(estate, [owner])
    assert GalleryPublisher(now=lambda: later - timedelta(minutes=1)).needs(estate) == Refresh.CURRENT
    assert GalleryPublisher(now=lambda: later).refresh(estate) == Refresh.LOG_EXPIRING
    rebuilt = objects.state(estate)
    assert (rebuilt.version, rebuilt.stored_at) == (places.gallery_version(estate), later)

    for _ in range(RESTORE_EVERY_VERSIONS):  # each change logs its own version
        places.bump_gallery_version(estate, [])
    assert GalleryPublisher().needs(estate) == Refresh.FAR_BEHIND
    assert GalleryPublisher().refresh(estate) == Refresh.FAR_BEHIND
    assert GalleryPublisher().needs(estate) == Refresh.CURRENT
    assert clock.now() >= stored_at

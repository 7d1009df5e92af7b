"""The warm per-estate gallery cache against moto's server: loaded from the estate's object (built
off the request path), then kept current by deltas; never built inside a decision."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from gridgate.adapters.grant_repository import GrantRepository
from gridgate.adapters.repositories import FaceTemplateRepository, OwnershipRepository, PlaceRepository
from gridgate.adapters.tables import PlaceTable
from gridgate.domain.model import Grant, GrantStatus, Registry, Relation
from gridgate.gate.estate_gallery import GAP_PATIENCE_SECONDS, EstateGalleryCache, GalleryNotReady
from gridgate.gate.gallery_contents import members_with_upcoming
from gridgate.gate.gallery_publisher import GalleryPublisher
from gridgate.residents.entry_rights import effective_right

P01_TEMPLATES = ["faces/deepface_person01/img5.jpg", "faces/deepface_person01/img10.jpg"]
P01_PROBE = "faces/deepface_person01/img11.jpg"
P09_TEMPLATE, P09_PROBE = "faces/deepface_person09/img25.jpg", "faces/deepface_person09/img24.jpg"


class CountingPlaces(PlaceRepository):
    """The real repository, counting version and change-log reads (the cache's per-decision cost)."""

    def __init__(self) -> None:
        self.version_reads = 0
        self.log_reads = 0

    def gallery_version(self, estate_id: str) -> int:
        self.version_reads += 1
        return super().gallery_version(estate_id)

    def gallery_changes_since(self, estate_id: str, version: int):
        self.log_reads += 1
        return super().gallery_changes_since(estate_id, version)


class CountingTemplates(FaceTemplateRepository):
    """The real repository, recording whose templates the cache re-read."""

    def __init__(self) -> None:
        self.read_for: list[list[str]] = []

    def for_people_batched(self, person_ids, workers: int = 8):
        people = list(person_ids)
        self.read_for.append(people)
        return super().for_people_batched(people, workers)


def estate_with_two_residents(face_city, probe_of, *, published: bool = True):
    """p01 enrolled in the app (two selfies); p09 known only to the population registry; the
    estate's gallery object published (what the operator or a first gate's background build does)."""
    estate = face_city.estate()
    p01, p09 = face_city.owner(estate), face_city.owner(estate)
    for number, relative in enumerate(P01_TEMPLATES):
        face_city.template(p01, probe_of(relative).encoding, "app", number)
    face_city.template(p09, probe_of(P09_TEMPLATE).encoding, "population")
    if published:
        GalleryPublisher().publish(estate)
    return estate, p01, p09


def test_the_gallery_holds_each_registry_of_the_people_with_a_right(face_city, probe_of):
    estate, p01, p09 = estate_with_two_residents(face_city, probe_of)
    outsider = face_city.next_id("P")  # enrolled, but no home here
    face_city.template(outsider, probe_of("faces/kit_harington/john2.jpeg").encoding)
    PlaceRepository().bump_gallery_version(estate, [outsider])
    gallery = EstateGalleryCache().gallery(estate)
    assert gallery.people == 2 and set(gallery.columns.person_ids) == {p01, p09}
    assert (gallery.app.person_ids, gallery.app.templates) == ((p01,), 2)
    assert gallery.population.person_ids == (p09,)


def test_matching_through_the_cache_names_person_and_registry(face_city, probe_of):
    estate, p01, p09 = estate_with_two_residents(face_city, probe_of)
    cache = EstateGalleryCache()
    resident = cache.match(estate, probe_of(P01_PROBE))
    assert resident.accepted and (resident.person_id, resident.registry) == (p01, Registry.APP)
    registry_only = cache.match(estate, probe_of(P09_PROBE))
    assert registry_only.accepted and (registry_only.person_id, registry_only.registry) == (p09, Registry.POPULATION)
    assert (cache.builds, cache.loads) == (0, 1)


def test_a_change_is_applied_by_re_reading_only_the_people_it_names(face_city, probe_of):
    estate, p01, p09 = estate_with_two_residents(face_city, probe_of)
    places, templates = CountingPlaces(), CountingTemplates()
    cache = EstateGalleryCache(places=places, templates=templates)
    first = cache.gallery(estate)
    assert cache.gallery(estate) is first and (cache.builds, cache.loads) == (0, 1)
    assert (places.version_reads, places.log_reads) == (2, 0)  # one GetItem per decision, nothing else

    face_city.template(p09, probe_of(P09_PROBE).encoding, "app")  # p09 enrols in the app ...
    assert cache.gallery(estate) is first  # ... unseen until the version says so
    PlaceRepository().bump_gallery_version(estate, [p09])
    updated = cache.gallery(estate)
    assert (cache.builds, cache.deltas) == (0, 1) and updated.version == first.version + 1
    assert set(updated.app.person_ids) == {p01, p09} and updated.app.templates == 3
    assert templates.read_for[-1] == [p09]  # the delta read p09's templates, not the estate's
    assert places.log_reads == 1


def test_an_ended_ownership_leaves_the_gallery_at_the_next_decision(face_city, probe_of):
    estate, p01, _ = estate_with_two_residents(face_city, probe_of)
    cache = EstateGalleryCache()
    assert cache.match(estate, probe_of(P01_PROBE)).person_id == p01
    (home_id,) = [o.home_id for o in OwnershipRepository().for_person(p01)]
    OwnershipRepository().end(p01, home_id, date(2021, 1, 1))
    PlaceRepository().bump_gallery_version(estate, [p01])
    after = cache.match(estate, probe_of(P01_PROBE))
    assert not after.accepted and p01 not in set(cache.gallery(estate).columns.person_ids)
    assert (cache.builds, cache.deltas) == (0, 1)


def test_several_changes_are_applied_in_one_read(face_city, probe_of):
    estate, p01, p09 = estate_with_two_residents(face_city, probe_of)
    cache = EstateGalleryCache()
    first = cache.gallery(estate)
    FaceTemplateRepository().delete_for_person(p01)  # a withdrawal ...
    PlaceRepository().bump_gallery_version(estate, [p01])
    face_city.template(p09, probe_of(P09_PROBE).encoding, "app")  # ... and an enrolment
    PlaceRepository().bump_gallery_version(estate, [p09])
    now = cache.gallery(estate)
    assert now.version == first.version + 2 and cache.deltas == 2 and cache.builds == 0
    assert now.app.person_ids == (p09,) and not now.match(probe_of(P01_PROBE)).accepted


def test_version_checks_can_be_spaced_out(face_city, probe_of):
    estate, _, p09 = estate_with_two_residents(face_city, probe_of)
    places, clock = CountingPlaces(), [1000.0]
    cache = EstateGalleryCache(places=places, check_every_seconds=5.0, monotonic=lambda: clock[0])
    first = cache.gallery(estate)
    PlaceRepository().bump_gallery_version(estate, [p09])
    clock[0] += 4.0
    assert cache.gallery(estate) is first and places.version_reads == 1  # within 5 s: not even read
    clock[0] += 2.0
    assert cache.gallery(estate) is not first and places.version_reads == 2 and cache.deltas == 1


def test_midnight_rebuilds_nothing_and_a_grant_starting_tomorrow_is_already_a_member(face_city, probe_of):
    estate, p01, _ = estate_with_two_residents(face_city, probe_of)
    tenant = face_city.next_id("P")
    face_city.template(tenant, probe_of(P09_PROBE).encoding, "app")
    noon = datetime(2031, 5, 4, 4, 0, tzinfo=UTC)  # 12:00 in the city (UTC+8)
    (home_id,) = [o.home_id for o in OwnershipRepository().for_person(p01)]
    tomorrow = date(2031, 5, 5)
    grant = Grant(
        "G-" + tenant, home_id, estate, tenant, Relation.TENANT, tomorrow, None, p01, GrantStatus.ACTIVE, noon
    )
    GrantRepository().create(grant, cap=5)
    PlaceRepository().bump_gallery_version(estate, [tenant])
    cache = EstateGalleryCache()
    before = cache.gallery(estate, noon)
    assert tenant in set(before.columns.person_ids)  # a member before the right starts
    assert effective_right(tenant, estate, noon) is None  # ... which the decision still refuses
    assert cache.gallery(estate, noon + timedelta(hours=13)) is before  # 01:00 local: a new day
    assert (cache.builds, cache.loads, cache.deltas) == (0, 1, 1)
    assert effective_right(tenant, estate, noon + timedelta(hours=13)) is not None


def test_a_cold_instance_loads_the_stored_gallery_and_applies_the_log_after_it(face_city, probe_of):
    estate, p01, p09 = estate_with_two_residents(face_city, probe_of)
    built = EstateGalleryCache().gallery(estate)
    face_city.template(p09, probe_of(P09_PROBE).encoding, "app")
    PlaceRepository().bump_gallery_version(estate, [p09])
    cold = EstateGalleryCache()
    gallery = cold.gallery(estate)
    assert (cold.builds, cold.loads, cold.deltas) == (0, 1, 1)
    assert gallery.version == built.version + 1 and set(gallery.app.person_ids) == {p01, p09}
    assert cold.match(estate, probe_of(P01_PROBE)).person_id == p01


def test_a_gap_in_the_log_waits_then_is_rebuilt_off_the_request_path(face_city, probe_of):
    estate, _, _ = estate_with_two_residents(face_city, probe_of)
    clock = [1000.0]
    cache = EstateGalleryCache(monotonic=lambda: clock[0])
    first = cache.gallery(estate)
    PlaceTable(place_id=estate).update(actions=[PlaceTable.gallery_version.add(1)])  # its entry not (yet) written
    assert cache.gallery(estate) is first and cache.builds == 0  # held at the last version it could apply
    clock[0] += GAP_PATIENCE_SECONDS
    with pytest.raises(GalleryNotReady):  # not exact any more: faces wait for the rebuild, decisions do not
        cache.gallery(estate)
    cache.wait_for_objects()
    assert cache.gallery(estate).version == first.version + 1 and (cache.builds, cache.loads) == (1, 2)


def test_no_decision_waits_for_a_first_build(face_city, probe_of):
    """An estate without an object: the gallery refuses at once, without reading one template on the
    request's thread, and builds the object in the background; the next decision loads it."""
    estate, p01, _ = estate_with_two_residents(face_city, probe_of, published=False)
    templates, release = CountingTemplates(), threading.Event()

    def members_after_release(estate_id, on):  # the build cannot finish before we looked
        release.wait(10)
        return members_with_upcoming(estate_id, on)

    cache = EstateGalleryCache(templates=templates, members=members_after_release)
    with pytest.raises(GalleryNotReady):
        cache.gallery(estate)
    with pytest.raises(GalleryNotReady):  # a second decision meanwhile: still no wait, one build
        cache.match(estate, probe_of(P01_PROBE))
    assert templates.read_for == [] and cache.builds == 0
    release.set()
    cache.wait_for_objects()
    assert templates.read_for and cache.builds == 1  # the one build, in the background
    assert cache.match(estate, probe_of(P01_PROBE)).person_id == p01 and cache.loads == 1


def test_least_recently_used_estates_are_dropped(face_city, probe_of):
    first, _, _ = estate_with_two_residents(face_city, probe_of)
    second, _, _ = estate_with_two_residents(face_city, probe_of)
    cache = EstateGalleryCache(max_people=2)  # one estate of two people fits, two do not
    cache.gallery(first)
    cache.gallery(second)
    cache.gallery(first)  # dropped: loaded again, from its object
    assert (cache.builds, cache.loads) == (0, 3)

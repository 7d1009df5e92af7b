"""The warm per-estate gallery cache against moto's server: built once, rebuilt on a version bump."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from gridgate.adapters.repositories import OwnershipRepository, PlaceRepository
from gridgate.domain.model import Registry
from gridgate.gate.estate_gallery import EstateGalleryCache

P01_TEMPLATES = ["faces/deepface_person01/img5.jpg", "faces/deepface_person01/img10.jpg"]
P01_PROBE = "faces/deepface_person01/img11.jpg"
P09_TEMPLATE, P09_PROBE = "faces/deepface_person09/img25.jpg", "faces/deepface_person09/img24.jpg"


class CountingPlaces(PlaceRepository):
    """The real repository, counting version reads (the cache's per-decision cost)."""

    def __init__(self) -> None:
        self.version_reads = 0

    def gallery_version(self, estate_id: str) -> int:
        self.version_reads += 1
        return super().gallery_version(estate_id)


def estate_with_two_residents(face_city, probe_of):
    """p01 enrolled in the app (two selfies); p09 known only to the population registry."""
    estate = face_city.estate()
    p01, p09 = face_city.owner(estate), face_city.owner(estate)
    for number, relative in enumerate(P01_TEMPLATES):
        face_city.template(p01, probe_of(relative).encoding, "app", number)
    face_city.template(p09, probe_of(P09_TEMPLATE).encoding, "population")
    return estate, p01, p09


def test_the_gallery_holds_each_registry_of_the_people_with_a_right(face_city, probe_of):
    estate, p01, p09 = estate_with_two_residents(face_city, probe_of)
    outsider = face_city.next_id("P")  # enrolled, but no home here
    face_city.template(outsider, probe_of("faces/kit_harington/john2.jpeg").encoding)
    gallery = EstateGalleryCache().gallery(estate)
    assert set(gallery.rights) == {p01, p09} and gallery.rights[p01].kind == "owner"
    assert (gallery.app.person_ids, gallery.app.templates) == ((p01,), 2)
    assert gallery.population.person_ids == (p09,)


def test_matching_through_the_cache_names_person_and_registry(face_city, probe_of):
    estate, p01, p09 = estate_with_two_residents(face_city, probe_of)
    cache = EstateGalleryCache()
    resident = cache.match(estate, probe_of(P01_PROBE))
    assert resident.accepted and (resident.person_id, resident.registry) == (p01, Registry.APP)
    registry_only = cache.match(estate, probe_of(P09_PROBE))
    assert registry_only.accepted and (registry_only.person_id, registry_only.registry) == (p09, Registry.POPULATION)
    assert cache.builds == 1


def test_rebuilt_after_a_version_bump_and_only_then(face_city, probe_of):
    estate, p01, p09 = estate_with_two_residents(face_city, probe_of)
    places = CountingPlaces()
    cache = EstateGalleryCache(places=places)
    first = cache.gallery(estate)
    assert cache.gallery(estate) is first and cache.builds == 1
    assert places.version_reads == 2  # one GetItem per decision, no rebuild

    face_city.template(p09, probe_of(P09_PROBE).encoding, "app")  # p09 enrols in the app ...
    assert cache.gallery(estate) is first  # ... unseen until the version says so
    PlaceRepository().bump_gallery_version(estate)
    rebuilt = cache.gallery(estate)
    assert cache.builds == 2 and rebuilt.version == first.version + 1
    assert set(rebuilt.app.person_ids) == {p01, p09}


def test_an_ended_ownership_leaves_the_gallery_at_the_next_decision(face_city, probe_of):
    estate, p01, _ = estate_with_two_residents(face_city, probe_of)
    cache = EstateGalleryCache()
    assert cache.match(estate, probe_of(P01_PROBE)).person_id == p01
    (home_id,) = [o.home_id for o in OwnershipRepository().for_person(p01)]
    OwnershipRepository().end(p01, home_id, date(2021, 1, 1))
    PlaceRepository().bump_gallery_version(estate)
    after = cache.match(estate, probe_of(P01_PROBE))
    assert not after.accepted and p01 not in cache.gallery(estate).rights


def test_version_checks_can_be_spaced_out(face_city, probe_of):
    estate, _, _ = estate_with_two_residents(face_city, probe_of)
    places, clock = CountingPlaces(), [1000.0]
    cache = EstateGalleryCache(places=places, check_every_seconds=5.0, monotonic=lambda: clock[0])
    first = cache.gallery(estate)
    PlaceRepository().bump_gallery_version(estate)
    clock[0] += 4.0
    assert cache.gallery(estate) is first and places.version_reads == 1  # within 5 s: not even read
    clock[0] += 2.0
    assert cache.gallery(estate) is not first and places.version_reads == 2 and cache.builds == 2


def test_a_new_local_day_rebuilds(face_city, probe_of):
    estate, _, _ = estate_with_two_residents(face_city, probe_of)
    cache = EstateGalleryCache()
    noon = datetime(2031, 5, 4, 4, 0, tzinfo=UTC)  # 12:00 in the city (UTC+8)
    cache.gallery(estate, noon)
    cache.gallery(estate, noon + timedelta(hours=11))  # 23:00 local: same day
    assert cache.builds == 1
    cache.gallery(estate, noon + timedelta(hours=13))  # 01:00 local: a new day
    assert cache.builds == 2


def test_least_recently_used_estates_are_dropped(face_city, probe_of):
    first, _, _ = estate_with_two_residents(face_city, probe_of)
    second, _, _ = estate_with_two_residents(face_city, probe_of)
    cache = EstateGalleryCache(max_estates=1)
    cache.gallery(first)
    cache.gallery(second)
    cache.gallery(first)
    assert cache.builds == 3

"""A gallery delta (`Gallery.replacing`, `EstateGallery.updated`) finds exactly what a full rebuild
of the same people would: the warm gate galleries are only ever changed this way."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import pytest

from gridgate.adapters.gallery_objects import REGISTRIES, decode_gallery, encode_gallery
from gridgate.domain.model import CURRENT_ENCODER_ID, LEGACY_ENCODER_ID, RETIRED_ENCODER_IDS, FaceTemplate, Registry
from gridgate.domain.rights import Right
from gridgate.faces.matcher import Gallery
from gridgate.gate.gallery_contents import EstateGallery

pytestmark = pytest.mark.fast

CONSENT = datetime(2024, 1, 1, tzinfo=UTC)


def _templates(rng, people: list[str], per_person: int = 2, source: Registry = Registry.APP) -> list[FaceTemplate]:
    out = []
    for pid in people:
        for number in range(per_person):
            vector = rng.normal(size=128).astype("<f4")
            vector /= np.linalg.norm(vector)
            out.append(FaceTemplate(pid, source, number, vector.tobytes(), CONSENT, encoder=CURRENT_ENCODER_ID))
    return out


def _nearest_everywhere(gallery: Gallery, probes: np.ndarray) -> list:
    """Who is nearest and runner-up for each probe, with the distances to 3 decimals (a
    delta gallery multiplies a different stack of the same rows, and a probe equal to a template is
    at sqrt(rounding error), up to ~3e-4, from it)."""
    found = [gallery.nearest(probe) for probe in probes]
    return [
        None if c is None else (c.person_id, round(c.distance, 3), c.runner_up_id, round(c.runner_up_distance, 3))
        for c in found
    ]


def test_replacing_people_matches_like_a_gallery_built_from_scratch():
    rng = np.random.default_rng(5)
    people = [f"P{n:04d}" for n in range(300)]
    before = _templates(rng, people)
    gallery = Gallery.from_templates(Registry.APP, before)
    # P0003 withdraws, P0100 re-enrols with one new face, P9999 arrives, P0200 loses their right
    changed = {"P0003", "P0100", "P9999", "P0200"}
    fresh = _templates(rng, ["P0100"], 1) + _templates(rng, ["P9999"], 3)
    after = [t for t in before if t.person_id not in changed] + fresh
    probes = np.array([np.frombuffer(t.encoding, "<f4") for t in after[::7]])

    replaced = gallery.replacing(changed, fresh)
    rebuilt = Gallery.from_templates(Registry.APP, after)
    assert sorted(replaced.person_ids) == sorted(rebuilt.person_ids) and replaced.templates == rebuilt.templates
    assert _nearest_everywhere(replaced, probes) == _nearest_everywhere(rebuilt, probes)
    assert replaced.nearest(np.frombuffer(before[6].encoding, "<f4")).person_id != "P0003"


def test_an_estate_gallery_delta_equals_its_full_build():
    rng = np.random.default_rng(6)
    people = [f"P{n:03d}" for n in range(60)]
    templates = _templates(rng, people[:40]) + _templates(rng, people[40:], 1, Registry.POPULATION)
    rights = {pid: Right("owner", f"H-{pid}") for pid in people}
    gallery = EstateGallery.of("E1", 1, rights, templates, 0.0)

    changed = ["P001", "P045", "P077"]  # a withdrawal, a registry face replaced, a newcomer
    new_rights = {"P045": rights["P045"], "P077": Right("tenant", "H-P000", "G1")}
    fresh = _templates(rng, ["P045"], 1, Registry.POPULATION) + _templates(rng, ["P077"], 2)
    delta = gallery.updated(2, changed, new_rights, fresh)

    everyone = {**{p: r for p, r in rights.items() if p not in changed}, **new_rights}
    kept = [t for t in templates if t.person_id not in changed]
    full = EstateGallery.of("E1", 2, everyone, kept + fresh, 0.0)
    assert delta.version == 2 and delta.people == full.people == 60  # P001 out, P077 in
    assert _rows(delta) == _rows(full)
    probes = np.array([np.frombuffer(t.encoding, "<f4") for t in (kept + fresh)[::3]])
    for registry in ("app", "population"):
        mine, theirs = getattr(delta, registry), getattr(full, registry)
        assert _nearest_everywhere(mine, probes) == _nearest_everywhere(theirs, probes)


def test_stored_columns_read_back_into_the_same_galleries():
    """The estate's object (`encode_gallery`) holds the rows that matching needs and decodes into
    galleries that find the same nearest people, with no Python object per template on the way."""
    rng = np.random.default_rng(7)
    people = [f"P{n:03d}" for n in range(80)]
    templates = _templates(rng, people[:50]) + _templates(rng, people[50:], 1, Registry.POPULATION)
    templates.append(FaceTemplate("P000", Registry.APP, 9, templates[0].encoding, CONSENT, encoder=LEGACY_ENCODER_ID))
    templates.append(
        FaceTemplate("P001", Registry.APP, 8, templates[2].encoding, CONSENT, encoder=next(iter(RETIRED_ENCODER_IDS)))
    )
    gallery = EstateGallery.of("E1", 7, {pid: Right("owner", f"H-{pid}") for pid in people}, templates, 0.0)

    stored = decode_gallery(encode_gallery(gallery.stored()))
    loaded = EstateGallery.from_columns("E1", stored.version, stored.columns, 0.0)
    assert stored.version == 7 and _rows(loaded) == _rows(gallery)
    assert [g.encoder_id for g in loaded.encoders] == [CURRENT_ENCODER_ID, LEGACY_ENCODER_ID]  # retired: left out
    probes = np.array([np.frombuffer(t.encoding, "<f4") for t in templates[::4]])
    for group, reread in zip(gallery.encoders, loaded.encoders, strict=True):
        for registry in ("app", "population"):
            assert _nearest_everywhere(getattr(group, registry), probes) == _nearest_everywhere(
                getattr(reread, registry), probes
            )


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04 not a zip", "truncated", "foreign"])
def test_a_damaged_gallery_object_is_refused_not_trusted(damage):
    rng = np.random.default_rng(8)
    good = encode_gallery(EstateGallery.of("E1", 1, {"P1": Right("owner", "H")}, _templates(rng, ["P1"]), 0.0).stored())
    if damage == "truncated":
        damage = good[: len(good) // 2]
    elif damage == "foreign":
        out = io.BytesIO()
        np.savez(out, format=np.array("something else"), version=np.array(1))
        damage = out.getvalue()
    with pytest.raises(ValueError):
        decode_gallery(damage)


def _rows(gallery: EstateGallery) -> set[tuple[str, str, str, bytes]]:
    """The gallery's template rows, order aside: (person, registry, encoder, encoding)."""
    columns = gallery.columns
    return {
        (str(pid), REGISTRIES[reg].value, columns.encoder_ids[enc], vector.tobytes())
        for pid, reg, enc, vector in zip(
            columns.person_ids, columns.registries, columns.encoders, columns.encodings, strict=True
        )
    }


def test_pending_deltas_make_the_columns_a_full_build_would():
    """Deltas change the galleries at once and leave the stored columns to be made later (the
    background store): made from several deltas, one person changed twice, they are the rows a full
    build of the final state has; a gallery whose columns were made continues from them."""
    rng = np.random.default_rng(9)
    people = [f"P{n:03d}" for n in range(30)]
    templates = _templates(rng, people)
    rights = {pid: Right("owner", f"H-{pid}") for pid in people}
    gallery = EstateGallery.of("E1", 1, rights, templates, 0.0)
    first = _templates(rng, ["P005", "P100"], 1)
    second = _templates(rng, ["P005"], 3)
    step = gallery.updated(2, ["P005", "P100", "P007"], {"P005": rights["P005"], "P100": Right("tenant", "H")}, first)
    assert step.pending and step.people == 30  # P007 out, P100 in
    step.stored()  # what the background store does: the columns are made
    final = step.updated(3, ["P005"], {"P005": rights["P005"]}, second).updated(4, ["P009"], {}, [])
    assert len(final.pending) == 2  # continued from the columns step made

    kept = [t for t in templates if t.person_id not in {"P005", "P007", "P009"}]
    full = EstateGallery.of("E1", 4, {**rights, "P100": Right("tenant", "H")}, kept + first[1:] + second, 0.0)
    assert _rows(final) == _rows(full) and final.people == full.people == 29
    chained = gallery.updated(
        2, ["P005", "P100", "P007"], {"P005": rights["P005"], "P100": Right("tenant", "H")}, first
    )
    chained = chained.updated(3, ["P005"], {"P005": rights["P005"]}, second).updated(4, ["P009"], {}, [])
    assert len(chained.pending) == 3 and _rows(chained) == _rows(full)


def test_a_delta_gallery_copies_only_the_changed_people_and_stays_exact_through_compactions():
    """300 random changes (enrolments, re-enrolments, withdrawals) applied one by one to a delta
    gallery: after each the same nearest people and template count as a gallery built from scratch;
    the base matrix is shared (not copied) by every change until a compaction folds the overlay in;
    a withdrawn person never matches from the very next change."""
    from gridgate.gate.delta_gallery import COMPACT_SHARE, DeltaGallery

    rng = np.random.default_rng(11)
    people = [f"P{n:04d}" for n in range(1_000)]
    current: dict[str, list[FaceTemplate]] = {}
    for template in _templates(rng, people[:800]):
        current.setdefault(template.person_id, []).append(template)
    gallery = DeltaGallery.over(Gallery.from_templates(Registry.APP, [t for ts in current.values() for t in ts]))
    base_matrix = gallery._base.gallery._templates
    shared, compactions = 0, 0
    for step in range(300):
        person = people[int(rng.integers(0, len(people)))]
        withdrawn = person in current and rng.random() < 0.4
        fresh = [] if withdrawn else _templates(rng, [person], int(rng.integers(1, 3)))
        if withdrawn:
            del current[person]
        else:
            current[person] = fresh
        gallery = gallery.replacing({person}, fresh)
        if gallery._base.gallery._templates is base_matrix:
            shared += 1
            assert gallery._overlay.templates <= max(64, COMPACT_SHARE * gallery._base.gallery.templates)
        else:
            compactions += 1
            base_matrix = gallery._base.gallery._templates
        rebuilt = Gallery.from_templates(Registry.APP, [t for ts in current.values() for t in ts])
        assert (gallery.templates, gallery.people) == (rebuilt.templates, rebuilt.people)
        if step % 10 == 0 or withdrawn:
            probes = np.array([np.frombuffer(t.encoding, "<f4") for ts in list(current.values())[::97] for t in ts])
            assert _nearest_everywhere(gallery, probes) == _nearest_everywhere(rebuilt, probes)
        if withdrawn:
            assert not gallery.holds(person) and person not in gallery.person_ids
    assert shared > 250 and compactions >= 1  # most changes copied no base row

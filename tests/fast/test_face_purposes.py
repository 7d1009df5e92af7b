"""The consent-purpose rule (`compliance.face_purposes`) and the reader that applies it
(`gate.consented_faces`), over plain records and a fake consent store."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gridgate.compliance.face_purposes import consented_templates, governing_consent, may_match
from gridgate.domain.legal_records import POPULATION_REGISTRY_STATUTE, FaceConsent, LegalBasis, Matching
from gridgate.domain.model import FaceMatching, FaceTemplate, Registry
from gridgate.gate.consented_faces import ConsentedFaces

from .fakes import FakeConsents

pytestmark = pytest.mark.fast

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
CLOUD, DEVICE = FaceMatching.CLOUD, FaceMatching.DEVICE


def consent(estates, matching=Matching.CLOUD, *, given=NOON - timedelta(days=1), withdrawn=None, person="P1"):
    return FaceConsent(
        person, LegalBasis.SEPARATE_CONSENT, frozenset(estates), matching, "face-notice-2026-01", given,
        withdrawn_at=withdrawn,
    )  # fmt: skip


def template(person="P1", source=Registry.APP) -> FaceTemplate:
    return FaceTemplate(person, source, 0, b"\0" * 512, NOON - timedelta(days=2))


def test_a_face_consented_for_estate_a_is_matched_at_a_only():
    held = [consent({"A"})]
    assert may_match(template(), held, "A", NOON, CLOUD) and may_match(template(), held, "A", NOON, DEVICE)
    assert not may_match(template(), held, "B", NOON, CLOUD) and not may_match(template(), held, "B", NOON, DEVICE)
    assert not may_match(template(), [], "A", NOON, CLOUD)  # no consent, no match


def test_device_only_is_never_matched_by_the_cloud_only_on_the_device():
    held = [consent({"A"}, Matching.DEVICE_ONLY)]
    assert not may_match(template(), held, "A", NOON, CLOUD)
    assert may_match(template(), held, "A", NOON, DEVICE)


def test_the_latest_consent_in_force_governs_a_narrowing_and_a_withdrawal():
    wide = consent({"A", "B"}, given=NOON - timedelta(days=3))
    narrow = consent({"A"}, given=NOON - timedelta(hours=1))
    assert may_match(template(), [wide], "B", NOON, CLOUD)
    assert governing_consent([wide, narrow], NOON) == narrow
    assert not may_match(template(), [wide, narrow], "B", NOON, CLOUD)
    assert may_match(template(), [wide, narrow], "B", NOON - timedelta(hours=2), CLOUD)  # before it was narrowed
    withdrawn = consent({"A"}, given=NOON - timedelta(hours=1), withdrawn=NOON - timedelta(minutes=1))
    assert governing_consent([withdrawn], NOON) is None and not may_match(template(), [withdrawn], "A", NOON, CLOUD)
    statutory = FaceConsent(
        "P1", LegalBasis.STATUTE, frozenset(), Matching.CLOUD, "-", NOON - timedelta(days=9),
        statute=POPULATION_REGISTRY_STATUTE,
    )  # fmt: skip
    assert governing_consent([statutory], NOON) is None  # a statute is not a consent to app faces


def test_population_registry_templates_keep_their_statutory_rule():
    registry = template(source=Registry.POPULATION)
    assert may_match(registry, [], "B", NOON, CLOUD) and may_match(registry, [consent({"A"})], "B", NOON, CLOUD)


def test_consented_templates_keep_only_the_permitted_people():
    templates = [template("P1"), template("P2"), template("P3"), template("P4", Registry.POPULATION)]
    consents = {"P1": [consent({"A"}, person="P1")], "P2": [consent({"A"}, Matching.DEVICE_ONLY, person="P2")]}
    kept = consented_templates(templates, consents, "A", NOON, CLOUD)
    assert [t.person_id for t in kept] == ["P1", "P4"]  # P2 device-only, P3 without a consent
    kept = consented_templates(templates, consents, "A", NOON, DEVICE)
    assert [t.person_id for t in kept] == ["P1", "P2", "P4"]


class CountingConsents(FakeConsents):
    """The fake consent table, noting whose records were read."""

    def __init__(self, *consents: FaceConsent) -> None:
        super().__init__()
        self.read: list[str] = []
        for record in consents:
            self.add(record)

    def for_person(self, person_id: str) -> list:
        self.read.append(person_id)
        return super().for_person(person_id)


def test_the_reader_reads_consents_only_of_app_template_owners():
    store = CountingConsents(consent({"A"}), consent({"B"}, person="P2"))
    templates = [template("P1"), template("P2"), template("P2"), template("P9", Registry.POPULATION)]
    kept = ConsentedFaces(store).keep(templates, "A", NOON, CLOUD)
    assert [t.person_id for t in kept] == ["P1", "P9"]
    assert sorted(store.read) == ["P1", "P2"]  # once each, never the registry-only person

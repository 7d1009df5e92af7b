"""Templates held past the retention policy are deleted by the night's purge, not only counted
(issue 18 point 3; 2025 face measures Art. 8), against moto: only the expired template goes, every
gallery that may hold the person is told (one change-log entry naming them), the purge is audited
with counts only, and the compliance report then counts none over the policy."""

from __future__ import annotations

from datetime import timedelta

from gridgate import clock
from gridgate.adapters.audit import AuditLog
from gridgate.adapters.repositories import FaceTemplateRepository, PlaceRepository
from gridgate.compliance.report_sources import stored_compliance_report
from gridgate.config import get_settings
from gridgate.domain.model import FaceTemplate, Registry
from gridgate.residents.face_retention import FaceRetention


def test_the_purge_deletes_only_templates_past_the_policy_and_tells_their_galleries(city):
    estate = city.estate(homes=2)
    old_owner, fresh_owner = (estate.owners[home] for home in estate.homes[:2])
    now = clock.now()
    days = get_settings().face_template_retention_days
    templates = FaceTemplateRepository()
    templates.add(FaceTemplate(old_owner, Registry.APP, 0, b"\0" * 512, now - timedelta(days=days + 1)))
    templates.add(FaceTemplate(old_owner, Registry.APP, 1, b"\1" * 512, now - timedelta(days=days - 1)))
    templates.add(FaceTemplate(fresh_owner, Registry.APP, 0, b"\2" * 512, now - timedelta(days=3)))
    places = PlaceRepository()
    before = places.gallery_version(estate.estate_id)
    assert stored_compliance_report(get_settings()).report().templates.over_policy >= 1

    done = FaceRetention().purge(request_id="night-1")

    assert (done.templates_deleted, done.people) == (1, 1) and done.estates_changed >= 1
    assert [t.template_no for t in templates.for_person(old_owner)] == [1]  # the younger one stays
    assert len(templates.for_person(fresh_owner)) == 1
    changes = places.gallery_changes_since(estate.estate_id, before)
    assert [c.person_ids for c in changes] == [frozenset({old_owner})]
    [audit] = [r for r in AuditLog().about("face_templates") if r.action == "face.retention.purged"]
    assert audit.detail["templates_deleted"] == 1 and old_owner not in str(audit.detail)
    assert stored_compliance_report(get_settings()).report().templates.over_policy == 0
    assert FaceRetention().purge().templates_deleted == 0  # a second night finds nothing

"""A finding or a key-group alert as one scope may see it: the webhook's ``data`` and an export row.

What every scope gets is what acting on it needs and no more: the finding's stable id, its type
(with the catalogue's title in Chinese, `finding.<type>`), severity, status, when it was first
detected (labelled UTC and local times), where it is (grid, estate, district, home), and the
facts that made it a finding that identify nobody (`FACTS`: counts, limits, times, a gate). The
person is a pseudonym keyed for the subscriber (`person_ref`); ``city`` alone gets gridgate's
internal person id and the whole evidence, as it does for access events. Never sent, in any
scope: the English sentence the flow stores (it names internal ids), grant, pass and case
numbers, who granted or issued what, the key groups, ages and passage lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from gridgate.adapters.finding_places import districts_of_grids, estates_of_homes
from gridgate.domain.model import Finding
from gridgate.events_out.event_scope import CITY, FindingPlace, Scope, kind_of_finding
from gridgate.i18n import Translator
from gridgate.security.identifiers import IdentifierProtector

#: Evidence that identifies nobody: what a non-city scope receives of a finding's evidence.
FACTS = frozenset(
    {
        "window_days",
        "last_seen_at",
        "days_entered",
        "passes_used",
        "first_on",
        "grants",
        "cap",
        "faces",
        "people",
        "relation",
        "owned_until",
        "valid_until",
        "limit_days",
        "days_without_exit",
        "last_exit_at",
        "household",
        "local_date",
        "passages_count",
        "unusual_hours",
        "hours_absent",
        "limit_hours",
        "last_passage_at",
        "last_gate_id",
        "approval_ends",
    }
)
#: Columns of an export of findings, in order (`facts` is JSON text there).
FINDING_COLUMNS = (
    "finding_id",
    "kind",
    "finding_type",
    "title",
    "severity",
    "status",
    "detected_at_utc",
    "detected_at_local",
    "district_id",
    "grid_id",
    "estate_id",
    "home_id",
    "person_ref",
    "person_id",
    "facts",
)
#: Event types of the webhook envelope, by kind.
EVENT_TYPES = {"finding": "finding.detected", "alert": "alert.raised"}


def places_of(findings: Sequence[Finding]) -> dict[str, FindingPlace]:
    """finding id -> where it is: its grid, its home's estate and the grid's district (two batch reads)."""
    estates = estates_of_homes(f.home_id for f in findings if f.home_id)
    districts = districts_of_grids(f.grid_id for f in findings)
    return {
        f.finding_id: FindingPlace(f.grid_id, estates.get(f.home_id or ""), districts.get(f.grid_id)) for f in findings
    }


def finding_columns(scope: Scope) -> list[str]:
    """The columns of `scope`'s rows (the city has `person_id`, every other scope `person_ref`)."""
    return [c for c in FINDING_COLUMNS if c != ("person_ref" if scope.kind == CITY else "person_id")]


def finding_record(
    finding: Finding, place: FindingPlace, scope: Scope, protector: IdentifierProtector, t: Translator, city_timezone
) -> dict:
    detected = finding.detected_at.astimezone(UTC)
    record: dict[str, object] = {
        "finding_id": finding.finding_id,
        "kind": kind_of_finding(finding.finding_type),
        "finding_type": finding.finding_type,
        "title": t.get(f"finding.{finding.finding_type}", finding.finding_type),
        "severity": finding.severity.value,
        "status": finding.status.value,
        "detected_at_utc": detected.isoformat().replace("+00:00", "Z"),
        "detected_at_local": detected.astimezone(city_timezone).isoformat(),
        "district_id": place.district_id,
        "grid_id": place.grid_id,
        "estate_id": place.estate_id,
        "home_id": finding.home_id,
    }
    if scope.kind == CITY:
        record["person_id"] = finding.person_id
        record["facts"] = {k: v for k, v in finding.evidence.items() if k != "explanation"}
    else:
        record["person_ref"] = (
            protector.audience_pseudonym(finding.person_id, audience=scope.audience) if finding.person_id else None
        )
        record["facts"] = {k: v for k, v in finding.evidence.items() if k in FACTS}
    return record

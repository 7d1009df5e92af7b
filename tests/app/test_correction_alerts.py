"""Community-correction alerts within the law (issue 18 point 4): visible only to the correction
staff role, in their grids, every view audited; the data center's lists leave them out."""

from __future__ import annotations

import uuid

from app_helpers import bearer

from gridgate import clock
from gridgate.adapters.audit import AuditLog
from gridgate.adapters.findings import FindingRepository
from gridgate.adapters.repositories import PlaceRepository
from gridgate.domain.model import Finding, Place, PlaceKind, Severity


def _alert(kind: str, grid: str, person: str) -> Finding:
    return Finding(
        finding_id=f"{kind}-{person}",
        finding_type=kind,
        severity=Severity.HIGH,
        grid_id=grid,
        subject=f"person#{person}",
        evidence={"approval_case": ["C-1"], "local_date": "2026-12-01"},
        detected_at=clock.now(),
        person_id=person,
    )


def test_only_correction_staff_see_correction_alerts_in_their_grids_and_each_view_is_audited(client):
    tag = uuid.uuid4().hex[:6]
    mine, theirs = f"G-cc-{tag}", f"G-other-{tag}"
    for grid in (mine, theirs):
        PlaceRepository().add(Place(grid, PlaceKind.GRID, "网格", None, {}))
    watched, elsewhere, alone = f"P-cc-{tag}", f"P-cc2-{tag}", f"P-old-{tag}"
    FindingRepository().sync(
        [
            _alert("correction_unusual_hours", mine, watched),
            _alert("correction_absent", theirs, elsewhere),
            _alert("living_alone_no_exit", mine, alone),
        ]
    )
    staff = bearer(f"cc-staff-{tag}", roles=("correction_staff",), grids=(mine,))
    answer = client.http.get("/compliance/correction-alerts", headers=staff)
    assert answer.status_code == 200, answer.body
    assert [(a["type"], a["person_id"]) for a in answer.json_body["alerts"]] == [("correction_unusual_hours", watched)]
    [view] = [r for r in AuditLog().about(f"person#{watched}") if r.action == "correction.alert.viewed"]
    assert view.actor == f"cc-staff-{tag}" and view.detail["finding_id"] == f"correction_unusual_hours-{watched}"
    assert [r for r in AuditLog().about(f"person#{elsewhere}") if r.action == "correction.alert.viewed"] == []
    no_grids = client.http.get("/compliance/correction-alerts", headers=bearer("cc-2", roles=("correction_staff",)))
    assert no_grids.json_body == {"alerts": []}
    for roles in (("data_center",), ("grid_worker",), ("resident",), ("public_health",)):
        refused = client.http.get("/compliance/correction-alerts", headers=bearer("x", roles=roles, grids=(mine,)))
        assert refused.status_code == 403 and refused.json_body["code"] == "forbidden", roles
    # the data center's alert list of the grid keeps the welfare alert and leaves the correction one out
    listed = client.http.get(
        f"/pages/data-center/findings?parent={mine}&kind=alert", headers=bearer("dc", roles=("data_center",))
    )
    assert listed.status_code == 200, listed.body
    assert [f["type"] for f in listed.json_body["findings"]] == ["living_alone_no_exit"]
    overview = client.http.get(
        f"/pages/data-center/overview?parent={mine}", headers=bearer("dc", roles=("data_center",))
    )
    assert [f["type"] for f in overview.json_body["alerts"]] == ["living_alone_no_exit"]

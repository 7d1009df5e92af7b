"""Community-correction alerts within the law (issue 18 point 4): visible only to the correction
staff role, in their grids, every view audited; the data center's lists leave them out."""

from __future__ import annotations

import uuid

from app_helpers import bearer

from gridgate import clock
from gridgate.adapters.audit import AuditLog
from gridgate.adapters.findings import FindingRepository
from gridgate.adapters.repositories import HomeRepository, PersonRepository, PlaceRepository
from gridgate.domain.model import Finding, Person, Place, PlaceKind, Registry, Severity


def _alert(kind: str, grid: str, person: str) -> Finding:
    return Finding(
        finding_id=f"{kind}-{person}",
        finding_type=kind,
        severity=Severity.HIGH,
        grid_id=grid,
        subject=f"person#{person}",
        evidence={
            "approval_case": ["C-1"],
            "local_date": "2026-12-01",
            "passages_count": 2,
            "passages": ["2026-12-01 23:40 in at gate g-1", "2026-12-02 00:10 out at gate g-1"],
            "unusual_hours": "23:00-05:00",
        },
        detected_at=clock.now(),
        person_id=person,
    )


def test_only_correction_staff_see_correction_alerts_in_their_grids_and_each_view_is_audited(client, city, protector):
    tag = uuid.uuid4().hex[:6]
    estate = city.estate()
    mine, theirs = estate.grid_id, f"G-other-{tag}"
    for grid in (mine, theirs):
        PlaceRepository().add(Place(grid, PlaceKind.GRID, "网格", None, {}))
    watched, elsewhere, alone = f"P-cc-{tag}", f"P-cc2-{tag}", f"P-old-{tag}"
    registry = frozenset({Registry.POPULATION})
    person = Person(watched, "周正", "320102198001011234", registry, 1980, "M", registered_home_id=estate.homes[0])
    PersonRepository(protector).add(person)
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
    # staff read a name, the registered address and the reason in words; the codes stay beside them
    [alert] = answer.json_body["alerts"]
    home = HomeRepository().get(estate.homes[0])
    assert alert["person_name"] == "周正"
    assert alert["address"] == f"测试小区 / {home.building_id}栋 / 1单元 3层 301室"
    assert (
        alert["reason"]
        == "社区矫正人员：2026-12-01 在 23:00-05:00（北京时间）之间经过门禁 2 次，第一次在 2026-12-01 23:40。"
    )
    english = client.http.get("/compliance/correction-alerts", headers={**staff, "Accept-Language": "en"})
    assert english.json_body["alerts"][0]["address"].startswith("测试小区") and english.json_body["alerts"][0]["reason"]
    assert english.json_body["alerts"][0]["reason"].startswith("Under community correction: passed a gate")
    views = [r for r in AuditLog().about(f"person#{watched}") if r.action == "correction.alert.viewed"]
    assert [v.actor for v in views] == [f"cc-staff-{tag}"] * 2
    assert views[0].detail["finding_id"] == f"correction_unusual_hours-{watched}"
    assert views[0].detail["fields"] == ["name", "address"]
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

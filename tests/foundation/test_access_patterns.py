"""Every access pattern of docs/data-model.md (numbers in brackets), served by its key or index,
against a seeded emulator. Expected answers are computed from the city itself."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError

from gridgate import clock
from gridgate.adapters.audit import AuditLog
from gridgate.adapters.events import EventRepository
from gridgate.adapters.findings import (
    FindingRepository,
    StatisticRepository,
    VerificationTaskRepository,
)
from gridgate.adapters.grant_repository import CapReached, GrantNotActive, GrantRepository
from gridgate.adapters.pass_repository import PassRepository
from gridgate.adapters.repositories import (
    FaceTemplateRepository,
    GateRepository,
    HomeRepository,
    OwnershipRepository,
    PersonRepository,
    PlaceRepository,
)
from gridgate.adapters.tables import (
    IdempotencyTable,
    PersonTable,
    PlaceTable,
    VerificationTaskTable,
)
from gridgate.config import get_settings
from gridgate.domain import model as m
from gridgate.security.signed_passes import PassRejected
from local_emulator import city_tables


@pytest.fixture(scope="module")
def rows(seeded):
    city, _ = seeded
    return {name: build(city).to_pylist() for name, build in city_tables.CITY_SNAPSHOTS.items()}


def _group(items, key, value):
    out = defaultdict(set)
    for item in items:
        if item[key] is not None:
            out[item[key]].add(item[value])
    return out


def test_people(seeded, rows, protector):
    city, _ = seeded
    repo = PersonRepository(protector)
    persons = rows["persons"]
    some = persons[123]
    number = city.id_numbers(np.array([123]))[0].decode()
    assert repo.get(some["person_id"]).id_number == number  # [1]
    assert repo.find_id_by_id_number(number) == some["person_id"]  # [2]
    by_home = _group(persons, "registered_home_id", "person_id")
    home = max(by_home, key=lambda h: len(by_home[h]))
    assert set(repo.ids_registered_at(home)) == by_home[home]  # [3]
    by_grid = _group(persons, "registered_grid_id", "person_id")
    grid = next(iter(by_grid))
    assert {p.person_id for p in repo.in_grid(grid)} == by_grid[grid]  # [4]
    # [5] a correction names the version it saw; a stale version is refused
    item = PersonTable.get(some["person_id"])
    stale = PersonTable.get(some["person_id"])
    item.update(actions=[PersonTable.sex.set(some["sex"])])
    with pytest.raises(Exception, match="ConditionalCheckFailed"):
        stale.update(actions=[PersonTable.sex.set("X")])


def test_faces_and_gallery_versions(seeded, rows):
    city, _ = seeded
    templates = _group(rows["face_templates"], "person_id", "source")
    person = next(p for p, s in templates.items() if len(s) == 2)
    repo = FaceTemplateRepository()
    assert {t.source.value for t in repo.for_person(person)} == templates[person]  # [6]
    places = PlaceRepository()
    estate = city.places.estate_ids[0]
    before = places.gallery_version(estate)  # [8]
    assert repo.delete_for_person(person, m.Registry.APP) == 1  # [7]
    places.bump_gallery_version(estate, [person])
    assert places.gallery_version(estate) == before + 1
    assert {t.source for t in repo.for_person(person)} == {m.Registry.POPULATION}


def test_places_gates_and_homes(seeded, rows):
    city, _ = seeded
    places = PlaceRepository()
    children = _group(rows["places"], "parent_id", "place_id")
    parent = city.places.estate_ids[0]
    assert {p.place_id for p in places.children(parent)} == children[parent]  # [9]
    assert places.get(parent).kind == m.PlaceKind.ESTATE
    districts = {p.place_id for p in PlaceTable.scan(PlaceTable.kind == "district")}  # [10]
    assert districts == set(city.places.district_ids)
    gates = GateRepository()
    assert gates.get(city.gate_ids[0]).estate_id == parent  # [11]
    assert {g.gate_id for g in gates.at_estate(parent)} == {
        g for g in city.gate_ids if g.startswith(parent + "-")
    }  # [12]
    homes = HomeRepository()
    first = rows["homes"][0]
    assert homes.get(first["home_id"]).floor_area_m2 == first["floor_area_m2"]  # [13]
    in_grid = sorted(homes.in_grid(first["grid_id"]), key=lambda h: h.walking_order)  # [14]
    assert {h.home_id for h in in_grid} == _group(rows["homes"], "grid_id", "home_id")[first["grid_id"]]
    assert [h.walking_order for h in in_grid] == sorted(h.walking_order for h in in_grid)
    assert {h.home_id for h in homes.in_estate(parent)} == _group(rows["homes"], "estate_id", "home_id")[parent]  # [15]


def test_ownership_and_grants(seeded, rows):
    city, _ = seeded
    ownerships = OwnershipRepository()
    owned = _group(rows["ownerships"], "person_id", "home_id")
    owner = max(owned, key=lambda p: len(owned[p]))
    assert {o.home_id for o in ownerships.for_person(owner)} == owned[owner]  # [16]
    current = {o["home_id"] for o in rows["ownerships"] if o["person_id"] == owner and o["until"] is None}
    assert {o.home_id for o in ownerships.current_for_person(owner, city.today)} == current
    home = next(iter(owned[owner]))
    assert {o.person_id for o in ownerships.of_home(home)} == _group(rows["ownerships"], "home_id", "person_id")[
        home
    ]  # [17]
    estate = city.places.estate_ids[0]
    assert {(o.person_id, o.home_id) for o in ownerships.current_in_estate(estate, city.today)} == {
        (o["person_id"], o["home_id"]) for o in rows["ownerships"] if o["estate_id"] == estate and o["until"] is None
    }  # [18]
    grants = GrantRepository()
    by_home = _group(rows["grants"], "home_id", "grant_id")
    home = max(by_home, key=lambda h: len(by_home[h]))
    assert {g.grant_id for g in grants.of_home(home)} == by_home[home]  # [19]
    grantee = next(g for g in rows["grants"] if g["home_id"] == home)["grantee_id"]
    assert {g.grant_id for g in grants.active_for_grantee(grantee)} == _group(rows["grants"], "grantee_id", "grant_id")[
        grantee
    ]  # [22]
    assert {g.grant_id for g in grants.active_in_estate(estate)} == {
        g["grant_id"] for g in rows["grants"] if g["estate_id"] == estate
    }  # [23]
    # [20] a home at its cap takes no further grant; [21] revoking frees exactly one slot
    granted = len(by_home[home])
    grant = m.Grant(
        f"G-{uuid.uuid4().hex[:8]}",
        home,
        next(g for g in rows["grants"] if g["home_id"] == home)["estate_id"],
        "P0000001",
        m.Relation.FAMILY,
        city.today,
        None,
        owner,
        m.GrantStatus.ACTIVE,
        clock.now(),
    )
    with pytest.raises(CapReached):
        grants.create(grant, cap=granted)
    grants.create(grant, cap=granted + 1)
    assert HomeRepository().get(home) and len(grants.of_home(home)) == granted + 1
    grants.revoke(home, grant.grant_id, clock.now())
    with pytest.raises(GrantNotActive):
        grants.revoke(home, grant.grant_id, clock.now())
    from gridgate.adapters.tables import HomeTable

    assert HomeTable.get(home).granted_count == granted


def test_passes(seeded, rows, protector):
    city, _ = seeded
    repo = PassRepository(protector)
    row = next(p for p in rows["visitor_passes"] if p["status"] == "active" and p["valid_until"] > city.now)
    assert repo.get(row["pass_id"]).home_id == row["home_id"]  # [24]
    mine = [p.pass_id for p in repo.of_home(row["home_id"])]  # [26] newest first
    expected = sorted(
        (p for p in rows["visitor_passes"] if p["home_id"] == row["home_id"]),
        key=lambda p: p["valid_from"],
        reverse=True,
    )
    assert mine == [p["pass_id"] for p in expected]
    now = city.now
    assert {p.pass_id for p in repo.not_over_in_estate(row["estate_id"], now)} == {
        p["pass_id"] for p in rows["visitor_passes"] if p["estate_id"] == row["estate_id"] and p["valid_until"] > now
    }  # [27]
    # [25] one use more, atomically: a single-use pass opens once
    at = clock.now()
    single = m.VisitorPass(
        f"V-{uuid.uuid4().hex[:8]}",
        row["estate_id"],
        row["home_id"],
        row["issued_by"],
        "访客",
        at - timedelta(minutes=1),
        at + timedelta(hours=23),
        "k1",
        max_uses=1,
    )
    repo.create(single)
    assert repo.consume_use(single.pass_id, at).uses == 1
    with pytest.raises(PassRejected):
        repo.consume_use(single.pass_id, at)


def test_events_nonces_and_idempotency(seeded):
    city, _ = seeded
    repo = EventRepository()
    last = city.event_days[-1]
    table_events = city_tables.events_table(city, last)
    tail = table_events.slice(table_events.num_rows - 800).to_pylist()
    estate = tail[-1]["estate_id"]
    day_events = repo.for_estate_day(estate, last)  # [29]
    assert [e.event_id for e in day_events] == [r["event_id"] for r in tail if r["estate_id"] == estate]
    assert repo.append(day_events[0]) is False  # [28] already stored
    person = next(r["person_id"] for r in reversed(tail) if r["person_id"])
    since = datetime.combine(last, datetime.min.time(), tzinfo=UTC)
    assert [e.event_id for e in repo.for_person(person, since)] == [
        r["event_id"] for r in tail if r["person_id"] == person
    ]  # [30]
    client = boto3.client("dynamodb")
    nonces = get_settings().table_name("device_nonces")
    nonce = {"nonce_key": {"S": f"{city.gate_ids[0]}#{uuid.uuid4().hex}"}}
    client.put_item(TableName=nonces, Item=nonce, ConditionExpression="attribute_not_exists(nonce_key)")  # [31]
    with pytest.raises(ClientError, match="ConditionalCheckFailed"):
        client.put_item(TableName=nonces, Item=nonce, ConditionExpression="attribute_not_exists(nonce_key)")
    IdempotencyTable(id=f"app#{uuid.uuid4().hex}").save()  # [32] (Powertools' layout)
    assert IdempotencyTable.count() >= 1


def test_flow_outputs_and_audit(seeded):
    city, _ = seeded
    grid = city.places.grid_ids[0]
    at = clock.now()
    finding = m.Finding(
        f"F-{uuid.uuid4().hex[:8]}", "moved_out", m.Severity.MEDIUM, grid, "person#P0000001", {"days": 9}, at
    )
    findings = FindingRepository()
    assert findings.sync([finding]).created == 1 and findings.sync([finding]).created == 0  # [33]
    assert finding.finding_id in {f.finding_id for f in findings.in_grid(grid)}  # [34]
    tasks = VerificationTaskRepository()
    task = m.VerificationTask(
        f"T-{uuid.uuid4().hex[:8]}", grid, finding.finding_id, 2, ("E", "B", "1", 3, "301"), "H", "check", at
    )
    assert tasks.add_new([task]) == 1 and tasks.add_new([task]) == 0
    assert task.task_id in {t.task_id for t in tasks.in_grid(grid)}  # [35]
    # [36] two workers submit against the same version: the second is detected, not applied
    mine, theirs = (VerificationTaskTable.get(grid, task.task_id, consistent_read=True) for _ in range(2))
    mine.update(actions=[VerificationTaskTable.result.set("confirmed")])
    with pytest.raises(Exception, match="ConditionalCheckFailed"):
        theirs.update(actions=[VerificationTaskTable.result.set("corrected")])
    assert VerificationTaskTable.get(grid, task.task_id).result == "confirmed"
    stats = StatisticRepository()
    day = city.event_days[-1]
    stats.put_many(
        [
            m.Statistic(f"grid#{grid}", day, "residents.owners", 12.0),
            m.Statistic(f"grid#{grid}", day - timedelta(days=1), "residents.owners", 11.0),
        ]
    )
    assert [s.value for s in stats.for_scope(f"grid#{grid}", day)] == [12.0]  # [37]
    audit = AuditLog()
    record = audit.record("worker-7", "read", "person#P0000001")
    assert record in list(audit.about("person#P0000001")) and record in list(audit.by_actor("worker-7"))  # [38]

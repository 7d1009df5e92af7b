"""Every table stores and returns every attribute unchanged; domain objects survive their repository."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)

from gridgate.adapters.tables import ALL_TABLES, BaseTable

_AT = datetime(2026, 11, 24, 7, 45, 12, 345678, tzinfo=UTC)


def _sample(name: str, attribute):
    """A value of the attribute's type (keys unique per run)."""
    if isinstance(attribute, VersionAttribute):
        return None  # set by save
    if isinstance(attribute, TTLAttribute):
        return (_AT + timedelta(days=180)).replace(microsecond=0)
    if isinstance(attribute, UTCDateTimeAttribute):
        return _AT
    if isinstance(attribute, UnicodeSetAttribute):
        return {"app", "population"}
    if isinstance(attribute, BinaryAttribute):
        return b"\x00sealed\xff"
    if isinstance(attribute, JSONAttribute):
        return {"why": ["evidence", 3], "ok": True}
    if isinstance(attribute, ListAttribute):
        return [1, 2, 3] if attribute.element_type is NumberAttribute else ["E1", "B2", "U1", 12, "1202"]
    if isinstance(attribute, MapAttribute):
        return {"district": "D01", "grid": "D01-S01-C01-G01"}
    if isinstance(attribute, BooleanAttribute):
        return True
    if isinstance(attribute, NumberAttribute):
        return 42.5
    if isinstance(attribute, UnicodeAttribute):
        return f"{name}-{uuid.uuid4().hex[:8]}" if attribute.is_hash_key or attribute.is_range_key else f"{name} 值"
    raise AssertionError(f"no sample for {type(attribute).__name__}")


@pytest.mark.parametrize("model", ALL_TABLES, ids=lambda m: m.Meta.table_name)
def test_every_attribute_of_every_table_round_trips(moto_server, model: type[BaseTable]):
    values = {n: v for n, a in model.get_attributes().items() if (v := _sample(n, a)) is not None}
    model(**values).save()
    keys = [values[n] for n, a in model.get_attributes().items() if a.is_hash_key] + [
        values[n] for n, a in model.get_attributes().items() if a.is_range_key
    ]
    stored = model.get(*keys, consistent_read=True)
    for name, value in values.items():
        got = getattr(stored, name)
        got = got.as_dict() if isinstance(got, MapAttribute) else got
        assert got == value, f"{model.Meta.table_name}.{name}"
    versions = [n for n, a in model.get_attributes().items() if isinstance(a, VersionAttribute)]
    assert all(getattr(stored, n) == 1 for n in versions)


def test_domain_objects_round_trip_through_their_repositories(moto_server, protector):
    from gridgate.adapters.audit import AuditLog
    from gridgate.adapters.findings import (
        finding_from_item,
        finding_to_item,
        statistic_from_item,
        statistic_to_item,
        task_from_item,
        task_to_item,
    )
    from gridgate.adapters.grant_repository import grant_from_item, grant_to_item
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
        FindingTable,
        GrantTable,
        StatisticTable,
        VerificationTaskTable,
    )
    from gridgate.domain import model as m

    tag = uuid.uuid4().hex[:6]
    person = m.Person(
        f"P-{tag}",
        "王小明",
        "320106199001011234",
        frozenset({m.Registry.APP}),
        1990,
        "M",
        registered_home_id=f"H-{tag}",
        phone="13800001111",
        key_groups=frozenset({m.KeyGroup.DISABLED}),
    )
    PersonRepository(protector).add(person, grid_id="G1")
    assert PersonRepository(protector).get(person.person_id) == m.Person(**{**person.__dict__, "version": 1})
    place = m.Place(f"E-{tag}", m.PlaceKind.ESTATE, "梅园", "G1", {m.PlaceKind.DISTRICT: "D1", m.PlaceKind.GRID: "G1"})
    PlaceRepository().add(place)
    assert PlaceRepository().get(place.place_id) == place
    gate = m.Gate(f"{place.place_id}-G1", place.place_id, m.GateDirection.ENTRY, "dk-1", b"\x01" * 32, "东门")
    GateRepository().add(gate)
    assert GateRepository().get(gate.gate_id) == gate
    home = m.Home(f"H-{tag}", place.place_id, f"{place.place_id}-B01", "1", 12, "1202", 88.5, "G1")
    HomeRepository().add(home)
    assert HomeRepository().get(home.home_id) == home
    ownership = m.Ownership(person.person_id, home.home_id, place.place_id, date(2020, 5, 1), date(2030, 1, 1))
    OwnershipRepository().add(ownership)
    assert OwnershipRepository().for_person(person.person_id) == [ownership]
    template = m.FaceTemplate(person.person_id, m.Registry.POPULATION, 0, b"\x00" * 512, _AT, 0.75)
    FaceTemplateRepository().add(template)
    assert FaceTemplateRepository().for_person(person.person_id) == [template]
    grant = m.Grant(
        f"G-{tag}",
        home.home_id,
        place.place_id,
        "P-other",
        m.Relation.TENANT,
        date(2026, 1, 1),
        date(2027, 1, 1),
        person.person_id,
        m.GrantStatus.ACTIVE,
        _AT,
    )
    grant_to_item(grant).save()
    assert grant_from_item(GrantTable.get(home.home_id, grant.grant_id)) == grant
    visitor_pass = m.VisitorPass(
        f"V-{tag}",
        place.place_id,
        home.home_id,
        person.person_id,
        "李四",
        _AT,
        _AT + timedelta(hours=24),
        "k1",
        max_uses=2,
    )
    PassRepository(protector).create(visitor_pass)
    assert PassRepository(protector).get(visitor_pass.pass_id) == visitor_pass
    finding = m.Finding(
        f"F-{tag}",
        "group_renting",
        m.Severity.HIGH,
        "G1",
        f"home#{home.home_id}",
        {"grants": 9},
        _AT,
        home_id=home.home_id,
    )
    finding_to_item(finding).save()
    assert finding_from_item(FindingTable.get(finding.finding_id)) == finding
    task = m.VerificationTask(
        f"T-{tag}",
        "G1",
        finding.finding_id,
        1,
        home.walking_order,
        home.home_id,
        "check",
        _AT,
        finding_type="group_renting",
    )
    task_to_item(task).save()
    assert task_from_item(VerificationTaskTable.get("G1", task.task_id)) == task
    stat = m.Statistic(f"estate#{place.place_id}", date(2026, 11, 23), "entries.hourly", 24.0, tuple(range(24)))
    statistic_to_item(stat).save()
    stored_stat = statistic_from_item(StatisticTable.get(stat.scope, f"2026-11-23#{stat.metric}"))
    assert stored_stat == stat
    record = AuditLog().record("tester", "read", f"person#{person.person_id}", request_id="r1", detail={"why": "test"})
    assert list(AuditLog().about(f"person#{person.person_id}")) == [record]

"""Seeding the emulator: every table holds the city, in the form the repositories read back."""

from __future__ import annotations

import boto3
import numpy as np
import pyarrow as pa
import pytest

from gridgate.adapters.events import EventRepository
from gridgate.adapters.parquet_exports import read_events
from gridgate.adapters.pass_repository import PassRepository
from gridgate.adapters.repositories import (
    FaceTemplateRepository,
    GateRepository,
    HomeRepository,
    OwnershipRepository,
    PersonRepository,
    PlaceRepository,
)
from gridgate.config import get_settings
from gridgate.domain.model import GateDirection, PlaceKind, Registry
from local_emulator import city_tables


def _count(table: str) -> int:
    client = boto3.client("dynamodb")
    count, request = 0, {"TableName": get_settings().table_name(table), "Select": "COUNT"}
    while True:
        page = client.scan(**request)
        count += page["Count"]
        if "LastEvaluatedKey" not in page:
            return count
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_every_table_holds_the_whole_city(seeded):
    city, report = seeded
    expected = {name: build(city).num_rows for name, build in city_tables.CITY_SNAPSHOTS.items()}
    expected["gates"] = len(city.gate_ids)
    # one separate consent per person with an app face (the gates match an app face only under one)
    templates = city_tables.face_templates_table(city).to_pydict()
    expected["compliance_records"] = len(
        {p for p, r in zip(templates["person_id"], templates["source"], strict=True) if r == Registry.APP.value}
    )
    finished, still_open = _split_days(city, report)
    expected["access_events"] = min(800, city_tables.events_table(city, finished[-1]).num_rows) + sum(
        city_tables.events_table(city, day).num_rows for day in still_open
    )
    assert report.items == {name: expected[name] for name in report.items}
    assert set(report.items) == set(expected)
    for name, count in expected.items():
        assert _count(name) == count, name
    assert set(report.imported) == set(expected)  # a fresh emulator is loaded by ImportTable


def test_people_read_back_through_the_repository_sealed(seeded, protector):
    city, _ = seeded
    repo = PersonRepository(protector)
    persons = city_tables.persons_table(city).to_pylist()
    numbers = [n.decode() for n in city.id_numbers().tolist()]
    names = city.names(np.arange(city.n_persons))
    for row in (0, 17, city.n_persons - 1):
        person = repo.get(persons[row]["person_id"])
        assert person.id_number == numbers[row] and person.name == names[row]
        assert {r.value for r in person.registries} == set(persons[row]["registries"])
        assert person.registered_home_id == persons[row]["registered_home_id"]
        assert person.version == 1
        assert repo.find_id_by_id_number(numbers[row]) == persons[row]["person_id"]
    from gridgate.adapters.tables import PersonTable

    stored = PersonTable.get(persons[0]["person_id"])
    assert numbers[0].encode() not in stored.id_enc and names[0].encode() not in stored.name_enc


def test_places_gates_homes_and_rights_read_back(seeded):
    city, _ = seeded
    places = PlaceRepository()
    estate = places.get(city.places.estate_ids[0])
    assert estate.kind == PlaceKind.ESTATE and estate.ancestor(PlaceKind.DISTRICT) == city.places.district_ids[0]
    gates = GateRepository().at_estate(estate.place_id)
    assert {g.direction for g in gates} == {GateDirection.ENTRY, GateDirection.EXIT}
    keys = dict(zip(city.gate_ids, city.gate_public_keys()))
    assert all(g.device_public_key == keys[g.gate_id] for g in gates)
    homes = city_tables.homes_table(city).to_pylist()
    stored = HomeRepository().get(homes[3]["home_id"])
    assert stored.floor_area_m2 == homes[3]["floor_area_m2"] and stored.grid_id == homes[3]["grid_id"]
    owners = city_tables.ownerships_table(city).to_pylist()
    assert {o.home_id for o in OwnershipRepository().for_person(owners[0]["person_id"])} >= {owners[0]["home_id"]}


def test_faces_and_passes_read_back(seeded, protector):
    city, _ = seeded
    person = int(city.template_person[0])
    person_id = city.person_ids(np.array([person]))[0].as_py()
    templates = FaceTemplateRepository().for_person(person_id)
    rows = np.flatnonzero(city.template_person == person)
    expected = city.face_encodings(rows)
    assert len(templates) == len(rows)
    for template, encoding, source in zip(templates, expected, city.template_source[rows]):
        assert template.source == (Registry.APP, Registry.POPULATION)[source]
        assert np.array_equal(np.frombuffer(template.encoding, dtype="<f4"), encoding)
    passes = city_tables.passes_table(city).to_pylist()
    visitors = city_tables.pass_visitors(city)
    row = int(np.flatnonzero(visitors >= 0)[0])
    stored = PassRepository(protector).get(passes[row]["pass_id"])
    assert stored.visitor_name == city.names(visitors[row : row + 1])[0]
    assert stored.valid_until == passes[row]["valid_until"] and stored.status.value == passes[row]["status"]


def _split_days(city, report) -> tuple[list, list]:
    """(finished, open) event partitions as the load saw them: the finished ones went to S3; at
    most the last one, the city's yesterday between 16:00 and 24:00 UTC, was still open."""
    finished = report.event_days_in_s3
    assert finished == city.event_days[: len(finished)] and len(city.event_days) - len(finished) <= 1
    return finished, city.event_days[len(finished) :]


@pytest.mark.parametrize("instant, open_days", [("2026-12-31T15:59:00+00:00", 0), ("2026-12-31T16:01:00+00:00", 1)])
def test_an_open_utc_day_stays_in_the_table(instant, open_days):
    from datetime import datetime

    from gridgate import clock
    from local_emulator.city_loader import finished_event_days
    from local_emulator.synthetic_city import build_city

    with clock.pinned(datetime.fromisoformat(instant)):
        city = build_city(150, seed=2, history_days=2)
        assert len(city.event_days) - len(finished_event_days(city)) == open_days


def test_recent_events_in_the_table_history_in_parquet(seeded):
    city, report = seeded
    finished, still_open = _split_days(city, report)
    repo = EventRepository()
    for day in still_open:  # an open partition is wholly in the table
        stored = [e.event_id for estate in city.places.estate_ids for e in repo.for_estate_day(estate, day)]
        assert sorted(stored) == sorted(city_tables.events_table(city, day)["event_id"].to_pylist())
    last = finished[-1]
    day = city_tables.events_table(city, last)
    tail = day.slice(day.num_rows - 800)
    stored = [e for estate in city.places.estate_ids for e in repo.for_estate_day(estate, last)]
    assert sorted(e.event_id for e in stored) == sorted(tail["event_id"].to_pylist())
    history = read_events(finished[0], last, get_settings())
    expected = pa.concat_tables([city_tables.events_table(city, d) for d in finished])
    assert history.num_rows == expected.num_rows
    assert sorted(history["event_id"].to_pylist()) == sorted(expected["event_id"].to_pylist())

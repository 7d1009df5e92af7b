"""The synthetic city: deterministic, hierarchical, realistic enough, and with something to find."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import numpy as np
import pyarrow as pa
import pytest

from gridgate.domain.id_numbers import birth_date, id_number_problem, sex_of
from gridgate.domain.policy import GrantCapPolicy
from local_emulator import city_tables
from local_emulator.synthetic_city import (
    CITY_UTC_OFFSET_HOURS,
    ROLE_NON_RESIDENT,
    build_city,
    emulator_device_private_key,
)

from .conftest import TODAY


def _all_tables(city) -> dict[str, pa.Table]:
    tables = {name: build(city) for name, build in city_tables.CITY_SNAPSHOTS.items()}
    for day in city.event_days:
        tables[f"events {day}"] = city_tables.events_table(city, day)
    return tables


def test_same_seed_same_city_different_seed_different_city():
    first = _all_tables(build_city(500, seed=11, history_days=2, today=TODAY))
    again = _all_tables(build_city(500, seed=11, history_days=2, today=TODAY))
    other = _all_tables(build_city(500, seed=12, history_days=2, today=TODAY))
    assert first.keys() == again.keys()
    for name in first:
        assert first[name].equals(again[name]), name
    assert not first["persons"].equals(other["persons"])
    assert not first[f"events {TODAY - timedelta(days=1)}"].equals(other[f"events {TODAY - timedelta(days=1)}"])


def test_exact_size_and_a_hierarchy_that_holds_together(small_city):
    city = small_city
    assert city.n_persons == 600
    places = city_tables.places_table(city).to_pylist()
    by_id = {p["place_id"]: p for p in places}
    parent_kind = {
        "street": "district",
        "community": "street",
        "grid": "community",
        "estate": "grid",
        "building": "estate",
    }
    levels = ("district", "street", "community", "grid", "estate")
    for place in places:
        if place["kind"] == "district":
            assert place["parent_id"] is None
            continue
        parent = by_id[place["parent_id"]]
        assert parent["kind"] == parent_kind[place["kind"]]
        # the flattened ancestors agree with the parent chain
        for level in levels:
            if place["kind"] != level and parent[f"{level}_id"] is not None:
                assert place[f"{level}_id"] == parent[f"{level}_id"]
        assert place[f"{place['kind']}_id"] == place["place_id"] if place["kind"] in levels else True
    homes = city_tables.homes_table(city).to_pylist()
    for home in homes:
        building = by_id[home["building_id"]]
        assert building["kind"] == "building" and building["estate_id"] == home["estate_id"]
        assert by_id[home["estate_id"]]["grid_id"] == home["grid_id"]
        assert home["home_id"].startswith(home["building_id"] + f"-U{home['unit']}-")
    persons = city_tables.persons_table(city).to_pylist()
    home_grid = {h["home_id"]: h["grid_id"] for h in homes}
    for person in persons:
        if person["registered_home_id"]:
            assert person["registered_grid_id"] == home_grid[person["registered_home_id"]]
        assert person["registries"], "everyone is in at least one registry"


def test_realistic_population():
    city = build_city(20_000, seed=5, history_days=1, today=TODAY)
    persons = city_tables.persons_table(city)
    registries = persons["registries"].to_pylist()
    app = sum("app" in r for r in registries) / len(registries)
    population_only = sum(r == ["population"] for r in registries) / len(registries)
    assert 0.42 <= app <= 0.52, app  # the paper: 47 % of residents use the app
    assert population_only > 0.3
    areas = city.home_area
    assert 25 <= areas.min() and areas.max() <= 320 and 60 <= np.median(areas) <= 120
    homes_per_owner = Counter(city.ownership_person[city.ownership_until < 0].tolist())
    assert max(homes_per_owner.values()) >= 2, "some owners own several homes"
    estates = city.home_estate
    multi = [p for p, n in homes_per_owner.items() if n >= 2]
    owned_estates = {p: set() for p in multi}
    for person, home in zip(city.ownership_person.tolist(), city.ownership_home.tolist()):
        if person in owned_estates:
            owned_estates[person].add(int(estates[home]))
    assert any(len(e) >= 2 for e in owned_estates.values()), "some own homes in other estates"
    relations = Counter(city_tables.grants_table(city)["relation"].to_pylist())
    assert relations["family"] > 0 and relations["tenant"] > 0
    groups = Counter(g for gs in persons["key_groups"].to_pylist() for g in gs)
    assert {"elderly_alone", "disabled", "community_correction"} <= set(groups)
    assert (city.person_role == ROLE_NON_RESIDENT).any(), "some owners live elsewhere"


def test_id_numbers_are_valid_unique_and_match_birth_and_sex(small_city):
    numbers = [n.decode() for n in small_city.id_numbers().tolist()]
    assert len(set(numbers)) == len(numbers)
    persons = city_tables.persons_table(small_city).to_pylist()
    for number, person in zip(numbers, persons):
        assert id_number_problem(number) is None, number
        assert number[:4] == "3201"  # Nanjing
        assert birth_date(number).year == person["birth_year"]
        assert sex_of(number) == person["sex"]


def test_gate_keys_are_derived_from_the_seed(small_city):
    from gridgate.security.keyring import ed25519_public_key

    keys = small_city.gate_public_keys()
    assert len(set(keys)) == len(keys) == len(small_city.gate_ids)
    private = emulator_device_private_key(small_city.seed, small_city.gate_ids[0])
    assert len(private) == 32 and ed25519_public_key(private) == keys[0]
    assert emulator_device_private_key(small_city.seed + 1, small_city.gate_ids[0]) != private
    directions = Counter(small_city.gate_direction.tolist())
    assert directions[0] == directions[1] >= len(small_city.places.estate_ids)  # an entry and an exit each


def test_face_templates_are_unit_vectors_close_for_the_same_person(small_city):
    rows = np.arange(len(small_city.template_person))
    encodings = small_city.face_encodings(rows)
    assert encodings.dtype == np.float32 and encodings.shape == (len(rows), 128)
    assert np.allclose(np.linalg.norm(encodings, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(encodings[5:9], small_city.face_encodings(rows[5:9])), "any subset is reproducible"
    person = small_city.template_person
    both = np.flatnonzero(person[1:] == person[:-1])  # a person with an app and a population template
    assert both.size
    same = np.linalg.norm(encodings[both] - encodings[both + 1], axis=1)
    others = np.linalg.norm(encodings[both] - encodings[(both + 7) % len(rows)], axis=1)
    assert same.max() < 0.3 < 1.0 < others.min()


def test_events_follow_daily_life(small_city):
    city = small_city
    residents = int((city.person_home >= 0).sum())
    per_local_day: Counter = Counter()
    for day in city.event_days:
        events = city_tables.events_table(city, day)
        assert len(set(events["event_id"].to_pylist())) == events.num_rows
        times = events["occurred_at"].to_pylist()
        assert times == sorted(times)
        assert all(t.date() == day for t in times)  # partitions are UTC days
        per_local_day.update((t + timedelta(hours=CITY_UTC_OFFSET_HOURS)).date() for t in times)
    assert sorted(per_local_day) == city.history  # whole local days, nothing after the city's now
    for day in city.history:
        assert 3.0 <= per_local_day[day] / residents <= 5.0  # about four passages per person and day
    # morning exits, evening returns (local time)
    rows = pa.concat_tables([city_tables.events_table(city, d) for d in city.event_days]).to_pylist()
    local = [(r["occurred_at"] + timedelta(hours=CITY_UTC_OFFSET_HOURS)).hour for r in rows if r["person_id"]]
    outs = [h for h, r in zip(local, (r for r in rows if r["person_id"])) if r["direction"] == "out"]
    ins = [h for h, r in zip(local, (r for r in rows if r["person_id"])) if r["direction"] == "in"]
    assert Counter(outs).most_common(1)[0][0] in (6, 7, 8)
    assert Counter(ins).most_common(1)[0][0] in (17, 18, 19, 20, 21)
    assert {r["outcome"] for r in rows if r["direction"] == "out"} == {"recorded"}
    assert {"open", "deny"} <= {r["outcome"] for r in rows if r["direction"] == "in"}


def test_planted_cases_are_there_and_true(small_city):
    city = small_city
    truth = city.truth
    for kind, ids in truth.items():
        assert ids, f"no {kind} planted"
    events = pa.concat_tables([city_tables.events_table(city, d) for d in city.event_days])
    seen = set(events["person_id"].drop_null().to_pylist())
    assert not seen & set(truth["elderly_not_leaving"]) and not seen & set(truth["moved_out"])
    grants = city_tables.grants_table(city).to_pylist()
    homes = {h["home_id"]: h for h in city_tables.homes_table(city).to_pylist()}
    cap = GrantCapPolicy()
    for home_id in truth["over_cap_homes"]:
        active = sum(g["home_id"] == home_id and g["status"] == "active" for g in grants)
        assert active > cap.cap_for(homes[home_id]["floor_area_m2"]) and homes[home_id]["granted_count"] == active
    ownerships = city_tables.ownerships_table(city).to_pylist()
    by_grant = {g["grant_id"]: g for g in grants}
    for grant_id in truth["grants_by_ex_owners"]:
        grant = by_grant[grant_id]
        ended = [o for o in ownerships if o["person_id"] == grant["granted_by"] and o["home_id"] == grant["home_id"]]
        assert ended and all(o["until"] is not None and o["until"] <= TODAY for o in ended)
    pass_entries = Counter(
        r["person_id"] for r in events.to_pylist() if r["method"] == "visitor_pass" and r["direction"] == "in"
    )
    assert all(pass_entries[p] == len(city.history) for p in truth["pass_regulars"])
    night = [
        r
        for r in events.to_pylist()
        if r["person_id"] in set(truth["night_movement"])
        and 1 <= (r["occurred_at"] + timedelta(hours=CITY_UTC_OFFSET_HOURS)).hour < 5
    ]
    assert night
    passes = city_tables.passes_table(city).to_pylist()
    now = city.now
    assert any(p["status"] == "active" and p["valid_until"] < now for p in passes), "stale active passes"


@pytest.mark.parametrize("persons", [20, 150])
def test_tiny_cities_still_build(persons):
    city = build_city(persons, seed=1, history_days=1, today=TODAY)
    assert city.n_persons == persons
    assert city_tables.events_table(city, city.event_days[0]).num_rows > 0

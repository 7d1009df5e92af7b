"""A synthetic city as Arrow tables with the snapshot columns, and the Parquet sink.

Both sinks start here: `write_city_snapshots` stores these tables as the flows' Parquet
snapshots, and `city_loader` turns the same rows into DynamoDB items. Identifier columns are
built with Arrow compute (or dictionary-encoded), never one Python string at a time per event.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gridgate.adapters import parquet_exports as snapshots
from gridgate.config import Settings
from local_emulator.synthetic_city import (
    _PLACE_WORDS,
    DIRECTIONS,
    GRANT_STATUSES,
    KEY_GROUP_NAMES,
    METHODS,
    NANJING_DISTRICTS,
    OUTCOMES,
    PASS_STATUSES,
    REASONS,
    REGISTRY_APP,
    REGISTRY_POPULATION,
    RELATIONS,
    RIGHTS,
    SOURCES,
    concat,
    padded,
)

if TYPE_CHECKING:
    from local_emulator.synthetic_city import City, UtcDayEvents

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_MS_PER_DAY = 86_400_000


def _take(values: pa.Array | list, rows: np.ndarray) -> pa.Array:
    """values[rows], null where rows is -1."""
    values = values if isinstance(values, pa.Array) else pa.array(values, type=pa.string())
    rows = np.asarray(rows, dtype=np.int64)
    return values.take(pa.array(rows, mask=rows < 0))


def _coded(names: tuple[str, ...], codes: np.ndarray) -> pa.DictionaryArray:
    """A small enumeration column: int8 codes (-1 for null) over its names."""
    codes = np.asarray(codes)
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32), mask=codes < 0), pa.array(names))


def _dictionary(ids: pa.Array | list, rows: np.ndarray) -> pa.DictionaryArray:
    """An identifier column as indices into `ids` (null where rows is -1): no string per row."""
    ids = ids if isinstance(ids, pa.Array) else pa.array(ids, type=pa.string())
    rows = np.asarray(rows)
    return pa.DictionaryArray.from_arrays(pa.array(rows.astype(np.int32), mask=rows < 0), ids)


def _dates(ordinals: np.ndarray) -> pa.Array:
    ordinals = np.asarray(ordinals, dtype=np.int64)
    return pa.array((ordinals - _EPOCH_ORDINAL).astype(np.int32), type=pa.date32(), mask=ordinals < 0)


def _instants_ms(epoch_ms: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(epoch_ms, dtype=np.int64), type=pa.timestamp("ms", tz="UTC"))


def _sets(bits: np.ndarray, flags: tuple[tuple[int, str], ...]) -> pa.Array:
    """A list<string> column from bit flags: the sorted names of the bits set."""
    combos = pa.array(
        [sorted(name for bit, name in flags if combo & bit) for combo in range(1 << len(flags))],
        type=pa.list_(pa.string()),
    )
    return combos.take(pa.array(np.asarray(bits, dtype=np.int64)))


_REGISTRY_FLAGS = ((REGISTRY_APP, "app"), (REGISTRY_POPULATION, "population"))


# --- the registries -----------------------------------------------------------------------------


def persons_table(city: City) -> pa.Table:
    births = (city.person_birth.astype(np.int64) - _EPOCH_ORDINAL).astype("datetime64[D]")
    registered = city.person_registered_home
    grid_of_home = np.where(registered >= 0, city.home_grid[np.maximum(registered, 0)], -1)
    return pa.table(
        {
            "person_id": city.person_ids(),
            "registries": _sets(city.person_registries, _REGISTRY_FLAGS),
            "birth_year": pa.array(births.astype("datetime64[Y]").astype(np.int32) + 1970),
            "sex": pa.array(np.where(city.person_male, "M", "F")),
            "registered_home_id": _take(city.home_ids, registered),
            "registered_grid_id": _take(city.places.grid_ids, grid_of_home),
            "key_groups": _sets(city.person_key_groups, KEY_GROUP_NAMES),
        }
    )


def granted_counts(city: City) -> np.ndarray:
    """Active grants per home: the value of each home's cap counter."""
    active = city.grant_status == GRANT_STATUSES.index("active")
    return np.bincount(city.grant_home[active], minlength=city.n_homes)


def homes_table(city: City) -> pa.Table:
    places = city.places
    return pa.table(
        {
            "home_id": city.home_ids,
            "estate_id": _take(places.estate_ids, city.home_estate),
            "building_id": _take(places.building_ids, city.home_building),
            "unit": pc.cast(pa.array(city.home_unit), pa.string()),
            "floor": pa.array(city.home_floor.astype(np.int32)),
            "room": pc.cast(pa.array(city.home_room), pa.string()),
            "floor_area_m2": pa.array(city.home_area.astype(np.float64).round(1)),
            "grid_id": _take(places.grid_ids, city.home_grid),
            "granted_count": pa.array(granted_counts(city).astype(np.int32)),
        }
    )


def ownerships_table(city: City) -> pa.Table:
    return pa.table(
        {
            "person_id": city.person_ids(city.ownership_person),
            "home_id": _take(city.home_ids, city.ownership_home),
            "estate_id": _take(city.places.estate_ids, city.home_estate[city.ownership_home]),
            "since": _dates(city.ownership_since),
            "until": _dates(city.ownership_until),
        }
    )


def grants_table(city: City) -> pa.Table:
    return pa.table(
        {
            "home_id": _take(city.home_ids, city.grant_home),
            "grant_id": city.grant_ids(),
            "estate_id": _take(city.places.estate_ids, city.home_estate[city.grant_home]),
            "grantee_id": city.person_ids(city.grant_grantee),
            "relation": pa.array(np.array(RELATIONS)[city.grant_relation]),
            "starts_on": _dates(city.grant_starts),
            "ends_on": _dates(city.grant_ends),
            "granted_by": city.person_ids(city.grant_by),
            "status": pa.array(np.array(GRANT_STATUSES)[city.grant_status]),
            "created_at": _instants_ms(city.grant_created * 1000),
        }
    )


def _issued_passes(city: City):
    """(day's passes, rows issued before the city's clock) for each local day with passes."""
    now_ms = int(city.now.timestamp() * 1000)
    for local_day in city.passes_local_days():
        passes = city.passes(local_day)
        yield passes, np.flatnonzero(passes.valid_from < now_ms)


def passes_table(city: City) -> pa.Table:
    """Every visitor pass issued before the city's clock, over the history."""
    parts = [
        pa.table(
            {
                "pass_id": passes.ids().take(pa.array(rows)),
                "estate_id": _take(city.places.estate_ids, city.home_estate[passes.home[rows]]),
                "home_id": _take(city.home_ids, passes.home[rows]),
                "issued_by": city.person_ids(passes.issuer[rows]),
                "valid_from": _instants_ms(passes.valid_from[rows]),
                "valid_until": _instants_ms(passes.valid_from[rows] + _MS_PER_DAY),
                "max_uses": pa.array(passes.max_uses[rows], mask=passes.max_uses[rows] < 0),
                "uses": pa.array(passes.uses[rows]),
                "status": pa.array(np.array(PASS_STATUSES)[passes.status[rows]]),
            }
        )
        for passes, rows in _issued_passes(city)
    ]
    return pa.concat_tables(parts) if parts else snapshots.SNAPSHOT_SCHEMAS["visitor_passes"].empty_table()


def pass_visitors(city: City) -> np.ndarray:
    """The visitor (person row, -1 for someone from outside the city) of each `passes_table` row."""
    return np.concatenate([np.empty(0, np.int32), *(passes.visitor[rows] for passes, rows in _issued_passes(city))])


def places_table(city: City) -> pa.Table:
    """One row per place, its ancestors flattened (its own id at its own level, null below it)."""
    p = city.places
    n_d, n_s, n_c, n_g, n_e, n_b = (
        len(p.district_ids),
        len(p.street_ids),
        len(p.community_ids),
        len(p.grid_ids),
        len(p.estate_ids),
        len(p.building_ids),
    )
    street_d = p.street_district
    community_s = p.community_street
    grid_c = p.grid_community
    estate_g = p.estate_grid
    building_e = p.building_estate
    # ancestors of every level, as row indices into each level (-1 where not applicable)
    none = lambda n: np.full(n, -1)  # noqa: E731
    district = np.r_[
        np.arange(n_d),
        street_d,
        street_d[community_s],
        street_d[community_s[grid_c]],
        street_d[community_s[grid_c[estate_g]]],
        street_d[community_s[grid_c[estate_g[building_e]]]],
    ]
    street = np.r_[
        none(n_d),
        np.arange(n_s),
        community_s,
        community_s[grid_c],
        community_s[grid_c[estate_g]],
        community_s[grid_c[estate_g[building_e]]],
    ]
    community = np.r_[none(n_d + n_s), np.arange(n_c), grid_c, grid_c[estate_g], grid_c[estate_g[building_e]]]
    grid = np.r_[none(n_d + n_s + n_c), np.arange(n_g), estate_g, estate_g[building_e]]
    estate = np.r_[none(n_d + n_s + n_c + n_g), np.arange(n_e), building_e]
    kinds = (
        ["district"] * n_d
        + ["street"] * n_s
        + ["community"] * n_c
        + ["grid"] * n_g
        + ["estate"] * n_e
        + ["building"] * n_b
    )
    ids = [*p.district_ids, *p.street_ids, *p.community_ids, *p.grid_ids, *p.estate_ids, *p.building_ids]
    parent = (
        [None] * n_d
        + [p.district_ids[i] for i in street_d.tolist()]
        + [p.street_ids[i] for i in community_s.tolist()]
        + [p.community_ids[i] for i in grid_c.tolist()]
        + [p.grid_ids[i] for i in estate_g.tolist()]
        + [p.estate_ids[i] for i in building_e.tolist()]
    )
    return pa.table(
        {
            "place_id": pa.array(ids, pa.string()),
            "kind": pa.array(kinds, pa.string()),
            "name": pa.array(_place_names(city), pa.string()),
            "parent_id": pa.array(parent, pa.string()),
            "district_id": _take(p.district_ids, district),
            "street_id": _take(p.street_ids, street),
            "community_id": _take(p.community_ids, community),
            "grid_id": _take(p.grid_ids, grid),
            "estate_id": _take(p.estate_ids, estate),
        }
    )


def _place_names(city: City) -> list[str]:
    p = city.places
    words = _PLACE_WORDS

    def word(i: int, salt: int) -> str:
        return words[(i * 7 + salt) % len(words)] + words[(i * 13 + salt * 3 + 1) % len(words)]

    return (
        [NANJING_DISTRICTS[c][1] for c in p.district_codes.tolist()]
        + [f"{word(i, 1)}街道" for i in range(len(p.street_ids))]
        + [f"{word(i, 2)}社区" for i in range(len(p.community_ids))]
        + [f"第{i % 99 + 1}网格" for i in range(len(p.grid_ids))]
        + [f"{word(i, 3)}{'苑园居府'[i % 4]}" for i in range(len(p.estate_ids))]
        + [f"{r + 1}栋" for r in p.building_rank.tolist()]
    )


def face_templates_table(city: City) -> pa.Table:
    return pa.table(
        {
            "person_id": city.person_ids(city.template_person),
            "source": pa.array(np.array(SOURCES)[city.template_source]),
        }
    )


# --- events -------------------------------------------------------------------------------------


def event_ids(city: City, events: UtcDayEvents) -> pa.Array:
    """ "<gate_id>:<yyyymmdd>-<n>": the device's own event number, counted per gate and day."""
    by_gate = np.argsort(events.gate, kind="stable")
    number = np.empty(len(events), dtype=np.int64)
    sorted_gates = events.gate[by_gate]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_gates)) + 1]
    lengths = np.diff(np.r_[starts, len(sorted_gates)])
    number[by_gate] = np.arange(len(sorted_gates)) - np.repeat(starts, lengths)
    gates = pa.array(city.gate_ids, pa.string()).take(pa.array(events.gate))
    return concat(gates, f":{events.day:%Y%m%d}-", padded(number, 6))


def events_table(city: City, day: date) -> pa.Table:
    """The access events of UTC day `day` with the snapshot's columns (ids dictionary-encoded)."""
    events = city.events_on(day)
    pass_ids = pa.concat_arrays([city.passes(local).ids() for local in events.local_days])
    offsets = np.cumsum([0] + [len(city.passes(local)) for local in events.local_days])[:-1]
    pass_rows = np.where(events.pass_no >= 0, offsets[events.pass_day] + events.pass_no, -1)
    gate_estate = city.gate_estate[events.gate]
    return pa.table(
        {
            "event_id": event_ids(city, events),
            "gate_id": _dictionary(city.gate_ids, events.gate),
            "estate_id": _dictionary(city.places.estate_ids, gate_estate),
            "direction": _coded(DIRECTIONS, events.direction),
            "occurred_at": _instants_ms(events.at),
            "method": _coded(METHODS, events.method),
            "outcome": _coded(OUTCOMES, events.outcome),
            "reason": _coded(REASONS, events.reason),
            "person_id": _dictionary(city.person_ids(), events.person),
            "pass_id": _dictionary(pass_ids, pass_rows),
            "home_id": _dictionary(city.home_ids, events.home),
            "registry": _coded(SOURCES, events.registry),
            "score": pa.array(np.round(events.score, 3), mask=np.isnan(events.score)),
            "right": _coded(RIGHTS, events.right),
        }
    )


#: The snapshot tables of a city, by snapshot name (events are per day: `events_table`).
CITY_SNAPSHOTS = {
    "persons": persons_table,
    "homes": homes_table,
    "ownerships": ownerships_table,
    "grants": grants_table,
    "visitor_passes": passes_table,
    "places": places_table,
    "face_templates": face_templates_table,
}


def write_city_snapshots(city: City, settings: Settings, as_of: date | None = None) -> dict[str, int]:
    """Write the city straight to Parquet snapshots (no table in between); returns rows per snapshot.

    This is what a nightly export of a city of that size would contain: the registry snapshots
    as of `as_of` (default: the city's `today`) and one events partition per UTC day the history touches.
    """
    as_of = as_of or city.today
    rows: dict[str, int] = {}
    for name, build in CITY_SNAPSHOTS.items():
        table = build(city)
        snapshots.write_snapshot(name, table, settings, as_of)
        rows[name] = table.num_rows
    rows["access_events"] = 0
    for day in city.event_days:
        table = events_table(city, day)
        snapshots.write_events_day(day, table, settings)
        rows["access_events"] += table.num_rows
    return rows

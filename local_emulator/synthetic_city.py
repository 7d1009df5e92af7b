"""A synthetic city, built with numpy: the emulator's stand-in for Nanjing's registries.

`build_city(persons, seed)` draws the real hierarchy (district → street → community → grid →
estate → building → home → person), the property records (owners, some owning several homes in
other estates, some homes sold with the seller's tenant grant still active), the residents
(owners, family and tenants, granted by the owners), the two registries (≈47 % app users, most
people in the population registry, some only in one), key groups, gates with device keys, face
templates, visitor passes and N days of entries and exits. It also plants what the nightly
reconciliation and the key-group alerts are there to find; `City.truth` lists it.

Everything is columnar (one numpy array per attribute, rows addressed by index), so a city of a
million people is built in seconds and a few hundred MB; identifiers, names and events are
materialised on demand (`local_emulator.city_tables`). Events of one day are drawn from their own
random stream, so any day can be produced alone. The same seed and `today` give the same city.

Times: residents keep Nanjing's clock (UTC+8): they leave around 07:45 and are back around 18:30
local time. `today` is the city's local date (from `gridgate.clock` unless given); the history is
the `history_days` whole local days before it, ending at the city's `now` (local midnight).
Stored instants are UTC and event partitions are UTC days, like the access-events table
(`City.event_days`); docs/time.md says how the two calendars meet.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import TypedDict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gridgate.clock import city_clock
from gridgate.domain.id_numbers import CHECK_CHARACTERS, WEIGHTS
from gridgate.domain.model import (
    AccessMethod,
    Direction,
    GateDirection,
    GrantStatus,
    KeyGroup,
    Outcome,
    PassStatus,
    Registry,
    Relation,
)
from gridgate.domain.rights import RIGHT_KINDS
from gridgate.gate.decision import VISITOR, Reason
from gridgate.security.keyring import ed25519_public_key

#: The city's wall clock relative to UTC (Nanjing, no daylight saving time).
CITY_UTC_OFFSET_HOURS = 8
#: About this many people live in one estate.
PERSONS_PER_ESTATE = 800
#: Synthetic faces are drawn for this many persons at a time.
FACE_BLOCK = 4096


def _values(*members: enum.Enum) -> tuple[str, ...]:
    return tuple(member.value for member in members)


# Codes of the small enumerations kept as int8 columns: a code is an index into these tuples of the
# domain enums' values (the members the synthetic city uses, in its coding order).
REGISTRY_APP, REGISTRY_POPULATION = 1, 2  # bit flags in `registries`
KEY_ELDERLY_ALONE, KEY_DISABLED, KEY_CORRECTION = 1, 2, 4  # bit flags in `key_groups`
KEY_GROUP_NAMES = (
    (KEY_ELDERLY_ALONE, KeyGroup.ELDERLY_ALONE.value),
    (KEY_DISABLED, KeyGroup.DISABLED.value),
    (KEY_CORRECTION, KeyGroup.COMMUNITY_CORRECTION.value),
)
ROLE_OWNER, ROLE_CO_OWNER, ROLE_FAMILY, ROLE_TENANT, ROLE_NON_RESIDENT = range(5)
HOUSEHOLD_VACANT, HOUSEHOLD_OWNER, HOUSEHOLD_RENTED, HOUSEHOLD_GROUP = range(4)
RELATIONS = _values(Relation.FAMILY, Relation.TENANT)
GRANT_STATUSES = _values(GrantStatus.ACTIVE, GrantStatus.REVOKED, GrantStatus.EXPIRED)
PASS_STATUSES = _values(PassStatus.ACTIVE, PassStatus.REVOKED, PassStatus.EXPIRED, PassStatus.USED_UP)
SOURCES = _values(Registry.APP, Registry.POPULATION)
DIRECTIONS = _values(Direction.IN, Direction.OUT)
METHODS = _values(AccessMethod.FACE, AccessMethod.VISITOR_PASS, AccessMethod.RESIDENT_QR)
OUTCOMES = _values(Outcome.OPEN, Outcome.DENY, Outcome.RECORDED)
REASONS = _values(Reason.RESIDENT_RIGHT, Reason.VISITOR_PASS, Reason.EXIT_RECORDED, Reason.FACE_NOT_MATCHED)
RIGHTS = (*RIGHT_KINDS, VISITOR)
GATE_DIRECTIONS = _values(GateDirection.ENTRY, GateDirection.EXIT)

#: Nanjing's district area codes (the first six digits of a resident ID number) and names.
NANJING_DISTRICTS = (
    ("320102", "玄武区"),
    ("320104", "秦淮区"),
    ("320105", "建邺区"),
    ("320106", "鼓楼区"),
    ("320111", "浦口区"),
    ("320113", "栖霞区"),
    ("320114", "雨花台区"),
    ("320115", "江宁区"),
    ("320116", "六合区"),
    ("320117", "溧水区"),
    ("320118", "高淳区"),
)
SURNAMES = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤"
)
GIVEN = tuple(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建国志文玉珍红梅兵飞斌鹏宇浩然子涵欣怡梓轩雨桐诺晨思佳俊博晓婷雪琳宏波海燕春秀云"
)
_PLACE_WORDS = tuple("梅兰竹菊松柏桃李枫杨柳荷月星晨曦锦绣翠华瑞祥和安康宁泰丰盛嘉隆新福")

#: Building forms: units per building, floors, homes per floor and the median floor area (m²).
BUILDING_FORMS = np.array([(2, 6, 2, 95.0), (2, 11, 2, 102.0), (2, 18, 4, 86.0), (3, 6, 3, 62.0)])
BUILDING_FORM_SHARES = (0.3, 0.3, 0.25, 0.15)


def emulator_device_private_key(seed: int, gate_id: str) -> bytes:
    """The raw Ed25519 private key of an emulator gate: derived, so a test can act as the device.

    Only the public half is stored in the gates table; a real device generates its own key.
    """
    return hashlib.sha256(f"gridgate emulator device key|{seed}|{gate_id}".encode()).digest()


# --- small vectorised helpers ----------------------------------------------------------------------


def _group_parents(n: int, low: int, high: int, rng: np.random.Generator) -> np.ndarray:
    """Parent index of each of `n` consecutive children when parents take `low`..`high` each."""
    sizes = rng.integers(low, high + 1, size=n)
    return np.repeat(np.arange(n), sizes)[:n]


def _rank_in_group(groups: np.ndarray) -> np.ndarray:
    """0-based position of each element within its run of equal, sorted `groups` values."""
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    lengths = np.diff(np.r_[starts, len(groups)])
    return np.arange(len(groups)) - np.repeat(starts, lengths)


def _at_least_one(mask: np.ndarray, candidates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`mask`, with one random candidate set when no candidate is: small cities still get every case."""
    if candidates.size and not mask[candidates].any():
        mask = mask.copy()
        mask[rng.choice(candidates)] = True
    return mask


def concat(*parts) -> pa.Array:
    """Element-wise string concatenation of Arrow arrays and Python strings (scalars broadcast)."""
    return pc.binary_join_element_wise(*parts, "")


def padded(numbers: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")


def _epoch_seconds(day: date) -> int:
    return int(datetime.combine(day, time.min, tzinfo=UTC).timestamp())


# --- the city ------------------------------------------------------------------------------------


@dataclass
class Places:
    """The administrative hierarchy. Index arrays point at the parent level's rows."""

    district_codes: np.ndarray  # area code index (into NANJING_DISTRICTS) per district
    street_district: np.ndarray
    community_street: np.ndarray
    grid_community: np.ndarray
    estate_grid: np.ndarray
    building_estate: np.ndarray
    building_rank: np.ndarray  # building number within its estate, 0-based
    district_ids: list[str]
    street_ids: list[str]
    community_ids: list[str]
    grid_ids: list[str]
    estate_ids: list[str]
    building_ids: list[str]


@dataclass
class DayPasses:
    """The visitor passes of one local day: ordinary visitors first, then the group-rent regulars."""

    day: date
    home: np.ndarray
    issuer: np.ndarray
    visitor: np.ndarray  # person index, -1 for a visitor from outside the city
    valid_from: np.ndarray  # epoch ms
    max_uses: np.ndarray  # -1 for no limit
    uses: np.ndarray
    status: np.ndarray
    arrive: np.ndarray  # epoch ms of the visit (ordinary visitors who came; 0 otherwise)
    regulars: np.ndarray  # person rows whose pass is `n_visits + i`
    n_visits: int

    def __len__(self) -> int:
        return len(self.home)

    def ids(self) -> pa.Array:
        return concat(f"V{self.day:%Y%m%d}-", padded(np.arange(len(self.home)), 6))


@dataclass
class DayActivity:
    """Every gate passage of one local day, as columns (times are UTC epoch ms)."""

    day: date
    at: np.ndarray
    gate: np.ndarray
    person: np.ndarray  # -1 when nobody was identified
    home: np.ndarray
    pass_no: np.ndarray  # index into the day's `DayPasses`, -1 for none
    direction: np.ndarray
    method: np.ndarray
    outcome: np.ndarray
    reason: np.ndarray
    registry: np.ndarray  # -1 none, 0 app, 1 population
    score: np.ndarray  # face distance, NaN when no face matched
    right: np.ndarray  # -1 none, else index into RIGHTS


@dataclass
class City:
    """A whole synthetic city. Rows are indices; `-1` means "none" in every index column."""

    seed: int
    today: date
    history_days: int
    places: Places
    # homes
    home_building: np.ndarray
    home_unit: np.ndarray
    home_floor: np.ndarray
    home_room: np.ndarray
    home_area: np.ndarray
    home_household: np.ndarray  # HOUSEHOLD_* kind
    # persons
    person_home: np.ndarray  # the home they live in, -1 for people living outside the estates
    person_role: np.ndarray
    person_registries: np.ndarray  # REGISTRY_* bits
    person_birth: np.ndarray  # birth date as a proleptic ordinal
    person_male: np.ndarray
    person_area: np.ndarray  # index into NANJING_DISTRICTS (ID number area code)
    person_sequence: np.ndarray  # ID number sequence (3 digits)
    person_surname: np.ndarray
    person_given: np.ndarray  # (n, 2) indices into GIVEN, second -1 for one-character names
    person_phone: np.ndarray  # 11-digit mobile number, 0 for none
    person_registered_home: np.ndarray  # address in the population registry, -1 for none
    person_key_groups: np.ndarray  # KEY_* bits
    person_silent: np.ndarray  # lives here but passes no gate (moved out, or elderly not leaving)
    person_night_owl: np.ndarray  # community correction, out at unusual hours
    person_pass_regular: np.ndarray  # lives in a group-rented home, enters on visitor passes
    # property records and rights
    ownership_person: np.ndarray
    ownership_home: np.ndarray
    ownership_since: np.ndarray  # ordinal
    ownership_until: np.ndarray  # ordinal, -1 while owned
    grant_home: np.ndarray
    grant_grantee: np.ndarray
    grant_relation: np.ndarray
    grant_starts: np.ndarray  # ordinal
    grant_ends: np.ndarray  # ordinal, -1 for open-ended
    grant_by: np.ndarray
    grant_status: np.ndarray
    grant_created: np.ndarray  # epoch seconds
    # gates and faces
    gate_estate: np.ndarray
    gate_direction: np.ndarray
    gate_ids: list[str]
    template_person: np.ndarray
    template_source: np.ndarray  # 0 app, 1 population
    template_consent: np.ndarray  # epoch seconds
    #: What the flows should find, by kind: ids of the homes, people, grants and passes concerned.
    truth: dict[str, list[str]] = field(default_factory=dict)
    _days: dict[date, DayActivity] = field(default_factory=dict, repr=False)
    _passes: dict[date, DayPasses] = field(default_factory=dict, repr=False)

    # ---- sizes and identifiers ---------------------------------------------------------------

    @property
    def n_persons(self) -> int:
        return len(self.person_home)

    @property
    def n_homes(self) -> int:
        return len(self.home_building)

    @property
    def home_estate(self) -> np.ndarray:
        return self.places.building_estate[self.home_building]

    @property
    def home_grid(self) -> np.ndarray:
        return self.places.estate_grid[self.home_estate]

    @property
    def history(self) -> list[date]:
        """The local days of recorded passages, oldest first: the whole days before `today`."""
        return [self.today - timedelta(days=n) for n in range(self.history_days, 0, -1)]

    @property
    def event_days(self) -> list[date]:
        """The UTC days (event partitions) the history touches: a local day begins at 16:00 UTC
        the day before, so local days D1..Dn fill UTC days D1-1 (from 16:00) .. Dn (to 16:00)."""
        if not self.history:
            return []
        return [self.history[0] - timedelta(days=1), *self.history]

    @property
    def now(self) -> datetime:
        """The city's clock: the moment the history ends (local midnight opening `today`)."""
        return datetime.fromtimestamp(_local_midnight_ms(self.today) / 1000, UTC)

    def person_ids(self, rows: np.ndarray | None = None) -> pa.Array:
        rows = np.arange(self.n_persons) if rows is None else rows
        return concat("P", padded(rows, 7))

    @cached_property
    def home_ids(self) -> pa.Array:
        building_ids = pa.array(self.places.building_ids)
        return concat(
            building_ids.take(pa.array(self.home_building)),
            "-U",
            pc.cast(pa.array(self.home_unit), pa.string()),
            "-",
            pc.cast(pa.array(self.home_room), pa.string()),
        )

    def grant_ids(self) -> pa.Array:
        return concat("G", padded(np.arange(len(self.grant_home)), 8))

    def gate_key_ids(self) -> list[str]:
        return [f"{gate_id}#device-1" for gate_id in self.gate_ids]

    def gate_public_keys(self) -> list[bytes]:
        return [ed25519_public_key(emulator_device_private_key(self.seed, g)) for g in self.gate_ids]

    def id_numbers(self, rows: np.ndarray | None = None) -> np.ndarray:
        """18-character resident ID numbers (bytes, `S18`) of `rows`, check digit per GB 11643."""
        rows = np.arange(self.n_persons) if rows is None else rows
        births = (self.person_birth[rows] - date(1970, 1, 1).toordinal()).astype("datetime64[D]")
        ymd = np.char.replace(np.datetime_as_string(births, unit="D"), "-", "").astype("S8")
        area = np.array([code for code, _ in NANJING_DISTRICTS], dtype="S6")[self.person_area[rows]]
        digits = np.empty((len(rows), 18), dtype=np.uint8)
        digits[:, :6] = area.view(np.uint8).reshape(-1, 6)
        digits[:, 6:14] = ymd.view(np.uint8).reshape(-1, 8)
        seq = self.person_sequence[rows]
        digits[:, 14] = ord("0") + seq // 100
        digits[:, 15] = ord("0") + seq // 10 % 10
        digits[:, 16] = ord("0") + seq % 10
        remainder = ((digits[:, :17].astype(np.int64) - ord("0")) @ np.array(WEIGHTS)) % 11
        digits[:, 17] = np.frombuffer(CHECK_CHARACTERS.encode(), dtype=np.uint8)[remainder]
        return digits.view("S18").ravel()

    def names(self, rows: np.ndarray) -> list[str]:
        first, second = self.person_given[rows, 0], self.person_given[rows, 1]
        return [
            SURNAMES[s] + GIVEN[a] + (GIVEN[b] if b >= 0 else "")
            for s, a, b in zip(self.person_surname[rows].tolist(), first.tolist(), second.tolist())
        ]

    def face_encodings(self, rows: np.ndarray) -> np.ndarray:
        """The 128-d unit float32 encodings of template `rows`: one face per person plus a little
        noise per source. Faces are drawn in blocks of persons from the block's own stream, so
        any subset of templates is reproducible without drawing the whole city's faces."""
        person, source = self.template_person[rows], self.template_source[rows]
        block = person // FACE_BLOCK
        out = np.empty((len(rows), 128), dtype=np.float32)
        for b in np.unique(block).tolist():
            sel = np.flatnonzero(block == b)
            draw = np.random.default_rng([self.seed, 0xFACE, b]).standard_normal((3, FACE_BLOCK, 128), dtype=np.float32)
            at = person[sel] % FACE_BLOCK
            vectors = draw[0, at] + 0.12 * draw[1 + source[sel], at]
            out[sel] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        return out

    # ---- activity --------------------------------------------------------------------------------

    def passes(self, local_day: date) -> DayPasses:
        """The visitor passes issued on one local day (small: about one per 80 residents)."""
        if local_day not in self._passes:
            self._passes[local_day] = _draw_passes(self, local_day)
        return self._passes[local_day]

    def activity(self, local_day: date) -> DayActivity:
        """The passages of one local day (the last few are kept: each spans two UTC days)."""
        if local_day not in self._days:
            if len(self._days) >= 2:
                self._days.pop(next(iter(self._days)))
            self._days[local_day] = _draw_passages(self, local_day, self.passes(local_day))
        return self._days[local_day]

    def events_on(self, day: date) -> UtcDayEvents:
        """Every passage of UTC day `day` in the history, in time order (local days `day` and
        `day + 1` share it; only history days count, so nothing happens after the city's `now`)."""
        start = _epoch_seconds(day) * 1000
        end = start + 86_400_000
        parts = []
        for local in (day, day + timedelta(days=1)):
            if not self.history or not self.history[0] <= local <= self.history[-1]:
                continue
            act = self.activity(local)
            keep = (act.at >= start) & (act.at < end)
            parts.append((act, keep))
        return _merge_events(day, parts)

    def passes_local_days(self) -> list[date]:
        """Local days whose passes exist: the history (today's are issued after the city's `now`)."""
        return self.history

    def counts(self) -> dict[str, int]:
        return {
            "districts": len(self.places.district_ids),
            "streets": len(self.places.street_ids),
            "communities": len(self.places.community_ids),
            "grids": len(self.places.grid_ids),
            "estates": len(self.places.estate_ids),
            "buildings": len(self.places.building_ids),
            "homes": self.n_homes,
            "persons": self.n_persons,
            "ownerships": len(self.ownership_person),
            "grants": len(self.grant_home),
            "gates": len(self.gate_ids),
            "face_templates": len(self.template_person),
        }


# --- building a city -------------------------------------------------------------------------------


def build_city(persons: int, seed: int = 7, history_days: int = 3, today: date | None = None) -> City:
    """A city of exactly `persons` people with `history_days` days of passages before `today`."""
    if persons < 20:
        raise ValueError("a city needs at least 20 persons")
    if history_days < 0:
        raise ValueError("history_days must be >= 0")
    today = today or city_clock().today()
    rng = np.random.default_rng([seed, 0xC17])
    places = _draw_places(persons, rng)
    homes = _draw_homes(places, persons, rng)
    people = _draw_people(homes, persons, today, rng)
    property_ = _draw_property(homes, people, today, rng)
    _draw_registries(people, property_, homes, today, rng)
    gates = _draw_gates(places, homes, rng)
    templates = _draw_templates(people, today, rng)
    city = City(
        seed=seed,
        today=today,
        history_days=history_days,
        places=places,
        **homes.columns(),
        **people.columns(),
        **property_.columns(),
        **gates,
        **templates,
    )
    city.truth = _truth(city, property_)
    return city


def _draw_places(persons: int, rng: np.random.Generator) -> Places:
    n_estates = max(1, round(persons / PERSONS_PER_ESTATE))
    estate_grid = _group_parents(n_estates, 1, 3, rng)
    grid_community = _group_parents(estate_grid[-1] + 1, 2, 6, rng)
    community_street = _group_parents(grid_community[-1] + 1, 3, 8, rng)
    street_district = _group_parents(community_street[-1] + 1, 4, 10, rng)
    n_districts = street_district[-1] + 1
    district_codes = np.arange(n_districts) % len(NANJING_DISTRICTS)

    def child_ids(parent_ids: list[str], parents: np.ndarray, letter: str) -> list[str]:
        ranks = _rank_in_group(parents) + 1
        return [f"{parent_ids[p]}-{letter}{r:02d}" for p, r in zip(parents.tolist(), ranks.tolist())]

    district_ids = [f"D{n + 1:02d}" for n in range(n_districts)]
    street_ids = child_ids(district_ids, street_district, "S")
    community_ids = child_ids(street_ids, community_street, "C")
    grid_ids = child_ids(community_ids, grid_community, "G")
    estate_ids = [f"E{n + 1:05d}" for n in range(n_estates)]
    return Places(
        district_codes=district_codes,
        street_district=street_district,
        community_street=community_street,
        grid_community=grid_community,
        estate_grid=estate_grid,
        building_estate=np.empty(0, dtype=np.int32),
        building_rank=np.empty(0, dtype=np.int32),
        district_ids=district_ids,
        street_ids=street_ids,
        community_ids=community_ids,
        grid_ids=grid_ids,
        estate_ids=estate_ids,
        building_ids=[],
    )


class _HomeColumns(TypedDict):
    """The homes' columns of `City`."""

    home_building: np.ndarray
    home_unit: np.ndarray
    home_floor: np.ndarray
    home_room: np.ndarray
    home_area: np.ndarray
    home_household: np.ndarray


class _PersonColumns(TypedDict):
    """The persons' columns of `City`."""

    person_home: np.ndarray
    person_role: np.ndarray
    person_registries: np.ndarray
    person_birth: np.ndarray
    person_male: np.ndarray
    person_area: np.ndarray
    person_sequence: np.ndarray
    person_surname: np.ndarray
    person_given: np.ndarray
    person_phone: np.ndarray
    person_registered_home: np.ndarray
    person_key_groups: np.ndarray
    person_silent: np.ndarray
    person_night_owl: np.ndarray
    person_pass_regular: np.ndarray


class _PropertyColumns(TypedDict):
    """The ownerships' and grants' columns of `City`."""

    ownership_person: np.ndarray
    ownership_home: np.ndarray
    ownership_since: np.ndarray
    ownership_until: np.ndarray
    grant_home: np.ndarray
    grant_grantee: np.ndarray
    grant_relation: np.ndarray
    grant_starts: np.ndarray
    grant_ends: np.ndarray
    grant_by: np.ndarray
    grant_status: np.ndarray
    grant_created: np.ndarray


class _GateColumns(TypedDict):
    """The gates' columns of `City`."""

    gate_estate: np.ndarray
    gate_direction: np.ndarray
    gate_ids: list[str]


class _TemplateColumns(TypedDict):
    """The face templates' columns of `City`."""

    template_person: np.ndarray
    template_source: np.ndarray
    template_consent: np.ndarray


@dataclass
class _Homes:
    building: np.ndarray
    unit: np.ndarray
    floor: np.ndarray
    room: np.ndarray
    area: np.ndarray
    household: np.ndarray
    size: np.ndarray  # residents per home
    estate: np.ndarray

    def columns(self) -> _HomeColumns:
        return {
            "home_building": self.building,
            "home_unit": self.unit,
            "home_floor": self.floor,
            "home_room": self.room,
            "home_area": self.area,
            "home_household": self.household,
        }


def _draw_homes(places: Places, persons: int, rng: np.random.Generator) -> _Homes:
    """Buildings of one form per estate, homes numbered like Nanjing's doors, and households."""
    n_estates = len(places.estate_ids)
    residents_wanted = persons - max(1, round(persons * 0.04))  # the rest own homes but live elsewhere
    n_homes = int(residents_wanted / (2.55 * 0.9) * 1.08) + 2
    weights = rng.lognormal(0.0, 0.3, n_estates)
    estate_homes = np.maximum(1, np.round(n_homes * weights / weights.sum())).astype(np.int64)
    form = rng.choice(len(BUILDING_FORMS), size=n_estates, p=BUILDING_FORM_SHARES)
    units, floors, per_floor, median_area = BUILDING_FORMS[form].T
    per_building = (units * floors * per_floor).astype(np.int64)
    n_buildings = -(-estate_homes // per_building)
    building_estate = np.repeat(np.arange(n_estates), n_buildings)
    building_rank = _rank_in_group(building_estate)
    building_homes = per_building[building_estate].copy()
    last = np.cumsum(n_buildings) - 1
    building_homes[last] = estate_homes - (n_buildings - 1) * per_building
    places.building_estate = building_estate.astype(np.int32)
    places.building_rank = building_rank.astype(np.int32)
    places.building_ids = [
        f"{places.estate_ids[e]}-B{r + 1:02d}" for e, r in zip(building_estate.tolist(), building_rank.tolist())
    ]

    home_building = np.repeat(np.arange(len(building_estate)), building_homes)
    local = _rank_in_group(home_building)
    h_form = form[building_estate[home_building]]
    per_unit = (BUILDING_FORMS[h_form, 1] * BUILDING_FORMS[h_form, 2]).astype(np.int64)
    rooms_per_floor = BUILDING_FORMS[h_form, 2].astype(np.int64)
    unit = local // per_unit + 1
    floor = local % per_unit // rooms_per_floor + 1
    room = floor * 100 + local % rooms_per_floor + 1
    area = np.clip(rng.lognormal(np.log(BUILDING_FORMS[h_form, 3]), 0.28), 28, 320).round(1)
    estate = building_estate[home_building]

    # Households: who lives in each home, in a random order so trimming to the wanted number of
    # residents leaves vacant homes everywhere, not only in the last estates.
    count = len(home_building)
    kind = rng.choice([HOUSEHOLD_VACANT, HOUSEHOLD_OWNER, HOUSEHOLD_RENTED], size=count, p=[0.1, 0.7, 0.2])
    group = rng.choice(count, size=min(count, max(2, round(count * 0.004))), replace=False)
    kind[group] = HOUSEHOLD_GROUP
    area[group] = rng.uniform(38, 62, size=len(group)).round(1)
    size = np.zeros(count, dtype=np.int64)
    owner = kind == HOUSEHOLD_OWNER
    size[owner] = rng.choice([1, 2, 3, 4, 5], size=owner.sum(), p=[0.22, 0.32, 0.25, 0.13, 0.08])
    rented = kind == HOUSEHOLD_RENTED
    size[rented] = rng.choice([1, 2, 3, 4], size=rented.sum(), p=[0.42, 0.36, 0.16, 0.06])
    size[group] = rng.integers(8, 14, size=len(group))
    order = np.r_[group, np.setdiff1d(rng.permutation(count), group, assume_unique=True)]
    running = np.cumsum(size[order])
    over = running > residents_wanted
    if over.any():
        first_over = np.argmax(over)
        size[order[first_over]] -= running[first_over] - residents_wanted
        size[order[first_over + 1 :]] = 0
    kind[size == 0] = HOUSEHOLD_VACANT
    return _Homes(
        building=home_building.astype(np.int32),
        unit=unit.astype(np.int16),
        floor=floor.astype(np.int16),
        room=room.astype(np.int16),
        area=area.astype(np.float32),
        household=kind.astype(np.int8),
        size=size,
        estate=estate,
    )


@dataclass
class _People:
    home: np.ndarray
    role: np.ndarray
    birth: np.ndarray
    male: np.ndarray
    area: np.ndarray
    sequence: np.ndarray
    surname: np.ndarray
    given: np.ndarray
    key_groups: np.ndarray
    silent: np.ndarray
    night_owl: np.ndarray
    pass_regular: np.ndarray
    registries: np.ndarray = field(default_factory=lambda: np.empty(0, np.int8))
    phone: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    registered_home: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))

    def columns(self) -> _PersonColumns:
        return {
            "person_home": self.home,
            "person_role": self.role,
            "person_registries": self.registries,
            "person_birth": self.birth,
            "person_male": self.male,
            "person_area": self.area,
            "person_sequence": self.sequence,
            "person_surname": self.surname,
            "person_given": self.given,
            "person_phone": self.phone,
            "person_registered_home": self.registered_home,
            "person_key_groups": self.key_groups,
            "person_silent": self.silent,
            "person_night_owl": self.night_owl,
            "person_pass_regular": self.pass_regular,
        }


def _draw_people(homes: _Homes, persons: int, today: date, rng: np.random.Generator) -> _People:
    """Residents home by home (owner first), then the owners and ex-owners who live elsewhere."""
    lived = np.flatnonzero(homes.size)
    home = np.repeat(lived, homes.size[lived])
    member = _rank_in_group(home)
    n_residents = len(home)
    n_outside = persons - n_residents
    home = np.r_[home, np.full(n_outside, -1)].astype(np.int32)
    member = np.r_[member, np.zeros(n_outside, dtype=np.int64)]
    household = np.where(home >= 0, homes.household[home], HOUSEHOLD_VACANT)
    size = np.where(home >= 0, homes.size[home], 0)

    role = np.full(persons, ROLE_NON_RESIDENT, dtype=np.int8)
    owner_home = household == HOUSEHOLD_OWNER
    role[owner_home & (member == 0)] = ROLE_OWNER
    co_owner = owner_home & (member == 1) & (rng.random(persons) < 0.35)
    role[co_owner] = ROLE_CO_OWNER
    role[owner_home & (member >= 1) & ~co_owner] = ROLE_FAMILY
    role[(household == HOUSEHOLD_RENTED) | (household == HOUSEHOLD_GROUP)] = ROLE_TENANT

    # Ages: owners middle-aged, a third of the people living alone elderly, children and parents
    # in families, working-age tenants.
    age = np.clip(rng.normal(50, 14, persons), 24, 92)
    alone_owner = (role == ROLE_OWNER) & (size == 1)
    elderly = alone_owner & (rng.random(persons) < 0.4)
    age[elderly] = rng.uniform(70, 94, elderly.sum())
    family = role == ROLE_FAMILY
    age[family] = np.where(
        rng.random(family.sum()) < 0.6, rng.uniform(0, 26, family.sum()), rng.uniform(58, 90, family.sum())
    )
    tenant = role == ROLE_TENANT
    age[tenant] = rng.uniform(18, 56, tenant.sum())
    age[role == ROLE_CO_OWNER] = np.clip(
        age[np.flatnonzero(role == ROLE_CO_OWNER) - 1] + rng.normal(0, 3, co_owner.sum()), 22, 95
    )
    birth = today.toordinal() - (age * 365.25).astype(np.int64) - rng.integers(0, 365, persons)
    male = rng.random(persons) < 0.5
    male[co_owner] = ~male[np.flatnonzero(co_owner) - 1]

    surname = rng.integers(0, len(SURNAMES), persons).astype(np.int16)
    children = family & (age < 26)
    first_of_home = np.flatnonzero(children) - member[children]
    surname[children] = surname[first_of_home]
    given = rng.integers(0, len(GIVEN), (persons, 2)).astype(np.int16)
    given[rng.random(persons) < 0.3, 1] = -1

    area = rng.integers(0, len(NANJING_DISTRICTS), persons).astype(np.int8)
    sequence = _unique_sequences(area, birth, male, rng)

    key_groups = np.zeros(persons, dtype=np.int8)
    key_groups[elderly] |= KEY_ELDERLY_ALONE
    residents = np.flatnonzero(home >= 0)
    disabled = _at_least_one(rng.random(persons) < 0.015, residents, rng)
    key_groups[disabled & (home >= 0)] |= KEY_DISABLED
    adults = np.flatnonzero((home >= 0) & (age >= 18) & (role != ROLE_TENANT))
    correction = _at_least_one(rng.random(persons) < 0.001, adults, rng)
    correction &= np.isin(np.arange(persons), adults)
    key_groups[correction] |= KEY_CORRECTION

    # Planted for the key-group alerts and the reconciliation: elderly people living alone who
    # have not gone out for days, people registered here who moved away, night-time movement.
    not_leaving = _at_least_one(elderly & (rng.random(persons) < 0.2), np.flatnonzero(elderly), rng)
    movable = np.flatnonzero(family | tenant)
    moved_out = _at_least_one((family | tenant) & (rng.random(persons) < 0.01), movable, rng)
    silent = (not_leaving & elderly) | moved_out
    night_owl = _at_least_one(correction & (rng.random(persons) < 0.4), np.flatnonzero(correction), rng) & correction
    return _People(
        home=home,
        role=role,
        birth=birth.astype(np.int32),
        male=male,
        area=area,
        sequence=sequence,
        surname=surname,
        given=given,
        key_groups=key_groups,
        silent=silent,
        night_owl=night_owl,
        pass_regular=np.zeros(persons, dtype=bool),
    )


def _unique_sequences(area: np.ndarray, birth: np.ndarray, male: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """ID-number sequences (odd for men) such that no two people share an ID number."""
    sequence = rng.integers(0, 500, len(area)) * 2 + male
    while True:
        key = (area.astype(np.int64) * 1_000_000 + birth) * 1000 + sequence
        _, first = np.unique(key, return_index=True)
        repeated = np.setdiff1d(np.arange(len(key)), first, assume_unique=True)
        if not repeated.size:
            return sequence.astype(np.int16)
        sequence[repeated] = rng.integers(0, 500, repeated.size) * 2 + male[repeated]


@dataclass
class _Property:
    ownership_person: np.ndarray
    ownership_home: np.ndarray
    ownership_since: np.ndarray
    ownership_until: np.ndarray
    grant_home: np.ndarray
    grant_grantee: np.ndarray
    grant_relation: np.ndarray
    grant_starts: np.ndarray
    grant_ends: np.ndarray
    grant_by: np.ndarray
    grant_status: np.ndarray
    grant_created: np.ndarray
    landlord: np.ndarray  # current owner issuing passes, per home (-1 when owner-occupied only)
    sold_homes: np.ndarray
    over_cap_homes: np.ndarray

    def columns(self) -> _PropertyColumns:
        return {
            "ownership_person": self.ownership_person,
            "ownership_home": self.ownership_home,
            "ownership_since": self.ownership_since,
            "ownership_until": self.ownership_until,
            "grant_home": self.grant_home,
            "grant_grantee": self.grant_grantee,
            "grant_relation": self.grant_relation,
            "grant_starts": self.grant_starts,
            "grant_ends": self.grant_ends,
            "grant_by": self.grant_by,
            "grant_status": self.grant_status,
            "grant_created": self.grant_created,
        }


def _draw_property(homes: _Homes, people: _People, today: date, rng: np.random.Generator) -> _Property:
    """Ownership of every home, and the owners' grants to the family and tenants living there."""
    n_homes = len(homes.building)
    persons = np.arange(len(people.home))
    owners = persons[people.role == ROLE_OWNER]
    outsiders = persons[people.role == ROLE_NON_RESIDENT]
    first_member = np.full(n_homes, -1)
    resident = people.home >= 0
    first_member[people.home[resident][::-1]] = persons[resident][::-1]

    # Homes not lived in by their owner belong to a landlord: an owner living in another home
    # (often another estate) or someone living outside the estates.
    let = np.flatnonzero(homes.household != HOUSEHOLD_OWNER)
    pool_owner = rng.random(len(let)) < 0.55
    landlord = np.full(n_homes, -1)
    if owners.size and outsiders.size:
        landlord[let] = np.where(pool_owner, rng.choice(owners, len(let)), rng.choice(outsiders, len(let)))
    else:
        landlord[let] = rng.choice(owners if owners.size else outsiders, len(let))
    occupied_by_owner = np.flatnonzero(homes.household == HOUSEHOLD_OWNER)
    today_ord = today.toordinal()
    bought = rng.integers(date(1998, 1, 1).toordinal(), today_ord - 400, n_homes)

    # Some let homes were sold recently: the seller's ownership ended, and the tenants' grants
    # the seller made are still active (the reconciliation must revoke them).
    rented = np.flatnonzero(homes.household == HOUSEHOLD_RENTED)
    sold = rented[rng.random(len(rented)) < 0.03]
    if rented.size and not sold.size:
        sold = rng.choice(rented, 1)
    sellers = rng.choice(owners if owners.size else outsiders, len(sold))
    bought[sold] = today_ord - rng.integers(20, 300, len(sold))
    seller_since = bought[sold] - rng.integers(400, 4000, len(sold))
    grantor = landlord.copy()
    grantor[sold] = sellers

    co_owners = persons[people.role == ROLE_CO_OWNER]
    current_person = np.r_[first_member[occupied_by_owner], co_owners, landlord[let]]
    current_home = np.r_[occupied_by_owner, people.home[co_owners], let]
    o_person = np.r_[current_person, sellers]
    o_home = np.r_[current_home, sold]
    o_since = np.r_[bought[current_home], seller_since]
    o_until = np.r_[np.full(len(current_home), -1), bought[sold]]

    # Grants: family from the owner living there, tenants from the landlord (or from the seller,
    # before the sale). Group-rented homes: half have every tenant granted (far over any cap),
    # half only two or three (the others come in on visitor passes, day after day).
    family = persons[people.role == ROLE_FAMILY]
    tenants = persons[people.role == ROLE_TENANT]
    t_home = people.home[tenants]
    group_homes = np.flatnonzero(homes.household == HOUSEHOLD_GROUP)
    fully_granted = group_homes[::2]  # every other one; the rest have regulars on passes
    in_group = homes.household[t_home] == HOUSEHOLD_GROUP
    rank = tenants - first_member[t_home]
    regular = in_group & ~np.isin(t_home, fully_granted) & (rank >= 2 + (t_home % 2))
    people.pass_regular[tenants[regular]] = True
    granted_tenants = tenants[~regular]

    grantee = np.r_[family, granted_tenants]
    g_home = people.home[grantee]
    relation = np.r_[np.zeros(len(family), np.int8), np.ones(len(granted_tenants), np.int8)]
    by = np.r_[first_member[people.home[family]], grantor[people.home[granted_tenants]]]
    is_tenant = relation == 1
    earliest = np.maximum(bought[g_home], today_ord - 2000) + 1
    starts = earliest + (rng.random(len(grantee)) * (today_ord - 1 - earliest)).astype(np.int64)
    starts[is_tenant] = np.maximum(today_ord - rng.integers(10, 700, is_tenant.sum()), earliest[is_tenant])
    in_sold = np.isin(g_home, sold)
    sale_of_home = np.zeros(n_homes, dtype=np.int64)
    sale_of_home[sold] = bought[sold]
    starts[in_sold] = sale_of_home[g_home[in_sold]] - rng.integers(30, 300, in_sold.sum())
    ends = np.where(is_tenant, today_ord + rng.integers(30, 700, len(grantee)), -1)
    created = (starts - date(1970, 1, 1).toordinal()) * 86400 - rng.integers(3600, 86400 * 3, len(grantee))
    return _Property(
        ownership_person=o_person.astype(np.int32),
        ownership_home=o_home.astype(np.int32),
        ownership_since=o_since.astype(np.int32),
        ownership_until=o_until.astype(np.int32),
        grant_home=g_home.astype(np.int32),
        grant_grantee=grantee.astype(np.int32),
        grant_relation=relation,
        grant_starts=starts.astype(np.int32),
        grant_ends=ends.astype(np.int32),
        grant_by=by.astype(np.int32),
        grant_status=np.zeros(len(grantee), dtype=np.int8),
        grant_created=created.astype(np.int64),
        landlord=landlord,
        sold_homes=sold,
        over_cap_homes=fully_granted,
    )


def _draw_registries(
    people: _People, property_: _Property, homes: _Homes, today: date, rng: np.random.Generator
) -> None:
    """Registry membership (≈47 % app users), registered addresses and phones."""
    persons = len(people.home)
    resident = people.home >= 0
    in_population = rng.random(persons) < np.where(people.role == ROLE_TENANT, 0.6, 0.95)
    # Whoever grants or issues passes does it in the app, so they are app users.
    must_use_app = np.zeros(persons, dtype=bool)
    must_use_app[property_.grant_by] = True
    must_use_app[property_.landlord[property_.landlord >= 0]] = True
    must_use_app[(people.role == ROLE_OWNER)] |= rng.random(persons)[people.role == ROLE_OWNER] < 0.5
    share = max(0.0, (0.47 * persons - must_use_app.sum()) / max(1, persons - must_use_app.sum()))
    app = must_use_app | (rng.random(persons) < share)
    in_population |= ~app
    people.registries = (app * REGISTRY_APP + in_population * REGISTRY_POPULATION).astype(np.int8)

    # The population registry's address: usually the home lived in; four in ten tenants are
    # registered elsewhere (a grantee with an address elsewhere is a finding to verify).
    registered = np.where(resident, people.home, -1)
    elsewhere = (people.role == ROLE_TENANT) & (rng.random(persons) < 0.4)
    registered[elsewhere] = rng.integers(0, len(homes.building), elsewhere.sum())
    registered[~in_population] = -1
    people.registered_home = registered.astype(np.int32)
    people.phone = np.where(app, 13_000_000_000 + rng.integers(0, 6_000_000_000, persons), 0).astype(np.int64)


def _draw_gates(places: Places, homes: _Homes, rng: np.random.Generator) -> _GateColumns:
    """An entry and an exit gate per estate; estates of more than 400 homes have two of each."""
    estate_homes = np.bincount(homes.estate, minlength=len(places.estate_ids))
    pairs = 1 + (estate_homes > 400)
    gate_estate = np.repeat(np.arange(len(places.estate_ids)), pairs * 2)
    rank = _rank_in_group(gate_estate)
    gate_ids = [f"{places.estate_ids[e]}-G{r + 1}" for e, r in zip(gate_estate.tolist(), rank.tolist())]
    return {
        "gate_estate": gate_estate.astype(np.int32),
        "gate_direction": (rank % 2).astype(np.int8),
        "gate_ids": gate_ids,
    }


def _draw_templates(people: _People, today: date, rng: np.random.Generator) -> _TemplateColumns:
    """A face template per registry a person is in: app enrolment and population-registry photo."""
    app = np.flatnonzero(people.registries & REGISTRY_APP)
    population = np.flatnonzero(people.registries & REGISTRY_POPULATION)
    person = np.r_[app, population]
    source = np.r_[np.zeros(len(app), np.int8), np.ones(len(population), np.int8)]
    low_app, low_pop = _epoch_seconds(date(2019, 6, 1)), _epoch_seconds(date(2012, 1, 1))
    high = _epoch_seconds(today) - 86400
    consent = np.where(source == 0, rng.integers(low_app, high, len(person)), rng.integers(low_pop, high, len(person)))
    order = np.lexsort((source, person))
    return {
        "template_person": person[order].astype(np.int32),
        "template_source": source[order],
        "template_consent": consent[order].astype(np.int64),
    }


def _truth(city: City, property_: _Property) -> dict[str, list[str]]:
    """The planted cases, by the finding or alert each should raise."""
    ids = city.person_ids()
    home_ids = city.home_ids

    def people(mask: np.ndarray) -> list[str]:
        return ids.filter(pa.array(mask)).to_pylist()

    def homes(rows: np.ndarray) -> list[str]:
        return home_ids.take(pa.array(np.asarray(rows, dtype=np.int64))).to_pylist()

    elderly = (city.person_key_groups & KEY_ELDERLY_ALONE) > 0
    sold_grants = np.flatnonzero(np.isin(city.grant_home, property_.sold_homes) & (city.grant_relation == 1))
    grantee_home = city.grant_home
    registered = city.person_registered_home[city.grant_grantee]
    elsewhere = np.flatnonzero((registered >= 0) & (registered != grantee_home))
    return {
        "elderly_not_leaving": people(elderly & city.person_silent),
        "moved_out": people(city.person_silent & ~elderly),
        "night_movement": people(city.person_night_owl),
        "pass_regulars": people(city.person_pass_regular),
        "group_rented_homes": homes(np.flatnonzero(city.home_household == HOUSEHOLD_GROUP)),
        "over_cap_homes": homes(property_.over_cap_homes),
        "sold_homes": homes(property_.sold_homes),
        "grants_by_ex_owners": city.grant_ids().take(pa.array(sold_grants, type=pa.int64())).to_pylist(),
        "grantees_registered_elsewhere": sorted(
            set(ids.take(pa.array(city.grant_grantee[elsewhere], type=pa.int64())).to_pylist())
        ),
    }


# --- one day of activity ---------------------------------------------------------------------------


def _gate_picker(city: City, rng: np.random.Generator):
    """A function choosing, for each estate given, one of its entry (0) or exit (1) gates."""
    n_estates = len(city.places.estate_ids)
    first = np.searchsorted(city.gate_estate, np.arange(n_estates))
    pairs = np.bincount(city.gate_estate, minlength=n_estates) // 2

    def pick(estates: np.ndarray, direction: int) -> np.ndarray:
        return first[estates] + 2 * (rng.random(len(estates)) * pairs[estates]).astype(np.int64) + direction

    return pick


def _local_midnight_ms(local_day: date) -> int:
    return (_epoch_seconds(local_day) - CITY_UTC_OFFSET_HOURS * 3600) * 1000


def _draw_passes(city: City, local_day: date) -> DayPasses:
    """Passes of one local day, from the day's own stream: ordinary visitors invited by an owner
    living here, and a pass a day for every group-rent tenant without a grant (from the landlord)."""
    rng = np.random.default_rng([city.seed, 0x9A55, local_day.toordinal()])
    midnight, hour = _local_midnight_ms(local_day), 3_600_000
    owners_here = np.flatnonzero(city.person_role == ROLE_OWNER)
    active = int(((city.person_home >= 0) & ~city.person_silent).sum())
    n_visits = int(rng.poisson(0.012 * active)) if owners_here.size else 0
    host = rng.choice(owners_here, n_visits) if n_visits else np.empty(0, np.int64)
    # a visitor from the city goes out and has no daily pass of their own (the planted cases stay exact)
    goers = np.flatnonzero(~city.person_silent & ~city.person_pass_regular)
    visitor = np.where(rng.random(n_visits) < 0.6, goers[rng.integers(0, len(goers), n_visits)], -1)
    regulars = np.flatnonzero(city.person_pass_regular)
    arrive_hours = rng.uniform(9.0, 20.0, n_visits)
    comes = np.r_[rng.random(n_visits) < 0.9, np.ones(len(regulars), dtype=bool)]
    valid_from_hours = np.r_[arrive_hours - rng.uniform(0.3, 3.0, n_visits), rng.uniform(6.0, 7.5, len(regulars))]
    valid_from = midnight + (valid_from_hours * hour).astype(np.int64)
    n = n_visits + len(regulars)
    max_uses = rng.choice([-1, 1, 2], n, p=[0.5, 0.35, 0.15]).astype(np.int32)
    uses = comes.astype(np.int32)
    used_up = (max_uses > 0) & (uses >= max_uses)
    expired = valid_from + 24 * hour <= _local_midnight_ms(city.today)
    status = np.where(used_up, 3, np.where(expired, 2, 0))
    lapsed = expired & ~used_up
    stale = _at_least_one(lapsed & (rng.random(n) < 0.05), np.flatnonzero(lapsed), rng)
    status[stale] = 0  # expired, still marked active: a finding (one at least, on a day that has any)
    arrive = np.where(comes[:n_visits], midnight + (arrive_hours * hour).astype(np.int64), 0)
    return DayPasses(
        day=local_day,
        home=np.r_[city.person_home[host], city.person_home[regulars]].astype(np.int32),
        issuer=np.r_[host, _landlords(city)[city.person_home[regulars]]].astype(np.int32),
        visitor=np.r_[visitor, regulars].astype(np.int32),
        valid_from=valid_from,
        max_uses=max_uses,
        uses=uses,
        status=status.astype(np.int8),
        arrive=np.r_[arrive, np.zeros(len(regulars), np.int64)],
        regulars=regulars,
        n_visits=n_visits,
    )


def _draw_passages(city: City, local_day: date, passes: DayPasses) -> DayActivity:
    """Gate passages of one local day, from the day's own stream.

    Residents: morning out / evening back, a midday errand, an evening walk; each person-day's
    times are sorted and alternate out, in (everyone sleeps at home). People under community
    correction flagged as night owls add a trip at 01:00-03:30; group-rent tenants without a
    grant leave by face in the morning and come back on the day's pass. Visitors come in on
    their pass and leave by face; about one stranger an estate a day is refused at the entry.
    """
    rng = np.random.default_rng([city.seed, 0xDA7, local_day.toordinal()])
    midnight, hour = _local_midnight_ms(local_day), 3_600_000
    gate_of = _gate_picker(city, rng)
    home_estate = city.home_estate

    people = np.flatnonzero((city.person_home >= 0) & ~city.person_silent & ~city.person_pass_regular)
    elderly = (city.person_key_groups[people] & KEY_ELDERLY_ALONE) > 0
    trips = np.where(
        elderly,
        rng.choice(4, len(people), p=[0.3, 0.5, 0.2, 0.0]),
        rng.choice(4, len(people), p=[0.04, 0.15, 0.48, 0.33]),
    )
    who = np.repeat(people, trips)
    which = _rank_in_group(who) if len(who) else who
    out = np.select(
        [which == 0, which == 1],
        [rng.normal(7.75, 0.9, len(who)), rng.uniform(11.0, 15.0, len(who))],
        rng.uniform(18.8, 20.8, len(who)),
    )
    length = np.select(
        [which == 0, which == 1],
        [rng.normal(10.5, 1.4, len(who)), rng.uniform(0.5, 3.0, len(who))],
        rng.uniform(0.3, 1.5, len(who)),
    )
    owls = np.flatnonzero(city.person_night_owl & ~city.person_silent)
    regulars = passes.regulars
    who = np.r_[who, owls, regulars]
    out = np.r_[out, rng.uniform(1.0, 3.5, len(owls)), rng.normal(8.0, 0.7, len(regulars))]
    length = np.r_[length, rng.uniform(0.3, 1.0, len(owls)), rng.normal(10.5, 1.0, len(regulars))]

    person = np.r_[who, who]
    at_ms = (np.clip(np.r_[out, out + np.abs(length)], 0.05, 23.95) * hour).astype(np.int64)
    order = np.argsort(person.astype(np.int64) * 86_400_000 + at_ms)
    person, at_ms = person[order], at_ms[order]
    direction = (1 - _rank_in_group(person) % 2).astype(np.int8)  # 1 = out first, then 0 = in
    at = midnight + at_ms + rng.integers(0, 60_000, len(at_ms))
    home = city.person_home[person]
    estate = home_estate[home]
    gate = np.where(direction == 0, gate_of(estate, 0), gate_of(estate, 1))

    # Residents come in by face (85 %) or their app QR; exits are face captures. A regular's
    # way back in is on that day's pass, as a visitor.
    n_trip = len(person)
    role = city.person_role[person]
    back_on_pass = city.person_pass_regular[person] & (direction == 0)
    method = np.where((direction == 0) & (rng.random(n_trip) >= 0.85), 2, 0).astype(np.int8)
    method[back_on_pass] = 1
    pass_no = np.full(n_trip, -1)
    pass_no[back_on_pass] = passes.n_visits + np.searchsorted(regulars, person[back_on_pass])
    reason = np.where(direction == 0, 0, 2).astype(np.int8)
    reason[back_on_pass] = 1
    right = np.select([role <= ROLE_CO_OWNER, role == ROLE_FAMILY], [0, 1], 2).astype(np.int8)
    right[direction == 1] = -1
    right[back_on_pass] = 3
    app_user = (city.person_registries[person] & REGISTRY_APP) > 0
    registry = np.where(method == 0, np.where(app_user, 0, 1), np.where(method == 2, 0, -1)).astype(np.int8)
    score = np.where(method == 0, rng.uniform(0.22, 0.45, n_trip), np.nan)

    came = np.flatnonzero(passes.arrive[: passes.n_visits] > 0)
    v_person = passes.visitor[came]
    v_known = v_person >= 0
    # A visitor known to the registries is recognised leaving (by face); others scan their pass.
    v_app = (city.person_registries[np.maximum(v_person, 0)] & REGISTRY_APP) > 0
    v_registry = np.where(v_known, np.where(v_app, 0, 1), -1).astype(np.int8)
    v_home = passes.home[came]
    v_estate = home_estate[v_home]
    v_in = passes.arrive[came]
    v_out = v_in + (rng.uniform(0.5, 4.0, len(came)) * hour).astype(np.int64)
    n_v = len(came)

    n_estates = len(city.places.estate_ids)
    strangers = rng.poisson(1.0, n_estates)
    strangers[rng.integers(n_estates)] += strangers.sum() == 0  # every day has a refusal, even in a tiny city
    s_estate = np.repeat(np.arange(n_estates), strangers)
    s_at = midnight + (rng.uniform(6.0, 23.0, len(s_estate)) * hour).astype(np.int64)
    n_s = len(s_estate)

    def fill(value, n: int, dtype=np.int8) -> np.ndarray:
        return np.full(n, value, dtype=dtype)

    return DayActivity(
        day=local_day,
        at=np.r_[at, v_in, v_out, s_at],
        gate=np.r_[gate, gate_of(v_estate, 0), gate_of(v_estate, 1), gate_of(s_estate, 0)].astype(np.int32),
        person=np.r_[person, v_person, v_person, fill(-1, n_s, np.int32)].astype(np.int32),
        home=np.r_[home, v_home, v_home, fill(-1, n_s, np.int32)].astype(np.int32),
        pass_no=np.r_[pass_no, came, np.where(v_known, -1, came), fill(-1, n_s, np.int32)].astype(np.int32),
        direction=np.r_[direction, fill(0, n_v), fill(1, n_v), fill(0, n_s)],
        method=np.r_[method, fill(1, n_v), np.where(v_known, 0, 1).astype(np.int8), fill(0, n_s)],
        outcome=np.r_[np.where(direction == 0, 0, 2).astype(np.int8), fill(0, n_v), fill(2, n_v), fill(1, n_s)],
        reason=np.r_[reason, fill(1, n_v), fill(2, n_v), fill(3, n_s)],
        registry=np.r_[registry, fill(-1, n_v), v_registry, fill(-1, n_s)],
        score=np.r_[
            score,
            fill(np.nan, n_v, np.float64),
            np.where(v_known, rng.uniform(0.22, 0.45, n_v), np.nan),
            fill(np.nan, n_s, np.float64),
        ],
        right=np.r_[right, fill(3, n_v), fill(-1, n_v), fill(-1, n_s)],
    )


def _landlords(city: City) -> np.ndarray:
    """The current owner of each home (the last current ownership row wins), -1 for none."""
    owner = np.full(city.n_homes, -1, dtype=np.int64)
    current = city.ownership_until < 0
    owner[city.ownership_home[current]] = city.ownership_person[current]
    return owner


def _merge_events(day: date, parts: list[tuple[DayActivity, np.ndarray]]) -> UtcDayEvents:
    """The passages of the parts kept by their masks, as one time-ordered activity of UTC `day`.

    Pass numbers stay relative to the local day that issued the pass (`pass_day`).
    """
    names = ("at", "gate", "person", "home", "direction", "method", "outcome", "reason", "registry", "score", "right")
    merged = {n: np.concatenate([getattr(a, n)[keep] for a, keep in parts]) for n in names}
    merged["pass_no"] = np.concatenate([a.pass_no[keep] for a, keep in parts])
    merged["pass_day"] = np.concatenate([np.full(keep.sum(), i, np.int8) for i, (_, keep) in enumerate(parts)])
    order = np.argsort(merged["at"], kind="stable")
    return UtcDayEvents(day=day, local_days=[a.day for a, _ in parts], **{k: v[order] for k, v in merged.items()})


@dataclass
class UtcDayEvents:
    """The passages of one UTC day: columns like `DayActivity`'s, pass numbers per local day."""

    day: date
    local_days: list[date]
    at: np.ndarray
    gate: np.ndarray
    person: np.ndarray
    home: np.ndarray
    pass_no: np.ndarray
    pass_day: np.ndarray  # which of `local_days` issued the pass
    direction: np.ndarray
    method: np.ndarray
    outcome: np.ndarray
    reason: np.ndarray
    registry: np.ndarray
    score: np.ndarray
    right: np.ndarray

    def __len__(self) -> int:
        return len(self.at)

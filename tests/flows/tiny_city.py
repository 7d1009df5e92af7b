"""A hand-built city of a few homes and people, for tests that need one exact situation.

Each test adds just the homes, people, rights, passes and passages its case needs, then takes
`frames(day)` for the pure computations, or `tables()` (the snapshot columns as Arrow) to seed
snapshots. Times are given in the city's local time (Asia/Shanghai) and stored as UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa

from gridgate.adapters.parquet_exports import SNAPSHOT_SCHEMAS
from gridgate.analytics.city_frames import CityFrames
from gridgate.domain.legal_records import CorrectionApproval

TZ = "Asia/Shanghai"


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(TZ)).astimezone(UTC)


@dataclass
class TinyCity:
    rows: dict[str, list[dict]] = field(default_factory=lambda: {name: [] for name in SNAPSHOT_SCHEMAS})
    _event_no: int = 0

    def __post_init__(self) -> None:
        for kind, pid, parent in (
            ("district", "D1", None),
            ("street", "S1", "D1"),
            ("community", "C1", "S1"),
            ("grid", "G1", "C1"),
            ("grid", "G2", "C1"),
        ):
            self.place(kind, pid, parent)

    def place(self, kind: str, place_id: str, parent_id: str | None) -> None:
        levels = {"district_id": None, "street_id": None, "community_id": None, "grid_id": None, "estate_id": None}
        if parent_id:
            parent = next(p for p in self.rows["places"] if p["place_id"] == parent_id)
            levels.update({k: parent[k] for k in levels})
        levels[f"{kind}_id"] = place_id
        self.rows["places"].append(
            {"place_id": place_id, "kind": kind, "name": place_id, "parent_id": parent_id, **levels}
        )

    def estate(self, estate_id: str, grid_id: str = "G1") -> None:
        self.place("estate", estate_id, grid_id)

    def home(
        self,
        home_id: str,
        estate_id: str,
        *,
        building: str = "B1",
        unit: str = "1",
        floor: int = 1,
        room: str = "101",
        area: float = 60.0,
        grid_id: str | None = None,
    ) -> None:
        if not any(p["place_id"] == estate_id for p in self.rows["places"]):
            self.estate(estate_id, grid_id or "G1")
        grid = grid_id or next(p["grid_id"] for p in self.rows["places"] if p["place_id"] == estate_id)
        self.rows["homes"].append(
            {
                "home_id": home_id,
                "estate_id": estate_id,
                "building_id": building,
                "unit": unit,
                "floor": floor,
                "room": room,
                "floor_area_m2": area,
                "grid_id": grid,
                "granted_count": 0,
            }
        )

    def person(
        self,
        person_id: str,
        *,
        home: str | None = None,
        birth_year: int = 1980,
        key_groups: tuple[str, ...] = (),
        registries: tuple[str, ...] = ("app", "population"),
    ) -> None:
        grid = next((h["grid_id"] for h in self.rows["homes"] if h["home_id"] == home), None)
        self.rows["persons"].append(
            {
                "person_id": person_id,
                "registries": list(registries),
                "birth_year": birth_year,
                "sex": "F",
                "registered_home_id": home,
                "registered_grid_id": grid,
                "key_groups": list(key_groups),
            }
        )

    def _estate_of(self, home_id: str) -> str:
        return next(h["estate_id"] for h in self.rows["homes"] if h["home_id"] == home_id)

    def own(self, person_id: str, home_id: str, since: date = date(2015, 1, 1), until: date | None = None) -> None:
        self.rows["ownerships"].append(
            {
                "person_id": person_id,
                "home_id": home_id,
                "estate_id": self._estate_of(home_id),
                "since": since,
                "until": until,
            }
        )

    def grant(
        self,
        grant_id: str,
        home_id: str,
        grantee: str,
        by: str,
        *,
        relation: str = "family",
        starts_on: date = date(2024, 1, 1),
        ends_on: date | None = None,
        status: str = "active",
    ) -> None:
        self.rows["grants"].append(
            {
                "home_id": home_id,
                "grant_id": grant_id,
                "estate_id": self._estate_of(home_id),
                "grantee_id": grantee,
                "relation": relation,
                "starts_on": starts_on,
                "ends_on": ends_on,
                "granted_by": by,
                "status": status,
                "created_at": datetime(2024, 1, 1, tzinfo=UTC),
            }
        )

    def visitor_pass(
        self,
        pass_id: str,
        home_id: str,
        issued_by: str,
        valid_from: datetime,
        *,
        hours: int = 24,
        status: str = "active",
    ) -> None:
        self.rows["visitor_passes"].append(
            {
                "pass_id": pass_id,
                "estate_id": self._estate_of(home_id),
                "home_id": home_id,
                "issued_by": issued_by,
                "valid_from": valid_from,
                "valid_until": valid_from + timedelta(hours=hours),
                "max_uses": None,
                "uses": 1,
                "status": status,
            }
        )

    def passage(
        self,
        at: datetime,
        person_id: str | None,
        estate_id: str,
        direction: str,
        *,
        home_id: str | None = None,
        method: str = "face",
        pass_id: str | None = None,
        outcome: str | None = None,
        right: str | None = None,
    ) -> None:
        self._event_no += 1
        self.rows["access_events"].append(
            {
                "event_id": f"ev-{self._event_no}",
                "gate_id": f"{estate_id}-G{1 if direction == 'in' else 2}",
                "estate_id": estate_id,
                "direction": direction,
                "occurred_at": at,
                "method": method,
                "outcome": outcome or ("open" if direction == "in" else "recorded"),
                "reason": "test",
                "person_id": person_id,
                "pass_id": pass_id,
                "home_id": home_id,
                "registry": "app" if person_id else None,
                "score": 0.3 if method == "face" else None,
                "right": right,
            }
        )

    def daily_trips(self, person_id: str, home_id: str, days: list[date], out_hour: int = 8, in_hour: int = 18) -> None:
        """A resident leaving in the morning and coming back in the evening, every given day."""
        estate = self._estate_of(home_id)
        for day in days:
            self.passage(local(day, out_hour), person_id, estate, "out", home_id=home_id)
            self.passage(local(day, in_hour), person_id, estate, "in", home_id=home_id, right="owner")

    def table(self, name: str) -> pa.Table:
        return pa.Table.from_pylist(self.rows[name], schema=SNAPSHOT_SCHEMAS[name])

    def tables(self) -> dict[str, pa.Table]:
        return {name: self.table(name) for name in SNAPSHOT_SCHEMAS}

    def frames(self, day: date, events_from: date) -> CityFrames:
        tables = self.tables()
        return CityFrames.from_tables(day, events_from, tables, tables["access_events"], timezone=TZ)


def days_before(day: date, n: int) -> list[date]:
    """The `n` local days ending with `day`, oldest first."""
    return [day - timedelta(days=k) for k in range(n - 1, -1, -1)]


def approved(*person_ids: str, starts: date, ends: date) -> list[CorrectionApproval]:
    """Correction-tracking approvals (issue 18) for `person_ids` over [starts, ends]."""
    at = datetime.combine(starts, time(9), tzinfo=UTC)
    return [CorrectionApproval(pid, f"case-{pid}", "officer-1", starts, ends, at) for pid in person_ids]

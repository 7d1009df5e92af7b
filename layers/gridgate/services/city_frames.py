"""The city as columnar frames: the one input every flow computation works on.

The flows read the nightly Parquet snapshots of the registries and rights (never item by item)
and hand them here as Arrow tables; the access events stay in Parquet and are queried with SQL
(`CityFrames.query`). This module turns the snapshots into polars frames with identifiers as categoricals (4 bytes a
value instead of a string view, which is what keeps 28 M events of a 1 M-person city inside a
few GB) and derives the facts all three flows share: where each home sits in the place
hierarchy, who currently owns or is granted which home, and each home's cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Mapping, Sequence

import polars as pl
import pyarrow as pa

from gridgate.adapters.sql_engines import DuckDBEngine, EventSource, SqlEngine, render
from gridgate.clock import CityClock
from gridgate.domain.policy import GrantCapPolicy
from gridgate.services.event_queries import EVENT_COUNT, fill

#: Snapshot names the flows read, as written by `gridgate.adapters.snapshots`.
SNAPSHOT_NAMES = ("persons", "homes", "ownerships", "grants", "visitor_passes", "places")

#: Place levels statistics are rolled up to, finest first, and the column naming each.
LEVELS = ("estate", "grid", "community", "street", "district")
LEVEL_COLUMNS = {level: f"{level}_id" for level in LEVELS}

_ID_COLUMNS = {
    "persons": ("person_id", "registered_home_id", "registered_grid_id", "sex"),
    "homes": ("home_id", "estate_id", "building_id", "unit", "room", "grid_id"),
    "ownerships": ("person_id", "home_id", "estate_id"),
    "grants": ("home_id", "grant_id", "estate_id", "grantee_id", "relation", "granted_by", "status"),
    "visitor_passes": ("pass_id", "estate_id", "home_id", "issued_by", "status"),
    "places": ("place_id", "kind", "parent_id", *LEVEL_COLUMNS.values()),
    "access_events": ("gate_id", "estate_id", "direction", "method", "outcome", "person_id", "pass_id", "home_id", "right"),
}
_DATE_COLUMNS = {"ownerships": ("since", "until"), "grants": ("starts_on", "ends_on")}
_INSTANT_COLUMNS = {
    "grants": ("created_at",),
    "visitor_passes": ("valid_from", "valid_until"),
    "access_events": ("occurred_at",),
}
#: The event columns flow computations read: loaders read only these (the unique event ids
#: alone would be most of a week's events in memory at city scale).
EVENT_COLUMNS = (
    "gate_id", "estate_id", "direction", "occurred_at", "method", "outcome", "person_id", "pass_id", "home_id", "right",
)


def local_midnight(day: date, tz: str) -> datetime:
    """The instant (UTC) local day `day` begins in the city's time zone."""
    return CityClock(tz).local_midnight(day)


def normalise(name: str, table: pa.Table | pl.DataFrame) -> pl.DataFrame:
    """One snapshot as a polars frame: ids categorical, days as dates, instants as UTC datetimes."""
    frame = table if isinstance(table, pl.DataFrame) else pl.from_arrow(table)
    if name == "access_events":
        frame = frame.select([c for c in EVENT_COLUMNS if c in frame.columns])
    casts = [
        pl.col(c).cast(pl.String).cast(pl.Categorical)
        for c in _ID_COLUMNS.get(name, ())
        if c in frame.columns and frame.schema[c] != pl.Categorical
    ]
    casts += [pl.col(c).cast(pl.Date) for c in _DATE_COLUMNS.get(name, ()) if c in frame.columns]
    casts += [pl.col(c).cast(pl.Datetime("ms", "UTC")) for c in _INSTANT_COLUMNS.get(name, ()) if c in frame.columns]
    # One contiguous chunk per column, so no Arrow buffer stays referenced; and Arrow's pool
    # hands back what earlier (now dropped) tables used. Loading a week of a large city's events
    # day by day then holds little more than the frames themselves.
    frame = (frame.with_columns(casts) if casts else frame).rechunk()
    pa.default_memory_pool().release_unused()
    return frame


@dataclass(frozen=True)
class CityFrames:
    """Snapshots of the base registries and rights as of local day `day`, and a window of events.

    Days are the city's civil days (`timezone`), like grant dates: `day` ends at local midnight.
    `events_from` is the first local day the events cover and `day` the last; checks that need
    N days of history refuse to conclude anything from a shorter window.

    The events are not a frame: they stay where they are (Parquet files, or an Arrow table in
    tests) and every check asks `query` one SQL question of them (`event_queries`), answered by
    `engine` — DuckDB embedded unless the flow's settings name Spark.
    """

    day: date
    events_from: date
    persons: pl.DataFrame
    homes: pl.DataFrame
    ownerships: pl.DataFrame
    grants: pl.DataFrame
    visitor_passes: pl.DataFrame
    places: pl.DataFrame
    events: EventSource
    engine: SqlEngine = field(default_factory=DuckDBEngine)
    timezone: str = "Asia/Shanghai"
    cap_policy: GrantCapPolicy = field(default_factory=GrantCapPolicy)

    @classmethod
    def from_tables(
        cls,
        day: date,
        events_from: date,
        snapshots: Mapping[str, pa.Table | pl.DataFrame],
        events: pa.Table | pl.DataFrame | Sequence[str | Path],
        *,
        timezone: str = "Asia/Shanghai",
        cap_policy: GrantCapPolicy | None = None,
        engine: SqlEngine | None = None,
    ) -> "CityFrames":
        """`events`: an Arrow table or polars frame, or the local Parquet files holding the window."""
        missing = sorted(set(SNAPSHOT_NAMES) - set(snapshots))
        if missing:
            raise ValueError(f"snapshots missing: {missing}")
        frames = {name: normalise(name, snapshots[name]) for name in SNAPSHOT_NAMES}
        start, end = local_midnight(events_from, timezone), local_midnight(day + timedelta(days=1), timezone)
        if isinstance(events, pl.DataFrame):
            events = events.to_arrow()
        source = (
            EventSource(start, end, table=events)
            if isinstance(events, pa.Table)
            else EventSource(start, end, files=tuple(str(f) for f in events))
        )
        return cls(
            day=day,
            events_from=events_from,
            events=source,
            engine=engine or DuckDBEngine(),
            timezone=timezone,
            cap_policy=cap_policy or GrantCapPolicy(),
            **frames,
        )

    # --- the time frame ---------------------------------------------------------------------------

    @property
    def end(self) -> datetime:
        """The instant the covered period ends: local midnight after `day`."""
        return local_midnight(self.day + timedelta(days=1), self.timezone)

    @property
    def start(self) -> datetime:
        """The instant the events window begins: local midnight opening `events_from`."""
        return local_midnight(self.events_from, self.timezone)

    def local(self, column: str = "occurred_at") -> pl.Expr:
        """A UTC instant column in the city's civil time (for local days and hours)."""
        return pl.col(column).dt.convert_time_zone(self.timezone)

    @property
    def covered_days(self) -> int:
        return (self.day - self.events_from).days + 1

    def since(self, days: int) -> datetime:
        """The instant `days` days before `end` (a query's lower bound)."""
        return self.end - timedelta(days=days)

    # --- the events, through SQL ----------------------------------------------------------------------

    def query(self, sql: str, tables: Mapping[str, pl.DataFrame] | None = None, **params) -> pl.DataFrame:
        """Answer one `event_queries` definition over the window's events on this city's engine."""
        return self.engine.query(render(self.engine, fill(sql, **params), self.timezone), self.events, tables or {})

    def event_count(self) -> int:
        return int(self.query(EVENT_COUNT)["events"][0])

    # --- derived facts ------------------------------------------------------------------------------

    def estate_places(self) -> pl.DataFrame:
        """estate_id with the grid, community, street and district it belongs to."""
        return (
            self.places.filter(pl.col("kind") == "estate")
            .select(pl.col("place_id").alias("estate_id"), *(pl.col(c) for c in LEVEL_COLUMNS.values() if c != "estate_id"))
        )

    def home_places(self) -> pl.DataFrame:
        """home_id with every level above it (the home's own grid wins over the estate's)."""
        ancestors = self.estate_places().drop("grid_id")
        return self.homes.select("home_id", "estate_id", "grid_id").join(ancestors, on="estate_id", how="left")

    def current_ownerships(self) -> pl.DataFrame:
        """Ownership rows in force on `day` (the property records' view of who owns what)."""
        return self.ownerships.filter(
            (pl.col("since") <= self.day) & (pl.col("until").is_null() | (pl.col("until") > self.day))
        )

    def effective_grants(self) -> pl.DataFrame:
        """Grants that open the gate on `day`: active and inside their dates."""
        return self.grants.filter(
            (pl.col("status") == "active")
            & (pl.col("starts_on") <= self.day)
            & (pl.col("ends_on").is_null() | (pl.col("ends_on") >= self.day))
        )

    def residents(self) -> pl.DataFrame:
        """(person_id, home_id, role) for owners and granted family members and tenants.

        A person who both owns and is granted the same home counts once, as owner.
        """
        owners = self.current_ownerships().select("person_id", "home_id", pl.lit("owner").alias("role"))
        granted = self.effective_grants().select(
            pl.col("grantee_id").alias("person_id"), "home_id", pl.col("relation").cast(pl.String).alias("role")
        )
        return (
            pl.concat([owners, granted])
            .with_columns(pl.col("role").cast(pl.String))
            .sort(pl.col("role") != "owner")
            .unique(subset=["person_id", "home_id"], keep="first", maintain_order=True)
        )

    def without_grants(self, grant_ids: pl.Series) -> "CityFrames":
        """The same city with these grants revoked (what it will be once a flow revokes them)."""
        if grant_ids.is_empty():
            return self
        revoked = pl.col("grant_id").cast(pl.String).is_in(grant_ids.cast(pl.String).implode())
        grants = self.grants.with_columns(
            pl.when(revoked).then(pl.lit("revoked")).otherwise(pl.col("status").cast(pl.String)).cast(pl.Categorical).alias("status")
        )
        return replace(self, grants=grants)

    def home_caps(self) -> pl.DataFrame:
        """home_id with its grant cap, from the city policy on floor area.

        The policy is a scalar function; it is evaluated once per distinct floor area and joined,
        so it stays vectorised however many homes there are.
        """
        areas = self.homes.select(pl.col("floor_area_m2").unique())
        caps = areas.with_columns(
            pl.col("floor_area_m2").map_elements(self.cap_policy.cap_for, return_dtype=pl.Int64).alias("cap")
        )
        return self.homes.select("home_id", "floor_area_m2").join(caps, on="floor_area_m2").drop("floor_area_m2")

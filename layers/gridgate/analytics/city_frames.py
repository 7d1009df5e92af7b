"""The city a flow run works on: where its registries and events are, and its time frame.

The flows stage the nightly Parquet snapshots of the registries and rights and the window's
event days to local files and hand their paths here; nothing is read into the flow process.
Every computation asks `CityFrames.query` one SQL question (`registry_queries`,
`event_queries`), which the city's engine answers over those files with the shared facts — who
owns or is granted which home on the day, each home's cap and place — as views
(`registry_queries.CITY_VIEWS`). `normalise` still turns a snapshot into a polars frame with
ids categorical, for the small tables a flow does hold (e.g. the homes of the night's tasks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa

from gridgate.adapters.sql_engines import DuckDBEngine, EventSource, SqlEngine, frame_of, render
from gridgate.analytics.event_queries import EVENT_COUNT, fill
from gridgate.analytics.registry_queries import (
    CITY_VIEWS,
    ESTATE_PLACES,
    HOMES_OF,
    LEVEL_COLUMNS,
    LEVELS,
    row_count,
)
from gridgate.clock import CityClock
from gridgate.domain.policy import GrantCapPolicy

#: Snapshot names the flows read, as written by `gridgate.adapters.parquet_exports`.
SNAPSHOT_NAMES = ("persons", "homes", "ownerships", "grants", "visitor_passes", "places")

__all__ = ["LEVELS", "LEVEL_COLUMNS", "SNAPSHOT_NAMES", "CityFrames", "local_midnight", "normalise"]

_ID_COLUMNS = {
    "persons": ("person_id", "registered_home_id", "registered_grid_id", "sex"),
    "homes": ("home_id", "estate_id", "building_id", "unit", "room", "grid_id"),
    "ownerships": ("person_id", "home_id", "estate_id"),
    "grants": ("home_id", "grant_id", "estate_id", "grantee_id", "relation", "granted_by", "status"),
    "visitor_passes": ("pass_id", "estate_id", "home_id", "issued_by", "status"),
    "places": ("place_id", "kind", "parent_id", *LEVEL_COLUMNS.values()),
}
_DATE_COLUMNS = {"ownerships": ("since", "until"), "grants": ("starts_on", "ends_on")}
_INSTANT_COLUMNS = {"grants": ("created_at",), "visitor_passes": ("valid_from", "valid_until")}


def local_midnight(day: date, tz: str) -> datetime:
    """The instant (UTC) local day `day` begins in the city's time zone."""
    return CityClock(tz).local_midnight(day)


def normalise(name: str, table: pa.Table | pl.DataFrame) -> pl.DataFrame:
    """(Part of) one snapshot as a polars frame: ids categorical, days as dates, instants as UTC
    datetimes — the one shape whether it came from a Parquet file or an engine's answer."""
    frame = table if isinstance(table, pl.DataFrame) else frame_of(table)
    casts = [
        pl.col(c).cast(pl.String).cast(pl.Categorical)
        for c in _ID_COLUMNS.get(name, ())
        if c in frame.columns and frame.schema[c] != pl.Categorical
    ]
    casts += [pl.col(c).cast(pl.Date) for c in _DATE_COLUMNS.get(name, ()) if c in frame.columns]
    casts += [pl.col(c).cast(pl.Datetime("ms", "UTC")) for c in _INSTANT_COLUMNS.get(name, ()) if c in frame.columns]
    return frame.with_columns(casts) if casts else frame


@dataclass(frozen=True)
class CityFrames:
    """The registries and rights as of local day `day`, and a window of events — all as sources.

    Days are the city's civil days (`timezone`), like grant dates: `day` ends at local midnight.
    `events_from` is the first local day the events cover and `day` the last; checks that need
    N days of history refuse to conclude anything from a shorter window.

    Nothing here is a frame: the snapshots and events stay where they are (Parquet files, or
    Arrow tables in tests) and every check asks `query` one SQL question, answered by `engine` —
    DuckDB embedded unless the flow's settings name Spark.
    """

    day: date
    events_from: date
    events: EventSource
    engine: SqlEngine = field(default_factory=DuckDBEngine)
    timezone: str = "Asia/Shanghai"
    cap_policy: GrantCapPolicy = field(default_factory=GrantCapPolicy)
    #: Where `shared` put the facts it evaluated (None: all are views).
    shared_folder: Path | None = None

    @classmethod
    def from_tables(
        cls,
        day: date,
        events_from: date,
        snapshots: Mapping[str, pa.Table | pl.DataFrame | Sequence[str | Path]],
        events: pa.Table | pl.DataFrame | Sequence[str | Path],
        *,
        timezone: str = "Asia/Shanghai",
        cap_policy: GrantCapPolicy | None = None,
        engine: SqlEngine | None = None,
    ) -> CityFrames:
        """`snapshots`: per name, an Arrow table or polars frame, or the local Parquet files of
        it; `events`: likewise for the window's events."""
        missing = sorted(set(SNAPSHOT_NAMES) - set(snapshots))
        if missing:
            raise ValueError(f"snapshots missing: {missing}")
        cap_policy = cap_policy or GrantCapPolicy()
        start, end = local_midnight(events_from, timezone), local_midnight(day + timedelta(days=1), timezone)
        views = tuple(
            (
                name,
                fill(
                    sql,
                    day=day,
                    end=end,
                    cap_min=cap_policy.minimum,
                    cap_max=cap_policy.maximum,
                    area_per_person=float(cap_policy.area_per_person_m2),
                ),
            )
            for name, sql in CITY_VIEWS
        )
        tables = {name: _source(snapshots[name]) for name in SNAPSHOT_NAMES}
        window = _source(events)
        source = (
            EventSource(start, end, table=window, snapshots=tables, views=views)
            if isinstance(window, pa.Table)
            else EventSource(start, end, files=window, snapshots=tables, views=views)
        )
        return cls(
            day=day,
            events_from=events_from,
            events=source,
            engine=engine or DuckDBEngine(),
            timezone=timezone,
            cap_policy=cap_policy,
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

    def day_starts(self, since: datetime) -> list[datetime]:
        """Where each local day of [since, end) begins: `since`, then every local midnight after
        it (the days `event_queries.distinct_days` tells apart)."""
        days = (self.end - since).days + 2
        midnights = (local_midnight(self.day - timedelta(days=n), self.timezone) for n in range(days))
        return [since, *sorted(m for m in midnights if since < m < self.end)]

    # --- questions, through SQL -------------------------------------------------------------------------

    def query(self, sql: str, tables: Mapping[str, pl.DataFrame] | None = None, **params) -> pl.DataFrame:
        """Answer one `event_queries` / `registry_queries` definition on this city's engine."""
        return self.engine.query(render(self.engine, fill(sql, **params), self.timezone), self._source(), tables or {})

    def shared(self, folder: Path, names: tuple[str, ...]) -> CityFrames:
        """This city with the shared facts `names` (of `registry_queries.CITY_VIEWS`) evaluated
        once, into Parquet files in `folder`, so no later question derives them again
        (`SqlEngine.share`). The answers are the same; the caller removes `folder` when the
        city's last question is answered."""
        unknown = sorted(set(names) - {name for name, _ in self.events.views})
        if unknown:
            raise ValueError(f"not a view of the city: {unknown}")
        return replace(self, events=self.engine.share(self._source(), folder, names), shared_folder=folder)

    def _source(self) -> EventSource:
        """The events and snapshots with the views in this engine's dialect."""
        views = tuple((name, render(self.engine, view, self.timezone)) for name, view in self.events.views)
        return replace(self.events, views=views)

    def event_count(self) -> int:
        return int(self.query(EVENT_COUNT)["events"][0])

    def count(self, snapshot: str) -> int:
        """Rows of one snapshot (for the flows' logs)."""
        return int(self.query(row_count(snapshot))["n"][0])

    def estate_places(self) -> pl.DataFrame:
        """estate_id with the grid, community, street and district it belongs to (one row an estate)."""
        return self.query(ESTATE_PLACES)

    def homes_of(self, home_ids: pl.Series) -> pl.DataFrame:
        """The homes snapshot's rows of `home_ids` only (e.g. for the walking order of the night's tasks)."""
        wanted = pl.DataFrame({"home_id": home_ids.cast(pl.String)}).drop_nulls().unique()
        return normalise("homes", self.query(HOMES_OF, {"subjects": wanted}))


def _source(data: pa.Table | pl.DataFrame | Sequence[str | Path]) -> pa.Table | tuple[str, ...]:
    """A table as the engines take it: Arrow as it is, a frame as Arrow, files as their paths."""
    if isinstance(data, pl.DataFrame):
        return data.to_arrow()
    if isinstance(data, pa.Table):
        return data
    return tuple(str(f) for f in data)

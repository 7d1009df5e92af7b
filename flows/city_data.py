"""Loading the city for a flow run, in bulk: Parquet snapshots and a window of access events.

Registries and rights: each table is exported by a parallel scan to a Parquet snapshot (as of
the run's local date), then read back columnar — one task per table, run concurrently.
Events: one task per UTC day of the window. A finished day is read from its Parquet export
(exported first if nobody has yet); the current, unfinished UTC day is read live from the
table, one query per estate-day shard, without writing a partial export.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pyarrow as pa
from gridgate.adapters import snapshots
from gridgate.adapters.flow_storage import events_day_exported
from gridgate.clock import city_clock
from gridgate.clock import now as city_now
from gridgate.config import Settings, get_settings
from gridgate.domain.policy import report_day_problem
from gridgate.services.city_frames import (
    EVENT_COLUMNS,
    SNAPSHOT_NAMES,
    CityFrames,
    local_midnight,
    normalise,
)
from gridgate.services.grants import cap_policy
from prefect import task, unmapped

from flows.resilience import STORAGE_TASK


def local_today(settings: Settings | None = None) -> date:
    return city_clock((settings or get_settings()).city_timezone).today()


def default_day(settings: Settings | None = None) -> date:
    """The day a nightly run reports on: yesterday, in the city's time zone."""
    return local_today(settings) - timedelta(days=1)


def check_report_day(day: date, settings: Settings | None = None) -> date:
    """`day` if a nightly run may report on it (`report_day_problem`), else `BadReportDay`,
    raised before anything is created."""
    settings = settings or get_settings()
    problem = report_day_problem(day, local_today(settings), settings.event_retention_days)
    if problem:
        raise BadReportDay(problem)
    return day


class BadReportDay(ValueError):
    """A nightly run asked for a day it cannot report on (not yet ended, or past retention)."""


@task(task_run_name="export-{name}", **STORAGE_TASK)
def export_snapshot(name: str, as_of: date) -> str:
    return snapshots.export_table(name, get_settings(), as_of)


@task(task_run_name="read-{name}", **STORAGE_TASK)
def read_snapshot(name: str, as_of: date) -> pa.Table:
    return snapshots.read_snapshot(name, get_settings(), as_of)


@task(task_run_name="events-{day}", **STORAGE_TASK)
def read_event_day(day: date, finished: bool) -> pl.DataFrame:
    """One UTC day of events, as a normalised frame (categorical ids)."""
    settings = get_settings()
    if not finished:
        return normalise("access_events", snapshots.events_of_day(day, settings))
    if not events_day_exported(day, settings):
        snapshots.export_events_day(day, settings)
    return normalise("access_events", snapshots.read_events(day, day, settings, columns=list(EVENT_COLUMNS)))


def utc_days(events_from: date, day: date, tz: str) -> list[date]:
    """UTC days overlapping local days `events_from` .. `day`."""
    first = local_midnight(events_from, tz).date()
    last = (local_midnight(day + timedelta(days=1), tz) - timedelta(milliseconds=1)).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def load_city(
    day: date,
    lookback_days: int,
    *,
    export_snapshots: bool = True,
    as_of: date | None = None,
) -> CityFrames:
    """The city as of local day `day`, with events of the `lookback_days` days up to it.

    Call from inside a flow: the snapshot and event-day tasks run concurrently on the flow's
    task runner. With `export_snapshots=False` the snapshots as of `as_of` are read as they are
    (e.g. seeded by the emulator).
    """
    settings = get_settings()
    as_of = as_of or local_today(settings)
    if export_snapshots:
        for exported in export_snapshot.map(SNAPSHOT_NAMES, unmapped(as_of)):
            exported.result()
    tables = dict(zip(SNAPSHOT_NAMES, (future.result() for future in read_snapshot.map(SNAPSHOT_NAMES, unmapped(as_of)))))
    events_from = day - timedelta(days=lookback_days - 1)
    today_utc = city_now().date()  # event partitions are UTC days: earlier ones are finished
    days = utc_days(events_from, day, settings.city_timezone)
    frames = [future.result() for future in read_event_day.map(days, [d < today_utc for d in days])]
    return CityFrames.from_tables(
        day,
        events_from,
        tables,
        pl.concat(frames, how="vertical_relaxed", rechunk=False),
        timezone=settings.city_timezone,
        cap_policy=cap_policy(settings),
    )

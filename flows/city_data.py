"""Loading the city for a flow run, in bulk: Parquet snapshots and a window of access events.

Registries and rights: each table is exported by a parallel scan to a Parquet snapshot (as of
the run's local date), then staged to the run's work folder — one task per table, run
concurrently; like the events, they are handed on as paths, never read into the flow.
Events: finished UTC days without a Parquet partition are first exported together through
DynamoDB's native export to S3 (`gridgate.adapters.event_export`: no item-by-item reads). Then
one task per UTC day of the window returns *paths*, not rows: a finished day's Parquet is
staged from S3 to the run's work folder;
the current, unfinished UTC day is read live from the table, one query per estate-day shard,
and written to a local file without writing a partial export. The checks then ask the SQL
engine (`Settings.analytics_engine`) their questions over those files.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
from prefect import task, unmapped

from flows.resilience import COMPUTE_TASK, STORAGE_TASK
from gridgate.adapters import event_export
from gridgate.adapters import parquet_exports as snapshots
from gridgate.adapters.flow_storage import events_day_exported
from gridgate.adapters.sql_engines import engine_for
from gridgate.analytics.city_frames import SNAPSHOT_NAMES, CityFrames, local_midnight
from gridgate.clock import city_clock
from gridgate.clock import now as city_now
from gridgate.config import Settings, get_settings
from gridgate.domain.policy import report_day_problem
from gridgate.i18n import refusal_text
from gridgate.refusals import Invalid
from gridgate.residents.grants import cap_policy


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


class BadReportDay(Invalid, ValueError):
    """A nightly run asked for a day it cannot report on (not yet ended, or past retention): a
    ``bad_day`` refusal whose text (what the failed run shows in Prefect) is the catalogue's, in
    the city's language."""

    def __init__(self, problem: dict[str, object]) -> None:
        super().__init__("bad_day", **problem)

    def __str__(self) -> str:
        return refusal_text(self)


@task(task_run_name="export-{name}", **STORAGE_TASK)
def export_snapshot(name: str, as_of: date) -> str:
    return snapshots.export_table(name, get_settings(), as_of)


@task(task_run_name="read-{name}", **STORAGE_TASK)
def read_snapshot(name: str, as_of: date, columns: list[str] | None = None) -> pa.Table:
    return snapshots.read_snapshot(name, get_settings(), as_of, columns)


@task(task_run_name="stage-{name}", **STORAGE_TASK)
def stage_snapshot(name: str, as_of: date) -> list[str]:
    """One snapshot as local Parquet files (or, for Spark reading S3, its ``s3a://`` parts);
    returns their paths (the rows stay on disk)."""
    settings = get_settings()
    if settings.analytics_read_s3:
        return snapshots.snapshot_uris(name, settings, as_of)
    return snapshots.stage_snapshot(name, settings, as_of, work_folder(settings) / "snapshots")


def work_folder(settings: Settings) -> Path:
    """Where a run stages event files and the engine spills (`analytics_work_dir`, or the temp dir)."""
    return Path(settings.analytics_work_dir or Path(tempfile.gettempdir()) / "gridgate-analytics")


@task(task_run_name="events-{day}", **STORAGE_TASK)
def stage_event_day(day: date, finished: bool) -> list[str]:
    """One UTC day of events as local Parquet files; returns their paths (the rows stay on disk)."""
    settings = get_settings()
    folder = work_folder(settings) / "events"
    if not finished:
        live = snapshots.events_of_day(day, settings)
        if settings.analytics_read_s3:
            return [snapshots.write_live_events(day, live, settings)]
        return [snapshots.write_local_events(live, folder / f"live={day.isoformat()}" / f"{uuid.uuid4().hex}.parquet")]
    if settings.analytics_read_s3:
        return snapshots.events_day_uris(day, settings)
    return snapshots.stage_events_day(day, settings, folder)


@task(**STORAGE_TASK)
def release_run_files(city: CityFrames) -> int:
    """Delete this run's own files once the city's questions are answered — its copies of the
    unfinished day and its shared facts: each run makes them afresh, so kept ones would only
    pile up (a set a run, every night). Returns how many live copies went."""
    if city.shared_folder is not None:
        shutil.rmtree(city.shared_folder, ignore_errors=True)
    live = [f for f in city.events.files if "/live=" in f]
    return snapshots.remove_live_events(live, get_settings())


@task(**COMPUTE_TASK)
def share_city_facts(city: CityFrames, names: tuple[str, ...]) -> CityFrames:
    """The city with the facts `names` its questions share evaluated once (`CityFrames.shared`),
    into this run's own folder. Not when a cluster reads S3 in place: the flow's disk is not
    the executors', so there the facts stay views."""
    settings = get_settings()
    if not names or settings.analytics_read_s3:
        return city
    return city.shared(work_folder(settings) / "shared" / uuid.uuid4().hex, names)


@task(**STORAGE_TASK)
def export_missing_event_days(days: list[date], now: datetime) -> list[str]:
    """Finished UTC days without their Parquet partition, exported through DynamoDB's native export."""
    settings = get_settings()
    missing = [day for day in days if not events_day_exported(day, settings)]
    exported = event_export.export_event_days(
        missing, settings, work_folder(settings), now, settings.analytics_memory_limit
    )
    return sorted(exported.values())


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
    now: datetime | None = None,
    shared: tuple[str, ...] = (),
) -> CityFrames:
    """The city as of local day `day`, with events of the `lookback_days` days up to it, and
    the facts `shared` evaluated once (`share_city_facts`).

    Call from inside a flow: the snapshot and event-day tasks run concurrently on the flow's
    task runner. With `export_snapshots=False` the snapshots as of `as_of` are read as they are
    (e.g. seeded by the emulator). `now` (default: the clock, read here at the flow's edge)
    decides which UTC day is still unfinished and so read live.
    """
    settings = get_settings()
    now = now or city_now()
    as_of = as_of or city_clock(settings.city_timezone).local_date(now)
    if export_snapshots:
        for exported in export_snapshot.map(SNAPSHOT_NAMES, unmapped(as_of)):
            exported.result()
    tables = dict(
        zip(SNAPSHOT_NAMES, (future.result() for future in stage_snapshot.map(SNAPSHOT_NAMES, unmapped(as_of))))
    )
    events_from = day - timedelta(days=lookback_days - 1)
    today_utc = now.date()  # event partitions are UTC days: earlier ones are finished
    days = utc_days(events_from, day, settings.city_timezone)
    export_missing_event_days([d for d in days if d < today_utc], now)
    files = [path for future in stage_event_day.map(days, [d < today_utc for d in days]) for path in future.result()]
    city = CityFrames.from_tables(
        day,
        events_from,
        tables,
        files,
        timezone=settings.city_timezone,
        cap_policy=cap_policy(settings),
        engine=engine_for(settings),
    )
    return share_city_facts(city, shared)

"""The SQL engines the nightly event queries run on: DuckDB embedded (default) or Apache Spark.

Why an engine at all: the access events are the one input that grows with the city (about 28 M
rows a week at 1 M persons). Held as frames in the flow process they cost about 3 GB per million
persons; left in day-partitioned Parquet, an engine reads only the columns and rows each query
needs, aggregates out of core (DuckDB spills past its memory limit) and hands back a small
result. The queries themselves (`gridgate.analytics.event_queries`) are plain SQL that both
engines accept; the one thing the dialects spell differently — an instant in the city's civil
time — is written ``LOCAL(column)`` and rendered here.

Both engines see the same views: ``events`` (the window's events, ``occurred_at`` a UTC
instant), one view per registry snapshot (``persons``, ``homes``, ... : Parquet files the flows
staged, or Arrow tables in tests), the city's derived views (`EventSource.views`, e.g. the
grants in force on the run's day) and any small table the query names (e.g. ``subjects``: the
persons it is about). Sorted lists (``SORTED_LIST(col)``, an aggregate) are the other spelling
the dialects differ in.
Results come back as polars frames with ids categorical, instants ``Datetime(ms, UTC)`` and
integers ``Int64`` — so a check cannot tell which engine answered it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast

import polars as pl
import pyarrow as pa

#: ``LOCAL(col)``: the instant `col` in the city's civil time (a zone-less timestamp).
_LOCAL = re.compile(r"LOCAL\((\w+(?:\.\w+)?)\)")
#: ``SORTED_LIST(col)``: the aggregate list of `col`'s values, sorted (nulls left out).
_SORTED_LIST = re.compile(r"SORTED_LIST\((\w+(?:\.\w+)?)\)")


@dataclass(frozen=True)
class EventSource:
    """Where the events of a window are, and the window itself ([start, end) as UTC instants).

    `files` are local Parquet files (the flows stage the S3 day partitions to disk); `table` is
    an in-memory Arrow table (tests and small tools). Either may be empty. `snapshots` are the
    registries by name (each its Parquet files or an Arrow table) and `views` the city's derived
    views, ``(name, SQL)`` in dependency order, already filled in for the run's day.
    """

    start: datetime
    end: datetime
    files: tuple[str, ...] = ()
    table: pa.Table | None = field(default=None, compare=False)
    snapshots: Mapping[str, tuple[str, ...] | pa.Table] = field(default_factory=dict, compare=False)
    views: tuple[tuple[str, str], ...] = ()


def sql_instant(value: datetime) -> str:
    """A UTC instant as a TIMESTAMP literal both engines read the same (their session zone is UTC)."""
    return "TIMESTAMP '" + value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + "'"


def frame_of(table: pa.Table) -> pl.DataFrame:
    """An Arrow table as a polars frame (what every engine answers, what every snapshot reads as)."""
    # polars types `from_arrow` as `DataFrame | Series` whatever the input; a table is a DataFrame
    return cast(pl.DataFrame, pl.from_arrow(table))


def _plain(frame: pl.DataFrame) -> pl.DataFrame:
    """Categoricals as strings: what an engine can read from Arrow or Parquet without enums."""
    return frame.with_columns(pl.col(pl.Categorical).cast(pl.String))


def _events_table(table: pa.Table) -> pa.Table:
    frame = _plain(frame_of(table))
    return frame.with_columns(pl.col("occurred_at").cast(pl.Datetime("ms", "UTC"))).to_arrow()


def conform_result(frame: pl.DataFrame) -> pl.DataFrame:
    """One result shape whichever engine answered: ids categorical, instants ms UTC, Int64 counts."""
    casts = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            casts.append(pl.col(name).cast(pl.Categorical))
        elif isinstance(dtype, pl.Datetime):
            zoned = pl.col(name) if dtype.time_zone else pl.col(name).dt.replace_time_zone("UTC")
            casts.append(zoned.dt.convert_time_zone("UTC").cast(pl.Datetime("ms", "UTC")))
        elif dtype.is_integer():
            casts.append(pl.col(name).cast(pl.Int64))
    return frame.with_columns(casts) if casts else frame


class SqlEngine(Protocol):
    name: str

    def local_time(self, column: str, tz: str) -> str: ...

    def sorted_list(self, column: str) -> str: ...

    def query(self, sql: str, events: EventSource, tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame: ...

    def share(self, events: EventSource, folder: Path, names: tuple[str, ...]) -> EventSource: ...


def render(engine: SqlEngine, sql: str, tz: str) -> str:
    """Replace ``LOCAL(col)`` with the engine's spelling of a UTC instant in zone `tz`, and
    ``SORTED_LIST(col)`` with its sorted list aggregate."""
    if not re.fullmatch(r"[A-Za-z_]+(/[A-Za-z0-9_+-]+)*", tz):
        raise ValueError(f"not a time zone name: {tz!r}")
    local = _LOCAL.sub(lambda m: engine.local_time(m.group(1), tz), sql)
    return _SORTED_LIST.sub(lambda m: engine.sorted_list(m.group(1)), local)


def _empty_snapshot(name: str) -> pa.Table:
    from gridgate.adapters.parquet_exports import SNAPSHOT_SCHEMAS

    return SNAPSHOT_SCHEMAS[name].empty_table()


def _quoted(text: str) -> str:
    """`text` inside a single-quoted SQL literal."""
    return text.replace("'", "''")


def _quoted_files(files: tuple[str, ...]) -> str:
    return ", ".join("'" + _quoted(f) + "'" for f in files)


def _evaluate_views(
    events: EventSource, names: tuple[str, ...], write: Callable[[str, str, EventSource], str]
) -> EventSource:
    """`events` with its views `names` evaluated by `write(name, view, source)` (which returns
    where it put the rows), in dependency order: each sees those written before it as a
    snapshot and the rest still as views. The engines' `share` differ only in `write`."""
    snapshots, views = dict(events.snapshots), list(events.views)
    for name, view in events.views:
        if name in names:
            snapshots[name] = (write(name, view, replace(events, snapshots=snapshots, views=tuple(views))),)
            views.remove((name, view))
    return replace(events, snapshots=snapshots, views=tuple(views))


def _window_view(source: str, events: EventSource) -> str:
    return (
        f"SELECT * FROM {source} WHERE occurred_at >= {sql_instant(events.start)} "
        f"AND occurred_at < {sql_instant(events.end)}"
    )


def _source_key(events: EventSource) -> tuple:
    """What makes two sources the same city to an engine: the window, the files, the views, and
    the very Arrow tables (by identity: equal tables are not compared row by row)."""
    snapshots = tuple(
        (name, ("arrow", id(snapshot)) if isinstance(snapshot, pa.Table) else tuple(snapshot))
        for name, snapshot in events.snapshots.items()
    )
    table = id(events.table) if events.table is not None else None
    return (events.start, events.end, events.files, table, snapshots, events.views)


class DuckDBEngine:
    """DuckDB in the flow process, capped at `memory_limit`; past it, operators spill to `work_dir`.

    One database per engine, one connection to it per query: a connection costs about 1 ms
    where a new database costs 20-35 ms (a night asks some twenty questions per flow), and the
    memory limit caps all of them together. Each source's views (``events``, the snapshots,
    the city's views) are created once, in a schema of their own, and each query's connection
    searches that schema first: creating them per query cost 23 ms (binding the Parquet files'
    schemas), about 0.4 s per flow at 1 M persons. The small tables a query names are
    registered on its own connection, so nothing leaks from one check into the next.
    """

    name = "duckdb"

    def __init__(self, memory_limit: str = "512MB", threads: int = 2, work_dir: Path | None = None):
        self.memory_limit, self.threads = memory_limit, threads
        self.work_dir = Path(work_dir or Path(tempfile.gettempdir()) / "gridgate-duckdb")
        self._database: Any = None
        self._opening, self._making_schemas = threading.Lock(), threading.Lock()
        #: source key -> (schema, the source: its Arrow tables stay alive while their views do)
        self._schemas: dict[tuple, tuple[str, EventSource]] = {}

    def local_time(self, column: str, tz: str) -> str:
        return f"timezone('{tz}', {column})"

    def sorted_list(self, column: str) -> str:
        return f"list_sort(list({column}) FILTER (WHERE {column} IS NOT NULL))"

    def query(self, sql: str, events: EventSource, tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
        con = self._connect(events, tables)
        try:
            return conform_result(frame_of(con.sql(sql).to_arrow_table()))
        finally:
            con.close()

    def share(self, events: EventSource, folder: Path, names: tuple[str, ...]) -> EventSource:
        """`events` with its views `names` evaluated once each, to a Parquet file in `folder`.

        Why: the views are the facts the questions share (the grants in force, who lives where,
        each home's places); as views, every question derived them again from the snapshots —
        the statistics flow once for each level it rolls up to. In dependency order, each from
        the files of those shared before it; the result names them as snapshots, and keeps the
        other views (a filter of one snapshot costs less to repeat than to write).
        """
        folder.mkdir(parents=True, exist_ok=True)

        def write(name: str, view: str, source: EventSource) -> str:
            path = folder / f"{name}.parquet"
            con = self._connect(source, {})
            try:
                # LZ4: read back within the run, then deleted; ZSTD cost 0.5 s more at 1 M persons
                con.execute(f"COPY ({view}) TO '{_quoted(str(path))}' (FORMAT PARQUET, COMPRESSION LZ4_RAW)")
            finally:
                con.close()
            return str(path)

        return _evaluate_views(events, names, write)

    def _cursor(self):
        """A new connection to the engine's database (opened by the first question)."""
        import duckdb

        with self._opening:  # flow tasks may ask from several threads
            if self._database is None:
                self.work_dir.mkdir(parents=True, exist_ok=True)
                self._database = duckdb.connect(
                    config={
                        "memory_limit": self.memory_limit,
                        "threads": self.threads,
                        "temp_directory": str(self.work_dir),
                        "preserve_insertion_order": False,
                    }
                )
            return self._database.cursor()

    def _connect(self, events: EventSource, tables: Mapping[str, pl.DataFrame]):
        """A connection that sees the source's views first, then `tables`."""
        schema = self._schema(events)
        con = self._cursor()
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET search_path = '{schema}'")
        for name, frame in tables.items():
            con.register(name, _plain(frame).to_arrow())
        return con

    def _schema(self, events: EventSource) -> str:
        """The schema holding `events`' views, created by the source's first question."""
        key = _source_key(events)
        with self._making_schemas:
            if key not in self._schemas:
                schema = f"source_{len(self._schemas)}"
                con = self._cursor()
                try:
                    self._create_views(con, schema, events)
                finally:
                    con.close()
                self._schemas[key] = (schema, events)
            return self._schemas[key][0]

    def _create_views(self, con, schema: str, events: EventSource) -> None:
        """The window's ``events``, every snapshot (an Arrow one copied in as a table: a view
        cannot see another connection's registered objects) and the city's views, in `schema`."""
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE SCHEMA {schema}")
        sources = []
        if events.files:
            sources.append(
                f"SELECT {_EVENT_SELECT} FROM read_parquet([{_quoted_files(events.files)}], union_by_name = true)"
            )
        if events.table is not None:
            con.register("memory_events", _events_table(events.table))
            con.execute(f"CREATE TABLE {schema}.memory_events AS SELECT * FROM memory_events")
            sources.append(f"SELECT {_EVENT_SELECT} FROM {schema}.memory_events")
        if not sources:
            sources.append(f"SELECT {_EMPTY_EVENTS}")
        con.execute(f"CREATE VIEW {schema}.source_events AS " + " UNION ALL ".join(sources))
        con.execute(f"CREATE VIEW {schema}.events AS " + _window_view(f"{schema}.source_events", events))
        for name, snapshot in events.snapshots.items():
            if isinstance(snapshot, pa.Table) or not snapshot:
                table = snapshot if isinstance(snapshot, pa.Table) else _empty_snapshot(name)
                con.register(f"arrow_{name}", _plain(frame_of(table)).to_arrow())
                con.execute(f"CREATE TABLE {schema}.{name} AS SELECT * FROM arrow_{name}")
            else:
                con.execute(
                    f"CREATE VIEW {schema}.{name} AS "
                    f"SELECT * FROM read_parquet([{_quoted_files(snapshot)}], union_by_name = true)"
                )
        con.execute(f"SET search_path = '{schema}'")  # the views name each other unqualified
        for name, view in events.views:
            con.execute(f"CREATE VIEW {schema}.{name} AS {view}")


class SparkEngine:
    """The same SQL on Apache Spark: `local[*]` in the tests, a cluster URL (or EMR/Glue) in deployment.

    Small tables reach Spark as Parquet files in `work_dir` (on a cluster: a shared path, e.g.
    S3); results come back through Arrow (`DataFrame.toArrow`). With `read_s3` the snapshots and
    event days are ``s3a://`` URIs the executors read in place (`Settings.analytics_read_s3`).
    """

    name = "spark"
    _sessions: dict[str, object] = {}
    _lock = threading.Lock()

    def __init__(
        self,
        master: str = "local[*]",
        work_dir: Path | None = None,
        driver_memory: str = "2g",
        *,
        read_s3: bool = False,
        s3_endpoint: str | None = None,
    ):
        self.master, self.driver_memory = master, driver_memory
        self.work_dir = Path(work_dir or Path(tempfile.gettempdir()) / "gridgate-spark")
        self.read_s3, self.s3_endpoint = read_s3, s3_endpoint

    def conf(self) -> dict[str, str]:
        """The session's configuration. Reading S3 in place (``s3a://``, hadoop-aws): credentials
        from the default AWS chain (the cluster's role), and an endpoint only off AWS (the
        emulator's S3, path-style like moto wants)."""
        conf = {
            "spark.sql.session.timeZone": "UTC",
            "spark.driver.memory": self.driver_memory,
            "spark.sql.shuffle.partitions": "8",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.execution.arrow.pyspark.enabled": "true",
        }
        if self.read_s3:
            conf["spark.hadoop.fs.s3a.aws.credentials.provider"] = (
                "com.amazonaws.auth.DefaultAWSCredentialsProviderChain"
            )
            if self.s3_endpoint:
                conf["spark.hadoop.fs.s3a.endpoint"] = self.s3_endpoint
                conf["spark.hadoop.fs.s3a.path.style.access"] = "true"
                conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(self.s3_endpoint.startswith("https")).lower()
        return conf

    def session(self):
        with self._lock:
            if self.master not in self._sessions:
                from pyspark.sql import SparkSession

                builder = SparkSession.builder.master(self.master).appName("gridgate-nightly")
                for key, value in self.conf().items():
                    builder = builder.config(key, value)
                self._sessions[self.master] = builder.getOrCreate()
            return self._sessions[self.master]

    def local_time(self, column: str, tz: str) -> str:
        return f"from_utc_timestamp({column}, '{tz}')"

    def sorted_list(self, column: str) -> str:
        return f"array_sort(collect_list({column}))"

    def _staged(self, frame: pl.DataFrame, run: Path, name: str) -> str:
        path = run / f"{name}.parquet"
        frame.write_parquet(path)
        return str(path)

    def share(self, events: EventSource, folder: Path, names: tuple[str, ...]) -> EventSource:
        """`events` with its views `names` written once as Parquet under `folder` (see
        `DuckDBEngine.share`; on a cluster `folder` must be a path every executor reads)."""
        spark = self.session().newSession()
        run = self.work_dir / uuid.uuid4().hex
        run.mkdir(parents=True, exist_ok=True)

        def write(name: str, view: str, source: EventSource) -> str:
            self._register(spark, run, source, {})
            spark.sql(view).write.mode("overwrite").parquet(str(folder / name))
            return str(folder / name)

        try:
            return _evaluate_views(events, names, write)
        finally:
            shutil.rmtree(run, ignore_errors=True)

    def query(self, sql: str, events: EventSource, tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
        # A session of its own per query (same context, own temp views): the statistics flow
        # asks its questions concurrently, each with its own `subjects`.
        spark = self.session().newSession()
        run = self.work_dir / uuid.uuid4().hex
        run.mkdir(parents=True, exist_ok=True)
        try:
            return self._query(spark, run, sql, events, tables)
        finally:
            shutil.rmtree(run, ignore_errors=True)

    def _query(
        self, spark, run: Path, sql: str, events: EventSource, tables: Mapping[str, pl.DataFrame]
    ) -> pl.DataFrame:
        self._register(spark, run, events, tables)
        return conform_result(frame_of(spark.sql(sql).toArrow()))

    def _register(self, spark, run: Path, events: EventSource, tables: Mapping[str, pl.DataFrame]) -> None:
        """Temp views of the window's ``events``, every snapshot, the views and `tables`."""
        files = list(events.files)
        if events.table is not None:
            files.append(self._staged(frame_of(_events_table(events.table)), run, "memory_events"))
        if files:
            source = spark.read.option("mergeSchema", "true").parquet(*files).selectExpr(*_EVENT_SELECT.split(", "))
        else:
            source = spark.sql(f"SELECT {_EMPTY_EVENTS}").limit(0)
        source.createOrReplaceTempView("source_events")
        spark.sql("CREATE OR REPLACE TEMP VIEW events AS " + _window_view("source_events", events))
        for name, snapshot in events.snapshots.items():
            if isinstance(snapshot, pa.Table) or not snapshot:
                table = snapshot if isinstance(snapshot, pa.Table) else _empty_snapshot(name)
                snapshot = (self._staged(_plain(frame_of(table)), run, f"snapshot-{name}"),)
            spark.read.parquet(*snapshot).createOrReplaceTempView(name)
        for name, view in events.views:
            spark.sql(f"CREATE OR REPLACE TEMP VIEW {name} AS {view}")
        for name, frame in tables.items():
            spark.read.parquet(self._staged(_plain(frame), run, name)).createOrReplaceTempView(name)


#: The event columns the queries may use (a file without one of them is a bug upstream).
_EVENT_SELECT = "gate_id, estate_id, direction, occurred_at, method, outcome, person_id, pass_id, home_id"
_EMPTY_EVENTS = ", ".join(
    f"CAST(NULL AS {'TIMESTAMP' if c == 'occurred_at' else 'STRING'}) AS {c}" for c in _EVENT_SELECT.split(", ")
)


def engine_for(settings) -> SqlEngine:
    """The engine `settings.analytics_engine` names — the one setting that moves the flows to Spark."""
    if settings.analytics_engine == "spark":
        return SparkEngine(
            settings.analytics_spark_master,
            settings.analytics_work_dir and settings.analytics_work_dir / "spark",
            read_s3=settings.analytics_read_s3,
            s3_endpoint=os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"),
        )
    return DuckDBEngine(
        settings.analytics_memory_limit,
        settings.analytics_threads,
        settings.analytics_work_dir and settings.analytics_work_dir / "duckdb",
    )

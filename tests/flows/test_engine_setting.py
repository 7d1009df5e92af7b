"""One setting picks the SQL engine of the nightly flows, and DuckDB gets the configured limits.

Why: moving a city to Spark must be a configuration change, not a code change; and the
embedded engine must run under the memory limit the operator set (so it spills, not fails).
"""

from __future__ import annotations

from datetime import UTC

from gridgate.adapters.sql_engines import DuckDBEngine, SparkEngine, engine_for, render
from gridgate.config import Settings


def test_the_setting_selects_the_engine(tmp_path):
    duck = engine_for(Settings(analytics_memory_limit="512MB", analytics_threads=1, analytics_work_dir=tmp_path))
    assert isinstance(duck, DuckDBEngine)
    assert (duck.memory_limit, duck.threads, duck.work_dir) == ("512MB", 1, tmp_path / "duckdb")
    spark = engine_for(Settings(analytics_engine="spark", analytics_spark_master="spark://cluster:7077"))
    assert isinstance(spark, SparkEngine) and spark.master == "spark://cluster:7077"


def test_local_time_is_spelled_per_engine():
    sql = "SELECT HOUR(LOCAL(occurred_at)) FROM events"
    assert (
        render(DuckDBEngine(), sql, "Asia/Shanghai")
        == "SELECT HOUR(timezone('Asia/Shanghai', occurred_at)) FROM events"
    )
    assert (
        render(SparkEngine(), sql, "Asia/Shanghai")
        == "SELECT HOUR(from_utc_timestamp(occurred_at, 'Asia/Shanghai')) FROM events"
    )


def test_duckdb_runs_under_its_memory_limit(tmp_path):
    from datetime import datetime

    import polars as pl

    from gridgate.adapters.sql_engines import EventSource

    engine = DuckDBEngine("100MB", 1, tmp_path)
    window = EventSource(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))
    limit = engine.query("SELECT current_setting('memory_limit') AS m", window, {})["m"][0]
    assert limit in ("95.3 MiB", "100.0 MB", "100MB"), limit
    # A distinct count far larger than fits in 100 MB of hash tables completes (it spills).
    answer = engine.query("SELECT COUNT(DISTINCT i) AS n FROM range(20000000) t(i)", window, {})
    assert answer["n"].to_list() == [20_000_000] and answer.schema["n"] == pl.Int64


def test_duckdb_makes_a_sources_views_once_and_keeps_each_querys_tables_to_itself(tmp_path):
    """The views of one source are created by its first question and reused by the next; another
    source (other snapshots, e.g. once facts are shared) gets its own; a query's small tables
    are not seen by the next query."""
    from datetime import datetime

    import polars as pl
    import pyarrow as pa
    import pytest

    from gridgate.adapters.sql_engines import EventSource

    engine = DuckDBEngine("100MB", 1, tmp_path)
    window = EventSource(
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 2, tzinfo=UTC),
        snapshots={"persons": pa.table({"person_id": ["P1", "P2"]})},
        views=(("people", "SELECT person_id FROM persons"),),
    )
    asked = "SELECT COUNT(*) AS n FROM people WHERE person_id IN (SELECT person_id FROM subjects)"
    subjects = {"subjects": pl.DataFrame({"person_id": ["P2", "P9"]})}
    assert engine.query(asked, window, subjects)["n"].to_list() == [1]
    assert engine.query("SELECT COUNT(*) AS n FROM people", window, {})["n"].to_list() == [2]
    schemas = "SELECT COUNT(*) AS n FROM duckdb_schemas() WHERE schema_name LIKE 'source_%'"
    assert engine.query(schemas, window, {})["n"].to_list() == [1]
    with pytest.raises(Exception, match="subjects"):
        engine.query("SELECT * FROM subjects", window, {})
    # a source with other rows is another city: its own views, its own answer
    other = EventSource(
        window.start, window.end, snapshots={"persons": pa.table({"person_id": ["P3"]})}, views=window.views
    )
    assert engine.query("SELECT COUNT(*) AS n FROM people", other, {})["n"].to_list() == [1]
    assert engine.query(schemas, other, {})["n"].to_list() == [2]

"""The same SQL definitions on DuckDB and on Spark give the same findings, statistics and alerts.

Why: `Settings.analytics_engine` is the one switch that moves the nightly flows from one node to
a cluster; that is only safe if nothing a grid worker sees depends on which engine answered. A
synthetic city (every planted case; its registry snapshots and a week of events as Parquet, as
the flows stage them) runs through every check on both engines and the results must be identical.

Spark needs Java 17 (`make java`); without it the test is skipped, saying so.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed (requirements.lock pins it)")
if shutil.which("java") is None:
    pytest.skip("Spark needs a Java runtime: `make java` installs openjdk-17-jre-headless", allow_module_level=True)

#: As the nightly flow test: 8 days of history, the run reporting on yesterday over 7 of them.
TODAY = date(2026, 11, 24)
HISTORY_DAYS = 8
DAY = TODAY - timedelta(days=1)


@pytest.fixture(scope="module")
def city_files(tmp_path_factory):
    import pyarrow.parquet as pq

    from gridgate.adapters.parquet_exports import write_local_events
    from local_emulator import city_tables
    from local_emulator.synthetic_city import build_city

    folder = tmp_path_factory.mktemp("parity-city")
    city = build_city(1200, seed=8, history_days=HISTORY_DAYS, today=TODAY)
    # The registries as Parquet files too, as the flows stage them: every check, statistic and
    # alert below is SQL over these and the event days.
    snapshots = {}
    for name, build in city_tables.CITY_SNAPSHOTS.items():
        path = folder / f"{name}.parquet"
        pq.write_table(build(city), path)
        snapshots[name] = [str(path)]
    files = []
    for day in city.history:
        path = folder / f"day={day.isoformat()}.parquet"
        files.append(write_local_events(city_tables.events_table(city, day), path))
    return snapshots, files, _approvals(city.truth["night_movement"])


def _approvals(person_ids) -> list:
    """Correction tracking approved for the planted night movers (without one, no correction
    alert is computed at all), so both engines have correction alerts to agree on."""
    from gridgate.domain.legal_records import CorrectionApproval

    approved_at = datetime.combine(TODAY - timedelta(days=30), datetime.min.time(), tzinfo=UTC)
    return [
        CorrectionApproval(
            p, f"case-{p}", "officer-test", TODAY - timedelta(days=30), TODAY + timedelta(days=30), approved_at
        )
        for p in person_ids
    ]


def _run(engine, snapshots, files, approvals, shared: Path | None = None) -> dict[str, pl.DataFrame]:
    """Every check, statistic and alert; with `shared`, over the facts each flow shares
    evaluated once into that folder (as the flows run them), else over the views."""
    from gridgate.analytics import key_group_alerts as alerts_of_key_groups
    from gridgate.analytics import population_statistics as statistics_of_places
    from gridgate.analytics import reconciliation_checks
    from gridgate.analytics.city_frames import CityFrames
    from gridgate.analytics.key_group_alerts import AlertPolicy, key_group_alerts
    from gridgate.analytics.population_statistics import population_statistics, visitors_per_day
    from gridgate.analytics.reconciliation_checks import ReconciliationPolicy, reconcile

    city = statistics_city = CityFrames.from_tables(DAY, DAY - timedelta(days=6), snapshots, files, engine=engine)
    if shared is not None:
        statistics_city = city.shared(
            shared / "statistics", statistics_of_places.SHARED_FACTS + alerts_of_key_groups.SHARED_FACTS
        )
        city = city.shared(shared / "reconciliation", reconciliation_checks.SHARED_FACTS)
    result = reconcile(city, ReconciliationPolicy())
    return {
        "findings": result.findings,
        "grants_to_revoke": result.grants_to_revoke.with_columns(pl.col("notify").list.join(",")),
        "statistics": population_statistics(statistics_city, DAY),
        "alerts": key_group_alerts(statistics_city, AlertPolicy(), approvals),
        "visitors_per_day": visitors_per_day(statistics_city),
        "events": pl.DataFrame({"n": [city.event_count()]}),
    }


def test_duckdb_and_spark_find_the_same(city_files, tmp_path):
    from polars.testing import assert_frame_equal

    from gridgate.adapters.sql_engines import DuckDBEngine, SparkEngine

    snapshots, files, approvals = city_files
    on_duckdb = _run(DuckDBEngine(work_dir=tmp_path / "duckdb"), snapshots, files, approvals)
    shared_on_duckdb = _run(
        DuckDBEngine(work_dir=tmp_path / "duckdb"), snapshots, files, approvals, tmp_path / "duckdb-shared"
    )
    on_spark = _run(
        SparkEngine("local[2]", work_dir=tmp_path / "spark"), snapshots, files, approvals, tmp_path / "spark-shared"
    )
    # The city has something in every category, so "identical" is not "both empty".
    assert on_duckdb["findings"]["finding_type"].n_unique() >= 6
    assert on_duckdb["alerts"]["finding_type"].n_unique() >= 2
    assert on_duckdb["statistics"].height > 100 and on_duckdb["events"]["n"][0] > 10_000
    # the shared facts were read as files, not derived again
    assert (tmp_path / "spark-shared" / "reconciliation" / "kept_grants").is_dir()
    assert (tmp_path / "duckdb-shared" / "statistics" / "resident_places.parquet").is_file()
    for label, results in (("DuckDB over shared facts", shared_on_duckdb), ("Spark", on_spark)):
        for name, frame in on_duckdb.items():
            other = results[name]
            key = [
                c
                for c in ("finding_id", "scope", "metric", "local_date", "district_id", "grant_id")
                if c in frame.columns
            ]
            try:
                assert_frame_equal(frame.sort(key) if key else frame, other.sort(key) if key else other)
            except AssertionError as error:
                raise AssertionError(f"{name} differ between DuckDB and {label}: {error}") from None

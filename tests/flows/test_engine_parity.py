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
        pq.write_table(city_tables.events_table(city, day), path)
        files.append(str(path))
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


def _run(engine, snapshots, files, approvals) -> dict[str, pl.DataFrame]:
    from gridgate.analytics.city_frames import CityFrames
    from gridgate.analytics.key_group_alerts import AlertPolicy, key_group_alerts
    from gridgate.analytics.population_statistics import population_statistics, visitors_per_day
    from gridgate.analytics.reconciliation_checks import ReconciliationPolicy, reconcile

    city = CityFrames.from_tables(DAY, DAY - timedelta(days=6), snapshots, files, engine=engine)
    result = reconcile(city, ReconciliationPolicy())
    return {
        "findings": result.findings,
        "grants_to_revoke": result.grants_to_revoke.with_columns(pl.col("notify").list.join(",")),
        "statistics": population_statistics(city, DAY),
        "alerts": key_group_alerts(city, AlertPolicy(), approvals),
        "visitors_per_day": visitors_per_day(city),
        "events": pl.DataFrame({"n": [city.event_count()]}),
    }


def test_duckdb_and_spark_find_the_same(city_files, tmp_path):
    from polars.testing import assert_frame_equal

    from gridgate.adapters.sql_engines import DuckDBEngine, SparkEngine

    snapshots, files, approvals = city_files
    on_duckdb = _run(DuckDBEngine(work_dir=tmp_path / "duckdb"), snapshots, files, approvals)
    on_spark = _run(SparkEngine("local[2]", work_dir=tmp_path / "spark"), snapshots, files, approvals)
    # The city has something in every category, so "identical" is not "both empty".
    assert on_duckdb["findings"]["finding_type"].n_unique() >= 6
    assert on_duckdb["alerts"]["finding_type"].n_unique() >= 2
    assert on_duckdb["statistics"].height > 100 and on_duckdb["events"]["n"][0] > 10_000
    for name, frame in on_duckdb.items():
        other = on_spark[name]
        key = [
            c for c in ("finding_id", "scope", "metric", "local_date", "district_id", "grant_id") if c in frame.columns
        ]
        try:
            assert_frame_equal(frame.sort(key) if key else frame, other.sort(key) if key else other)
        except AssertionError as error:
            raise AssertionError(f"{name} differ between DuckDB and Spark: {error}") from None

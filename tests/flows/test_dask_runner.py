"""The same flow on a Dask task runner (prefect-dask): how a city that outgrows one machine runs it.

The city is written straight to Parquet snapshots (as the emulator seeds large cities), and the
statistics flow runs twice: on Prefect's default runner and on a Dask cluster. Both must give
the same result, and the Dask scheduler must have executed the flow's tasks.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import reset_emulator
from distributed import Client, LocalCluster
from gridgate import clock
from gridgate.adapters.findings import StatisticRepository
from gridgate.config import get_settings
from prefect_dask import DaskTaskRunner

from flows.statistics import population_statistics_and_alerts
from local_emulator.synthetic_city import build_city, write_city_snapshots


@pytest.fixture(scope="module")
def seeded(moto_server, prefect_server):
    reset_emulator(moto_server)
    today = clock.today()
    city = build_city(600, seed=2, history_days=8, today=today)
    write_city_snapshots(city, get_settings(), as_of=today)
    return city, today


def test_statistics_flow_on_dask_matches_the_default_runner(seeded, tmp_path):
    city, today = seeded
    params = dict(day=today - timedelta(days=1), export_snapshots=False, snapshots_as_of=today, report_dir=tmp_path)
    with LocalCluster(n_workers=1, threads_per_worker=4, processes=False, dashboard_address=None) as cluster:
        with Client(cluster) as dask_client:
            on_dask = population_statistics_and_alerts.with_options(
                task_runner=DaskTaskRunner(address=cluster.scheduler_address)
            )(**params)
            prefixes = dask_client.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
    for task_name in ("compute_statistics", "compute_alerts", "compute_visitors_per_day", "read_snapshot", "read_event_day"):
        assert task_name in prefixes, f"{task_name} did not run on Dask: {prefixes}"
    scope = f"district#{city.places.district_ids[0]}"
    stored_by_dask = {s.metric: s.value for s in StatisticRepository().for_scope(scope, params["day"])}

    on_default = population_statistics_and_alerts(**params)
    assert on_default["statistics"] == on_dask["statistics"] > 0
    assert on_default["alerts_by_type"] == on_dask["alerts_by_type"] and on_dask["alerts_by_type"]
    assert on_default["alerts_stored"]["created"] == 0  # the Dask run stored them already
    assert {s.metric: s.value for s in StatisticRepository().for_scope(scope, params["day"])} == stored_by_dask

"""The demo's pool and worker execute deployment runs, and the scheduled night runs its three step
deployments in order and stops at a failed one, which shouts (issue 17, item 6).

A real Prefect server (the session's test harness), a real ``prefect worker start`` subprocess on
a ``process`` pool, the real deployments of `flows.deployments`, and a webhook receiver on loopback.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from prefect.settings import PREFECT_API_URL

from gridgate import clock
from local_emulator.loopback_receiver import LoopbackReceiver
from local_emulator.work_pool import REPO, WORK_POOL, Worker, create_work_pool, register_on_pool

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def worker(moto_server, prefect_server, tmp_path_factory):
    """The pool, every gridgate deployment and the probe on it, and a worker whose flow runs post
    their failures to a loopback receiver and use the session's moto server (the worker's
    environment is read when it starts)."""
    from flows.deployments import build_deployments
    from flows_deployment.worker_probe import worker_probe

    api_url = PREFECT_API_URL.value()
    create_work_pool(api_url)
    here = os.getcwd()
    os.chdir(REPO)  # a deployment's entrypoint is relative to where it is registered
    try:
        registered = [register_on_pool(d) for d in [*build_deployments(), worker_probe.to_deployment(name="probe")]]
    finally:
        os.chdir(here)
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    with LoopbackReceiver() as receiver:
        saved = os.environ.get("GRIDGATE_FAILURE_WEBHOOK_URL")
        os.environ["GRIDGATE_FAILURE_WEBHOOK_URL"] = receiver.url
        running = Worker(api_url, log)
        try:
            yield running, receiver
        finally:
            running.stop()
            _leave_the_server_as_found(registered)
            if saved is None:
                os.environ.pop("GRIDGATE_FAILURE_WEBHOOK_URL")
            else:
                os.environ["GRIDGATE_FAILURE_WEBHOOK_URL"] = saved


def test_a_deployment_on_the_local_pool_is_executed_by_the_worker(worker):
    from prefect.deployments import run_deployment

    running, _ = worker
    run = run_deployment("worker-probe/probe", parameters={"value": 41}, timeout=240)
    assert run.deployment_id is not None and run.work_pool_name == WORK_POOL
    assert run.state.is_completed(), (run.state, running.log_file.read_text()[-3000:])


def test_a_night_whose_reconciliation_fails_starts_no_later_step_and_notifies(worker):
    """The night is what the server's 01:00 schedule starts: run its deployment as the scheduler
    would, for a day that has not ended (the reconciliation refuses it)."""
    from prefect.deployments import run_deployment

    from flows.night import step_runs

    running, receiver = worker
    unfinished = clock.today() + timedelta(days=2)
    night = run_deployment("nightly-night/nightly", parameters={"day": unfinished.isoformat()}, timeout=400)
    assert night.state.is_failed(), (night.state, running.log_file.read_text()[-3000:])
    assert night.work_pool_name == WORK_POOL
    started = step_runs(night.id)
    assert list(started) == ["reconciliation"]  # statistics and tasks never started
    reconciliation = started["reconciliation"]
    assert reconciliation.state.is_failed() and reconciliation.work_pool_name == WORK_POOL
    alerts = {alert.json()["flow"]: alert.json() for alert in receiver.wait_for(2, timeout=60)}
    assert set(alerts) == {"nightly-reconciliation", "nightly-night"}
    assert alerts["nightly-reconciliation"]["flow_run_id"] == str(reconciliation.id)
    assert alerts["nightly-reconciliation"]["deployment_id"] == str(reconciliation.deployment_id)
    assert "statistics, tasks" in alerts["nightly-night"]["message"]


def test_gridgate_flow_run_starts_a_run_of_the_deployment_which_the_worker_executes(worker, clean_tables):
    from typer.testing import CliRunner

    from gridgate.adapters.tables import StatisticTable
    from gridgate_cli.commands import app

    runner = CliRunner()
    seeded = runner.invoke(app, ["seed", "--persons", "300", "--days", "2"])
    assert seeded.exit_code == 0, seeded.output
    ran = runner.invoke(app, ["flow", "run", "population-statistics"])
    assert ran.exit_code == 0, ran.output + worker[0].log_file.read_text()[-3000:]
    assert "population-statistics/nightly" in ran.output and WORK_POOL in ran.output, ran.output
    assert '"state": "Completed"' in ran.output, ran.output
    assert StatisticTable.count() > 0  # written by the worker's subprocess, not by this one


def _leave_the_server_as_found(deployment_ids) -> None:
    """The session's server is shared: without a worker, these deployments' runs would wait forever."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        for deployment_id in deployment_ids:
            client.delete_deployment(deployment_id)
        client.delete_work_pool(WORK_POOL)

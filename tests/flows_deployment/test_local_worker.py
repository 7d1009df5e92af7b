"""The demo's pool and worker execute deployment runs (issue 17, item 6): no run stays unpicked."""

from __future__ import annotations

import pytest
from prefect.settings import PREFECT_API_URL

from local_emulator.work_pool import REPO, WORK_POOL, Worker, create_work_pool, register_on_pool


@pytest.mark.slow
def test_a_deployment_on_the_local_pool_is_executed_by_the_worker(prefect_server, tmp_path, monkeypatch):
    from prefect.deployments import run_deployment

    from flows_deployment.worker_probe import worker_probe

    api_url = PREFECT_API_URL.value()
    create_work_pool(api_url)
    monkeypatch.chdir(REPO)  # the deployment's entrypoint is relative to where it is registered
    register_on_pool(worker_probe.to_deployment(name="probe"))
    worker = Worker(api_url, tmp_path / "worker.log")
    try:
        run = run_deployment("worker-probe/probe", parameters={"value": 41}, timeout=240)
    finally:
        worker.stop()
    assert run.deployment_id is not None and run.work_pool_name == WORK_POOL
    assert run.state.is_completed(), (run.state, (tmp_path / "worker.log").read_text()[-3000:])

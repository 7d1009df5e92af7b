"""A local work pool and worker, so the deployments the demo registers are executed, not just listed.

A deployment without a work pool is ``NOT_READY`` on a Prefect server: its scheduled runs are
created and never picked up. The demo therefore creates a ``process`` pool, registers the
deployments on it, and starts a worker that runs each scheduled (or manually started) run as a
subprocess in the repository, with the demo's environment (emulator endpoints, keyring, stage).
A data center does the same with the ``docker``/``ecs`` pool of `flows/prefect.yaml`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from local_emulator.processes import stop_process

WORK_POOL = "gridgate-local"
REPO = Path(__file__).resolve().parents[1]


def _prefect(*args: str) -> list[str]:
    return [sys.executable, "-m", "prefect", *args]


def _env(api_url: str) -> dict[str, str]:
    # The worker asks for due runs every 2 s (Prefect's default is 10 s): a night's steps, each
    # started by the one before, then follow each other without idle polling gaps.
    return {
        **os.environ,
        "PREFECT_API_URL": api_url,
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "2",
    }


def create_work_pool(api_url: str, name: str = WORK_POOL) -> None:
    """Create (or keep) a ``process`` pool with Prefect's default job template."""
    subprocess.run(
        _prefect("work-pool", "create", name, "--type", "process", "--overwrite"),
        env=_env(api_url),
        check=True,
        capture_output=True,
        timeout=120,
    )


class Worker:
    """``prefect worker start`` on `pool`, its output in `log_file`; `stop()` ends it (and only it)."""

    def __init__(self, api_url: str, log_file: Path, pool: str = WORK_POOL) -> None:
        self.log_file = log_file
        self._log = log_file.open("w")
        self.process = subprocess.Popen(
            _prefect("worker", "start", "--pool", pool, "--type", "process"),
            cwd=REPO,
            env=_env(api_url),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()


def register_on_pool(deployment, pool: str = WORK_POOL):
    """Apply a `RunnerDeployment` on `pool`, its runs started in the repository (where its entrypoint is).

    The deployment's code path is then set to the repository's absolute path: `apply` records
    ``"."``, which a flow run resolves against whatever directory its process happens to start in
    (seen: a night's third step started in a temporary directory and could not find its file).
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentUpdate

    deployment.job_variables = {**(deployment.job_variables or {}), "working_dir": str(REPO)}
    deployment_id = deployment.apply(work_pool_name=pool)
    with get_client(sync_client=True) as client:
        client.update_deployment(deployment_id, DeploymentUpdate(path=str(REPO)))
    return deployment_id
